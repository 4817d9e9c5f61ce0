"""My data in a real browser: Aline downloads everything Maillage holds about her, then erases
her account; her coming booking goes to Odile, who was waiting for it."""

import datetime as dt
import io
import json
import re
import zipfile
import zoneinfo
from pathlib import Path

import pytest
from django.utils import timezone, translation
from playwright.sync_api import expect

from maillage.accounts.models import PlaceRole, User
from maillage.bookings import services as bookings
from maillage.bookings.models import WaitlistEntry
from maillage.privacy.forms import CONFIRMATION_WORD
from tests.factories import PlaceFactory, UserFactory, make_manager

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"  # the factories' password
PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def sign_in(page, live_server, user, next_path):
    page.goto(live_server.url + f"/accounts/login/?next={next_path}")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(re.escape(next_path)))


@pytest.fixture
def context_options():
    """On a phone: the pages must work at that width."""
    return {"locale": "fr-FR", "viewport": {"width": 390, "height": 844}}


def test_a_member_downloads_her_data_then_erases_her_account(
    page, live_server, page_errors, shots_dir
):
    place = PlaceFactory(name="La Fabrique du Causse")
    manager = make_manager(place)
    aline = UserFactory(email="aline@example.org", full_name="Aline Brandebourg", language="fr")
    odile = UserFactory(full_name="Odile Voisine")
    for person in (aline, odile):
        PlaceRole.objects.create(user=person, place=place, role=PlaceRole.Role.RESIDENT)
    room = bookings.resource_create(place=place, author=manager, name="Salle", kind="meeting_room")
    today = timezone.now().astimezone(PARIS).date()
    start = dt.datetime.combine(today + dt.timedelta(days=8), dt.time(10), PARIS)
    end = start + dt.timedelta(hours=1)
    bookings.booking_create(resource=room, booker=aline, start=start, end=end, title="Poterie")
    waiting = bookings.waitlist_join(resource=room, user=odile, start=start, end=end)

    sign_in(page, live_server, aline, "/privacy/")
    expect(page.locator("main h1")).to_be_visible()
    expect(page.locator("main table")).to_contain_text("1")
    page.screenshot(path=str(shots_dir / "privacy-mine-390.png"), full_page=True)
    with page.expect_download() as download_info:
        page.locator("main a[href='/privacy/export.zip']").first.click()
    content = Path(download_info.value.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        data = json.loads(archive.read("data.json"))
        assert "README.txt" in archive.namelist() and "bookings.csv" in archive.namelist()
    assert data["sections"]["account"][0]["full_name"] == "Aline Brandebourg"
    assert data["sections"]["bookings"][0]["title"] == "Poterie"

    page.locator("main a[href='/privacy/erase/']").click()
    page.wait_for_url(re.compile("/privacy/erase/"))
    with translation.override("fr"):
        word = str(CONFIRMATION_WORD)
    page.screenshot(path=str(shots_dir / "privacy-erase-390.png"), full_page=True)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[name=confirmation]").fill(word)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(live_server.url + "/")
    expect(page.locator("a[href='/accounts/login/']").first).to_be_visible()

    tombstone = User.objects.get(pk=aline.pk)
    assert not tombstone.is_active and tombstone.full_name == ""
    assert WaitlistEntry.objects.get(pk=waiting.pk).status == WaitlistEntry.Status.BOOKED
    assert page_errors == []
