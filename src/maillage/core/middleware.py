import math
from urllib.parse import urlsplit

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import translation

from maillage.accounts.ratelimit import must_answer_429, retry_after

from .failures import REQUEST_ATTRIBUTE, classify, failure_response, log_failure


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


class DatabaseFailureMiddleware:
    """An unreachable database or a lock timeout gives a clean page or JSON error (see
    `core.failures`): 503 with Retry-After, or 409 for a lock held too long by someone else.

    A failure in the view arrives in `process_exception`. One in an inner middleware (loading the
    session or the user) has already become a 500 when the response comes back here; the
    `got_request_exception` receiver remembered its cause on the request, and the 500 is replaced.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        failure = classify(getattr(request, REQUEST_ATTRIBUTE, None))
        if failure is not None and response.status_code == 500:
            return failure_response(request, failure)
        return response

    def process_exception(self, request, exception):
        failure = classify(exception)
        if failure is None:
            return None
        log_failure(request, exception, failure)
        return failure_response(request, failure)


# Without a better figure (a 429 allauth gave for a reason we did not see), wait a minute.
DEFAULT_RETRY_AFTER = 60


def too_many_requests(request, retry_after: int):
    """The 429 page: what happened and how long to wait, in the visitor's language."""
    response = render(
        request,
        "429.html",
        {"retry_after": retry_after, "retry_minutes": math.ceil(retry_after / 60)},
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


class TooManyRequestsMiddleware:
    """django-allauth's rate limits answer like ours: a 429 page with a true Retry-After.

    allauth's own 429 (sign-up, log-in, password reset...) carries no Retry-After: the page is
    rendered again with the time left, read from allauth's counters (see
    `maillage.accounts.ratelimit`). Too many failed log-ins, which allauth only reports on the form,
    also become this 429. Our own 429s (API, proposals) already carry Retry-After and pass.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 429 and not must_answer_429(request):
            return response
        if response.has_header("Retry-After") or response.status_code >= 500:
            return response
        seconds = retry_after(request) or DEFAULT_RETRY_AFTER
        if response.get("Content-Type", "").startswith("text/html"):
            return too_many_requests(request, seconds)
        # A script's request (allauth answers JSON to them): same body, the status says it all.
        response.status_code = 429
        response["Retry-After"] = str(seconds)
        return response


class ApiMethodNotAllowedMiddleware:
    """A wrong HTTP method on the API answers in the API's error shape, with its Allow header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code != 405
            or not request.path.startswith("/api/")
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        allowed = [m.strip() for m in response.get("Allow", "").split(",") if m.strip()]
        replacement = JsonResponse(
            {
                "message": translation.gettext("This method is not allowed here."),
                "details": {"allowed": allowed},
            },
            status=405,
        )
        replacement["Allow"] = response.get("Allow", "")
        return replacement
