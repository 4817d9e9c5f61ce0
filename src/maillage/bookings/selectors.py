"""Reads on resources and bookings: rules a booking is checked against, trainings, lists, and
the network availability search."""

import datetime as dt
import functools
import json
import math
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple

from django.conf import settings
from django.db.models import (
    Count,
    DateTimeField,
    DurationField,
    Exists,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from maillage.accounts.models import PlaceRole, User
from maillage.core.prepared import KeyedGet
from maillage.places.hours import HoursRule, SeasonRule, rules_from_json, rules_to_json
from maillage.places.models import OpeningHours, Place
from maillage.places.selectors import Point, _GreatCircleKm, with_distance

from . import permissions, services
from .models import Occurrence, Resource, ResourceHours, ResourceTerm, TrainingValidation


def hours_rules_by_resource(resource_ids, *, hours_model=ResourceHours) -> dict[int, dict]:
    """Resource.hours_rules as it should be for each of `resource_ids`, read from its own hours
    (the model is a parameter so that a migration can pass its historical one)."""
    rules: dict[int, list[HoursRule]] = defaultdict(list)
    for resource_id, weekday, opens, closes in (
        hours_model.objects.filter(resource_id__in=resource_ids)
        .order_by("weekday", "opens")
        .values_list("resource_id", "weekday", "opens", "closes")
    ):
        rules[resource_id].append(HoursRule(None, weekday, opens, closes))
    return {resource_id: rules_to_json(rules[resource_id]) for resource_id in resource_ids}


_resource_with_place = KeyedGet(
    lambda pk: Resource.objects.select_related("place").filter(pk=pk), int
)


def resource_with_place(pk: int) -> Resource:
    """The resource and its place, as a booking needs them (Resource.DoesNotExist if none): read
    for every booking request, so its query is compiled once (see maillage.core.prepared)."""
    return _resource_with_place(pk)


def place_managers(place: Place) -> QuerySet[User]:
    return User.objects.filter(
        place_roles__place=place, place_roles__role=PlaceRole.Role.MANAGER, is_active=True
    )


def valid_trainings(user: User, on: dt.date) -> QuerySet[TrainingValidation]:
    return TrainingValidation.objects.filter(user=user).filter(
        Q(expires_on__isnull=True) | Q(expires_on__gte=on)
    )


def holds_training(user: User, resource: Resource, *, on: dt.date) -> bool:
    """Whether `user` may use `resource`'s machine on `on`: a validation for its machine type, still
    valid that day, given by the resource's place or by any place sharing a network with it."""
    if not resource.training:
        return True
    if not (user and user.is_authenticated):
        return False
    place = resource.place
    return (
        valid_trainings(user, on)
        .filter(machine_type=resource.training)
        .filter(Q(place=place) | Q(place__networks__places=place))
        .exists()
    )


# Network availability search ------------------------------------------------------------------

DEFAULT_RADIUS_KM = 30.0


@dataclass(frozen=True)
class AvailabilityQuery:
    start: dt.datetime  # aware
    end: dt.datetime  # aware
    kind: str = ""  # a Resource.Kind value, "" for any
    min_capacity: int = 1
    near: Point | None = None
    radius_km: float | None = None  # DEFAULT_RADIUS_KM when `near` is given
    services: tuple[str, ...] = ()  # shared vocabulary codes, all required
    network: str = ""  # slug
    order: str = "distance"  # "distance" | "charm"


@dataclass(frozen=True)
class Available:
    resource: Resource  # its place select_related
    distance_km: float | None


def available_resources(query: AvailabilityQuery, user, *, limit: int = 50) -> list[Available]:
    """Resources this user may book for the whole window [start, end), best first.

    The places of the area with resources matching the criteria (bookable by the user for a
    window of this length this far ahead) are read in order, nearest first or by name, a group
    at a time. Their hours and seasons, checked in Python, say which are open for the whole
    window; one SQL query then keeps their resources with no held slot overlapping the window
    (buffers included). Resources with hours of their own and machines that need a training are
    checked last. Each group is sized from what the previous ones held, so that in a dense area
    only the nearest places are read; the charm ranking (character before distance) reads every
    group, keeping the best of each.
    """
    now = timezone.now()
    if query.end <= query.start or query.start < now or limit < 1:
        return []
    candidates = _candidates(query, user, now)
    search = _Search(query, user, _free_in_order(candidates, query))
    area = _places_in_area(query, candidates)
    places = list(area.values_list("pk", "time_zone"))
    charm = query.order == "charm"
    found: list[Available] = []
    ranks: dict[int, tuple[int, int]] = {}  # resource id: (place rank, rank in its group)
    # A short list is read as one group: another round of queries costs more than a few places.
    size = len(places) if len(places) <= 2 * limit else limit
    first, read, narrowed = 0, 0, False
    while first < len(places) and (charm or len(found) < limit):
        group = places[first : first + size]
        results, group_read, group_open = search.group(
            group, limit if charm else limit - len(found)
        )
        ranks |= {a.resource.pk: (first, position) for position, a in enumerate(results)}
        found += results
        first, read = first + len(group), read + group_read
        if not narrowed and group_open < len(group) / 2:
            # Most places are shut then (a night, a Sunday): rather than reading the hours of
            # every other place, let SQL leave out those shut on the local weekday and time.
            rest = {pk for pk, _zone in places[first:]}
            open_rest = area.filter(_may_be_open(query.start, query.end))
            places = places[:first] + [
                place for place in open_rest.values_list("pk", "time_zone") if place[0] in rest
            ]
            narrowed = True
        per_place, missing = read / first, limit - len(found)
        size = math.ceil(missing * 1.5 / per_place) if per_place and not charm else size * 4
        size = max(size, 16)
    if charm:
        # Each group is in the charm order; merged, more character first, then the group's order.
        found.sort(key=lambda a: (-a.resource.character_count, ranks[a.resource.pk]))
    found = found[:limit]
    _attach_places_and_terms([a.resource for a in found])
    return found


# Long or JSON fields of a place that no result card shows: decoding them was most of the read.
_NOT_ON_CARDS = ("summary", "description", "translations", "search_text", "hours_rules")


def _attach_places_and_terms(resources: list[Resource]) -> None:
    """The places and the terms of the results, read once for all of them (two queries) rather
    than joined to, or prefetched for, every candidate. Terms are read as codes only: the cards
    need nothing else (Resource.codes reads `kind` and `code` of its prefetched terms)."""
    places = Place.objects.defer(*_NOT_ON_CARDS).in_bulk(
        {resource.place_id for resource in resources}
    )
    terms: dict[int, list[_Term]] = defaultdict(list)
    for resource_id, kind, code in ResourceTerm.objects.filter(resource__in=resources).values_list(
        "resource_id", "kind", "code"
    ):
        terms[resource_id].append(_Term(kind, code))
    for resource in resources:
        resource.place = places[resource.place_id]
        resource.prefetched_terms = terms[resource.pk]


class _Term(NamedTuple):
    kind: str
    code: str


class _Search:
    """The candidates of a search and the checks made on them in Python."""

    def __init__(self, query: AvailabilityQuery, user, resources: QuerySet[Resource]):
        self.query = query
        self.window = services.Slot(query.start, query.end)
        self.resources = resources
        self.trainings = _TrainingCheck(user)

    def group(self, places: list[tuple[int, str]], wanted: int) -> tuple[list[Available], int, int]:
        """The first `wanted` results among the resources of these places (id, time zone), in
        order; how many free candidates SQL gave; how many of the places are open."""
        hours = _PlaceHours(places, self.window)
        if not hours.usable:
            return [], 0, 0
        candidates = self.resources.filter(
            Q(place_id__in=hours.open, own_hours=False)
            | Q(place_id__in=hours.usable, own_hours=True)
        )
        found: list[Available] = []
        offset = 0
        while len(found) < wanted:
            # SQL applied nearly every rule already: a few more than still wanted will do.
            size = wanted - len(found) + 10
            page = list(candidates[offset : offset + size])
            offset += len(page)
            self.trainings.read(page)
            for resource in page:
                if len(found) < wanted and self._bookable(resource, hours):
                    found.append(Available(resource, getattr(resource, "distance_km", None)))
            if len(page) < size:
                break
        return found, offset, len(hours.open)

    def _bookable(self, resource: Resource, hours: "_PlaceHours") -> bool:
        """What SQL did not check: a resource's own hours (its place's closed seasons still
        close it), and the machine's training on the window's local date."""
        zone = hours.zones[resource.place_id]
        if resource.own_hours:
            own_hours, _none = rules_from_json(resource.hours_rules)
            closed = [season for season in hours.seasons[resource.place_id] if season.closed]
            if not services.within_bookable_hours(self.window, zone, own_hours, closed):
                return False
        return self.trainings.holds(resource, self.query.start.astimezone(zone).date())


class _PlaceHours:
    """The hours and seasons of a group of places (one query), and which of the places are
    open for the whole window: `usable` where the window exists on the place's clock (a time
    skipped when the clocks go forward does not), `open` where the place's hours and seasons
    also hold it (or it has no hours at all), as a booking checks (services.bookable_rules and
    services.within_bookable_hours)."""

    def __init__(self, places: list[tuple[int, str]], window: "services.Slot"):
        ids = [pk for pk, _zone in places]
        self.rules: dict[int, tuple[HoursRule, ...]] = {}
        self.seasons: dict[int, tuple[SeasonRule, ...]] = {}
        texts = dict(
            Place.objects.filter(pk__in=ids).values_list(
                "pk", Cast("hours_rules", output_field=TextField())
            )
        )
        for place_id, text in texts.items():
            self.rules[place_id], self.seasons[place_id] = _rules_of(text)
        self.zones = {pk: zoneinfo.ZoneInfo(zone) for pk, zone in places}
        exists = {
            zone: all(
                services.exists_locally(moment, zone) for moment in (window.start, window.end)
            )
            for zone in set(self.zones.values())
        }
        self.usable = [pk for pk in ids if exists[self.zones[pk]]]
        # Most places share their hours with many others (Monday to Friday, 9:00 to 18:00):
        # the window is checked once per distinct hours and time zone.
        opens: dict[tuple[str, zoneinfo.ZoneInfo], bool] = {}
        for pk in self.usable:
            key = (texts[pk], self.zones[pk])
            if key not in opens:
                opens[key] = services.within_bookable_hours(
                    window, self.zones[pk], self.rules[pk], self.seasons[pk]
                )
        self.open = [pk for pk in self.usable if opens[texts[pk], self.zones[pk]]]


@functools.lru_cache(maxsize=4096)
def _rules_of(text: str) -> tuple[tuple[HoursRule, ...], tuple[SeasonRule, ...]]:
    """A place's hours and seasons from the text of its `hours_rules`, parsed once per process
    for each distinct text: most places share theirs with many others."""
    return rules_from_json(json.loads(text))


def _candidates(query: AvailabilityQuery, user, now: dt.datetime) -> QuerySet[Resource]:
    """The resources that match the criteria and may be booked by this user for a window of
    this length and this far ahead, whether free or not."""
    minutes = (query.end - query.start) / dt.timedelta(minutes=1)
    resources = permissions.bookable_resources(user).filter(
        capacity__gte=query.min_capacity,
        min_minutes__lte=minutes,
        max_minutes__gte=minutes,
        horizon_days__gte=_days_ahead(now, query.start),
    )
    if query.kind:
        resources = resources.filter(kind=query.kind)
    for code in query.services:
        resources = resources.filter(
            Exists(
                ResourceTerm.objects.filter(
                    resource=OuterRef("pk"), kind=ResourceTerm.Kind.SERVICE, code=code
                )
            )
        )
    return resources


def _free_in_order(candidates: QuerySet[Resource], query: AvailabilityQuery) -> QuerySet[Resource]:
    """The candidates free during the window, in the order of the results."""
    resources = candidates.filter(~Exists(_held_during(query.start, query.end))).annotate(
        own_hours=Exists(ResourceHours.objects.filter(resource=OuterRef("pk")))
    )
    by_place = ["place__name", "place_id"]
    if query.near is not None:
        resources = resources.annotate(distance_km=_distance_to_place(query.near))
        by_place = ["distance_km", "place_id"]
    # Capacity ascending: of the rooms big enough, the one closest to the group size first.
    order = [*by_place, "capacity", "name", "id"]
    if query.order == "charm":
        resources = resources.annotate(character_count=_character_count())
        order = ["-character_count", *order]
    return resources.order_by(*order)


def _places_in_area(query: AvailabilityQuery, candidates: QuerySet[Resource]) -> QuerySet[Place]:
    """Published places with candidates, of the network (if given), within the radius, nearest
    first, or all of them by name when there is no position."""
    places = Place.objects.filter(
        Exists(candidates.filter(place=OuterRef("pk"))),
        is_published=True,
    )
    if query.network:
        places = places.filter(networks__slug=query.network)
    if query.near is None:
        return places.order_by("name", "id")
    return with_distance(places, query.near, query.radius_km or DEFAULT_RADIUS_KM)


def _may_be_open(start: dt.datetime, end: dt.datetime) -> Q:
    """A first cut on opening hours, for the places in the network's time zone (the others pass):
    an interval of the local weekday holds the window (in any season), or the place has no hours
    at all, or resources with hours of their own. Seasons are applied exactly later, in Python."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    hours = OpeningHours.objects.filter(place=OuterRef("pk"))
    may_be_open = (
        ~Q(time_zone=settings.TIME_ZONE)
        | ~Exists(hours)
        | Exists(ResourceHours.objects.filter(resource__place=OuterRef("pk")))
    )
    if local_start.date() == local_end.date():
        may_be_open |= Exists(
            hours.filter(
                weekday=local_start.weekday(),
                opens__lte=local_start.time(),
                closes__gte=local_end.time(),
            )
        )
    return may_be_open


def _days_ahead(now: dt.datetime, start: dt.datetime) -> int:
    """The least horizon (whole days) that reaches `start`: start <= now + horizon_days."""
    microseconds = (start - now) // dt.timedelta(microseconds=1)
    return -(-microseconds // (86_400 * 10**6))


def _held_during(start: dt.datetime, end: dt.datetime) -> QuerySet[Occurrence]:
    """Held slots of the outer resource overlapping [start, end + its buffer): `held_until`
    already holds the buffer after an existing slot, the window needs its own before the next.
    Served by the `occurrence_lookup` index (resource, start, held_until)."""
    return Occurrence.objects.filter(
        resource=OuterRef("pk"),
        status__in=Occurrence.HOLDING,
        start__lt=Value(end, output_field=DateTimeField()) + _Minutes(OuterRef("buffer_minutes")),
        held_until__gt=start,
    )


class _Minutes(Func):
    """A whole number of minutes as a duration: an interval on PostgreSQL, microseconds on
    SQLite (how Django stores durations there), so that adding it to a time works on both."""

    output_field = DurationField()
    template = "(%(expressions)s * INTERVAL '1 minute')"

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler, connection, template="(%(expressions)s * 60000000)", **extra_context
        )


def _distance_to_place(point: Point) -> _GreatCircleKm:
    distance = _GreatCircleKm(point)
    distance.set_source_expressions([F("place__latitude"), F("place__longitude")])
    return distance


def _character_count() -> Coalesce:
    tags = (
        ResourceTerm.objects.filter(resource=OuterRef("pk"), kind=ResourceTerm.Kind.CHARACTER)
        .order_by()
        .values("resource")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(tags), 0)


class _TrainingCheck:
    """holds_training for the many machines of a search, checked in Python: the user's
    trainings are read once, and the networks of the places concerned once per page."""

    def __init__(self, user):
        self.user = user if user and user.is_authenticated else None
        self.trainings: list[tuple[str, int, dt.date | None]] | None = None
        self.networks: dict[int, set[int]] = {}  # place id: its networks

    def read(self, resources: list[Resource]) -> None:
        """Read what checking these resources needs and was not read yet."""
        machines = [resource for resource in resources if resource.training]
        if not machines or self.user is None:
            return
        if self.trainings is None:
            self.trainings = list(
                TrainingValidation.objects.filter(user=self.user).values_list(
                    "machine_type", "place_id", "expires_on"
                )
            )
        trained = {machine_type for machine_type, _place, _expires in self.trainings}
        places = {place_id for _type, place_id, _expires in self.trainings} | {
            resource.place_id for resource in machines if resource.training in trained
        }
        missing = places - self.networks.keys()
        if missing:
            self.networks |= {place_id: set() for place_id in missing}
            for place_id, network_id in Place.networks.through.objects.filter(
                place_id__in=missing
            ).values_list("place_id", "network_id"):
                self.networks[place_id].add(network_id)

    def holds(self, resource: Resource, on: dt.date) -> bool:
        """As holds_training: a validation for the machine type, valid on `on`, given by the
        resource's place or by a place sharing a network with it (read() came first)."""
        if not resource.training:
            return True
        if self.user is None:
            return False
        return any(
            machine_type == resource.training
            and (expires_on is None or expires_on >= on)
            and (
                place_id == resource.place_id
                or not self.networks[place_id].isdisjoint(self.networks[resource.place_id])
            )
            for machine_type, place_id, expires_on in self.trainings
        )
