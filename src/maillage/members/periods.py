"""Days and months as a place lives them: pure functions of an instant and a time zone.

A check-in belongs to the place's local day; a subscription's allowance to the place's local
calendar month, which begins at local midnight on the 1st whatever the clocks do that night.
"""

import datetime as dt
import zoneinfo


def local_day(instant: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.date:
    # Through UTC: astimezone() returns a datetime already in `zone` unchanged, wall-clock
    # time included, even one that never happened there (a skipped midnight or day).
    return instant.astimezone(dt.UTC).astimezone(zone).date()


def month_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def local_midnight(day: dt.date, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The first instant of `day` in `zone` (midnight exists in every zone we serve; where a
    change would skip it, fold=0 gives the instant just after the gap)."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone)


def month_bounds(month: dt.date, zone: zoneinfo.ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The instants where a local month begins and where the next one begins."""
    return local_midnight(month, zone), local_midnight(next_month(month), zone)


def validity_end(starts_on: dt.date, valid_days: int | None) -> dt.date | None:
    """The last day (inclusive) of something valid `valid_days` days from `starts_on`."""
    if valid_days is None:
        return None
    return starts_on + dt.timedelta(days=valid_days - 1)


def valid_on(starts_on: dt.date, ends_on: dt.date | None, day: dt.date) -> bool:
    return starts_on <= day and (ends_on is None or day <= ends_on)


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """The months from the one of `first` to the one of `last`, both included."""
    months, month = [], month_of(first)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months
