"""A place manager is led to activate an authenticator app, in a real browser under our CSP."""

import re
import time

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from playwright.sync_api import expect

from tests.factories import PlaceFactory, make_manager

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"  # the factories' password


def test_a_manager_activates_an_authenticator_app_then_edits_their_place(
    page, live_server, page_errors, settings, shots_dir
):
    settings.MAILLAGE_MFA_REQUIRED = True
    place = PlaceFactory(name="La Fabrique")
    manager = make_manager(place, email="manager@example.org")
    EmailAddress.objects.create(user=manager, email=manager.email, verified=True, primary=True)
    edit_url = f"/places/{place.slug}/edit/"

    page.goto(live_server.url + f"/accounts/login/?next={edit_url}")
    page.fill("input[name=login]", manager.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    # Sent to the activation, which first asks for the password again (allauth's reauthentication).
    page.wait_for_url(re.compile(r"/accounts/reauthenticate/"))
    expect(page.locator(".message-warning")).to_be_visible()
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/accounts/2fa/totp/activate/$"))

    qr = page.locator("main img[src^='data:image/svg+xml']")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.naturalWidth") > 0  # the data: URI passed the CSP
    expect(page.locator(".account-nav [aria-current=page]")).to_have_attribute(
        "href", "/accounts/2fa/"
    )
    secret = page.locator("#authenticator_secret").input_value()
    counter = int(time.time()) // mfa_settings.TOTP_PERIOD
    page.fill("input[name=code]", format_hotp_value(hotp_value(secret, counter)))
    page.screenshot(path=str(shots_dir / "mfa-activate.png"), full_page=True)
    page.locator("main form button[type=submit]").click()

    page.wait_for_url(re.compile(r"/accounts/2fa/recovery-codes/$"))
    assert len(page.locator("#recovery_codes").input_value().split()) == 10
    page.screenshot(path=str(shots_dir / "mfa-recovery-codes.png"), full_page=True)
    assert Authenticator.objects.filter(user=manager, type=Authenticator.Type.TOTP).exists()

    page.goto(live_server.url + edit_url)
    assert page.url == live_server.url + edit_url
    assert list(page_errors) == []
