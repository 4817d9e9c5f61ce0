"""Two-factor authentication (django-allauth's MFA): who must have it, and who has it."""

from allauth.account.models import EmailAddress
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.db.models import Q

from .models import NetworkRole, PlaceRole, User


def mfa_required(user) -> bool:
    """Place managers, network coordinators and superusers must protect their account with a code.

    They can change what everybody sees; a guessed or reused password must not be enough.
    Read at each call so that `MAILLAGE_MFA_REQUIRED` (and tests) can switch it off.
    """
    if not settings.MAILLAGE_MFA_REQUIRED or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return User.objects.filter(
        Q(place_roles__role=PlaceRole.Role.MANAGER)
        | Q(network_roles__role=NetworkRole.Role.COORDINATOR),
        pk=user.pk,
    ).exists()


def has_totp(user) -> bool:
    return Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.TOTP).exists()


def can_activate_totp(user) -> bool:
    """allauth refuses a second factor while an email address is unverified (see its
    `validate_can_add_authenticator`): whoever registered someone else's address could otherwise
    lock its real owner out."""
    if mfa_settings.ALLOW_UNVERIFIED_EMAIL:
        return True
    return not EmailAddress.objects.filter(user_id=user.pk, verified=False).exists()
