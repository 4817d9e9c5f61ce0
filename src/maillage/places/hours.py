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
        # Measured in a common year: a 29 February counts as the 28th.
        start, end = (
            dt.date(2001, day.month, min(day.day, 28) if day.month == 2 else day.day)
            for day in (self.start, self.end)
        )
        return (end - start).days % 365


@dataclass(frozen=True)
class HoursRule:
    season_key: int | None
    weekday: int
    opens: dt.time
    closes: dt.time


def rules_to_json(hours: Iterable[HoursRule], seasons: Iterable[SeasonRule] = ()) -> dict:
    """Hours and seasons as JSON: the copy kept on a place's or a resource's row, so that
    booking a slot needs no query for them."""
    return {
        "hours": [
            [rule.season_key, rule.weekday, rule.opens.isoformat(), rule.closes.isoformat()]
            for rule in hours
        ],
        "seasons": [
            [
                season.key,
                season.start.isoformat(),
                season.end.isoformat(),
                season.yearly,
                season.closed,
            ]
            for season in seasons
        ],
    }


def rules_from_json(data: dict) -> tuple[tuple[HoursRule, ...], tuple[SeasonRule, ...]]:
    """The inverse of `rules_to_json`; an empty dict is no hours and no seasons."""
    return (
        tuple(
            HoursRule(
                season_key, weekday, dt.time.fromisoformat(opens), dt.time.fromisoformat(closes)
            )
            for season_key, weekday, opens, closes in data.get("hours", ())
        ),
        tuple(
            SeasonRule(
                key, dt.date.fromisoformat(start), dt.date.fromisoformat(end), yearly, closed
            )
            for key, start, end, yearly, closed in data.get("seasons", ())
        ),
    )


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


def _clock_change(zone: zoneinfo.ZoneInfo, start: dt.datetime, end: dt.datetime):
    """The instant in (start, end] at which the zone's UTC offset changes, if it does."""
    offset = start.astimezone(zone).utcoffset()
    if end.astimezone(zone).utcoffset() == offset:
        return None
    low, high = start, end
    while high - low > dt.timedelta(microseconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == offset:
            low = middle
        else:
            high = middle
    return high


def next_change(
    instant: dt.datetime,
    time_zone: str,
    hours: Sequence[HoursRule],
    seasons: Sequence[SeasonRule],
    *,
    horizon_days: int = 14,
) -> dt.datetime | None:
    """The next instant the place opens or closes (within the horizon), as an aware datetime.

    Candidates are the opening and closing times of each local day (both readings of a time the
    clocks repeat) and the instants the clocks change; the first one at which `is_open_at`
    differs from now wins, so back-to-back intervals (9–12, 12–18) are no change.
    """
    if instant.tzinfo is None:
        raise ValueError("next_change needs an aware datetime")
    zone = zoneinfo.ZoneInfo(time_zone)
    now = instant.astimezone(dt.UTC)
    first_day = now.astimezone(zone).date()
    candidates: set[dt.datetime] = set()
    for offset in range(horizon_days + 1):
        day = first_day + dt.timedelta(days=offset)
        day_start = dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)
        change = _clock_change(zone, day_start, day_start + dt.timedelta(days=1))
        if change is not None:
            candidates.add(change)
        for opens, closes in intervals_on(day, hours, seasons):
            for boundary in (opens, closes):
                for fold in (0, 1):
                    local = dt.datetime.combine(day, boundary, tzinfo=zone).replace(fold=fold)
                    candidates.add(local.astimezone(dt.UTC))
    open_now = is_open_at(now, time_zone, hours, seasons)
    for candidate in sorted(c for c in candidates if c > now):
        if is_open_at(candidate, time_zone, hours, seasons) != open_now:
            return candidate.astimezone(zone)
    return None
