"""The "national" benchmark dataset of PRODUCT.md §4 for the agenda, written with PostgreSQL COPY.

The places, networks and people of bench/bookings_dataset.py (its generator functions, without
resources or bookings): 5,000 places over mainland France, one network per region plus a national
one, one manager per place and 100,000 members. Then 50,000 events over two years, one before
and one after the day of generation (the "anchor"), and 1,000,000 registrations:

- events: nine in ten belong to a place (bigger places hold more), one in ten to a network; usual
  categories with their own capacities (repair cafés and open days often unlimited, workshops
  for 8–20, conferences for 30–200), times of day and durations; 3 % drafts, 3 % cancelled,
  5 % with registrations closed, a fifth needing no registration;
- registrations: shared out in proportion to each event's capacity times a log-normal
  popularity (fewer for events far ahead), so that some events are half empty and others have a
  waiting list; per event, about 8 % cancelled, the others confirmed up to the capacity and then
  waitlisted (or cancelled when the event has no waiting list); 30 % made by members with their
  account, the rest by visitors; queue numbers increasing with gaps (people who left the line),
  positions being ranks; past events' participants were reminded and most checked in.

The event counters (confirmed_count, waitlisted_count, next_queue_number) equal the rows, as the
services keep them; `consistency()` checks it in SQL. Everything is drawn from a seeded
`random.Random`, so `(spec, anchor)` always gives the same rows. Needs a configured Django on
PostgreSQL (see bench/agenda.py).
"""

import datetime as dt
import math
import random
import re
import time
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass

import bookings_dataset
from bookings_dataset import (
    PLACE_COLUMNS,
    SOURCE,
    ZONE,
    Copier,
    _detach_constraints,
    _reset_sequence,
)

VERSION = 1  # bump when the generator changes: the next run rebuilds the data
UNUSABLE_PASSWORD = bookings_dataset.UNUSABLE_PASSWORD
ACCOUNT_STRIDE = 7919  # prime: j -> (first + j * stride) % members visits distinct members


@dataclass(frozen=True)
class Spec:
    places: int = 5_000
    members: int = 100_000
    events: int = 50_000
    registrations: int = 1_000_000
    seed: int = 2024

    def scaled(self, factor: float) -> "Spec":
        return Spec(
            places=max(20, round(self.places * factor)),
            members=max(200, round(self.members * factor)),
            events=max(200, round(self.events * factor)),
            registrations=max(2_000, round(self.registrations * factor)),
            seed=self.seed,
        )


# category: (share, titles, capacities (None: no limit), durations in minutes, share needing
# registration)
CATEGORIES = {
    "workshop": (
        0.25,
        (
            "Atelier couture",
            "Atelier impression 3D",
            "Atelier vélo",
            "Atelier compostage",
            "Atelier découpe laser",
            "Atelier soudure",
        ),
        (8, 10, 12, 12, 15, 20),
        (90, 120, 120, 180),
        0.9,
    ),
    "training": (
        0.15,
        (
            "Initiation au numérique",
            "Formation tableur",
            "Découvrir son smartphone",
            "Formation réseaux sociaux",
            "Démarches en ligne",
        ),
        (6, 8, 10, 12, 15, 20),
        (120, 180, 210, 420),
        0.95,
    ),
    "conference": (
        0.07,
        ("Conférence : la ruralité numérique", "Table ronde des tiers-lieux", "Conférence climat"),
        (30, 50, 80, 100, 150, 200),
        (90, 120),
        0.8,
    ),
    "barcamp": (0.02, ("Barcamp des communs", "Barcamp du faire"), (40, 60, 100), (240, 420), 0.9),
    "repair_cafe": (0.10, ("Repair café",), (None, None, 15, 20, 30), (180,), 0.6),
    "meetup": (
        0.13,
        ("Apéro des makers", "Rencontre des coworkers", "Café des entrepreneurs"),
        (20, 30, 40, None),
        (90, 120),
        0.7,
    ),
    "exhibition": (0.05, ("Exposition photo", "Créations du fablab"), (None,), (480,), 0.05),
    "screening": (0.05, ("Ciné-débat", "Projection documentaire"), (40, 60, 80, 120), (120,), 0.8),
    "open_day": (0.05, ("Portes ouvertes",), (None,), (240, 360), 0.1),
    "festive": (
        0.08,
        ("Fête du tiers-lieu", "Soirée jeux", "Concert au jardin"),
        (50, 100, 150, 200, None),
        (180, 240),
        0.6,
    ),
    "other": (
        0.05,
        ("Permanence France Services", "Assemblée générale", "Réunion d'information"),
        (10, 20, None),
        (60, 120),
        0.5,
    ),
}
AUDIENCES = (("everyone", 0.7), ("youth", 0.1), ("seniors", 0.1), ("professionals", 0.1))
LANGUAGES = (("fr", 0.88), ("en", 0.05), ("es", 0.04), ("ca", 0.03))
TIMES = (
    dt.time(9),
    dt.time(9, 30),
    dt.time(10),
    dt.time(14),
    dt.time(14, 30),
    dt.time(17, 30),
    dt.time(18),
    dt.time(18, 30),
    dt.time(19),
    dt.time(20),
)
FIRST_NAMES = ("Marie", "Jean", "Lucie", "Karim", "Anne", "Paul", "Inès", "Hugo", "Léa", "Omar")
LAST_NAMES = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand")
DESCRIPTIONS = (
    "<p>Ouvert à toutes et tous, <strong>gratuit</strong>. Venez avec vos idées !</p>",
    "<p>Apportez votre matériel ; le café est offert.</p><ul><li>Débutants bienvenus</li></ul>",
    "<p>Un moment convivial pour découvrir le lieu et ses membres.</p>",
    "<p>Places limitées, inscription conseillée. Plus d'infos : "
    '<a href="https://example.org/agenda" rel="noopener noreferrer nofollow">le site</a>.</p>',
)


def _weighted(rng: random.Random, pairs):
    return rng.choices([value for value, _w in pairs], weights=[w for _v, w in pairs])[0]


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


@dataclass
class EventSpec:
    id: int
    place_id: int | None
    manager_id: int | None
    start: dt.datetime
    capacity: int | None
    waitlist: bool
    status: str
    registration_required: bool
    confirmed: int = 0
    waitlisted: int = 0
    next_queue_number: int = 1


def _events(spec: Spec, rng: random.Random, places: list[tuple], networks: list[tuple], now):
    """Event rows (without their counters) and their EventSpecs."""
    from maillage.core.text import fold

    zone = zoneinfo.ZoneInfo(ZONE)
    anchor = now.astimezone(zone).date()
    weights = [rng.lognormvariate(0, 0.8) for _ in places]
    place_of = rng.choices(range(len(places)), weights=weights, k=spec.events)
    categories = list(CATEGORIES)
    shares = [CATEGORIES[c][0] for c in categories]
    rows, specs = [], []
    for i in range(spec.events):
        event_id = i + 1
        category = rng.choices(categories, weights=shares)[0]
        _share, titles, capacities, durations, needs_registration = CATEGORIES[category]
        day = anchor + dt.timedelta(days=rng.randint(-365, 364))
        start = dt.datetime.combine(day, rng.choice(TIMES), zone)
        end = start + dt.timedelta(minutes=rng.choice(durations))
        by_network = rng.random() < 0.1
        if by_network:
            network = rng.choice(networks)
            place, place_id, network_id, manager_id = None, None, network[0], None
            where, owner = network[2], network[2]
        else:
            place = places[place_of[i]]
            place_id, network_id, manager_id = place[0], None, place[0]  # manager id = place id
            where, owner = f"{place[2]} {place[6]}", place[2]
        location = "place" if place is not None else "address"
        draw = rng.random()
        if draw < 0.10:
            location = "online"
        elif draw < 0.22:
            location = "address"
        address = "Salle des fêtes, place de la Mairie" if location == "address" else ""
        online_url = f"https://visio.example.org/{event_id}" if location == "online" else ""
        title = f"{rng.choice(titles)} – {owner}"
        description = rng.choice(DESCRIPTIONS)
        translations = {}
        if rng.random() < 0.05:
            translations = {"en": {"title": f"{titles[0]} (English)", "description": ""}}
        required = rng.random() < needs_registration
        capacity = rng.choice(capacities) if required else None
        waitlist = rng.random() < 0.85
        draw = rng.random()
        status = "draft" if draw < 0.03 else "cancelled" if draw < 0.06 else "published"
        created = min(now, start - dt.timedelta(days=rng.randint(7, 90)))
        search = fold(
            " ".join(
                [title, _text(description), where, *(t["title"] for t in translations.values())]
            )
        )
        rows.append(
            (
                event_id,
                place_id,
                network_id,
                title,
                description,
                _json(translations),
                category,
                _weighted(rng, AUDIENCES),
                "fr",
                start,
                end,
                location,
                address,
                online_url,
                required,
                capacity,
                waitlist,
                rng.random() >= 0.05,  # registrations open
                rng.random() < 0.8,  # free
                "" if rng.random() < 0.8 else "5 € adhérents, 10 € sinon",
                owner[:150],
                status,
                "Intempéries : reporté" if status == "cancelled" else "",
                search,
                manager_id,
                created,
                created,
            )
        )
        specs.append(
            EventSpec(event_id, place_id, manager_id, start, capacity, waitlist, status, required)
        )
    return rows, specs


def _json(value):
    from psycopg.types.json import Jsonb

    return Jsonb(value)


def _counts(spec: Spec, rng: random.Random, events: list[EventSpec], now) -> list[int]:
    """Registrations per event: in proportion to capacity × a log-normal popularity, fewer for
    events far ahead, none for drafts or events needing none; exactly spec.registrations."""
    weights = []
    for event in events:
        if event.status == "draft" or not event.registration_required:
            weights.append(0.0)
            continue
        size = event.capacity if event.capacity is not None else 40
        ahead = (event.start - now).days
        decay = 1.0 if ahead < 30 else 0.5 if ahead < 90 else 0.2
        weights.append(size * rng.lognormvariate(0, 0.6) * decay)
    total = sum(weights)
    exact = [spec.registrations * w / total for w in weights]
    counts = [math.floor(x) for x in exact]
    missing = spec.registrations - sum(counts)
    by_remainder = sorted(range(len(events)), key=lambda i: exact[i] - counts[i], reverse=True)
    for index in by_remainder[:missing]:
        counts[index] += 1
    return counts


def _registrations(
    spec: Spec, rng: random.Random, events: list[EventSpec], counts: list[int], now
) -> Iterator[tuple]:
    """Registration rows, ids 1..spec.registrations; fills each EventSpec's counters."""
    first_member = spec.places + 1  # bookings_dataset._people: managers first, then members
    registration_id = 0
    for event, count in zip(events, counts, strict=True):
        if not count:
            continue
        past = event.start <= now
        statuses = []
        active = 0
        for _ in range(count):
            if rng.random() < 0.08:
                statuses.append("cancelled")
                continue
            if event.capacity is None or active < event.capacity:
                statuses.append("confirmed")
                active += 1
            elif event.waitlist:
                statuses.append("waitlisted")
            else:
                statuses.append("cancelled")  # full, no waiting list: they gave up
        first_account = rng.randrange(spec.members)
        accounts = 0
        queue = 0
        lead = dt.timedelta(days=rng.randint(2, 45))
        for n, status in enumerate(statuses):
            registration_id += 1
            created = min(
                now - dt.timedelta(minutes=count - n), event.start - lead * (1 - n / count)
            )
            if rng.random() < 0.3:
                member = (first_account + accounts * ACCOUNT_STRIDE) % spec.members
                accounts += 1
                user_id = first_member + member
                name, email = f"Membre {member}", f"member-{member}@bench.invalid"
                confirmed_at = created
            else:
                user_id = None
                name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
                email = f"visitor-{registration_id}@bench.invalid"
                recent = now - created < dt.timedelta(hours=48)
                confirmed_at = None if recent and rng.random() < 0.3 else created
            queue_number = promoted = cancelled = checked_in = checked_by = reminded = None
            if status == "waitlisted":
                queue += 2 if rng.random() < 0.1 else 1
                queue_number = queue
                event.waitlisted += 1
            elif status == "confirmed":
                event.confirmed += 1
                if event.capacity is not None and rng.random() < 0.03:
                    promoted = created + dt.timedelta(hours=rng.randint(1, 48))
                    promoted = min(promoted, now)
                if past:
                    reminded = event.start - dt.timedelta(hours=24)
                    if rng.random() < 0.75:
                        checked_in = event.start + dt.timedelta(minutes=rng.randint(-10, 20))
                        checked_by = event.manager_id
            else:
                cancelled = min(now, created + dt.timedelta(hours=rng.randint(1, 240)))
            yield (
                registration_id,
                event.id,
                user_id,
                name,
                email,
                _weighted(rng, LANGUAGES),
                status,
                queue_number,
                confirmed_at,
                cancelled,
                promoted,
                checked_in,
                checked_by,
                reminded,
                created,
                created,
            )
        event.next_queue_number = queue + 1


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


def marker(spec: Spec, anchor: dt.date) -> str:
    """Prefix of Place.source_id: tells the seed, the generator version and the anchor day."""
    return f"{spec.seed}-agenda-v{VERSION}-{anchor:%Y%m%d}"


def existing_anchor(spec: Spec) -> dt.date | None:
    """The anchor day of the dataset in the database when it is exactly `spec`'s, else None."""
    from maillage.accounts.models import User
    from maillage.agenda.models import Event, Registration
    from maillage.places.models import Place

    first = (
        Place.objects.filter(source=SOURCE, slug="national-0")
        .values_list("source_id", flat=True)
        .first()
    )
    match = re.fullmatch(rf"{spec.seed}-agenda-v{VERSION}-(\d{{8}})-0", first or "")
    if not match:
        return None
    if (
        Place.objects.count() != spec.places
        or Event.objects.filter(id__lte=spec.events).count() != spec.events
        or Registration.objects.filter(id__lte=spec.registrations).count() != spec.registrations
        or User.objects.filter(email__endswith="@bench.invalid").count()
        < spec.members + spec.places
    ):
        return None
    return dt.date.fromisoformat(match.group(1))


def consistency(spec: Spec) -> dict:
    """Checks, in SQL, that the dataset's events agree with their registrations: counters equal
    the rows, nobody over capacity, queue numbers only on waitlisted rows, below the next one."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH counted AS (
                SELECT event_id,
                       COUNT(*) FILTER (WHERE status = 'confirmed') AS confirmed,
                       COUNT(*) FILTER (WHERE status = 'waitlisted') AS waitlisted,
                       MAX(queue_number) AS last_queue
                FROM agenda_registration GROUP BY event_id
            )
            SELECT
                COUNT(*) FILTER (WHERE e.confirmed_count <> COALESCE(c.confirmed, 0)
                                    OR e.waitlisted_count <> COALESCE(c.waitlisted, 0)),
                COUNT(*) FILTER (WHERE e.capacity IS NOT NULL AND e.confirmed_count > e.capacity),
                COUNT(*) FILTER (WHERE c.last_queue >= e.next_queue_number),
                COUNT(*) FILTER (WHERE e.waitlisted_count > 0),
                COUNT(*) FILTER (WHERE e.capacity IS NOT NULL AND e.confirmed_count = e.capacity)
            FROM agenda_event e LEFT JOIN counted c ON c.event_id = e.id
            WHERE e.id <= %s
            """,
            [spec.events],
        )
        wrong, over, queue, with_waitlist, full = cursor.fetchone()
        cursor.execute(
            "SELECT status, COUNT(*) FROM agenda_registration WHERE id <= %s GROUP BY status",
            [spec.registrations],
        )
        statuses = dict(cursor.fetchall())
    return {
        "events_with_counters_unlike_rows": wrong,
        "events_over_capacity": over,
        "events_with_queue_numbers_past_next": queue,
        "events_with_a_waiting_list": with_waitlist,
        "full_events": full,
        "registrations": statuses,
    }


def generate(spec: Spec, log=print) -> dict:
    """Write the whole dataset into an empty database, in one transaction. Returns counts and
    seconds per step."""
    from django.db import connection, transaction
    from django.utils import timezone

    from maillage.accounts.models import PlaceRole, User
    from maillage.agenda.models import Event, Registration
    from maillage.places.models import Network, Place, PlaceTerm

    now = timezone.now().replace(microsecond=0)
    anchor = now.astimezone(zoneinfo.ZoneInfo(ZONE)).date()
    rng = random.Random(f"{spec.seed}-agenda-{anchor}")
    timings: dict[str, float] = {}
    counts: dict[str, int] = {}
    started = time.perf_counter()

    def step(name: str):
        timings[name] = round(time.perf_counter() - started - sum(timings.values()), 2)
        log(f"  {name}: {timings[name]} s", flush=True)

    places_spec = bookings_dataset.Spec(places=spec.places, members=spec.members, seed=spec.seed)
    networks, places, links, place_terms, _hours, _seasons, place_specs = bookings_dataset._places(
        places_spec, rng, marker(spec, anchor)
    )
    users, roles = bookings_dataset._people(places_spec, rng, place_specs)
    event_rows, event_specs = _events(spec, rng, places, networks, now)
    registration_counts = _counts(spec, rng, event_specs, now)
    step("places, people and events drawn")
    with transaction.atomic(), connection.cursor() as wrapper:
        cursor = wrapper.cursor  # the psycopg cursor, for COPY
        cursor.execute("SET LOCAL statement_timeout = 0")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        rebuild = _detach_constraints(cursor, [Event._meta.db_table, Registration._meta.db_table])
        tables = [
            (Network, ["id", "slug", "name"], networks),
            (Place, PLACE_COLUMNS, places),
            (Place.networks.through, ["place", "network"], links),
            (PlaceTerm, ["place", "kind", "code"], place_terms),
            (
                User,
                ["id", "email", "full_name", "password"],
                [(*row, UNUSABLE_PASSWORD) for row in users],
            ),
            (PlaceRole, ["id", "user", "place", "role"], roles),
        ]
        for model, fields, rows in tables:
            counts[model._meta.db_table] = Copier(model, fields, now).write(cursor, rows)
        step("places and people copied")
        # Registrations first: drawing them fills the events' counters.
        counts[Registration._meta.db_table] = Copier(
            Registration,
            [
                "id",
                "event",
                "user",
                "name",
                "email",
                "language",
                "status",
                "queue_number",
                "email_confirmed_at",
                "cancelled_at",
                "promoted_at",
                "checked_in_at",
                "checked_in_by",
                "reminded_at",
                "created_at",
                "updated_at",
            ],
            now,
        ).write(cursor, _registrations(spec, rng, event_specs, registration_counts, now))
        step("registrations drawn and copied")
        counters = {e.id: (e.confirmed, e.waitlisted, e.next_queue_number) for e in event_specs}
        counts[Event._meta.db_table] = Copier(
            Event,
            [
                "id",
                "place",
                "network",
                "title",
                "description",
                "translations",
                "category",
                "audience",
                "language",
                "start",
                "end",
                "location",
                "address",
                "online_url",
                "registration_required",
                "capacity",
                "waitlist_enabled",
                "registrations_open",
                "is_free",
                "price_info",
                "organiser_name",
                "status",
                "cancellation_reason",
                "search_text",
                "created_by",
                "created_at",
                "updated_at",
                "confirmed_count",
                "waitlisted_count",
                "next_queue_number",
            ],
            now,
        ).write(cursor, (row + counters[row[0]] for row in event_rows))
        step("events copied")
        for statement in rebuild:
            cursor.execute(statement)
        step("indexes, unique constraints and foreign keys rebuilt")
        for model in (Network, Place, User, PlaceRole, Event, Registration):
            _reset_sequence(cursor, model)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    step("VACUUM ANALYZE")
    return {
        "anchor": anchor.isoformat(),
        "rows": counts,
        "seconds": timings,
        "total_seconds": round(time.perf_counter() - started, 2),
    }
