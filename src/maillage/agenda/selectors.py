"""Reads of the agenda: the network agenda and its feeds, participant lists with positions."""

import datetime as dt
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import (
    BooleanField,
    DateTimeField,
    F,
    Func,
    Q,
    QuerySet,
    Value,
    Window,
)
from django.db.models.functions import RowNumber

from maillage.core.prepared import KeyedGet
from maillage.core.text import fold
from maillage.places.models import Place
from maillage.places.selectors import Point, with_distance

from . import permissions
from .models import Event, Registration

DEFAULT_RADIUS_KM = 30.0


@dataclass
class AgendaFilters:
    """Validated agenda criteria (see forms.AgendaFilterForm and the API for parsing)."""

    network: str = ""  # slug: the network's own events and those of its places
    place: str = ""  # slug
    near: Point | None = None
    radius_km: float | None = None
    categories: list[str] = field(default_factory=list)
    audiences: list[str] = field(default_factory=list)
    start: dt.datetime | None = None  # events still running at or after this instant
    end: dt.datetime | None = None  # events starting before this instant
    free: bool | None = None
    q: str = ""


_event_with_place = KeyedGet(lambda pk: Event.objects.select_related("place").filter(pk=pk), int)


def event_with_place(pk: int) -> Event:
    """The event and its place (Event.DoesNotExist if none), whoever may see it: read for every
    registration, so its query is compiled once (see maillage.core.prepared). The caller asks
    permissions.can_see_event."""
    return _event_with_place(pk)


def agenda_events(user, filters: AgendaFilters) -> QuerySet[Event]:
    """The events this user may see that match `filters`, first start first."""
    events = permissions.visible_events(user)
    if filters.network:
        events = events.filter(
            Q(network__slug=filters.network)
            | Q(place__in=Place.objects.filter(networks__slug=filters.network).values("pk"))
        )
    if filters.place:
        events = events.filter(place__slug=filters.place)
    if filters.near is not None:
        around = with_distance(
            Place.objects.all(), filters.near, filters.radius_km or DEFAULT_RADIUS_KM
        )
        events = events.filter(place__in=around.values("pk"))
    if filters.categories:
        events = events.filter(category__in=filters.categories)
    if filters.audiences:
        events = events.filter(audience__in=filters.audiences)
    if filters.start is not None and filters.end is not None and connection.vendor == "postgresql":
        events = events.filter(_overlaps(filters.start, filters.end))
    else:
        if filters.start is not None:
            events = events.filter(end__gt=filters.start)
        if filters.end is not None:
            events = events.filter(start__lt=filters.end)
    if filters.free is not None:
        events = events.filter(is_free=filters.free)
    for word in fold(filters.q).split():
        events = events.filter(search_text__contains=word)
    return events.select_related("place", "network").order_by("start", "id")


def _overlaps(start: dt.datetime, end: dt.datetime) -> Func:
    """`tstzrange(start, "end") && tstzrange(start, end)`: the same events as `end > start AND
    start < end`, in the form the GiST index of migration agenda/0002 answers."""

    def period(first, last) -> Func:
        return Func(first, last, function="tstzrange", output_field=DateTimeField())

    return Func(
        period(F("start"), F("end")),
        period(Value(start), Value(end)),
        template="(%(expressions)s)",
        arg_joiner=" && ",
        output_field=BooleanField(),
    )


def participants(event: Event) -> list[Registration]:
    """The event's confirmed and waitlisted registrations; the waitlisted carry `position`
    (1, 2, 3... without gaps), the confirmed `position` None. Confirmed first, by name."""
    waiting = (
        Registration.objects.filter(event=event, status=Registration.Status.WAITLISTED)
        .annotate(rank=Window(RowNumber(), order_by="queue_number"))
        .values("pk", "rank")
    )
    ranks = {row["pk"]: row["rank"] for row in waiting}
    registrations = list(
        Registration.objects.filter(event=event, status__in=Registration.ACTIVE)
        .select_related("user")
        .order_by("status", "queue_number", "name", "id")
    )
    for registration in registrations:
        registration.position = ranks.get(registration.pk)
    return registrations
