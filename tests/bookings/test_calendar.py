"""A place's calendar: its resources as a day or week grid, privacy of titles and names, dates."""

import datetime as dt
import html
import itertools
import zoneinfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from hypothesis import given
from hypothesis import strategies as st

from maillage.accounts.models import PlaceRole
from maillage.bookings import services
from maillage.bookings.models import Resource
from maillage.bookings.queries import Block, Window, lay_out_day
from maillage.places.models import Place
from tests.factories import OpeningHoursFactory, PlaceFactory, UserFactory

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
HOUR = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def _messages_in_english():
    with translation.override("en"):
        yield


@pytest.fixture
def client():
    return Client(headers={"accept-language": "en"})


def signed_in(user) -> Client:
    browser = Client(headers={"accept-language": "en"})
    browser.force_login(user)
    return browser


def text(response) -> str:
    return html.unescape(response.content.decode())


def in_days(days: int, hour: int, zone=PARIS) -> dt.datetime:
    today = timezone.now().astimezone(zone).date()
    return dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour), zone)


@pytest.fixture
def fablab():
    """A place open 9:00–18:00 every day with two rooms; bookings the day after tomorrow."""
    place = PlaceFactory(name="Fablab de Mende", slug="fablab-mende")
    for weekday in range(7):
        OpeningHoursFactory(place=place, weekday=weekday, opens=dt.time(9), closes=dt.time(18))
    rooms = [
        Resource.objects.create(place=place, name=name, kind="meeting_room", capacity=6)
        for name in ("Salle Aubrac", "Salle Margeride")
    ]
    Resource.objects.create(place=place, name="Salle fermée", kind="desk", is_active=False)
    alice = UserFactory(full_name="Alice Martin", language="en")
    bob = UserFactory(full_name="Bob Roux", language="en")
    staff = UserFactory(language="en")
    PlaceRole.objects.create(user=staff, place=place, role="staff")
    day = in_days(2, 0).date()
    services.booking_create(
        resource=rooms[0],
        booker=alice,
        start=in_days(2, 10),
        end=in_days(2, 12),
        title="Prototype confidentiel",
        private=True,
    )
    services.booking_create(
        resource=rooms[1], booker=bob, start=in_days(2, 14), end=in_days(2, 15), title="Café-repair"
    )
    return {"place": place, "rooms": rooms, "alice": alice, "bob": bob, "staff": staff, "day": day}


def calendar_url(place, **query) -> str:
    url = reverse("bookings:calendar", args=[place.slug])
    return url + ("?" + "&".join(f"{key}={value}" for key, value in query.items()) if query else "")


class TestDayView:
    def test_rows_are_the_active_resources_and_blocks_carry_times_and_titles(self, client, fablab):
        response = client.get(calendar_url(fablab["place"], date=fablab["day"], view="day"))
        page = text(response)
        assert response.status_code == 200
        rows = [row.resource.name for row in response.context["calendar"].rows]
        assert rows == ["Salle Aubrac", "Salle Margeride"]
        assert "Salle fermée" not in page
        assert "10:00–12:00" in page and "14:00–15:00" in page
        assert "Café-repair" in page
        assert "local time (Europe/Paris)" in page

    def test_a_private_title_is_busy_for_others_and_names_are_for_staff_only(self, client, fablab):
        url = calendar_url(fablab["place"], date=fablab["day"], view="day")
        for viewer in (client, signed_in(fablab["bob"]), signed_in(UserFactory(language="en"))):
            page = text(viewer.get(url))
            assert "Prototype confidentiel" not in page
            assert "Busy" in page
            assert "Alice Martin" not in page
            assert "Bob Roux" not in page
        assert "Prototype confidentiel" in text(signed_in(fablab["alice"]).get(url))
        staff_page = text(signed_in(fablab["staff"]).get(url))
        assert "Prototype confidentiel" in staff_page
        assert "Alice Martin" in staff_page and "Bob Roux" in staff_page

    def test_free_times_link_to_the_booking_form(self, client, fablab):
        response = client.get(calendar_url(fablab["place"], date=fablab["day"], view="day"))
        aubrac = response.context["calendar"].rows[0]
        free = [(s.start.time(), s.end.time()) for s in aubrac.stretches if s.kind == "free"]
        assert free == [(dt.time(9), dt.time(10)), (dt.time(12), dt.time(18))]
        booking_form = reverse("bookings:book", args=[fablab["rooms"][0].pk])
        assert all(
            s.book_url.startswith(booking_form) for s in aubrac.stretches if s.kind == "free"
        )

    def test_navigation_moves_by_one_day_and_today_is_linked(self, client, fablab):
        day = fablab["day"]
        page = text(client.get(calendar_url(fablab["place"], date=day, view="day")))
        assert f"?date={day - dt.timedelta(days=1)}&view=day" in page
        assert f"?date={day + dt.timedelta(days=1)}&view=day" in page
        assert f"?date={timezone.now().astimezone(PARIS).date()}&view=day" in page

    def test_without_a_date_it_shows_today(self, client, fablab):
        response = client.get(calendar_url(fablab["place"]))
        assert response.context["day"] == timezone.now().astimezone(PARIS).date()
        assert response.context["view"] == "day"


class TestWeekView:
    def test_seven_columns_from_monday_with_each_booking_on_its_day(self, client, fablab):
        day = fablab["day"]
        response = client.get(calendar_url(fablab["place"], date=day, view="week"))
        monday = day - dt.timedelta(days=day.weekday())
        assert response.context["dates"] == [monday + dt.timedelta(days=n) for n in range(7)]
        aubrac, margeride = response.context["calendar"].rows
        cells = {cell.day: [block.start.hour for block in cell.blocks] for cell in aubrac.days}
        assert cells[day] == [10]
        assert sum(len(hours) for hours in cells.values()) == 1
        assert [b.title for c in margeride.days for b in c.blocks] == ["Café-repair"]
        page = text(response)
        assert "Prototype confidentiel" not in page and "Busy" in page
        assert f"?date={monday - dt.timedelta(days=7)}&view=week" in page
        assert f"?date={monday + dt.timedelta(days=7)}&view=week" in page

    def test_closed_days_say_so(self, client):
        place = PlaceFactory()
        OpeningHoursFactory(place=place, weekday=0, opens=dt.time(9), closes=dt.time(12))
        Resource.objects.create(place=place, name="Bureau", kind="desk")
        response = client.get(calendar_url(place, view="week"))
        (row,) = response.context["calendar"].rows
        assert [cell.is_open for cell in row.days] == [True] + [False] * 6


class TestAccessAndInput:
    def test_an_unpublished_place_is_404_except_for_its_staff(self, client, fablab):
        place = fablab["place"]
        place.is_published = False
        place.save()
        assert client.get(calendar_url(place)).status_code == 404
        assert signed_in(fablab["bob"]).get(calendar_url(place)).status_code == 404
        assert signed_in(fablab["staff"]).get(calendar_url(place)).status_code == 200

    def test_an_unknown_place_is_404(self, client):
        assert client.get(reverse("bookings:calendar", args=["nowhere"])).status_code == 404

    @pytest.mark.parametrize("date", ["yesterday", "2026-02-30", "1200-01-01"])
    def test_a_bad_date_is_a_400_with_a_message(self, client, fablab, date):
        response = client.get(calendar_url(fablab["place"], date=date))
        assert response.status_code == 400
        assert response.context["form"].errors["date"]
        assert 'aria-invalid="true"' in text(response)

    def test_a_place_without_resources_says_so(self, client):
        place = PlaceFactory()
        assert "no bookable resource" in text(client.get(calendar_url(place)))

    def test_times_are_shown_in_the_places_time_zone(self, client):
        montreal = zoneinfo.ZoneInfo("America/Montreal")
        place = PlaceFactory(time_zone="America/Montreal")
        room = Resource.objects.create(place=place, name="Salle", kind="meeting_room")
        services.booking_create(
            resource=room,
            booker=UserFactory(),
            start=in_days(3, 9, montreal),
            end=in_days(3, 11, montreal),
        )
        page = text(client.get(calendar_url(place, date=in_days(3, 0, montreal).date())))
        assert "09:00–11:00" in page


def test_one_query_reads_the_slots_of_the_period_whatever_their_number(fablab):
    """Private bookings of others, seen by a signed-in member: no query per booking."""
    room = fablab["rooms"][1]
    for hour in (9, 11, 16, 17):
        services.booking_create(
            resource=room,
            booker=UserFactory(),
            start=in_days(2, hour),
            end=in_days(2, hour) + HOUR,
            private=True,
        )
    browser = signed_in(UserFactory(language="en"))
    url = calendar_url(fablab["place"], date=fablab["day"], view="week")
    browser.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = browser.get(url)
    assert response.status_code == 200
    slot_reads = [q["sql"] for q in queries if 'FROM "bookings_occurrence"' in q["sql"]]
    assert len(slot_reads) == 1
    total = len(queries)
    services.booking_create(
        resource=room, booker=UserFactory(), start=in_days(2, 12), end=in_days(2, 13), private=True
    )
    with CaptureQueriesContext(connection) as queries:
        browser.get(url)
    assert len(queries) == total


# --- The day cut into stretches (a pure function: no database) --------------------------------

MONDAY = dt.date(2027, 3, 22)  # the week of a change to summer time in Paris


@st.composite
def days_with_slots(draw):
    day = MONDAY + dt.timedelta(days=draw(st.integers(0, 6)))
    quarters = sorted(draw(st.sets(st.integers(0, 96), min_size=0, max_size=8)))
    slots = []
    for start, end in zip(quarters[::2], quarters[1::2], strict=False):
        slots.append((start * 15, end * 15))
    opens = draw(st.one_of(st.none(), st.sampled_from([(9, 18), (0, 24), (14, 16)])))
    return day, slots, opens


@given(
    days_with_slots(),
    st.integers(0, 45),
    st.sampled_from([15, 30, 60]),
    st.integers(-2, 3),
)
def test_stretches_cover_the_window_and_free_time_is_really_bookable(
    drawn, buffer, shortest, now_offset_days
):
    day, minutes, opens = drawn
    place = Place(time_zone="Europe/Paris")
    resource = Resource(
        pk=1, place=place, min_minutes=shortest, max_minutes=600, buffer_minutes=buffer
    )
    midnight = dt.datetime.combine(day, dt.time(0), PARIS)
    blocks = []
    for start, end in minutes:
        starts = (midnight.astimezone(dt.UTC) + dt.timedelta(minutes=start)).astimezone(PARIS)
        ends = (midnight.astimezone(dt.UTC) + dt.timedelta(minutes=end)).astimezone(PARIS)
        if blocks and starts < blocks[-1].held_until:
            continue  # held slots never overlap
        held = ends + dt.timedelta(minutes=buffer)
        blocks.append(
            Block(1, starts, ends, held, "", hidden=False, booker="", mine=False, pending=False)
        )
    open_spans = None
    if opens is not None:
        open_spans = [
            (
                dt.datetime.combine(day, dt.time(opens[0]), PARIS),
                dt.datetime.combine(day, dt.time(23, 59), PARIS)
                if opens[1] == 24
                else dt.datetime.combine(day, dt.time(opens[1]), PARIS),
            )
        ]
    now = midnight + dt.timedelta(days=now_offset_days, hours=10, minutes=7)
    window = Window(0, 24)
    stretches = lay_out_day(resource, day, window, open_spans, blocks, now=now)

    start, end = (bound.astimezone(dt.UTC) for bound in window.bounds(day, PARIS))
    assert stretches[0].start == start and stretches[-1].end == end
    for before, after in itertools.pairwise(stretches):
        assert before.end == after.start
    assert abs(sum(stretch.width for stretch in stretches) - 100) < 0.01
    for stretch in stretches:
        assert stretch.start < stretch.end
        if stretch.kind != "free":
            continue
        assert stretch.start >= now
        assert stretch.end - stretch.start >= dt.timedelta(minutes=shortest)
        if open_spans is not None:
            assert any(a <= stretch.start and stretch.end <= b for a, b in open_spans)
        for block in blocks:
            # A booking of this free time, buffer included, would not touch any held slot.
            buffer_after = dt.timedelta(minutes=buffer)
            assert stretch.end + buffer_after <= block.start or stretch.start >= block.held_until
