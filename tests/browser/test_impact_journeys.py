"""Statistics in a real browser: the manager of a place opens its statistics from the members
pages after the hourly rollup, reads today's check-in and the charts with their tables, and
switches to the year without JavaScript; no person is named and the page breaks no CSP rule."""

import re

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from maillage.accounts.models import PlaceRole
from maillage.members.models import CheckIn
from tests.factories import PlaceFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"  # the factories' password


def test_a_manager_reads_the_statistics_of_the_place(page, live_server, page_errors, shots_dir):
    place = PlaceFactory(name="La Fabrique de Florac", time_zone="Europe/Paris")
    manager = UserFactory(full_name="Maëlle Gérante")
    PlaceRole.objects.create(user=manager, place=place, role=PlaceRole.Role.MANAGER)
    visitor = UserFactory(full_name="Octave Passant", email="octave@example.org")
    PlaceRole.objects.create(user=visitor, place=place, role=PlaceRole.Role.NOMAD)
    CheckIn.objects.create(
        user=visitor,
        place=place,
        day=timezone.localdate(),
        checked_in_at=timezone.now(),
        consumed="free",
    )
    call_command("impact_rollup")

    next_path = f"/members/places/{place.slug}/manage/"
    page.goto(live_server.url + f"/accounts/login/?next={next_path}")
    page.fill("input[name=login]", manager.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(re.escape(next_path)))
    page.get_by_role("link", name=re.compile("Statistiques|Statistics")).click()
    page.wait_for_url(re.compile(rf"/impact/places/{place.slug}/"))

    main = page.locator("main")
    expect(main.locator("h1")).to_contain_text("La Fabrique de Florac")
    charts = main.locator("svg[role=img]")
    expect(charts.first).to_be_visible()
    assert charts.count() >= 3
    checkins = main.locator(
        "tr",
        has=page.locator("th", has_text=re.compile(r"\((days of presence|jours de présence)\)")),
    )
    expect(checkins.first).to_contain_text("1")
    expect(main).not_to_contain_text("Octave")
    expect(main).not_to_contain_text("octave@example.org")
    page.screenshot(path=str(shots_dir / "impact-place-1280.png"), full_page=True)

    page.locator("select[name=period]").select_option("year")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"period=year"))
    expect(main.locator("a[download]")).to_have_attribute("href", re.compile(r"period=year"))
    assert page_errors == []
