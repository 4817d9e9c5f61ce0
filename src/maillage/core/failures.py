"""What people get when the database (or the cache) fails: a clean page or JSON error, never a
traceback.

A lock that could not be taken in time (another request is changing the same rows) answers 409,
to be tried again at once; an unreachable or overwhelmed server answers 503 with Retry-After.
Pages are rendered from `templates/<status>.html`, which extend `errors/base.html`: no request
context, so no context processor, session or user query can fail again while saying so.
"""

import logging
import sys
from dataclasses import dataclass

from django.conf import settings
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

logger = logging.getLogger("maillage.failures")

RETRY_AFTER_SECONDS = 30
API_PREFIX = "/api/"
# PostgreSQL: lock_not_available (lock_timeout, NOWAIT), deadlock_detected, serialization_failure.
LOCK_SQLSTATES = {"55P03", "40P01", "40001"}
# SQLite: another connection holds the write lock beyond the busy timeout.
SQLITE_LOCK_ERRORS = ("SQLITE_BUSY", "SQLITE_LOCKED")
SQLITE_LOCK_MESSAGES = ("database is locked", "database table is locked")
# The request attribute where a failure that happened outside the view is remembered.
REQUEST_ATTRIBUTE = "_maillage_failure"
# Error pages are static: nothing to run, nothing to embed, nothing to frame.
ERROR_PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def _cache_errors() -> tuple[type[BaseException], ...]:
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # no Redis client: the cache is in memory and cannot be unreachable
        return ()
    return (RedisConnectionError, RedisTimeoutError)


FAILURES = (OperationalError, InterfaceError, *_cache_errors())


@dataclass(frozen=True)
class Failure:
    status: int
    retry_after: int = 0

    @property
    def message(self) -> str:
        if self.status == 409:
            return _("Someone else is changing this right now, try again.")
        return _("The service is unavailable for a moment, try again in a few minutes.")


def is_lock_timeout(exc: BaseException) -> bool:
    cause = exc.__cause__
    if getattr(cause, "sqlstate", None) in LOCK_SQLSTATES:
        return True
    if str(getattr(cause, "sqlite_errorname", "")).startswith(SQLITE_LOCK_ERRORS):
        return True
    text = str(exc).lower()
    return any(message in text for message in SQLITE_LOCK_MESSAGES)


def classify(exc: BaseException | None) -> Failure | None:
    """The answer to give for `exc`, or None when it is not a database or cache failure."""
    if exc is None or not isinstance(exc, FAILURES):
        return None
    if isinstance(exc, OperationalError) and is_lock_timeout(exc):
        return Failure(409)
    return Failure(503, retry_after=RETRY_AFTER_SECONDS)


def log_failure(request, exc: BaseException, failure: Failure) -> None:
    level = logging.WARNING if failure.status == 409 else logging.ERROR
    logger.log(level, "%s on %s: %s", failure.status, request.path, exc, exc_info=exc)


def _language(request) -> str:
    # LocaleMiddleware may not have run (or the account's language may have needed the database).
    return getattr(request, "LANGUAGE_CODE", "") or translation.get_language_from_request(request)


def failure_response(request, failure: Failure) -> HttpResponse:
    """The JSON error of the API, or the page, for `failure`; neither queries anything."""
    with translation.override(_language(request)):
        if request.path.startswith(API_PREFIX):
            response = JsonResponse(
                {"message": failure.message, "details": {}}, status=failure.status
            )
        else:
            html = render_to_string(
                f"{failure.status}.html",
                {
                    "site_name": settings.MAILLAGE_SITE_NAME,
                    "message": failure.message,
                    "retry_after": failure.retry_after,
                },
            )
            response = HttpResponse(html, status=failure.status)
    if failure.retry_after:
        response["Retry-After"] = str(failure.retry_after)
    response["Cache-Control"] = "no-store"
    response["Content-Security-Policy"] = ERROR_PAGE_POLICY
    response["X-Frame-Options"] = "DENY"
    return response


def _remember_failure(sender, request=None, **kwargs) -> None:
    """Django turns an exception raised in a middleware into a 500 right there; remember a
    database failure on the request so that DatabaseFailureMiddleware can answer better."""
    exc = sys.exception()
    if request is not None and classify(exc) is not None:
        setattr(request, REQUEST_ATTRIBUTE, exc)


got_request_exception.connect(_remember_failure, dispatch_uid="maillage.core.failures")
