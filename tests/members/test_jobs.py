"""`maillage members_jobs`: everyone still in at a closed place is checked out at its closing time
that day, in its own time zone and across clock changes, or at midnight when it keeps no hours;
running it again does nothing more."""

import datetime as dt
import zoneinfo
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone, translation

from maillage.accounts.models import PlaceRole
from maillage.members import services
from maillage.members.models import CheckIn
from maillage.places.services import place_week_hours_set
from tests.factories import OpeningHoursFactory, PlaceFactory, UserFactory

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
UTC = dt.UTC
SUNDAY = 6
# Clocks go forward on 29 March 2026 (02:00 CET -> 03:00 CEST) and back on 25 October 2026
# (03:00 CEST -> 02:00 CET) in Paris: both are Sundays.
SPRING_FORWARD = dt.date(2026, 3, 29)
FALL_BACK = dt.date(2026, 10, 25)


@pytest.fixture(autouse=True)
def _messages_in_english():
    with translation.override("en"):
        yield


def paris(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=PARIS)


def utc(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=UTC)


def arrive(place, at: dt.datetime) -> CheckIn:
    """Someone of the place's team comes in at `at` (the team spends no ticket)."""
    person = UserFactory()
    PlaceRole.objects.create(user=person, place=place, role=PlaceRole.Role.STAFF)
    return services.checkin(place=place, member=person, at=at)


def left_at(record: CheckIn) -> dt.datetime | None:
    record.refresh_from_db()
    return record.checked_out_at


@pytest.mark.parametrize("day", [SPRING_FORWARD, FALL_BACK])
def test_closing_time_is_local_on_the_days_the_clocks_change(day):
    place = PlaceFactory(time_zone="Europe/Paris")
    place_week_hours_set(place=place, intervals=[(SUNDAY, dt.time(9), dt.time(18))])
    record = arrive(place, paris(day, 10))
    closes = paris(day, 18)

    assert services.checkout_at_closing(now=closes - dt.timedelta(minutes=1)) == 0
    assert left_at(record) is None
    assert services.checkout_at_closing(now=closes + dt.timedelta(minutes=20)) == 1
    assert left_at(record) == closes
    assert record.auto_checked_out
    assert services.checkout_at_closing(now=closes + dt.timedelta(hours=5)) == 0


def test_the_spring_forward_sunday_closes_at_16_utc():
    place = PlaceFactory(time_zone="Europe/Paris")
    place_week_hours_set(place=place, intervals=[(SUNDAY, dt.time(9), dt.time(18))])
    record = arrive(place, utc(SPRING_FORWARD, 8))  # 10:00 in Paris, summer time since 02:00

    assert services.checkout_at_closing(now=utc(SPRING_FORWARD, 15, 59)) == 0
    assert services.checkout_at_closing(now=utc(SPRING_FORWARD, 16)) == 1
    assert left_at(record) == utc(SPRING_FORWARD, 16)


def test_the_last_interval_of_the_day_is_the_closing_time():
    place = PlaceFactory(time_zone="Europe/Paris")
    OpeningHoursFactory(place=place, weekday=SUNDAY, opens=dt.time(9), closes=dt.time(12))
    OpeningHoursFactory(place=place, weekday=SUNDAY, opens=dt.time(14), closes=dt.time(19, 30))
    record = arrive(place, paris(FALL_BACK, 10))

    assert services.checkout_at_closing(now=paris(FALL_BACK, 13)) == 0
    assert services.checkout_at_closing(now=paris(FALL_BACK, 20)) == 1
    assert left_at(record) == paris(FALL_BACK, 19, 30)


def test_a_place_without_hours_closes_at_midnight_even_on_a_25_hour_day():
    place = PlaceFactory(time_zone="Europe/Paris")
    record = arrive(place, paris(FALL_BACK, 10))
    midnight = utc(FALL_BACK, 23)  # 00:00 on Monday in Paris, winter time again

    assert services.checkout_at_closing(now=midnight - dt.timedelta(minutes=1)) == 0
    assert services.checkout_at_closing(now=midnight) == 1
    assert left_at(record) == midnight
    assert left_at(record).astimezone(PARIS) == paris(FALL_BACK + dt.timedelta(days=1), 0)


def test_a_place_without_hours_closes_at_midnight_on_the_23_hour_day():
    place = PlaceFactory(time_zone="Europe/Paris")
    record = arrive(place, paris(SPRING_FORWARD, 10))

    assert services.checkout_at_closing(now=utc(SPRING_FORWARD, 21, 59)) == 0
    assert services.checkout_at_closing(now=utc(SPRING_FORWARD, 22)) == 1
    assert left_at(record) == utc(SPRING_FORWARD, 22)


def test_someone_who_came_after_closing_leaves_at_midnight():
    place = PlaceFactory(time_zone="Europe/Paris")
    place_week_hours_set(place=place, intervals=[(SUNDAY, dt.time(9), dt.time(18))])
    late = arrive(place, paris(SPRING_FORWARD, 19))
    on_time = arrive(place, paris(SPRING_FORWARD, 9, 30))

    assert services.checkout_at_closing(now=paris(SPRING_FORWARD, 23)) == 1
    assert left_at(on_time) == paris(SPRING_FORWARD, 18)
    assert left_at(late) is None
    assert services.checkout_at_closing(now=paris(SPRING_FORWARD + dt.timedelta(days=1), 0)) == 1
    assert left_at(late) == paris(SPRING_FORWARD + dt.timedelta(days=1), 0)


def test_each_place_closes_in_its_own_time_zone():
    paris_place = PlaceFactory(time_zone="Europe/Paris")
    canary_place = PlaceFactory(time_zone="Atlantic/Canary")
    for place in (paris_place, canary_place):
        place_week_hours_set(place=place, intervals=[(SUNDAY, dt.time(9), dt.time(18))])
    in_paris = arrive(paris_place, paris(FALL_BACK, 10))
    in_canary = arrive(canary_place, paris(FALL_BACK, 11))

    # 18:00 in Paris (CET) is 17:00 UTC; 18:00 in the Canaries (WET) is 18:00 UTC.
    assert services.checkout_at_closing(now=utc(FALL_BACK, 17, 30)) == 1
    assert left_at(in_paris) == utc(FALL_BACK, 17)
    assert left_at(in_canary) is None
    assert services.checkout_at_closing(now=utc(FALL_BACK, 18)) == 1
    assert left_at(in_canary) == utc(FALL_BACK, 18)


def test_whoever_checked_out_keeps_their_time():
    place = PlaceFactory(time_zone="Europe/Paris")
    record = arrive(place, paris(FALL_BACK, 10))
    services.checkout(record=record, at=paris(FALL_BACK, 15))

    assert services.checkout_at_closing(now=paris(FALL_BACK + dt.timedelta(days=2), 0)) == 0
    record.refresh_from_db()
    assert record.checked_out_at == paris(FALL_BACK, 15)
    assert not record.auto_checked_out


def run_jobs() -> str:
    output = StringIO()
    call_command("members_jobs", stdout=output)
    return output.getvalue()


def test_the_command_checks_out_and_says_how_many_and_a_second_run_does_nothing():
    place = PlaceFactory(time_zone="Europe/Paris")  # no hours: midnight
    yesterday = timezone.now().astimezone(PARIS).date() - dt.timedelta(days=1)
    gone = [arrive(place, paris(yesterday, 10)), arrive(place, paris(yesterday, 11))]
    still_here = arrive(place, timezone.now())

    first, second = run_jobs(), run_jobs()

    assert first.strip() == "Checked out at closing time: 2."
    assert second.strip() == "Checked out at closing time: 0."
    assert all(left_at(record) == paris(yesterday + dt.timedelta(days=1), 0) for record in gone)
    assert left_at(still_here) is None
