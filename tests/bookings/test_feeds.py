"""iCalendar feeds, read back with the icalendar package: times, time zones, privacy, tokens."""

import datetime as dt
import zoneinfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from icalendar import Calendar

from maillage.accounts.models import PlaceRole
from maillage.bookings import services
from maillage.bookings.models import Booking, Occurrence, Resource
from tests.factories import PlaceFactory, UserFactory, make_manager

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


def in_days(days: int, hour: int) -> dt.datetime:
    today = timezone.now().astimezone(PARIS).date()
    return dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour), PARIS)


def parse(response) -> Calendar:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content)


def make_resource(place=None, **fields) -> Resource:
    return Resource.objects.create(
        place=place or PlaceFactory(name="La Fabrique", address="2 rue du Pont", town="Mende"),
        name=fields.pop("name", "Salle Causse"),
        kind="meeting_room",
        **fields,
    )


def book(resource, start, hours=1, **kwargs):
    return services.booking_create(
        resource=resource,
        booker=kwargs.pop("booker", None) or UserFactory(),
        start=start,
        end=start + dt.timedelta(hours=hours),
        **kwargs,
    )


def held_in_the_past(resource, days_ago: int, **fields) -> Occurrence:
    """A slot that already happened (the service refuses to book the past)."""
    booking = Booking.objects.create(resource=resource, booker=UserFactory(), **fields)
    start = timezone.now().replace(microsecond=0) - dt.timedelta(days=days_ago)
    return Occurrence.objects.create(
        booking=booking,
        resource=resource,
        start=start,
        end=start + HOUR,
        held_until=start + HOUR,
        status="confirmed",
    )


def _token(user) -> str:
    return services.calendar_feed_renew(user=user).token


def resource_feed(resource) -> str:
    return reverse("bookings:resource_feed", args=[resource.pk])


class TestResourceFeed:
    def test_events_carry_the_places_time_zone_with_its_vtimezone(self, client):
        room = make_resource()
        start = in_days(5, 14)
        booking = book(room, start, hours=2, title="Atelier couture")
        calendar = parse(client.get(resource_feed(room)))
        (event,) = calendar.events
        assert event.start == start and event.end == start + 2 * HOUR
        assert event.start.tzinfo.key == "Europe/Paris"
        assert "DTSTART;TZID=Europe/Paris" in client.get(resource_feed(room)).content.decode()
        assert [tz.tz_name for tz in calendar.timezones] == ["Europe/Paris"]
        assert calendar.get_missing_tzids() == set()
        assert str(event["SUMMARY"]) == "Atelier couture"
        assert str(event["STATUS"]) == "CONFIRMED"
        occurrence = booking.occurrences.get()
        assert str(event["UID"]) == f"occurrence-{occurrence.pk}@127.0.0.1"
        assert "DTSTAMP" in event
        assert str(event["LOCATION"]) == "Salle Causse, La Fabrique, 2 rue du Pont, 48000 Mende"
        assert str(event["URL"]) == "http://testserver" + reverse(
            "bookings:resource", args=[room.pk]
        )

    def test_times_round_trip_across_the_dst_change(self, client):
        room = make_resource(horizon_days=800)
        today = timezone.now().astimezone(PARIS).date()
        march_31 = dt.date(today.year + 1, 3, 31)
        change = march_31 - dt.timedelta(days=(march_31.weekday() + 1) % 7)
        first = dt.datetime.combine(change - dt.timedelta(days=1), dt.time(9), PARIS)
        booking = services.booking_create(
            resource=room,
            booker=UserFactory(),
            start=first,
            end=first + HOUR,
            rrule="FREQ=DAILY;COUNT=3",
        )
        held = list(booking.occurrences.order_by("start").values_list("start", "end"))
        assert held[-1][0] > timezone.now() + dt.timedelta(days=90), "outside the public window"
        response = client.get(reverse("bookings:user_feed", args=[_token(booking.booker)]))
        events = sorted(parse(response).events, key=lambda event: event.start)
        assert [(event.start, event.end) for event in events] == held
        assert [event.start.utcoffset() for event in events] == [HOUR, 2 * HOUR, 2 * HOUR]

    def test_in_utc_on_demand_without_vtimezone(self, client):
        room = make_resource()
        start = in_days(5, 14)
        book(room, start)
        calendar = parse(client.get(resource_feed(room), {"tz": "utc"}))
        (event,) = calendar.events
        assert event.start == start
        assert event.start.utcoffset() == dt.timedelta(0)
        assert calendar.timezones == []

    def test_a_private_booking_is_busy_and_no_booker_is_ever_named(self, client):
        room = make_resource()
        alice = UserFactory(full_name="Alice Martin", email="alice@example.org")
        book(room, in_days(3, 9), title="Prototype secret", private=True, booker=alice)
        book(room, in_days(3, 14), title="Réunion publique", booker=alice)
        content = client.get(resource_feed(room)).content.decode()
        summaries = sorted(str(event["SUMMARY"]) for event in Calendar.from_ical(content).events)
        assert summaries == ["Busy", "Réunion publique"]
        assert "Prototype secret" not in content
        assert "Alice" not in content and "alice@example.org" not in content

    def test_pending_is_tentative_and_freed_slots_are_left_out(self, client):
        place = PlaceFactory()
        room = make_resource(place, requires_approval=True)
        manager = make_manager(place)
        pending = book(room, in_days(4, 9))
        refused = book(room, in_days(4, 11))
        cancelled = book(room, in_days(4, 14))
        services.booking_decide(booking=refused, actor=manager, approve=False)
        services.booking_cancel(booking=cancelled, actor=cancelled.booker)
        (event,) = parse(client.get(resource_feed(room))).events
        assert str(event["STATUS"]) == "TENTATIVE"
        assert str(event["UID"]).startswith(f"occurrence-{pending.occurrences.get().pk}@")

    def test_the_window_is_the_last_30_days_and_the_next_90(self, client):
        room = make_resource(horizon_days=200)
        recent = held_in_the_past(room, days_ago=20, title="Récent")
        held_in_the_past(room, days_ago=40, title="Ancien")
        book(room, in_days(80, 10), title="Bientôt")
        book(room, in_days(100, 10), title="Lointain")
        events = parse(client.get(resource_feed(room))).events
        assert sorted(str(event["SUMMARY"]) for event in events) == ["Bientôt", "Récent"]
        assert recent.pk in [int(str(e["UID"]).split("-")[1].split("@")[0]) for e in events]

    def test_uids_are_stable_between_fetches(self, client):
        room = make_resource()
        book(room, in_days(2, 9), rrule="FREQ=DAILY;COUNT=3")
        first = [str(e["UID"]) for e in parse(client.get(resource_feed(room))).events]
        again = [str(e["UID"]) for e in parse(client.get(resource_feed(room))).events]
        assert first == again and len(set(first)) == 3

    def test_a_hidden_resource_has_no_feed(self, client):
        assert client.get(resource_feed(make_resource(is_active=False))).status_code == 404
        unpublished = make_resource(PlaceFactory(is_published=False))
        assert client.get(resource_feed(unpublished)).status_code == 404


class TestPlaceFeed:
    def test_lists_the_active_resources_of_the_place(self, client):
        place = PlaceFactory(slug="fablab-mende", name="Fablab de Mende")
        aubrac = make_resource(place, name="Aubrac")
        margeride = make_resource(place, name="Margeride")
        closed = make_resource(place, name="Fermée")
        book(aubrac, in_days(2, 9), title="Atelier")
        book(margeride, in_days(2, 9), title="Secret", private=True)
        book(closed, in_days(2, 9), title="Invisible")
        closed.is_active = False
        closed.save()
        calendar = parse(client.get(reverse("bookings:place_feed", args=[place.slug])))
        assert sorted(str(e["SUMMARY"]) for e in calendar.events) == [
            "Aubrac: Atelier",
            "Margeride: Busy",
        ]
        assert str(calendar["NAME"]) == "Fablab de Mende"

    def test_an_unpublished_place_has_no_feed(self, client):
        place = PlaceFactory(is_published=False)
        assert client.get(reverse("bookings:place_feed", args=[place.slug])).status_code == 404


class TestPersonalFeed:
    def test_the_members_own_bookings_with_every_detail(self, client):
        member = UserFactory(language="en")
        staff = UserFactory(full_name="Claire Staff")
        room = make_resource()
        PlaceRole.objects.create(user=staff, place=room.place, role="staff")
        book(room, in_days(3, 9), title="Prototype secret", private=True, booker=member)
        services.booking_create(
            resource=room,
            booker=member,
            start=in_days(3, 14),
            end=in_days(3, 15),
            created_by=staff,
        )
        book(room, in_days(3, 16), title="Pas à moi")
        response = client.get(reverse("bookings:user_feed", args=[_token(member)]))
        events = sorted(parse(response).events, key=lambda event: event.start)
        assert [str(event["SUMMARY"]) for event in events] == ["Prototype secret", "Salle Causse"]
        assert str(events[0]["CLASS"]) == "PRIVATE"
        assert "Private booking" in str(events[0]["DESCRIPTION"])
        assert "Booked for you by Claire Staff" in str(events[1]["DESCRIPTION"])
        assert str(events[0]["URL"]) == "http://testserver" + reverse("bookings:mine")
        assert response["Cache-Control"] == "private, no-store"

    def test_an_unknown_renewed_or_revoked_address_is_404(self, client):
        member = UserFactory()
        book(make_resource(), in_days(3, 9), booker=member)
        assert client.get(reverse("bookings:user_feed", args=["not-a-token"])).status_code == 404
        old = _token(member)
        new = _token(member)
        assert client.get(reverse("bookings:user_feed", args=[old])).status_code == 404
        assert client.get(reverse("bookings:user_feed", args=[new])).status_code == 200
        services.calendar_feed_revoke(user=member)
        assert client.get(reverse("bookings:user_feed", args=[new])).status_code == 404

    def test_an_inactive_account_has_no_feed(self, client):
        member = UserFactory()
        token = _token(member)
        member.is_active = False
        member.save()
        assert client.get(reverse("bookings:user_feed", args=[token])).status_code == 404
