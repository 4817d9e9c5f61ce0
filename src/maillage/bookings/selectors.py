"""Reads on resources and bookings: rules a booking is checked against, trainings, lists, and
the network availability search."""

import datetime as dt
import functools
import json
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import connection, connections
from django.db.models import (
    CharField,
    Count,
    DateTimeField,
    DurationField,
    Exists,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    TimeField,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Coalesce
from django.db.models.lookups import GreaterThanOrEqual
from django.utils import timezone

from maillage.accounts.models import PlaceRole, User
from maillage.core.prepared import MARKERS, KeyedGet, Param, bind
from maillage.places.hours import HoursRule, SeasonRule, rules_from_json, rules_to_json
from maillage.places.models import OpeningHours, Place
from maillage.places.selectors import Point, with_distance

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
    resource: Resource  # with its place and its terms' codes
    distance_km: float | None


def available_resources(query: AvailabilityQuery, user, *, limit: int = 50) -> list[Available]:
    """Resources this user may book for the whole window [start, end), best first.

    One SQL query reads the places of the area in order (nearest first, or by name) and, for
    each, its resources matching the criteria and free of any held slot overlapping the window
    (buffers included); on PostgreSQL through a lateral join, so that the database stops at the
    first places holding enough of them. The same query makes a first cut on what only Python
    checks exactly (it keeps every resource that may pass): resources of places shut on the
    window's local weekday and time whatever the season, machines of a type the user holds no
    training for. Python then applies what a booking checks and SQL did not: the place's hours
    and seasons or the resource's own hours, and where and until when a training is valid. When
    these leave too few, the next rows are read. The charm ranking (character before distance)
    sorts every free resource of the area in SQL.
    """
    now = timezone.now()
    if query.end <= query.start or query.start < now or limit < 1:
        return []
    search = _Search(query, user, now)
    found: list[_Row] = []
    offset, size = 0, limit + limit // 4 + 10  # SQL applied most rules: a few more will do
    while len(found) < limit:
        rows = search.rows(offset, size)
        offset += len(rows)
        found += [row for row in rows if search.bookable(row)]
        if len(rows) < size:
            break
        size *= 2
    return _results(found[:limit])


class _Row(NamedTuple):
    """A free candidate as the search's query gives it."""

    place_id: int
    time_zone: str
    place_hours: str  # the text of the place's hours_rules
    distance_km: float | None
    id: int
    training: str
    own_hours: str  # the text of the resource's hours_rules


class _Search:
    """The query of a search, and the checks made in Python on the rows it gives."""

    def __init__(self, query: AvailabilityQuery, user, now: dt.datetime):
        self.query = query
        self.window = services.Slot(query.start, query.end)
        self.trainings = _TrainingCheck(user)
        self.sql, self.params = _search_sql(query, user, now)
        self.zones: dict[str, tuple[zoneinfo.ZoneInfo, bool]] = {}
        self.open: dict[tuple[str, str, str], bool] = {}

    def rows(self, offset: int, size: int) -> list[_Row]:
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [*self.params, size, offset])
            rows = [_Row(*row) for row in cursor.fetchall()]
        self.trainings.read(rows)
        return rows

    def bookable(self, row: _Row) -> bool:
        """What SQL did not check, as a booking checks it (services.bookable_rules and
        within_bookable_hours): the window exists on the place's clock (a time skipped when the
        clocks go forward does not), lies within the resource's own hours (its place's closed
        seasons still close it) or else the place's hours and seasons, and the machine's
        training is valid on the window's local date."""
        zone, usable = self._zone(row.time_zone)
        if not usable:
            return False
        # Most places share their hours with many others (Monday to Friday, 9:00 to 18:00):
        # the window is checked once per distinct hours and time zone.
        key = (row.place_hours, row.own_hours, row.time_zone)
        if key not in self.open:
            place_hours, seasons = _rules_of(row.place_hours)
            own_hours, _none = _rules_of(row.own_hours)
            if own_hours:
                rules, seasons = own_hours, tuple(season for season in seasons if season.closed)
            else:
                rules = place_hours
            self.open[key] = services.within_bookable_hours(self.window, zone, rules, seasons)
        if not self.open[key]:
            return False
        return self.trainings.holds(row, self.query.start.astimezone(zone).date())

    def _zone(self, name: str) -> tuple[zoneinfo.ZoneInfo, bool]:
        if name not in self.zones:
            zone = zoneinfo.ZoneInfo(name)
            usable = all(
                services.exists_locally(moment, zone)
                for moment in (self.window.start, self.window.end)
            )
            self.zones[name] = (zone, usable)
        return self.zones[name]


def _search_sql(query: AvailabilityQuery, user, now: dt.datetime) -> tuple[str, list]:
    """The search's query, its last two parameters left to give: LIMIT and OFFSET.

    Both halves are built with the ORM (so that the rules of who may book what stay in one
    place, `permissions.bookable_resources`) and joined here: SQL the ORM cannot write.
    """
    by_place = "p.distance_km" if query.near is not None else "p.name"
    order = f"{by_place}, p.id, f.capacity, f.name, f.id"
    if query.order == "charm":
        order = f"f.character_count DESC, {order}"
    place_sql, place_params = _compiled(_places_in_area(query))
    resource_sql, resource_params = _resources_sql(query, user, now)
    columns = "f.place_id, f.time_zone, f.place_hours, p.distance_km, f.id, f.training, f.own_hours"
    if connection.vendor == "postgresql":
        # The sorted places as a fence (OFFSET 0 keeps their order), each one's resources
        # joined laterally: the sort of the results is then incremental and stops at the LIMIT.
        join = f"CROSS JOIN LATERAL ({resource_sql}) f"
        place_sql += " OFFSET 0"
    else:
        join = f"INNER JOIN ({resource_sql}) f ON f.place_id = p.id"
    # Only compiled SQL and fixed text are joined: every value travels as a parameter.
    sql = f"SELECT {columns} FROM ({place_sql}) p {join} ORDER BY {order} LIMIT %s OFFSET %s"  # noqa: S608
    return sql, [*place_params, *resource_params]


def _compiled(queryset: QuerySet) -> tuple[str, tuple]:
    return queryset.query.get_compiler(using=queryset.db).as_sql()


def _places_in_area(query: AvailabilityQuery) -> QuerySet[Place]:
    """Published places of the network (if given), within the radius, nearest first, or all
    of them by name when there is no position."""
    places = Place.objects.filter(is_published=True)
    if query.network:
        places = places.filter(networks__slug=query.network)
    if query.near is None:
        places = places.annotate(distance_km=Value(None, output_field=FloatField())).order_by(
            "name", "id"
        )
    else:
        places = with_distance(places, query.near, query.radius_km or DEFAULT_RADIUS_KM)
    return places.values("id", "name", "distance_km")


class _Shape(NamedTuple):
    """What the SQL text of a search's resources depends on; values of the search aside."""

    database: str
    kind: bool
    services: int
    charm: bool
    same_day: bool  # in the network's time zone
    user: tuple | None  # what `permissions.bookable_resources` may branch on


# The resources' query of each shape of search met, compiled once: building and compiling it
# was a third of a search. Its values are `Param`s, bound at each search.
_compiled_resources: dict[_Shape, tuple[str, tuple]] = {}


def _resources_sql(query: AvailabilityQuery, user, now: dt.datetime) -> tuple[str, list]:
    """The candidates free during the window, with what the checks in Python need (on
    PostgreSQL, those of the place "p" of the outer query)."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    local_start, local_end = query.start.astimezone(zone), query.end.astimezone(zone)
    shape = _Shape(
        database=connection.alias,
        kind=bool(query.kind),
        services=len(query.services),
        charm=query.order == "charm",
        same_day=local_start.date() == local_end.date(),
        user=_user_shape(user),
    )
    compiled = _compiled_resources.get(shape)
    if compiled is None:
        compiled = _compiled_resources[shape] = _compiled(_free_candidates(shape))
    sql, params = compiled
    values = {
        "start": query.start,
        "end": query.end,
        "network_zone": settings.TIME_ZONE,
        "min_capacity": query.min_capacity,
        # The window may have seconds: whole minutes to compare with a minimum, minutes begun
        # with a maximum.
        "whole_minutes": (query.end - query.start) // dt.timedelta(minutes=1),
        "minutes_begun": -((query.start - query.end) // dt.timedelta(minutes=1)),
        "horizon_days": _days_ahead(now, query.start),
        "kind": query.kind,
        "weekday": local_start.weekday(),
        "opens": local_start.time(),
        "closes": local_end.time(),
        **{f"service_{index}": code for index, code in enumerate(query.services)},
    }
    return sql, bind(params, values, shape.database, key=getattr(user, "pk", None))


def _user_shape(user) -> tuple | None:
    if isinstance(user, User):
        return (User, user.is_authenticated, user.is_active, user.is_superuser, user.is_staff)
    return None if user is None else (type(user), user.is_authenticated)


def _user_stand_in(shape: tuple | None):
    """A user of this shape whose key is a marker, bound to the searching user's at each run."""
    if shape is None:
        return None
    if shape[0] is not User:
        return AnonymousUser()
    _type, _authenticated, is_active, is_superuser, is_staff = shape
    return User(pk=MARKERS[int], is_active=is_active, is_superuser=is_superuser, is_staff=is_staff)


def _free_candidates(shape: _Shape) -> QuerySet[Resource]:
    user = _user_stand_in(shape.user)
    resources = (
        _candidates(shape, user)
        .filter(_may_be_open(shape.same_day), _may_be_trained(user), _free_during())
        .annotate(
            time_zone=F("place__time_zone"),
            place_hours=Cast("place__hours_rules", output_field=TextField()),
            own_hours=Cast("hours_rules", output_field=TextField()),
        )
        .order_by()
    )
    if connections[shape.database].vendor == "postgresql":
        resources = resources.filter(place_id=RawSQL('"p"."id"', (), output_field=IntegerField()))
    fields = ["id", "place_id", "capacity", "name", "training"]
    fields += ["time_zone", "place_hours", "own_hours"]
    if shape.charm:
        resources = resources.annotate(character_count=_character_count())
        fields.append("character_count")
    return resources.values(*fields)


# What the result cards (the page's and the API's) show of a resource and of its place: the
# instances of the results, built with every field, were a third of a search.
_RESOURCE_ON_CARDS = (
    "place_id",
    "name",
    "kind",
    "capacity",
    "requires_approval",
    "price_info",
    "photo",
)
_PLACE_ON_CARDS = ("slug", "name", "town", "latitude", "longitude")


def _results(rows: list[_Row]) -> list[Available]:
    """The results with their places and terms (three queries; a place is built once for all
    its resources). Terms are read as codes only: the cards need nothing else (Resource.codes
    reads `kind` and `code` of its prefetched terms)."""
    resources = Resource.objects.only(*_RESOURCE_ON_CARDS).in_bulk([row.id for row in rows])
    places = Place.objects.only(*_PLACE_ON_CARDS).in_bulk({row.place_id for row in rows})
    terms: dict[int, list[_Term]] = defaultdict(list)
    for resource_id, kind, code in ResourceTerm.objects.filter(
        resource__in=resources.keys()
    ).values_list("resource_id", "kind", "code"):
        terms[resource_id].append(_Term(kind, code))
    found = []
    for row in rows:
        resource = resources[row.id]
        resource.place = places[row.place_id]
        resource.prefetched_terms = terms[resource.pk]
        found.append(Available(resource, row.distance_km))
    return found


class _Term(NamedTuple):
    kind: str
    code: str


@functools.lru_cache(maxsize=4096)
def _rules_of(text: str) -> tuple[tuple[HoursRule, ...], tuple[SeasonRule, ...]]:
    """Hours and seasons from the text of a place's or a resource's `hours_rules`, parsed once
    per process for each distinct text: most places share theirs with many others."""
    return rules_from_json(json.loads(text))


def _candidates(shape: _Shape, user) -> QuerySet[Resource]:
    """The resources that match the criteria and may be booked by this user for a window of
    this length and this far ahead, whether free or not."""
    resources = permissions.bookable_resources(user).filter(
        capacity__gte=Param("min_capacity", IntegerField()),
        min_minutes__lte=Param("whole_minutes", IntegerField()),
        max_minutes__gte=Param("minutes_begun", IntegerField()),
        horizon_days__gte=Param("horizon_days", IntegerField()),
    )
    if shape.kind:
        resources = resources.filter(kind=Param("kind", CharField()))
    for index in range(shape.services):
        resources = resources.filter(
            Exists(
                ResourceTerm.objects.filter(
                    resource=OuterRef("pk"),
                    kind=ResourceTerm.Kind.SERVICE,
                    code=Param(f"service_{index}", CharField()),
                )
            )
        )
    return resources


def _may_be_open(same_day: bool) -> Q:
    """A first cut on opening hours, on a resource's row, for the places in the network's time
    zone (the others pass): an interval of its place's local weekday holds the window (in any
    season), or the resource has hours of its own, or its place has no hours at all. Seasons
    are applied exactly later, in Python."""
    hours = OpeningHours.objects.filter(place=OuterRef("place_id"))
    may_be_open = ~Q(place__time_zone=Param("network_zone", CharField()))
    if same_day:
        may_be_open |= Exists(
            hours.filter(
                weekday=Param("weekday", IntegerField()),
                opens__lte=Param("opens", TimeField()),
                closes__gte=Param("closes", TimeField()),
            )
        )
    return (
        may_be_open | Exists(ResourceHours.objects.filter(resource=OuterRef("pk"))) | ~Exists(hours)
    )


def _may_be_trained(user) -> Q:
    """A first cut on trainings: no training needed, or one of a machine type the user holds a
    validation for (where it was given and until when are checked exactly in Python)."""
    no_training = Q(training="")
    if not (user and user.is_authenticated):
        return no_training
    return no_training | Q(
        training__in=TrainingValidation.objects.filter(user=user).values("machine_type")
    )


def _days_ahead(now: dt.datetime, start: dt.datetime) -> int:
    """The least horizon (whole days) that reaches `start`: start <= now + horizon_days."""
    microseconds = (start - now) // dt.timedelta(microseconds=1)
    return -(-microseconds // (86_400 * 10**6))


def _free_during() -> Q:
    """No held slot of the resource overlaps [start, end + its buffer): `held_until` already
    holds the buffer after an existing slot, the window needs its own before the next.

    Held slots of a resource never overlap (the exclusion constraint; serialised writes on
    SQLite), so if one overlaps the window, the one that starts last before the window's end
    does too: only that one is read, one step back on the `occurrence_lookup` index (resource,
    start, held_until), rather than every slot of the resource before the window's end.
    """
    start = Param("start", DateTimeField())
    last_before_end = (
        Occurrence.objects.filter(
            resource=OuterRef("pk"),
            status__in=Occurrence.HOLDING,
            start__lt=Param("end", DateTimeField()) + _Minutes(OuterRef("buffer_minutes")),
        )
        .order_by("-start")
        .values("held_until")[:1]
    )
    return Q(GreaterThanOrEqual(start, Coalesce(Subquery(last_before_end), start)))


class _Minutes(Func):
    """A whole number of minutes as a duration: an interval on PostgreSQL, microseconds on
    SQLite (how Django stores durations there), so that adding it to a time works on both."""

    output_field = DurationField()
    template = "(%(expressions)s * INTERVAL '1 minute')"

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler, connection, template="(%(expressions)s * 60000000)", **extra_context
        )


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

    def read(self, resources: list[_Row]) -> None:
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

    def holds(self, resource: _Row, on: dt.date) -> bool:
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
