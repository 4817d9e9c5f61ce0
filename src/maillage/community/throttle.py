"""Rate limits of the community exchange: anything a person writes for others (posts, private
replies, reports, votes) is counted per IP and per account; mentoring questions, which may come
without an account, per IP. Views answer the 429 page, the API a 429 error."""

from django.conf import settings
from django.utils.translation import gettext as _

from maillage.core.api import ApiError
from maillage.core.middleware import too_many_requests
from maillage.core.ratelimit import RateLimitResult, hit_request, parse_rate


def posting(request) -> RateLimitResult:
    limit, window = parse_rate(settings.MAILLAGE_COMMUNITY_POSTS)
    return hit_request(request, "community.post", limit=limit, window_seconds=window)


def asking(request) -> RateLimitResult:
    limit, window = parse_rate(settings.MAILLAGE_MENTORING_PER_IP)
    return hit_request(request, "community.mentoring", limit=limit, window_seconds=window)


def page_refusal(request, result: RateLimitResult):
    """The 429 page when `result` refuses, else None: `if refusal := page_refusal(...)`."""
    return None if result.allowed else too_many_requests(request, result.retry_after)


def api_refuse(result: RateLimitResult) -> None:
    if not result.allowed:
        raise ApiError(
            429,
            _("Too many posts from your connection or account. Try again later."),
            retry_after=result.retry_after,
        )
