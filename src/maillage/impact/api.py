"""Statistics endpoints of the API: the figures of a place or a network over a period, as the
statistics pages show them (impact.selectors), read from the daily rollups.

Token authentication (none for open data); the same people as the pages: a place's team and the
coordinators of its networks, a network's coordinators, anyone when the network publishes them.
People who know the place or network (a role in it) but may not read its statistics get 403;
anybody else 404, as if it did not exist.
"""

import datetime as dt
import zoneinfo

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from maillage.accounts.models import PlaceRole
from maillage.core.api import ERRORS, ApiError, OptionalBearer, invalid, is_slug
from maillage.places.models import Network, Place

from . import permissions, selectors
from .forms import PeriodForm
from .periods import KINDS
from .rollup import local_date

router = Router(tags=["impact"])


class StatisticsQuery(Schema):
    period: str = Field("month", description=f"One of {', '.join(KINDS)}; a month by default.")
    date: str = Field(
        "",
        description="YYYY-MM-DD: the month, quarter or year holding this day (today by default).",
    )
    from_: str = Field("", alias="from", description="First day (YYYY-MM-DD) of a custom period.")
    to: str = Field("", description="Last day (YYYY-MM-DD) of a custom period, at most 3 years.")


class StatisticsPeriodOut(Schema):
    kind: str
    first_day: dt.date
    last_day: dt.date


class StatisticsFigureOut(Schema):
    section: str = Field(description="occupancy, attendance, members, events or community.")
    figure: str = Field(description="The figure's code (docs/impact.md).")
    label: str
    detail: str = Field(description="What the figure is split by: a kind, role, plan or place.")
    detail_label: str
    unit: str = Field(description="count, hours or percent.")
    value: float | None
    previous_value: float | None = Field(description="Over the previous period.")
    change_percent: float | None = Field(description="Change from the previous period, in %.")


class StatisticsOut(Schema):
    scope: str = Field(description="place or network.")
    slug: str
    name: str
    period: StatisticsPeriodOut
    previous_period: StatisticsPeriodOut
    counted_up_to: dt.date | None = Field(description="The last day rolled up in the period.")
    figures: list[StatisticsFigureOut]


def _caller(request):
    """The signed-in caller, or None for an anonymous one (OptionalBearer lets them in)."""
    return request.auth if request.auth is not True else None


def _refuse_anonymous(caller) -> None:
    if caller is None:
        raise ApiError(401, _("Authentication required: send a valid Bearer token."))


def _period(query: StatisticsQuery, zone_name: str):
    form = PeriodForm(
        {"period": query.period, "date": query.date, "from": query.from_, "to": query.to},
        today=local_date(timezone.now(), zoneinfo.ZoneInfo(zone_name)),
    )
    if not form.is_valid():
        raise invalid(form)
    return form.result


def _period_out(period) -> dict:
    return {"kind": period.kind, "first_day": period.first, "last_day": period.last}


def _out(figures: selectors.Figures) -> dict:
    return {
        "scope": figures.scope,
        "slug": figures.slug,
        "name": figures.name,
        "period": _period_out(figures.period),
        "previous_period": _period_out(figures.previous_period),
        "counted_up_to": figures.last_rolled_up,
        "figures": [
            {
                "section": figure.section,
                "figure": figure.code,
                "label": figure.label,
                "detail": figure.key,
                "detail_label": figure.detail if figure.key else "",
                "unit": figure.unit,
                "value": figure.value,
                "previous_value": figure.previous,
                "change_percent": figure.change,
            }
            for figure in figures.figures
        ],
    }


@router.get(
    "/places/{slug}/statistics",
    response={200: StatisticsOut, **ERRORS},
    auth=OptionalBearer(),
    summary="Statistics of a place",
    description=(
        "Every figure of the place's statistics page over a period (`period` month, quarter or "
        "year holding `date`, or custom with `from` and `to`), with the previous period's value "
        "and the change: occupancy of resources, attendance, members, events, community. "
        "Aggregates only. For the place's team and the coordinators of its networks, or anyone "
        "(no token needed) when one of its networks publishes its statistics; 403 for its "
        "other people, 404 for anyone else."
    ),
)
def place_statistics(request, slug: str, query: Query[StatisticsQuery]):
    caller = _caller(request)
    place = Place.objects.filter(slug=slug).first() if is_slug(slug) else None
    if place is None or not permissions.can_see_place(caller, place):
        _refuse_anonymous(caller)
        if place is not None and PlaceRole.objects.filter(user=caller, place=place).exists():
            raise ApiError(403, _("Only the place's team may read its statistics."))
        raise ApiError(404, _("There is no place “%(slug)s”.") % {"slug": slug})
    return _out(selectors.place_figures(place, _period(query, place.time_zone)))


@router.get(
    "/networks/{slug}/statistics",
    response={200: StatisticsOut, **ERRORS},
    auth=OptionalBearer(),
    summary="Statistics of a network",
    description=(
        "The figures of all the places of the network together (unique visitors counted once "
        "across places; memberships grouped by kind of plan), over a period as for a place, "
        "with the previous period. For the network's coordinators, or anyone (no token needed) "
        "when it publishes its statistics; 403 for people with a role in one of its places, "
        "404 for anyone else."
    ),
)
def network_statistics(request, slug: str, query: Query[StatisticsQuery]):
    caller = _caller(request)
    network = Network.objects.filter(slug=slug).first() if is_slug(slug) else None
    if network is None or not permissions.can_see_network(caller, network):
        _refuse_anonymous(caller)
        if (
            network is not None
            and PlaceRole.objects.filter(user=caller, place__networks=network).exists()
        ):
            raise ApiError(403, _("Only the network's coordinators may read its statistics."))
        raise ApiError(404, _("There is no network “%(slug)s”.") % {"slug": slug})
    return _out(selectors.network_figures(network, _period(query, settings.TIME_ZONE)))
