"""System checks of the account settings that `manage.py check --deploy` reports."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def enumeration_needs_mandatory_verification(app_configs, **kwargs):
    """Sign-up hides whether an address has an account only when addresses must be confirmed.

    allauth then answers a sign-up with a taken address like any other ("check your email") and
    emails the owner; otherwise it has to say "already registered", since it cannot log the
    newcomer in to someone else's account.
    """
    if getattr(settings, "ACCOUNT_EMAIL_VERIFICATION", "optional") == "mandatory":
        return []
    return [
        Warning(
            "Email verification is not mandatory: the sign-up form tells whether an address "
            "already has an account.",
            hint="Set MAILLAGE_EMAIL_URL, or MAILLAGE_EMAIL_VERIFICATION=mandatory.",
            id="maillage.W001",
        )
    ]
