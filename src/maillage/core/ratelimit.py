"""Fixed-window rate limits keyed on a hash, so no raw IP address or email is stored.

Every counter key is `rl:<scope>:<digest>:<window>`, the digest an HMAC-SHA-256 of the identity
under the secret key: the cache (Redis in production) never holds an address, and nobody can
recompute a digest from a guessed address without the key. django-allauth's own counters are
hashed the same way (see `maillage.accounts.ratelimit`).
"""

import functools
import hashlib
import hmac
import ipaddress
import re
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

# Like django-allauth: one IPv6 client usually holds a whole /64, so it is counted as one.
IPV6_PREFIX = 64
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


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


def parse_rate(rate: str) -> tuple[int, int]:
    """Read "5/30m" as (5 attempts, 1800 seconds): the syntax of `.env.example` and allauth."""
    match = re.fullmatch(r"\s*([1-9][0-9]*)/([0-9]*)([smhd])\s*", rate)
    if not match:
        raise ValueError(f"Invalid rate {rate!r}: expected attempts/period, e.g. 5/30m")
    amount, count, unit = match.groups()
    return int(amount), int(count or 1) * _UNITS[unit]


def digest(scope: str, identity: str) -> str:
    """The keyed hash that stands for an IP address, an email or an account in counter keys."""
    message = f"{scope}:{identity}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()[:32]


def _counted_identity(identity: str) -> str:
    try:
        address = ipaddress.ip_address(identity)
    except ValueError:
        return identity
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False))
    return identity


def _key(scope: str, identity: str, window_seconds: int) -> tuple[str, int]:
    """The counter of the current window, and the seconds left until the next one."""
    now = time.time()
    key = f"rl:{scope}:{digest(scope, _counted_identity(identity))}:{int(now // window_seconds)}"
    return key, max(window_seconds - int(now % window_seconds), 1)


def hit(scope: str, identity: str, *, limit: int, window_seconds: int) -> RateLimitResult:
    """Count one attempt of `identity` in `scope`; refuse once `limit` is passed in the window."""
    key, retry_after = _key(scope, identity, window_seconds)
    count = _increment(key, window_seconds)
    return RateLimitResult(allowed=count <= limit, retry_after=retry_after)


def _increment(key: str, window_seconds: int) -> int:
    """Add one to a counter that lives `window_seconds`; with Redis in one round trip (the cache
    API takes three: add, then incr's existence check and increment)."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        full_key = backend.make_key(key)
        pipe = _redis_client(settings.CACHES["default"]["LOCATION"]).pipeline(transaction=False)
        pipe.incr(full_key)
        pipe.expire(full_key, window_seconds, nx=True)
        count, _expiry_set = pipe.execute()
        return count
    backend.add(key, 0, timeout=window_seconds)
    try:
        return backend.incr(key)
    except ValueError:
        backend.set(key, 1, timeout=window_seconds)
        return 1


@functools.cache
def _redis_client(location: str) -> redis.Redis:
    return redis.Redis.from_url(location)


def peek(scope: str, identity: str, *, limit: int, window_seconds: int) -> RateLimitResult:
    """Whether `identity` is already over `limit` in this window, without counting an attempt."""
    key, retry_after = _key(scope, identity, window_seconds)
    return RateLimitResult(allowed=cache.get(key, 0) <= limit, retry_after=retry_after)


def hit_request(request, scope: str, *, limit: int, window_seconds: int) -> RateLimitResult:
    """Count one attempt for the connection (IP) and, when signed in, for the account too.

    Refused when either is over `limit`: a signed-in person cannot get round the limit by moving
    between networks, and a shared connection is still limited as a whole.
    """
    results = [hit(scope, client_ip(request), limit=limit, window_seconds=window_seconds)]
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        results.append(
            hit(f"{scope}:account", str(user.pk), limit=limit, window_seconds=window_seconds)
        )
    refused = [result for result in results if not result.allowed]
    if refused:
        return RateLimitResult(False, max(result.retry_after for result in refused))
    return RateLimitResult(True, max(result.retry_after for result in results))
