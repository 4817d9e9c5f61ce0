"""Fixed-window rate limits keyed on a hash, so no raw IP address or email is stored."""

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache


@dataclass(frozen=True)
class RateLimitResult:
    allowed: bool
    retry_after: int


def client_ip(request) -> str:
    # Behind the documented reverse proxy the real address is the last hop it appended.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded and getattr(settings, "MAILLAGE_TRUST_PROXY", False):
        return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")


def hit(scope: str, identity: str, *, limit: int, window_seconds: int) -> RateLimitResult:
    """Count one attempt of `identity` in `scope`; refuse once `limit` is passed in the window."""
    window = int(time.time() // window_seconds)
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:{scope}:{identity}".encode()).hexdigest()
    key = f"rl:{scope}:{digest[:32]}:{window}"
    cache.add(key, 0, timeout=window_seconds)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=window_seconds)
        count = 1
    retry_after = window_seconds - int(time.time() % window_seconds)
    return RateLimitResult(allowed=count <= limit, retry_after=max(retry_after, 1))
