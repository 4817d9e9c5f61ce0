"""The rollups stay right when rows change after their day was rolled up: late cancellations of
registrations and bookings, approvals after the day, check-ins taken back, and the writes of the
services that bypass signals (they touch only the current day or later)."""

import datetime as dt

import pytest
from django.utils import timezone

from maillage.accounts.models import PlaceRole
from maillage.agenda import services as agenda_services
from maillage.agenda.models import Event, Registration
from maillage.bookings import services as booking_services
from maillage.bookings.models import Booking, Occurrence, Resource
from maillage.impact import selectors, services
from maillage.impact.models import DailyFigure, DirtyDay, RollupRun
from maillage.impact.periods import Period
from maillage.members import services as member_services
from maillage.members.models import CheckIn
from tests.factories import PlaceFactory, UserFactory, make_manager

from .worlds import PARIS, at

DAY = dt.date(2025, 3, 30)  # the spring DST change in Paris
NOW = dt.datetime(2025, 4, 10, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def frozen(monkeypatch):
    """The services and the receivers see NOW as the present."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return NOW


@pytest.fixture
def place():
    return PlaceFactory(time_zone="Europe/Paris")


def value(place, code, key="", day=DAY):
    figure = selectors.place_figures(place, Period.custom(day, day)).find(code, key)
    return None if figure is None else figure.value


def _event(place, *, registrations=2):
    event = Event.objects.create(
        place=place,
        title="Repair café",
        category="workshop",
        start=at(DAY, 14 * 60),
        end=at(DAY, 17 * 60),
        capacity=10,
        confirmed_count=registrations,
    )
    rows = [
        Registration.objects.create(
            event=event, name="Someone", email=f"p{n}@example.org", status="confirmed"
        )
        for n in range(registrations)
    ]
    return event, rows


@pytest.mark.django_db
def test_a_registration_cancelled_after_the_rollup_is_corrected_by_the_next_run(frozen, place):
    _event_row, (_kept, late) = _event(place)
    services.run_rollup(first=DAY, last=DAY)
    assert value(place, "participants") == 2
    assert value(place, "fill_rate") == 20.0
    agenda_services.registration_cancel(registration=late)
    assert DirtyDay.objects.filter(place_id=place.pk, day=DAY).exists()
    services.run_rollup()
    assert value(place, "participants") == 1
    assert value(place, "fill_rate") == 10.0
    assert not DirtyDay.objects.filter(place_id=place.pk, day=DAY).exists()


@pytest.mark.django_db
def test_an_event_cancelled_after_it_was_held_no_longer_counts(frozen, place):
    event, _rows = _event(place)
    services.run_rollup(first=DAY, last=DAY)
    assert value(place, "events_held") == 1
    event.status = Event.Status.CANCELLED
    event.save()
    services.run_rollup()
    assert value(place, "events_held") == 0
    assert value(place, "participants") == 0


@pytest.mark.django_db
def test_a_slot_cancelled_or_moved_after_the_rollup_is_corrected(frozen, place):
    resource = Resource.objects.create(place=place, name="Salle", kind="meeting_room")
    booking = Booking.objects.create(resource=resource, booker=UserFactory())
    slot = Occurrence.objects.create(
        booking=booking,
        resource=resource,
        start=at(DAY, 9 * 60),
        end=at(DAY, 11 * 60),
        held_until=at(DAY, 11 * 60),
        status="confirmed",
    )
    services.run_rollup(first=DAY, last=DAY + dt.timedelta(days=1))
    assert value(place, "booked_hours", "meeting_room") == 2.0
    # Moved to the next day (an edit in the admin): both days are recomputed.
    slot.start, slot.end = at(DAY, 33 * 60), at(DAY, 34 * 60)
    slot.held_until = slot.end
    slot.save()
    services.run_rollup()
    assert value(place, "booked_hours", "meeting_room") is None
    assert value(place, "booked_hours", "meeting_room", day=DAY + dt.timedelta(days=1)) == 1.0
    slot.status = Occurrence.Status.CANCELLED
    slot.save()
    services.run_rollup()
    assert value(place, "booked_hours", "meeting_room", day=DAY + dt.timedelta(days=1)) is None


@pytest.mark.django_db
def test_a_past_slot_approved_late_is_counted(frozen, place):
    """booking_decide changes the slots with a queryset update (no signal): the booking's own
    save marks the days of its slots."""
    manager = make_manager(place)
    resource = Resource.objects.create(
        place=place, name="Salle", kind="meeting_room", requires_approval=True
    )
    booking = Booking.objects.create(resource=resource, booker=UserFactory())
    Occurrence.objects.create(
        booking=booking,
        resource=resource,
        start=at(DAY, 9 * 60),
        end=at(DAY, 10 * 60),
        held_until=at(DAY, 10 * 60),
        status="pending",
    )
    services.run_rollup(first=DAY, last=DAY)
    assert value(place, "booked_hours", "meeting_room") is None
    booking_services.booking_decide(booking=booking, actor=manager, approve=True)
    services.run_rollup()
    assert value(place, "booked_hours", "meeting_room") == 1.0


@pytest.mark.django_db
def test_a_slot_cancelled_by_booking_cancel_today_is_corrected_by_the_next_run(frozen, place):
    """booking_cancel frees slots with a queryset update (no signal), only slots that have not
    started: the day is today or later, and today is always recomputed."""
    today = NOW.astimezone(PARIS).date()
    resource = Resource.objects.create(place=place, name="Salle", kind="meeting_room")
    booker = UserFactory()
    booking = Booking.objects.create(resource=resource, booker=booker)
    start = NOW + dt.timedelta(hours=2)
    Occurrence.objects.create(
        booking=booking,
        resource=resource,
        start=start,
        end=start + dt.timedelta(hours=3),
        held_until=start + dt.timedelta(hours=3),
        status="confirmed",
    )
    services.run_rollup()
    assert value(place, "booked_hours", "meeting_room", day=today) == 3.0
    assert booking_services.booking_cancel(booking=booking, actor=booker) == 1
    services.run_rollup()
    assert value(place, "booked_hours", "meeting_room", day=today) == 0.0


@pytest.mark.django_db
def test_a_check_in_taken_back_leaves_the_day_and_its_visitors(frozen, place):
    manager = make_manager(place)
    member = UserFactory()
    record = CheckIn.objects.create(
        user=member, place=place, day=DAY, checked_in_at=at(DAY, 600), consumed="free"
    )
    services.run_rollup(first=DAY, last=DAY)
    assert value(place, "checkins") == 1
    assert value(place, "unique_visitors") == 1
    member_services.checkin_undo(record=record, actor=manager)
    services.run_rollup()
    assert value(place, "checkins") == 0
    assert value(place, "unique_visitors") == 0


@pytest.mark.django_db
def test_deleting_an_account_removes_its_days_from_the_figures(frozen, place):
    member = UserFactory()
    CheckIn.objects.create(
        user=member, place=place, day=DAY, checked_in_at=at(DAY, 600), consumed="free"
    )
    services.run_rollup(first=DAY, last=DAY)
    member.delete()
    services.run_rollup()
    assert value(place, "unique_visitors") == 0


@pytest.mark.django_db
def test_the_default_run_catches_up_the_days_since_the_last_run(monkeypatch, place):
    """Days nobody queued (roles, bookable hours) are rolled up when the job comes back after
    a pause: from the day before its last run to today."""
    PlaceRole.objects.create(user=UserFactory(), place=place, role="resident")
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    services.run_rollup()
    later = NOW + dt.timedelta(days=5)
    monkeypatch.setattr(timezone, "now", lambda: later)
    services.run_rollup()
    rolled = set(
        DailyFigure.objects.filter(place=place, metric="rolled").values_list("day", flat=True)
    )
    first = NOW.date() - dt.timedelta(days=1)
    assert rolled == {first + dt.timedelta(days=n) for n in range(7)}
    assert RollupRun.objects.count() == 2


@pytest.mark.django_db
def test_queued_days_of_a_deleted_place_are_dropped(frozen, place):
    CheckIn.objects.create(
        user=UserFactory(), place=place, day=DAY, checked_in_at=at(DAY, 600), consumed="free"
    )
    place.delete()
    assert DirtyDay.objects.exists()
    services.run_rollup()
    assert not DirtyDay.objects.exists()


@pytest.mark.django_db
def test_future_days_are_not_queued(frozen, place):
    CheckIn.objects.create(
        user=UserFactory(),
        place=place,
        day=DAY + dt.timedelta(days=60),
        checked_in_at=NOW + dt.timedelta(days=60),
        consumed="free",
    )
    assert not DirtyDay.objects.exists()


@pytest.mark.django_db
def test_a_membership_marks_only_the_days_whose_count_changes(frozen, place):
    """Ending a long membership queues the days it is no longer valid, not its whole life; the
    holder's other start days are queued too (who is a new member may change)."""
    from maillage.members.models import Membership, Plan

    plan = Plan.objects.create(place=place, name="Résident", kind="subscription")
    member = UserFactory()
    start = dt.date(2025, 1, 1)
    membership = Membership.objects.create(user=member, plan=plan, place=place, starts_on=start)
    later = Membership.objects.create(
        user=member, plan=plan, place=place, starts_on=dt.date(2025, 3, 1)
    )
    services.run_rollup(first=start, last=dt.date(2025, 4, 10))
    assert value(place, "members_plan", str(plan.pk), day=dt.date(2025, 3, 2)) == 2
    membership.ends_on = dt.date(2025, 3, 31)
    membership.save()
    queued = set(DirtyDay.objects.filter(place_id=place.pk).values_list("day", flat=True))
    assert queued == {dt.date(2025, 4, n) for n in range(1, 12)} | {start, later.starts_on}
    membership.delete()
    services.run_rollup()
    assert value(place, "members_plan", str(plan.pk), day=dt.date(2025, 3, 2)) == 1
    assert value(place, "new_members", day=dt.date(2025, 3, 1)) == 1
    assert value(place, "new_members", day=start) == 0


@pytest.mark.django_db
def test_a_day_marked_again_during_a_run_stays_queued(monkeypatch, place):
    """A change that lands while the job computes a queued day must not be taken off the queue
    with the older mark."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    CheckIn.objects.create(
        user=UserFactory(), place=place, day=DAY, checked_in_at=at(DAY, 600), consumed="free"
    )
    original = services.rollup_days

    def rollup_then_change(*args, **kwargs):
        written = original(*args, **kwargs)
        monkeypatch.setattr(timezone, "now", lambda: NOW + dt.timedelta(seconds=5))
        CheckIn.objects.create(
            user=UserFactory(), place=place, day=DAY, checked_in_at=at(DAY, 700), consumed="free"
        )
        return written

    monkeypatch.setattr(services, "rollup_days", rollup_then_change)
    services.run_rollup()
    assert DirtyDay.objects.filter(place_id=place.pk, day=DAY).exists()
    monkeypatch.setattr(services, "rollup_days", original)
    services.run_rollup()
    assert value(place, "checkins") == 2
    assert not DirtyDay.objects.filter(place_id=place.pk, day=DAY).exists()
