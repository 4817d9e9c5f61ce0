"""Pieces every API router uses: bearer authentication, error shape, pagination."""

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import slug_re
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.schema import DjangoGetter
from ninja.security import HttpBearer
from pydantic import model_validator
from pydantic_core import PydanticCustomError

from maillage.accounts.services import api_token_authenticate
from maillage.core import failures
from maillage.core.ratelimit import client_ip, hit, parse_rate, peek

MAX_PAGE_SIZE = 100


# The largest id a database column holds: a larger number names nothing (and would overflow).
MAX_ID = 2**63 - 1


class ObjectIn(Schema):
    """A body that must be a JSON object. Ninja's schemas read any value through attributes, so
    a list or a number would otherwise pass for a body whose fields are all optional."""

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, values):
        given = values._obj if isinstance(values, DjangoGetter) else values
        if not isinstance(given, dict):
            raise PydanticCustomError("model_type", "Input should be a JSON object")
        return values


class ErrorOut(Schema):
    message: str
    details: dict = {}


# The error answers an operation may give; 409 and 503 also come from core.failures (a lock
# held too long, the database unreachable).
ERRORS = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    429: ErrorOut,
    503: ErrorOut,
}


class ApiError(Exception):
    """An error answered as {"message", "details"} with its HTTP status."""

    def __init__(
        self, status: int, message: str, details: dict | None = None, *, retry_after: int = 0
    ):
        super().__init__(message)
        self.status, self.message, self.details = status, message, details or {}
        self.retry_after = retry_after


TOKEN_FAILURES_SCOPE = "api-token-failure"  # noqa: S105 (a counter name, not a secret)


def _too_many_token_failures(retry_after: int) -> ApiError:
    return ApiError(
        429,
        _("Too many invalid tokens from your connection. Try again later."),
        retry_after=retry_after,
    )


class BearerToken(HttpBearer):
    """A personal API token; invalid ones are counted per connection (IP).

    Past MAILLAGE_API_TOKEN_FAILURES_PER_IP failures, every token from that connection gets a 429
    until the window ends, a valid one too: otherwise the 401/200 difference would go on telling
    a guesser when they found a token. Valid calls are never counted.
    """

    def authenticate(self, request, token):
        limit, window = parse_rate(settings.MAILLAGE_API_TOKEN_FAILURES_PER_IP)
        ip = client_ip(request)
        state = peek(TOKEN_FAILURES_SCOPE, ip, limit=limit, window_seconds=window)
        if not state.allowed:
            raise _too_many_token_failures(state.retry_after)
        user = api_token_authenticate(token)
        if user is None:
            failure = hit(TOKEN_FAILURES_SCOPE, ip, limit=limit, window_seconds=window)
            if not failure.allowed:
                raise _too_many_token_failures(failure.retry_after)
            return None
        request.user = user
        return user


class OptionalBearer(BearerToken):
    """Public endpoints: anonymous callers are let in, a given token must still be valid."""

    def __call__(self, request):
        if not request.headers.get("Authorization"):
            return True
        user = super().__call__(request)
        if user is None:
            raise AuthenticationError()
        return user


class MaillageAPI(NinjaAPI):
    """NinjaAPI whose OpenAPI document tells that OptionalBearer operations take anonymous calls.

    Ninja lists each authentication of an operation as required; the empty requirement `{}`
    added next to OptionalBearer says that calling without any token is allowed too.
    """

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for operations in schema["paths"].values():
            for operation in operations.values():
                security = operation.get("security") or []
                if {OptionalBearer.__name__: []} in security and {} not in security:
                    security.append({})
        return schema


def is_slug(value: str) -> bool:
    """Whether `value` can be a slug at all; anything else names nothing, so there is no need
    to ask the database (PostgreSQL refuses a query holding a NUL character)."""
    return bool(slug_re.match(value))


def form_errors(form) -> dict:
    return {field: [str(m) for m in messages] for field, messages in form.errors.items()}


def invalid(form) -> ApiError:
    return ApiError(400, _("Some values are invalid."), form_errors(form))


TIME_EXAMPLE = "2027-03-04T14:00:00+01:00"


def invalid_value(field: str, message: str) -> ApiError:
    return ApiError(400, _("Some values are invalid."), {field: [message]})


def parse_instant(value: str, field: str) -> dt.datetime:
    """An aware datetime from ISO 8601 text, or a 400 naming `field`."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or timezone.is_naive(moment):
        raise invalid_value(
            field,
            _("Give a date and time in ISO 8601 with its offset from UTC, e.g. %(example)s.")
            % {"example": TIME_EXAMPLE},
        )
    try:
        year = moment.astimezone(dt.UTC).year
    except OverflowError:
        year = dt.MINYEAR
    # Away from the calendar's ends, so that showing it in any time zone stays within them.
    if not dt.MINYEAR < year < dt.MAXYEAR:
        raise out_of_range(field)
    return moment


def out_of_range(field: str) -> ApiError:
    return invalid_value(field, _("This date is out of the calendar's range."))


def refuse_unstorable(**texts: str | None) -> None:
    """Refuse NUL characters before PostgreSQL does (lone surrogates never get past the schema)."""
    for field, text in texts.items():
        if text is not None and "\x00" in text:
            raise invalid_value(field, _("This text contains characters that cannot be stored."))


def page_params(request) -> tuple[int, int]:
    try:
        page = int(request.GET.get("page", 1))
        size = int(request.GET.get("page_size", 20))
    except ValueError:
        raise ApiError(400, _("page and page_size must be whole numbers.")) from None
    if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
        raise ApiError(
            400,
            _("page must be at least 1 and page_size between 1 and %(max)d.")
            % {"max": MAX_PAGE_SIZE},
        )
    return page, size


def page_of(request, queryset) -> tuple[int, list]:
    """The count of a list and the rows of the page asked for (`page`, `page_size`)."""
    page, size = page_params(request)
    count = queryset.count()
    offset = (page - 1) * size
    # Past the last page there is nothing to fetch (and a huge offset would overflow in SQL).
    return count, list(queryset[offset : offset + size]) if offset < count else []


def install_error_handlers(api) -> None:
    def reply(request, status, message, details=None):
        return api.create_response(
            request, {"message": message, "details": details or {}}, status=status
        )

    @api.exception_handler(ApiError)
    def _api_error(request, exc):
        response = reply(request, exc.status, exc.message, exc.details)
        if exc.retry_after:
            response["Retry-After"] = str(exc.retry_after)
        return response

    @api.exception_handler(NinjaValidationError)
    def _validation(request, exc):
        details: dict[str, list[str]] = {}
        for error in exc.errors:
            location = [str(part) for part in error.get("loc", ())]
            if location[:1] == ["body"]:
                location = location[2:]  # "body", then the name of the view's payload argument
            location = [part for part in location if part not in ("query", "path")]
            details.setdefault(".".join(location) or "request", []).append(error.get("msg", ""))
        return reply(request, 400, _("Some values are invalid."), details)

    @api.exception_handler(DjangoValidationError)
    def _django_validation(request, exc):
        details = exc.message_dict if hasattr(exc, "error_dict") else {"request": exc.messages}
        return reply(request, 400, " ".join(exc.messages), details)

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request, exc):
        return reply(request, 401, _("Authentication required: send a valid Bearer token."))

    @api.exception_handler(PermissionDenied)
    def _forbidden(request, exc):
        return reply(request, 403, _("You are not allowed to do this."))

    @api.exception_handler(Http404)
    def _not_found(request, exc):
        return reply(request, 404, _("Not found."))

    @api.exception_handler(HttpError)
    def _http_error(request, exc):
        return reply(request, exc.status_code, str(exc))

    # Failures: an unreachable database or a lock timeout, as JSON (see core.failures).
    def _database_failure(request, exc):
        failure = failures.classify(exc)
        failures.log_failure(request, exc, failure)
        return failures.failure_response(request, failure)

    for failure_class in failures.FAILURES:
        api.add_exception_handler(failure_class, _database_failure)
