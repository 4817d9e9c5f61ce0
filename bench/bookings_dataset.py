"""The "national" benchmark dataset of PRODUCT.md §4 for bookings, written with PostgreSQL COPY.

5,000 places over mainland France (census places of 2019 moved by a Gaussian jitter), one network
per region plus a national one, weekly opening hours and seasons, 25,000 bookable resources,
100,000 members (and one manager per place) and 2,000,000 booked slots over two years, one year
before and one year after the day of generation (the "anchor"). Every slot lies inside its
resource's bookable hours, computed with the same function as the booking service
(maillage.places.hours.intervals_on), and no two slots of a resource overlap, buffers included:
the exclusion constraint of migration bookings/0002 checks it when it is rebuilt at the end.

Everything is drawn from a seeded `random.Random`, so `(spec, anchor)` always gives the same rows.
Needs a configured Django on PostgreSQL (see bench/bookings.py).
"""

import datetime as dt
import itertools
import math
import random
import re
import time
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import dataset

SOURCE = "bench-national"  # Place.source of every generated place
VERSION = 2  # bump when the generator changes: the next run rebuilds the data
ZONE = "Europe/Paris"
# Mainland France and Corsica; the census also holds overseas places, left out here.
MAINLAND = {"lat": (41.3, 51.1), "lon": (-4.8, 9.6)}
UNIT = 30  # minutes: slots start and end on the half hour
UNUSABLE_PASSWORD = "!bench"  # noqa: S105 - Django refuses any password starting with "!"
# The columns of a place row that the generators copy (the rest take their defaults).
PLACE_COLUMNS = [
    "id",
    "slug",
    "name",
    "summary",
    "address",
    "postcode",
    "town",
    "insee_code",
    "department",
    "latitude",
    "longitude",
    "time_zone",
    "is_published",
    "source",
    "source_id",
    "town_key",
    "search_text",
]


@dataclass(frozen=True)
class Spec:
    places: int = 5_000
    resources: int = 25_000
    occurrences: int = 2_000_000
    members: int = 100_000
    seed: int = 2024

    def scaled(self, factor: float) -> "Spec":
        return Spec(
            places=max(10, round(self.places * factor)),
            resources=max(50, round(self.resources * factor)),
            occurrences=max(1_000, round(self.occurrences * factor)),
            members=max(100, round(self.members * factor)),
            seed=self.seed,
        )


def _week(days, *intervals):
    return [(day, opens, closes) for day in days for opens, closes in intervals]


_T = dt.time
# Weekly hours: (share of places, [(weekday, opens, closes), ...]); an empty list means no hours
# at all, which the booking rules read as "bookable at any time".
HOURS_TEMPLATES = (
    (0.62, _week(range(5), (_T(9), _T(18)))),
    (0.12, _week(range(5), (_T(8, 30), _T(12, 30)), (_T(13, 30), _T(18, 30)))),
    (0.10, _week(range(1, 6), (_T(9, 30), _T(19)))),
    (0.14, _week(range(5), (_T(9), _T(18))) + _week([5], (_T(9), _T(13)))),
    (0.02, []),
)
# Yearly seasons: (share, name, (month, day) first, (month, day) last, closed, own hours).
SEASON_TEMPLATES = (
    (0.25, "Fermeture estivale", (8, 1), (8, 23), True, []),
    (0.20, "Fêtes de fin d'année", (12, 24), (1, 1), True, []),
    (0.05, "Horaires d'été", (7, 1), (8, 31), False, _week(range(5), (_T(8), _T(13)))),
    (0.03, "Ouvert l'hiver seulement", (4, 15), (10, 31), True, []),
)
# Resource kinds: share, capacities, (min, max) minutes, usual durations (minutes), bookings weight.
KINDS = {
    "meeting_room": (0.25, (4, 20), (30, 600), (60, 90, 120, 120, 180, 240), 1.2),
    "desk": (0.25, (1, 1), (60, 600), (120, 240, 240, 480), 1.6),
    "private_office": (0.15, (1, 4), (60, 600), (240, 480), 1.0),
    "visio_room": (0.10, (2, 12), (30, 480), (30, 60, 60, 90, 120), 1.2),
    "training_room": (0.08, (10, 30), (60, 600), (180, 240, 420), 0.6),
    "machine": (0.12, (1, 1), (30, 240), (30, 60, 90, 120, 180), 1.0),
    "equipment": (0.05, (1, 1), (60, 600), (240, 480), 0.4),
}
ROOM_NAMES = ("Causse", "Aubrac", "Lot", "Tarn", "Cévennes", "Margeride", "Mont Lozère", "Jonte")
MACHINES = {  # machine type -> the place service that goes with it
    "laser_cutter": "laser_cutter",
    "printer_3d": "printer_3d",
    "cnc_router": "fablab",
    "vinyl_cutter": "fablab",
    "sewing_machine": "fablab",
    "sound_studio": "music_studio",
}
CHARACTER = ("view", "garden", "historic_building", "natural_light", "quiet", "fireplace")
OWN_HOURS = (  # a few resources have their own bookable hours
    _week(range(5), (_T(14), _T(18))),
    _week((1, 2, 3), (_T(10), _T(17))),
)
TITLES = ("Réunion d'équipe", "Formation", "Rendez-vous client", "Atelier", "Visio", "Travail", "")


@dataclass
class PlaceSpec:
    id: int
    hours: int  # index in HOURS_TEMPLATES
    seasons: tuple[int, ...]  # indexes in SEASON_TEMPLATES
    members: list[int]


@dataclass
class ResourceSpec:
    id: int
    place: PlaceSpec
    kind: str
    min_minutes: int
    max_minutes: int
    buffer_minutes: int
    audience: str
    requires_approval: bool
    own_hours: int | None  # index in OWN_HOURS
    training: str


def _copy_hours_rules(place_model, resource_model) -> None:
    """Fill the copies of the hours kept on places and resources (Place.hours_rules,
    Resource.hours_rules), as the services do when hours are written."""
    from maillage.bookings.models import ResourceHours
    from maillage.bookings.selectors import hours_rules_by_resource
    from maillage.places.selectors import hours_rules_by_place

    place_ids = list(place_model.objects.values_list("id", flat=True))
    place_model.objects.bulk_update(
        [
            place_model(id=pk, hours_rules=rules)
            for pk, rules in hours_rules_by_place(place_ids).items()
        ],
        ["hours_rules"],
        batch_size=500,
    )
    resource_ids = set(ResourceHours.objects.values_list("resource_id", flat=True))
    resource_model.objects.bulk_update(
        [
            resource_model(id=pk, hours_rules=rules)
            for pk, rules in hours_rules_by_resource(resource_ids).items()
        ],
        ["hours_rules"],
        batch_size=500,
    )


# --------------------------------------------------------------------------------------------
# COPY
# --------------------------------------------------------------------------------------------


class Copier:
    """Writes rows of a model with COPY: the generator gives `fields`, every other concrete
    field gets its model default (or the generation time for auto_now fields)."""

    def __init__(self, model, fields: list[str], now: dt.datetime):
        from django.db import models
        from psycopg.types.json import Jsonb

        self.model = model
        given = [model._meta.get_field(name) for name in fields]
        others = [f for f in model._meta.concrete_fields if f.name not in fields]
        # Identity columns not given are numbered by the database.
        others = [f for f in others if not (f.primary_key and isinstance(f, models.AutoField))]
        defaults = []
        for field in others:
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                value = now
            else:
                value = field.get_default()
                if value is None and not field.null:
                    raise ValueError(f"{model.__name__}.{field.name} needs a value")
            if isinstance(field, models.JSONField):
                value = Jsonb(value)
            defaults.append(value)
        self.defaults = tuple(defaults)
        self.columns = [f.column for f in given + others]

    def write(self, cursor, rows: Iterable[tuple]) -> int:
        quote = '"{}"'.format
        sql = (
            f"COPY {quote(self.model._meta.db_table)} "
            f"({', '.join(quote(column) for column in self.columns)}) FROM STDIN"
        )
        count = 0
        defaults = self.defaults
        with cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row + defaults)
                count += 1
        return count


def _reset_sequence(cursor, model) -> None:
    table = model._meta.db_table
    cursor.execute(
        "SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE(MAX(id), 1)) FROM "
        + f'"{table}"',
        [table],
    )


def _detach_constraints(cursor, tables: list[str]) -> list[str]:
    """Drop the foreign keys, the exclusion constraint and the secondary indexes of the big
    tables (COPY is several times faster without them); return the SQL that rebuilds them."""
    cursor.execute(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
        "FROM pg_constraint c WHERE c.conrelid = ANY(%s::regclass[]) AND c.contype IN ('f', 'x')",
        [tables],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary AND NOT EXISTS ("
        "SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        [tables],
    )
    indexes = cursor.fetchall()
    for table, name, _definition in constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _definition in indexes:
        cursor.execute(f"DROP INDEX {name}")
    return [definition for _name, definition in indexes] + [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
        for table, name, definition in constraints
    ]


# --------------------------------------------------------------------------------------------
# Places, people, resources
# --------------------------------------------------------------------------------------------


def _pick(rng: random.Random, weighted) -> int:
    return rng.choices(range(len(weighted)), weights=[item[0] for item in weighted])[0]


def _slugify(text: str) -> str:
    from django.utils.text import slugify

    return re.sub(r"-+", "-", slugify(text))


def _regions() -> dict[str, str]:
    """Census département -> region name (the census CSV has both)."""
    import csv

    with dataset.CENSUS_CSV.open(encoding="utf-8", newline="") as handle:
        return {row["INSEEDEP"].strip(): row["NOMREG"].strip() for row in csv.DictReader(handle)}


def _in_mainland(lat: float, lon: float) -> bool:
    return (
        MAINLAND["lat"][0] <= lat <= MAINLAND["lat"][1]
        and MAINLAND["lon"][0] <= lon <= MAINLAND["lon"][1]
    )


def _places(spec: Spec, rng: random.Random, marker: str):
    """Place rows, their networks, terms, hours and seasons; returns the PlaceSpecs too."""
    from maillage.core.text import fold
    from maillage.places.models import PlaceTerm

    census = [c for c in dataset.load_census() if _in_mainland(c.latitude, c.longitude)]
    regions = _regions()
    region_names = sorted({regions[c.department] for c in census if c.department in regions})
    networks = [
        (i + 1, f"bench-{_slugify(name)}", f"Réseau {name}")
        for i, name in enumerate(sorted(region_names))
    ]
    national_id = len(networks) + 1
    networks.append((national_id, "bench-france", "Tiers-lieux de France"))
    network_of_region = {name: i + 1 for i, name in enumerate(sorted(region_names))}
    codes = {kind: sorted(values) for kind, values in PlaceTerm.VOCABULARY.items()}
    places, links, terms, hours, seasons, specs = [], [], [], [], [], []
    season_id = hours_id = 0
    for i in range(spec.places):
        base = rng.choice(census)
        while True:
            lat, lon = dataset.jitter(rng, base.latitude, base.longitude, rng.uniform(3.0, 12.0))
            if _in_mainland(lat, lon):
                break
        name = f"{rng.choice(dataset._NOUNS)} {rng.choice(dataset._QUALIFIERS)} {i}"
        summary = rng.choice(dataset._SUMMARIES)
        place_id = i + 1
        places.append(
            (
                place_id,
                f"national-{i}",
                name,
                summary,
                base.address,
                base.postcode,
                base.town,
                base.insee_code,
                base.department,
                round(lat, 6),
                round(lon, 6),
                ZONE,
                True,
                SOURCE,
                f"{marker}-{i}",
                fold(base.town),
                fold(" ".join([name, base.town, base.postcode, summary, base.address])),
            )
        )
        region = regions.get(base.department)
        if region in network_of_region:
            links.append((place_id, network_of_region[region]))
        if rng.random() < 0.25 or region not in network_of_region:
            links.append((place_id, national_id))
        terms.extend((place_id, kind, code) for kind, code in dataset._terms(rng, codes))
        template = _pick(rng, HOURS_TEMPLATES)
        chosen: list[int] = []
        if HOURS_TEMPLATES[template][1]:
            if rng.random() < SEASON_TEMPLATES[3][0]:
                chosen = [3]  # winter-only places have no other season
            else:
                chosen = [k for k in range(3) if rng.random() < SEASON_TEMPLATES[k][0]]
        for day, opens, closes in HOURS_TEMPLATES[template][1]:
            hours_id += 1
            hours.append((hours_id, place_id, None, day, opens, closes))
        for k in chosen:
            _share, season_name, first, last, closed, season_hours = SEASON_TEMPLATES[k]
            season_id += 1
            seasons.append(
                (
                    season_id,
                    place_id,
                    season_name,
                    dt.date(2024, *first),
                    dt.date(2024, *last),
                    True,
                    closed,
                )
            )
            for day, opens, closes in season_hours:
                hours_id += 1
                hours.append((hours_id, place_id, season_id, day, opens, closes))
        specs.append(PlaceSpec(place_id, template, tuple(chosen), []))
    return networks, places, links, terms, hours, seasons, specs


def _resources(spec: Spec, rng: random.Random, places: list[PlaceSpec]):
    """Resource rows with their terms and own hours. Bigger places hold more resources."""
    weights = [rng.lognormvariate(0, 0.7) for _ in places]
    counts = [1] * len(places)
    for index in rng.choices(range(len(places)), weights=weights, k=spec.resources - len(places)):
        counts[index] += 1
    kinds = list(KINDS)
    rows, terms, own_hours, specs = [], [], [], []
    own_hours_id = 0
    resource_id = 0
    for place, count in zip(places, counts, strict=True):
        for n in range(count):
            resource_id += 1
            kind = rng.choices(kinds, weights=[KINDS[k][0] for k in kinds])[0]
            _share, (low, high), (min_minutes, max_minutes), _durations, _weight = KINDS[kind]
            capacity = rng.randint(low, high)
            machine_type = rng.choice(list(MACHINES)) if kind == "machine" else ""
            training = machine_type if kind == "machine" and rng.random() < 0.6 else ""
            buffer = 0
            if kind == "machine" and rng.random() < 0.3:
                buffer = 30
            elif kind in {"meeting_room", "visio_room", "training_room"} and rng.random() < 0.2:
                buffer = 15
            members_share = 0.3 if kind in {"desk", "private_office"} else 0.1
            audience = "members" if rng.random() < members_share else "public"
            approval = (kind == "training_room" and rng.random() < 0.3) or rng.random() < 0.02
            own = None
            if HOURS_TEMPLATES[place.hours][1] and rng.random() < 0.03:
                own = rng.randrange(len(OWN_HOURS))
            horizon = rng.choice((90, 90, 90, 60, 180, 365))
            label = {
                "meeting_room": "Salle",
                "visio_room": "Salle visio",
                "training_room": "Salle de formation",
                "private_office": "Bureau",
                "desk": "Poste",
                "machine": machine_type.replace("_", " ").capitalize(),
                "equipment": "Vidéoprojecteur",
            }[kind]
            rows.append(
                (
                    resource_id,
                    place.id,
                    f"{label} {rng.choice(ROOM_NAMES)} {n + 1}",
                    kind,
                    capacity,
                    min_minutes,
                    max_minutes,
                    horizon,
                    buffer,
                    audience,
                    approval,
                    rng.choice((0, 0, 24, 48)),
                    training,
                    rng.choice(("", "Gratuit pour les membres", "15 € la demi-journée")),
                    rng.random() >= 0.02,
                )
            )
            services = set()
            if rng.random() < 0.8:
                services.add("wifi")
            if rng.random() < 0.3:
                services.add("fibre")
            if kind == "visio_room" or (
                kind in {"meeting_room", "training_room"} and rng.random() < 0.25
            ):
                services.add("visio_room")
            if kind in {"meeting_room", "training_room", "private_office", "desk"}:
                services.add(kind if kind != "desk" else "open_desk")
            if kind == "machine":
                services.add(MACHINES[machine_type])
            if rng.random() < 0.1:
                services.add("cafe_kitchen")
            terms.extend((resource_id, "service", code) for code in sorted(services))
            if rng.random() < 0.3:
                for code in rng.sample(CHARACTER, rng.randint(1, 3)):
                    terms.append((resource_id, "character", code))
            if own is not None:
                for day, opens, closes in OWN_HOURS[own]:
                    own_hours_id += 1
                    own_hours.append((own_hours_id, resource_id, day, opens, closes))
            specs.append(
                ResourceSpec(
                    resource_id,
                    place,
                    kind,
                    min_minutes,
                    max_minutes,
                    buffer,
                    audience,
                    approval,
                    own,
                    training,
                )
            )
    return rows, terms, own_hours, specs


def _people(spec: Spec, rng: random.Random, places: list[PlaceSpec]):
    """One manager per place (user ids 1..places), then the members, each a member of one or
    two places."""
    users, roles = [], []
    role_id = 0
    for place in places:
        role_id += 1
        users.append((place.id, f"manager-{place.id}@bench.invalid", f"Gérant {place.id}"))
        roles.append((role_id, place.id, place.id, "manager"))
    weights = [rng.lognormvariate(0, 0.7) for _ in places]
    for n in range(spec.members):
        user_id = len(places) + n + 1
        users.append((user_id, f"member-{n}@bench.invalid", f"Membre {n}"))
        chosen = set(
            rng.choices(range(len(places)), weights=weights, k=2 if rng.random() < 0.1 else 1)
        )
        for index in chosen:
            role_id += 1
            roles.append((role_id, user_id, places[index].id, "resident"))
            places[index].members.append(user_id)
    return users, roles


def _trainings(rng: random.Random, resources: list[ResourceSpec], anchor: dt.date):
    """Up to three members of the place of each machine needing a training hold it, validated by
    the place's manager; a fifth of the validations expire."""
    rows, seen = [], set()
    for resource in resources:
        if not resource.training or not resource.place.members:
            continue
        members = resource.place.members
        for user_id in rng.sample(members, min(3, len(members))):
            key = (user_id, resource.training, resource.place.id)
            if key in seen:
                continue
            seen.add(key)
            expires = (
                anchor + dt.timedelta(days=rng.randint(-60, 365)) if rng.random() < 0.2 else None
            )
            rows.append(
                (
                    len(rows) + 1,
                    user_id,
                    resource.training,
                    resource.place.id,
                    resource.place.id,
                    expires,
                )
            )
    return rows


# --------------------------------------------------------------------------------------------
# Booked slots
# --------------------------------------------------------------------------------------------


class Calendar:
    """Bookable intervals (minutes after local midnight) of every day of the two years, per
    combination of weekly hours, seasons and own hours, computed with the service's rules."""

    def __init__(self, first: dt.date, days: int):
        self.days = [first + dt.timedelta(days=n) for n in range(days)]
        zone = zoneinfo.ZoneInfo(ZONE)
        # UTC minutes of each local midnight, from the offset at noon: slots never come near
        # the night of a clock change (hours start at 8:00 at the earliest).
        epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        self.midnights = [
            int((dt.datetime.combine(day, _T(12), zone) - epoch).total_seconds() // 60) - 720
            for day in self.days
        ]
        self._cache: dict = {}

    def open_days(
        self, place: PlaceSpec, own: int | None
    ) -> list[tuple[int, list[tuple[int, int]]]]:
        key = (place.hours, place.seasons, own)
        if key not in self._cache:
            self._cache[key] = self._compute(place, own)
        return self._cache[key]

    def _compute(self, place: PlaceSpec, own: int | None):
        from maillage.places.hours import HoursRule, SeasonRule, intervals_on

        seasons = [
            SeasonRule(
                k,
                dt.date(2024, *SEASON_TEMPLATES[k][2]),
                dt.date(2024, *SEASON_TEMPLATES[k][3]),
                True,
                SEASON_TEMPLATES[k][4],
            )
            for k in place.seasons
        ]
        if own is not None:
            rules = [HoursRule(None, day, opens, closes) for day, opens, closes in OWN_HOURS[own]]
            seasons = [season for season in seasons if season.closed]
        else:
            rules = [HoursRule(None, *row) for row in HOURS_TEMPLATES[place.hours][1]]
            for k in place.seasons:
                rules += [HoursRule(k, *row) for row in SEASON_TEMPLATES[k][5]]
        result = []
        for index, day in enumerate(self.days):
            if rules:
                intervals = [
                    (opens.hour * 60 + opens.minute, closes.hour * 60 + closes.minute)
                    for opens, closes in intervals_on(day, rules, seasons)
                ]
            else:
                intervals = [(8 * 60, 20 * 60)]  # no hours: bookable any time; slots by day
            if intervals:
                result.append((index, intervals))
        return result


def _day_capacity(intervals, min_units: int, buffer_units: int) -> int:
    return sum(
        (((closes - opens) // UNIT) + buffer_units) // (min_units + buffer_units)
        for opens, closes in intervals
    )


def _place_in_interval(rng, opens, closes, count, durations, min_units, max_units, buffer_units):
    """`count` non-overlapping slots (start, end) in minutes inside [opens, closes], buffers
    between them, random durations and gaps."""
    length = (closes - opens) // UNIT
    chosen = [
        max(min_units, min(max_units, length, rng.choice(durations) // UNIT)) for _ in range(count)
    ]
    while sum(chosen) + buffer_units * (count - 1) > length:
        largest = max(range(count), key=chosen.__getitem__)
        chosen[largest] -= 1
    free = length - sum(chosen) - buffer_units * (count - 1)
    cuts = sorted(rng.randint(0, free) for _ in range(count))
    slots = []
    position = opens // UNIT
    previous_cut = 0
    for cut, units in zip(cuts, chosen, strict=True):
        position += cut - previous_cut
        previous_cut = cut
        slots.append((position * UNIT, (position + units) * UNIT))
        position += units + buffer_units
    return slots


def _occurrence_counts(spec: Spec, rng: random.Random, resources, calendar) -> list[int]:
    weights = [KINDS[r.kind][4] * rng.lognormvariate(0, 0.5) for r in resources]
    total = sum(weights)
    counts = [int(spec.occurrences * w / total) for w in weights]
    capacities = []
    known: dict[tuple, int] = {}
    for resource in resources:
        min_units = max(1, math.ceil(resource.min_minutes / UNIT))
        buffer_units = math.ceil(resource.buffer_minutes / UNIT)
        key = (resource.place.hours, resource.place.seasons, resource.own_hours)
        key += (min_units, buffer_units)
        if key not in known:
            days = calendar.open_days(resource.place, resource.own_hours)
            # At most half of what the days could hold, and at most 4 slots a day.
            known[key] = (
                sum(min(4, _day_capacity(i, min_units, buffer_units)) for _d, i in days) // 2
            )
        capacities.append(known[key])
    missing = spec.occurrences - sum(counts)
    cumulative = list(itertools.accumulate(weights))
    while missing:
        for index in rng.choices(range(len(resources)), cum_weights=cumulative, k=missing):
            if counts[index] < capacities[index]:
                counts[index] += 1
                missing -= 1
    for index, capacity in enumerate(capacities):
        if counts[index] > capacity:
            raise ValueError(f"resource {resources[index].id}: too many slots for its hours")
    return counts


def _slots(rng: random.Random, resource: ResourceSpec, count: int, calendar: Calendar):
    """`count` slots (UTC minutes start, end, held until) of one resource, in time order."""
    days = calendar.open_days(resource.place, resource.own_hours)
    min_units = max(1, math.ceil(resource.min_minutes / UNIT))
    max_units = resource.max_minutes // UNIT
    buffer_units = math.ceil(resource.buffer_minutes / UNIT)
    durations = KINDS[resource.kind][3]
    per_day: dict[int, int] = defaultdict(int)
    caps = {}
    placed = 0
    while placed < count:
        index, intervals = days[rng.randrange(len(days))]
        if index not in caps:
            caps[index] = min(4, _day_capacity(intervals, min_units, buffer_units))
        if per_day[index] < caps[index]:
            per_day[index] += 1
            placed += 1
    slots = []
    day_intervals = dict(days)
    for index in sorted(per_day):
        intervals = day_intervals[index]
        # Spread the day's slots over its intervals, each holding what it can.
        room = [
            (((closes - opens) // UNIT) + buffer_units) // (min_units + buffer_units)
            for opens, closes in intervals
        ]
        share = [0] * len(intervals)
        for _ in range(per_day[index]):
            open_intervals = [i for i in range(len(intervals)) if share[i] < room[i]]
            share[rng.choice(open_intervals)] += 1
        midnight = calendar.midnights[index]
        for (opens, closes), n in zip(intervals, share, strict=True):
            if not n:
                continue
            for start, end in _place_in_interval(
                rng, opens, closes, n, durations, min_units, max_units, buffer_units
            ):
                slots.append(
                    (midnight + start, midnight + end, midnight + end + resource.buffer_minutes)
                )
    return slots


def _bookings(spec, rng, resources, counts, calendar, now_minutes, member_count, first_member):
    """(booking row, occurrence row) pairs, booking ids 1..occurrences, one slot each."""
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    minute = dt.timedelta(minutes=1)
    booking_id = 0
    for resource, count in zip(resources, counts, strict=True):
        members = resource.place.members
        for start, end, held in _slots(rng, resource, count, calendar):
            booking_id += 1
            if resource.audience == "members" and members:
                booker = rng.choice(members)
            else:
                booker = first_member + rng.randrange(member_count)
            draw = rng.random()
            if draw < 0.04:
                status = "cancelled"
            elif resource.requires_approval and start > now_minutes and draw < 0.4:
                status = "pending"
            elif resource.requires_approval and draw < 0.06:
                status = "refused"
            else:
                status = "confirmed"
            created = epoch + minute * min(now_minutes, start - rng.randint(60, 30 * 1440))
            yield (
                (
                    booking_id,
                    resource.id,
                    booker,
                    rng.choice(TITLES),
                    rng.random() < 0.08,
                    created,
                    created,
                ),
                (
                    booking_id,
                    booking_id,
                    resource.id,
                    epoch + minute * start,
                    epoch + minute * end,
                    epoch + minute * held,
                    status,
                ),
            )


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


def marker(spec: Spec, anchor: dt.date) -> str:
    """Prefix of Place.source_id: tells the seed, the generator version and the anchor day."""
    return f"{spec.seed}-v{VERSION}-{anchor:%Y%m%d}"


def existing_anchor(spec: Spec) -> dt.date | None:
    """The anchor day of the dataset in the database when it is exactly `spec`'s, else None."""
    from maillage.accounts.models import User
    from maillage.bookings.models import Booking, Occurrence, Resource
    from maillage.places.models import Place

    first = (
        Place.objects.filter(source=SOURCE, slug="national-0")
        .values_list("source_id", flat=True)
        .first()
    )
    match = re.fullmatch(rf"{spec.seed}-v{VERSION}-(\d{{8}})-0", first or "")
    if not match:
        return None
    if (
        Place.objects.filter(source=SOURCE).count() != spec.places
        or Place.objects.count() != spec.places
        or Resource.objects.count() != spec.resources
        or Booking.objects.filter(id__lte=spec.occurrences).count() != spec.occurrences
        or Occurrence.objects.filter(booking_id__lte=spec.occurrences).count() != spec.occurrences
        or User.objects.filter(email__endswith="@bench.invalid").count()
        < spec.members + spec.places
    ):
        return None
    return dt.date.fromisoformat(match.group(1))


def generate(spec: Spec, log=print) -> dict:
    """Write the whole dataset into an empty database, in one transaction. Returns counts and
    seconds per step."""
    from django.db import connection, transaction
    from django.utils import timezone

    from maillage.accounts.models import PlaceRole, User
    from maillage.bookings.models import (
        Booking,
        Occurrence,
        Resource,
        ResourceHours,
        ResourceTerm,
        TrainingValidation,
    )
    from maillage.places.models import Network, OpeningHours, Place, PlaceTerm, Season

    now = timezone.now().replace(microsecond=0)
    anchor = now.astimezone(zoneinfo.ZoneInfo(ZONE)).date()
    rng = random.Random(f"{spec.seed}-{anchor}")
    timings: dict[str, float] = {}
    counts: dict[str, int] = {}
    started = time.perf_counter()

    def step(name: str):
        timings[name] = round(time.perf_counter() - started - sum(timings.values()), 2)
        log(f"  {name}: {timings[name]} s", flush=True)

    networks, places, links, place_terms, hours, seasons, place_specs = _places(
        spec, rng, marker(spec, anchor)
    )
    resources, resource_terms, own_hours, resource_specs = _resources(spec, rng, place_specs)
    users, roles = _people(spec, rng, place_specs)
    trainings = _trainings(rng, resource_specs, anchor)
    calendar = Calendar(anchor - dt.timedelta(days=365), 730)
    occurrence_counts = _occurrence_counts(spec, rng, resource_specs, calendar)
    step("places, resources and people drawn")
    through = Place.networks.through
    with transaction.atomic(), connection.cursor() as wrapper:
        cursor = wrapper.cursor  # the psycopg cursor, for COPY
        # Index builds on millions of rows outlast the settings' statement timeout.
        cursor.execute("SET LOCAL statement_timeout = 0")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        # Before any COPY: foreign keys are deferred, and pending checks forbid ALTER TABLE.
        rebuild = _detach_constraints(cursor, [Booking._meta.db_table, Occurrence._meta.db_table])
        tables = [(Network, ["id", "slug", "name"], networks)]
        tables.append(
            (
                Place,
                PLACE_COLUMNS,
                places,
            )
        )
        tables.append((through, ["place", "network"], links))
        tables.append((PlaceTerm, ["place", "kind", "code"], place_terms))
        tables.append(
            (Season, ["id", "place", "name", "start_date", "end_date", "yearly", "closed"], seasons)
        )
        tables.append(
            (OpeningHours, ["id", "place", "season", "weekday", "opens", "closes"], hours)
        )
        tables.append(
            (
                Resource,
                [
                    "id",
                    "place",
                    "name",
                    "kind",
                    "capacity",
                    "min_minutes",
                    "max_minutes",
                    "horizon_days",
                    "buffer_minutes",
                    "audience",
                    "requires_approval",
                    "cancel_deadline_hours",
                    "training",
                    "price_info",
                    "is_active",
                ],
                resources,
            )
        )
        tables.append((ResourceTerm, ["resource", "kind", "code"], resource_terms))
        tables.append((ResourceHours, ["id", "resource", "weekday", "opens", "closes"], own_hours))
        tables.append(
            (
                User,
                ["id", "email", "full_name", "password"],
                [(*row, UNUSABLE_PASSWORD) for row in users],
            )
        )
        tables.append((PlaceRole, ["id", "user", "place", "role"], roles))
        tables.append(
            (
                TrainingValidation,
                ["id", "user", "machine_type", "place", "validated_by", "expires_on"],
                trainings,
            )
        )
        for model, fields, rows in tables:
            counts[model._meta.db_table] = Copier(model, fields, now).write(cursor, rows)
        _copy_hours_rules(Place, Resource)
        step("places, resources and people copied")
        pairs = list(
            _bookings(
                spec,
                rng,
                resource_specs,
                occurrence_counts,
                calendar,
                int(now.timestamp() // 60),
                spec.members,
                spec.places + 1,
            )
        )
        step("2 years of slots drawn")
        counts[Booking._meta.db_table] = Copier(
            Booking,
            ["id", "resource", "booker", "title", "private", "created_at", "updated_at"],
            now,
        ).write(cursor, (pair[0] for pair in pairs))
        counts[Occurrence._meta.db_table] = Copier(
            Occurrence, ["id", "booking", "resource", "start", "end", "held_until", "status"], now
        ).write(cursor, (pair[1] for pair in pairs))
        del pairs
        step("bookings and slots copied")
        for statement in rebuild:
            cursor.execute(statement)
        step("indexes, foreign keys and the exclusion constraint rebuilt (checks no overlap)")
        for model, _fields, _rows in tables:
            if any(f.name == "id" for f in model._meta.concrete_fields):
                _reset_sequence(cursor, model)
        _reset_sequence(cursor, Booking)
        _reset_sequence(cursor, Occurrence)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    step("VACUUM ANALYZE")
    return {
        "anchor": anchor.isoformat(),
        "rows": counts,
        "seconds": timings,
        "total_seconds": round(time.perf_counter() - started, 2),
    }
