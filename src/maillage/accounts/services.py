"""Writes on accounts: invitations, roles and API tokens."""

import hashlib
import secrets

from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from maillage.core.audit import audit_record
from maillage.core.prepared import KeyedGet
from maillage.core.tasks import send_email

from .models import ApiToken, NetworkRole, PlaceRole, User

TOKEN_PREFIX = "mlg_"  # noqa: S105 (a public marker, not a secret)


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(
    *, user: User, name: str = "", actor: User | None = None
) -> tuple[ApiToken, str]:
    """Create a token and return it with its clear value, which is never shown again."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(user=user, name=name, prefix=raw[:12], key_hash=_hash(raw))
        audit_record(
            actor=actor,
            action="token.create",
            target=token,
            details={"for": user.email, "name": name},
        )
    return token, raw


# Read on every API request with a token: compiled once (see maillage.core.prepared).
_active_token = KeyedGet(
    lambda key_hash: ApiToken.objects.select_related("user").filter(
        key_hash=key_hash, user__is_active=True
    ),
    str,
)


def api_token_authenticate(raw: str) -> User | None:
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    try:
        token = _active_token(_hash(raw))
    except ApiToken.DoesNotExist:
        return None
    now = timezone.now()
    # Writing on every request would turn each API read into a write; a minute is precise enough.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


@transaction.atomic
def place_role_set(*, user: User, place, role: str) -> PlaceRole:
    place_role, _ = PlaceRole.objects.update_or_create(
        user=user, place=place, defaults={"role": role}
    )
    return place_role


@transaction.atomic
def network_role_grant(*, user: User, network, role: str = NetworkRole.Role.COORDINATOR):
    network_role, _ = NetworkRole.objects.get_or_create(user=user, network=network, role=role)
    return network_role


def account_for_email(
    email: str, *, invited_by: User | None, where: str, language: str | None = None
) -> tuple[User, bool]:
    """The active account of `email`, or a new one with an invitation to choose a password.

    The invitation (in `language`, the inviter's when not given) names `where` the person was
    invited to and links to the page where they choose their password; until then the account
    has no usable password. Returns the account and whether it was created.
    """
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"member": _("Enter a valid email address.")}) from None
    existing = User.objects.filter(email__iexact=email).first()
    if existing is not None:
        if not existing.is_active:
            raise ValidationError({"member": _("This account is closed.")})
        return existing, False
    language = language or getattr(invited_by, "language", None) or settings.LANGUAGE_CODE
    user = User(email=email, language=language)
    user.set_unusable_password()
    user.save()
    # Verified when the password is chosen through the emailed link (accounts.signals).
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
    audit_record(actor=invited_by, action="account.invite", target=user, details={"where": where})
    link = settings.MAILLAGE_BASE_URL + reverse(
        "account_reset_password_from_key",
        kwargs={
            "uidb36": user_pk_to_url_str(user),
            "key": default_token_generator.make_token(user),
        },
    )
    with translation.override(user.language):
        subject = f"[{settings.MAILLAGE_SITE_NAME}] {INVITATION_SUBJECT}"
        body = render_to_string(
            "accounts/email/invitation.txt",
            {"where": where, "link": link, "inviter": invited_by, "email": email},
        )
    transaction.on_commit(
        lambda: send_email.enqueue(subject=subject, body=body, recipients=[email]), robust=True
    )
    return user, True


INVITATION_SUBJECT = gettext_lazy("You are invited: choose your password")
