from django.conf import settings
from django.contrib import messages
from django.http import HttpResponseForbidden, HttpResponseRedirect
from django.urls import Resolver404, resolve, reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from .mfa import can_activate_totp, has_totp, mfa_required

# Pages a person who must activate two-factor authentication can still reach: the two-factor pages
# themselves, what activating them may ask for (signing in again, confirming the email address),
# logging out and the language switch.
ALLOWED_URL_NAMES = {
    "account_logout",
    "account_reauthenticate",
    "account_email",
    "account_confirm_email",
    "account_email_verification_sent",
    "set_language",
    "javascript-catalog",
}
# The JSON API authenticates with personal tokens, never with the session.
ALLOWED_APP_NAMES = {"ninja"}

ACTIVATE_MESSAGE = _(
    "Your role lets you change what everybody sees, so your account must be protected by "
    "two-factor authentication. Activate an authenticator app to continue: you will then sign in "
    "with your password and a code from your phone."
)
CONFIRM_EMAIL_MESSAGE = _(
    "Your role requires two-factor authentication, which can only be activated once your email "
    "address is confirmed. Confirm it with the link we sent you (or send it again below), then "
    "activate an authenticator app."
)


class MFARequiredMiddleware:
    """Send managers, coordinators and superusers without an authenticator app to its activation.

    Pages answer with a redirect and a message saying why; anything that is not a page (a script
    asking for JSON) gets a 403. Everyone else, and everyone when `MAILLAGE_MFA_REQUIRED` is off,
    passes untouched.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is None
            or not user.is_authenticated
            or self._allowed_path(request)
            or not mfa_required(user)
            or has_totp(user)
        ):
            return self.get_response(request)
        return self._refuse(request, user)

    @staticmethod
    def _allowed_path(request) -> bool:
        path = request.path_info
        if any(
            prefix and path.startswith(prefix)
            for prefix in (settings.STATIC_URL, settings.MEDIA_URL)
        ):
            return True
        try:
            match = resolve(path)
        except Resolver404:
            return False
        name = match.url_name or ""
        return (
            name.startswith("mfa_")
            or name in ALLOWED_URL_NAMES
            or bool(ALLOWED_APP_NAMES.intersection(match.app_names))
        )

    def _refuse(self, request, user):
        if can_activate_totp(user):
            target, message = reverse("mfa_activate_totp"), ACTIVATE_MESSAGE
        else:
            target, message = reverse("account_email"), CONFIRM_EMAIL_MESSAGE
        with translation.override(self._language(request, user)):
            text = str(message)
        if not request.accepts("text/html"):
            return HttpResponseForbidden(text, content_type="text/plain; charset=utf-8")
        self._add_message_once(request, text)
        return HttpResponseRedirect(target)

    @staticmethod
    def _language(request, user) -> str:
        """The language of the next page (`AccountLanguageMiddleware` runs after this one)."""
        if getattr(user, "language", "") and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
            return user.language
        return translation.get_language()

    @staticmethod
    def _add_message_once(request, text: str) -> None:
        storage = messages.get_messages(request)
        pending = [message.message for message in storage]
        storage.used = False  # looking at them must not consume them
        if text not in pending:
            messages.warning(request, text)
