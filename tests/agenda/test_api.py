"""The agenda API (PRODUCT.md §5): publish, list, read, change and cancel events; register with or
without an account, cancel a registration (owner, manager or the secret of its emails), the
participants' list and check-in. Runs on SQLite and, with DATABASE_URL, on PostgreSQL."""

import datetime as dt
import json
import zoneinfo

import pytest
from django.conf import settings as django_settings
from django.utils import timezone, translation

from maillage.accounts.models import PlaceRole
from maillage.accounts.services import api_token_create
from maillage.agenda import services
from maillage.agenda.models import Event, EventSeries, Registration
from maillage.bookings.models import Booking, Resource
from maillage.core.models import AuditEntry
from tests.factories import (
    NetworkFactory,
    PlaceFactory,
    UserFactory,
    make_coordinator,
    make_manager,
)

pytestmark = pytest.mark.django_db

API = "/api/v1"
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
HOUR = dt.timedelta(hours=1)
EVENT_KEYS = {
    "id",
    "title",
    "start",
    "end",
    "place",
    "network",
    "category",
    "audience",
    "language",
    "location",
    "address",
    "is_free",
    "price_info",
    "capacity",
    "confirmed",
    "places_left",
    "waitlisted",
    "registration_required",
    "registrations_open",
    "status",
    "url",
    "image",
}
DETAIL_KEYS = EVENT_KEYS | {
    "description",
    "translations",
    "online_url",
    "organiser_name",
    "organiser_email",
    "organiser_phone",
    "cancellation_reason",
    "series",
}


@pytest.fixture(autouse=True)
def _messages_in_english(client):
    """The assertions read the English messages; the site's default language is French."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


def in_days(days: int, hour: int = 18) -> dt.datetime:
    """`hour` o'clock in Paris, `days` days from today."""
    today = timezone.now().astimezone(PARIS).date()
    return dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour), PARIS)


def bearer(user) -> dict[str, str]:
    _token, raw = api_token_create(user=user)
    return {"authorization": f"Bearer {raw}"}


def send(client, method, path, body=None, user=None, **extra):
    headers = bearer(user) if user else {}
    kwargs = {"headers": headers, **extra}
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    return getattr(client, method)(f"{API}{path}", **kwargs)


def assert_error(response, status) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"message", "details"}
    assert body["message"]
    return body


def rows() -> tuple[int, ...]:
    return (
        Event.objects.count(),
        EventSeries.objects.count(),
        Registration.objects.count(),
        Booking.objects.count(),
        AuditEntry.objects.exclude(action="token.create").count(),
    )


def snapshot(event: Event) -> tuple:
    event.refresh_from_db()
    values = [getattr(event, name) for name in services.EDITABLE_FIELDS]
    return (*values, event.confirmed_count, event.waitlisted_count)


@pytest.fixture
def place():
    return PlaceFactory(name="Fablab de Mende", town="Mende", time_zone="Europe/Paris")


@pytest.fixture
def manager(place):
    return make_manager(place, language="en")


def make_event(place=None, author=None, **fields) -> Event:
    place = place or PlaceFactory()
    author = author or make_manager(place)
    start = fields.pop("start", in_days(7))
    data = {
        "title": "Repair café",
        "category": "repair_cafe",
        "start": start,
        "end": fields.pop("end", start + 2 * HOUR),
        "capacity": 3,
        **fields,
    }
    (event,) = services.event_create(author=author, place=place, **data)
    return event


def register(event, number: int, **kwargs) -> Registration:
    kwargs.setdefault("name", f"Person {number}")
    kwargs.setdefault("email", f"person{number}@example.org")
    return services.register(event=event, **kwargs)


def event_body(place, **extra) -> dict:
    start = in_days(7)
    return {
        "place": place.slug,
        "title": "Atelier soudure",
        "start": start.isoformat(),
        "end": (start + 2 * HOUR).isoformat(),
        "category": "workshop",
        **extra,
    }


# Publishing -----------------------------------------------------------------------------------


class TestCreate:
    def test_a_manager_publishes_an_event_answered_in_the_places_zone(self, client, place, manager):
        start = in_days(7)
        body = event_body(
            place,
            start=start.astimezone(dt.UTC).isoformat(),
            end=(start + 2 * HOUR).astimezone(dt.UTC).isoformat(),
            capacity=12,
            description='<p>Bring <strong>tools</strong></p><script>alert("x")</script>',
            audience="youth",
            language="en",
            is_free=False,
            price_info="5 €",
            organiser_name="Jeanne",
            organiser_email="jeanne@example.org",
            translations={"es": {"title": "Taller", "description": "<em>hola</em>"}},
        )

        response = send(client, "post", "/events", body, manager)

        assert response.status_code == 201, response.content
        out = response.json()
        assert set(out) == DETAIL_KEYS
        event = Event.objects.get(pk=out["id"])
        assert (event.place, event.created_by, event.status) == (place, manager, "published")
        assert out["start"] == start.isoformat()
        assert out["end"] == (start + 2 * HOUR).isoformat()
        assert out["place"] == {"slug": place.slug, "name": "Fablab de Mende", "town": "Mende"}
        assert out["network"] is None
        assert out["description"] == "<p>Bring <strong>tools</strong></p>"
        assert out["translations"] == {"es": {"title": "Taller", "description": "<em>hola</em>"}}
        assert (out["capacity"], out["confirmed"], out["places_left"], out["waitlisted"]) == (
            12,
            0,
            12,
            0,
        )
        assert (out["audience"], out["language"], out["is_free"], out["price_info"]) == (
            "youth",
            "en",
            False,
            "5 €",
        )
        assert out["url"] == django_settings.MAILLAGE_BASE_URL + event.get_absolute_url()
        assert out["image"] is None
        assert out["series"] is None
        assert AuditEntry.objects.filter(action="event.create", actor=manager).count() == 1

    def test_the_staff_of_the_place_may_publish_too(self, client, place):
        staff = UserFactory()
        PlaceRole.objects.create(user=staff, place=place, role=PlaceRole.Role.STAFF)

        response = send(client, "post", "/events", event_body(place), staff)

        assert response.status_code == 201, response.content

    def test_a_coordinator_publishes_an_event_of_the_network(self, client):
        network = NetworkFactory(slug="solozere")
        coordinator = make_coordinator(network)
        body = {**event_body(PlaceFactory()), "network": "solozere"}
        del body["place"]

        response = send(
            client,
            "post",
            "/events",
            {**body, "location": "online", "online_url": "https://v.example.org/x"},
            coordinator,
        )

        assert response.status_code == 201, response.content
        out = response.json()
        assert (out["place"], out["network"]) == (None, "solozere")
        assert out["online_url"] == "https://v.example.org/x"
        assert Event.objects.get(pk=out["id"]).network == network

    def test_a_series_gives_the_first_event_and_every_id(self, client, place, manager):
        response = send(
            client, "post", "/events", event_body(place, rrule="FREQ=WEEKLY;COUNT=3"), manager
        )

        assert response.status_code == 201, response.content
        out = response.json()
        events = list(Event.objects.order_by("start"))
        assert len(events) == 3
        assert out["id"] == events[0].pk
        assert out["series"]["count"] == 3
        assert out["series"]["events"] == [event.pk for event in events]
        assert out["series"]["rrule"] == "FREQ=WEEKLY;COUNT=3"
        assert [event.start for event in events] == [
            in_days(7) + dt.timedelta(weeks=n) for n in range(3)
        ]

    def test_a_draft_is_kept_to_its_managers(self, client, place, manager):
        response = send(client, "post", "/events", event_body(place, status="draft"), manager)

        assert response.status_code == 201
        event_id = response.json()["id"]
        assert response.json()["status"] == "draft"
        assert send(client, "get", f"/events/{event_id}", user=manager).status_code == 200
        assert_error(send(client, "get", f"/events/{event_id}"), 404)

    def test_an_event_in_a_room_books_it_and_a_taken_room_is_refused(self, client, place, manager):
        room = Resource.objects.create(place=place, name="Salle Causse", kind="meeting_room")

        first = send(
            client, "post", "/events", event_body(place, location="room", room=room.pk), manager
        )
        before = rows()
        second = send(
            client, "post", "/events", event_body(place, location="room", room=room.pk), manager
        )

        assert first.status_code == 201, first.content
        assert Event.objects.get(pk=first.json()["id"]).booking.resource == room
        error = assert_error(second, 400)
        assert "already booked" in " ".join(error["details"]["room"])
        assert rows() == before

    def test_a_room_of_another_place_is_refused(self, client, place, manager):
        elsewhere = Resource.objects.create(place=PlaceFactory(), name="Ailleurs", kind="desk")
        before = rows()

        response = send(
            client,
            "post",
            "/events",
            event_body(place, location="room", room=elsewhere.pk),
            manager,
        )

        assert "room" in assert_error(response, 400)["details"]
        assert rows() == before

    def test_without_a_token_it_is_401_and_nothing_is_written(self, client, place):
        before = rows()

        response = send(client, "post", "/events", event_body(place))
        wrong = send(
            client,
            "post",
            "/events",
            event_body(place),
            HTTP_AUTHORIZATION="Bearer mlg_not-a-token",
        )

        assert_error(response, 401)
        assert_error(wrong, 401)
        assert rows() == before

    def test_another_places_manager_is_404_a_member_403_and_nothing_is_written(self, client, place):
        other_manager = make_manager(PlaceFactory())
        member = UserFactory()
        PlaceRole.objects.create(user=member, place=place, role=PlaceRole.Role.RESIDENT)
        before = rows()

        outsider = send(client, "post", "/events", event_body(place), other_manager)
        known = send(client, "post", "/events", event_body(place), member)

        assert_error(outsider, 404)
        assert "staff of this place" in assert_error(known, 403)["message"]
        assert rows() == before

    @pytest.mark.parametrize("hidden", ["unknown", "unpublished"])
    def test_a_place_the_caller_cannot_see_is_404(self, client, hidden):
        place = PlaceFactory(is_published=False)
        body = event_body(place)
        if hidden == "unknown":
            body["place"] = "nowhere"
        before = rows()

        response = send(client, "post", "/events", body, make_manager(PlaceFactory()))

        assert_error(response, 404)
        assert rows() == before

    def test_the_manager_of_an_unpublished_place_may_publish_its_events(self, client):
        place = PlaceFactory(is_published=False)

        response = send(client, "post", "/events", event_body(place), make_manager(place))

        assert response.status_code == 201, response.content

    def test_a_network_is_for_its_coordinators_only(self, client):
        NetworkFactory(slug="solozere")
        body = {**event_body(PlaceFactory()), "network": "solozere"}
        del body["place"]
        before = rows()

        forbidden = send(client, "post", "/events", body, UserFactory())
        unknown = send(client, "post", "/events", {**body, "network": "nowhere"}, UserFactory())

        assert_error(forbidden, 404)
        assert_error(unknown, 404)
        assert rows() == before


INVALID = {
    "end before start": (lambda b: {**b, "end": in_days(6).isoformat()}, "end", "after the start"),
    "end equal to start": (lambda b: {**b, "end": b["start"]}, "end", "after the start"),
    "negative capacity": (lambda b: {**b, "capacity": -1}, "capacity", "greater than or equal"),
    "capacity as text": (lambda b: {**b, "capacity": "10"}, "capacity", "integer"),
    "unknown category": (lambda b: {**b, "category": "rave"}, "category", "use one of"),
    "missing category": (
        lambda b: {k: v for k, v in b.items() if k != "category"},
        "category",
        "required",
    ),
    "unknown audience": (lambda b: {**b, "audience": "cats"}, "audience", "use one of"),
    "unknown language": (lambda b: {**b, "language": "xx"}, "language", "use one of"),
    "unknown location": (lambda b: {**b, "location": "moon"}, "location", "use one of"),
    "cancelled status": (lambda b: {**b, "status": "cancelled"}, "status", "DELETE"),
    "unknown status": (lambda b: {**b, "status": "maybe"}, "status", "use one of"),
    "naive start": (lambda b: {**b, "start": "2030-03-04T14:00:00"}, "start", "offset"),
    "not a time": (lambda b: {**b, "start": "next Thursday"}, "start", "ISO 8601"),
    "the end of the calendar": (
        lambda b: {**b, "end": "9999-12-31T23:00:00+00:00"},
        "end",
        "out of the calendar",
    ),
    "address missing": (lambda b: {**b, "location": "address"}, "address", "address"),
    "online link missing": (lambda b: {**b, "location": "online"}, "online_url", "link"),
    "online link not a URL": (
        lambda b: {**b, "location": "online", "online_url": "not a link"},
        "online_url",
        "valid URL",
    ),
    "room without a room location": (lambda b: {**b, "room": 1}, "room", "location"),
    "room missing": (lambda b: {**b, "location": "room"}, "room", "room of this place"),
    "place and network": (lambda b: {**b, "network": "solozere"}, "place", "either"),
    "neither place nor network": (
        lambda b: {k: v for k, v in b.items() if k != "place"},
        "place",
        "either",
    ),
    "blank title": (lambda b: {**b, "title": "  "}, "title", "blank"),
    "title too long": (lambda b: {**b, "title": "x" * 201}, "title", "at most 200"),
    "NUL in the title": (lambda b: {**b, "title": "a\x00b"}, "title", "cannot be stored"),
    "malformed organiser email": (
        lambda b: {**b, "organiser_email": "jeanne@"},
        "organiser_email",
        "valid email",
    ),
    "translation in an unknown language": (
        lambda b: {**b, "translations": {"xx": {"title": "?"}}},
        "translations",
        "Unknown language",
    ),
    "translation of another field": (
        lambda b: {**b, "translations": {"es": {"price_info": "gratis"}}},
        "translations.es",
        "title and a description",
    ),
    "unreadable repeat rule": (
        lambda b: {**b, "rrule": "FREQ=SOMETIMES"},
        "rrule",
        "cannot be read",
    ),
    "endless series": (lambda b: {**b, "rrule": "FREQ=DAILY"}, "rrule", "at most 100"),
    "free as text": (lambda b: {**b, "is_free": "yes"}, "is_free", "boolean"),
}


@pytest.mark.parametrize(("make_body", "field", "message"), INVALID.values(), ids=INVALID.keys())
def test_invalid_events_are_400_with_details_and_write_nothing(
    client, place, manager, make_body, field, message
):
    NetworkFactory(slug="solozere")
    body = make_body(event_body(place))
    before = rows()

    response = send(client, "post", "/events", body, manager)

    error = assert_error(response, 400)
    assert field in error["details"], error
    assert message in " ".join(error["details"][field]), error
    assert rows() == before


def test_a_series_past_the_end_of_the_calendar_is_400(client, place, manager):
    # The second date would end in the year 10000.
    start = dt.datetime(9998, 12, 31, 23, tzinfo=PARIS)
    body = event_body(
        place,
        start=start.isoformat(),
        end=(start + 1.5 * HOUR).isoformat(),
        rrule="FREQ=YEARLY;COUNT=2",
    )
    before = rows()

    response = send(client, "post", "/events", body, manager)

    assert "rrule" in assert_error(response, 400)["details"]
    assert rows() == before


# Reading the agenda ---------------------------------------------------------------------------


class TestList:
    def test_anonymous_callers_see_the_coming_published_events_in_order(self, client, place):
        author = make_manager(place)
        later = make_event(place, author, title="Later", start=in_days(9))
        sooner = make_event(place, author, title="Sooner", start=in_days(3))
        cancelled = make_event(place, author, title="Cancelled", start=in_days(5))
        services.event_cancel(event=cancelled, author=author, reason="Rain")
        make_event(place, author, title="Draft", status="draft")
        make_event(place, author, title="Past", start=in_days(-3))
        make_event(PlaceFactory(is_published=False), title="Hidden place")

        response = send(client, "get", "/events")

        assert response.status_code == 200, response.content
        body = response.json()
        assert body["count"] == 3
        assert [e["id"] for e in body["results"]] == [sooner.pk, cancelled.pk, later.pk]
        assert body["results"][1]["status"] == "cancelled"
        assert set(body["results"][0]) == EVENT_KEYS
        assert body["results"][0]["start"] == in_days(3).isoformat()

    def test_drafts_are_listed_for_their_managers_only(self, client, place, manager):
        draft = make_event(place, manager, status="draft")
        other_manager = make_manager(PlaceFactory())

        mine = send(client, "get", "/events", user=manager).json()
        theirs = send(client, "get", "/events", user=other_manager).json()

        assert [e["id"] for e in mine["results"]] == [draft.pk]
        assert theirs["count"] == 0

    def test_from_and_to_choose_the_window(self, client, place):
        author = make_manager(place)
        past = make_event(place, author, start=in_days(-3))
        coming = make_event(place, author, start=in_days(3))
        make_event(place, author, start=in_days(30))

        response = send(
            client,
            "get",
            "/events",
            QUERY_STRING=f"from={in_days(-10).isoformat().replace('+', '%2B')}"
            f"&to={in_days(10).isoformat().replace('+', '%2B')}",
        )

        assert [e["id"] for e in response.json()["results"]] == [past.pk, coming.pk]

    def test_the_filters(self, client, place):
        network = NetworkFactory(slug="solozere")
        place.networks.add(network)
        author = make_manager(place)
        workshop = make_event(place, author, title="Soudure à l'étain", category="workshop")
        paying = make_event(place, author, title="Conférence", category="conference", is_free=False)
        youth = make_event(place, author, title="Jeunes", category="meetup", audience="youth")
        coordinator = make_coordinator(network)
        (network_event,) = services.event_create(
            author=coordinator,
            network=network,
            title="Assemblée",
            category="meetup",
            start=in_days(8),
            end=in_days(8) + HOUR,
        )
        far = PlaceFactory(latitude=48.85, longitude=2.35, town="Paris")
        far_event = make_event(far, title="Paris", category="workshop")

        def ids(**query):
            response = client.get(f"{API}/events", query)
            assert response.status_code == 200, response.content
            return {e["id"] for e in response.json()["results"]}

        assert ids(place=place.slug) == {workshop.pk, paying.pk, youth.pk}
        assert ids(network="solozere") == {workshop.pk, paying.pk, youth.pk, network_event.pk}
        assert ids(category="workshop,conference") == {workshop.pk, paying.pk, far_event.pk}
        assert ids(category=["workshop", "conference"]) == {workshop.pk, paying.pk, far_event.pk}
        assert ids(audience="youth") == {youth.pk}
        assert ids(free="false") == {paying.pk}
        assert paying.pk not in ids(free="true")
        assert ids(q="soudure etain") == {workshop.pk}
        assert ids(near="44.5181,3.5006", radius_km="20") == {workshop.pk, paying.pk, youth.pk}
        assert ids(near="48.85,2.35") == {far_event.pk}

    def test_pages(self, client, place):
        author = make_manager(place)
        events = [make_event(place, author, start=in_days(day)) for day in range(1, 6)]

        second = client.get(f"{API}/events", {"page": 2, "page_size": 2}).json()
        beyond = client.get(f"{API}/events", {"page": 2**40, "page_size": 2}).json()

        assert second["count"] == 5
        assert [e["id"] for e in second["results"]] == [events[2].pk, events[3].pk]
        assert beyond == {"count": 5, "results": []}

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ({"from": "tomorrow"}, "from"),
            ({"from": "2030-01-02T00:00:00"}, "from"),
            ({"from": "2030-01-02T00:00:00+00:00", "to": "2030-01-01T00:00:00+00:00"}, "to"),
            ({"category": "rave"}, "category"),
            ({"category": "workshop,rave"}, "category"),
            ({"audience": "cats"}, "audience"),
            ({"free": "maybe"}, "free"),
            ({"near": "somewhere"}, "near"),
            ({"near": "91,3"}, "near"),
            ({"near": "44.5,3.5", "radius_km": "0"}, "radius_km"),
            ({"near": "44.5,3.5", "radius_km": "nan"}, "radius_km"),
            ({"network": "nowhere"}, "network"),
            ({"place": "nowhere"}, "place"),
            ({"place": "no\x00where"}, "place"),
            ({"q": "a\x00b"}, "q"),
        ],
    )
    def test_invalid_filters_are_400_naming_the_filter(self, client, query, field):
        response = client.get(f"{API}/events", query)

        assert field in assert_error(response, 400)["details"]

    def test_an_unpublished_place_is_no_filter_for_strangers(self, client):
        hidden = PlaceFactory(is_published=False)

        response = client.get(f"{API}/events", {"place": hidden.slug})

        assert "place" in assert_error(response, 400)["details"]

    @pytest.mark.parametrize("query", [{"page": 0}, {"page_size": 101}, {"page": "x"}])
    def test_bad_pages_are_400(self, client, query):
        assert_error(client.get(f"{API}/events", query), 400)


class TestDetail:
    def test_an_event_with_its_description_translations_and_series(self, client, place, manager):
        events = services.event_create(
            author=manager,
            place=place,
            rrule="FREQ=DAILY;COUNT=2",
            title="Atelier",
            category="workshop",
            start=in_days(4),
            end=in_days(4) + HOUR,
            description="<p>Hello <a href='https://example.org'>there</a></p>",
            translations={"es": {"title": "Taller"}},
        )

        response = send(client, "get", f"/events/{events[1].pk}")

        assert response.status_code == 200, response.content
        out = response.json()
        assert set(out) == DETAIL_KEYS
        assert out["description"] == events[1].description
        assert 'rel="noopener noreferrer nofollow"' in out["description"]
        assert out["translations"] == {"es": {"title": "Taller"}}
        assert out["series"]["events"] == [events[0].pk, events[1].pk]
        assert out["start"] == (in_days(5)).isoformat()

    @pytest.mark.parametrize("who", ["anonymous", "stranger", "another manager"])
    def test_a_draft_is_404_for_anyone_but_its_managers(self, client, place, manager, who):
        draft = make_event(place, manager, status="draft")
        user = {
            "anonymous": None,
            "stranger": UserFactory(),
            "another manager": make_manager(PlaceFactory()),
        }[who]

        assert_error(send(client, "get", f"/events/{draft.pk}", user=user), 404)
        assert send(client, "get", f"/events/{draft.pk}", user=manager).status_code == 200

    def test_the_events_of_an_unpublished_place_and_unknown_ids_are_404(self, client):
        event = make_event(PlaceFactory(is_published=False))

        assert_error(send(client, "get", f"/events/{event.pk}"), 404)
        assert_error(send(client, "get", f"/events/{event.pk + 1000}"), 404)
        assert_error(send(client, "get", f"/events/{2**63}"), 400)


# Changing and cancelling ----------------------------------------------------------------------


class TestUpdate:
    def test_a_manager_changes_the_given_fields_only(self, client, place, manager):
        event = make_event(place, manager, description="<p>Old</p>")

        response = send(
            client, "patch", f"/events/{event.pk}", {"title": "Nouveau", "capacity": None}, manager
        )

        assert response.status_code == 200, response.content
        out = response.json()
        assert (out["title"], out["capacity"], out["places_left"]) == ("Nouveau", None, None)
        assert out["description"] == "<p>Old</p>"
        event.refresh_from_db()
        assert (event.title, event.capacity) == ("Nouveau", None)

    def test_raising_the_capacity_promotes_the_waiting_list(self, client, place, manager):
        event = make_event(place, manager, capacity=1)
        register(event, 1)
        waiting = [register(event, n) for n in (2, 3)]

        response = send(client, "patch", f"/events/{event.pk}", {"capacity": 2}, manager)

        assert response.status_code == 200
        assert (response.json()["confirmed"], response.json()["waitlisted"]) == (2, 1)
        waiting[0].refresh_from_db()
        assert waiting[0].status == "confirmed"

    def test_moving_an_event_checks_the_times(self, client, place, manager):
        event = make_event(place, manager)
        before = snapshot(event)

        response = send(
            client, "patch", f"/events/{event.pk}", {"end": in_days(6).isoformat()}, manager
        )

        assert "end" in assert_error(response, 400)["details"]
        assert snapshot(event) == before

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"title": None}, "title"),
            ({"capacity": -1}, "capacity"),
            ({"category": "rave"}, "category"),
            ({"status": "cancelled"}, "status"),
            ({"description": "a\x00"}, "description"),
        ],
    )
    def test_invalid_changes_are_400_and_change_nothing(self, client, place, manager, body, field):
        event = make_event(place, manager)
        before = snapshot(event)

        response = send(client, "patch", f"/events/{event.pk}", body, manager)

        assert field in assert_error(response, 400)["details"]
        assert snapshot(event) == before

    def test_the_capacity_cannot_go_below_the_confirmed(self, client, place, manager):
        event = make_event(place, manager, capacity=3)
        register(event, 1)
        register(event, 2)
        before = snapshot(event)

        response = send(client, "patch", f"/events/{event.pk}", {"capacity": 1}, manager)

        assert "already confirmed" in assert_error(response, 400)["message"]
        assert snapshot(event) == before

    def test_others_are_404_a_member_403_and_nothing_changes(self, client, place):
        published = make_event(place)
        draft = make_event(place, status="draft")
        outsider = make_manager(PlaceFactory())
        member = UserFactory()
        PlaceRole.objects.create(user=member, place=place, role=PlaceRole.Role.RESIDENT)
        before = snapshot(published), snapshot(draft)

        seen = send(client, "patch", f"/events/{published.pk}", {"title": "X"}, outsider)
        unseen = send(client, "patch", f"/events/{draft.pk}", {"title": "X"}, outsider)
        known = send(client, "patch", f"/events/{published.pk}", {"title": "X"}, member)

        assert_error(seen, 404)
        assert_error(unseen, 404)
        assert_error(known, 403)
        assert (snapshot(published), snapshot(draft)) == before

    def test_a_cancelled_event_is_409(self, client, place, manager):
        event = make_event(place, manager)
        services.event_cancel(event=event, author=manager)

        response = send(client, "patch", f"/events/{event.pk}", {"status": "published"}, manager)

        assert_error(response, 409)
        event.refresh_from_db()
        assert event.status == "cancelled"

    def test_without_a_token_it_is_401(self, client, place):
        event = make_event(place)

        assert_error(send(client, "patch", f"/events/{event.pk}", {"title": "X"}), 401)


class TestCancel:
    def test_a_manager_cancels_and_everyone_is_told(
        self, client, place, manager, mailoutbox, django_capture_on_commit_callbacks
    ):
        event = make_event(place, manager, capacity=1)
        register(event, 1)
        register(event, 2)
        mailoutbox.clear()

        with django_capture_on_commit_callbacks(execute=True):
            response = send(
                client, "delete", f"/events/{event.pk}?reason=Storm%20warning", user=manager
            )

        assert response.status_code == 200, response.content
        out = response.json()
        assert (out["status"], out["cancellation_reason"]) == ("cancelled", "Storm warning")
        assert sorted(m.to[0] for m in mailoutbox) == [
            "person1@example.org",
            "person2@example.org",
        ]
        # Still in the agenda, as cancelled; nobody can register any more.
        assert send(client, "get", f"/events/{event.pk}").json()["status"] == "cancelled"
        late = send(
            client,
            "post",
            f"/events/{event.pk}/registrations",
            {"name": "Late", "email": "late@example.org"},
        )
        assert "cancelled" in assert_error(late, 400)["message"]

    def test_others_are_404_or_401_and_nothing_changes(self, client, place):
        event = make_event(place)
        draft = make_event(place, status="draft")
        outsider = make_manager(PlaceFactory())

        assert_error(send(client, "delete", f"/events/{event.pk}", user=outsider), 404)
        assert_error(send(client, "delete", f"/events/{draft.pk}", user=outsider), 404)
        assert_error(send(client, "delete", f"/events/{event.pk}"), 401)
        event.refresh_from_db()
        assert event.status == "published"


# Registrations --------------------------------------------------------------------------------


def register_by_api(client, event, number=None, user=None, **body):
    if number is not None:
        body.setdefault("name", f"Person {number}")
        body.setdefault("email", f"person{number}@example.org")
    return send(client, "post", f"/events/{event.pk}/registrations", body, user)


class TestRegister:
    def test_anyone_registers_with_a_name_and_an_email_in_their_language(
        self, client, place, mailoutbox, django_capture_on_commit_callbacks
    ):
        event = make_event(place)

        with django_capture_on_commit_callbacks(execute=True):
            response = send(
                client,
                "post",
                f"/events/{event.pk}/registrations",
                {"name": "Ana García", "email": "Ana@Example.org"},
                HTTP_ACCEPT_LANGUAGE="es",
            )

        assert response.status_code == 201, response.content
        out = response.json()
        assert out == {"id": out["id"], "status": "confirmed", "position": None, "event": event.pk}
        registration = Registration.objects.get(pk=out["id"])
        assert (registration.name, registration.email, registration.language) == (
            "Ana García",
            "ana@example.org",
            "es",
        )
        assert registration.user is None
        assert registration.email_confirmed_at is None
        assert [m.to for m in mailoutbox] == [["ana@example.org"]]

    def test_with_a_token_the_caller_registers_in_their_accounts_language(self, client, place):
        event = make_event(place)
        user = UserFactory(full_name="Marc Vidal", language="ca")

        response = send(
            client,
            "post",
            f"/events/{event.pk}/registrations",
            {},
            user,
            HTTP_ACCEPT_LANGUAGE="es",
        )

        assert response.status_code == 201, response.content
        registration = Registration.objects.get(pk=response.json()["id"])
        assert (registration.user, registration.email, registration.name) == (
            user,
            user.email,
            "Marc Vidal",
        )
        assert registration.language == "ca"
        assert registration.email_confirmed_at is not None

    def test_with_a_token_someone_elses_email_is_refused(self, client, place):
        event = make_event(place)
        before = rows()

        response = register_by_api(client, event, 1, user=UserFactory())

        assert "email" in assert_error(response, 400)["details"]
        assert rows() == before

    def test_past_the_capacity_people_wait_in_order(self, client, place):
        event = make_event(place, capacity=1)

        answers = [register_by_api(client, event, n).json() for n in range(1, 5)]

        assert [(a["status"], a["position"]) for a in answers] == [
            ("confirmed", None),
            ("waitlisted", 1),
            ("waitlisted", 2),
            ("waitlisted", 3),
        ]
        assert all(set(a) == {"id", "status", "position", "event"} for a in answers)

    def test_the_same_email_twice_is_409(self, client, place):
        event = make_event(place)
        register_by_api(client, event, 1)
        before = rows()

        response = register_by_api(client, event, name="Other", email="PERSON1@example.org")

        error = assert_error(response, 409)
        assert "already registered" in error["message"]
        assert "Person 1" not in json.dumps(error)
        assert rows() == before

    @pytest.mark.parametrize(
        ("setup", "message"),
        [
            ({"capacity": 1, "waitlist_enabled": False}, "full"),
            ({"registrations_open": False}, "closed"),
            ({"registration_required": False}, "no registration"),
            ({"start": in_days(-1)}, "already started"),
        ],
    )
    def test_events_that_take_no_registration_are_400(self, client, place, setup, message):
        event = make_event(place, **setup)
        if setup.get("capacity") == 1:
            register(event, 9)
        before = rows()

        response = register_by_api(client, event, 1)

        assert message in assert_error(response, 400)["message"]
        assert rows() == before

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"name": "Ana", "email": "ana@"}, "email"),
            ({"name": "Ana", "email": "not an email"}, "email"),
            ({"name": "Ana"}, "email"),
            ({"email": "ana@example.org"}, "name"),
            ({"name": " ", "email": "ana@example.org"}, "name"),
            ({"name": "A" * 151, "email": "ana@example.org"}, "name"),
            ({"name": "A\x00", "email": "ana@example.org"}, "name"),
            ({"name": "Ana", "email": 5}, "email"),
        ],
    )
    def test_invalid_values_are_400_naming_the_field(self, client, place, body, field):
        event = make_event(place)
        before = rows()

        response = send(client, "post", f"/events/{event.pk}/registrations", body)

        assert field in assert_error(response, 400)["details"]
        assert rows() == before

    def test_drafts_and_unknown_events_are_404(self, client, place):
        draft = make_event(place, status="draft")
        before = rows()

        assert_error(register_by_api(client, draft, 1), 404)
        assert_error(
            send(
                client,
                "post",
                f"/events/{draft.pk + 1000}/registrations",
                {"name": "A", "email": "a@example.org"},
            ),
            404,
        )
        assert rows() == before

    def test_over_the_connections_limit_it_is_429_with_retry_after(self, client, place, settings):
        settings.MAILLAGE_REGISTRATIONS_PER_IP = "2/1m"
        event = make_event(place)

        first, second = register_by_api(client, event, 1), register_by_api(client, event, 2)
        before = rows()
        third = register_by_api(client, event, 3)

        assert (first.status_code, second.status_code) == (201, 201)
        assert "Too many registrations" in assert_error(third, 429)["message"]
        assert int(third["Retry-After"]) > 0
        assert rows() == before


class TestCancelRegistration:
    def test_the_owner_cancels_and_the_first_waiting_gets_the_place(
        self, client, place, mailoutbox, django_capture_on_commit_callbacks
    ):
        event = make_event(place, capacity=1)
        owner = UserFactory()
        mine = services.register(event=event, user=owner)
        first, second = register(event, 1), register(event, 2)
        mailoutbox.clear()

        with django_capture_on_commit_callbacks(execute=True):
            response = send(client, "delete", f"/registrations/{mine.pk}", user=owner)

        assert response.status_code == 200, response.content
        assert response.json() == {
            "id": mine.pk,
            "status": "cancelled",
            "event": event.pk,
            "promoted": 1,
        }
        first.refresh_from_db()
        assert first.status == "confirmed"
        assert [m.to for m in mailoutbox] == [["person1@example.org"]]
        # The waiting list closes up: the second is now first.
        manager = make_manager(place)
        listed = send(client, "get", f"/events/{event.pk}/registrations", user=manager).json()
        assert [(r["id"], r["position"]) for r in listed["results"]] == [
            (first.pk, None),
            (second.pk, 1),
        ]

    def test_the_secret_of_the_emails_cancels_without_an_account(self, client, place):
        event = make_event(place)
        registration = register(event, 1)
        secret = services.registration_secret(registration)

        response = client.delete(
            f"{API}/registrations/{registration.pk}", QUERY_STRING=f"token={secret}"
        )

        assert response.status_code == 200, response.content
        registration.refresh_from_db()
        assert registration.status == "cancelled"

    def test_cancelling_again_changes_nothing(self, client, place):
        event = make_event(place)
        registration = register(event, 1)
        secret = services.registration_secret(registration)
        url = f"{API}/registrations/{registration.pk}"
        client.delete(url, QUERY_STRING=f"token={secret}")

        again = client.delete(url, QUERY_STRING=f"token={secret}")

        assert again.status_code == 200
        assert again.json()["promoted"] == 0
        event.refresh_from_db()
        assert event.confirmed_count == 0

    def test_a_manager_cancels_anyones_registration_and_it_is_audited(self, client, place):
        event = make_event(place)
        registration = register(event, 1)
        manager = make_manager(place)

        response = send(client, "delete", f"/registrations/{registration.pk}", user=manager)

        assert response.status_code == 200
        assert AuditEntry.objects.filter(action="registration.cancel", actor=manager).exists()

    @pytest.mark.parametrize(
        "who", ["anonymous", "stranger", "another manager", "other token", "garbage token"]
    )
    def test_anyone_else_gets_404_and_nothing_changes(self, client, place, who):
        event = make_event(place, capacity=1)
        registration = register(event, 1)
        other = register(event, 2)
        user, query = None, ""
        if who == "stranger":
            user = UserFactory()
        elif who == "another manager":
            user = make_manager(PlaceFactory())
        elif who == "other token":
            query = f"token={services.registration_secret(other)}"
        elif who == "garbage token":
            query = f"token={registration.pk}:forged"
        before = rows()

        response = send(
            client, "delete", f"/registrations/{registration.pk}", user=user, QUERY_STRING=query
        )

        assert_error(response, 404)
        registration.refresh_from_db()
        other.refresh_from_db()
        assert (registration.status, other.status) == ("confirmed", "waitlisted")
        assert rows() == before

    def test_an_unknown_registration_is_the_same_404(self, client):
        response = send(client, "delete", "/registrations/999999", user=UserFactory())

        assert_error(response, 404)


class TestParticipants:
    def test_the_managers_list_with_positions(self, client, place, manager):
        event = make_event(place, capacity=2)
        account = UserFactory(full_name="Zoé Account")
        confirmed = [services.register(event=event, user=account), register(event, 1, name="Anne")]
        waiting = [register(event, n) for n in (2, 3, 4)]

        response = send(client, "get", f"/events/{event.pk}/registrations", user=manager)

        assert response.status_code == 200, response.content
        body = response.json()
        assert body["count"] == 5
        results = body["results"]
        assert [(r["id"], r["status"], r["position"]) for r in results] == [
            (confirmed[1].pk, "confirmed", None),
            (confirmed[0].pk, "confirmed", None),
            (waiting[0].pk, "waitlisted", 1),
            (waiting[1].pk, "waitlisted", 2),
            (waiting[2].pk, "waitlisted", 3),
        ]
        assert set(results[0]) == {
            "id",
            "name",
            "email",
            "status",
            "position",
            "checked_in",
            "checked_in_at",
            "email_confirmed",
            "created_at",
        }
        assert (results[0]["email_confirmed"], results[1]["email_confirmed"]) == (False, True)
        assert results[1]["email"] == account.email
        assert results[0]["checked_in"] is False
        assert dt.datetime.fromisoformat(results[0]["created_at"]).utcoffset() is not None

    def test_pages(self, client, place, manager):
        event = make_event(place, capacity=None)
        for n in range(5):
            register(event, n)

        response = send(
            client,
            "get",
            f"/events/{event.pk}/registrations",
            user=manager,
            QUERY_STRING="page=3&page_size=2",
        )

        assert response.json()["count"] == 5
        assert len(response.json()["results"]) == 1

    def test_others_are_404_or_401(self, client, place):
        event = make_event(place)
        register(event, 1)
        draft = make_event(place, status="draft")
        outsider = make_manager(PlaceFactory())

        forbidden = send(client, "get", f"/events/{event.pk}/registrations", user=outsider)
        hidden = send(client, "get", f"/events/{draft.pk}/registrations", user=outsider)

        assert "person1" not in assert_error(forbidden, 404)["message"]
        assert_error(hidden, 404)
        assert_error(send(client, "get", f"/events/{event.pk}/registrations"), 401)


class TestCheckIn:
    def test_a_manager_checks_a_participant_in_and_out(self, client, place, manager):
        event = make_event(place)
        registration = register(event, 1)

        arrived = send(client, "post", f"/registrations/{registration.pk}/checkin", {}, manager)
        undone = send(
            client, "post", f"/registrations/{registration.pk}/checkin", {"undo": True}, manager
        )

        assert arrived.status_code == 200, arrived.content
        assert arrived.json()["checked_in"] is True
        assert arrived.json()["checked_in_at"] is not None
        assert undone.json()["checked_in"] is False
        registration.refresh_from_db()
        assert (registration.checked_in_at, registration.checked_in_by) == (None, None)

    def test_someone_on_the_waiting_list_is_409(self, client, place, manager):
        event = make_event(place, capacity=1)
        register(event, 1)
        waiting = register(event, 2)

        response = send(client, "post", f"/registrations/{waiting.pk}/checkin", {}, manager)

        assert "confirmed" in assert_error(response, 409)["message"]
        waiting.refresh_from_db()
        assert waiting.checked_in_at is None

    def test_the_participant_is_403_anyone_else_404(self, client, place):
        event = make_event(place)
        participant = UserFactory()
        registration = services.register(event=event, user=participant)

        own = send(client, "post", f"/registrations/{registration.pk}/checkin", {}, participant)
        other = send(
            client,
            "post",
            f"/registrations/{registration.pk}/checkin",
            {},
            make_manager(PlaceFactory()),
        )
        unknown = send(client, "post", "/registrations/999999/checkin", {}, participant)

        assert_error(own, 403)
        assert_error(other, 404)
        assert_error(unknown, 404)
        assert_error(
            send(
                client,
                "post",
                f"/registrations/{registration.pk}/checkin",
                {"undo": "no"},
                participant,
            ),
            400,
        )
        registration.refresh_from_db()
        assert registration.checked_in_at is None


def test_every_agenda_operation_is_documented(client):
    document = client.get(f"{API}/openapi.json").json()
    operations = {
        ("post", "/api/v1/events"),
        ("get", "/api/v1/events"),
        ("get", "/api/v1/events/{event_id}"),
        ("patch", "/api/v1/events/{event_id}"),
        ("delete", "/api/v1/events/{event_id}"),
        ("post", "/api/v1/events/{event_id}/registrations"),
        ("get", "/api/v1/events/{event_id}/registrations"),
        ("delete", "/api/v1/registrations/{registration_id}"),
        ("post", "/api/v1/registrations/{registration_id}/checkin"),
    }

    for method, path in operations:
        operation = document["paths"][path][method]
        assert operation["summary"] and operation["description"], (method, path)
        assert {"400", "404"} <= set(operation["responses"]), (method, path)


@pytest.mark.parametrize("body", [[None, None], 5, "text", None])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("patch", "/events/{event}"),
        ("post", "/events/{event}/registrations"),
        ("post", "/registrations/{registration}/checkin"),
        ("post", "/events"),
    ],
)
def test_a_body_that_is_no_json_object_is_400(client, place, manager, method, path, body):
    event = make_event(place, manager)
    registration = register(event, 1)
    before = rows(), snapshot(event)

    response = client.generic(
        method.upper(),
        API + path.format(event=event.pk, registration=registration.pk),
        json.dumps(body),
        content_type="application/json",
        headers=bearer(manager),
    )

    assert_error(response, 400)
    assert (rows(), snapshot(event)) == before
