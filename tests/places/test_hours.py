"""Opening hours and seasons: property tests on the pure functions of maillage.places.hours."""

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from maillage.places.hours import (
    HoursRule,
    SeasonRule,
    intervals_on,
    is_open_at,
    next_change,
    rules_from_json,
    rules_to_json,
    season_on,
)

PARIS_NAME = "Europe/Paris"
PARIS = ZoneInfo(PARIS_NAME)
UTC = dt.UTC
MICROSECOND = dt.timedelta(microseconds=1)


def just_before(instant: dt.datetime) -> dt.datetime:
    """One microsecond earlier, in real time (arithmetic on a local datetime is wall-clock)."""
    return instant.astimezone(UTC) - MICROSECOND


YEARS = range(2024, 2031)


def last_sunday(year: int, month: int) -> dt.date:
    """The last Sunday of March or October, when Europe changes its clocks."""
    last = dt.date(year, month, 31)
    return last - dt.timedelta(days=(last.weekday() - 6) % 7)


def every_day(opens: dt.time, closes: dt.time, season_key: int | None = None) -> list[HoursRule]:
    return [HoursRule(season_key, weekday, opens, closes) for weekday in range(7)]


NINE_TO_SIX = every_day(dt.time(9), dt.time(18))
CLOCK_CHANGES = [
    dt.datetime.combine(last_sunday(year, month), dt.time(1), tzinfo=UTC)
    for year in YEARS
    for month in (3, 10)
]

# Times on a quarter-hour grid, so that adjacent intervals (9–12, 12–18) and the hour that DST
# skips or repeats (2:00–3:00) come up often.
quarter_hours = st.builds(dt.time, hour=st.integers(0, 23), minute=st.sampled_from([0, 15, 30, 45]))


@st.composite
def hours_rules(draw, season_keys=(None,)):
    rules = []
    for _ in range(draw(st.integers(0, 8))):
        opens, closes = sorted(draw(st.lists(quarter_hours, min_size=2, max_size=2, unique=True)))
        rules.append(
            HoursRule(draw(st.sampled_from(season_keys)), draw(st.integers(0, 6)), opens, closes)
        )
    return rules


# Instants anywhere in 2024–2030, and instants within three days of a clock change.
# Hypothesis takes naive bounds and attaches the time zones itself.
FIRST, LAST = dt.datetime(2024, 1, 1), dt.datetime(2030, 12, 31)  # noqa: DTZ001
any_instant = st.datetimes(min_value=FIRST, max_value=LAST, timezones=st.just(UTC))
near_clock_change = st.builds(
    lambda change, delta: change + delta,
    st.sampled_from(CLOCK_CHANGES),
    st.timedeltas(min_value=dt.timedelta(days=-3), max_value=dt.timedelta(days=3)),
)
instants = st.one_of(any_instant, near_clock_change)
paris_instants = st.datetimes(min_value=FIRST, max_value=LAST, timezones=st.just(PARIS))


@given(rules=hours_rules(), instant=st.one_of(instants, paris_instants))
def test_an_instant_is_open_iff_its_local_time_is_inside_an_interval_of_its_local_date(
    rules, instant
):
    local = instant.astimezone(PARIS)
    expected = any(
        rule.opens <= local.time().replace(tzinfo=None) < rule.closes
        for rule in rules
        if rule.weekday == local.weekday()
    )

    assert is_open_at(instant, PARIS_NAME, rules, []) is expected


@pytest.mark.parametrize("year", YEARS)
@pytest.mark.parametrize("month", [3, 10])
def test_nine_to_six_opens_at_nine_local_time_on_both_sides_of_a_clock_change(year, month):
    sunday = last_sunday(year, month)
    openings = {}
    for day in (sunday - dt.timedelta(days=1), sunday, sunday + dt.timedelta(days=1)):
        midnight = dt.datetime.combine(day, dt.time(0), tzinfo=PARIS)
        opening = next_change(midnight, PARIS_NAME, NINE_TO_SIX, [])
        closing = next_change(opening, PARIS_NAME, NINE_TO_SIX, [])

        assert opening.astimezone(PARIS).replace(tzinfo=None) == dt.datetime.combine(
            day, dt.time(9)
        )
        assert closing.astimezone(PARIS).replace(tzinfo=None) == dt.datetime.combine(
            day, dt.time(18)
        )
        assert is_open_at(opening, PARIS_NAME, NINE_TO_SIX, [])
        assert not is_open_at(just_before(opening), PARIS_NAME, NINE_TO_SIX, [])
        assert not is_open_at(closing, PARIS_NAME, NINE_TO_SIX, [])
        openings[day] = opening

    saturday, monday = sunday - dt.timedelta(days=1), sunday + dt.timedelta(days=1)
    winter, summer = dt.timedelta(hours=1), dt.timedelta(hours=2)
    expected = (winter, summer) if month == 3 else (summer, winter)
    assert (openings[saturday].utcoffset(), openings[monday].utcoffset()) == expected
    assert openings[saturday].astimezone(UTC).hour != openings[monday].astimezone(UTC).hour


@pytest.mark.parametrize("year", YEARS)
def test_nine_local_time_is_a_different_utc_hour_in_winter_and_in_summer(year):
    winter = dt.datetime(year, 1, 15, 9, tzinfo=PARIS)
    summer = dt.datetime(year, 7, 15, 9, tzinfo=PARIS)

    assert winter.utcoffset() != summer.utcoffset()
    assert is_open_at(winter, PARIS_NAME, NINE_TO_SIX, [])
    assert is_open_at(summer, PARIS_NAME, NINE_TO_SIX, [])
    assert not is_open_at(just_before(winter), PARIS_NAME, NINE_TO_SIX, [])
    assert not is_open_at(just_before(summer), PARIS_NAME, NINE_TO_SIX, [])


@given(
    year=st.sampled_from(YEARS),
    seconds=st.integers(0, 24 * 3600 - 1),
)
def test_the_hour_skipped_in_spring_is_never_a_local_time(year, seconds):
    sunday = last_sunday(year, 3)
    start = dt.datetime.combine(sunday, dt.time(0), tzinfo=PARIS).astimezone(UTC)
    instant = start + dt.timedelta(seconds=seconds)
    only_in_the_gap = [HoursRule(None, 6, dt.time(2), dt.time(3))]

    local = instant.astimezone(PARIS)
    assert not (local.date() == sunday and dt.time(2) <= local.time() < dt.time(3))
    assert not is_open_at(instant, PARIS_NAME, only_in_the_gap, [])


@given(instant=paris_instants)
def test_local_times_are_never_inside_the_spring_gap(instant):
    local = instant.astimezone(UTC).astimezone(PARIS)
    if local.date() == last_sunday(local.year, 3):
        assert not dt.time(2) <= local.time() < dt.time(3)


WINTER = SeasonRule(
    key=1, start=dt.date(2020, 12, 1), end=dt.date(2021, 3, 31), yearly=True, closed=False
)


@given(year=st.integers(1901, 2199))
def test_a_yearly_season_over_new_year_covers_mid_january_and_its_first_day(year):
    assert WINTER.covers(dt.date(year, 1, 15))
    assert WINTER.covers(dt.date(year, 12, 1))
    assert WINTER.covers(dt.date(year, 3, 31))
    assert not WINTER.covers(dt.date(year, 4, 1))
    assert not WINTER.covers(dt.date(year, 11, 30))


@given(day=st.dates(min_value=dt.date(1901, 1, 1), max_value=dt.date(2199, 12, 31)))
def test_a_yearly_season_over_new_year_covers_exactly_its_months(day):
    assert WINTER.covers(day) is (day.month in (12, 1, 2, 3))


@given(
    start=st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2030, 12, 31)),
    length=st.integers(0, 400),
    day=st.dates(min_value=dt.date(2023, 1, 1), max_value=dt.date(2032, 12, 31)),
)
def test_a_dated_season_covers_exactly_its_days(start, length, day):
    end = start + dt.timedelta(days=length)
    season = SeasonRule(key=1, start=start, end=end, yearly=False, closed=False)

    assert season.covers(day) is (start <= day <= end)


def test_the_shortest_overlapping_season_wins():
    summer = SeasonRule(2, dt.date(2024, 6, 1), dt.date(2024, 9, 30), yearly=True, closed=False)
    august = SeasonRule(3, dt.date(2024, 8, 1), dt.date(2024, 8, 31), yearly=True, closed=True)
    rules = [
        *NINE_TO_SIX,
        *every_day(dt.time(10), dt.time(20), season_key=2),
    ]

    for year in YEARS:
        assert season_on([summer, august], dt.date(year, 8, 15)) == august
        assert season_on([august, summer], dt.date(year, 8, 15)) == august
        assert season_on([summer, august], dt.date(year, 7, 15)) == summer
        assert season_on([summer, august], dt.date(year, 1, 15)) is None
        assert intervals_on(dt.date(year, 8, 15), rules, [summer, august]) == []
        assert intervals_on(dt.date(year, 7, 15), rules, [summer, august]) == [
            (dt.time(10), dt.time(20))
        ]
        assert intervals_on(dt.date(year, 1, 15), rules, [summer, august]) == [
            (dt.time(9), dt.time(18))
        ]


@st.composite
def season_rules(draw):
    seasons = []
    for key in range(draw(st.integers(0, 5))):
        yearly = draw(st.booleans())
        start = draw(st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2028, 12, 31)))
        if yearly:
            end = draw(st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2028, 12, 31)))
        else:
            end = start + dt.timedelta(days=draw(st.integers(0, 500)))
        seasons.append(SeasonRule(key, start, end, yearly=yearly, closed=draw(st.booleans())))
    return seasons


@given(rules=hours_rules(season_keys=(None, 0, 1, 2)), seasons=season_rules())
def test_rules_survive_their_json_copy(rules, seasons):
    copy = json.loads(json.dumps(rules_to_json(rules, seasons)))

    assert rules_from_json(copy) == (tuple(rules), tuple(seasons))


def test_no_copy_is_no_hours_and_no_seasons():
    assert rules_from_json({}) == ((), ())


@given(seasons=season_rules(), day=st.dates(dt.date(2024, 1, 1), dt.date(2030, 12, 31)))
def test_the_season_of_a_day_covers_it_and_no_covering_season_is_shorter(seasons, day):
    chosen = season_on(seasons, day)
    covering = [season for season in seasons if season.covers(day)]

    if not covering:
        assert chosen is None
    else:
        assert chosen in covering
        assert chosen.length_days() == min(season.length_days() for season in covering)


@given(year=st.integers(1901, 2199), month_day=st.sampled_from([(1, 1), (2, 28), (3, 1)]))
def test_a_yearly_season_may_start_or_end_on_the_29th_of_february(year, month_day):
    from_leap_day = SeasonRule(1, dt.date(2024, 2, 29), dt.date(2024, 3, 10), True, False)
    to_leap_day = SeasonRule(2, dt.date(2023, 12, 1), dt.date(2024, 2, 29), True, True)
    all_year = SeasonRule(3, dt.date(2024, 1, 1), dt.date(2024, 12, 31), True, False)
    day = dt.date(year, *month_day)

    chosen = season_on([all_year, from_leap_day, to_leap_day], day)

    assert chosen == (to_leap_day if month_day != (3, 1) else from_leap_day)


@given(day=st.dates(dt.date(2024, 1, 1), dt.date(2030, 12, 31)))
def test_a_closed_season_gives_no_intervals(day):
    closed = SeasonRule(7, day - dt.timedelta(days=3), day + dt.timedelta(days=3), False, True)
    rules = [*NINE_TO_SIX, *every_day(dt.time(10), dt.time(12), season_key=7)]

    assert intervals_on(day, rules, [closed]) == []
    assert intervals_on(day, rules, []) == [(dt.time(9), dt.time(18))]
    noon = dt.datetime.combine(day, dt.time(12), tzinfo=PARIS)
    assert not is_open_at(noon, PARIS_NAME, rules, [closed])
    assert is_open_at(noon, PARIS_NAME, rules, [])


@given(
    rules=hours_rules(season_keys=(None, 0, 1, 2)),
    seasons=season_rules(),
    instant=instants,
    fractions=st.lists(st.floats(0, 1, exclude_max=True), max_size=5),
)
def test_next_change_is_the_first_instant_after_now_where_the_state_flips(
    rules, seasons, instant, fractions
):
    change = next_change(instant, PARIS_NAME, rules, seasons)
    assume(change is not None)
    now_open = is_open_at(instant, PARIS_NAME, rules, seasons)

    assert change.tzinfo is not None
    assert change > instant
    assert is_open_at(change, PARIS_NAME, rules, seasons) is not now_open
    assert is_open_at(just_before(change), PARIS_NAME, rules, seasons) is now_open
    for fraction in fractions:
        between = instant + (just_before(change) - instant) * fraction
        assert is_open_at(between, PARIS_NAME, rules, seasons) is now_open


@given(instant=instants)
def test_next_change_of_a_place_never_open_is_none(instant):
    assert next_change(instant, PARIS_NAME, [], []) is None


def test_adjacent_intervals_are_no_change():
    rules = [
        HoursRule(None, 0, dt.time(9), dt.time(12)),
        HoursRule(None, 0, dt.time(12), dt.time(18)),
    ]
    monday_ten = dt.datetime(2025, 1, 6, 10, tzinfo=PARIS)

    change = next_change(monday_ten, PARIS_NAME, rules, [])

    assert change == dt.datetime(2025, 1, 6, 18, tzinfo=PARIS)


def test_an_interval_ending_in_the_hour_repeated_in_autumn_reopens_when_clocks_go_back():
    sunday = last_sunday(2025, 10)
    rules = [HoursRule(None, 6, dt.time(1), dt.time(2, 30))]
    first_pass = dt.datetime.combine(sunday, dt.time(2, 30), tzinfo=PARIS)  # 00:30 UTC

    change = next_change(first_pass, PARIS_NAME, rules, [])

    assert not is_open_at(first_pass, PARIS_NAME, rules, [])
    # 01:00 UTC is 2:00 for the second time; aware datetimes in a repeated hour compare unequal
    # to other zones (PEP 495), hence the conversion.
    assert change.astimezone(UTC) == dt.datetime.combine(sunday, dt.time(1), tzinfo=UTC)
    assert (change.hour, change.minute, change.fold) == (2, 0, 1)
    assert is_open_at(change, PARIS_NAME, rules, [])


def test_a_naive_datetime_is_refused():
    with pytest.raises(ValueError):
        is_open_at(dt.datetime(2025, 1, 6, 10), PARIS_NAME, NINE_TO_SIX, [])  # noqa: DTZ001
    with pytest.raises(ValueError):
        next_change(dt.datetime(2025, 1, 6, 10), PARIS_NAME, NINE_TO_SIX, [])  # noqa: DTZ001


def test_hours_are_read_in_the_time_zone_of_the_place():
    monday_ten_utc = dt.datetime(2025, 1, 6, 10, tzinfo=UTC)  # 11:00 Paris, 6:00 Guadeloupe

    assert is_open_at(monday_ten_utc, PARIS_NAME, NINE_TO_SIX, [])
    assert not is_open_at(monday_ten_utc, "America/Guadeloupe", NINE_TO_SIX, [])
    opening = next_change(monday_ten_utc, "America/Guadeloupe", NINE_TO_SIX, [])
    assert opening.astimezone(UTC) == dt.datetime(2025, 1, 6, 13, tzinfo=UTC)
    assert opening.utcoffset() == dt.timedelta(hours=-4)


@pytest.mark.parametrize(
    ("day", "utc_hour"), [(dt.date(2025, 1, 15), 9), (dt.date(2025, 7, 15), 8)]
)
def test_london_opens_at_nine_local_time_winter_and_summer(day, utc_hour):
    midnight = dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo("Europe/London"))

    opening = next_change(midnight, "Europe/London", NINE_TO_SIX, [])

    assert opening.astimezone(UTC).hour == utc_hour
    assert is_open_at(opening, "Europe/London", NINE_TO_SIX, [])
    assert not is_open_at(just_before(opening), "Europe/London", NINE_TO_SIX, [])
