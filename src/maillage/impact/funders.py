"""The funders' report: a network's (or a place's) figures for elected officials and funders.

Built only on the rollups (impact.selectors) and on the places themselves: no person is named,
no personal datum appears. The same report is a printable page and a PDF (WeasyPrint), in the
language the reader chooses.
"""

import datetime as dt
import math
from dataclasses import dataclass, field

from django.db.models import Sum
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from maillage.places.models import Network, Place

from .models import DailyFigure
from .periods import CUSTOM, MONTH, QUARTER, YEAR, Period
from .selectors import Figures, network_figures, place_figures

MAP_WIDTH = 560
MAP_MARGIN = 16
# Places closer than this on the map share one dot: a national network stays a light drawing.
MAP_CELL = 8
TOP_PLACES = 10


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    radius: float
    places: int
    checkins: int
    label: str


@dataclass
class PlacesMap:
    width: int
    height: int
    dots: list[Dot]


@dataclass(frozen=True)
class PlaceLine:
    name: str
    town: str
    checkins: int
    events: int


@dataclass
class Report:
    scope: str
    name: str
    figures: Figures
    period_label: str
    previous_label: str
    highlights: list[str]
    places_map: PlacesMap | None
    top_places: list[PlaceLine]
    places_count: int
    towns_count: int
    written_on: dt.date
    notes: list[str] = field(default_factory=list)


def period_label(period: Period) -> str:
    """The period in words, in the active language: "2026", "Q3 2026", "November 2026" or
    "1 March 2026 – 15 April 2026"."""
    if period.kind == YEAR:
        return str(period.first.year)
    if period.kind == QUARTER:
        return _("Q%(quarter)d %(year)d") % {
            "quarter": (period.first.month - 1) // 3 + 1,
            "year": period.first.year,
        }
    if period.kind == MONTH:
        return formats.date_format(period.first, "YEAR_MONTH_FORMAT")
    assert period.kind == CUSTOM
    first = formats.date_format(period.first, "DATE_FORMAT")
    return f"{first} – {formats.date_format(period.last, 'DATE_FORMAT')}"


def _number(value) -> str:
    return formats.number_format(
        value, decimal_pos=0 if float(value).is_integer() else 1, use_l10n=True, force_grouping=True
    )


def _compared(value, previous, previous_label: str) -> str:
    """ "(+12 % compared with 2025)", or nothing when there is no base to compare with."""
    if not previous:
        return ""
    change = (value - previous) * 100 / previous
    sign = "+" if change >= 0 else "−"
    return _("(%(change)s %% compared with %(previous)s)") % {
        "change": sign + _number(round(abs(change), 1)),
        "previous": previous_label,
    }


def highlights(figures: Figures, previous_label: str) -> list[str]:
    """The report's sentences: the few figures a funder reads first, each with its comparison."""
    sentences = []

    def value(code, key=""):
        figure = figures.find(code, key)
        return (figure.value or 0, figure.previous or 0) if figure else (0, 0)

    def say(text, now, before):
        sentences.append(f"{text} {_compared(now, before, previous_label)}".strip())

    checkins, checkins_before = value("checkins")
    if checkins:
        say(
            ngettext(
                "%(count)s day of presence in the places.",
                "%(count)s days of presence in the places.",
                checkins,
            )
            % {"count": _number(checkins)},
            checkins,
            checkins_before,
        )
    visitors, visitors_before = value("unique_visitors")
    if visitors:
        say(
            ngettext(
                "%(count)s different person came.",
                "%(count)s different people came.",
                visitors,
            )
            % {"count": _number(visitors)},
            visitors,
            visitors_before,
        )
    booked = [f for f in figures.figures if f.code == "booked_hours"]
    hours = sum(f.value or 0 for f in booked)
    if hours:
        say(
            _("%(hours)s hours of rooms, desks and machines booked.") % {"hours": _number(hours)},
            hours,
            sum(f.previous or 0 for f in booked),
        )
    events, events_before = value("events_held")
    if events:
        participants, _before = value("participants")
        say(
            ngettext(
                "%(count)s event held, with %(participants)s participants.",
                "%(count)s events held, with %(participants)s participants.",
                events,
            )
            % {"count": _number(events), "participants": _number(participants)},
            events,
            events_before,
        )
    fill = figures.find("fill_rate")
    if fill and fill.value is not None:
        sentences.append(
            _("Events with a limited number of seats were %(rate)s %% full.")
            % {"rate": _number(fill.value)}
        )
    new, new_before = value("new_members")
    if new:
        say(
            ngettext("%(count)s new member.", "%(count)s new members.", new)
            % {"count": _number(new)},
            new,
            new_before,
        )
    passes, passes_before = value("pass_checkins")
    if passes and figures.scope == "network":
        say(
            ngettext(
                "%(count)s day spent in a place of the network by a member of another one.",
                "%(count)s days spent in a place of the network by members of another one.",
                passes,
            )
            % {"count": _number(passes)},
            passes,
            passes_before,
        )
    exchanges, exchanges_before = value("exchanges")
    if exchanges:
        say(
            ngettext(
                "%(count)s skills exchange closed with a thank you.",
                "%(count)s skills exchanges closed with a thank you.",
                exchanges,
            )
            % {"count": _number(exchanges)},
            exchanges,
            exchanges_before,
        )
    return sentences


def tiles(figures: Figures) -> list[dict]:
    """The headline numbers of the report, as large tiles."""
    shown = []
    for code in ("checkins", "unique_visitors", "events_held", "participants", "new_members"):
        figure = figures.find(code)
        if figure and figure.value:
            shown.append({"value": _number(figure.value), "label": figure.label})
    occupancy = [f for f in figures.figures if f.code in ("booked_hours", "bookable_hours")]
    booked = sum(f.value or 0 for f in occupancy if f.code == "booked_hours")
    bookable = sum(f.value or 0 for f in occupancy if f.code == "bookable_hours")
    if booked and bookable:
        shown.append(
            {
                "value": f"{_number(round(booked * 100 / bookable, 1))} %",
                "label": _("of the bookable hours of all resources booked"),
            }
        )
    return shown


def _totals_by_place(place_ids: list[int], period: Period, metric: str) -> dict[int, int]:
    return dict(
        DailyFigure.objects.filter(
            place_id__in=place_ids, metric=metric, day__range=(period.first, period.last)
        )
        .values("place_id")
        .annotate(total=Sum("value"))
        .values_list("place_id", "total")
    )


def places_map(places: list[Place], checkins: dict[int, int]) -> PlacesMap | None:
    """The places as dots on a plain projection (no tiles: the report prints and works offline).

    Longitudes are shrunk by the cosine of the middle latitude so that distances look right at
    the scale of a region or a country; a dot's area grows with the check-ins of its places."""
    if not places:
        return None
    lats = [p.latitude for p in places]
    lons = [p.longitude for p in places]
    shrink = math.cos(math.radians((min(lats) + max(lats)) / 2))
    span_x = max((max(lons) - min(lons)) * shrink, 0.05)
    span_y = max(max(lats) - min(lats), 0.05)
    scale = (MAP_WIDTH - 2 * MAP_MARGIN) / max(span_x, span_y)
    height = round(span_y * scale + 2 * MAP_MARGIN)
    width = round(span_x * scale + 2 * MAP_MARGIN)
    offset_x = (MAP_WIDTH - width) / 2 if width < MAP_WIDTH else 0
    cells: dict[tuple[int, int], list[tuple[float, float, Place]]] = {}
    for place in places:
        x = MAP_MARGIN + offset_x + (place.longitude - min(lons)) * shrink * scale
        y = MAP_MARGIN + (max(lats) - place.latitude) * scale
        cells.setdefault((int(x // MAP_CELL), int(y // MAP_CELL)), []).append((x, y, place))
    most = max(sum(checkins.get(p.pk, 0) for *_xy, p in group) for group in cells.values())
    dots = []
    for group in cells.values():
        count = sum(checkins.get(p.pk, 0) for *_xy, p in group)
        x = sum(x for x, _y, _p in group) / len(group)
        y = sum(y for _x, y, _p in group) / len(group)
        if len(group) == 1:
            label = group[0][2].name
        else:
            label = ngettext("%(count)d place", "%(count)d places", len(group)) % {
                "count": len(group)
            }
        radius = 3 + (7 * math.sqrt(count / most) if most else 0)
        dots.append(Dot(round(x, 1), round(y, 1), round(radius, 1), len(group), count, label))
    dots.sort(key=lambda dot: -dot.radius)  # small dots drawn last stay visible
    return PlacesMap(MAP_WIDTH, max(height, 2 * MAP_MARGIN + 40), dots)


def _report(scope, obj, figures: Figures, places: list[Place], today: dt.date) -> Report:
    place_ids = [p.pk for p in places]
    checkins = _totals_by_place(place_ids, figures.period, "checkins")
    events = _totals_by_place(place_ids, figures.period, "events_held")
    ranked = sorted(places, key=lambda p: (-checkins.get(p.pk, 0), -events.get(p.pk, 0), p.name))
    previous = period_label(figures.previous_period)
    notes = []
    if figures.last_rolled_up and figures.last_rolled_up < figures.period.last:
        notes.append(
            _("Figures counted up to %(day)s.")
            % {"day": formats.date_format(figures.last_rolled_up, "DATE_FORMAT")}
        )
    return Report(
        scope=scope,
        name=obj.name,
        figures=figures,
        period_label=period_label(figures.period),
        previous_label=previous,
        highlights=highlights(figures, previous),
        places_map=places_map(places, checkins) if scope == "network" else None,
        top_places=[
            PlaceLine(p.name, p.town, checkins.get(p.pk, 0), events.get(p.pk, 0))
            for p in ranked[:TOP_PLACES]
            if checkins.get(p.pk, 0) or events.get(p.pk, 0)
        ],
        places_count=len(places),
        towns_count=len({p.town.casefold() for p in places if p.town}),
        written_on=today,
        notes=notes,
    )


def _no_fetching(url: str, *args, **kwargs):
    raise ValueError(f"the report fetches nothing ({url})")


def report_pdf(html: str) -> bytes:
    """The printable page as a PDF. Everything it shows is inline (style, map, charts): nothing
    is fetched, so a report never waits on the network or on the server that renders it."""
    from weasyprint import HTML  # imported here: only the PDF needs it, and it is heavy

    return HTML(string=html, url_fetcher=_no_fetching).write_pdf()


def network_report(network: Network, period: Period, *, today: dt.date) -> Report:
    places = list(
        Place.objects.filter(networks=network, is_published=True).only(
            "pk", "name", "town", "latitude", "longitude"
        )
    )
    return _report("network", network, network_figures(network, period), places, today)


def place_report(place: Place, period: Period, *, today: dt.date) -> Report:
    return _report("place", place, place_figures(place, period), [place], today)
