"""Booking in a real browser: Catherine, a teacher in Mende, needs a visio room on Thursday
afternoon (seed 003), searches the network and books the nearest free one."""

import datetime as dt
import re
import zoneinfo

import pytest
from django.utils import timezone, translation
from playwright.sync_api import expect

from maillage.bookings import services
from maillage.bookings.models import Booking, Occurrence
from maillage.places.models import PlaceTerm
from tests.factories import NetworkFactory, OpeningHoursFactory, PlaceFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
PASSWORD = "correct horse battery"  # the factories' password


def lozere_place(name, town, point, *, network):
    place = PlaceFactory(name=name, town=town, latitude=point[0], longitude=point[1])
    place.networks.add(network)
    PlaceTerm.objects.create(place=place, kind=PlaceTerm.Kind.SERVICE, code="visio_room")
    for weekday in range(5):
        OpeningHoursFactory(place=place, weekday=weekday, opens=dt.time(8), closes=dt.time(18))
    return place


def visio_room(place, name):
    return services.resource_create(
        place=place,
        author=None,
        name=name,
        kind="visio_room",
        capacity=4,
        services=["visio_room", "wifi"],
    )


def test_catherine_finds_a_visio_room_near_mende_for_thursday_afternoon_and_books_it(
    page, live_server, page_errors
):
    network = NetworkFactory(name="Solozère")
    polen = lozere_place("POLeN", "Mende", (44.5181, 3.5006), network=network)
    florac = lozere_place("MSAP Florac", "Florac", (44.3247, 3.5961), network=network)
    taken = visio_room(polen, "Salle Tarn")
    free_nearby = visio_room(polen, "Salle Lot")
    further = visio_room(florac, "Salle de visio")
    today = timezone.now().astimezone(PARIS).date()
    thursday = today + dt.timedelta(days=(3 - today.weekday()) % 7 + 7)
    start = dt.datetime.combine(thursday, dt.time(14), PARIS)
    end = dt.datetime.combine(thursday, dt.time(17), PARIS)
    services.booking_create(
        resource=taken, booker=UserFactory(), start=start - dt.timedelta(hours=1), end=start
    )
    services.booking_create(
        resource=taken,
        booker=UserFactory(),
        start=start + dt.timedelta(hours=2),
        end=end,
        title="Conseil d'administration",
        private=True,
    )
    catherine = UserFactory(email="catherine@example.org", full_name="Catherine Vidal")

    page.goto(live_server.url + "/accounts/login/?next=/bookings/")
    page.fill("input[name=login]", catherine.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/bookings/$"))

    page.fill("input[name=date]", thursday.isoformat())
    page.fill("input[name=start_time]", "14:00")
    page.fill("input[name=end_time]", "17:00")
    page.select_option("select[name=kind]", "visio_room")
    page.fill("input[name=town]", "Mende")
    page.locator("form button[type=submit]", has_text=re.compile("Trouver|Find")).click()
    page.wait_for_url(re.compile(r"/bookings/\?"))

    cards = page.locator(".availability-card h3")
    expect(cards).to_have_text([free_nearby.name, further.name])  # nearest first, Tarn is taken
    page.locator(".availability-card").first.get_by_role(
        "link", name=re.compile("^(Réserver|Book)")
    ).click()
    page.wait_for_url(re.compile(rf"/bookings/resources/{free_nearby.pk}/book/"))
    page.fill("input[name=title]", "Conseil de classe en visio")
    page.locator("main form button[type=submit]", has_text=re.compile("Réserver|Book")).click()
    page.wait_for_url(re.compile(r"/bookings/mine/"))

    with translation.override("fr"):
        expect(page.locator(".messages")).to_be_visible()
    booking = Booking.objects.get(booker=catherine)
    slot = booking.occurrences.get()
    assert (booking.resource, slot.start, slot.end) == (free_nearby, start, end)
    assert slot.status == Occurrence.Status.CONFIRMED
    expect(page.locator("main")).to_contain_text(free_nearby.name)
    expect(page.locator("main")).to_contain_text("14:00")
    assert page_errors == []
