"""Booking creation: the resource's rules, conflicts with buffers, series, and races."""

import datetime as dt
import re
import threading
import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone, translation

from maillage.accounts.models import PlaceRole
from maillage.bookings import services
from maillage.bookings.models import Booking, Occurrence, Resource, ResourceHours
from maillage.bookings.services import BookingConflict, booking_cancel, booking_create
from maillage.places.models import Season
from maillage.places.services import place_week_hours_set, season_save
from tests.bookings.test_availability import clock_change
from tests.factories import OpeningHoursFactory, PlaceFactory, UserFactory

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


@pytest.fixture(autouse=True)
def _messages_in_english():
    """The assertions read the English messages; the site's default language is French."""
    with translation.override("en"):
        yield


def next_weekday(weekday: int, hour: int, minute: int = 0, weeks: int = 1) -> dt.datetime:
    today = timezone.now().astimezone(PARIS).date()
    days = (weekday - today.weekday()) % 7 + 7 * weeks
    return dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour, minute), PARIS)


def make_resource(**kwargs) -> Resource:
    place = kwargs.pop("place", None) or PlaceFactory()
    return Resource.objects.create(place=place, name="Salle Causse", kind="meeting_room", **kwargs)


@pytest.mark.django_db
class TestRules:
    def test_a_free_slot_is_confirmed(self):
        resource = make_resource()
        start = next_weekday(3, 14)
        booking = booking_create(
            resource=resource, booker=UserFactory(), start=start, end=start + dt.timedelta(hours=3)
        )
        assert [o.status for o in booking.occurrences.all()] == ["confirmed"]

    def test_a_resource_needing_approval_gives_a_pending_booking(self):
        resource = make_resource(requires_approval=True)
        start = next_weekday(3, 14)
        booking = booking_create(
            resource=resource, booker=UserFactory(), start=start, end=start + dt.timedelta(hours=1)
        )
        assert booking.occurrences.get().status == "pending"

    @pytest.mark.parametrize(
        ("offset_days", "minutes", "message"),
        [(-2, 60, "past"), (200, 60, "days ahead"), (7, 10, "between"), (7, 900, "between")],
    )
    def test_slots_breaking_the_rules_are_refused_and_nothing_is_written(
        self, offset_days, minutes, message
    ):
        resource = make_resource(horizon_days=90, min_minutes=30, max_minutes=600)
        start = timezone.now().replace(microsecond=0) + dt.timedelta(days=offset_days)
        with pytest.raises(ValidationError, match=message):
            booking_create(
                resource=resource,
                booker=UserFactory(),
                start=start,
                end=start + dt.timedelta(minutes=minutes),
            )
        assert not Occurrence.objects.exists()

    def test_members_only_resources_refuse_strangers_and_accept_members(self):
        resource = make_resource(audience="members")
        stranger, member = UserFactory(), UserFactory()
        PlaceRole.objects.create(user=member, place=resource.place, role="resident")
        start = next_weekday(1, 10)
        with pytest.raises(ValidationError, match="members"):
            booking_create(
                resource=resource, booker=stranger, start=start, end=start + dt.timedelta(hours=1)
            )
        booking_create(
            resource=resource, booker=member, start=start, end=start + dt.timedelta(hours=1)
        )

    def test_a_slot_outside_the_opening_hours_is_refused(self):
        place = PlaceFactory()
        OpeningHoursFactory(place=place, weekday=3, opens=dt.time(9), closes=dt.time(17))
        resource = make_resource(place=place)
        inside = next_weekday(3, 14)
        booking_create(
            resource=resource, booker=UserFactory(), start=inside, end=inside.replace(hour=17)
        )
        late = next_weekday(3, 16, weeks=2)
        with pytest.raises(ValidationError, match="cannot be booked for the whole slot"):
            booking_create(
                resource=resource, booker=UserFactory(), start=late, end=late.replace(hour=18)
            )

    def test_naive_times_are_refused(self):
        resource = make_resource()
        start = next_weekday(3, 14).replace(tzinfo=None)
        with pytest.raises(ValidationError, match="offset"):
            booking_create(
                resource=resource,
                booker=UserFactory(),
                start=start,
                end=start + dt.timedelta(hours=1),
            )


@pytest.mark.django_db
class TestConflicts:
    def test_an_overlapping_slot_is_a_conflict_naming_only_the_times(self):
        resource = make_resource()
        start = next_weekday(3, 14)
        booking_create(
            resource=resource,
            booker=UserFactory(),
            start=start,
            end=start + dt.timedelta(hours=2),
            title="Secret meeting",
            private=True,
        )
        with pytest.raises(BookingConflict) as caught:
            booking_create(
                resource=resource,
                booker=UserFactory(),
                start=start + dt.timedelta(hours=1),
                end=start + dt.timedelta(hours=3),
            )
        assert caught.value.slot.start == start
        assert "Secret" not in str(caught.value)

    def test_the_buffer_keeps_a_gap_after_each_booking(self):
        resource = make_resource(buffer_minutes=15)
        start = next_weekday(3, 14)
        booking_create(
            resource=resource, booker=UserFactory(), start=start, end=start.replace(hour=15)
        )
        with pytest.raises(BookingConflict):
            booking_create(
                resource=resource,
                booker=UserFactory(),
                start=start.replace(hour=15, minute=10),
                end=start.replace(hour=16),
            )
        booking_create(
            resource=resource,
            booker=UserFactory(),
            start=start.replace(hour=15, minute=15),
            end=start.replace(hour=16),
        )

    def test_back_to_back_bookings_are_allowed_without_buffer(self):
        resource = make_resource()
        start = next_weekday(3, 14)
        for hour in (14, 15):
            begin = start.replace(hour=hour)
            booking_create(
                resource=resource,
                booker=UserFactory(),
                start=begin,
                end=begin + dt.timedelta(hours=1),
            )
        assert Occurrence.objects.count() == 2

    def test_cancelling_frees_the_slot(self):
        resource = make_resource()
        start = next_weekday(3, 14)
        end = start + dt.timedelta(hours=1)
        booking = booking_create(resource=resource, booker=UserFactory(), start=start, end=end)
        booking_cancel(booking=booking)
        booking_create(resource=resource, booker=UserFactory(), start=start, end=end)

    def test_a_series_is_all_or_nothing(self):
        resource = make_resource()
        start = next_weekday(3, 14)
        third = start + dt.timedelta(weeks=2)
        booking_create(
            resource=resource,
            booker=UserFactory(),
            start=third,
            end=third + dt.timedelta(hours=1),
        )
        with pytest.raises(BookingConflict) as caught:
            booking_create(
                resource=resource,
                booker=UserFactory(),
                start=start,
                end=start + dt.timedelta(hours=1),
                rrule="FREQ=WEEKLY;COUNT=4",
            )
        assert caught.value.slot.start == third
        assert Occurrence.objects.count() == 1

    def test_a_weekly_series_keeps_its_local_time_across_dst(self):
        resource = make_resource(horizon_days=400)
        start = next_weekday(3, 14)
        booking = booking_create(
            resource=resource,
            booker=UserFactory(),
            start=start,
            end=start + dt.timedelta(hours=1),
            rrule="FREQ=WEEKLY;COUNT=30",
        )
        local = [o.start.astimezone(PARIS) for o in booking.occurrences.all()]
        assert len(local) == 30
        assert {(t.hour, t.minute, t.weekday()) for t in local} == {(14, 0, 3)}
        assert len({t.utcoffset() for t in local}) == 2  # 30 weeks always cross a DST change

    def test_a_buffer_lasts_its_minutes_on_the_night_the_clocks_go_back(self):
        resource = make_resource(buffer_minutes=30, horizon_days=400)
        day = clock_change(10)
        # 01:45 to the first 02:45, both summer time: the clocks go back at 03:00.
        start = dt.datetime.combine(day, dt.time(1, 45), PARIS)
        end = dt.datetime.combine(day, dt.time(2, 45), PARIS)
        booking = booking_create(resource=resource, booker=UserFactory(), start=start, end=end)
        occurrence = booking.occurrences.get()
        assert occurrence.held_until - occurrence.end == dt.timedelta(minutes=30)
        later = end.astimezone(dt.UTC) + dt.timedelta(minutes=30)
        booking_create(
            resource=resource, booker=UserFactory(), start=later, end=later + dt.timedelta(hours=1)
        )
        assert Occurrence.objects.count() == 2

    def test_an_endless_series_is_refused(self):
        resource = make_resource()
        start = next_weekday(3, 14)
        with pytest.raises(ValidationError, match="COUNT"):
            booking_create(
                resource=resource,
                booker=UserFactory(),
                start=start,
                end=start + dt.timedelta(hours=1),
                rrule="FREQ=DAILY",
            )


@pytest.mark.django_db
class TestNewBooking:
    def test_its_slots_come_back_with_their_ids(self):
        resource = make_resource()
        start = next_weekday(2, 9)
        booking = booking_create(
            resource=resource,
            booker=UserFactory(),
            start=start,
            end=start + dt.timedelta(hours=1),
            rrule="FREQ=WEEKLY;COUNT=3",
        )
        given = [(o.pk, o.booking_id, o.start, o.status) for o in booking.new_occurrences]
        stored = list(
            Occurrence.objects.order_by("start").values_list("pk", "booking_id", "start", "status")
        )
        assert given == stored
        assert [row[2] for row in stored] == [start + dt.timedelta(weeks=n) for n in range(3)]

    def test_the_hold_statement_names_every_column_of_a_slot(self):
        table = connection.ops.quote_name(Occurrence._meta.db_table)
        columns = re.search(rf"INSERT INTO {table}\s*\(([^)]*)\)", services._hold_sql()).group(1)
        named = {column.strip().strip('"') for column in columns.split(",")}
        assert named == {f.column for f in Occurrence._meta.concrete_fields if not f.primary_key}


@pytest.mark.django_db(transaction=True)
def test_outside_any_transaction_a_booking_and_a_conflict_write_all_or_nothing():
    """On PostgreSQL a plain booking outside a transaction is one statement (no BEGIN/COMMIT)."""
    resource = make_resource()
    start = next_weekday(3, 14)
    assert not connection.in_atomic_block
    first = booking_create(
        resource=resource, booker=UserFactory(), start=start, end=start + dt.timedelta(hours=2)
    )
    with pytest.raises(BookingConflict) as caught:
        booking_create(
            resource=resource,
            booker=UserFactory(),
            start=start + dt.timedelta(hours=1),
            end=start + dt.timedelta(hours=3),
            rrule="FREQ=WEEKLY;COUNT=2",
        )

    assert caught.value.slot.start == start
    assert list(Occurrence.objects.values_list("booking_id", flat=True)) == [first.pk]
    assert Booking.objects.count() == 1


@pytest.mark.django_db
class TestRulesFollowHourChanges:
    """Bookings read the copies of the hours kept on the place's and the resource's rows: every
    way of writing hours or seasons must rewrite them, or bookings would follow old hours."""

    def book(self, resource, start, hours=1):
        return booking_create(
            resource=Resource.objects.select_related("place").get(pk=resource.pk),
            booker=UserFactory(),
            start=start,
            end=start + dt.timedelta(hours=hours),
        )

    def test_new_place_hours_apply_at_once(self):
        place = PlaceFactory()
        OpeningHoursFactory(place=place, weekday=3, opens=dt.time(9), closes=dt.time(18))
        resource = make_resource(place=place)
        self.book(resource, next_weekday(3, 14))

        place_week_hours_set(place=place, intervals=[(3, dt.time(9), dt.time(12))])

        with pytest.raises(ValidationError, match="whole slot"):
            self.book(resource, next_weekday(3, 14, weeks=2))
        self.book(resource, next_weekday(3, 10, weeks=2))

    def test_a_new_closed_season_applies_at_once(self):
        place = PlaceFactory()
        OpeningHoursFactory(place=place, weekday=3, opens=dt.time(9), closes=dt.time(18))
        resource = make_resource(place=place)
        self.book(resource, next_weekday(3, 14))
        day = next_weekday(3, 14, weeks=2)

        season_save(
            place=place,
            season=None,
            name="Travaux",
            start_date=day.date(),
            end_date=day.date(),
            yearly=False,
            closed=True,
        )

        with pytest.raises(ValidationError, match="whole slot"):
            self.book(resource, day)
        Season.objects.get(place=place).delete()
        self.book(resource, day)

    def test_own_hours_written_by_the_service_or_the_admin_apply_at_once(self):
        resource = make_resource()
        self.book(resource, next_weekday(3, 14))

        services.resource_hours_set(
            resource=resource, intervals=[(3, dt.time(8), dt.time(12))], author=None
        )
        with pytest.raises(ValidationError, match="whole slot"):
            self.book(resource, next_weekday(3, 14, weeks=2))

        ResourceHours.objects.create(
            resource=resource, weekday=3, opens=dt.time(13), closes=dt.time(18)
        )
        self.book(resource, next_weekday(3, 14, weeks=3))

    def test_hours_removed_row_by_row_apply_at_once(self):
        place = PlaceFactory()
        hours = OpeningHoursFactory(place=place, weekday=3, opens=dt.time(9), closes=dt.time(12))
        resource = make_resource(place=place)
        with pytest.raises(ValidationError, match="whole slot"):
            self.book(resource, next_weekday(3, 20))

        hours.delete()  # a place without hours may be booked at any time

        self.book(resource, next_weekday(3, 20))


@pytest.mark.django_db
@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_postgresql_itself_refuses_overlapping_slots():
    resource = make_resource()
    booking = booking_create(
        resource=resource,
        booker=UserFactory(),
        start=next_weekday(3, 14),
        end=next_weekday(3, 16),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Occurrence.objects.create(
            booking=booking,
            resource=resource,
            start=next_weekday(3, 15),
            end=next_weekday(3, 17),
            held_until=next_weekday(3, 17),
            status="confirmed",
        )


@pytest.mark.django_db(transaction=True)
def test_concurrent_bookings_of_one_slot_give_exactly_one_winner():
    """Threads released together book the same slot: one wins, the others get a conflict."""
    threads_per_round, rounds = 12, 4
    resource = make_resource()
    users = [UserFactory() for _ in range(threads_per_round)]
    for round_number in range(rounds):
        start = next_weekday(3, 8 + round_number)
        outcomes: list[str] = []
        barrier = threading.Barrier(threads_per_round)

        def attempt(user, start=start, outcomes=outcomes, barrier=barrier):
            try:
                barrier.wait(timeout=10)
                booking_create(
                    resource=resource, booker=user, start=start, end=start + dt.timedelta(hours=1)
                )
                outcomes.append("booked")
            except BookingConflict:
                outcomes.append("conflict")
            except Exception as error:  # any other outcome fails the test below
                outcomes.append(repr(error))
            finally:
                connections.close_all()

        workers = [threading.Thread(target=attempt, args=(user,)) for user in users]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        assert sorted(outcomes) == ["booked"] + ["conflict"] * (threads_per_round - 1)
    assert Occurrence.objects.filter(resource=resource).count() == rounds
    assert connection.vendor in ("sqlite", "postgresql")
