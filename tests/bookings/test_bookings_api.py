"""The bookings API: book, list, read, cancel, decide, wait for a slot (PRODUCT.md §5)."""

import datetime as dt
import json
import zoneinfo

import pytest
from django.core import mail
from django.utils import timezone, translation

from maillage.accounts.models import PlaceRole
from maillage.accounts.services import api_token_create
from maillage.bookings import services
from maillage.bookings.models import Booking, Occurrence, Resource, WaitlistEntry
from maillage.core.models import AuditEntry
from tests.factories import (
    OpeningHoursFactory,
    PlaceFactory,
    SeasonFactory,
    UserFactory,
    make_manager,
)

pytestmark = pytest.mark.django_db

API = "/api/v1"
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
HOUR = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def _messages_in_english(client):
    """The assertions read the English messages; the site's default language is French."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


def next_weekday(weekday: int, hour: int, minute: int = 0, weeks: int = 1) -> dt.datetime:
    today = timezone.now().astimezone(PARIS).date()
    days = (weekday - today.weekday()) % 7 + 7 * weeks
    return dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour, minute), PARIS)


def make_resource(place=None, **fields) -> Resource:
    return Resource.objects.create(
        place=place or PlaceFactory(), name="Salle Causse", kind="meeting_room", **fields
    )


def bearer(user) -> dict[str, str]:
    _token, raw = api_token_create(user=user)
    return {"authorization": f"Bearer {raw}"}


def post(client, path, body, user=None):
    return client.post(
        f"{API}{path}",
        data=json.dumps(body),
        content_type="application/json",
        headers=bearer(user) if user else {},
    )


def slot_body(resource, start, end=None, **extra) -> dict:
    return {
        "resource": resource.pk,
        "start": start.isoformat(),
        "end": (end or start + HOUR).isoformat(),
        **extra,
    }


def assert_error(response, status) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"message", "details"}
    assert body["message"]
    return body


def rows() -> tuple[int, ...]:
    return (
        Booking.objects.count(),
        Occurrence.objects.count(),
        WaitlistEntry.objects.count(),
        AuditEntry.objects.exclude(action="token.create").count(),
    )


def book(resource, start, booker=None, hours=1, **kwargs) -> Booking:
    return services.booking_create(
        resource=resource,
        booker=booker or UserFactory(),
        start=start,
        end=start + hours * HOUR,
        **kwargs,
    )


class TestCreate:
    def test_a_free_slot_is_booked_and_confirmed(self, client):
        resource = make_resource()
        user = UserFactory()
        start = next_weekday(3, 14)

        response = post(
            client, "/bookings", slot_body(resource, start, title="Atelier", private=True), user
        )

        assert response.status_code == 201, response.content
        body = response.json()
        assert body["status"] == "confirmed"
        booking = Booking.objects.get(pk=body["id"])
        assert (booking.booker, booking.title, booking.private) == (user, "Atelier", True)
        assert body["resource"] == {
            "id": resource.pk,
            "name": "Salle Causse",
            "place": resource.place.slug,
        }
        assert body["booker"] == user.email
        assert body["created_by"] is None
        [slot] = body["occurrences"]
        assert slot == {
            "start": start.isoformat(),
            "end": (start + HOUR).isoformat(),
            "status": "confirmed",
        }

    def test_times_are_answered_in_the_places_zone_whatever_the_offset_given(self, client):
        resource = make_resource()
        start = next_weekday(3, 14)

        response = post(
            client,
            "/bookings",
            slot_body(resource, start.astimezone(dt.UTC), start.astimezone(dt.UTC) + HOUR),
            UserFactory(),
        )

        assert response.json()["occurrences"][0]["start"] == start.isoformat()

    def test_a_resource_needing_approval_gives_a_pending_booking(self, client):
        resource = make_resource(requires_approval=True)

        response = post(
            client, "/bookings", slot_body(resource, next_weekday(3, 14)), UserFactory()
        )

        assert response.status_code == 201
        assert response.json()["status"] == "pending"

    def test_a_series_books_every_date_at_the_same_local_time(self, client):
        resource = make_resource()
        start = next_weekday(3, 14)

        response = post(
            client,
            "/bookings",
            slot_body(resource, start, rrule="FREQ=WEEKLY;COUNT=3"),
            UserFactory(),
        )

        assert response.status_code == 201, response.content
        starts = [dt.datetime.fromisoformat(o["start"]) for o in response.json()["occurrences"]]
        assert starts == [start + dt.timedelta(weeks=n) for n in range(3)]
        assert response.json()["rrule"] == "FREQ=WEEKLY;COUNT=3"

    def test_without_a_token_it_is_401_and_nothing_is_written(self, client):
        resource = make_resource()
        before = rows()

        response = post(client, "/bookings", slot_body(resource, next_weekday(3, 14)))
        wrong = client.post(
            f"{API}/bookings",
            data=json.dumps(slot_body(resource, next_weekday(3, 14))),
            content_type="application/json",
            headers={"authorization": "Bearer mlg_not-a-token"},
        )

        assert_error(response, 401)
        assert_error(wrong, 401)
        assert rows() == before

    @pytest.mark.parametrize("hidden", ["unknown", "unpublished"])
    def test_a_resource_the_caller_cannot_see_is_404(self, client, hidden):
        resource = make_resource(place=PlaceFactory(is_published=False))
        resource_id = resource.pk + 1000 if hidden == "unknown" else resource.pk
        before = rows()

        response = post(
            client,
            "/bookings",
            {**slot_body(resource, next_weekday(3, 14)), "resource": resource_id},
            UserFactory(),
        )

        assert_error(response, 404)
        assert rows() == before

    def test_the_staff_of_an_unpublished_place_are_told_why_they_cannot_book(self, client):
        place = PlaceFactory(is_published=False)
        resource = make_resource(place=place)

        response = post(
            client, "/bookings", slot_body(resource, next_weekday(3, 14)), make_manager(place)
        )

        assert "cannot be booked at the moment" in assert_error(response, 400)["message"]

    @pytest.mark.parametrize("path", ["/bookings", "/waitlist"])
    def test_over_the_accounts_limit_it_is_429_with_retry_after(self, client, settings, path):
        settings.MAILLAGE_BOOKINGS_PER_ACCOUNT = "2/1m"
        resource = make_resource()
        start = next_weekday(3, 8)
        book(resource, start)
        headers = bearer(UserFactory())

        def send(hour):
            body = slot_body(resource, start.replace(hour=hour))
            return client.post(
                f"{API}{path}",
                data=json.dumps(body),
                content_type="application/json",
                headers=headers,
            )

        first, second = send(8), send(9)
        before = rows()
        third = send(10)

        assert 429 not in (first.status_code, second.status_code)
        assert_error(third, 429)
        assert int(third["Retry-After"]) > 0
        assert rows() == before


def _dst_gap_series(resource):
    """A daily series at 02:30 whose second date is the night clocks go forward in Paris."""
    start = dt.datetime(2027, 3, 27, 2, 30, tzinfo=PARIS)
    return slot_body(resource, start, rrule="FREQ=DAILY;COUNT=2")


INVALID = {
    "end before start": (
        lambda r: slot_body(r, next_weekday(3, 14), next_weekday(3, 13)),
        "end",
        "after the start",
    ),
    "zero length": (
        lambda r: slot_body(r, next_weekday(3, 14), next_weekday(3, 14)),
        "end",
        "after the start",
    ),
    "in the past": (
        lambda r: slot_body(r, timezone.now() - dt.timedelta(days=1)),
        "start",
        "past",
    ),
    "outside opening hours": (
        lambda r: slot_body(r, next_weekday(3, 16), next_weekday(3, 18)),
        "request",
        "cannot be booked for the whole slot",
    ),
    "closed season": (
        lambda r: slot_body(r, next_weekday(3, 10, weeks=3)),
        "request",
        "cannot be booked for the whole slot",
    ),
    "beyond the horizon": (
        lambda r: slot_body(r, next_weekday(3, 10, weeks=80)),
        "start",
        "days ahead",
    ),
    "too short": (
        lambda r: slot_body(r, next_weekday(3, 10), next_weekday(3, 10, 10)),
        "request",
        "between 30 and 600 minutes",
    ),
    "DST gap": (_dst_gap_series, "request", "does not exist"),
    "endless series": (
        lambda r: slot_body(r, next_weekday(3, 10), rrule="FREQ=WEEKLY"),
        "rrule",
        "at most 200 dates",
    ),
    "huge COUNT": (
        lambda r: slot_body(r, next_weekday(3, 10), rrule="FREQ=DAILY;COUNT=100000"),
        "rrule",
        "at most 200 dates",
    ),
    "bad rule": (
        lambda r: slot_body(r, next_weekday(3, 10), rrule="FREQ=SOMETIMES"),
        "rrule",
        "not valid",
    ),
    "series past the year 9999": (
        # 2026 + 7 × 1139 = 9999: the eighth date would end in the year 10000; expansion stops
        # at the resource's horizon, so the series is refused for going beyond it.
        lambda r: slot_body(
            r,
            dt.datetime(2026, 12, 31, 23, 30, tzinfo=PARIS),
            rrule="FREQ=YEARLY;INTERVAL=1139;COUNT=8",
        ),
        "rrule",
        "COUNT or UNTIL",
    ),
    "naive start": (
        lambda r: {**slot_body(r, next_weekday(3, 10)), "start": "2027-03-04T14:00:00"},
        "start",
        "offset",
    ),
    "date without a time": (
        lambda r: {**slot_body(r, next_weekday(3, 10)), "end": "2027-03-04"},
        "end",
        "offset",
    ),
    "not a time": (
        lambda r: {**slot_body(r, next_weekday(3, 10)), "start": "next Thursday"},
        "start",
        "ISO 8601",
    ),
    "the end of the calendar": (
        lambda r: {**slot_body(r, next_weekday(3, 10)), "end": "9999-12-31T23:00:00+00:00"},
        "end",
        "out of the calendar",
    ),
    "before the calendar": (
        lambda r: {**slot_body(r, next_weekday(3, 10)), "start": "0001-01-01T00:00:00+14:00"},
        "start",
        "out of the calendar",
    ),
    "title too long": (
        lambda r: slot_body(r, next_weekday(3, 10), title="x" * 151),
        "title",
        "at most 150",
    ),
    "lone surrogate in the rule": (
        lambda r: slot_body(r, next_weekday(3, 10), rrule="FREQ=DAILY;COUNT=2\ud800"),
        "rrule",
        "valid string",
    ),
    "NUL in the title": (
        lambda r: slot_body(r, next_weekday(3, 10), title="a\x00b"),
        "title",
        "cannot be stored",
    ),
    "resource as text": (
        lambda r: {**slot_body(r, next_weekday(3, 10)), "resource": str(r.pk)},
        "resource",
        "integer",
    ),
    "resource id beyond any column": (
        lambda r: {**slot_body(r, next_weekday(3, 10)), "resource": 2**63},
        "resource",
        "less than or equal",
    ),
    "private as text": (
        lambda r: slot_body(r, next_weekday(3, 10), private="yes"),
        "private",
        "boolean",
    ),
}


@pytest.mark.parametrize(("make_body", "field", "message"), INVALID.values(), ids=INVALID.keys())
def test_invalid_bookings_are_400_with_details_and_write_nothing(client, make_body, field, message):
    place = PlaceFactory()
    for weekday in range(7):
        OpeningHoursFactory(place=place, weekday=weekday, opens=dt.time(0), closes=dt.time(17))
    closed_on = next_weekday(3, 10, weeks=3).date()
    SeasonFactory(place=place, start_date=closed_on, end_date=closed_on, closed=True)
    resource = make_resource(place=place, horizon_days=400)
    body = make_body(resource)
    before = rows()

    response = post(client, "/bookings", body, UserFactory())

    error = assert_error(response, 400)
    assert field in error["details"], error
    assert message in " ".join(error["details"][field]), error
    assert rows() == before


class TestConflict:
    def test_a_taken_slot_is_409_naming_only_its_times(self, client):
        resource = make_resource()
        start = next_weekday(3, 14)
        owner = UserFactory(email="secret.booker@example.org")
        book(resource, start, booker=owner, hours=3, title="Prototype X", private=True)
        before = rows()

        response = post(
            client, "/bookings", slot_body(resource, start + HOUR, start + 4 * HOUR), UserFactory()
        )

        body = assert_error(response, 409)
        assert "14:00–17:00" in body["message"]
        assert "taken" in body["message"]
        assert body["details"] == {
            "start": start.isoformat(),
            "end": (start + 3 * HOUR).isoformat(),
        }
        assert "Prototype" not in response.content.decode()
        assert owner.email not in response.content.decode()
        assert rows() == before

    def test_a_series_meeting_a_taken_date_is_409_and_books_none_of_its_dates(self, client):
        resource = make_resource()
        start = next_weekday(3, 14)
        book(resource, start + dt.timedelta(weeks=2))
        before = rows()

        response = post(
            client,
            "/bookings",
            slot_body(resource, start, rrule="FREQ=WEEKLY;COUNT=4"),
            UserFactory(),
        )

        body = assert_error(response, 409)
        assert body["details"]["start"] == (start + dt.timedelta(weeks=2)).isoformat()
        assert rows() == before


class TestOnBehalf:
    def test_staff_book_for_a_member_and_it_is_audited(self, client):
        resource = make_resource()
        staff, member = UserFactory(), UserFactory(email="member@example.org")
        PlaceRole.objects.create(user=staff, place=resource.place, role="staff")

        response = post(
            client,
            "/bookings",
            slot_body(resource, next_weekday(3, 14), on_behalf_of="Member@Example.org"),
            staff,
        )

        assert response.status_code == 201, response.content
        body = response.json()
        assert (body["booker"], body["created_by"]) == (member.email, staff.email)
        booking = Booking.objects.get(pk=body["id"])
        assert (booking.booker, booking.created_by) == (member, staff)
        entry = AuditEntry.objects.get(action="booking.on_behalf")
        assert entry.actor == staff
        assert entry.target_id == str(booking.pk)
        assert entry.details["booker"] == member.email

    def test_others_may_not_book_on_behalf_and_nothing_is_written(self, client):
        resource = make_resource()
        member = UserFactory()
        PlaceRole.objects.create(user=member, place=resource.place, role="resident")
        before = rows()

        response = post(
            client,
            "/bookings",
            slot_body(resource, next_weekday(3, 14), on_behalf_of=UserFactory().email),
            member,
        )

        assert_error(response, 403)
        assert rows() == before

    def test_an_unknown_email_is_400(self, client):
        resource = make_resource()
        before = rows()

        response = post(
            client,
            "/bookings",
            slot_body(resource, next_weekday(3, 14), on_behalf_of="nobody@example.org"),
            make_manager(resource.place),
        )

        assert "on_behalf_of" in assert_error(response, 400)["details"]
        assert rows() == before


class TestRead:
    def test_the_booker_and_the_places_staff_read_a_booking_others_get_404(self, client):
        resource = make_resource()
        booker = UserFactory()
        booking = book(resource, next_weekday(3, 14), booker=booker)
        staff, other_place_manager = UserFactory(), make_manager(PlaceFactory())
        PlaceRole.objects.create(user=staff, place=resource.place, role="staff")
        path = f"{API}/bookings/{booking.pk}"

        assert client.get(path, headers=bearer(booker)).json()["id"] == booking.pk
        assert client.get(path, headers=bearer(staff)).json()["id"] == booking.pk
        assert_error(client.get(path, headers=bearer(UserFactory())), 404)
        assert_error(client.get(path, headers=bearer(other_place_manager)), 404)
        assert_error(client.get(path), 401)
        assert_error(client.get(f"{API}/bookings/{booking.pk + 99}", headers=bearer(booker)), 404)
        assert_error(client.get(f"{API}/bookings/{2**63}", headers=bearer(booker)), 400)

    def test_the_status_is_that_of_the_next_slot(self, client):
        resource = make_resource()
        booker = UserFactory()
        start = next_weekday(3, 14)
        booking = book(resource, start, booker=booker, rrule="FREQ=WEEKLY;COUNT=2")
        first = booking.occurrences.order_by("start").first()
        Occurrence.objects.filter(pk=first.pk).update(status="cancelled")

        body = client.get(f"{API}/bookings/{booking.pk}", headers=bearer(booker)).json()

        assert body["status"] == "cancelled"
        assert [o["status"] for o in body["occurrences"]] == ["cancelled", "confirmed"]

    def test_the_status_of_a_past_booking_is_that_of_its_last_slot(self, client):
        resource = make_resource()
        booker = UserFactory()
        booking = book(resource, next_weekday(3, 14), booker=booker, rrule="FREQ=DAILY;COUNT=2")
        first, last = booking.occurrences.order_by("start")
        past = timezone.now() - dt.timedelta(days=3)
        Occurrence.objects.filter(pk=first.pk).update(
            start=past, end=past + HOUR, held_until=past + HOUR
        )
        Occurrence.objects.filter(pk=last.pk).update(
            start=past + 24 * HOUR,
            end=past + 25 * HOUR,
            held_until=past + 25 * HOUR,
            status="refused",
        )

        body = client.get(f"{API}/bookings/{booking.pk}", headers=bearer(booker)).json()

        assert body["status"] == "refused"

    def test_the_list_holds_the_callers_bookings_filtered_and_paginated(self, client):
        resource = make_resource()
        me = UserFactory()
        early = book(resource, next_weekday(3, 9), booker=me)
        late = book(resource, next_weekday(3, 9, weeks=3), booker=me)
        cancelled = book(resource, next_weekday(3, 9, weeks=2), booker=me)
        services.booking_cancel(booking=cancelled)
        book(resource, next_weekday(3, 11))  # someone else's
        headers = bearer(me)

        def ids(**query):
            response = client.get(f"{API}/bookings", query, headers=headers)
            assert response.status_code == 200, response.content
            return response.json()["count"], [b["id"] for b in response.json()["results"]]

        assert ids() == (3, [early.pk, cancelled.pk, late.pk])
        assert ids(status="cancelled") == (1, [cancelled.pk])
        assert ids(**{"from": next_weekday(3, 0, weeks=2).isoformat()}) == (
            2,
            [cancelled.pk, late.pk],
        )
        assert ids(to=next_weekday(3, 0, weeks=2).isoformat(), status="confirmed") == (
            1,
            [early.pk],
        )
        assert ids(page=2, page_size=2) == (3, [late.pk])
        assert ids(page=10**12) == (3, [])

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ({"from": "yesterday"}, "from"),
            ({"to": "2027-01-01T10:00:00"}, "to"),
            ({"status": "lost"}, "status"),
            ({"page_size": 1000}, None),
        ],
    )
    def test_bad_list_filters_are_400(self, client, query, field):
        response = client.get(f"{API}/bookings", query, headers=bearer(UserFactory()))

        body = assert_error(response, 400)
        if field:
            assert field in body["details"]


class TestCancel:
    def test_the_booker_cancels_before_the_deadline(self, client):
        resource = make_resource(cancel_deadline_hours=24)
        booker = UserFactory()
        booking = book(resource, next_weekday(3, 14), booker=booker)

        response = client.delete(f"{API}/bookings/{booking.pk}", headers=bearer(booker))

        assert response.status_code == 204
        assert booking.occurrences.get().status == "cancelled"
        assert client.get(f"{API}/bookings/{booking.pk}", headers=bearer(booker)).json()[
            "status"
        ] == ("cancelled")

    def test_after_the_deadline_the_booker_gets_409_and_the_staff_may_still_cancel(self, client):
        resource = make_resource(cancel_deadline_hours=24)
        booker, staff = UserFactory(), UserFactory()
        PlaceRole.objects.create(user=staff, place=resource.place, role="staff")
        start = (timezone.now() + dt.timedelta(hours=5)).replace(microsecond=0)
        booking = book(resource, start, booker=booker)

        refused = client.delete(f"{API}/bookings/{booking.pk}", headers=bearer(booker))

        body = assert_error(refused, 409)
        assert "24 hours before the start" in body["message"]
        assert dt.datetime.fromisoformat(body["details"]["deadline"]) == start - 24 * HOUR
        assert booking.occurrences.get().status == "confirmed"

        forced = client.delete(f"{API}/bookings/{booking.pk}", headers=bearer(staff))

        assert forced.status_code == 204
        assert booking.occurrences.get().status == "cancelled"
        entry = AuditEntry.objects.get(action="booking.cancel")
        assert (entry.actor, entry.target_id) == (staff, str(booking.pk))

    def test_strangers_get_404_and_cancel_nothing(self, client):
        resource = make_resource()
        booking = book(resource, next_weekday(3, 14))

        response = client.delete(f"{API}/bookings/{booking.pk}", headers=bearer(UserFactory()))

        assert_error(response, 404)
        assert booking.occurrences.get().status == "confirmed"


class TestDecision:
    @pytest.fixture
    def request_(self):
        """A pending booking, asked before the place had a manager (no email to them)."""
        resource = make_resource(requires_approval=True)
        booking = book(resource, next_weekday(3, 14))
        return booking, make_manager(resource.place)

    def test_a_manager_approves_and_the_booker_is_told(
        self, client, request_, django_capture_on_commit_callbacks
    ):
        booking, manager = request_

        with django_capture_on_commit_callbacks(execute=True):
            response = post(
                client,
                f"/bookings/{booking.pk}/decision",
                {"approve": True, "note": "Welcome"},
                manager,
            )

        assert response.status_code == 200, response.content
        assert response.json()["status"] == "confirmed"
        assert response.json()["decision_note"] == "Welcome"
        assert [m.to for m in mail.outbox] == [[booking.booker.email]]
        assert AuditEntry.objects.filter(action="booking.approve").count() == 1

    def test_a_manager_refuses(self, client, request_):
        booking, manager = request_

        response = post(
            client, f"/bookings/{booking.pk}/decision", {"approve": False, "note": "Full"}, manager
        )

        assert response.json()["status"] == "refused"
        assert booking.occurrences.get().status == "refused"

    def test_a_booking_not_pending_is_409(self, client, request_):
        booking, manager = request_
        services.booking_decide(booking=booking, actor=manager, approve=True)

        response = post(client, f"/bookings/{booking.pk}/decision", {"approve": False}, manager)

        assert "not waiting for a decision" in assert_error(response, 409)["message"]
        assert booking.occurrences.get().status == "confirmed"

    def test_a_note_that_cannot_be_stored_is_400(self, client, request_):
        booking, manager = request_

        response = post(
            client, f"/bookings/{booking.pk}/decision", {"approve": True, "note": "\x00"}, manager
        )

        assert "note" in assert_error(response, 400)["details"]
        assert booking.occurrences.get().status == "pending"

    def test_staff_and_booker_get_403_strangers_404(self, client, request_):
        booking, _manager = request_
        staff = UserFactory()
        PlaceRole.objects.create(user=staff, place=booking.resource.place, role="staff")
        before = rows()

        for user, status in [(staff, 403), (booking.booker, 403), (UserFactory(), 404)]:
            response = post(client, f"/bookings/{booking.pk}/decision", {"approve": True}, user)
            assert_error(response, status)
        assert_error(post(client, f"/bookings/{booking.pk}/decision", {"approve": "yes"}), 401)
        assert booking.occurrences.get().status == "pending"
        assert rows() == before


class TestWaitlist:
    def test_waiting_then_booked_when_the_slot_is_cancelled(
        self, client, django_capture_on_commit_callbacks
    ):
        resource = make_resource()
        start = next_weekday(3, 14)
        holder, first, second = UserFactory(), UserFactory(), UserFactory()
        taken = post(client, "/bookings", slot_body(resource, start), holder).json()
        body = slot_body(resource, start, title="Répétition")

        joined = post(client, "/waitlist", body, first)
        behind = post(client, "/waitlist", body, second)

        assert joined.status_code == 201, joined.content
        assert joined.json()["position"] == 1
        assert behind.json()["position"] == 2

        with django_capture_on_commit_callbacks(execute=True):
            cancelled = client.delete(f"{API}/bookings/{taken['id']}", headers=bearer(holder))

        assert cancelled.status_code == 204
        entry = WaitlistEntry.objects.get(pk=joined.json()["id"])
        assert entry.status == "booked"
        assert entry.booking.booker == first
        assert entry.booking.occurrences.get().status == "confirmed"
        assert [m.to for m in mail.outbox] == [[first.email]]
        mine = client.get(f"{API}/bookings", headers=bearer(first)).json()
        assert [(b["title"], b["status"]) for b in mine["results"]] == [("Répétition", "confirmed")]
        assert WaitlistEntry.objects.get(pk=behind.json()["id"]).status == "waiting"

    def test_a_free_slot_is_409_book_it_directly(self, client):
        resource = make_resource()
        before = rows()

        response = post(
            client, "/waitlist", slot_body(resource, next_weekday(3, 14)), UserFactory()
        )

        assert "book it directly" in assert_error(response, 409)["message"]
        assert rows() == before

    def test_waiting_twice_for_the_same_slot_is_409(self, client):
        resource = make_resource()
        start = next_weekday(3, 14)
        book(resource, start)
        user = UserFactory()
        assert post(client, "/waitlist", slot_body(resource, start), user).status_code == 201

        response = post(client, "/waitlist", slot_body(resource, start), user)

        assert "already on the waiting list" in assert_error(response, 409)["message"]
        assert WaitlistEntry.objects.count() == 1

    def test_the_slot_must_obey_the_resources_rules(self, client):
        resource = make_resource(horizon_days=10)
        before = rows()

        response = post(
            client, "/waitlist", slot_body(resource, next_weekday(3, 14, weeks=4)), UserFactory()
        )

        assert "days ahead" in " ".join(assert_error(response, 400)["details"]["start"])
        assert rows() == before

    def test_leaving_the_list_is_for_the_person_waiting(self, client):
        resource = make_resource()
        start = next_weekday(3, 14)
        book(resource, start)
        user = UserFactory()
        entry_id = post(client, "/waitlist", slot_body(resource, start), user).json()["id"]
        path = f"{API}/waitlist/{entry_id}"

        assert_error(client.delete(path, headers=bearer(UserFactory())), 404)
        assert WaitlistEntry.objects.get(pk=entry_id).status == "waiting"
        assert client.delete(path, headers=bearer(user)).status_code == 204
        assert WaitlistEntry.objects.get(pk=entry_id).status == "withdrawn"
