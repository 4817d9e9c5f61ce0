"""The managers' pages of the agenda: events of a place or network, the event form, cancelling,
participants and their waiting list, the CSV export, messages and the check-in at the door."""

import csv
import datetime as dt
import io
import zoneinfo

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation
from PIL import Image

from maillage.accounts.models import PlaceRole
from maillage.agenda import services
from maillage.agenda.models import Event, EventSeries, Registration
from maillage.bookings.models import Booking, Occurrence, Resource
from maillage.bookings.services import booking_create
from maillage.core.models import AuditEntry
from tests.factories import (
    NetworkFactory,
    PlaceFactory,
    UserFactory,
    make_coordinator,
    make_manager,
)

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
CANARY = zoneinfo.ZoneInfo("Atlantic/Canary")


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture(autouse=True)
def _messages_in_english():
    """The assertions read the English messages; the site's default language is French."""
    with translation.override("en"):
        yield


@pytest.fixture
def world():
    """Network N holds place A (in Paris time) and place B. Each person reads English."""
    network = NetworkFactory(name="Réseau Lozère")
    place_a = PlaceFactory(name="Fablab A", time_zone="Europe/Paris")
    place_b = PlaceFactory(name="Coworking B")
    place_a.networks.add(network)
    staff = UserFactory(language="en")
    PlaceRole.objects.create(user=staff, place=place_a, role=PlaceRole.Role.STAFF)
    member = UserFactory(language="en")
    PlaceRole.objects.create(user=member, place=place_a, role=PlaceRole.Role.RESIDENT)
    return {
        "network": network,
        "a": place_a,
        "b": place_b,
        "manager_a": make_manager(place_a, language="en", full_name="Anne Manager"),
        "staff_a": staff,
        "member_a": member,
        "manager_b": make_manager(place_b, language="en"),
        "coordinator": make_coordinator(network, language="en"),
    }


def local(days: int, hour: int, minute: int = 0, zone=PARIS) -> dt.datetime:
    """A wall-clock time `days` days from today where the place is."""
    today = timezone.now().astimezone(zone).date()
    return dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour, minute), zone)


def field_value(moment: dt.datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M}"


def make_event(place=None, network=None, author=None, **fields) -> Event:
    start = fields.pop("start", local(10, 18))
    values = {
        "title": "Atelier soudure",
        "category": "workshop",
        "start": start,
        "end": fields.pop("end", start + dt.timedelta(hours=2)),
        "location": Event.Location.PLACE if place else Event.Location.ADDRESS,
        "address": "" if place else "1 place de la Mairie, Mende",
        "capacity": 3,
        **fields,
    }
    if author is None:
        author = UserFactory(is_superuser=True)
    return services.event_create(author=author, place=place, network=network, **values)[0]


def register(event, name, email, **kwargs) -> Registration:
    return services.register(event=event, name=name, email=email, language="en", **kwargs)


def full_event(place, confirmed=3, waiting=2, **fields) -> Event:
    event = make_event(place, capacity=confirmed, **fields)
    for number in range(confirmed + waiting):
        register(event, f"Person {number}", f"person-{number}@example.org")
    event.refresh_from_db()
    return event


def make_room(place, **kwargs) -> Resource:
    return Resource.objects.create(
        place=place, **{"name": "Salle Causse", "kind": "meeting_room", **kwargs}
    )


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (2000, 1000), (200, 90, 20)).save(out, "PNG")
    return out.getvalue()


def form_data(start: dt.datetime | None = None, **extra) -> dict:
    """What a browser sends for a new event of a place."""
    start = start or local(14, 18)
    data = {
        "title": "Repair café",
        "description": "Venez réparer vos objets.",
        "category": "repair_cafe",
        "audience": "everyone",
        "language": "fr",
        "start": field_value(start),
        "end": field_value(start + dt.timedelta(hours=2)),
        "location": "place",
        "registration_required": "on",
        "capacity": "12",
        "waitlist_enabled": "on",
        "registrations_open": "on",
        "is_free": "on",
        "organiser_name": "Anne Manager",
        "organiser_email": "anne@example.org",
        "status": "published",
    }
    data.update(extra)
    return {key: value for key, value in data.items() if value is not None}


def nothing_written():
    return (
        not Event.objects.exists()
        and not EventSeries.objects.exists()
        and not Booking.objects.exists()
        and not AuditEntry.objects.filter(action__startswith="event.").exists()
    )


def errors_of(response, field) -> str:
    return " ".join(response.context["form"].errors.get(field, []))


def text(response) -> str:
    return response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')


# Who may open the pages -----------------------------------------------------------------------

EVENT_PAGES = ["edit", "cancel", "participants", "participants_csv", "message", "checkin"]
PLACE_PAGES = ["manage_place", "create_place"]


def page_url(name, world, event=None) -> str:
    if name in PLACE_PAGES:
        return reverse(f"agenda:{name}", kwargs={"slug": world["a"].slug})
    return reverse(f"agenda:{name}", kwargs={"pk": event.pk})


class TestWhoMayOpen:
    @pytest.mark.parametrize("name", PLACE_PAGES + EVENT_PAGES)
    @pytest.mark.parametrize("role", ["manager_a", "staff_a", "coordinator"])
    def test_the_team_of_the_place_opens_every_page(self, client, world, name, role):
        event = make_event(world["a"])
        client.force_login(world[role])
        assert client.get(page_url(name, world, event)).status_code == 200

    @pytest.mark.parametrize("name", PLACE_PAGES + EVENT_PAGES)
    @pytest.mark.parametrize("role", ["manager_b", "member_a"])
    def test_people_who_see_the_place_but_do_not_run_it_find_no_such_page(
        self, client, world, name, role
    ):
        event = make_event(world["a"])
        client.force_login(world[role])
        response = client.get(page_url(name, world, event))
        assert response.status_code == 404

    @pytest.mark.parametrize("name", PLACE_PAGES + EVENT_PAGES)
    def test_anonymous_people_are_asked_to_log_in(self, client, world, name):
        event = make_event(world["a"])
        response = client.get(page_url(name, world, event))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
        assert "next=" in response["Location"]

    @pytest.mark.parametrize("name", EVENT_PAGES)
    def test_a_draft_does_not_exist_for_others(self, client, world, name):
        event = make_event(world["a"], status=Event.Status.DRAFT)
        client.force_login(world["manager_b"])
        assert client.get(page_url(name, world, event)).status_code == 404

    @pytest.mark.parametrize("name", PLACE_PAGES)
    def test_an_unpublished_place_does_not_exist_for_others(self, client, world, name):
        world["a"].is_published = False
        world["a"].save()
        client.force_login(world["manager_b"])
        assert client.get(page_url(name, world)).status_code == 404
        client.force_login(world["manager_a"])
        assert client.get(page_url(name, world)).status_code == 200

    def test_unknown_places_networks_and_events_are_not_found(self, client, world):
        client.force_login(world["manager_a"])
        for url in (
            reverse("agenda:manage_place", kwargs={"slug": "nowhere"}),
            reverse("agenda:create_network", kwargs={"slug": "nowhere"}),
            reverse("agenda:participants", kwargs={"pk": 999999}),
        ):
            assert client.get(url).status_code == 404

    @pytest.mark.parametrize("name", ["manage_network", "create_network"])
    def test_network_pages_are_for_its_coordinators(self, client, world, name):
        url = reverse(f"agenda:{name}", kwargs={"slug": world["network"].slug})
        assert client.get(url).status_code == 302
        client.force_login(world["manager_a"])
        assert client.get(url).status_code == 404
        client.force_login(world["coordinator"])
        assert client.get(url).status_code == 200

    def test_the_place_page_links_managers_to_its_events(self, client, world):
        url = reverse("agenda:manage_place", kwargs={"slug": world["a"].slug})
        client.force_login(world["manager_a"])
        assert url in client.get(world["a"].get_absolute_url()).content.decode()
        client.force_login(world["member_a"])
        assert url not in client.get(world["a"].get_absolute_url()).content.decode()

    def test_refused_writes_change_nothing(
        self, client, world, mailoutbox, django_capture_on_commit_callbacks
    ):
        event = full_event(world["a"], confirmed=2, waiting=1)
        registration = event.registrations.filter(status="confirmed").first()
        mailoutbox.clear()
        audits = AuditEntry.objects.count()
        client.force_login(world["manager_b"])
        posts = [
            (reverse("agenda:create_place", kwargs={"slug": world["a"].slug}), form_data()),
            (reverse("agenda:edit", kwargs={"pk": event.pk}), form_data(title="Volé")),
            (reverse("agenda:cancel", kwargs={"pk": event.pk}), {"reason": "Non"}),
            (
                reverse("agenda:participants", kwargs={"pk": event.pk}),
                {"action": "capacity", "capacity": "10"},
            ),
            (
                reverse("agenda:participants", kwargs={"pk": event.pk}),
                {"action": "cancel_registration", "registration": registration.pk},
            ),
            (
                reverse("agenda:message", kwargs={"pk": event.pk}),
                {"subject": "Spam", "body": "Spam"},
            ),
            (
                reverse("agenda:checkin", kwargs={"pk": event.pk}),
                {"registration": registration.pk},
            ),
        ]
        with django_capture_on_commit_callbacks(execute=True):
            for url, data in posts:
                assert client.post(url, data).status_code == 404, url
        event.refresh_from_db()
        registration.refresh_from_db()
        assert Event.objects.count() == 1
        assert (event.title, event.capacity, event.status) == ("Atelier soudure", 2, "published")
        assert registration.status == "confirmed" and registration.checked_in_at is None
        assert AuditEntry.objects.count() == audits
        assert not mailoutbox


# The list of events ---------------------------------------------------------------------------


class TestEventList:
    def url(self, world):
        return reverse("agenda:manage_place", kwargs={"slug": world["a"].slug})

    def test_upcoming_events_with_drafts_counts_and_links(self, client, world):
        event = full_event(world["a"], confirmed=3, waiting=2, title="Atelier Arduino")
        draft = make_event(world["a"], title="Brouillon", status="draft", start=local(20, 10))
        make_event(world["a"], title="Passé", start=local(-5, 10))
        make_event(world["b"], title="Ailleurs")
        client.force_login(world["manager_a"])
        response = client.get(self.url(world))
        page = text(response)
        assert [e.pk for e in response.context["page"]] == [event.pk, draft.pk]
        assert "Atelier Arduino" in page and "Brouillon" in page and "Draft" in page
        assert "Passé" not in page and "Ailleurs" not in page
        assert "3 / 3" in page
        assert "Upcoming (2)" in page and "Past (1)" in page
        for name in ("edit", "participants", "checkin"):
            assert reverse(f"agenda:{name}", kwargs={"pk": event.pk}) in page
        assert reverse("agenda:create_place", kwargs={"slug": world["a"].slug}) in page
        assert "New event" in page

    def test_the_past_tab_lists_past_events_latest_first(self, client, world):
        older = make_event(world["a"], title="Il y a longtemps", start=local(-30, 10))
        recent = make_event(world["a"], title="La semaine dernière", start=local(-7, 10))
        make_event(world["a"], title="À venir")
        client.force_login(world["manager_a"])
        response = client.get(self.url(world), {"tab": "past"})
        assert [e.pk for e in response.context["page"]] == [recent.pk, older.pk]
        assert "À venir" not in text(response)

    def test_times_are_shown_in_the_place_time_zone(self, client, world):
        world["a"].time_zone = "Atlantic/Canary"
        world["a"].save()
        make_event(world["a"], start=local(10, 18, zone=CANARY))
        client.force_login(world["manager_a"])
        page = text(client.get(self.url(world)))
        assert "18:00–20:00" in page
        assert "Atlantic/Canary" in page

    def test_a_network_page_lists_the_network_own_events(self, client, world):
        own = make_event(network=world["network"], title="Rencontre du réseau")
        make_event(world["a"], title="Atelier du lieu")
        client.force_login(world["coordinator"])
        url = reverse("agenda:manage_network", kwargs={"slug": world["network"].slug})
        response = client.get(url)
        assert [e.pk for e in response.context["page"]] == [own.pk]
        assert "Atelier du lieu" not in text(response)
        assert reverse("agenda:create_network", kwargs={"slug": world["network"].slug}) in text(
            response
        )


# Creating events ------------------------------------------------------------------------------


class TestCreate:
    def url(self, world):
        return reverse("agenda:create_place", kwargs={"slug": world["a"].slug})

    def test_the_form_is_prefilled_with_the_manager_as_organiser(self, client, world):
        client.force_login(world["manager_a"])
        response = client.get(self.url(world))
        form = response.context["form"]
        assert form["organiser_name"].value() == "Anne Manager"
        assert form["organiser_email"].value() == world["manager_a"].email
        page = text(response)
        assert 'type="datetime-local"' in page
        assert "&lt;strong&gt;" in response.content.decode()  # the allowed tags, as text
        assert "<details" in page and "Title in Español" in page

    def test_a_manager_creates_an_event_in_the_place_local_time(self, client, world):
        world["a"].time_zone = "Atlantic/Canary"
        world["a"].save()
        start = local(14, 18, zone=CANARY)
        client.force_login(world["manager_a"])
        data = form_data(
            start,
            description="Première ligne.\n\nDeuxième <script>alert(1)</script>",
            title_es="Café de reparación",
            description_es="<p onclick='x()'>Venid</p>",
            image=SimpleUploadedFile("affiche.png", png(), content_type="image/png"),
        )
        response = client.post(self.url(world), data)
        event = Event.objects.get()
        assert response.status_code == 302
        assert response["Location"] == reverse("agenda:participants", kwargs={"pk": event.pk})
        assert event.place == world["a"] and event.created_by == world["manager_a"]
        assert event.start == start and event.start.utcoffset() != dt.timedelta(hours=1)
        assert event.end - event.start == dt.timedelta(hours=2)
        assert (event.capacity, event.status, event.category) == (12, "published", "repair_cafe")
        assert "<script" not in event.description and "<p>Première ligne.</p>" in event.description
        assert event.translations == {
            "es": {"title": "Café de reparación", "description": "<p>Venid</p>"}
        }
        with Image.open(event.image.path) as stored:
            assert stored.format == "WEBP" and max(stored.size) == 1600
        assert AuditEntry.objects.get(action="event.create").actor == world["manager_a"]
        followed = client.get(response["Location"])
        assert "The event “Repair café” was created." in text(followed)

    def test_staff_create_events_too(self, client, world):
        client.force_login(world["staff_a"])
        assert client.post(self.url(world), form_data()).status_code == 302
        assert Event.objects.get().created_by == world["staff_a"]

    def test_an_empty_capacity_means_no_limit(self, client, world):
        client.force_login(world["manager_a"])
        assert client.post(self.url(world), form_data(capacity="")).status_code == 302
        assert Event.objects.get().capacity is None

    def test_a_room_of_the_place_is_booked_for_the_event(self, client, world):
        room = make_room(world["a"])
        make_room(world["a"], name="Imprimante", kind="machine")
        make_room(world["b"], name="Salle d'ailleurs")
        client.force_login(world["manager_a"])
        offered = client.get(self.url(world)).context["form"].fields["room"].queryset
        assert list(offered) == [room]
        start = local(14, 10)
        response = client.post(self.url(world), form_data(start, location="room", room=room.pk))
        assert response.status_code == 302
        event = Event.objects.get()
        assert event.booking.resource == room
        assert event.booking.occurrences.get().start == start

    def test_a_room_already_booked_is_an_error_on_the_room_and_nothing_is_written(
        self, client, world
    ):
        room = make_room(world["a"])
        start = local(14, 10)
        booking_create(
            resource=room, booker=UserFactory(), start=start, end=start + dt.timedelta(hours=1)
        )
        client.force_login(world["manager_a"])
        response = client.post(self.url(world), form_data(start, location="room", room=room.pk))
        assert response.status_code == 400
        assert "Salle Causse is already booked" in errors_of(response, "room")
        assert "Salle Causse is already booked" in text(response)
        assert not Event.objects.exists()
        assert Booking.objects.count() == 1
        assert not AuditEntry.objects.filter(action="event.create").exists()

    def test_a_room_of_another_place_cannot_be_chosen(self, client, world):
        other = make_room(world["b"])
        client.force_login(world["manager_a"])
        response = client.post(self.url(world), form_data(location="room", room=other.pk))
        assert response.status_code == 400
        assert "valid choice" in errors_of(response, "room")
        assert nothing_written()

    def test_a_weekly_series_makes_one_event_per_date_at_the_same_local_time(self, client, world):
        start = local(3, 18)
        client.force_login(world["manager_a"])
        response = client.post(self.url(world), form_data(start, repeat="weekly", count="20"))
        assert response.status_code == 302
        events = list(Event.objects.order_by("start"))
        assert len(events) == 20
        assert {e.series_id for e in events} == {events[0].series_id} != {None}
        assert {e.start.astimezone(PARIS).time() for e in events} == {dt.time(18)}
        assert events[1].start.astimezone(PARIS).date() - start.date() == dt.timedelta(days=7)
        assert response["Location"] == reverse("agenda:participants", kwargs={"pk": events[0].pk})

    def test_a_monthly_series_keeps_the_weekday(self, client, world):
        start = local(3, 18)
        client.force_login(world["manager_a"])
        data = form_data(start, repeat="monthly_weekday", count="3")
        assert client.post(self.url(world), data).status_code == 302
        days = [e.start.astimezone(PARIS).date() for e in Event.objects.order_by("start")]
        assert len(days) == 3
        assert {day.weekday() for day in days} == {start.weekday()}
        assert EventSeries.objects.get().rrule.startswith("FREQ=MONTHLY;BYDAY=")

    def test_an_expert_rule_is_used_as_given(self, client, world):
        client.force_login(world["manager_a"])
        data = form_data(local(3, 18), rrule="RRULE:FREQ=DAILY;COUNT=3")
        assert client.post(self.url(world), data).status_code == 302
        assert Event.objects.count() == 3
        assert EventSeries.objects.get().rrule == "FREQ=DAILY;COUNT=3"

    def _dst_gap(self) -> dt.datetime:
        """02:30 on the next last Sunday of March: a time that does not exist in Paris."""
        today = timezone.now().astimezone(PARIS).date()
        year = today.year if today < dt.date(today.year, 3, 25) else today.year + 1
        day = dt.date(year, 3, 31)
        day -= dt.timedelta(days=(day.weekday() - 6) % 7)
        return dt.datetime.combine(day, dt.time(2, 30))

    @pytest.mark.parametrize(
        ("extra", "field", "message"),
        [
            ({"end": "START-1h"}, "end", "The end must come after the start."),
            ({"capacity": "-1"}, "capacity", "greater than or equal to 0"),
            ({"title": ""}, "title", "required"),
            ({"category": "rave"}, "category", "valid choice"),
            ({"start": "demain"}, "start", "Enter a valid date/time."),
            ({"start": "2099-01-01T10:00", "end": "2099-01-01T11:00"}, "start", "ten years"),
            ({"location": "address"}, "address", "Give the address"),
            ({"location": "online"}, "online_url", "Give the link"),
            ({"location": "room"}, "room", "Choose a room of this place."),
            ({"is_free": None}, "price_info", "Say what it costs"),
            ({"repeat": "weekly"}, "count", "how many dates"),
            ({"repeat": "weekly", "count": "101"}, "count", "less than or equal to 100"),
            ({"count": "4"}, "repeat", "Choose how the event repeats."),
            (
                {"repeat": "weekly", "count": "3", "rrule": "FREQ=DAILY;COUNT=3"},
                "rrule",
                "not both",
            ),
            ({"rrule": "FREQ=DAILY;COUNT=500"}, "rrule", "A series has at most 100 dates."),
            ({"rrule": "FREQ=DAILY"}, "rrule", "A series has at most 100 dates."),
            ({"rrule": "EVERY TUESDAY"}, "rrule", "cannot be read"),
            ({"status": "cancelled"}, "status", "valid choice"),
        ],
    )
    def test_bad_input_is_shown_on_its_field_and_nothing_is_written(
        self, client, world, extra, field, message
    ):
        start = local(14, 18)
        if extra.get("end") == "START-1h":
            extra = {"end": field_value(start - dt.timedelta(hours=1))}
        data = form_data(start)
        data.update(extra)
        data = {key: value for key, value in data.items() if value is not None}
        client.force_login(world["manager_a"])
        response = client.post(self.url(world), data)
        assert response.status_code == 400
        assert message in errors_of(response, field)
        assert message in text(response)
        assert 'aria-invalid="true"' in text(response)
        assert nothing_written()

    def test_a_time_skipped_by_the_clocks_is_refused_with_a_clear_message(self, client, world):
        gap = self._dst_gap()
        client.force_login(world["manager_a"])
        data = form_data()
        data.update(start=f"{gap:%Y-%m-%dT%H:%M}", end=f"{gap:%Y-%m-%d}T05:00")
        response = client.post(self.url(world), data)
        assert response.status_code == 400
        message = errors_of(response, "start")
        assert "02:30 does not exist" in message and "Europe/Paris" in message
        assert "clocks go forward" in text(response)
        assert nothing_written()

    def test_a_network_event_uses_the_site_time_zone_and_offers_no_room(self, client, world):
        client.force_login(world["coordinator"])
        url = reverse("agenda:create_network", kwargs={"slug": world["network"].slug})
        form = client.get(url).context["form"]
        assert "room" not in form.fields
        assert [code for code, _label in form.fields["location"].choices] == [
            "address",
            "online",
        ]
        start = local(14, 18, zone=zoneinfo.ZoneInfo(settings.TIME_ZONE))
        data = form_data(start, location="online", online_url="https://visio.example.org/r")
        response = client.post(url, data)
        assert response.status_code == 302
        event = Event.objects.get()
        assert event.network == world["network"] and event.place is None
        assert event.start == start and event.online_url == "https://visio.example.org/r"
        refused = client.post(url, form_data(start, location="place"))
        assert refused.status_code == 400
        assert "valid choice" in errors_of(refused, "location")


# Editing events -------------------------------------------------------------------------------


class TestEdit:
    def url(self, event):
        return reverse("agenda:edit", kwargs={"pk": event.pk})

    def test_the_form_shows_the_event_in_local_time(self, client, world):
        event = make_event(world["a"], start=local(10, 18, 30), capacity=7)
        client.force_login(world["manager_a"])
        response = client.get(self.url(event))
        form = response.context["form"]
        assert form["capacity"].value() == 7
        assert "repeat" not in form.fields
        assert f'value="{field_value(local(10, 18, 30))}"' in text(response)

    def test_saving_changes_the_event_and_audits(self, client, world):
        event = make_event(world["a"])
        client.force_login(world["manager_a"])
        start = event.start.astimezone(PARIS)
        data = form_data(start, title="Atelier soudure avancé", capacity="3")
        response = client.post(self.url(event), data)
        assert response.status_code == 302
        event.refresh_from_db()
        assert event.title == "Atelier soudure avancé"
        entry = AuditEntry.objects.get(action="event.update")
        assert "title" in entry.details["fields"] and entry.actor == world["manager_a"]

    def test_sending_the_form_unchanged_changes_nothing(self, client, world):
        client.force_login(world["manager_a"])
        create = reverse("agenda:create_place", kwargs={"slug": world["a"].slug})
        data = form_data(description="<p>Venez réparer vos objets.</p>")
        client.post(create, data)
        event = Event.objects.get()
        response = client.post(self.url(event), data, follow=True)
        assert "Nothing was changed." in text(response)
        assert not AuditEntry.objects.filter(action="event.update").exists()

    def test_a_date_of_a_series_is_edited_alone(self, client, world):
        client.force_login(world["manager_a"])
        create = reverse("agenda:create_place", kwargs={"slug": world["a"].slug})
        client.post(create, form_data(local(3, 18), repeat="weekly", count="3"))
        second = Event.objects.order_by("start")[1]
        response = client.get(self.url(second))
        assert "your changes apply to this date only" in text(response)
        data = form_data(second.start.astimezone(PARIS), title="Séance spéciale")
        assert client.post(self.url(second), data).status_code == 302
        titles = list(Event.objects.order_by("start").values_list("title", flat=True))
        assert titles == ["Repair café", "Séance spéciale", "Repair café"]

    def test_capacity_cannot_go_under_the_confirmed(self, client, world):
        event = full_event(world["a"], confirmed=3, waiting=1)
        client.force_login(world["manager_a"])
        data = form_data(event.start.astimezone(PARIS), title="Nouveau titre", capacity="2")
        response = client.post(self.url(event), data)
        assert response.status_code == 400
        assert "3 people are already confirmed" in errors_of(response, "capacity")
        event.refresh_from_db()
        assert (event.title, event.capacity) == ("Atelier soudure", 3)
        assert not AuditEntry.objects.filter(action="event.update").exists()

    def test_raising_capacity_moves_people_from_the_waiting_list(
        self, client, world, mailoutbox, django_capture_on_commit_callbacks
    ):
        event = full_event(world["a"], confirmed=3, waiting=3)
        mailoutbox.clear()
        client.force_login(world["manager_a"])
        data = form_data(event.start.astimezone(PARIS), title=event.title, capacity="5")
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(self.url(event), data, follow=True)
        assert "2 people moved from the waiting list." in text(response)
        event.refresh_from_db()
        assert (event.confirmed_count, event.waitlisted_count) == (5, 1)
        assert sorted(m.to[0] for m in mailoutbox) == [
            "person-3@example.org",
            "person-4@example.org",
        ]

    def test_moving_the_event_tells_the_participants(
        self, client, world, mailoutbox, django_capture_on_commit_callbacks
    ):
        event = full_event(world["a"], confirmed=2, waiting=0)
        mailoutbox.clear()
        client.force_login(world["manager_a"])
        data = form_data(local(12, 9), title=event.title, capacity="2")
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(self.url(event), data, follow=True)
        assert "2 people were told of the new time by email." in text(response)
        assert len(mailoutbox) == 2
        event.refresh_from_db()
        assert event.start == local(12, 9)

    def test_moving_an_event_in_a_room_books_the_room_again(self, client, world):
        room = make_room(world["a"])
        client.force_login(world["manager_a"])
        create = reverse("agenda:create_place", kwargs={"slug": world["a"].slug})
        client.post(create, form_data(local(14, 10), location="room", room=room.pk))
        event = Event.objects.get()
        other = booking_create(
            resource=room,
            booker=UserFactory(),
            start=local(15, 10),
            end=local(15, 11),
        )
        data = form_data(local(15, 10), location="room", room=room.pk)
        response = client.post(self.url(event), data)
        assert response.status_code == 400
        assert "already booked" in errors_of(response, "room")
        event.refresh_from_db()
        assert event.start == local(14, 10)
        assert event.booking.occurrences.get().status == Occurrence.Status.CONFIRMED
        assert other.occurrences.get().status == Occurrence.Status.CONFIRMED
        data = form_data(local(16, 10), location="room", room=room.pk)
        assert client.post(self.url(event), data).status_code == 302
        event.refresh_from_db()
        assert event.booking.occurrences.get().start == local(16, 10)

    def test_the_image_can_be_cleared(self, client, world):
        client.force_login(world["manager_a"])
        create = reverse("agenda:create_place", kwargs={"slug": world["a"].slug})
        image = SimpleUploadedFile("a.png", png(), content_type="image/png")
        client.post(create, form_data(image=image))
        event = Event.objects.get()
        assert event.image
        data = form_data(event.start.astimezone(PARIS), **{"image-clear": "on"})
        assert client.post(self.url(event), data).status_code == 302
        event.refresh_from_db()
        assert not event.image

    def test_a_cancelled_event_cannot_be_changed(self, client, world):
        event = make_event(world["a"])
        services.event_cancel(event=event, author=world["manager_a"])
        client.force_login(world["manager_a"])
        assert "cannot be changed" in text(client.get(self.url(event)))
        response = client.post(self.url(event), form_data(title="Ressuscité"))
        assert response.status_code == 409
        event.refresh_from_db()
        assert (event.title, event.status) == ("Atelier soudure", "cancelled")


# Cancelling events ----------------------------------------------------------------------------


class TestCancel:
    def test_the_page_asks_for_confirmation(self, client, world):
        event = full_event(world["a"], confirmed=2, waiting=1)
        client.force_login(world["manager_a"])
        response = client.get(reverse("agenda:cancel", kwargs={"pk": event.pk}))
        page = text(response)
        assert "3 people registered or waiting will be told by email" in page
        assert "<textarea" in page
        event.refresh_from_db()
        assert event.status == "published"

    def test_cancelling_tells_everyone_and_frees_the_room(
        self, client, world, mailoutbox, django_capture_on_commit_callbacks
    ):
        room = make_room(world["a"])
        client.force_login(world["manager_a"])
        create = reverse("agenda:create_place", kwargs={"slug": world["a"].slug})
        client.post(create, form_data(location="room", room=room.pk, capacity="1"))
        event = Event.objects.get()
        register(event, "Hélène", "helene@example.org")
        register(event, "Paul", "paul@example.org")
        mailoutbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("agenda:cancel", kwargs={"pk": event.pk}), {"reason": "Panne de courant"}
            )
        assert response.status_code == 302
        assert response["Location"] == reverse(
            "agenda:manage_place", kwargs={"slug": world["a"].slug}
        )
        event.refresh_from_db()
        assert event.status == "cancelled" and event.cancellation_reason == "Panne de courant"
        assert sorted(m.to[0] for m in mailoutbox) == ["helene@example.org", "paul@example.org"]
        assert all("Panne de courant" in m.body for m in mailoutbox)
        assert Occurrence.objects.get().status != Occurrence.Status.CONFIRMED
        assert AuditEntry.objects.filter(action="event.cancel").count() == 1
        followed = client.get(response["Location"])
        assert "2 people were told by email" in text(followed)

    def test_cancelling_twice_sends_nothing_more(
        self, client, world, mailoutbox, django_capture_on_commit_callbacks
    ):
        event = full_event(world["a"], confirmed=1, waiting=0)
        services.event_cancel(event=event, author=world["manager_a"])
        mailoutbox.clear()
        client.force_login(world["manager_a"])
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("agenda:cancel", kwargs={"pk": event.pk}), {})
        assert response.status_code == 302
        assert not mailoutbox
        assert AuditEntry.objects.filter(action="event.cancel").count() == 1


# Participants ---------------------------------------------------------------------------------


class TestParticipants:
    def url(self, event):
        return reverse("agenda:participants", kwargs={"pk": event.pk})

    def test_confirmed_and_waiting_lists_with_positions(self, client, world):
        event = full_event(world["a"], confirmed=2, waiting=3)
        client.force_login(world["manager_a"])
        response = client.get(self.url(event))
        confirmed, waiting = response.context["confirmed"], response.context["waiting"]
        assert [r.name for r in confirmed] == ["Person 0", "Person 1"]
        assert [(r.name, r.position) for r in waiting] == [
            ("Person 2", 1),
            ("Person 3", 2),
            ("Person 4", 3),
        ]
        page = text(response)
        assert "person-4@example.org" in page
        assert "Waiting list (3)" in page
        assert "confirmed of 2 places" in page
        assert reverse("agenda:participants_csv", kwargs={"pk": event.pk}) in page
        assert reverse("agenda:message", kwargs={"pk": event.pk}) in page
        assert reverse("agenda:checkin", kwargs={"pk": event.pk}) in page

    def test_raising_the_capacity_promotes(
        self, client, world, mailoutbox, django_capture_on_commit_callbacks
    ):
        event = full_event(world["a"], confirmed=2, waiting=2)
        mailoutbox.clear()
        client.force_login(world["manager_a"])
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                self.url(event), {"action": "capacity", "capacity": "3"}, follow=True
            )
        page = text(response)
        assert "The capacity is now 3 places." in page
        assert "1 person moved from the waiting list." in page
        event.refresh_from_db()
        assert (event.capacity, event.confirmed_count, event.waitlisted_count) == (3, 3, 1)
        assert [m.to for m in mailoutbox] == [["person-2@example.org"]]

    def test_lowering_the_capacity_under_the_confirmed_is_refused(self, client, world):
        event = full_event(world["a"], confirmed=3, waiting=0)
        client.force_login(world["manager_a"])
        response = client.post(self.url(event), {"action": "capacity", "capacity": "1"})
        assert response.status_code == 400
        assert "3 people are already confirmed" in text(response)
        event.refresh_from_db()
        assert event.capacity == 3

    def test_a_negative_capacity_is_refused(self, client, world):
        event = make_event(world["a"])
        client.force_login(world["manager_a"])
        response = client.post(self.url(event), {"action": "capacity", "capacity": "-1"})
        assert response.status_code == 400
        assert "greater than or equal to 0" in text(response)
        event.refresh_from_db()
        assert event.capacity == 3

    def test_closing_and_opening_registrations(self, client, world):
        event = make_event(world["a"])
        client.force_login(world["manager_a"])
        response = client.post(
            self.url(event), {"action": "registrations", "registrations_open": "0"}, follow=True
        )
        assert "Registrations are closed." in text(response)
        event.refresh_from_db()
        assert not event.registrations_open
        with pytest.raises(services.RegistrationRefused):
            register(event, "Zoé", "zoe@example.org")
        client.post(self.url(event), {"action": "registrations", "registrations_open": "1"})
        event.refresh_from_db()
        assert event.registrations_open

    def test_cancelling_a_registration_gives_the_place_to_the_first_waiting(
        self, client, world, mailoutbox, django_capture_on_commit_callbacks
    ):
        event = full_event(world["a"], confirmed=2, waiting=2)
        leaving = event.registrations.get(email="person-0@example.org")
        mailoutbox.clear()
        client.force_login(world["staff_a"])
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                self.url(event),
                {"action": "cancel_registration", "registration": leaving.pk},
                follow=True,
            )
        page = text(response)
        assert "The registration of Person 0 is cancelled and they were told by email." in page
        assert "Person 2 moved from the waiting list" in page
        leaving.refresh_from_db()
        assert leaving.status == "cancelled"
        assert event.registrations.get(email="person-2@example.org").status == "confirmed"
        assert sorted(m.to[0] for m in mailoutbox) == [
            "person-0@example.org",
            "person-2@example.org",
        ]
        (told,) = [m for m in mailoutbox if m.to == ["person-0@example.org"]]
        assert "organisers have cancelled your registration" in told.body
        assert AuditEntry.objects.get(action="registration.cancel").actor == world["staff_a"]

    def test_a_registration_of_another_event_is_not_found(self, client, world):
        event = make_event(world["a"])
        other = full_event(world["a"], confirmed=1, waiting=0, title="Autre")
        registration = other.registrations.get()
        client.force_login(world["manager_a"])
        response = client.post(
            self.url(event), {"action": "cancel_registration", "registration": registration.pk}
        )
        assert response.status_code == 404
        registration.refresh_from_db()
        assert registration.status == "confirmed"

    def test_registering_someone_on_their_behalf(
        self, client, world, mailoutbox, django_capture_on_commit_callbacks
    ):
        event = make_event(world["a"], capacity=1)
        client.force_login(world["manager_a"])
        data = {
            "action": "register",
            "behalf-name": "Marcel Pagnol",
            "behalf-email": "Marcel@Example.org",
            "behalf-language": "fr",
        }
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(self.url(event), data, follow=True)
        assert "Marcel Pagnol is registered and will receive an email." in text(response)
        registration = event.registrations.get()
        assert (registration.email, registration.status, registration.language) == (
            "marcel@example.org",
            "confirmed",
            "fr",
        )
        assert registration.email_confirmed_at is not None
        assert [m.to for m in mailoutbox] == [["marcel@example.org"]]
        # The team took the address from the person: the email asks nothing to confirm.
        assert "confirm" not in mailoutbox[0].body.lower()
        entry = AuditEntry.objects.get(action="registration.on_behalf")
        assert entry.actor == world["manager_a"]
        again = client.post(self.url(event), data)
        assert again.status_code == 400
        assert "already registered" in text(again)
        data.update({"behalf-name": "Fanny", "behalf-email": "fanny@example.org"})
        full = client.post(self.url(event), data, follow=True)
        assert "Fanny is on the waiting list" in text(full)
        assert event.registrations.get(email="fanny@example.org").status == "waitlisted"

    def test_registering_someone_with_a_bad_email_writes_nothing(self, client, world):
        event = make_event(world["a"])
        client.force_login(world["manager_a"])
        response = client.post(
            self.url(event),
            {"action": "register", "behalf-name": "X", "behalf-email": "pas-un-email"},
        )
        assert response.status_code == 400
        assert "Enter a valid email address." in text(response)
        assert not Registration.objects.exists()

    def test_an_unknown_action_is_refused(self, client, world):
        event = make_event(world["a"])
        client.force_login(world["manager_a"])
        response = client.post(self.url(event), {"action": "explode"})
        assert response.status_code == 400
        assert "not known" in text(response)


# CSV export -----------------------------------------------------------------------------------


class TestCsv:
    def test_the_export_lists_everyone_safely_for_spreadsheets(self, client, world):
        event = make_event(world["a"], title="Fête de l'été", capacity=4, start=local(10, 18))
        register(event, "Hélène Müller", "helene@example.org")
        register(event, '=HYPERLINK("http://evil")', "evil@example.org")
        register(event, "+33 6 12", "plus@example.org")
        register(event, "-Moins", "minus@example.org")
        register(event, "@SUM(A1)", "at@example.org")
        register(event, "Tabulation", "tab@example.org")
        # Names are stripped when people register; one written otherwise is exported safely too.
        Registration.objects.filter(email="tab@example.org").update(name="\tTab")
        helene = event.registrations.get(email="helene@example.org")
        services.check_in(registration=helene, actor=world["manager_a"])
        client.force_login(world["manager_a"])
        response = client.get(reverse("agenda:participants_csv", kwargs={"pk": event.pk}))
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        day = local(10, 18).date()
        assert response["Content-Disposition"] == (
            f'attachment; filename="{day:%Y-%m-%d}-fete-de-lete-participants.csv"'
        )
        raw = response.content
        assert raw.startswith("\ufeff".encode())
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        assert rows[0] == [
            "Name",
            "Email",
            "Status",
            "Position on the waiting list",
            "Registered at",
            "Email confirmed",
            "Checked in at",
        ]
        by_email = {row[1]: row for row in rows[1:]}
        assert len(by_email) == 6
        first = by_email["helene@example.org"]
        assert first[0] == "Hélène Müller" and first[2] == "confirmed" and first[3] == ""
        registered = helene.created_at.astimezone(PARIS)
        assert first[4] == f"{registered:%Y-%m-%d %H:%M}"
        assert first[5] == "no"
        helene.refresh_from_db()
        assert first[6] == f"{helene.checked_in_at.astimezone(PARIS):%Y-%m-%d %H:%M}"
        assert by_email["plus@example.org"][6] == ""
        assert by_email["evil@example.org"][0] == '\'=HYPERLINK("http://evil")'
        assert by_email["plus@example.org"][0] == "'+33 6 12"
        assert by_email["minus@example.org"][0] == "'-Moins"
        assert by_email["at@example.org"][0] == "'@SUM(A1)"
        assert by_email["tab@example.org"][0] == "'\tTab"
        waiting = [row for row in rows[1:] if row[2] == "on the waiting list"]
        assert [row[3] for row in waiting] == ["1", "2"]

    def test_the_export_is_for_managers_only(self, client, world):
        event = full_event(world["a"], confirmed=1, waiting=0)
        url = reverse("agenda:participants_csv", kwargs={"pk": event.pk})
        client.force_login(world["member_a"])
        response = client.get(url)
        assert response.status_code == 404
        assert b"person-0@example.org" not in response.content


# Messages -------------------------------------------------------------------------------------


class TestMessage:
    def url(self, event):
        return reverse("agenda:message", kwargs={"pk": event.pk})

    def test_the_message_goes_to_the_confirmed(
        self, client, world, mailoutbox, django_capture_on_commit_callbacks
    ):
        event = full_event(world["a"], confirmed=2, waiting=1)
        mailoutbox.clear()
        client.force_login(world["manager_a"])
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                self.url(event),
                {"subject": "Salle changée", "body": "Rendez-vous salle 2."},
                follow=True,
            )
        assert "Your message was sent to 2 people." in text(response)
        assert sorted(m.to[0] for m in mailoutbox) == [
            "person-0@example.org",
            "person-1@example.org",
        ]
        assert all("Rendez-vous salle 2." in m.body for m in mailoutbox)
        assert all("Salle changée" in m.subject for m in mailoutbox)
        assert AuditEntry.objects.get(action="event.message").details["recipients"] == 2

    def test_the_waiting_list_when_asked(
        self, client, world, mailoutbox, django_capture_on_commit_callbacks
    ):
        event = full_event(world["a"], confirmed=2, waiting=1)
        mailoutbox.clear()
        client.force_login(world["manager_a"])
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                self.url(event),
                {"subject": "Info", "body": "Bonjour", "include_waitlist": "on"},
                follow=True,
            )
        assert "Your message was sent to 3 people." in text(response)
        assert len(mailoutbox) == 3

    def test_an_empty_message_sends_nothing(
        self, client, world, mailoutbox, django_capture_on_commit_callbacks
    ):
        event = full_event(world["a"], confirmed=1, waiting=0)
        mailoutbox.clear()
        client.force_login(world["manager_a"])
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(self.url(event), {"subject": "Info", "body": "  "})
        assert response.status_code == 400
        assert "This field is required." in text(response)
        assert not mailoutbox
        assert not AuditEntry.objects.filter(action="event.message").exists()


# Check-in at the door -------------------------------------------------------------------------


class TestCheckin:
    def url(self, event):
        return reverse("agenda:checkin", kwargs={"pk": event.pk})

    @pytest.fixture
    def event(self, world):
        event = make_event(world["a"], capacity=3)
        register(event, "Hélène Dupré", "helene@example.org")
        register(event, "Paul Martin", "paul.martin@example.org")
        register(event, "Zoé Durand", "zoe@example.org")
        register(event, "Waiting Person", "waiting@example.org")
        return event

    def test_lists_the_confirmed_with_a_counter(self, client, world, event):
        client.force_login(world["staff_a"])
        response = client.get(self.url(event))
        assert [r.name for r in response.context["shown"]] == [
            "Hélène Dupré",
            "Paul Martin",
            "Zoé Durand",
        ]
        page = text(response)
        assert "0 of 3 arrived" in page
        assert "Waiting Person" not in page
        assert page.count('type="submit" class="button agenda-checkin-button"') == 3

    @pytest.mark.parametrize(
        ("q", "names"),
        [
            ("helene", ["Hélène Dupré"]),
            ("DUPRE", ["Hélène Dupré"]),
            ("zoé", ["Zoé Durand"]),
            ("paul.martin@", ["Paul Martin"]),
            ("du", ["Hélène Dupré", "Zoé Durand"]),
            ("waiting", []),
        ],
    )
    def test_search_ignores_accents_and_case(self, client, world, event, q, names):
        client.force_login(world["manager_a"])
        response = client.get(self.url(event), {"q": q})
        assert [r.name for r in response.context["shown"]] == names
        assert response.context["total"] == 3

    def test_arrived_then_undo_keeps_the_search(self, client, world, event):
        helene = event.registrations.get(email="helene@example.org")
        client.force_login(world["manager_a"])
        response = client.post(self.url(event), {"registration": helene.pk, "q": "hélène"})
        assert response.status_code == 302
        assert response["Location"] == f"{self.url(event)}?q=h%C3%A9l%C3%A8ne#r-{helene.pk}"
        helene.refresh_from_db()
        assert helene.checked_in_at is not None and helene.checked_in_by == world["manager_a"]
        page = client.get(response["Location"])
        assert "1 of 3 arrived" in text(page)
        assert "Hélène Dupré: arrived." in text(page)
        assert "Undo" in text(page)
        response = client.post(self.url(event), {"registration": helene.pk, "undo": "1", "q": ""})
        assert response["Location"] == f"{self.url(event)}#r-{helene.pk}"
        helene.refresh_from_db()
        assert helene.checked_in_at is None and helene.checked_in_by is None
        assert "0 of 3 arrived" in text(client.get(self.url(event)))

    def test_someone_on_the_waiting_list_cannot_be_checked_in(self, client, world, event):
        waiting = event.registrations.get(email="waiting@example.org")
        client.force_login(world["manager_a"])
        response = client.post(self.url(event), {"registration": waiting.pk})
        assert response.status_code == 409
        assert "Only confirmed participants can be checked in." in text(response)
        waiting.refresh_from_db()
        assert waiting.checked_in_at is None

    def test_a_registration_of_another_event_is_not_found(self, client, world, event):
        other = make_event(world["a"], title="Autre")
        stranger = register(other, "Autre", "autre@example.org")
        client.force_login(world["manager_a"])
        assert client.post(self.url(event), {"registration": stranger.pk}).status_code == 404
        assert client.post(self.url(event), {"registration": "abc"}).status_code == 404
        stranger.refresh_from_db()
        assert stranger.checked_in_at is None
