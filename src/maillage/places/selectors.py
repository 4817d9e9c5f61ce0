"""Reads of the directory: search, proximity, geocoding from our own towns, place pages."""

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Avg, Count, F, FloatField, Func, Prefetch, Q, QuerySet

from maillage.core.text import fold

from . import hours as hours_logic
from .models import Network, OpeningHours, Place, PlaceTerm, Season

EARTH_RADIUS_KM = 6371.0088
MAX_RADIUS_KM = 1000.0
# Along a meridian, on the same sphere as the distances below.
KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float


@dataclass
class DirectoryFilters:
    """Validated directory criteria (see forms.DirectoryFilterForm and the API for parsing)."""

    q: str = ""
    functions: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    accessibility: list[str] = field(default_factory=list)
    network: str = ""
    near: Point | None = None
    radius_km: float | None = None
    open_at: dt.datetime | None = None


def _with_terms(queryset: QuerySet[Place]) -> QuerySet[Place]:
    # A plain list (to_attr) instead of a prefetched manager: cheaper, and Place.codes sorts.
    return queryset.prefetch_related(
        Prefetch("terms", queryset=PlaceTerm.objects.all(), to_attr="prefetched_terms")
    )


def published_places() -> QuerySet[Place]:
    return _with_terms(Place.objects.filter(is_published=True))


def _bounding_box(point: Point, radius_km: float) -> Q:
    """A latitude/longitude box around the circle, an index-friendly first cut.

    The circle is widest in longitude poleward of its centre, asin(sin d / cos lat) and not
    d / cos lat; a box crossing ±180° of longitude continues on the other side.
    """
    margin = 1e-7  # degrees, about a centimetre: rounding must not cut a place on the circle
    angle = radius_km / EARTH_RADIUS_KM
    dlat = math.degrees(angle) + margin
    box = Q(latitude__gte=point.lat - dlat, latitude__lte=point.lat + dlat)
    cos_lat = math.cos(math.radians(point.lat))
    if abs(point.lat) + dlat >= 90 or math.sin(angle) >= cos_lat:
        return box  # the circle holds a pole: every longitude
    dlon = math.degrees(math.asin(math.sin(angle) / cos_lat)) + margin
    west, east = point.lon - dlon, point.lon + dlon
    longitudes = Q(longitude__gte=west, longitude__lte=east)
    if west < -180:
        longitudes |= Q(longitude__gte=west + 360)
    if east > 180:
        longitudes |= Q(longitude__lte=east - 360)
    return box & longitudes


class _GreatCircleKm(Func):
    """Haversine distance in km from a point to the row, as one SQL expression.

    Written as SQL rather than a tree of ORM functions: the tree costs a millisecond to build and
    compile on every search (it is compiled for SELECT, WHERE and ORDER BY), the SQL is the same.
    The math functions are native in PostgreSQL and registered by Django on SQLite connections.
    """

    output_field = FloatField()

    def __init__(self, point: Point):
        super().__init__(F("latitude"), F("longitude"))
        self.point = point

    def as_sql(self, compiler, connection, **extra_context):
        lat, lat_params = compiler.compile(self.source_expressions[0])
        lon, lon_params = compiler.compile(self.source_expressions[1])
        sql = (
            f"(%s * ASIN(SQRT(POWER(SIN(RADIANS({lat} - %s) / 2), 2)"
            f" + %s * COS(RADIANS({lat})) * POWER(SIN(RADIANS({lon} - %s) / 2), 2))))"
        )
        params = (
            2 * EARTH_RADIUS_KM,
            *lat_params,
            self.point.lat,
            math.cos(math.radians(self.point.lat)),
            *lat_params,
            *lon_params,
            self.point.lon,
        )
        return sql, params


def _distance_km(point: Point) -> Func:
    return _GreatCircleKm(point)


def haversine_km(a: Point, b: Point) -> float:
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat, dlon = lat2 - lat1, math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(h, 1.0)))


def with_distance(queryset: QuerySet[Place], point: Point, radius_km: float) -> QuerySet[Place]:
    """Places within `radius_km` of `point`, nearest first, each annotated with `distance_km`."""
    return (
        queryset.filter(_bounding_box(point, radius_km))
        .annotate(distance_km=_distance_km(point))
        .filter(distance_km__lte=radius_km)
        .order_by("distance_km", "id")
    )


def _open_ids(queryset: QuerySet[Place], instant: dt.datetime) -> list[int]:
    """Ids of the places of `queryset` open at `instant`, hours and seasons included.

    The database narrows the candidates to places with some interval matching the local weekday
    and time (computed once per time zone in use); seasons are then applied exactly in Python.
    """
    import zoneinfo

    zones = queryset.order_by().values_list("time_zone", flat=True).distinct()
    narrowing = Q()
    for zone in zones:
        local = instant.astimezone(zoneinfo.ZoneInfo(zone))
        moment = local.time().replace(tzinfo=None, microsecond=0)
        narrowing |= Q(
            time_zone=zone,
            hours__weekday=local.weekday(),
            hours__opens__lte=moment,
            hours__closes__gt=moment,
        )
    if not narrowing:
        return []
    candidates = dict(
        queryset.filter(narrowing).order_by().values_list("id", "time_zone").distinct()
    )
    rules: dict[int, list[hours_logic.HoursRule]] = defaultdict(list)
    for place_id, season_id, weekday, opens, closes in OpeningHours.objects.filter(
        place_id__in=candidates
    ).values_list("place_id", "season_id", "weekday", "opens", "closes"):
        rules[place_id].append(hours_logic.HoursRule(season_id, weekday, opens, closes))
    seasons: dict[int, list[hours_logic.SeasonRule]] = defaultdict(list)
    for season in Season.objects.filter(place_id__in=candidates).values(
        "id", "place_id", "start_date", "end_date", "yearly", "closed"
    ):
        seasons[season["place_id"]].append(_season_rule(season))
    return [
        place_id
        for place_id, zone in candidates.items()
        if hours_logic.is_open_at(instant, zone, rules[place_id], seasons[place_id])
    ]


def _season_rule(season: dict) -> hours_logic.SeasonRule:
    return hours_logic.SeasonRule(
        key=season["id"],
        start=season["start_date"],
        end=season["end_date"],
        yearly=season["yearly"],
        closed=season["closed"],
    )


def search_places(filters: DirectoryFilters) -> QuerySet[Place]:
    """The directory query: every criterion combined with AND, nearest first when `near` is set."""
    queryset = published_places()
    if filters.q:
        for word in fold(filters.q).split():
            queryset = queryset.filter(search_text__contains=word)
    for kind, codes in (
        (PlaceTerm.Kind.FUNCTION, filters.functions),
        (PlaceTerm.Kind.SERVICE, filters.services),
        (PlaceTerm.Kind.LANGUAGE, filters.languages),
        (PlaceTerm.Kind.ACCESSIBILITY, filters.accessibility),
    ):
        for code in codes:
            queryset = queryset.filter(
                id__in=PlaceTerm.objects.filter(kind=kind, code=code).values("place_id")
            )
    if filters.network:
        queryset = queryset.filter(networks__slug=filters.network)
    if filters.open_at is not None:
        queryset = queryset.filter(id__in=_open_ids(queryset, filters.open_at))
    if filters.near is not None:
        return with_distance(queryset, filters.near, filters.radius_km or MAX_RADIUS_KM)
    return queryset.order_by("name", "id")


def place_detail(slug: str, *, published_only: bool = True) -> Place | None:
    places = published_places() if published_only else _with_terms(Place.objects.all())
    return (
        places.prefetch_related("networks", "photos", "animators", "equipment", "seasons", "hours")
        .filter(slug=slug)
        .first()
    )


def place_hours(place: Place) -> tuple[list[hours_logic.HoursRule], list[hours_logic.SeasonRule]]:
    """The hours and seasons of a place as rules (uses prefetched rows when present)."""
    rules = [
        hours_logic.HoursRule(h.season_id, h.weekday, h.opens, h.closes) for h in place.hours.all()
    ]
    seasons = [
        _season_rule(
            {
                "id": s.id,
                "start_date": s.start_date,
                "end_date": s.end_date,
                "yearly": s.yearly,
                "closed": s.closed,
            }
        )
        for s in place.seasons.all()
    ]
    return rules, seasons


def is_place_open(place: Place, instant: dt.datetime) -> bool:
    rules, seasons = place_hours(place)
    return hours_logic.is_open_at(instant, place.time_zone, rules, seasons)


def nearby_places(place: Place, *, radius_km: float = 30.0, limit: int = 6) -> list[Place]:
    point = Point(place.latitude, place.longitude)
    return list(with_distance(published_places().exclude(pk=place.pk), point, radius_km)[:limit])


def geocode_town(text: str) -> tuple[Point, str] | None:
    """Locate a typed town name (or postcode) from the towns of our own places, no external service.

    Several places in one town give the centre of those places.
    """
    text = (text or "").strip()
    if not text:
        return None
    places = Place.objects.filter(is_published=True)
    matches = places.filter(postcode=text) if text.isdigit() else places.filter(town_key=fold(text))
    found = matches.aggregate(lat=Avg("latitude"), lon=Avg("longitude"), n=Count("id"))
    if not found["n"]:
        return None
    name = matches.order_by("id").values_list("town", flat=True).first() or text
    return Point(found["lat"], found["lon"]), name


def town_suggestions(prefix: str, *, limit: int = 10) -> list[dict]:
    key = fold(prefix)
    if len(key) < 2:
        return []
    # One row per spelling; a town's places are counted over all its spellings ("MENDE" and
    # "Mende") and it is named by the most common one.
    rows = (
        Place.objects.filter(is_published=True, town_key__startswith=key)
        .exclude(town="")
        .values("town_key", "town")
        .annotate(n=Count("id"))
        .order_by("-n", "town_key", "town")
    )
    towns: dict[str, dict] = {}
    for row in rows:
        town = towns.setdefault(row["town_key"], {"name": row["town"], "places": 0})
        town["places"] += row["n"]
    ranked = sorted(towns.items(), key=lambda item: (-item[1]["places"], item[0]))
    return [town for _key, town in ranked[:limit]]


def networks() -> QuerySet[Network]:
    return Network.objects.annotate(place_count=Count("places")).order_by("name")


def hours_rules_by_place(
    place_ids, *, hours_model=OpeningHours, season_model=Season
) -> dict[int, dict]:
    """Place.hours_rules as it should be for each of `place_ids`, read from the hours and season
    rows (the models are parameters so that a migration can pass its historical ones)."""
    rules: dict[int, list[hours_logic.HoursRule]] = defaultdict(list)
    seasons: dict[int, list[hours_logic.SeasonRule]] = defaultdict(list)
    for place_id, season_id, weekday, opens, closes in (
        hours_model.objects.filter(place_id__in=place_ids)
        .order_by("season_id", "weekday", "opens")
        .values_list("place_id", "season_id", "weekday", "opens", "closes")
    ):
        rules[place_id].append(hours_logic.HoursRule(season_id, weekday, opens, closes))
    for season in (
        season_model.objects.filter(place_id__in=place_ids)
        .order_by("start_date", "id")
        .values("id", "place_id", "start_date", "end_date", "yearly", "closed")
    ):
        seasons[season["place_id"]].append(_season_rule(season))
    return {
        place_id: hours_logic.rules_to_json(rules[place_id], seasons[place_id])
        for place_id in place_ids
    }
