"""Opening hours and seasons: pure functions over plain values, so they can be property-tested.

Hours are wall-clock times in the place's time zone. An instant is converted to the place's local
date and time before comparing, so "9:00–18:00" means 9:00–18:00 on both sides of a DST change.
"""

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SeasonRule:
    key: int
    start: dt.date
    end: dt.date
    yearly: bool
    closed: bool

    def covers(self, day: dt.date) -> bool:
        if not self.yearly:
            return self.start <= day <= self.end
        start, end, current = (
            (self.start.month, self.start.day),
            (self.end.month, self.end.day),
            (day.month, day.day),
        )
        if start <= end:
            return start <= current <= end
        return current >= start or current <= end  # wraps over New Year

    def length_days(self) -> int:
        if not self.yearly:
            return (self.end - self.start).days
        start = dt.date(2001, self.start.month, self.start.day)
        end = dt.date(2001, self.end.month, min(self.end.day, 28 if self.end.month == 2 else 31))
        return (end - start).days % 365


@dataclass(frozen=True)
class HoursRule:
    season_key: int | None
    weekday: int
    opens: dt.time
    closes: dt.time


def season_on(seasons: Iterable[SeasonRule], day: dt.date) -> SeasonRule | None:
    """The season that governs `day`: when seasons overlap, the shortest (most specific) wins."""
    matching = [season for season in seasons if season.covers(day)]
    if not matching:
        return None
    return min(matching, key=lambda s: (s.length_days(), s.key))


def intervals_on(
    day: dt.date, hours: Sequence[HoursRule], seasons: Sequence[SeasonRule]
) -> list[tuple[dt.time, dt.time]]:
    """Opening intervals of a local date, sorted; empty when closed."""
    season = season_on(seasons, day)
    if season is not None and season.closed:
        return []
    season_key = season.key if season is not None else None
    weekday = day.weekday()
    return sorted(
        (rule.opens, rule.closes)
        for rule in hours
        if rule.season_key == season_key and rule.weekday == weekday
    )


def is_open_at(
    instant: dt.datetime,
    time_zone: str,
    hours: Sequence[HoursRule],
    seasons: Sequence[SeasonRule],
) -> bool:
    if instant.tzinfo is None:
        raise ValueError("is_open_at needs an aware datetime")
    local = instant.astimezone(zoneinfo.ZoneInfo(time_zone))
    moment = local.time().replace(tzinfo=None)
    return any(
        opens <= moment < closes for opens, closes in intervals_on(local.date(), hours, seasons)
    )


def next_change(
    instant: dt.datetime,
    time_zone: str,
    hours: Sequence[HoursRule],
    seasons: Sequence[SeasonRule],
    *,
    horizon_days: int = 14,
) -> dt.datetime | None:
    """The next instant the place opens or closes (within the horizon), as an aware datetime."""
    zone = zoneinfo.ZoneInfo(time_zone)
    local = instant.astimezone(zone)
    for offset in range(horizon_days + 1):
        day = local.date() + dt.timedelta(days=offset)
        for opens, closes in intervals_on(day, hours, seasons):
            for boundary in (opens, closes):
                candidate = dt.datetime.combine(day, boundary, tzinfo=zone)
                if candidate > local:
                    return candidate
    return None
