"""The agenda's services (PRODUCT.md §2.3): capacity and waiting list, promotion, capacity changes,
refusals, sanitised descriptions, series across a DST change, rooms booked through the bookings
services, permissions, the signed links of the emails and the periodic jobs. Then a property
test: any sequence of registrations, cancellations and capacity changes keeps the counters, the
rows and the waiting list's positions in step with a plain Python model.

Runs on SQLite and, with DATABASE_URL, on PostgreSQL.
"""

import datetime as dt
import zoneinfo

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import dateformat, timezone, translation
from django.utils.translation import gettext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maillage.agenda import selectors, services
from maillage.agenda.models import Event, EventSeries, Registration, Subscription
from maillage.agenda.services import AlreadyRegistered, RegistrationRefused
from maillage.bookings.models import Booking, Occurrence, Resource
from maillage.core.models import AuditEntry
from tests.factories import (
    NetworkFactory,
    PlaceFactory,
    UserFactory,
    make_coordinator,
    make_manager,
)

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
HOUR = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def _messages_in_english():
    """The assertions read the English messages; the site's default language is French."""
    with translation.override("en"):
        yield


def in_days(days: int, hour: int = 18) -> dt.datetime:
    """`hour` o'clock in Paris, `days` days from today."""
    today = timezone.now().astimezone(PARIS).date()
    return dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour), PARIS)


@pytest.fixture
def place():
    return PlaceFactory(time_zone="Europe/Paris")


@pytest.fixture
def manager(place):
    return make_manager(place, language="en")


def create_event(author, place, **fields) -> Event:
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


def fresh(event: Event) -> Event:
    return Event.objects.get(pk=event.pk)


def waiting_line(event: Event) -> list[tuple[str, int]]:
    """(email, position) of the waiting list, first first, positions from the selector."""
    return [
        (r.email, r.position)
        for r in selectors.participants(event)
        if r.status == Registration.Status.WAITLISTED
    ]


def assert_counters_match_rows(event: Event) -> None:
    event = fresh(event)
    rows = Registration.objects.filter(event=event)
    confirmed = rows.filter(status="confirmed").count()
    waitlisted = rows.filter(status="waitlisted").count()
    assert (event.confirmed_count, event.waitlisted_count) == (confirmed, waitlisted)
    assert event.capacity is None or confirmed <= event.capacity
    assert [position for _email, position in waiting_line(event)] == list(range(1, waitlisted + 1))
    for registration in rows.filter(status="waitlisted"):
        assert services.position(registration) == dict(waiting_line(event))[registration.email]


def assert_subject_in(language: str, msgid: str, messages: list, **values) -> None:
    """The one message's subject carries `msgid` as `language`'s catalog translates it."""
    (message,) = messages
    with translation.override(language):
        expected = gettext(msgid) % values if values else gettext(msgid)
    assert expected in message.subject, (language, expected, message.subject)


def sent_to(address: str, outbox=None) -> list:
    return [m for m in (outbox if outbox is not None else mail.outbox) if m.to == [address]]


# Capacity and waiting list --------------------------------------------------------------------


@pytest.mark.django_db
class TestCapacityAndWaitingList:
    def test_places_first_then_the_waiting_list_in_order(self, place, manager):
        event = create_event(manager, place, capacity=3)
        registrations = [register(event, n) for n in range(6)]
        assert [r.status for r in registrations] == ["confirmed"] * 3 + ["waitlisted"] * 3
        assert [services.position(r) for r in registrations] == [None, None, None, 1, 2, 3]
        assert waiting_line(event) == [(f"person{n}@example.org", n - 2) for n in (3, 4, 5)]
        event = fresh(event)
        assert (event.confirmed_count, event.waitlisted_count, event.places_left) == (3, 3, 0)
        assert_counters_match_rows(event)

    def test_leaving_the_middle_of_the_line_leaves_no_gap(self, place, manager):
        event = create_event(manager, place, capacity=1)
        registrations = [register(event, n) for n in range(6)]
        services.registration_cancel(registration=registrations[2])
        services.registration_cancel(registration=registrations[4])
        assert waiting_line(event) == [
            ("person1@example.org", 1),
            ("person3@example.org", 2),
            ("person5@example.org", 3),
        ]
        assert services.position(Registration.objects.get(pk=registrations[5].pk)) == 3
        cancelled = Registration.objects.get(pk=registrations[2].pk)
        assert (cancelled.status, cancelled.queue_number) == ("cancelled", None)
        assert cancelled.cancelled_at is not None
        assert services.position(cancelled) is None
        # A newcomer goes to the end of the line, right after the last.
        assert services.position(register(event, 9)) == 4
        assert_counters_match_rows(event)

    def test_a_freed_place_goes_to_the_first_in_line_who_is_told(
        self, place, manager, django_capture_on_commit_callbacks, mailoutbox
    ):
        event = create_event(manager, place, capacity=2)
        with django_capture_on_commit_callbacks(execute=True):
            registrations = [register(event, n) for n in range(5)]
        mailoutbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            promoted = services.registration_cancel(registration=registrations[0])
        assert [r.pk for r in promoted] == [registrations[2].pk]
        first = Registration.objects.get(pk=registrations[2].pk)
        assert (first.status, first.queue_number) == ("confirmed", None)
        assert first.promoted_at is not None
        assert waiting_line(event) == [("person3@example.org", 1), ("person4@example.org", 2)]
        assert [m.to for m in mailoutbox] == [["person2@example.org"]]
        assert "A place is yours" in mailoutbox[0].subject
        assert "Repair café" in mailoutbox[0].body
        assert_counters_match_rows(event)

    def test_cancelling_twice_changes_nothing(self, place, manager):
        event = create_event(manager, place, capacity=1)
        first, second, third = (register(event, n) for n in range(3))
        assert [r.pk for r in services.registration_cancel(registration=first)] == [second.pk]
        assert services.registration_cancel(registration=first) == []
        assert Registration.objects.get(pk=third.pk).status == "waitlisted"
        assert_counters_match_rows(event)

    def test_the_promoted_person_is_written_to_in_their_language(
        self, place, manager, django_capture_on_commit_callbacks, mailoutbox
    ):
        event = create_event(manager, place, capacity=1)
        holder = register(event, 0, language="en")
        register(event, 1, name="Lucía", email="lucia@example.org", language="es")
        register(event, 2, name="Ann", email="ann@example.org", language="en")
        mailoutbox.clear()
        with translation.override("fr"), django_capture_on_commit_callbacks(execute=True):
            services.registration_cancel(registration=holder)
        (message,) = mailoutbox
        assert message.to == ["lucia@example.org"]
        start = fresh(event).start.astimezone(PARIS)
        with translation.override("es"):
            greeting = gettext("Hello %(name)s,") % {"name": "Lucía"}
            day = dateformat.format(start, "l j F Y")
            subject = gettext("A place is yours")
        with translation.override("en"):
            english_day = dateformat.format(start, "l j F Y")
        # The catalogs have Spanish for the greeting, Django for the names of days and months.
        assert greeting == "Hola, Lucía:"
        assert day != english_day
        assert greeting in message.body
        assert day in message.body
        assert subject in message.subject
        # Ann, still waiting, hears nothing; someone English-speaking promoted gets English.
        mailoutbox.clear()
        with translation.override("es"), django_capture_on_commit_callbacks(execute=True):
            services.registration_cancel(
                registration=Registration.objects.get(email="lucia@example.org")
            )
        (message,) = mailoutbox
        assert message.to == ["ann@example.org"]
        assert "Hello Ann," in message.body
        assert english_day in message.body

    def test_the_first_email_gives_the_position_and_asks_strangers_to_confirm(
        self, place, manager, django_capture_on_commit_callbacks, mailoutbox
    ):
        event = create_event(manager, place, capacity=1)
        member = UserFactory(language="en", full_name="Marie Dupont")
        with django_capture_on_commit_callbacks(execute=True):
            services.register(event=event, user=member)
            register(event, 1)
            register(event, 2)
        confirmed, first, second = mailoutbox
        assert confirmed.to == [member.email] and "Your place" in confirmed.subject
        assert "confirm that this email address is yours" not in confirmed.body
        assert "Waiting list" in first.subject and "number 1 on the waiting list" in first.body
        assert "number 2 on the waiting list" in second.body
        assert "confirm that this email address is yours" in second.body
        registration = Registration.objects.get(email="person2@example.org")
        assert services.registration_secret(registration) in second.body

    def test_the_first_email_is_written_after_commit_as_the_registration_then_stands(
        self, place, manager, django_capture_on_commit_callbacks, mailoutbox
    ):
        event = create_event(manager, place, capacity=2)
        with django_capture_on_commit_callbacks() as pending:
            people = [register(event, n) for n in range(4)]  # 2 confirmed, 2 waiting
        assert len(pending) == 4 and not mailoutbox  # nothing rendered in the request
        services.registration_cancel(registration=people[3])
        services.registration_cancel(registration=people[1])  # promotes people[2]
        mailoutbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            for job in pending:
                job()
        assert [m.to[0] for m in mailoutbox] == ["person0@example.org", "person2@example.org"]
        # Promoted before the job ran: told of a place, not of a position in the line.
        assert all("Your place" in m.subject for m in mailoutbox)
        assert "waiting list" not in mailoutbox[1].body.lower()
        assert not services.registration_email_send(people[3].pk, 2)

    def test_raising_the_capacity_promotes_as_many_as_fit(
        self, place, manager, django_capture_on_commit_callbacks, mailoutbox
    ):
        event = create_event(manager, place, capacity=2)
        for n in range(6):
            register(event, n)
        with django_capture_on_commit_callbacks(execute=True):
            services.event_update(event=event, author=manager, capacity=4)
        promoted = ["person2@example.org", "person3@example.org"]
        assert sorted(m.to[0] for m in mailoutbox) == promoted
        statuses = dict(Registration.objects.values_list("email", "status"))
        assert [statuses[e] for e in promoted] == ["confirmed", "confirmed"]
        assert waiting_line(event) == [("person4@example.org", 1), ("person5@example.org", 2)]
        entry = AuditEntry.objects.get(action="event.update")
        assert entry.details == {"fields": ["capacity"], "promoted": 2}
        assert_counters_match_rows(event)

    def test_removing_the_limit_promotes_everyone(self, place, manager):
        event = create_event(manager, place, capacity=1)
        for n in range(4):
            register(event, n)
        services.event_update(event=event, author=manager, capacity=None)
        event = fresh(event)
        assert (event.confirmed_count, event.waitlisted_count) == (4, 0)
        assert event.places_left is None
        assert_counters_match_rows(event)

    def test_lowering_the_capacity_under_the_confirmed_is_refused_and_nothing_written(
        self, place, manager
    ):
        event = create_event(manager, place, capacity=5)
        for n in range(4):
            register(event, n)
        with pytest.raises(ValidationError) as refused:
            services.event_update(event=event, author=manager, capacity=3, title="Renamed")
        assert refused.value.message_dict == {
            "capacity": ["4 people are already confirmed: the capacity cannot be lower."]
        }
        event = fresh(event)
        assert (event.capacity, event.title, event.confirmed_count) == (5, "Repair café", 4)
        assert not AuditEntry.objects.filter(action="event.update").exists()
        # Down to exactly the confirmed is fine, and the next person waits.
        services.event_update(event=event, author=manager, capacity=4)
        assert register(event, 9).status == "waitlisted"
        assert_counters_match_rows(event)

    def test_without_a_limit_everyone_is_confirmed(self, place, manager):
        event = create_event(manager, place, capacity=None)
        statuses = {register(event, n).status for n in range(30)}
        assert statuses == {"confirmed"}
        assert fresh(event).confirmed_count == 30
        assert_counters_match_rows(event)

    def test_without_a_waiting_list_a_full_event_refuses_and_writes_nothing(self, place, manager):
        event = create_event(manager, place, capacity=2, waitlist_enabled=False)
        register(event, 0)
        register(event, 1)
        with pytest.raises(RegistrationRefused, match=r"This event is full\."):
            register(event, 2)
        assert Registration.objects.count() == 2
        event = fresh(event)
        assert (event.confirmed_count, event.waitlisted_count, event.next_queue_number) == (2, 0, 1)

    def test_the_same_email_twice_is_refused_whatever_its_case(self, place, manager):
        event = create_event(manager, place, capacity=1)
        first = register(event, 0, email="  Marie.Dupont@Example.ORG ")
        assert first.email == "marie.dupont@example.org"
        with pytest.raises(AlreadyRegistered):
            register(event, 1, email="marie.dupont@example.org")
        with pytest.raises(AlreadyRegistered):
            register(event, 2, email="MARIE.DUPONT@EXAMPLE.ORG")
        waiting = register(event, 3, email="Paul@Example.org")
        with pytest.raises(AlreadyRegistered):
            register(event, 4, email="paul@example.org")
        assert Registration.objects.count() == 2
        # Once cancelled, the address may register again (and goes to the end of the line).
        services.registration_cancel(registration=waiting)
        again = register(event, 5, email="paul@EXAMPLE.org")
        assert (again.status, services.position(again)) == ("waitlisted", 1)
        assert_counters_match_rows(event)

    def test_a_member_registers_with_the_email_of_their_account(self, place, manager):
        event = create_event(manager, place)
        member = UserFactory(email="Claire@example.org", full_name="Claire", language="es")
        registration = services.register(event=event, user=member)
        assert (registration.user, registration.name, registration.language) == (
            member,
            "Claire",
            "es",
        )
        assert registration.email_confirmed_at is not None
        with pytest.raises(AlreadyRegistered):
            register(event, 1, email="claire@example.org")

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"name": ""}, "Give your name."),
            ({"name": "   "}, "Give your name."),
            ({"email": "not-an-email"}, "Enter a valid email address."),
            ({"email": ""}, "Enter a valid email address."),
            ({"name": "x" * 151}, "The name or the email address is too long."),
        ],
    )
    def test_a_name_and_a_valid_email_are_required(self, place, manager, fields, message):
        event = create_event(manager, place)
        with pytest.raises(RegistrationRefused) as refused:
            register(event, 0, **fields)
        assert message in refused.value.messages
        assert not Registration.objects.exists()


@pytest.mark.django_db
class TestRefusedRegistrations:
    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"start": in_days(-1), "end": in_days(-1) + HOUR}, "This event has already started."),
            (
                {"start": timezone.now() - HOUR, "end": timezone.now() + HOUR},
                "This event has already started.",
            ),
            ({"status": "draft"}, "This event is not published."),
            ({"registrations_open": False}, "Registrations for this event are closed."),
            ({"registration_required": False}, "This event needs no registration: just come."),
        ],
        ids=["past", "running", "draft", "closed", "no-registration"],
    )
    def test_events_that_take_no_registration(self, place, manager, fields, message):
        event = create_event(manager, place, **fields)
        with pytest.raises(RegistrationRefused) as refused:
            register(event, 0)
        assert refused.value.messages == [message]
        assert not Registration.objects.exists()
        event = fresh(event)
        assert (event.confirmed_count, event.waitlisted_count) == (0, 0)

    def test_a_cancelled_event(self, place, manager):
        event = create_event(manager, place)
        register(event, 0)
        services.event_cancel(event=event, author=manager, reason="Storm")
        with pytest.raises(RegistrationRefused) as refused:
            register(event, 1)
        assert refused.value.messages == ["This event is cancelled."]
        assert Registration.objects.count() == 1

    def test_reopening_registrations_accepts_again(self, place, manager):
        event = create_event(manager, place, registrations_open=False)
        with pytest.raises(RegistrationRefused):
            register(event, 0)
        services.event_update(event=event, author=manager, registrations_open=True)
        assert register(event, 0).status == "confirmed"


# Events ---------------------------------------------------------------------------------------

DIRTY = (
    '<p onclick="steal()">Bring <strong>your</strong> toaster '
    '<a href="javascript:alert(1)">here</a> <a href="https://example.org/map">map</a></p>'
    "<script>alert('pwned')</script><img src=x onerror=alert(2)>"
    "<style>body{display:none}</style><iframe src='https://evil.example'></iframe>"
)


def assert_clean(html: str) -> None:
    lowered = html.lower()
    for forbidden in ("<script", "alert", "onclick", "onerror", "javascript:", "<img", "<iframe"):
        assert forbidden not in lowered, (forbidden, html)
    assert "<style" not in lowered and "display:none" not in lowered


@pytest.mark.django_db
class TestEvents:
    def test_html_is_sanitised_on_create(self, place, manager):
        event = create_event(
            manager,
            place,
            description=DIRTY,
            translations={"es": {"title": "Café reparación", "description": DIRTY}},
        )
        event = fresh(event)
        for html in (event.description, event.translations["es"]["description"]):
            assert_clean(html)
            assert "<strong>your</strong>" in html
            assert 'href="https://example.org/map"' in html
            assert 'rel="noopener noreferrer nofollow"' in html
        assert event.translations["es"]["title"] == "Café reparación"
        assert "toaster" in event.search_text
        assert "reparacion" in event.search_text  # the translated title is searchable, folded
        assert "alert" not in event.search_text and "<" not in event.search_text

    def test_html_is_sanitised_on_update(self, place, manager):
        event = create_event(manager, place, description="<p>Fine</p>")
        services.event_update(
            event=event,
            author=manager,
            description=DIRTY,
            translations={"ca": {"title": "Cafè", "description": DIRTY}, "es": {"title": "Café"}},
        )
        event = fresh(event)
        assert_clean(event.description)
        assert_clean(event.translations["ca"]["description"])
        assert event.translations["es"] == {"title": "Café"}
        assert event.localized("description", "ca") == event.translations["ca"]["description"]
        assert event.localized("title", "es") == "Café"
        assert event.localized("title", "de") == "Repair café"

    def test_creation_is_audited_and_written_by_its_author(self, place, manager):
        event = create_event(manager, place, title="Fresque du climat", category="workshop")
        assert (event.place, event.network, event.created_by, event.status) == (
            place,
            None,
            manager,
            "published",
        )
        entry = AuditEntry.objects.get(action="event.create")
        assert (entry.actor, entry.place, entry.target_id) == (manager, place, str(event.pk))
        assert entry.details == {"title": "Fresque du climat", "dates": 1}

    @pytest.mark.parametrize(
        ("fields", "key"),
        [
            ({"end": in_days(7) - HOUR}, "end"),
            ({"location": "address", "address": "  "}, "address"),
            ({"location": "online"}, "online_url"),
            ({"category": "rave"}, "category"),
            ({"title": ""}, "title"),
        ],
    )
    def test_invalid_events_are_refused_and_nothing_written(self, place, manager, fields, key):
        with pytest.raises(ValidationError) as refused:
            create_event(manager, place, start=in_days(7), **fields)
        assert key in refused.value.message_dict
        assert not Event.objects.exists()
        assert not AuditEntry.objects.exists()

    def test_unknown_fields_are_a_programming_error(self, place, manager):
        with pytest.raises(ValueError, match="confirmed_count"):
            create_event(manager, place, confirmed_count=99)
        assert not Event.objects.exists()

    def test_cancelling_an_event_through_update_is_refused(self, place, manager):
        event = create_event(manager, place)
        with pytest.raises(ValidationError) as refused:
            services.event_update(event=event, author=manager, status="cancelled")
        assert "status" in refused.value.message_dict
        assert fresh(event).status == "published"

    def test_a_weekly_series_keeps_its_wall_clock_time_across_the_spring_dst_change(
        self, place, manager
    ):
        year = timezone.now().year + 1
        march_31 = dt.date(year, 3, 31)
        last_sunday = march_31 - dt.timedelta(days=(march_31.weekday() + 1) % 7)
        first = dt.datetime.combine(last_sunday - dt.timedelta(days=10), dt.time(18), PARIS)
        events = services.event_create(
            author=manager,
            place=place,
            rrule="FREQ=WEEKLY;COUNT=4",
            title="Atelier vélo",
            category="workshop",
            start=first,
            end=first + 2 * HOUR,
            capacity=8,
        )
        assert len(events) == 4
        local = [e.start.astimezone(PARIS) for e in events]
        assert [moment.time() for moment in local] == [dt.time(18)] * 4
        assert [e.end.astimezone(PARIS).time() for e in events] == [dt.time(20)] * 4
        assert [moment.date() for moment in local] == [
            first.date() + dt.timedelta(weeks=n) for n in range(4)
        ]
        # 17:00 UTC in winter time, 16:00 UTC once the clocks went forward.
        utc_hours = [e.start.astimezone(dt.UTC).hour for e in fresh_all(events)]
        assert utc_hours == [17, 17, 16, 16]
        series = EventSeries.objects.get()
        assert series.rrule == "FREQ=WEEKLY;COUNT=4"
        assert {e.series_id for e in fresh_all(events)} == {series.pk}
        assert all(e.capacity == 8 and e.confirmed_count == 0 for e in fresh_all(events))
        # Each date has its own registrations.
        register(events[0], 1)
        assert [fresh(e).confirmed_count for e in events] == [1, 0, 0, 0]
        assert AuditEntry.objects.get(action="event.create").details["dates"] == 4

    def test_a_network_series_uses_the_site_time_zone(self, settings):
        settings.TIME_ZONE = "Europe/Paris"
        network = NetworkFactory()
        coordinator = make_coordinator(network, language="en")
        year = timezone.now().year + 1
        october_31 = dt.date(year, 10, 31)
        last_sunday = october_31 - dt.timedelta(days=(october_31.weekday() + 1) % 7)
        first = dt.datetime.combine(last_sunday - dt.timedelta(days=2), dt.time(9, 30), PARIS)
        events = services.event_create(
            author=coordinator,
            network=network,
            rrule="RRULE:FREQ=DAILY;COUNT=4",
            title="Réunion du réseau",
            category="meetup",
            location="online",
            online_url="https://visio.example.org/reseau",
            start=first,
            end=first + HOUR,
        )
        assert [e.start.astimezone(PARIS).time() for e in events] == [dt.time(9, 30)] * 4
        assert [e.start.astimezone(dt.UTC).hour for e in fresh_all(events)] == [7, 7, 8, 8]

    @pytest.mark.parametrize(
        "rrule", ["FREQ=DAILY;COUNT=101", "FREQ=DAILY", "FREQ=HOURLY;INTERVAL=3;COUNT=500"]
    )
    def test_a_series_of_more_than_100_dates_is_refused_and_nothing_written(
        self, place, manager, rrule
    ):
        room = Resource.objects.create(place=place, name="Salle Aubrac", kind="meeting_room")
        with pytest.raises(ValidationError) as refused:
            services.event_create(
                author=manager,
                place=place,
                rrule=rrule,
                room=room,
                title="Trop souvent",
                category="workshop",
                location="room",
                start=in_days(3, 9),
                end=in_days(3, 10),
            )
        assert refused.value.message_dict == {"rrule": ["A series has at most 100 dates."]}
        assert not Event.objects.exists()
        assert not EventSeries.objects.exists()
        assert not Booking.objects.exists()
        assert not AuditEntry.objects.exists()

    def test_a_series_of_exactly_100_dates_is_accepted(self, place, manager):
        events = services.event_create(
            author=manager,
            place=place,
            rrule="FREQ=DAILY;COUNT=100",
            title="Permanence",
            category="other",
            start=in_days(1, 9),
            end=in_days(1, 10),
        )
        assert len(events) == Event.objects.count() == 100

    def test_an_unreadable_rule_is_refused(self, place, manager):
        with pytest.raises(ValidationError) as refused:
            create_event(manager, place, rrule="EVERY TUESDAY")
        assert refused.value.message_dict == {"rrule": ["This repeat rule cannot be read."]}
        assert not Event.objects.exists()
        assert not EventSeries.objects.exists()


def fresh_all(events: list[Event]) -> list[Event]:
    return list(Event.objects.filter(pk__in=[e.pk for e in events]).order_by("start"))


# Rooms ----------------------------------------------------------------------------------------


def held(booking_id: int) -> list[tuple[dt.datetime, dt.datetime]]:
    return list(
        Occurrence.objects.filter(booking_id=booking_id, status__in=Occurrence.HOLDING)
        .order_by("start")
        .values_list("start", "end")
    )


@pytest.mark.django_db
class TestRooms:
    @pytest.fixture
    def room(self, place):
        return Resource.objects.create(
            place=place, name="Salle Causse", kind="meeting_room", capacity=20
        )

    def in_room(self, manager, place, room, **fields) -> Event:
        return create_event(manager, place, location="room", room=room, **fields)

    def test_an_event_in_a_room_books_it(self, place, manager, room):
        event = self.in_room(manager, place, room)
        booking = Booking.objects.get(pk=event.booking_id)
        assert (booking.resource, booking.booker, booking.title) == (room, manager, "Repair café")
        assert held(booking.pk) == [(event.start, event.end)]

    def test_a_room_of_another_place_or_no_room_is_refused(self, place, manager):
        elsewhere = Resource.objects.create(place=PlaceFactory(), name="Ailleurs", kind="desk")
        for room in (elsewhere, None):
            with pytest.raises(ValidationError) as refused:
                self.in_room(manager, place, room)
            assert refused.value.message_dict == {"room": ["Choose a room of this place."]}
        assert not Event.objects.exists()
        assert not Booking.objects.exists()

    def test_a_second_event_at_the_same_time_in_the_room_is_refused(self, place, manager, room):
        first = self.in_room(manager, place, room)
        with pytest.raises(ValidationError) as refused:
            self.in_room(manager, place, room, title="Clash", start=first.start + HOUR)
        (message,) = refused.value.message_dict["room"]
        assert message.startswith("Salle Causse is already booked from ")
        assert list(Event.objects.values_list("pk", flat=True)) == [first.pk]
        assert Booking.objects.count() == 1
        assert not AuditEntry.objects.filter(action="event.create", details__title="Clash")

    def test_a_series_in_a_room_books_each_date_or_nothing(self, place, manager, room):
        other = self.in_room(manager, place, room, start=in_days(21), title="Taken")
        with pytest.raises(ValidationError) as refused:
            services.event_create(
                author=manager,
                place=place,
                rrule="FREQ=WEEKLY;COUNT=3",
                room=room,
                title="Weekly",
                category="workshop",
                location="room",
                start=in_days(7),
                end=in_days(7) + HOUR,
            )
        assert "room" in refused.value.message_dict
        assert list(Event.objects.values_list("pk", flat=True)) == [other.pk]
        assert not EventSeries.objects.exists()
        assert Booking.objects.count() == 1
        events = services.event_create(
            author=manager,
            place=place,
            rrule="FREQ=WEEKLY;COUNT=3",
            room=room,
            title="Weekly",
            category="workshop",
            location="room",
            start=in_days(8),
            end=in_days(8) + HOUR,
        )
        assert len({e.booking_id for e in events}) == 3
        assert [held(e.booking_id) for e in events] == [[(e.start, e.end)] for e in events]

    def test_moving_the_event_books_the_room_again_and_tells_everyone(
        self, place, manager, room, django_capture_on_commit_callbacks, mailoutbox
    ):
        event = self.in_room(manager, place, room, capacity=1)
        register(event, 0)
        register(event, 1, language="es")
        old_booking = event.booking_id
        mailoutbox.clear()
        later = event.start + dt.timedelta(days=1)
        with django_capture_on_commit_callbacks(execute=True):
            services.event_update(event=event, author=manager, start=later, end=later + HOUR)
        event = fresh(event)
        assert event.booking_id != old_booking
        assert held(old_booking) == []
        assert held(event.booking_id) == [(later, later + HOUR)]
        assert sorted(m.to[0] for m in mailoutbox) == ["person0@example.org", "person1@example.org"]
        # Each in their language, subject included, whatever the manager's.
        assert_subject_in("es", "The event has moved", sent_to("person1@example.org", mailoutbox))
        assert_subject_in("en", "The event has moved", sent_to("person0@example.org", mailoutbox))
        # The old time is free again for another event.
        self.in_room(manager, place, room, title="In the freed slot", start=in_days(7))

    def test_moving_onto_a_taken_time_is_refused_and_the_event_keeps_its_room(
        self, place, manager, room
    ):
        event = self.in_room(manager, place, room)
        blocker = self.in_room(manager, place, room, title="Blocker", start=in_days(9))
        with pytest.raises(ValidationError) as refused:
            services.event_update(
                event=event, author=manager, start=blocker.start, end=blocker.end, title="Moved"
            )
        assert "room" in refused.value.message_dict
        kept = fresh(event)
        assert (kept.start, kept.title, kept.booking_id) == (
            event.start,
            "Repair café",
            event.booking_id,
        )
        assert held(event.booking_id) == [(event.start, event.end)]

    def test_leaving_the_room_frees_it(self, place, manager, room):
        event = self.in_room(manager, place, room)
        services.event_update(
            event=event, author=manager, location="address", address="Place du marché, Mende"
        )
        assert fresh(event).booking_id is None
        assert held(event.booking_id) == []

    def test_cancelling_the_event_frees_the_room_and_tells_everyone(
        self, place, manager, room, django_capture_on_commit_callbacks, mailoutbox
    ):
        event = self.in_room(manager, place, room, capacity=2)
        regs = [register(event, n, language=("es" if n == 1 else "en")) for n in range(4)]
        services.registration_cancel(registration=regs[3])
        mailoutbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            services.event_cancel(event=event, author=manager, reason="  The roof leaks.  ")
        cancelled = fresh(event)
        assert (cancelled.status, cancelled.cancellation_reason) == ("cancelled", "The roof leaks.")
        assert cancelled.booking_id is None
        assert held(event.booking_id) == []
        # Confirmed and waitlisted are told, not who had cancelled; nobody was promoted.
        assert sorted(m.to[0] for m in mailoutbox) == [f"person{n}@example.org" for n in range(3)]
        assert all("The roof leaks." in m.body for m in mailoutbox)
        assert "Hola, Person 1:" in sent_to("person1@example.org", mailoutbox)[0].body
        assert_subject_in(
            "es", "The event is cancelled", sent_to("person1@example.org", mailoutbox)
        )
        assert_subject_in(
            "en", "The event is cancelled", sent_to("person0@example.org", mailoutbox)
        )
        assert Registration.objects.filter(status="waitlisted").count() == 1
        entry = AuditEntry.objects.get(action="event.cancel")
        assert entry.details == {"reason": "The roof leaks.", "registered": 2}
        # Cancelling again sends nothing more.
        mailoutbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            services.event_cancel(event=event, author=manager)
        assert mailoutbox == []
        # The room is free for another event at that time.
        self.in_room(manager, place, room, title="Instead")


# Permissions ----------------------------------------------------------------------------------


@pytest.mark.django_db
class TestPermissions:
    def test_another_places_manager_can_do_nothing(self, place, manager):
        event = create_event(manager, place, capacity=1)
        registration = register(event, 0)
        register(event, 1)
        outsider = make_manager(PlaceFactory(), language="en")
        audit_before = AuditEntry.objects.count()
        with pytest.raises(PermissionError):
            create_event(outsider, place)
        with pytest.raises(PermissionError):
            services.event_update(event=event, author=outsider, capacity=10, title="Hijacked")
        with pytest.raises(PermissionError):
            services.event_cancel(event=event, author=outsider)
        with pytest.raises(PermissionError):
            services.message_participants(event=event, author=outsider, subject="Hi", body="Spam")
        with pytest.raises(PermissionError):
            services.check_in(registration=registration, actor=outsider)
        event = fresh(event)
        assert (event.title, event.capacity, event.status) == ("Repair café", 1, "published")
        assert (event.confirmed_count, event.waitlisted_count) == (1, 1)
        assert Event.objects.count() == 1
        assert Registration.objects.get(pk=registration.pk).checked_in_at is None
        assert AuditEntry.objects.count() == audit_before

    def test_members_and_strangers_cannot_publish(self, place):
        for author in (UserFactory(), UserFactory(is_active=False)):
            with pytest.raises(PermissionError):
                create_event(author, place)
        assert not Event.objects.exists()

    def test_network_events_belong_to_the_coordinators(self, place, manager):
        network = NetworkFactory()
        place.networks.add(network)
        coordinator = make_coordinator(network, language="en")
        with pytest.raises(PermissionError):
            services.event_create(
                author=manager,
                network=network,
                title="Assemblée",
                category="meetup",
                start=in_days(5),
                end=in_days(5) + HOUR,
            )
        (event,) = services.event_create(
            author=coordinator,
            network=network,
            title="Assemblée",
            category="meetup",
            start=in_days(5),
            end=in_days(5) + HOUR,
        )
        assert (event.network, event.place) == (network, None)
        # A coordinator runs the events of the network's places too, not the other way round.
        place_event = create_event(manager, place)
        services.event_update(event=place_event, author=coordinator, title="By the network")
        with pytest.raises(PermissionError):
            services.event_update(event=event, author=manager, title="By a place")
        assert fresh(event).title == "Assemblée"

    def test_an_event_has_exactly_one_owner(self, place, manager):
        network = NetworkFactory()
        for owners in ({}, {"place": place, "network": network}):
            with pytest.raises(ValueError, match="place or to a network"):
                services.event_create(
                    author=manager,
                    title="X",
                    category="other",
                    start=in_days(5),
                    end=in_days(5) + HOUR,
                    **owners,
                )
        assert not Event.objects.exists()


# Signed links, jobs, messages, check-in ---------------------------------------------------------


@pytest.mark.django_db
class TestRegistrationSecrets:
    def test_the_secret_finds_the_registration_and_a_tampered_one_nothing(self, place, manager):
        event = create_event(manager, place)
        registration, other = register(event, 0), register(event, 1)
        secret = services.registration_secret(registration)
        assert services.registration_by_secret(secret) == registration
        pk, signature = secret.split(":", 1)
        assert pk == str(registration.pk)
        flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
        for tampered in (
            f"{pk}:{flipped}",
            f"{other.pk}:{signature}",
            pk,
            "",
            "nonsense",
            f"{pk}:",
            services.subscription_secret(
                Subscription.objects.create(email="x@example.org", language="fr")
            ),
        ):
            assert services.registration_by_secret(tampered) is None, tampered
        assert services.registration_by_secret(services.registration_secret(other)) == other

    def test_following_the_link_confirms_the_address_once(self, place, manager):
        event = create_event(manager, place)
        registration = register(event, 0)
        assert registration.email_confirmed_at is None
        services.registration_confirm_email(registration)
        confirmed_at = Registration.objects.get(pk=registration.pk).email_confirmed_at
        assert confirmed_at is not None
        services.registration_confirm_email(Registration.objects.get(pk=registration.pk))
        assert Registration.objects.get(pk=registration.pk).email_confirmed_at == confirmed_at


@pytest.mark.django_db
class TestJobs:
    def make_old(self, *registrations, hours: int = 49) -> None:
        Registration.objects.filter(pk__in=[r.pk for r in registrations]).update(
            created_at=timezone.now() - dt.timedelta(hours=hours)
        )

    def test_release_unconfirmed_frees_the_places_of_unconfirmed_addresses(
        self, place, manager, django_capture_on_commit_callbacks, mailoutbox
    ):
        event = create_event(manager, place, capacity=2)
        stale = register(event, 0)
        member = services.register(event=event, user=UserFactory(language="en"))
        first_in_line = register(event, 2)  # recent: has time left to confirm
        stale_waiting = register(event, 3)
        confirmed_in_time = register(event, 4)
        services.registration_confirm_email(confirmed_in_time)
        self.make_old(stale, member, stale_waiting, confirmed_in_time)
        self.make_old(first_in_line, hours=47)
        mailoutbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            assert services.release_unconfirmed() == 2
        statuses = dict(Registration.objects.values_list("email", "status"))
        assert statuses == {
            "person0@example.org": "cancelled",
            member.email: "confirmed",
            "person2@example.org": "confirmed",  # promoted into the freed place
            "person3@example.org": "cancelled",
            "person4@example.org": "waitlisted",
        }
        assert waiting_line(event) == [("person4@example.org", 1)]
        assert [m.to for m in mailoutbox] == [["person2@example.org"]]
        assert_counters_match_rows(event)
        assert services.release_unconfirmed() == 0

    def test_release_unconfirmed_leaves_past_events_alone(self, place, manager):
        event = create_event(manager, place, start=in_days(1))
        registration = register(event, 0)
        self.make_old(registration)
        assert services.release_unconfirmed(now=event.start + HOUR) == 0
        assert services.release_unconfirmed(now=event.start - HOUR) == 1
        assert Registration.objects.get(pk=registration.pk).status == "cancelled"

    def test_reminders_go_once_to_the_confirmed_of_events_starting_soon(
        self, place, manager, django_capture_on_commit_callbacks, mailoutbox
    ):
        now = timezone.now()
        soon = create_event(manager, place, capacity=2, start=now + dt.timedelta(hours=20))
        later = create_event(manager, place, start=now + dt.timedelta(hours=30), title="Later")
        dropped = create_event(manager, place, start=now + dt.timedelta(hours=10), title="Off")
        for n in range(4):
            register(soon, n)
        services.registration_cancel(
            registration=Registration.objects.get(email="person1@example.org")
        )
        register(later, 7, language="es")
        register(dropped, 8)
        services.event_cancel(event=dropped, author=manager)
        mailoutbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            assert services.send_reminders(now=now) == 2
        # person1 cancelled, person2 was promoted; person3 waits.
        assert sorted(m.to[0] for m in mailoutbox) == ["person0@example.org", "person2@example.org"]
        assert all("Reminder – Repair café" in m.subject for m in mailoutbox)
        assert Registration.objects.filter(reminded_at__isnull=False).count() == 2
        mailoutbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            assert services.send_reminders(now=now) == 0
            assert services.send_reminders(now=now, hours=48) == 1
            assert services.send_reminders(now=now, hours=48) == 0
        assert [m.to for m in mailoutbox] == [["person7@example.org"]]
        assert "Hola, Person 7:" in mailoutbox[0].body
        assert_subject_in("es", "Reminder", mailoutbox)
        assert mailoutbox[0].subject.endswith("– Later")

    def test_message_participants(
        self, place, manager, django_capture_on_commit_callbacks, mailoutbox
    ):
        event = create_event(manager, place, capacity=2)
        for n in range(4):
            register(event, n, language="es" if n == 0 else "en")
        services.registration_cancel(
            registration=Registration.objects.get(email="person3@example.org")
        )
        mailoutbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            count = services.message_participants(
                event=event, author=manager, subject=" Bring a mug ", body=" No cups here. "
            )
        assert count == 2
        assert sorted(m.to[0] for m in mailoutbox) == ["person0@example.org", "person1@example.org"]
        assert {m.subject for m in mailoutbox} == {"[Repair café] Bring a mug"}
        assert all("No cups here." in m.body for m in mailoutbox)
        assert "Hola, Person 0:" in sent_to("person0@example.org", mailoutbox)[0].body
        mailoutbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            count = services.message_participants(
                event=event, author=manager, subject="Hi", body="All", include_waitlist=True
            )
        assert count == 3
        assert sorted(m.to[0] for m in mailoutbox) == [f"person{n}@example.org" for n in range(3)]
        entries = AuditEntry.objects.filter(action="event.message").order_by("id")
        assert [e.details for e in entries] == [
            {"subject": "Bring a mug", "recipients": 2},
            {"subject": "Hi", "recipients": 3},
        ]

    @pytest.mark.parametrize(
        ("subject", "body", "message"),
        [
            ("", "Body", "Write a subject and a message."),
            ("Subject", "   ", "Write a subject and a message."),
            ("x" * 151, "Body", "The subject or the message is too long."),
            ("Subject", "x" * 5001, "The subject or the message is too long."),
        ],
    )
    def test_an_empty_or_too_long_message_is_refused(
        self, place, manager, subject, body, message, django_capture_on_commit_callbacks, mailoutbox
    ):
        event = create_event(manager, place)
        register(event, 0)
        mailoutbox.clear()
        with (
            django_capture_on_commit_callbacks(execute=True),
            pytest.raises(ValidationError) as refused,
        ):
            services.message_participants(event=event, author=manager, subject=subject, body=body)
        assert refused.value.messages == [message]
        assert mailoutbox == []
        assert not AuditEntry.objects.filter(action="event.message").exists()

    def test_check_in_only_confirmed_participants(self, place, manager):
        event = create_event(manager, place, capacity=1)
        confirmed, waiting = register(event, 0), register(event, 1)
        checked = services.check_in(registration=confirmed, actor=manager)
        assert checked.checked_in_by == manager
        stored = Registration.objects.get(pk=confirmed.pk)
        assert stored.checked_in_at is not None and stored.checked_in_by == manager
        services.check_in(registration=confirmed, actor=manager, undo=True)
        stored = Registration.objects.get(pk=confirmed.pk)
        assert (stored.checked_in_at, stored.checked_in_by) == (None, None)
        with pytest.raises(ValidationError, match="Only confirmed participants"):
            services.check_in(registration=waiting, actor=manager)
        services.registration_cancel(registration=confirmed)
        with pytest.raises(ValidationError, match="Only confirmed participants"):
            services.check_in(registration=confirmed, actor=manager)
        assert not Registration.objects.filter(checked_in_at__isnull=False).exists()
        # The promoted person can be checked in.
        services.check_in(registration=Registration.objects.get(pk=waiting.pk), actor=manager)


# Property: any sequence keeps counters, rows and positions exact --------------------------------

EMAILS = [f"p{n}@example.org" for n in range(7)]

# Registrations come most often, cancellations often, capacity changes now and then; small
# capacities, so that the waiting list fills and empties.
CAPACITIES = st.sampled_from([0, 1, 1, 2, 2, 3, 4, 6, None])
actions = st.lists(
    st.tuples(
        st.sampled_from(["register"] * 5 + ["cancel"] * 4 + ["capacity"]),
        st.integers(0, len(EMAILS) - 1),
        CAPACITIES,
        st.booleans(),
    ),
    min_size=10,
    max_size=40,
)


class Model:
    """What the services must do, in plain Python: confirmed people, the line, the capacity."""

    def __init__(self, capacity: int | None, waitlist: bool):
        self.capacity, self.waitlist = capacity, waitlist
        self.confirmed: list[str] = []
        self.line: list[str] = []

    def room(self) -> bool:
        return self.capacity is None or len(self.confirmed) < self.capacity

    def promote(self) -> None:
        while self.line and self.room():
            self.confirmed.append(self.line.pop(0))

    def register(self, email: str) -> str:
        if email in self.confirmed or email in self.line:
            return "already"
        if self.room():
            self.confirmed.append(email)
            return "confirmed"
        if self.waitlist:
            self.line.append(email)
            return "waitlisted"
        return "full"

    def cancel(self, email: str) -> None:
        if email in self.confirmed:
            self.confirmed.remove(email)
            self.promote()
        elif email in self.line:
            self.line.remove(email)

    def set_capacity(self, capacity: int | None) -> str:
        if capacity is not None and capacity < len(self.confirmed):
            return "refused"
        self.capacity = capacity
        self.promote()
        return "ok"


def apply(event: Event, manager, kind: str, value: int, capacity, upper: bool) -> str:
    if kind == "register":
        email = EMAILS[value].upper() if upper else EMAILS[value]
        try:
            return services.register(event=event, name=f"P{value}", email=email).status
        except AlreadyRegistered:
            return "already"
        except RegistrationRefused as refused:
            assert refused.messages == ["This event is full."]
            return "full"
    if kind == "cancel":
        registration = Registration.objects.filter(
            event=event, email=EMAILS[value], status__in=Registration.ACTIVE
        ).first()
        if registration is not None:
            services.registration_cancel(registration=registration)
        return "done"
    try:
        services.event_update(event=event, author=manager, capacity=capacity)
    except ValidationError as refused:
        assert "capacity" in refused.message_dict
        return "refused"
    return "ok"


def assert_matches(event: Event, model: Model) -> None:
    event = fresh(event)
    rows = Registration.objects.filter(event=event)
    confirmed = sorted(rows.filter(status="confirmed").values_list("email", flat=True))
    line = list(
        rows.filter(status="waitlisted").order_by("queue_number").values_list("email", flat=True)
    )
    assert event.capacity == model.capacity
    assert confirmed == sorted(model.confirmed)
    assert line == model.line
    assert (event.confirmed_count, event.waitlisted_count) == (len(confirmed), len(line))
    assert event.capacity is None or event.confirmed_count <= event.capacity
    assert [position for _email, position in waiting_line(event)] == list(range(1, len(line) + 1))
    assert [
        services.position(r) for r in rows.filter(status="waitlisted").order_by("queue_number")
    ] == list(range(1, len(line) + 1))
    # Nobody waits while a place is free (the event is published, in the future, open).
    room = event.capacity is None or event.confirmed_count < event.capacity
    assert not (room and event.waitlisted_count)
    assert not rows.exclude(status="waitlisted").filter(queue_number__isnull=False).exists()


@pytest.mark.django_db
@settings(
    max_examples=75,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(capacity=CAPACITIES, waitlist=st.sampled_from([True, True, True, False]), steps=actions)
def test_any_sequence_keeps_counters_rows_and_positions_exact(capacity, waitlist, steps):
    with transaction.atomic():
        place = PlaceFactory()
        manager = make_manager(place)
        event = create_event(manager, place, capacity=capacity, waitlist_enabled=waitlist)
        model = Model(capacity, waitlist)
        for kind, value, new_capacity, upper in steps:
            outcome = apply(event, manager, kind, value, new_capacity, upper)
            if kind == "register":
                assert outcome == model.register(EMAILS[value])
            elif kind == "cancel":
                model.cancel(EMAILS[value])
            else:
                assert outcome == model.set_capacity(new_capacity)
            assert_matches(event, model)
        transaction.set_rollback(True)
