import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given
from hypothesis import strategies as st

from maillage.impact.forms import MAX_DAYS, PeriodForm
from maillage.impact.models import DailyFigure
from maillage.impact.periods import Period
from tests.factories import PlaceFactory

TODAY = dt.date(2025, 5, 14)


@pytest.mark.parametrize(
    ("kind", "day", "first", "last", "previous"),
    [
        ("month", dt.date(2025, 3, 31), dt.date(2025, 3, 1), dt.date(2025, 3, 31), (2, 1, 2, 28)),
        ("month", dt.date(2024, 3, 1), dt.date(2024, 3, 1), dt.date(2024, 3, 31), (2, 1, 2, 29)),
        ("month", dt.date(2025, 1, 9), dt.date(2025, 1, 1), dt.date(2025, 1, 31), (12, 1, 12, 31)),
        ("quarter", dt.date(2025, 5, 14), dt.date(2025, 4, 1), dt.date(2025, 6, 30), (1, 1, 3, 31)),
        (
            "quarter",
            dt.date(2025, 2, 1),
            dt.date(2025, 1, 1),
            dt.date(2025, 3, 31),
            (10, 1, 12, 31),
        ),
        ("year", dt.date(2024, 2, 29), dt.date(2024, 1, 1), dt.date(2024, 12, 31), (1, 1, 12, 31)),
    ],
)
def test_calendar_periods_and_the_one_before(kind, day, first, last, previous):
    period = Period.of(kind, day)
    assert (period.first, period.last) == (first, last)
    before = period.previous()
    assert (before.first.month, before.first.day, before.last.month, before.last.day) == previous
    assert before.last == period.first - dt.timedelta(days=1)
    assert before.kind == kind


@given(
    first=st.dates(dt.date(1950, 1, 1), dt.date(2090, 1, 1)),
    length=st.integers(1, MAX_DAYS),
)
def test_a_custom_period_is_preceded_by_one_of_the_same_length(first, length):
    period = Period.custom(first, first + dt.timedelta(days=length - 1))
    before = period.previous()
    assert before.days == period.days == length
    assert before.last + dt.timedelta(days=1) == period.first


@given(
    day=st.dates(dt.date(1950, 1, 1), dt.date(2090, 12, 31)),
    kind=st.sampled_from(["month", "quarter", "year"]),
)
def test_calendar_periods_hold_their_day_and_follow_each_other(day, kind):
    period = Period.of(kind, day)
    assert period.first <= day <= period.last
    assert Period.of(kind, period.last + dt.timedelta(days=1)).first == period.last + dt.timedelta(
        days=1
    )
    assert period.months()[0] == period.first
    assert len(period.months()) == {"month": 1, "quarter": 3, "year": 12}[kind]


def _form(**data) -> PeriodForm:
    return PeriodForm(data, today=TODAY)


def test_the_form_defaults_to_this_month():
    form = _form()
    assert form.is_valid()
    assert form.result == Period.of("month", TODAY)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"period": "week"}, "period"),
        ({"period": "custom"}, "from"),
        ({"period": "custom", "from": "2025-01-01"}, "to"),
        ({"period": "custom", "from": "2025-02-01", "to": "2025-01-01"}, "to"),
        ({"period": "custom", "from": "2020-01-01", "to": "2025-01-01"}, "to"),
        ({"period": "custom", "from": "0001-01-01", "to": "0001-01-02"}, "from"),
        ({"period": "year", "date": "9999-12-31"}, "date"),
        ({"period": "month", "date": "2025-13-01"}, "date"),
    ],
)
def test_the_form_refuses_what_is_not_a_period(data, field):
    form = _form(**data)
    assert not form.is_valid()
    assert field in form.errors


@pytest.mark.django_db
def test_the_command_rebuilds_a_range_and_refuses_bad_input(capsys):
    place = PlaceFactory()
    place.resources.create(name="Bureau", kind="desk")
    call_command(
        "impact_rollup", "--from", "2025-01-01", "--to", "2025-01-03", "--place", place.slug
    )
    days = set(
        DailyFigure.objects.filter(place=place, metric="rolled").values_list("day", flat=True)
    )
    assert days == {dt.date(2025, 1, 1), dt.date(2025, 1, 2), dt.date(2025, 1, 3)}
    with pytest.raises(CommandError):
        call_command("impact_rollup", "--from", "2025-01-03", "--to", "2025-01-01")
    with pytest.raises(CommandError):
        call_command("impact_rollup", "--place", "no-such-place")
    with pytest.raises(CommandError):
        call_command("impact_rollup", "--from", "yesterday")
