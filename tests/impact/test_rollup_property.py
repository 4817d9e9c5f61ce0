"""Property: on random small worlds, the figures read from the rollups equal a brute-force count
of the raw rows, over any sub-period, DST days of Europe/Paris included."""

import datetime as dt

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maillage.impact import selectors, services
from maillage.impact.periods import Period

from .worlds import DAYS, NOW, brute_force, build, worlds


def _hours(minutes: int) -> float:
    return round(minutes / 60, 1)


def _ratio(part: int, whole: int):
    return round(part * 100 / whole, 1) if whole else None


def assert_figures_match(figures, expected) -> None:
    kinds = {key for (code, key) in expected if code in ("booked_minutes", "bookable_minutes")}
    for kind in kinds:
        booked = expected.get(("booked_minutes", kind), 0)
        bookable = expected.get(("bookable_minutes", kind), 0)
        assert figures.find("booked_hours", kind).value == _hours(booked), kind
        assert figures.find("bookable_hours", kind).value == _hours(bookable), kind
        assert figures.find("occupancy", kind).value == _ratio(booked, bookable), kind
    for figure in figures.figures:
        if figure.code.endswith("_hours") and figure.key not in kinds:
            assert not figure.value, figure
    for code in (
        "checkins",
        "unique_visitors",
        "new_members",
        "events_held",
        "participants",
        "participants_checked_in",
        "waitlisted",
        "booking_waitlist",
        "exchanges",
        "items_given",
    ):
        assert figures.find(code).value == expected.get((code, ""), 0), code
    fill = figures.find("fill_rate").value
    assert fill == _ratio(
        expected.get(("participants_capped", ""), 0), expected.get(("capacity", ""), 0)
    )
    for code in (
        "pass_checkins",
        "members_role",
        "members_plan",
        "skill_posts",
        "opportunities",
        "items_posted",
    ):
        got = {f.key: f.value for f in figures.figures if f.code == code and f.key and f.value}
        want = {key: value for (c, key), value in expected.items() if c == code and value}
        assert got == want, code
    assert figures.find("pass_checkins").value == sum(
        value for (c, _key), value in expected.items() if c == "pass_checkins"
    )


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds, bounds=st.tuples(st.integers(0, DAYS - 1), st.integers(0, DAYS - 1)))
def test_rolled_up_figures_equal_a_brute_force_count(world, bounds):
    with transaction.atomic():
        built = build(world)
        place, first_day = built["place"], world["first_day"]
        services.run_rollup(
            first=first_day - dt.timedelta(days=1),
            last=first_day + dt.timedelta(days=DAYS),
            now=NOW,
        )
        low, high = sorted(bounds)
        first, last = first_day + dt.timedelta(days=low), first_day + dt.timedelta(days=high)
        figures = selectors.place_figures(place, Period.custom(first, last))
        assert_figures_match(figures, brute_force(place, first, last, NOW))
        transaction.set_rollback(True)
