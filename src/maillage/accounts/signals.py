"""Reactions to allauth's events."""

from allauth.account.models import EmailAddress
from allauth.account.signals import password_reset
from django.dispatch import receiver


@receiver(password_reset)
def address_proven_by_reset(sender, request, user, **kwargs):
    """A password chosen through an emailed link proves the address: an invited member need not
    confirm it a second time before signing in."""
    EmailAddress.objects.filter(user=user, email__iexact=user.email).update(verified=True)
