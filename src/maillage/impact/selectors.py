"""The statistics of a place or a network over a period, read from the daily rollups only.

    place_figures(place, period) -> Figures
    network_figures(network, period) -> Figures

Each `Figure` carries its value over the period, its value over the previous period and the
change. Figures are "sums" (check-ins, hours booked, events... added up over the days), "at the
end" (members by role and plan, items on loan: the value of the period's last day rolled up) or
ratios of sums (occupancy, fill rate). Unique visitors are counted exactly, as distinct
pseudonyms over the whole period (and over all the places of a network). A network's figures add
up those of the places it holds today and those of the events it holds itself (with no place);
its members by plan are grouped by kind of plan.

These are the building blocks of the pages, the CSV, the API and the reports built on them.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Max, Q, Sum
from django.utils.translation import gettext_lazy as _

from maillage.accounts.models import PlaceRole
from maillage.bookings.models import Resource
from maillage.community.models import Item, Opportunity, SkillPost
from maillage.members.models import Plan
from maillage.places.models import Network, Place

from .models import DailyFigure, DailyVisitor, NetworkDailyFigure
from .periods import Period
from .rollup import ROLLED

COUNT, HOURS, PERCENT = "count", "hours", "percent"
# Figures taken at the end of the period rather than added up.
AT_END = ("members_role", "members_plan", "items_on_loan")

SECTIONS = {
    "occupancy": _("Occupancy of resources"),
    "attendance": _("Attendance"),
    "members": _("Members"),
    "events": _("Events"),
    "community": _("Community exchange"),
}

LABELS = {
    "occupancy": _("Occupancy (booked hours / bookable hours)"),
    "booked_hours": _("Hours booked"),
    "bookable_hours": _("Bookable hours"),
    "checkins": _("Check-ins (days of presence)"),
    "unique_visitors": _("Unique visitors"),
    "pass_checkins": _("Days on a network pass from another place"),
    "members_role": _("People by role (at the end of the period)"),
    "members_plan": _("Valid memberships by plan (at the end of the period)"),
    "new_members": _("New members (first plan at the place)"),
    "events_held": _("Events held"),
    "participants": _("Participants (confirmed registrations)"),
    "participants_checked_in": _("Participants checked in"),
    "fill_rate": _("Fill rate of events with a capacity"),
    "waitlisted": _("Registrations left on a waiting list"),
    "booking_waitlist": _("Requests on the waiting lists of resources"),
    "exchanges": _("Skills exchanges closed with a thank you"),
    "skill_posts": _("Skills offered and sought"),
    "opportunities": _("Projects and opportunities posted"),
    "items_posted": _("Give-box items posted"),
    "items_given": _("Give-box items given"),
    "items_on_loan": _("Give-box items on loan (at the end of the period)"),
}


@dataclass
class Figure:
    section: str
    code: str
    key: str
    detail: str
    unit: str
    value: float | None
    previous: float | None

    @property
    def label(self) -> str:
        return str(LABELS[self.code])

    @property
    def section_label(self) -> str:
        return str(SECTIONS[self.section])

    @property
    def change(self) -> float | None:
        """The change from the previous period, in % of it (None when it was 0 or unknown)."""
        if self.value is None or not self.previous:
            return None
        return round((self.value - self.previous) * 100 / self.previous, 1)

    @property
    def difference(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return round(self.value - self.previous, 1)


@dataclass
class Figures:
    scope: str  # "place" or "network"
    slug: str
    name: str
    period: Period
    previous_period: Period
    figures: list[Figure]
    # Check-ins per day (periods up to 62 days) or per month: [(first day, count)].
    checkins_series: list[tuple[dt.date, int]] = field(default_factory=list)
    series_by_month: bool = False
    last_rolled_up: dt.date | None = None

    def section(self, name: str) -> list[Figure]:
        return [figure for figure in self.figures if figure.section == name]

    def find(self, code: str, key: str = "") -> Figure | None:
        for figure in self.figures:
            if figure.code == code and figure.key == key:
                return figure
        return None

    @property
    def sections(self) -> list[tuple[str, str, list[Figure]]]:
        return [(name, str(label), self.section(name)) for name, label in SECTIONS.items()]


def _totals(
    place_ids: list[int], period: Period, network_id: int | None = None
) -> dict[tuple[str, str], int]:
    rows = DailyFigure.objects.filter(
        place_id__in=place_ids, day__range=(period.first, period.last)
    )
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for metric, key, value in (
        rows.exclude(metric__in=(*AT_END, ROLLED))
        .values("metric", "key")
        .annotate(total=Sum("value"))
        .values_list("metric", "key", "total")
    ):
        totals[(metric, key)] += value
    if network_id is not None:  # the events the network holds itself (all sums)
        for metric, key, value in (
            NetworkDailyFigure.objects.filter(
                network_id=network_id, day__range=(period.first, period.last)
            )
            .values("metric", "key")
            .annotate(total=Sum("value"))
            .values_list("metric", "key", "total")
        ):
            totals[(metric, key)] += value
    # "At the end": each place's last day rolled up within the period.
    last_days = dict(
        rows.filter(metric=ROLLED)
        .values("place_id")
        .annotate(last=Max("day"))
        .values_list("place_id", "last")
    )
    places_by_day: dict[dt.date, list[int]] = defaultdict(list)
    for place_id, day in last_days.items():
        places_by_day[day].append(place_id)
    if places_by_day:
        wanted = Q()
        for day, ids in places_by_day.items():
            wanted |= Q(day=day, place_id__in=ids)
        for metric, key, value in (
            DailyFigure.objects.filter(wanted, metric__in=AT_END)
            .values("metric", "key")
            .annotate(total=Sum("value"))
            .values_list("metric", "key", "total")
        ):
            totals[(metric, key)] += value
    return totals


def _visitors(place_ids: list[int], period: Period) -> int:
    return (
        DailyVisitor.objects.filter(place_id__in=place_ids, day__range=(period.first, period.last))
        .values("visitor")
        .distinct()
        .count()
    )


def _keys(metric: str, *totals: dict) -> list[str]:
    return sorted({key for each in totals for (code, key) in each if code == metric})


def _hours(minutes: int) -> float:
    return round(minutes / 60, 1)


def _ratio(part: int, whole: int) -> float | None:
    return round(part * 100 / whole, 1) if whole else None


def _plan_keys(totals: dict, by_kind: bool) -> dict:
    """members_plan keyed by plan id, or by kind of plan for a network."""
    if not by_kind:
        return totals
    ids = [int(key) for (code, key) in totals if code == "members_plan"]
    kinds = dict(Plan.objects.filter(pk__in=ids).values_list("pk", "kind"))
    result: dict[tuple[str, str], int] = defaultdict(int)
    for (code, key), value in totals.items():
        if code == "members_plan":
            result[(code, kinds.get(int(key), "?"))] += value
        else:
            result[(code, key)] += value
    return result


def _label(choices, key: str) -> str:
    try:
        return str(choices(key).label)
    except ValueError:
        return key


CHOICES = {
    "booked_hours": Resource.Kind,
    "bookable_hours": Resource.Kind,
    "occupancy": Resource.Kind,
    "members_role": PlaceRole.Role,
    "skill_posts": SkillPost.Kind,
    "opportunities": Opportunity.Kind,
    "items_posted": Item.Mode,
}


def _details(figures: list["Figure"], network: bool) -> None:
    """Say what the keys stand for: kinds, roles, plans, places (no person is ever named)."""
    plan_ids = [int(f.key) for f in figures if f.code == "members_plan" and not network]
    plans = dict(Plan.objects.filter(pk__in=plan_ids).values_list("pk", "name"))
    place_ids = [int(f.key) for f in figures if f.code == "pass_checkins" and f.key]
    places = dict(Place.objects.filter(pk__in=place_ids).values_list("pk", "name"))
    for figure in figures:
        if not figure.key:
            continue
        if figure.code in CHOICES:
            figure.detail = _label(CHOICES[figure.code], figure.key)
        elif figure.code == "members_plan":
            figure.detail = (
                _label(Plan.Kind, figure.key) if network else plans.get(int(figure.key), figure.key)
            )
        elif figure.code == "pass_checkins":
            figure.detail = places.get(int(figure.key), figure.key)


def _build(place_ids: list[int], period: Period, network_id: int | None) -> list[Figure]:
    network = network_id is not None
    previous_period = period.previous()
    now = _plan_keys(_totals(place_ids, period, network_id), network)
    before = _plan_keys(_totals(place_ids, previous_period, network_id), network)
    figures: list[Figure] = []

    def add(section, code, unit, value, previous, key=""):
        figures.append(Figure(section, code, key, key, unit, value, previous))

    def total(totals, metric, key=None):
        if key is not None:
            return totals.get((metric, key), 0)
        return sum(value for (code, _k), value in totals.items() if code == metric)

    for kind in sorted(
        set(_keys("bookable_minutes", now, before)) | set(_keys("booked_minutes", now, before))
    ):
        booked = (total(now, "booked_minutes", kind), total(before, "booked_minutes", kind))
        bookable = (total(now, "bookable_minutes", kind), total(before, "bookable_minutes", kind))
        add("occupancy", "occupancy", PERCENT, *map(_ratio, booked, bookable), key=kind)
        add("occupancy", "booked_hours", HOURS, *map(_hours, booked), key=kind)
        add("occupancy", "bookable_hours", HOURS, *map(_hours, bookable), key=kind)

    add("attendance", "checkins", COUNT, total(now, "checkins"), total(before, "checkins"))
    add(
        "attendance",
        "unique_visitors",
        COUNT,
        _visitors(place_ids, period),
        _visitors(place_ids, previous_period),
    )
    add(
        "attendance",
        "pass_checkins",
        COUNT,
        total(now, "pass_checkins"),
        total(before, "pass_checkins"),
    )
    for key in _keys("pass_checkins", now, before):
        add(
            "attendance",
            "pass_checkins",
            COUNT,
            total(now, "pass_checkins", key),
            total(before, "pass_checkins", key),
            key=key,
        )

    roles = [role for role in PlaceRole.Role if role in _keys("members_role", now, before)]
    for role in roles:
        add(
            "members",
            "members_role",
            COUNT,
            total(now, "members_role", role),
            total(before, "members_role", role),
            key=str(role),
        )
    for key in _keys("members_plan", now, before):
        add(
            "members",
            "members_plan",
            COUNT,
            total(now, "members_plan", key),
            total(before, "members_plan", key),
            key=key,
        )
    add("members", "new_members", COUNT, total(now, "new_members"), total(before, "new_members"))

    for code in ("events_held", "participants", "participants_checked_in"):
        add("events", code, COUNT, total(now, code), total(before, code))
    add(
        "events",
        "fill_rate",
        PERCENT,
        _ratio(total(now, "participants_capped"), total(now, "capacity")),
        _ratio(total(before, "participants_capped"), total(before, "capacity")),
    )
    for code in ("waitlisted", "booking_waitlist"):
        add("events", code, COUNT, total(now, code), total(before, code))

    add("community", "exchanges", COUNT, total(now, "exchanges"), total(before, "exchanges"))
    for code in ("skill_posts", "opportunities", "items_posted"):
        for key in _keys(code, now, before):
            add("community", code, COUNT, total(now, code, key), total(before, code, key), key=key)
    for code in ("items_given", "items_on_loan"):
        add("community", code, COUNT, total(now, code), total(before, code))
    _details(figures, network)
    return figures


def _series(place_ids: list[int], period: Period) -> tuple[list[tuple[dt.date, int]], bool]:
    daily = dict(
        DailyFigure.objects.filter(
            place_id__in=place_ids, metric="checkins", day__range=(period.first, period.last)
        )
        .values("day")
        .annotate(total=Sum("value"))
        .values_list("day", "total")
    )
    if period.days <= 62:
        days = [period.first + dt.timedelta(days=n) for n in range(period.days)]
        return [(day, daily.get(day, 0)) for day in days], False
    months: dict[dt.date, int] = {month: 0 for month in period.months()}
    for day, count in daily.items():
        months[day.replace(day=1)] += count
    return sorted(months.items()), True


def _last_rolled(place_ids: list[int], period: Period) -> dt.date | None:
    return DailyFigure.objects.filter(
        place_id__in=place_ids, metric=ROLLED, day__range=(period.first, period.last)
    ).aggregate(last=Max("day"))["last"]


def _figures(scope, obj, place_ids, period, network_id=None) -> Figures:
    series, by_month = _series(place_ids, period)
    return Figures(
        scope=scope,
        slug=obj.slug,
        name=obj.name,
        period=period,
        previous_period=period.previous(),
        figures=_build(place_ids, period, network_id),
        checkins_series=series,
        series_by_month=by_month,
        last_rolled_up=_last_rolled(place_ids, period),
    )


def place_figures(place: Place, period: Period) -> Figures:
    return _figures("place", place, [place.pk], period)


def network_figures(network: Network, period: Period) -> Figures:
    place_ids = list(Place.objects.filter(networks=network).values_list("pk", flat=True))
    return _figures("network", network, place_ids, period, network_id=network.pk)
