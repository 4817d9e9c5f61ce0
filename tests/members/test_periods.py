"""Days and months of a place (maillage.members.periods): property tests across DST changes, month
ends and zones whose clocks do odd things (midnight skipped or repeated, a whole day skipped,
half-hour changes), then the credits of a booking charged to the month of its local start."""

import datetime as dt
import itertools
import zoneinfo

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from maillage.bookings.services import booking_create, resource_create
from maillage.members import periods
from maillage.members.models import CreditUse, MembershipMonth, Plan
from tests.factories import PlaceFactory, UserFactory
from tests.members.factories import give, plan_for

UTC = dt.UTC
MICROSECOND = dt.timedelta(microseconds=1)
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
ZONES = [
    zoneinfo.ZoneInfo(name)
    for name in (
        "Europe/Paris",
        "America/Santiago",  # DST starts at midnight: 00:00 never happens that day
        "America/Havana",  # DST ends at 01:00: midnight happens twice
        "Pacific/Apia",  # skipped 30 December 2011 when it crossed the date line
        "Australia/Lord_Howe",  # changes by half an hour
        "Africa/Casablanca",  # clocks go back and forth around Ramadan
        "Pacific/Kiritimati",  # UTC+14
        "America/St_Johns",  # UTC-3:30
        "UTC",
    )
]

zones = st.sampled_from(ZONES)
# Naive bounds, as hypothesis wants them; every instant drawn is in UTC.
instants = st.datetimes(
    min_value=dt.datetime(1995, 1, 1),  # noqa: DTZ001
    max_value=dt.datetime(2045, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)
months = st.dates(min_value=dt.date(1995, 1, 1), max_value=dt.date(2045, 12, 1)).map(
    periods.month_of
)


def utc(instant: dt.datetime) -> dt.datetime:
    """Comparisons and differences of two datetimes of the same zone are wall-clock ones in
    Python: every check is made in UTC."""
    return instant.astimezone(UTC)


def test_a_month_starts_at_local_midnight_of_the_first_across_a_dst_change():
    # Paris, 1 April 2024 (summer time) and 1 November 2024 (winter time).
    assert periods.month_bounds(dt.date(2024, 4, 1), PARIS) == (
        dt.datetime(2024, 3, 31, 22, tzinfo=UTC),
        dt.datetime(2024, 4, 30, 22, tzinfo=UTC),
    )
    start, end = periods.month_bounds(dt.date(2024, 10, 1), PARIS)
    assert (utc(start), utc(end)) == (
        dt.datetime(2024, 9, 30, 22, tzinfo=UTC),
        dt.datetime(2024, 10, 31, 23, tzinfo=UTC),
    )
    # October 2024 lasts one hour longer than 31 days of 24 hours.
    assert utc(end) - utc(start) == dt.timedelta(days=31, hours=1)


def test_a_skipped_midnight_starts_the_day_at_the_first_instant_that_exists():
    santiago = zoneinfo.ZoneInfo("America/Santiago")
    # 8 September 2024: clocks jumped from 00:00 to 01:00.
    midnight = periods.local_midnight(dt.date(2024, 9, 8), santiago)
    assert utc(midnight) == dt.datetime(2024, 9, 8, 4, tzinfo=UTC)
    assert periods.local_day(midnight, santiago) == dt.date(2024, 9, 8)
    assert periods.local_day(utc(midnight) - MICROSECOND, santiago) == dt.date(2024, 9, 7)


def test_the_day_that_samoa_skipped_belongs_to_no_instant():
    apia = zoneinfo.ZoneInfo("Pacific/Apia")
    start, end = periods.month_bounds(dt.date(2011, 12, 1), apia)
    # December 2011 had 30 days in Samoa: it ends when 1 January 2012 begins there.
    assert utc(end) - utc(start) == dt.timedelta(days=30)
    instant = periods.local_midnight(dt.date(2011, 12, 30), apia)
    assert periods.local_day(instant, apia) == dt.date(2011, 12, 31)
    assert periods.local_day(utc(instant), apia) == dt.date(2011, 12, 31)


@given(instant=instants, zone=zones)
def test_the_local_day_does_not_depend_on_how_the_instant_is_written(instant, zone):
    day = periods.local_day(instant, zone)
    assert periods.local_day(instant.astimezone(zone), zone) == day
    assert periods.local_day(instant.astimezone(zoneinfo.ZoneInfo("Asia/Tokyo")), zone) == day
    assert abs(day - instant.date()) <= dt.timedelta(days=1)


@given(month=months, zone=zones)
@example(month=dt.date(1995, 1, 1), zone=zoneinfo.ZoneInfo("Pacific/Kiritimati"))
def test_month_bounds_are_the_local_midnights_of_the_first_and_strictly_increase(month, zone):
    start, end = periods.month_bounds(month, zone)
    following = periods.next_month(month)
    assert month.day == 1 and following.day == 1
    assert 28 <= (following - month).days <= 31
    assert periods.month_of(following - dt.timedelta(days=1)) == month
    # The month begins at the first instant of its first day in the zone...
    # (the instant before is on an earlier day: the last day of the month before, unless the
    # zone skipped it, as Kiritimati skipped 31 December 1994 crossing the date line)...
    assert periods.local_day(start, zone) == month
    before = periods.local_day(utc(start) - MICROSECOND, zone)
    assert month - dt.timedelta(days=2) <= before < month
    # ... and ends where the next one begins, a little less or more than its days of 24 hours.
    assert utc(start) < utc(end)
    assert end == periods.month_bounds(following, zone)[0]
    assert periods.local_day(end, zone) == following
    last = periods.local_day(utc(end) - MICROSECOND, zone)
    assert following - dt.timedelta(days=2) <= last < following
    hours = (utc(end) - utc(start)) / dt.timedelta(hours=1)
    assert abs(hours - 24 * (following - month).days) <= 24  # Samoa lost a whole day


@given(instant=instants, zone=zones)
def test_every_instant_falls_in_exactly_one_month(instant, zone):
    month = periods.month_of(periods.local_day(instant, zone))
    before = periods.month_of(month - dt.timedelta(days=1))
    after = periods.next_month(month)
    containing = [
        candidate
        for candidate in (before, month, after)
        if utc(periods.month_bounds(candidate, zone)[0])
        <= instant
        < utc(periods.month_bounds(candidate, zone)[1])
    ]
    assert containing == [month]


@given(
    first=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2040, 1, 1)),
    span=st.integers(min_value=0, max_value=800),
)
def test_months_between_lists_each_month_once_in_order(first, span):
    last = first + dt.timedelta(days=span)
    listed = periods.months_between(first, last)
    assert listed[0] == periods.month_of(first) and listed[-1] == periods.month_of(last)
    assert all(periods.next_month(a) == b for a, b in itertools.pairwise(listed))
    assert len(listed) == (last.year - first.year) * 12 + last.month - first.month + 1


@given(
    starts_on=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2040, 1, 1)),
    valid_days=st.one_of(st.none(), st.integers(min_value=1, max_value=800)),
    probe=st.integers(min_value=-3, max_value=803),
)
def test_validity_lasts_exactly_the_days_of_the_plan(starts_on, valid_days, probe):
    ends_on = periods.validity_end(starts_on, valid_days)
    day = starts_on + dt.timedelta(days=probe)
    if valid_days is None:
        assert ends_on is None
        assert periods.valid_on(starts_on, ends_on, day) == (probe >= 0)
        return
    assert (ends_on - starts_on).days + 1 == valid_days
    assert periods.valid_on(starts_on, ends_on, day) == (0 <= probe < valid_days)


# Credits of a booking go to the month of its local start ------------------------------------


def last_sunday(year: int, month: int) -> dt.date:
    last = dt.date(year, month, 31)
    return last - dt.timedelta(days=(last.weekday() - 6) % 7)


def _month_boundaries() -> list[dt.datetime]:
    """Local midnights of the 1st of the next two years in Paris, and the DST nights."""
    today = timezone.now().astimezone(PARIS).date()
    month, nights = periods.next_month(periods.month_of(today)), []
    for _ in range(24):
        nights.append(periods.local_midnight(month, PARIS))
        month = periods.next_month(month)
    for year in (today.year + 1, today.year + 2):
        for change in (3, 10):
            nights.append(periods.local_midnight(last_sunday(year, change), PARIS))
    return nights


BOUNDARIES = _month_boundaries()


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    boundary=st.sampled_from(BOUNDARIES),
    # From three hours before the boundary to three after, on a five-minute grid, so that
    # 23:30 on the last day of a month and the hour a DST night skips or repeats come up.
    offset=st.integers(min_value=-36, max_value=36).map(lambda n: dt.timedelta(minutes=5 * n)),
    minutes=st.sampled_from([30, 45, 60, 90, 120]),
)
def test_a_booking_is_charged_to_the_month_of_its_local_start(boundary, offset, minutes):
    start = utc(boundary) + offset
    with transaction.atomic():
        place = PlaceFactory(time_zone="Europe/Paris")
        room = resource_create(
            place=place,
            author=None,
            name="Salle Lot",
            kind="meeting_room",
            credits_per_hour=1,
            horizon_days=3000,
        )
        plan = plan_for(
            place,
            name="Résident",
            kind=Plan.Kind.SUBSCRIPTION,
            credit_hours=5,
            resource_kinds=["meeting_room"],
        )
        member = UserFactory()
        membership = give(plan, member)
        booking = booking_create(
            resource=room, booker=member, start=start, end=start + dt.timedelta(minutes=minutes)
        )
        use = CreditUse.objects.select_related("month").get(occurrence__booking=booking)
        local_start = start.astimezone(PARIS)
        assert use.month.month == local_start.date().replace(day=1)
        assert use.minutes == minutes
        row = MembershipMonth.objects.get(membership=membership)
        assert (row.month, row.credit_minutes, row.credit_minutes_used) == (
            use.month.month,
            300,
            minutes,
        )
        month_start, month_end = periods.month_bounds(row.month, PARIS)
        assert utc(month_start) <= start < utc(month_end)
        transaction.set_rollback(True)


@given(month=months)
def test_half_past_eleven_on_the_last_evening_of_a_paris_month_is_still_that_month(month):
    following = periods.next_month(month)
    last_evening = dt.datetime.combine(
        following - dt.timedelta(days=1), dt.time(23, 30), tzinfo=PARIS
    )
    assert periods.month_of(periods.local_day(last_evening, PARIS)) == month
    assert periods.local_day(utc(last_evening) + dt.timedelta(minutes=30), PARIS) == following
