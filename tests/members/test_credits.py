"""Booking credits of monthly subscriptions (maillage.members.credits through bookings.services):
taken from the month of a slot's local start, given back on a timely cancellation or a refusal,
never overdrawn, renewed each month without carrying over, adjusted by the team."""

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from maillage.accounts.models import PlaceRole, User
from maillage.bookings.models import Booking, Occurrence
from maillage.bookings.services import (
    CancellationTooLate,
    booking_cancel,
    booking_create,
    booking_decide,
    resource_create,
)
from maillage.core.models import AuditEntry
from maillage.members import periods, services
from maillage.members.credits import NotEnoughCredits, hours_label
from maillage.members.models import CreditUse, MembershipMonth, Plan
from tests.factories import PlaceFactory, UserFactory, make_manager
from tests.members.factories import give, plan_for

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
HOUR = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def today() -> dt.date:
    return timezone.now().astimezone(PARIS).date()


def first_of_next_month() -> dt.date:
    return periods.next_month(periods.month_of(today()))


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=PARIS)


def room_of(place, **fields):
    fields = {
        "name": "Salle Lozère",
        "kind": "meeting_room",
        "credits_per_hour": 1,
        "horizon_days": 400,
        **fields,
    }
    return resource_create(place=place, author=None, **fields)


@pytest.fixture
def place():
    return PlaceFactory(time_zone="Europe/Paris")


@pytest.fixture
def resident(place):
    """A member whose subscription gives 3 hours of meeting rooms a month, from today."""
    plan = plan_for(
        place,
        name="Résident",
        kind=Plan.Kind.SUBSCRIPTION,
        price=Decimal("150.00"),
        credit_hours=3,
        resource_kinds=["meeting_room", "visio_room"],
    )
    return give(plan, UserFactory(language="en"))


def book(room, member, start, minutes=60, **kwargs) -> Booking:
    return booking_create(
        resource=room,
        booker=member,
        start=start,
        end=start + dt.timedelta(minutes=minutes),
        **kwargs,
    )


def used(membership, month) -> int:
    return MembershipMonth.objects.get(membership=membership, month=month).credit_minutes_used


# Charging ------------------------------------------------------------------------------------


def test_a_booking_takes_its_minutes_times_the_rate_rounded_up(place, resident):
    month = first_of_next_month()
    day = month + dt.timedelta(days=4)
    costly = room_of(place, name="Visio", kind="visio_room", credits_per_hour=Decimal("1.5"))
    cheap = room_of(place, credits_per_hour=Decimal("0.33"))
    first = book(costly, resident.user, local(day, 9), minutes=50)
    book(cheap, resident.user, local(day, 14), minutes=60)
    assert CreditUse.objects.get(occurrence__booking=first).minutes == 75
    row = MembershipMonth.objects.get(membership=resident, month=month)
    assert (row.credit_minutes, row.credit_minutes_used) == (180, 75 + 20)


def test_a_slot_is_charged_to_the_month_of_its_local_start(place, resident):
    month = first_of_next_month()
    following = periods.next_month(month)
    room = room_of(place)
    # 23:30 on the last evening of the month until 00:30: the month where it starts.
    late = book(room, resident.user, local(following - dt.timedelta(days=1), 23, 30))
    # 00:30 on the 1st is still the previous day in UTC: the new month.
    early = book(room, resident.user, local(following, 0, 30))
    assert early.new_occurrences[0].start.astimezone(dt.UTC).day != 1
    assert CreditUse.objects.get(occurrence__booking=late).month.month == month
    assert CreditUse.objects.get(occurrence__booking=early).month.month == following
    assert (used(resident, month), used(resident, following)) == (60, 60)


def test_a_series_over_two_months_charges_each_month(place, resident):
    month = first_of_next_month()
    following = periods.next_month(month)
    room = room_of(place)
    start = local(following - dt.timedelta(days=2), 10)
    booking = book(room, resident.user, start, minutes=90, rrule="FREQ=DAILY;COUNT=4")
    uses = CreditUse.objects.filter(occurrence__booking=booking).select_related("month")
    assert sorted(use.month.month for use in uses) == [month, month, following, following]
    assert (used(resident, month), used(resident, following)) == (180, 180)


def test_not_enough_credits_refuses_the_booking_and_writes_nothing(place, resident):
    month = first_of_next_month()
    room = room_of(place)
    book(room, resident.user, local(month + dt.timedelta(days=3), 9), minutes=120)
    with pytest.raises(NotEnoughCredits) as caught:
        book(room, resident.user, local(month + dt.timedelta(days=3), 14), minutes=90)
    assert isinstance(caught.value, ValidationError)
    assert "Not enough booking credits left" in caught.value.messages[0]
    assert "1 h left, this booking needs 1 h 30" in caught.value.messages[0]
    assert Booking.objects.count() == Occurrence.objects.count() == CreditUse.objects.count() == 1
    assert used(resident, month) == 120
    # What is left can still be booked.
    book(room, resident.user, local(month + dt.timedelta(days=3), 14), minutes=60)
    assert used(resident, month) == 180


def test_a_series_short_of_credits_in_one_month_is_refused_whole(place, resident):
    month = first_of_next_month()
    following = periods.next_month(month)
    room = room_of(place)
    book(room, resident.user, local(following + dt.timedelta(days=5), 9), minutes=180)
    with pytest.raises(NotEnoughCredits):
        book(
            room,
            resident.user,
            local(following - dt.timedelta(days=2), 10),
            rrule="FREQ=DAILY;COUNT=4",
        )
    assert Booking.objects.count() == Occurrence.objects.count() == CreditUse.objects.count() == 1
    assert not MembershipMonth.objects.filter(membership=resident, month=month).exists()
    assert used(resident, following) == 180


def test_the_team_booking_for_a_member_spends_the_members_credits(place, resident):
    month = first_of_next_month()
    staff = UserFactory()
    PlaceRole.objects.create(user=staff, place=place, role=PlaceRole.Role.STAFF)
    book(room_of(place), resident.user, local(month + dt.timedelta(days=3), 9), created_by=staff)
    assert used(resident, month) == 60


# Giving back --------------------------------------------------------------------------------


def test_a_timely_cancellation_gives_the_credits_back(place, resident):
    month = first_of_next_month()
    room = room_of(place, cancel_deadline_hours=24)
    booking = book(
        room, resident.user, local(month + dt.timedelta(days=3), 9), rrule="FREQ=WEEKLY;COUNT=2"
    )
    assert used(resident, month) == 120
    assert booking_cancel(booking=booking, actor=resident.user) == 2
    assert used(resident, month) == 0
    assert not CreditUse.objects.filter(refunded_at__isnull=True).exists()
    # Cancelling again gives nothing more back.
    booking_cancel(booking=booking, actor=resident.user)
    assert used(resident, month) == 0


def test_a_late_cancellation_is_refused_to_the_member_and_refunded_by_the_team(place, resident):
    room = room_of(place, cancel_deadline_hours=24)
    start = (timezone.now() + 2 * HOUR).replace(minute=0, second=0, microsecond=0)
    booking = book(room, resident.user, start)
    month = periods.month_of(periods.local_day(start, PARIS))
    with pytest.raises(CancellationTooLate):
        booking_cancel(booking=booking, actor=resident.user)
    assert used(resident, month) == 60
    booking_cancel(booking=booking, actor=make_manager(place))
    assert used(resident, month) == 0


def test_a_refused_request_gives_the_credits_back_an_approved_one_keeps_them(place, resident):
    month = first_of_next_month()
    room = room_of(place, requires_approval=True)
    manager = make_manager(place)
    refused = book(room, resident.user, local(month + dt.timedelta(days=3), 9))
    approved = book(room, resident.user, local(month + dt.timedelta(days=3), 11))
    assert used(resident, month) == 120
    booking_decide(booking=refused, actor=manager, approve=False)
    booking_decide(booking=approved, actor=manager, approve=True)
    assert used(resident, month) == 60
    assert CreditUse.objects.get(refunded_at__isnull=True).occurrence.booking == approved


# Who pays with credits -------------------------------------------------------------------------


def test_bookings_without_a_paying_subscription_are_not_charged(place, resident):
    month = first_of_next_month()
    day = month + dt.timedelta(days=6)
    room = room_of(place)
    free_room = room_of(place, name="Salle libre", credits_per_hour=0)
    desk = room_of(place, name="Bureau", kind="desk")
    nobody = UserFactory()
    book_holder = give(plan_for(place)).user
    other_place = give(
        plan_for(
            PlaceFactory(),
            name="Ailleurs",
            kind="subscription",
            credit_hours=1,
            resource_kinds=["meeting_room"],
        )
    ).user
    for hour, (resource, member) in enumerate(
        [
            (room, nobody),
            (room, book_holder),
            (room, other_place),
            (free_room, resident.user),
            (desk, resident.user),
        ]
    ):
        book(resource, member, local(day, 8 + 2 * hour), minutes=120)
    assert Booking.objects.count() == 5
    assert not CreditUse.objects.exists()
    assert not MembershipMonth.objects.filter(credit_minutes_used__gt=0).exists()


def test_slots_outside_the_subscription_are_not_charged(place):
    month = first_of_next_month()
    plan = plan_for(
        place,
        name="Résident",
        kind="subscription",
        credit_hours=1,
        resource_kinds=["meeting_room"],
    )
    membership = give(plan, starts_on=month + dt.timedelta(days=10))
    room = room_of(place)
    book(room, membership.user, local(month + dt.timedelta(days=3), 9), minutes=180)
    assert not CreditUse.objects.exists()
    with pytest.raises(NotEnoughCredits):
        book(room, membership.user, local(month + dt.timedelta(days=12), 9), minutes=120)


# Adjusting, renewal ---------------------------------------------------------------------------


def test_the_team_adjusts_a_months_credits_and_it_is_audited(place, resident):
    month = first_of_next_month()
    staff = UserFactory()
    PlaceRole.objects.create(user=staff, place=place, role=PlaceRole.Role.STAFF)
    row = services.credits_adjust(
        membership=resident,
        month=month + dt.timedelta(days=9),
        hours_delta=Decimal("1.5"),
        actor=staff,
        reason="Salle en travaux",
    )
    assert (row.month, row.credit_minutes) == (month, 270)
    entry = AuditEntry.objects.get(action="credits.adjust")
    assert entry.details == {
        "member": resident.user.email,
        "month": month.isoformat(),
        "minutes": 90,
        "reason": "Salle en travaux",
    }
    room = room_of(place)
    book(room, resident.user, local(month + dt.timedelta(days=3), 9), minutes=240)
    row = services.credits_adjust(
        membership=resident, month=month, hours_delta=Decimal("-0.5"), actor=staff
    )
    assert (row.credit_minutes, row.credit_minutes_used) == (240, 240)
    assert used(resident, month) == 240


def test_credits_never_go_below_what_is_used(place, resident):
    month = first_of_next_month()
    staff = make_manager(place)
    book(room_of(place), resident.user, local(month + dt.timedelta(days=3), 9), minutes=120)
    for delta in (Decimal("-1.5"), Decimal("-10")):
        with pytest.raises(ValidationError) as caught:
            services.credits_adjust(
                membership=resident, month=month, hours_delta=delta, actor=staff
            )
        assert "hours" in caught.value.message_dict
    with pytest.raises(ValidationError):
        services.credits_adjust(membership=resident, month=month, hours_delta=0, actor=staff)
    row = MembershipMonth.objects.get(membership=resident, month=month)
    assert (row.credit_minutes, row.credit_minutes_used) == (180, 120)
    assert not AuditEntry.objects.filter(action="credits.adjust").exists()


def test_only_the_team_adjusts_and_only_subscriptions(place, resident):
    month = first_of_next_month()
    with pytest.raises(PermissionError):
        services.credits_adjust(
            membership=resident, month=month, hours_delta=Decimal(5), actor=resident.user
        )
    with pytest.raises(PermissionError):
        services.credits_adjust(
            membership=resident,
            month=month,
            hours_delta=Decimal(5),
            actor=make_manager(PlaceFactory()),
        )
    book_membership = give(plan_for(place))
    with pytest.raises(ValidationError):
        services.credits_adjust(
            membership=book_membership,
            month=month,
            hours_delta=Decimal(5),
            actor=make_manager(place),
        )
    assert not MembershipMonth.objects.exists()


def test_each_month_brings_the_full_allowance_and_unused_credits_expire(place, resident):
    month = first_of_next_month()
    following = periods.next_month(month)
    room = room_of(place)
    book(room, resident.user, local(month + dt.timedelta(days=3), 9), minutes=60)
    # Two unused hours do not carry over: the next month has its three hours, no more.
    book(room, resident.user, local(following + dt.timedelta(days=3), 9), minutes=180)
    with pytest.raises(NotEnoughCredits):
        book(room, resident.user, local(following + dt.timedelta(days=4), 9), minutes=30)
    rows = {
        row.month: (row.credit_minutes, row.credit_minutes_used)
        for row in MembershipMonth.objects.filter(membership=resident)
    }
    assert rows == {month: (180, 60), following: (180, 180)}


def test_a_changed_allowance_applies_to_months_not_yet_used(place, resident):
    month = first_of_next_month()
    following = periods.next_month(month)
    room = room_of(place)
    book(room, resident.user, local(month + dt.timedelta(days=3), 9), minutes=60)
    services.plan_save(
        place=place, actor=make_manager(place), plan=resident.plan, data={"credit_hours": 5}
    )
    book(room, resident.user, local(following + dt.timedelta(days=3), 9), minutes=60)
    assert MembershipMonth.objects.get(membership=resident, month=month).credit_minutes == 180
    assert MembershipMonth.objects.get(membership=resident, month=following).credit_minutes == 300


@pytest.mark.parametrize(
    ("minutes", "label"), [(0, "0 h"), (60, "1 h"), (90, "1 h 30"), (125, "2 h 05")]
)
def test_hours_are_labelled_as_people_say_them(minutes, label):
    assert hours_label(minutes) == label


def test_an_account_without_plans_books_as_before(place):
    member = User.objects.create(email="libre@example.org")
    booking = book(room_of(place), member, local(first_of_next_month() + dt.timedelta(days=2), 9))
    assert booking.pk and not CreditUse.objects.exists()
