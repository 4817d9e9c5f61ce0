"""Personal API tokens: stored hashed, checked on every API call, printed by `createtoken`."""

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from maillage.accounts.models import ApiToken
from maillage.accounts.services import TOKEN_PREFIX, api_token_authenticate, api_token_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_token_is_stored_hashed():
    user = UserFactory()

    token, raw = api_token_create(user=user, name="laptop")

    assert raw.startswith(TOKEN_PREFIX)
    assert len(raw) > 40
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {stored.key_hash, stored.prefix, stored.name}
    assert raw.startswith(stored.prefix)
    assert len(stored.prefix) < len(raw) // 2
    assert not ApiToken.objects.filter(key_hash=raw).exists()


def test_two_tokens_differ():
    user = UserFactory()

    assert api_token_create(user=user)[1] != api_token_create(user=user)[1]


def test_a_token_authenticates_its_user_and_records_its_use():
    user = UserFactory()
    token, raw = api_token_create(user=user)

    assert api_token_authenticate(raw) == user

    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_token_of_an_inactive_user_authenticates_nobody():
    user = UserFactory()
    _token, raw = api_token_create(user=user)
    user.is_active = False
    user.save()

    assert api_token_authenticate(raw) is None


@pytest.mark.parametrize("mangle", [str.upper, lambda raw: raw[len(TOKEN_PREFIX) :]])
def test_a_token_without_its_prefix_authenticates_nobody(mangle):
    _token, raw = api_token_create(user=UserFactory())

    assert api_token_authenticate(mangle(raw)) is None


@pytest.mark.parametrize("raw", ["", None, "mlg_", "mlg_nothing-like-this", "Bearer mlg_x"])
def test_unknown_tokens_authenticate_nobody(raw):
    api_token_create(user=UserFactory())

    assert api_token_authenticate(raw) is None


def test_a_deleted_token_authenticates_nobody():
    token, raw = api_token_create(user=UserFactory())
    token.delete()

    assert api_token_authenticate(raw) is None


def test_createtoken_prints_a_token_that_authenticates():
    user = UserFactory(email="coordinator@example.org")
    out = StringIO()

    call_command("createtoken", "Coordinator@Example.org ", "--name", "import script", stdout=out)

    raw = out.getvalue().strip()
    assert api_token_authenticate(raw) == user
    assert ApiToken.objects.get(user=user).name == "import script"


def test_createtoken_for_an_unknown_email_fails():
    with pytest.raises(CommandError):
        call_command("createtoken", "nobody@example.org", stdout=StringIO())

    assert not ApiToken.objects.exists()
