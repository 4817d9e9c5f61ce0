"""Two-factor authentication: offered to all, required of managers, coordinators, superusers."""

import time

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import (
    SECRET_SESSION_KEY,
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import translation

from maillage.accounts.middleware import ACTIVATE_MESSAGE, CONFIRM_EMAIL_MESSAGE
from maillage.accounts.models import PlaceRole
from tests.factories import (
    NetworkFactory,
    PlaceFactory,
    UserFactory,
    make_coordinator,
    make_manager,
)

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"  # the factories' password
ACTIVATE_URL = reverse("mfa_activate_totp")


@pytest.fixture(autouse=True)
def _mfa_required(settings):
    settings.MAILLAGE_MFA_REQUIRED = True


def current_code(secret: str) -> str:
    """The code an authenticator app shows right now."""
    counter = int(time.time()) // mfa_settings.TOTP_PERIOD
    return format_hotp_value(hotp_value(secret, counter))


def wrong_code(secret: str) -> str:
    """A code that no time step accepted around now gives."""
    counter = int(time.time()) // mfa_settings.TOTP_PERIOD
    accepted = {format_hotp_value(hotp_value(secret, counter + step)) for step in range(-2, 3)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in accepted)


def verified(user):
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def with_totp(user) -> str:
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


@pytest.fixture
def place():
    return PlaceFactory(is_published=True)


@pytest.fixture
def manager(place):
    return verified(make_manager(place))


def pages(place):
    return [
        "/",
        reverse("places:directory"),
        place.get_absolute_url(),
        reverse("account_change_password"),
    ]


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# Who is forced ---------------------------------------------------------------------------------


def test_a_manager_without_an_authenticator_app_is_sent_to_its_activation(client, manager, place):
    client.force_login(manager)
    for url in [*pages(place), reverse("places:edit", args=[place.slug])]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url == ACTIVATE_URL, url


def test_the_redirect_says_why_once_in_the_account_language(client, place):
    manager = verified(make_manager(place, language="es"))
    client.force_login(manager)
    client.get("/")
    response = client.get(reverse("places:directory"), follow=True)
    with translation.override("es"):
        expected = str(ACTIVATE_MESSAGE)
    assert messages_of(response) == [expected]


@pytest.mark.parametrize("who", ["coordinator", "superuser"])
def test_coordinators_and_superusers_are_forced_too(client, who, place):
    if who == "coordinator":
        user = make_coordinator(NetworkFactory())
    else:
        user = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(verified(user))
    for url in [*pages(place), "/admin/"]:
        response = client.get(url)
        assert (response.status_code, response.url) == (302, ACTIVATE_URL), url


@pytest.mark.parametrize("role", [PlaceRole.Role.STAFF, PlaceRole.Role.RESIDENT, None])
def test_staff_members_and_people_without_a_role_are_never_forced(client, role, place):
    user = verified(UserFactory())
    if role:
        PlaceRole.objects.create(user=user, place=place, role=role)
    client.force_login(user)
    for url in pages(place):
        assert client.get(url).status_code == 200, url
    # …but two-factor authentication is offered to them as to everyone.
    response = client.get(reverse("mfa_index"))
    assert response.status_code == 200
    assert ACTIVATE_URL in response.content.decode()


def test_nobody_is_forced_when_the_requirement_is_off(client, settings, manager, place):
    settings.MAILLAGE_MFA_REQUIRED = False
    client.force_login(manager)
    for url in [*pages(place), reverse("places:edit", args=[place.slug])]:
        assert client.get(url).status_code == 200, url


def test_a_manager_with_an_authenticator_app_browses_normally(client, manager, place):
    with_totp(manager)
    client.force_login(manager)
    for url in [*pages(place), reverse("places:edit", args=[place.slug])]:
        assert client.get(url).status_code == 200, url


def test_scripts_asking_for_json_get_a_refusal_rather_than_a_page(client, manager):
    client.force_login(manager)
    response = client.get(reverse("places:directory"), headers={"accept": "application/json"})
    assert response.status_code == 403


# What stays reachable --------------------------------------------------------------------------


def test_two_factor_pages_logout_language_and_api_stay_reachable(client, manager):
    client.force_login(manager)
    assert client.get(reverse("mfa_index")).status_code == 200
    # Activation asks for the password again first (allauth's reauthentication), which is reachable.
    response = client.get(ACTIVATE_URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_reauthenticate"))
    assert client.get(response.url).status_code == 200
    assert client.get(reverse("javascript-catalog")).status_code == 200
    assert client.get("/api/v1/places").status_code == 200
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert response.url == "/"
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_a_manager_whose_email_is_unconfirmed_is_asked_to_confirm_it_first(client, place):
    manager = make_manager(place, language="fr")
    EmailAddress.objects.create(user=manager, email=manager.email, verified=False, primary=True)
    client.force_login(manager)
    response = client.get("/")
    assert (response.status_code, response.url) == (302, reverse("account_email"))
    response = client.get(response.url)
    assert response.status_code == 200
    with translation.override("fr"):
        assert messages_of(response) == [str(CONFIRM_EMAIL_MESSAGE)]


# Activation ------------------------------------------------------------------------------------


def test_activating_the_authenticator_app_through_the_pages_ends_the_redirects(client, manager):
    client.force_login(manager)
    assert client.get("/").url == ACTIVATE_URL
    response = client.get(ACTIVATE_URL)
    response = client.post(response.url, {"password": PASSWORD})  # allauth's reauthentication
    assert (response.status_code, response.url) == (302, ACTIVATE_URL)

    response = client.get(ACTIVATE_URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'src="data:image/svg+xml;base64,' in page  # the QR code, allowed by img-src data:
    assert "<script" not in page.split("<footer")[0]  # nothing inline for the CSP to block
    secret = client.session[SECRET_SESSION_KEY]
    assert secret in page  # also typed by hand when the phone cannot scan

    response = client.post(ACTIVATE_URL, {"code": wrong_code(secret)})
    assert response.status_code == 200
    assert not Authenticator.objects.filter(user=manager).exists()

    response = client.post(ACTIVATE_URL, {"code": current_code(secret)})
    assert (response.status_code, response.url) == (302, reverse("mfa_view_recovery_codes"))
    assert Authenticator.objects.filter(user=manager, type=Authenticator.Type.TOTP).exists()
    assert Authenticator.objects.filter(
        user=manager, type=Authenticator.Type.RECOVERY_CODES
    ).exists()
    assert client.get("/").status_code == 200


def test_the_account_pages_link_to_two_factor_authentication(client):
    client.force_login(verified(UserFactory()))
    page = client.get(reverse("account_email")).content.decode()
    assert f'href="{reverse("mfa_index")}"' in page


# Signing in ------------------------------------------------------------------------------------


def log_in(client, user):
    return client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})


def test_signing_in_with_an_authenticator_app_asks_for_a_code(client, manager):
    secret = with_totp(manager)
    response = log_in(client, manager)
    assert (response.status_code, response.url) == (302, reverse("mfa_authenticate"))
    assert "_auth_user_id" not in client.session  # the password alone signs nobody in

    response = client.post(reverse("mfa_authenticate"), {"code": current_code(secret)})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(manager.pk)
    assert client.get("/").status_code == 200


def test_a_wrong_code_is_refused(client, manager):
    secret = with_totp(manager)
    log_in(client, manager)
    response = client.post(reverse("mfa_authenticate"), {"code": wrong_code(secret)})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert "_auth_user_id" not in client.session


def test_a_code_cannot_be_used_twice(client, manager):
    secret = with_totp(manager)
    code = current_code(secret)
    log_in(client, manager)
    client.post(reverse("mfa_authenticate"), {"code": code})
    client.post(reverse("account_logout"))
    log_in(client, manager)
    response = client.post(reverse("mfa_authenticate"), {"code": code})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_a_recovery_code_signs_in_once(client, manager):
    with_totp(manager)
    code = RecoveryCodes.activate(manager).generate_codes()[0]
    log_in(client, manager)
    response = client.post(reverse("mfa_authenticate"), {"code": code})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(manager.pk)

    client.post(reverse("account_logout"))
    log_in(client, manager)
    response = client.post(reverse("mfa_authenticate"), {"code": code})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_people_without_an_authenticator_app_sign_in_with_their_password(client):
    member = verified(UserFactory())
    response = log_in(client, member)
    assert response.status_code == 302
    assert response.url == "/"
    assert client.session["_auth_user_id"] == str(member.pk)
