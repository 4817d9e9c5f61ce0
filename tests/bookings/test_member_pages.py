"""The member pages of bookings: a resource's page, the booking form (repetition, time zones,
conflicts and the waiting list, staff on behalf), "My bookings" and the personal feed address."""

import datetime as dt
import html
import re
import zoneinfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from maillage.accounts.models import PlaceRole
from maillage.bookings import services
from maillage.bookings.models import (
    Booking,
    CalendarFeed,
    Occurrence,
    Resource,
    ResourceHours,
    ResourceTerm,
    TrainingValidation,
    WaitlistEntry,
)
from maillage.core.models import AuditEntry
from tests.factories import OpeningHoursFactory, PlaceFactory, UserFactory, make_manager

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
HOUR = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def _messages_in_english():
    """The assertions read the English messages; the site's default language is French."""
    with translation.override("en"):
        yield


@pytest.fixture
def client():
    return Client(headers={"accept-language": "en"})


def person(**kwargs):
    return UserFactory(language="en", **kwargs)


def signed_in(user) -> Client:
    browser = Client(headers={"accept-language": "en"})
    browser.force_login(user)
    return browser


def next_weekday(weekday: int, hour: int, minute: int = 0, weeks: int = 1) -> dt.datetime:
    today = timezone.now().astimezone(PARIS).date()
    days = (weekday - today.weekday()) % 7 + 7 * weeks
    return dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour, minute), PARIS)


def make_resource(place=None, **fields) -> Resource:
    return Resource.objects.create(
        place=place or PlaceFactory(),
        name=fields.pop("name", "Salle Causse"),
        kind=fields.pop("kind", "meeting_room"),
        **fields,
    )


def book(resource, start, hours=1.0, **kwargs):
    return services.booking_create(
        resource=resource,
        booker=kwargs.pop("booker", None) or person(),
        start=start,
        end=start + dt.timedelta(hours=hours),
        **kwargs,
    )


def slot_data(start: dt.datetime, end: dt.datetime, **extra) -> dict:
    local_start, local_end = start.astimezone(PARIS), end.astimezone(PARIS)
    return {
        "date": local_start.date().isoformat(),
        "start_time": f"{local_start:%H:%M}",
        "end_time": f"{local_end:%H:%M}",
        **extra,
    }


def text(response) -> str:
    return html.unescape(response.content.decode())


def book_url(resource) -> str:
    return reverse("bookings:book", args=[resource.pk])


# --- The resource page ------------------------------------------------------------------------


class TestResourcePage:
    def test_shows_the_resource_its_rules_services_and_character(self, client):
        place = PlaceFactory(name="La Fabrique")
        room = make_resource(
            place,
            name="Salle des Causses",
            capacity=8,
            description="Une grande table en châtaignier.",
            min_minutes=60,
            max_minutes=240,
            horizon_days=60,
            buffer_minutes=15,
            cancel_deadline_hours=24,
            requires_approval=True,
            price_info="20 € la demi-journée",
        )
        ResourceTerm.objects.create(resource=room, kind="service", code="visio_room")
        ResourceTerm.objects.create(resource=room, kind="character", code="view")
        response = client.get(reverse("bookings:resource", args=[room.pk]))
        page = text(response)
        assert response.status_code == 200
        for expected in (
            "Salle des Causses",
            "Meeting room",
            reverse("places:detail", args=[place.slug]),
            "8 people",
            "Une grande table en châtaignier.",
            "from 1 h to 4 h",
            "up to 60 days ahead",
            "15 min kept free after each booking",
            "free until 24 hours before the start",
            "by the team of the place",
            "20 € la demi-journée",
            "places/icons/visio_room.svg",
            "Video-conference room",
            "Beautiful view",
            reverse("bookings:resource_feed", args=[room.pk]),
            "Log in to book",
        ):
            assert expected in page, expected

    def test_bookable_hours_are_the_resources_own_or_the_places(self, client):
        place = PlaceFactory()
        OpeningHoursFactory(place=place, weekday=0, opens=dt.time(9), closes=dt.time(17))
        room = make_resource(place)
        assert "09:00–17:00" in text(client.get(reverse("bookings:resource", args=[room.pk])))
        ResourceHours.objects.create(
            resource=room, weekday=0, opens=dt.time(14), closes=dt.time(16, 30)
        )
        page = text(client.get(reverse("bookings:resource", args=[room.pk])))
        assert "14:00–16:30" in page
        assert "09:00–17:00" not in page

    @pytest.mark.parametrize("hidden", ["inactive", "unpublished"])
    def test_hidden_resources_are_404_except_for_the_places_staff(self, client, hidden):
        place = PlaceFactory(is_published=hidden != "unpublished")
        room = make_resource(place, is_active=hidden != "inactive")
        member, staff = person(), person()
        PlaceRole.objects.create(user=member, place=place, role="resident")
        PlaceRole.objects.create(user=staff, place=place, role="staff")
        url = reverse("bookings:resource", args=[room.pk])
        assert client.get(url).status_code == 404
        assert signed_in(member).get(url).status_code == 404
        assert signed_in(member).get(book_url(room)).status_code == 404
        assert signed_in(staff).get(url).status_code == 200

    def test_the_week_shows_busy_and_free_times_with_links_to_book(self, client):
        place = PlaceFactory()
        for weekday in range(7):
            OpeningHoursFactory(place=place, weekday=weekday, opens=dt.time(9), closes=dt.time(18))
        room = make_resource(place)
        tomorrow = timezone.now().astimezone(PARIS).date() + dt.timedelta(days=1)
        start = dt.datetime.combine(tomorrow, dt.time(10), PARIS)
        book(room, start, hours=2, title="Conseil d'administration")
        page = text(client.get(reverse("bookings:resource", args=[room.pk])))
        assert "10:00–12:00" in page
        assert "Conseil d'administration" in page
        free_link = (
            book_url(room)
            + "?"
            + "&".join(
                [
                    "start=" + dt.datetime.combine(tomorrow, dt.time(12), PARIS).isoformat(),
                    "end=" + dt.datetime.combine(tomorrow, dt.time(13), PARIS).isoformat(),
                ]
            )
            .replace(":", "%3A")
            .replace("+", "%2B")
        )
        assert free_link in page

    def test_a_private_title_is_busy_for_others_and_shown_to_its_booker_and_staff(self, client):
        place = PlaceFactory()
        room = make_resource(place)
        booker, stranger, staff = person(full_name="Alice Martin"), person(), person()
        PlaceRole.objects.create(user=staff, place=place, role="staff")
        tomorrow = timezone.now().astimezone(PARIS).date() + dt.timedelta(days=1)
        start = dt.datetime.combine(tomorrow, dt.time(15), PARIS)
        book(room, start, title="Prototype secret", private=True, booker=booker)
        url = reverse("bookings:resource", args=[room.pk])
        for viewer in (client, signed_in(stranger)):
            page = text(viewer.get(url))
            assert "Prototype secret" not in page
            assert "Busy" in page
            assert "Alice Martin" not in page
        assert "Prototype secret" in text(signed_in(booker).get(url))
        staff_page = text(signed_in(staff).get(url))
        assert "Prototype secret" in staff_page
        assert "Alice Martin" in staff_page

    def test_members_only_and_training_say_why_one_cannot_book(self):
        place = PlaceFactory(name="Fablab du Gévaudan")
        members_room = make_resource(place, audience="members")
        laser = make_resource(place, name="Laser", kind="machine", training="laser_cutter")
        stranger = signed_in(person())
        page = text(stranger.get(reverse("bookings:resource", args=[members_room.pk])))
        assert "Only members of Fablab du Gévaudan may book" in page
        assert 'name="start_time"' not in text(stranger.get(book_url(members_room)))
        page = text(stranger.get(reverse("bookings:resource", args=[laser.pk])))
        assert "needs a validated training (Laser cutter)" in page
        assert "You do not hold this training yet" in page
        trained = person()
        TrainingValidation.objects.create(user=trained, machine_type="laser_cutter", place=place)
        page = text(signed_in(trained).get(reverse("bookings:resource", args=[laser.pk])))
        assert "You hold this training." in page
        assert book_url(laser) in page


# --- Booking through the page -----------------------------------------------------------------


class TestBooking:
    def test_the_form_needs_an_account(self, client):
        room = make_resource()
        response = client.get(book_url(room))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))

    def test_a_link_prefills_date_and_times_in_the_places_time_zone(self):
        room = make_resource()
        start = next_weekday(3, 14).astimezone(dt.UTC)
        response = signed_in(person()).get(
            book_url(room), {"start": start.isoformat(), "end": (start + 3 * HOUR).isoformat()}
        )
        form = response.context["form"]
        assert form["date"].value() == start.astimezone(PARIS).date()
        assert form["start_time"].value() == dt.time(14)
        assert form["end_time"].value() == dt.time(17)

    def test_booking_through_the_page_creates_a_confirmed_booking(self):
        room = make_resource()
        member = person()
        start = next_weekday(3, 14)
        response = signed_in(member).post(
            book_url(room), slot_data(start, start + 2 * HOUR, title="Atelier couture"), follow=True
        )
        assert response.redirect_chain[-1][0] == reverse("bookings:mine")
        assert "Your booking of Salle Causse is confirmed." in text(response)
        booking = Booking.objects.get()
        assert (booking.booker, booking.title, booking.private) == (
            member,
            "Atelier couture",
            False,
        )
        occurrence = booking.occurrences.get()
        assert (occurrence.start, occurrence.end, occurrence.status) == (
            start,
            start + 2 * HOUR,
            "confirmed",
        )

    def test_a_resource_needing_approval_says_the_request_waits(self):
        room = make_resource(requires_approval=True)
        start = next_weekday(2, 9)
        response = signed_in(person()).post(
            book_url(room), slot_data(start, start + HOUR, private="on"), follow=True
        )
        assert "waits for the approval of the place's team" in text(response)
        booking = Booking.objects.get()
        assert booking.private
        assert booking.occurrences.get().status == "pending"

    def test_times_are_read_in_the_places_time_zone(self):
        room = make_resource(PlaceFactory(time_zone="America/Montreal"))
        start = next_weekday(3, 9).replace(tzinfo=zoneinfo.ZoneInfo("America/Montreal"))
        signed_in(person()).post(
            book_url(room),
            {"date": start.date().isoformat(), "start_time": "09:00", "end_time": "10:00"},
        )
        assert Occurrence.objects.get().start == start

    def test_a_time_skipped_by_the_clocks_going_forward_is_a_form_error(self):
        room = make_resource(horizon_days=800)
        today = timezone.now().astimezone(PARIS).date()
        # The last Sunday of March after today: 02:00–03:00 does not exist in Paris.
        march_31 = dt.date(today.year + 1, 3, 31)
        change = march_31 - dt.timedelta(days=(march_31.weekday() + 1) % 7)
        response = signed_in(person()).post(
            book_url(room), {"date": change.isoformat(), "start_time": "02:30", "end_time": "04:00"}
        )
        assert response.status_code == 400
        errors = response.context["form"].errors["start_time"]
        assert "02:30 does not exist" in errors[0]
        assert "02:30 does not exist" in text(response)
        assert not Booking.objects.exists()

    @pytest.mark.parametrize(
        ("change", "field", "message"),
        [
            ({"end_time": "13:00"}, "end_time", "The end must come after the start."),
            ({"date": "2020-01-02"}, "date", "This date is in the past."),
            ({"repeat": "weekly"}, "until", "Say until when"),
            ({"repeat": "weekly", "until": "2099-01-01", "count": "3"}, "count", "not both"),
            ({"count": "3"}, "repeat", "Choose how the booking repeats."),
            ({"rrule": "FREQ=SOMETIMES"}, "rrule", "This repeat rule is not valid"),
            ({"rrule": "FREQ=DAILY;COUNT=2", "repeat": "weekly"}, "rrule", "not both"),
        ],
    )
    def test_bad_input_is_shown_next_to_its_field_and_writes_nothing(self, change, field, message):
        room = make_resource()
        start = next_weekday(3, 14)
        response = signed_in(person()).post(
            book_url(room), {**slot_data(start, start + HOUR), **change}
        )
        assert response.status_code == 400
        assert message in " ".join(response.context["form"].errors[field])
        assert not Booking.objects.exists()

    def test_a_rule_of_the_resource_is_shown_as_a_form_error(self):
        room = make_resource(min_minutes=60)
        start = next_weekday(3, 14)
        response = signed_in(person()).post(
            book_url(room), slot_data(start, start + dt.timedelta(minutes=30))
        )
        assert response.status_code == 400
        assert "between 60 and 600 minutes" in " ".join(response.context["form"].non_field_errors())

    def test_weekly_repetition_keeps_the_local_time_across_the_dst_change(self):
        room = make_resource(horizon_days=800)
        today = timezone.now().astimezone(PARIS).date()
        march_31 = dt.date(today.year + 1, 3, 31)
        change = march_31 - dt.timedelta(days=(march_31.weekday() + 1) % 7)
        first = change - dt.timedelta(days=3)  # the Thursday before the change
        response = signed_in(person()).post(
            book_url(room),
            {
                "date": first.isoformat(),
                "start_time": "14:00",
                "end_time": "16:00",
                "repeat": "weekly",
                "count": "3",
            },
        )
        assert response.status_code == 302
        booking = Booking.objects.get()
        assert booking.rrule == "FREQ=WEEKLY;COUNT=3"
        starts = [o.start.astimezone(PARIS) for o in booking.occurrences.order_by("start")]
        assert [s.date() for s in starts] == [first + dt.timedelta(weeks=n) for n in range(3)]
        assert {s.time() for s in starts} == {dt.time(14)}
        assert [s.utcoffset() for s in starts] == [HOUR, 2 * HOUR, 2 * HOUR]

    @pytest.mark.parametrize(
        ("repeat", "weeks_apart", "expected_rule"),
        [
            ("fortnightly", [0, 2, 4], "FREQ=WEEKLY;INTERVAL=2;UNTIL={until}T235959"),
            ("weekly", [0, 1, 2, 3, 4], "FREQ=WEEKLY;UNTIL={until}T235959"),
        ],
    )
    def test_repetition_until_a_date_includes_that_date(self, repeat, weeks_apart, expected_rule):
        room = make_resource()
        start = next_weekday(1, 10)
        until = start.date() + dt.timedelta(weeks=4)
        signed_in(person()).post(
            book_url(room),
            {**slot_data(start, start + HOUR), "repeat": repeat, "until": until.isoformat()},
        )
        booking = Booking.objects.get()
        assert booking.rrule == expected_rule.format(until=f"{until:%Y%m%d}")
        assert [o.start.date() for o in booking.occurrences.order_by("start")] == [
            start.date() + dt.timedelta(weeks=n) for n in weeks_apart
        ]

    def test_monthly_on_the_same_weekday(self):
        room = make_resource(horizon_days=200)
        start = next_weekday(1, 10)  # a Tuesday
        nth = (start.day - 1) // 7 + 1
        signed_in(person()).post(
            book_url(room),
            {**slot_data(start, start + HOUR), "repeat": "monthly_weekday", "count": "3"},
        )
        booking = Booking.objects.get()
        assert booking.rrule == f"FREQ=MONTHLY;BYDAY={-1 if nth == 5 else nth}TU;COUNT=3"
        dates = [o.start.astimezone(PARIS).date() for o in booking.occurrences.order_by("start")]
        assert len(dates) == 3
        assert all(day.weekday() == 1 for day in dates)
        assert len({day.month for day in dates}) == 3

    def test_an_expert_rule_is_used_as_given(self):
        room = make_resource()
        start = next_weekday(1, 10)
        signed_in(person()).post(
            book_url(room),
            {**slot_data(start, start + HOUR), "rrule": "RRULE:FREQ=WEEKLY;BYDAY=TU,TH;COUNT=4"},
        )
        booking = Booking.objects.get()
        assert booking.rrule == "FREQ=WEEKLY;BYDAY=TU,TH;COUNT=4"
        weekdays = [o.start.astimezone(PARIS).weekday() for o in booking.occurrences.all()]
        assert weekdays == [1, 3, 1, 3]


# --- Conflicts and the waiting list -----------------------------------------------------------


class TestConflict:
    def test_a_taken_slot_answers_409_with_its_times_only(self):
        room = make_resource()
        start = next_weekday(3, 14)
        book(room, start, hours=2, title="Réunion du bureau", booker=person(full_name="Bob Roux"))
        response = signed_in(person()).post(
            book_url(room), slot_data(start + HOUR, start + 3 * HOUR)
        )
        page = text(response)
        assert response.status_code == 409
        assert "from 14:00 to 16:00" in page
        assert "Réunion du bureau" not in page
        assert "Bob Roux" not in page
        assert Booking.objects.count() == 1
        assert "Join the waiting list for this slot" in page
        assert 'name="waitlist"' in page

    def test_the_conflict_page_offers_the_other_free_times_of_that_day(self):
        place = PlaceFactory()
        OpeningHoursFactory(place=place, weekday=3, opens=dt.time(9), closes=dt.time(18))
        room = make_resource(place)
        start = next_weekday(3, 10)
        book(room, start, hours=2)
        response = signed_in(person()).post(book_url(room), slot_data(start, start + HOUR))
        free = [stretch for stretch in response.context["free"]]
        assert [(s.start.time(), s.end.time()) for s in free] == [
            (dt.time(9), dt.time(10)),
            (dt.time(12), dt.time(18)),
        ]
        assert "12:00–18:00" in text(response)

    def test_joining_the_waiting_list_from_the_conflict_page(self):
        room = make_resource()
        start = next_weekday(3, 14)
        holder = book(room, start, hours=2)
        first, second = person(), person()
        wanted = slot_data(start, start + HOUR, title="Répétition")
        response = signed_in(first).post(book_url(room), {**wanted, "waitlist": "1"}, follow=True)
        assert "You are number 1 on the waiting list" in text(response)
        assert "booked for you automatically" in text(response)
        response = signed_in(second).post(book_url(room), {**wanted, "waitlist": "1"}, follow=True)
        assert "You are number 2 on the waiting list" in text(response)
        entry = WaitlistEntry.objects.get(user=first)
        assert (entry.start, entry.end, entry.title) == (start, start + HOUR, "Répétition")
        assert "number 2 in line" in text(signed_in(second).get(reverse("bookings:mine")))
        services.booking_cancel(booking=holder, actor=holder.booker)
        entry.refresh_from_db()
        assert entry.status == "booked"
        assert entry.booking.booker == first

    def test_the_waiting_list_of_a_free_slot_sends_back_to_booking(self):
        room = make_resource()
        start = next_weekday(3, 14)
        response = signed_in(person()).post(
            book_url(room), {**slot_data(start, start + HOUR), "waitlist": "1"}
        )
        assert response.status_code == 400
        assert "This slot is free: book it directly." in text(response)
        assert not WaitlistEntry.objects.exists()

    def test_a_series_in_conflict_offers_no_waiting_list(self):
        room = make_resource()
        start = next_weekday(3, 14)
        book(room, start + dt.timedelta(weeks=1))
        response = signed_in(person()).post(
            book_url(room), {**slot_data(start, start + HOUR), "repeat": "weekly", "count": "3"}
        )
        assert response.status_code == 409
        assert "all or nothing" in text(response)
        assert 'name="waitlist"' not in text(response)
        assert Booking.objects.count() == 1

    def test_leaving_the_waiting_list_and_only_ones_own_entry(self):
        room = make_resource()
        start = next_weekday(3, 14)
        book(room, start)
        member = person()
        entry = services.waitlist_join(resource=room, user=member, start=start, end=start + HOUR)
        leave = reverse("bookings:waitlist_leave", args=[entry.pk])
        assert signed_in(person()).post(leave).status_code == 404
        response = signed_in(member).post(leave, follow=True)
        assert "You left the waiting list." in text(response)
        entry.refresh_from_db()
        assert entry.status == "withdrawn"
        assert signed_in(member).get(leave).status_code == 405


# --- Staff on behalf of a member --------------------------------------------------------------


class TestOnBehalf:
    def test_staff_book_for_a_member_and_it_is_audited(self):
        place = PlaceFactory()
        room = make_resource(place)
        staff, member = person(full_name="Claire Staff"), person(email="Marie@example.org")
        PlaceRole.objects.create(user=staff, place=place, role="staff")
        browser = signed_in(staff)
        assert 'name="on_behalf"' in text(browser.get(book_url(room)))
        start = next_weekday(4, 9)
        response = browser.post(
            book_url(room), slot_data(start, start + HOUR, on_behalf="marie@example.org")
        )
        assert response.status_code == 302
        booking = Booking.objects.get()
        assert (booking.booker, booking.created_by) == (member, staff)
        entry = AuditEntry.objects.get(action="booking.on_behalf")
        assert (entry.actor, entry.details["booker"]) == (staff, "Marie@example.org")
        page = text(signed_in(member).get(reverse("bookings:mine")))
        assert "Booked for you by Claire Staff." in page

    def test_an_unknown_member_is_a_form_error(self):
        place = PlaceFactory()
        room = make_resource(place)
        manager = make_manager(place, language="en")
        start = next_weekday(4, 9)
        response = signed_in(manager).post(
            book_url(room), slot_data(start, start + HOUR, on_behalf="nobody@example.org")
        )
        assert response.status_code == 400
        assert "Nobody has an account with this address" in text(response)
        assert not Booking.objects.exists()

    def test_others_have_no_such_field_and_a_forged_one_is_refused(self):
        room = make_resource()
        member, victim = person(), person(email="victim@example.org")
        browser = signed_in(member)
        assert 'name="on_behalf"' not in text(browser.get(book_url(room)))
        start = next_weekday(4, 9)
        response = browser.post(
            book_url(room), slot_data(start, start + HOUR, on_behalf=victim.email)
        )
        assert response.status_code == 403
        assert not Booking.objects.exists()
        assert not AuditEntry.objects.filter(action="booking.on_behalf").exists()


# --- My bookings ------------------------------------------------------------------------------


class TestMine:
    def test_needs_an_account(self, client):
        assert client.get(reverse("bookings:mine")).status_code == 302

    def test_lists_coming_and_past_bookings_with_their_status(self):
        place = PlaceFactory(name="Le Relais")
        room = make_resource(place, name="Bureau 2", requires_approval=True)
        member, manager = person(), make_manager(place)
        start = next_weekday(2, 10)
        pending = book(room, start, title="Entretien", booker=member)
        refused = book(room, start + dt.timedelta(days=1), title="Formation", booker=member)
        services.booking_decide(
            booking=refused, actor=manager, approve=False, note="La salle est en travaux."
        )
        past = Booking.objects.create(resource=room, booker=member, title="Vieux souvenir")
        Occurrence.objects.create(
            booking=past,
            resource=room,
            start=timezone.now() - dt.timedelta(days=3),
            end=timezone.now() - dt.timedelta(days=3) + HOUR,
            held_until=timezone.now() - dt.timedelta(days=3) + HOUR,
            status="confirmed",
        )
        book(room, start + dt.timedelta(days=2), title="Quelqu'un d'autre")
        response = signed_in(member).get(reverse("bookings:mine"))
        upcoming = [card.booking for card in response.context["upcoming_cards"]]
        history = [card.booking for card in response.context["history_cards"]]
        assert upcoming == [pending, refused]
        assert history == [past]
        page = text(response)
        assert "Bureau 2" in page and "Le Relais" in page
        assert "waiting for approval" in page
        assert "refused" in page
        assert "La salle est en travaux." in page
        assert "Quelqu'un d'autre" not in page
        assert f"{start.astimezone(PARIS):%H:%M}–{start.astimezone(PARIS) + HOUR:%H:%M}" in page
        assert "Entretien" in page

    def test_cancelling_frees_the_slot_and_a_cancelled_booking_moves_to_the_past(self):
        room = make_resource(cancel_deadline_hours=24)
        member = person()
        booking = book(room, next_weekday(3, 14, weeks=2), booker=member)
        browser = signed_in(member)
        page = text(browser.get(reverse("bookings:mine")))
        assert "Free cancellation until" in page
        response = browser.post(reverse("bookings:cancel", args=[booking.pk]), follow=True)
        assert "The booking of Salle Causse is cancelled." in text(response)
        assert booking.occurrences.get().status == "cancelled"
        assert [c.booking for c in response.context["history_cards"]] == [booking]
        assert response.context["upcoming_cards"] == []

    def test_cancelling_past_the_deadline_is_refused_with_the_deadline(self):
        room = make_resource(cancel_deadline_hours=48)
        member = person()
        start = (
            (timezone.now() + dt.timedelta(hours=30))
            .astimezone(PARIS)
            .replace(minute=0, second=0, microsecond=0)
        )
        booking = book(room, start, booker=member)
        browser = signed_in(member)
        page = text(browser.get(reverse("bookings:mine")))
        assert "The cancellation deadline has passed" in page
        assert reverse("bookings:cancel", args=[booking.pk]) not in page
        response = browser.post(reverse("bookings:cancel", args=[booking.pk]), follow=True)
        page = text(response)
        assert "up to 48 hours before the start" in page
        deadline = (start - dt.timedelta(hours=48)).astimezone(PARIS)
        assert f"{deadline:%H:%M}" in page and "The deadline was" in page
        assert booking.occurrences.get().status == "confirmed"

    def test_others_bookings_cannot_be_cancelled_but_staff_may(self):
        place = PlaceFactory()
        room = make_resource(place)
        booking = book(room, next_weekday(3, 14))
        cancel = reverse("bookings:cancel", args=[booking.pk])
        assert signed_in(person()).post(cancel).status_code == 404
        assert booking.occurrences.get().status == "confirmed"
        staff = person()
        PlaceRole.objects.create(user=staff, place=place, role="staff")
        assert signed_in(staff).post(cancel).status_code == 302
        assert booking.occurrences.get().status == "cancelled"
        assert AuditEntry.objects.filter(action="booking.cancel", actor=staff).exists()

    def test_the_personal_feed_is_created_renewed_and_revoked(self):
        member = person()
        browser = signed_in(member)
        mine, feed = reverse("bookings:mine"), reverse("bookings:feed")
        assert "Create my calendar address" in text(browser.get(mine))
        browser.post(feed, {"action": "renew"})
        token = CalendarFeed.objects.get(user=member).token
        page = text(browser.get(mine))
        address = "http://testserver" + reverse("bookings:user_feed", args=[token])
        assert f'value="{address}"' in page
        assert "webcal://testserver" in page
        browser.post(feed, {"action": "renew"})
        renewed = CalendarFeed.objects.get(user=member).token
        assert renewed != token
        browser.post(feed, {"action": "revoke"})
        assert not CalendarFeed.objects.filter(user=member).exists()
        assert browser.post(feed, {"action": "share"}).status_code == 400


# --- The place's page -------------------------------------------------------------------------


def test_the_place_page_lists_its_bookable_resources(client):
    place = PlaceFactory()
    room = make_resource(place, name="Salle Lot", capacity=12)
    ResourceTerm.objects.create(resource=room, kind="service", code="wifi")
    make_resource(place, name="Atelier fermé", is_active=False)
    page = text(client.get(reverse("places:detail", args=[place.slug])))
    assert "Book here" in page
    assert reverse("bookings:resource", args=[room.pk]) in page
    assert "12 people" in page
    assert "places/icons/wifi.svg" in page
    assert "Atelier fermé" not in page
    assert reverse("bookings:calendar", args=[place.slug]) in page


def test_a_place_without_resources_has_no_booking_section(client):
    place = PlaceFactory()
    assert "Book here" not in text(client.get(reverse("places:detail", args=[place.slug])))


def test_the_booking_form_page_is_labelled():
    room = make_resource()
    page = text(signed_in(person()).get(book_url(room)))
    for field in ("date", "start_time", "end_time", "title", "private", "repeat", "rrule"):
        assert re.search(rf'<label[^>]*for="id_{field}"', page), field
