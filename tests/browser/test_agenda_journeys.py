"""The agenda in a real browser: Marie-Louise registers for a workshop without an account and
cancels with the link of her email, which gives her place to the first on the waiting list; the
manager of the place checks people in at the door from a phone."""

import datetime as dt
import re
import zoneinfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from maillage.agenda import services
from maillage.agenda.models import Registration
from tests.factories import PlaceFactory, UserFactory, make_manager

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
PASSWORD = "correct horse battery"  # the factories' password


def workshop(place, manager, capacity):
    start = dt.datetime.combine(
        timezone.now().astimezone(PARIS).date() + dt.timedelta(days=5), dt.time(14), PARIS
    )
    (event,) = services.event_create(
        author=manager,
        place=place,
        title="Atelier : mon téléphone au quotidien",
        description="<p>Photos, messages et appels vidéo avec la famille.</p>",
        category="workshop",
        audience="seniors",
        start=start,
        end=start + dt.timedelta(hours=2),
        capacity=capacity,
    )
    return event


def test_marie_louise_registers_without_an_account_and_cancels_from_her_email(
    page, live_server, page_errors, mailoutbox
):
    place = PlaceFactory(name="MSAP de Langogne", town="Langogne")
    event = workshop(place, make_manager(place), capacity=1)

    page.goto(live_server.url + "/agenda/")
    page.get_by_role("link", name=event.title).first.click()
    page.wait_for_url(re.compile(rf"/agenda/events/{event.pk}-"))
    page.fill("input[name=name]", "Marie-Louise Bonnal")
    page.fill("input[name=email]", "marie-louise@example.org")
    page.locator("main form button[type=submit]", has_text=re.compile("Register|inscri")).click()
    page.wait_for_url(re.compile(r"/agenda/registrations/"))
    expect(page.locator("main")).to_contain_text(event.title)

    mine = Registration.objects.get(email="marie-louise@example.org")
    assert mine.status == "confirmed" and mine.email_confirmed_at is None
    # Someone registers after her: the workshop is full, they wait.
    waiting = services.register(event=event, name="Gérard", email="gerard@example.org")
    assert waiting.status == "waitlisted"

    (email,) = [m for m in mailoutbox if m.to == ["marie-louise@example.org"]]
    link = re.search(r"https?://\S+/agenda/registrations/\S+/", email.body).group(0)
    page.goto(live_server.url + re.sub(r"^https?://[^/]+", "", link))
    page.locator("main form button[type=submit]", has_text=re.compile("Confirm|Confirmer")).click()
    mine.refresh_from_db()
    assert mine.email_confirmed_at is not None

    page.locator("main form button[type=submit]", has_text=re.compile("Cancel|Annuler")).click()
    confirm = page.locator("main form button[type=submit]", has_text=re.compile("Yes|Oui"))
    if confirm.count():
        confirm.click()
    expect(page.locator("main")).to_contain_text(re.compile("cancel|annul", re.IGNORECASE))
    mine.refresh_from_db()
    waiting.refresh_from_db()
    assert mine.status == "cancelled"
    assert waiting.status == "confirmed"  # her place went to the first in line
    assert any(m.to == ["gerard@example.org"] for m in mailoutbox[1:])
    assert page_errors == []


def test_the_manager_checks_people_in_at_the_door_from_a_phone(browser, live_server, page_errors):
    place = PlaceFactory(name="POLeN", town="Mende")
    manager = make_manager(place)
    event = workshop(place, manager, capacity=10)
    for name, email in [
        ("Basile Martin", "basile@example.org"),
        ("Justine Roux", "justine@example.org"),
        ("Élodie Chabert", "elodie@example.org"),
    ]:
        services.register(event=event, name=name, email=email)
    UserFactory()  # someone unrelated: not on the list

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = phone.new_page()
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    page.goto(live_server.url + f"/accounts/login/?next=/agenda/manage/events/{event.pk}/checkin/")
    page.fill("input[name=login]", manager.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/agenda/manage/events/{event.pk}/checkin/"))
    expect(page.locator(".agenda-checkin-count")).to_contain_text("0")

    page.fill("input[name=q]", "elodie")  # no accent, lower case
    page.locator("form[role=search] button[type=submit]").click()
    people = page.locator(".agenda-checkin-person")
    expect(people).to_have_count(1)
    expect(people.first).to_contain_text("Élodie Chabert")
    people.first.locator("button[type=submit]").click()

    expect(page.locator(".agenda-checkin-count")).to_contain_text("1")
    arrived = Registration.objects.get(email="elodie@example.org")
    assert arrived.checked_in_at is not None and arrived.checked_in_by == manager
    assert not Registration.objects.filter(
        email__in=["basile@example.org", "justine@example.org"], checked_in_at__isnull=False
    ).exists()
    assert page_errors == []
    phone.close()
