from urllib.parse import urlsplit

from django.conf import settings
from django.utils import translation


def _tile_origin() -> str:
    parts = urlsplit(settings.MAILLAGE_TILE_URL.replace("{s}", "a"))
    host = parts.netloc
    if "{s}." in settings.MAILLAGE_TILE_URL:
        host = "*." + host.split(".", 1)[1]
    return f"{parts.scheme}://{host}" if parts.scheme else ""


class ContentSecurityPolicyMiddleware:
    """Scripts only from our own origin: no inline script can run, whatever a user managed to post.

    Styles allow inline attributes because Leaflet positions map tiles and markers with them.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = "; ".join(
            [
                "default-src 'self'",
                "script-src 'self'",
                "style-src 'self' 'unsafe-inline'",
                f"img-src 'self' data: {_tile_origin()}".strip(),
                "connect-src 'self'",
                "font-src 'self'",
                "object-src 'none'",
                "base-uri 'self'",
                "form-action 'self'",
                "frame-ancestors 'none'",
            ]
        )

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", self.policy)
        response.setdefault("Permissions-Policy", "geolocation=(self), camera=(), microphone=()")
        return response


class AccountLanguageMiddleware:
    """A signed-in person who has not picked a language on this browser gets their account's."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if user and user.is_authenticated else ""
        if not language or settings.LANGUAGE_COOKIE_NAME in request.COOKIES:
            return self.get_response(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        if settings.LANGUAGE_COOKIE_NAME in response.cookies:
            return response  # the language switch itself answered
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
        return response
