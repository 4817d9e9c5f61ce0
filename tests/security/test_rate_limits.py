"""Rate limits and account enumeration.

Every limit, once reached, answers 429 with a Retry-After header (a page for people, the
{"message", "details"} shape for the API); counters are kept per IP and per account or submitted
email; the cache never holds an IP address or an email; and the answers do not tell whether an
account exists.
"""

import hashlib
import importlib
import math
import re
import time

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings as django_settings
from django.contrib.auth.models import AnonymousUser
from django.core import mail, signing
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.test import RequestFactory

from maillage import env
from maillage.accounts.checks import enumeration_needs_mandatory_verification
from maillage.accounts.models import User
from maillage.accounts.services import api_token_create
from maillage.core import ratelimit
from maillage.core.ratelimit import hit, hit_request, parse_rate
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
SIGNUP = "/accounts/signup/"
RESET = "/accounts/password/reset/"
EMAIL = "/accounts/email/"
API_PLACES = "/api/v1/places"
PASSWORD = "correct horse battery"
WRONG_PASSWORD = "wrong password"
NEW_PASSWORD = "a new and long passphrase"
IP = "192.0.2.10"
OTHER_IP = "192.0.2.20"

# Small limits: "attempts/period/per", as in ACCOUNT_RATE_LIMITS. Unnamed actions keep settings.
GENEROUS = "1000/1h"


@pytest.fixture
def limits(settings):
    def set_limits(**actions):
        settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, **actions}

    return set_limits


def login(client, email, password=WRONG_PASSWORD, ip=IP, **extra):
    return client.post(LOGIN, {"login": email, "password": password}, REMOTE_ADDR=ip, **extra)


def signup(client, email, ip=IP, **extra):
    data = {"email": email, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    return client.post(SIGNUP, data, REMOTE_ADDR=ip, **extra)


def reset(client, email, ip=IP):
    return client.post(RESET, {"email": email}, REMOTE_ADDR=ip)


def assert_429_page(response, *, at_most: int, at_least: int = 1) -> int:
    """templates/429.html in the site's layout, saying how long to wait, and Retry-After."""
    assert response.status_code == 429, response.content[:500]
    seconds = int(response["Retry-After"])
    assert at_least <= seconds <= at_most
    assert {"429.html", "base.html"} <= {template.name for template in response.templates}
    page = response.content.decode()
    assert 'class="site-header"' in page and 'role="alert"' in page
    assert f" {math.ceil(seconds / 60)} " in page  # "try again in N minutes"
    return seconds


def assert_429_json(response, *, at_most: int) -> dict:
    assert response.status_code == 429, response.content
    assert 1 <= int(response["Retry-After"]) <= at_most
    body = response.json()
    assert set(body) == {"message", "details"} and body["message"]
    return body


def without_tokens(page: bytes, *words: str) -> str:
    """A page with its per-request CSRF tokens and the given words blanked, to compare two."""
    text = re.sub(r'(name="csrfmiddlewaretoken" value=")[^"]+', r"\1", page.decode())
    for word in words:
        text = text.replace(word, "…")
    return text


# Log-in: the 6th failure for one account within 30 minutes is refused (Zulip's rule).


@pytest.fixture
def zulip_rule(limits):
    """The default limits, whatever the shell running the tests exports."""
    limits(login="30/1m/ip", login_failed="30/5m/ip,5/30m/key")


def test_the_defaults_are_the_documented_ones(monkeypatch):
    example = dict(
        line.split("=", 1)
        for line in (env.PROJECT_DIR / ".env.example").read_text().splitlines()
        if line.startswith("MAILLAGE_RATE_")
    )
    for name in example:
        monkeypatch.delenv(name, raising=False)
    try:
        defaults = importlib.reload(env)
        values = {name: getattr(defaults, name.removeprefix("MAILLAGE_")) for name in example}
    finally:
        monkeypatch.undo()
        importlib.reload(env)

    assert len(example) == 16
    assert values == example
    assert example["MAILLAGE_RATE_LOGIN_FAILED_PER_ACCOUNT"] == "5/30m"
    assert django_settings.ACCOUNT_RATE_LIMITS["login_failed"] == (
        f"{env.RATE_LOGIN_FAILED_PER_IP}/ip,{env.RATE_LOGIN_FAILED_PER_ACCOUNT}/key"
    )


def test_the_sixth_failed_login_for_one_account_within_30_minutes_is_a_429(client, zulip_rule):
    user = UserFactory()

    failures = [login(client, user.email).status_code for _ in range(5)]
    refused = login(client, user.email, PASSWORD)  # even with the right password

    assert failures == [200] * 5
    assert_429_page(refused, at_least=30 * 60 - 5, at_most=30 * 60)
    assert "_auth_user_id" not in client.session


def test_retry_after_is_the_time_left_before_the_oldest_failure_expires(
    client, zulip_rule, monkeypatch
):
    user = UserFactory()
    for _ in range(5):
        login(client, user.email)
    ten_minutes_later = time.time() + 600
    monkeypatch.setattr(time, "time", lambda: ten_minutes_later)

    refused = login(client, user.email)

    assert_429_page(refused, at_least=20 * 60 - 5, at_most=20 * 60)


def test_login_failures_are_counted_per_account_whatever_the_ip(client, zulip_rule):
    blocked, other = UserFactory(), UserFactory()
    for attempt in range(5):
        login(client, blocked.email, ip=f"192.0.2.{100 + attempt}")

    assert login(client, blocked.email, PASSWORD, ip="198.51.100.1").status_code == 429
    # The same connection still reaches the other accounts.
    assert login(client, other.email, ip="192.0.2.100").status_code == 200
    assert login(client, other.email, PASSWORD, ip="192.0.2.100").status_code == 302


def test_login_failures_are_counted_per_ip_across_accounts(client, limits):
    limits(login_failed=f"3/5m/ip,{GENEROUS}/key")
    users = UserFactory.create_batch(4)

    statuses = [login(client, user.email).status_code for user in users[:3]]
    refused = login(client, users[3].email, PASSWORD)
    elsewhere = login(client, users[3].email, PASSWORD, ip=OTHER_IP)

    assert statuses == [200, 200, 200]
    assert_429_page(refused, at_least=5 * 60 - 5, at_most=5 * 60)
    assert elsewhere.status_code == 302


def test_successful_logins_are_not_counted_as_failures(client, limits):
    limits(login_failed=f"{GENEROUS}/ip,2/30m/key")
    user = UserFactory()

    assert login(client, user.email).status_code == 200
    for _ in range(3):
        assert login(client, user.email, PASSWORD).status_code == 302
        client.logout()
    assert login(client, user.email).status_code == 200
    assert login(client, user.email, PASSWORD).status_code == 429


def test_an_unknown_email_is_limited_exactly_like_an_account(client, zulip_rule):
    user = UserFactory()
    known = [login(client, user.email).status_code for _ in range(6)]
    unknown = [login(client, "nobody@example.org").status_code for _ in range(6)]

    assert known == unknown == [200] * 5 + [429]


def test_login_form_submissions_are_limited_per_ip(client, limits):
    limits(login="2/1m/ip")
    user = UserFactory()

    first, second = login(client, user.email), login(client, user.email)
    refused = login(client, user.email, PASSWORD)

    assert (first.status_code, second.status_code) == (200, 200)
    assert_429_page(refused, at_least=55, at_most=60)
    assert login(client, user.email, PASSWORD, ip=OTHER_IP).status_code == 302


# Sign-up, password reset, confirmation emails.


def test_signups_are_limited_per_ip(client, limits):
    limits(signup="2/10m/ip")

    statuses = [signup(client, f"new{n}@example.org").status_code for n in range(2)]
    client.logout()
    refused = signup(client, "new2@example.org")

    assert statuses == [302, 302]
    assert_429_page(refused, at_least=10 * 60 - 5, at_most=10 * 60)
    assert not User.objects.filter(email="new2@example.org").exists()
    assert signup(client, "new2@example.org", ip=OTHER_IP).status_code == 302


@pytest.mark.parametrize("has_account", [True, False])
def test_password_resets_are_limited_per_email_whatever_the_ip(client, limits, has_account):
    limits(reset_password=f"{GENEROUS}/ip,2/1h/key")
    email = UserFactory().email if has_account else "nobody@example.org"

    statuses = [reset(client, email, ip=f"192.0.2.{n}").status_code for n in (1, 2)]
    refused = reset(client, email, ip="192.0.2.3")

    assert statuses == [302, 302]
    assert_429_page(refused, at_least=3600 - 5, at_most=3600)
    assert len(mail.outbox) == 2
    assert reset(client, "someone.else@example.org").status_code == 302


def test_password_resets_are_limited_per_ip_across_emails(client, limits):
    limits(reset_password=f"2/1h/ip,{GENEROUS}/key")

    statuses = [reset(client, f"person{n}@example.org").status_code for n in range(2)]
    refused = reset(client, "person2@example.org")

    assert statuses == [302, 302]
    assert_429_page(refused, at_least=3600 - 5, at_most=3600)
    assert reset(client, "person2@example.org", ip=OTHER_IP).status_code == 302


def test_password_reset_links_are_limited_per_ip(client, limits):
    limits(reset_password_from_key="2/1m/ip")
    url = "/accounts/password/reset/key/1-set-password/"
    data = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}

    statuses = [client.post(url, data, REMOTE_ADDR=IP).status_code for _ in range(2)]
    refused = client.post(url, data, REMOTE_ADDR=IP)

    assert 429 not in statuses
    assert_429_page(refused, at_most=60)


def test_asking_again_for_a_confirmation_email_too_soon_is_a_429(client):
    user = UserFactory()
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=False)
    client.force_login(user)
    send = {"email": user.email, "action_send": ""}

    first = client.post(EMAIL, send, REMOTE_ADDR=IP)
    refused = client.post(EMAIL, send, REMOTE_ADDR=OTHER_IP)

    assert first.status_code == 302
    assert_429_page(refused, at_least=3 * 60 - 5, at_most=3 * 60)
    assert len(mail.outbox) == 1


def test_confirmation_emails_are_limited_per_ip(client, limits):
    limits(confirm_email=f"{GENEROUS}/key,1/10m/ip")
    user = UserFactory()
    for email in (user.email, "second@example.org"):
        EmailAddress.objects.create(user=user, email=email, verified=False)
    client.force_login(user)

    first = client.post(EMAIL, {"email": user.email, "action_send": ""}, REMOTE_ADDR=IP)
    refused = client.post(EMAIL, {"email": "second@example.org", "action_send": ""}, REMOTE_ADDR=IP)

    assert first.status_code == 302
    assert_429_page(refused, at_least=10 * 60 - 5, at_most=10 * 60)
    assert len(mail.outbox) == 1


# The JSON API: invalid Bearer tokens.


@pytest.fixture
def token_limit(settings):
    settings.MAILLAGE_API_TOKEN_FAILURES_PER_IP = "3/10m"


def call_api(client, token, ip=IP):
    return client.get(API_PLACES, headers={"authorization": f"Bearer {token}"}, REMOTE_ADDR=ip)


def test_repeated_invalid_tokens_from_one_ip_are_a_429(client, token_limit):
    _token, valid = api_token_create(user=UserFactory())

    failures = [call_api(client, f"mlg_guess{n}").status_code for n in range(3)]
    refused = call_api(client, "mlg_guess3")
    # Refused as a whole: a valid token must not tell the guesser it was found.
    valid_from_there = call_api(client, valid)

    assert failures == [401, 401, 401]
    body = assert_429_json(refused, at_most=600)
    assert body["details"] == {}
    assert_429_json(valid_from_there, at_most=600)
    assert call_api(client, valid, ip=OTHER_IP).status_code == 200
    assert call_api(client, "mlg_guess", ip=OTHER_IP).status_code == 401


def test_valid_tokens_are_never_counted(client, token_limit):
    _token, valid = api_token_create(user=UserFactory())

    valid_calls = [call_api(client, valid).status_code for _ in range(20)]
    failures = [call_api(client, "not-even-a-maillage-token").status_code for _ in range(3)]

    assert valid_calls == [200] * 20
    assert failures == [401] * 3
    assert call_api(client, "mlg_guess").status_code == 429


# Public forms: place proposals, per IP and, signed in, per account.


def test_proposals_are_counted_per_ip_and_per_signed_in_account():
    factory = RequestFactory()
    user = UserFactory()

    def attempt(ip, person=None):
        request = factory.post("/", REMOTE_ADDR=ip)
        request.user = person or AnonymousUser()
        return hit_request(request, "proposal", limit=2, window_seconds=3600)

    signed_in = [attempt(f"192.0.2.{n}", user).allowed for n in (1, 2, 3)]
    anonymous_from_a_fresh_ip = attempt("192.0.2.4")
    anonymous_from_a_used_ip = [attempt("192.0.2.1").allowed for _ in range(2)]

    assert signed_in == [True, True, False]  # three networks, one account
    assert anonymous_from_a_fresh_ip.allowed
    assert anonymous_from_a_used_ip == [True, False]  # 192.0.2.1: one by the account, two here


def test_a_proposal_refused_per_account_says_when_to_come_back():
    request = RequestFactory().post("/", REMOTE_ADDR=IP)
    request.user = UserFactory()
    for _ in range(2):
        hit_request(request, "proposal", limit=2, window_seconds=3600)
    request.META["REMOTE_ADDR"] = OTHER_IP

    refused = hit_request(request, "proposal", limit=2, window_seconds=3600)

    assert not refused.allowed
    assert 1 <= refused.retry_after <= 3600


# The client's address behind the reverse proxy: one rule for allauth and for us.


def test_a_forged_forwarded_for_does_not_escape_allauths_ip_limits(client, limits, settings):
    settings.MAILLAGE_TRUST_PROXY = False
    limits(signup="1/10m/ip")

    first = signup(client, "a@example.org", HTTP_X_FORWARDED_FOR="198.51.100.1")
    client.logout()
    second = signup(client, "b@example.org", HTTP_X_FORWARDED_FOR="198.51.100.2")

    assert (first.status_code, second.status_code) == (302, 429)


def test_behind_a_trusted_proxy_allauth_counts_the_address_it_appended(client, limits, settings):
    settings.MAILLAGE_TRUST_PROXY = True
    limits(signup="1/10m/ip")

    statuses = []
    for n, forwarded in enumerate(
        ("203.0.113.9, 198.51.100.1", "198.51.100.1", "203.0.113.9, 198.51.100.2")
    ):
        statuses.append(
            signup(client, f"p{n}@example.org", HTTP_X_FORWARDED_FOR=forwarded).status_code
        )
        client.logout()

    assert statuses == [302, 429, 302]


def test_one_ipv6_client_is_counted_per_64_network():
    first = hit("test", "2001:db8:1:2::1", limit=1, window_seconds=60)
    same_network = hit("test", "2001:db8:1:2:ffff::9", limit=1, window_seconds=60)
    other_network = hit("test", "2001:db8:1:3::1", limit=1, window_seconds=60)

    assert (first.allowed, same_network.allowed, other_network.allowed) == (True, False, True)


def test_a_counter_lives_one_window_and_peek_reads_what_hit_counted():
    for _ in range(3):
        hit("window", "198.51.100.7", limit=2, window_seconds=90)

    assert not ratelimit.peek("window", "198.51.100.7", limit=2, window_seconds=90).allowed
    assert ratelimit.peek("window", "198.51.100.7", limit=3, window_seconds=90).allowed
    key, _seconds_left = ratelimit._key("window", "198.51.100.7", 90)
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        client = backend._cache.get_client(write=False)
        assert 0 < client.ttl(backend.make_key(key)) <= 90
    else:
        assert backend._expire_info[backend.make_key(key)] <= time.time() + 90


def test_rates_read_like_allauths():
    assert parse_rate("5/30m") == (5, 1800)
    assert parse_rate("20/1h") == (20, 3600)
    assert parse_rate("3/m") == (3, 60)
    with pytest.raises(ValueError):
        parse_rate("5 per minute")


# Stored keys: no IP address, no email, not even their plain hash.


def stored():
    """Every key (text) and value (bytes) in the cache: LocMemCache, or Redis with REDIS_URL."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        client = backend._cache.get_client(write=False)
        keys = [key.decode() for key in client.scan_iter()]
        return keys, [client.get(key) for key in keys]
    keys = list(backend._cache.keys())
    return keys, [backend._cache[key] for key in keys]


def test_no_ip_address_or_email_reaches_the_cache(client, limits, settings):
    settings.MAILLAGE_TRUST_PROXY = True
    settings.MAILLAGE_API_TOKEN_FAILURES_PER_IP = "1/10m"
    limits(signup="1/10m/ip")
    ipv4, ipv6 = "203.0.113.77", "2001:db8:77:77::77"
    user = UserFactory(email="victim@example.org")
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=False)
    emails = [user.email, "stranger@example.org"]

    for ip in (ipv4, ipv6):
        forwarded = {"HTTP_X_FORWARDED_FOR": f"10.0.0.1, {ip}"}
        for email in emails:
            login(client, email, **forwarded)
            client.post(RESET, {"email": email}, **forwarded)
            signup(client, email, **forwarded)
            client.logout()
        client.get(API_PLACES, headers={"authorization": "Bearer mlg_guess"}, **forwarded)
        request = RequestFactory().post("/", **forwarded)
        request.user = user
        hit_request(request, "proposal", limit=5, window_seconds=3600)
    client.force_login(user)
    client.post(EMAIL, {"email": user.email, "action_send": ""}, REMOTE_ADDR=ipv4)

    keys, values = stored()
    allauth_keys = [key for key in keys if "allauth:rl:" in key]
    assert {"login", "login_failed", "reset_password", "signup", "confirm_email"} <= {
        key.split(":")[5] for key in allauth_keys
    }
    assert any(":rl:api-token-failure:" in key for key in keys)
    assert any(":rl:proposal:account:" in key for key in keys)
    secrets = [ipv4, ipv6, "2001:db8:77:77::", *emails]
    secrets += [hashlib.sha256(s.encode()).hexdigest() for s in secrets]
    secrets += [hashlib.sha256(f"testserver:{email}".encode()).hexdigest() for email in emails]
    for key in keys:
        assert not any(secret in key for secret in secrets), key
    for value in values:
        assert not any(secret.encode() in value for secret in secrets)
    for key in allauth_keys:
        assert re.search(r":[0-9a-f]{32}(:lock)?$", key), key


def test_the_key_hash_depends_on_the_secret_key(settings):
    first = ratelimit.digest("allauth", "ip:203.0.113.77")
    settings.SECRET_KEY = "another secret key, another installation"

    assert ratelimit.digest("allauth", "ip:203.0.113.77") != first


# Enumeration: the same answers whether an account exists or not.


def test_a_password_reset_answers_the_same_for_an_unknown_email(client):
    user = UserFactory()

    known = client.post(RESET, {"email": user.email}, follow=True)
    unknown = client.post(RESET, {"email": "nobody@example.org"}, follow=True)

    assert known.redirect_chain == unknown.redirect_chain
    assert known.status_code == unknown.status_code == 200
    assert without_tokens(known.content) == without_tokens(unknown.content)
    # Each address gets one email: a reset link for the owner, "no account here" for the other.
    assert [message.to for message in mail.outbox] == [[user.email], ["nobody@example.org"]]
    assert "/accounts/password/reset/key/" in mail.outbox[0].body
    assert "/accounts/password/reset/key/" not in mail.outbox[1].body


def test_signing_up_with_a_taken_email_looks_like_a_new_signup(client, settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"  # as soon as email is configured
    owner = UserFactory(email="owner@example.org")
    EmailAddress.objects.create(user=owner, email=owner.email, primary=True, verified=True)

    new = signup(client, "newcomer@example.org", follow=True)
    client.logout()
    taken = signup(client, owner.email, follow=True)

    assert new.redirect_chain == taken.redirect_chain
    assert new.status_code == taken.status_code == 200
    assert without_tokens(new.content, "newcomer@example.org") == without_tokens(
        taken.content, owner.email
    )
    assert User.objects.filter(email=owner.email).count() == 1
    # The newcomer gets a confirmation link; the owner is told someone tried with their address.
    assert [message.to for message in mail.outbox] == [["newcomer@example.org"], [owner.email]]
    assert "/accounts/confirm-email/" in mail.outbox[0].body
    assert "/accounts/confirm-email/" not in mail.outbox[1].body
    assert "/accounts/password/reset/" in mail.outbox[1].body


def test_a_failed_login_says_the_same_for_an_unknown_email_and_a_wrong_password(client):
    user = UserFactory(email="known@example.org")

    wrong_password = login(client, user.email)
    unknown_email = login(client, "unknown@example.org")

    assert wrong_password.status_code == unknown_email.status_code == 200
    errors = wrong_password.context["form"].non_field_errors()
    assert errors and errors == unknown_email.context["form"].non_field_errors()
    assert without_tokens(wrong_password.content, user.email) == without_tokens(
        unknown_email.content, "unknown@example.org"
    )


def test_check_deploy_warns_when_signup_would_tell_an_address_is_taken(settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "optional"
    assert [w.id for w in enumeration_needs_mandatory_verification(None)] == ["maillage.W001"]
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    assert enumeration_needs_mandatory_verification(None) == []


PROPOSAL = {"name": "Le Fab'", "town": "Florac", "latitude": "44.32", "longitude": "3.59"}


def test_a_signed_in_person_moving_between_networks_is_limited_on_the_proposal_page(
    client, settings
):
    settings.MAILLAGE_PROPOSALS_PER_HOUR = 2
    client.force_login(UserFactory())
    data = {**PROPOSAL, "started": signing.dumps(time.time() - 10)}  # filled in 10 s

    statuses = [
        client.post("/places/propose/", data, REMOTE_ADDR=f"192.0.2.{n}").status_code
        for n in (1, 2, 3)
    ]

    assert statuses == [200, 200, 429]


def test_a_token_moving_between_networks_is_limited_on_the_proposal_api(client, settings):
    settings.MAILLAGE_PROPOSALS_PER_HOUR = 2
    _token, raw = api_token_create(user=UserFactory())

    statuses = [
        client.post(
            "/api/v1/proposals",
            data=PROPOSAL,
            content_type="application/json",
            headers={"authorization": f"Bearer {raw}"},
            REMOTE_ADDR=f"192.0.2.{n}",
        ).status_code
        for n in (1, 2, 3)
    ]

    assert statuses == [201, 201, 429]
