"""Periods of the statistics: a month, a quarter, a year or chosen days, and the one before.

Pure values (no database): a period is its first and last local day, both included. The previous
period of a month, a quarter or a year is the calendar unit just before it; that of a custom
period has the same number of days and ends the day before it starts.
"""

import datetime as dt
from dataclasses import dataclass

MONTH, QUARTER, YEAR, CUSTOM = "month", "quarter", "year", "custom"
KINDS = (MONTH, QUARTER, YEAR, CUSTOM)


def _month_start(day: dt.date, months_back: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 - months_back
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    kind: str
    first: dt.date
    last: dt.date

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown period kind {self.kind!r}")
        if self.last < self.first:
            raise ValueError("a period ends on or after its first day")

    @classmethod
    def of(cls, kind: str, day: dt.date) -> "Period":
        """The month, quarter or year holding `day`."""
        if kind == MONTH:
            first, months = _month_start(day), 1
        elif kind == QUARTER:
            first, months = dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1), 3
        elif kind == YEAR:
            first, months = dt.date(day.year, 1, 1), 12
        else:
            raise ValueError("a custom period is given by its days")
        return cls(kind, first, _month_start(first, -months) - dt.timedelta(days=1))

    @classmethod
    def custom(cls, first: dt.date, last: dt.date) -> "Period":
        return cls(CUSTOM, first, last)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> "Period":
        if self.kind == CUSTOM:
            last = self.first - dt.timedelta(days=1)
            return Period(CUSTOM, last - dt.timedelta(days=self.days - 1), last)
        return Period.of(self.kind, self.first - dt.timedelta(days=1))

    def months(self) -> list[dt.date]:
        """The first days of the months the period touches."""
        months, month = [], _month_start(self.first)
        while month <= self.last:
            months.append(month)
            month = _month_start(month, -1)
        return months
