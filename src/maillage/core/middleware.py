from urllib.parse import urlsplit

from django.conf import settings


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
