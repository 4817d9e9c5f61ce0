"""django-allauth's rate limits made to fit ours: hashed keys, a true Retry-After, 429 answers.

allauth counts attempts in the cache under keys it builds itself,
`allauth:rl:<app>:<action>:<rate>:ip:<the raw IP>` for per-IP limits and the unsalted SHA-256 of
the email for per-email ones (found back by hashing a list of addresses). Neither may be stored,
and allauth has no setting for its keys, so `install()`, called once from `AccountsConfig.ready`,
wraps two functions of `allauth.core.internal.ratelimit`:

- `get_cache_key`: whatever identifies the client (IP, email, account id) is replaced by
  `maillage.core.ratelimit.digest`, an HMAC-SHA-256 under the secret key, like our own counters;
  allauth's lock keys are built from this key, so they are hashed too;
- `_consume_single_rate`: each refusal is noted on the request, so that the answer can give the
  real time left before the oldest counted attempt expires (Retry-After), and so that too many
  failed log-ins, a mere form error in allauth, are answered with a 429.

Both are private to allauth: if an upgrade renames them, `install()` stops the start-up rather than
let raw addresses reach the cache, and tests/security/test_rate_limits.py reads the cache keys.
"""

import math
import time
from dataclasses import dataclass
from functools import wraps

from allauth.core.exceptions import RateLimited
from allauth.core.internal import ratelimit as allauth_ratelimit
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

from maillage.core.ratelimit import digest

_REFUSALS = "_maillage_rate_limit_refusals"
_WRAPPED = ("get_cache_key", "_consume_single_rate")


@dataclass(frozen=True)
class Refusal:
    action: str
    cache_key: str
    amount: int
    duration: float


def hashed_cache_key(raw_key: str, *, app: str, action: str, rate) -> str:
    """allauth's key with the part that names the client replaced by its keyed hash."""
    prefix = ":".join(("allauth", "rl", app, action, str(rate)))
    source = raw_key.removeprefix(f"{prefix}:")
    return f"{prefix}:{digest('allauth', source)}"


def install() -> None:
    missing = [name for name in _WRAPPED if not hasattr(allauth_ratelimit, name)]
    if missing:
        raise ImproperlyConfigured(
            f"allauth.core.internal.ratelimit has no {', '.join(missing)}: review "
            "maillage.accounts.ratelimit, which hashes allauth's rate-limit keys."
        )
    if getattr(allauth_ratelimit.get_cache_key, "maillage_hashed", False):
        return
    original_key = allauth_ratelimit.get_cache_key
    original_consume = allauth_ratelimit._consume_single_rate

    @wraps(original_key)
    def get_cache_key(request, *, app, action, rate, key=None, user=None):
        raw = original_key(request, app=app, action=action, rate=rate, key=key, user=user)
        return hashed_cache_key(raw, app=app, action=action, rate=rate)

    @wraps(original_consume)
    def consume_single_rate(request, *, app, action, rate, key=None, user=None, **options):
        def note():
            cache_key = get_cache_key(
                request, app=app, action=action, rate=rate, key=key, user=user
            )
            refusals = getattr(request, _REFUSALS, None)
            if refusals is None:
                refusals = []
                setattr(request, _REFUSALS, refusals)
            refusals.append(Refusal(action, cache_key, rate.amount, rate.duration))

        try:
            usage = original_consume(
                request, app=app, action=action, rate=rate, key=key, user=user, **options
            )
        except RateLimited:
            note()
            raise
        if usage is None:
            note()
        return usage

    get_cache_key.maillage_hashed = True
    allauth_ratelimit.get_cache_key = get_cache_key
    allauth_ratelimit._consume_single_rate = consume_single_rate


def refusals(request) -> list[Refusal]:
    return list(getattr(request, _REFUSALS, ()))


def retry_after(request) -> int | None:
    """Seconds until every limit allauth refused in this request lets one more attempt through.

    allauth keeps, per key, the times of the attempts still in the window, newest first: a place
    frees up when the `amount`-th newest one leaves the window.
    """
    found = refusals(request)
    if not found:
        return None
    now = time.time()
    waits = [1.0]
    for refusal in found:
        history = sorted(
            (
                moment
                for moment in cache.get(refusal.cache_key, [])
                if moment > now - refusal.duration
            ),
            reverse=True,
        )
        if len(history) >= refusal.amount:
            waits.append(history[refusal.amount - 1] + refusal.duration - now)
    return max(1, math.ceil(max(waits)))


def must_answer_429(request) -> bool:
    """Refusals allauth answers with a mere form error or with silence, which must be a 429 here.

    - too many failed log-ins (password or two-factor code): the form would only say so;
    - a signed-in person asking again for the confirmation email of their own address before the
      cool-down ends: allauth skips the email in silence, which hides nothing here and would
      leave the person waiting for nothing. Anonymous flows (sign-up, log-in of an unconfirmed
      account) stay silent, whether the address has an account or not.
    """
    actions = {refusal.action for refusal in refusals(request)}
    if "login_failed" in actions:
        return True
    user = getattr(request, "user", None)
    return bool(
        "confirm_email" in actions
        and user is not None
        and user.is_authenticated
        and request.method == "POST"
        and "action_send" in request.POST
    )
