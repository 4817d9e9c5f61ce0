"""The "national" benchmark dataset for members and presence (issue 6), written with COPY.

The places and networks of bench/bookings_dataset.py (5,000 places over mainland France with
their opening hours and seasons, one network per region plus a national one), one manager per
place, then 100,000 members and two years of their days at the places, from 730 days before the
day of generation (the "anchor") to the day before it:

- plans: each place offers a monthly subscription (a quarter of them with 8 or 12 days a month,
  the others unlimited; booking credits for meeting rooms at half of them), a ticket book of 10
  day tickets (valid 180 or 365 days) and a single day pass; 20 % of the subscriptions and 40 %
  of the ticket books are valid in the other places of the network (15 % of those only in a few
  chosen places);
- members: each of one home place (bigger places have more), with the community role of their
  plan: residents (10 %) on subscriptions, nomads (30 %) on ticket books, visitors (60 %) who buy
  a day pass now and then; a period of activity (55 % still active on the anchor day);
- check-ins: shared out in proportion to each member's rhythm (residents about 2.4 days a week,
  nomads 0.7, visitors a few days in all) over the days their place is open, Tuesdays and
  Thursdays busiest, Saturdays quiet, fewer in summer and at Christmas, never in a closed season;
  one a day at most; arrival in the first hours after opening, departure before closing (8 % left
  at closing time by the hourly job). A member whose plan is valid in the network spends some of
  their days at one to three other places of it: those check-ins are network-pass ledger lines
  (home_place, unit_value as `services._unit_value` gives it);
- what the check-ins consumed agrees with the counters, as the services keep them: a nomad's
  books are used in order (a new one when the last is used up or expired; expired tickets are
  lost), `tickets_left` is 10 minus the days each book paid for; a subscription with days per
  month has a `MembershipMonth` row for every month it was used, `days_used` equal to its days;
  each visitor's day is a day pass of its own. `consistency()` checks it in SQL.

Everything is drawn from a seeded `random.Random`, so `(spec, anchor)` always gives the same rows.
The check-in count is exactly `spec.checkins`. Needs a configured Django on PostgreSQL (see
bench/presence.py).
"""

import bisect
import datetime as dt
import hashlib
import math
import random
import re
import time
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal

import bookings_dataset
from bookings_dataset import (
    HOURS_TEMPLATES,
    PLACE_COLUMNS,
    SEASON_TEMPLATES,
    SOURCE,
    UNUSABLE_PASSWORD,
    ZONE,
    Copier,
    _detach_constraints,
    _reset_sequence,
)

VERSION = 2  # bump when the generator changes: the next run rebuilds the data
DAYS = 730  # two years of check-ins, up to the day before the anchor
PERSONAS = (("resident", 0.10), ("nomad", 0.30), ("visitor", 0.60))
# Rhythms before the total is scaled to spec.checkins: median days a week of an active member,
# median days in all of a visitor.
RATE_PER_WEEK = {"resident": 2.4, "nomad": 0.7}
VISITOR_DAYS = 3.5
# Monday..Sunday, and January..December: the shape of a coworking's attendance.
WEEKDAY_WEIGHTS = (1.0, 1.15, 1.05, 1.15, 0.75, 0.25, 0.1)
MONTH_WEIGHTS = (1.0, 1.0, 1.05, 1.0, 0.9, 0.95, 0.7, 0.45, 1.05, 1.05, 1.0, 0.8)
AWAY_SHARE = {"resident": 0.12, "nomad": 0.3}  # days elsewhere when the plan is network-wide
STAFF_CHECKINS = 0.25  # share of days checked in by the place's team (else self or kiosk)
AUTO_CHECKOUT = 0.08  # share of days closed by the hourly job at closing time
PROFILES = 0.4  # members who filled in their profile
SHOW_PRESENCE = 0.5  # of those, who show themselves in "who is here now"


@dataclass(frozen=True)
class Spec:
    places: int = 5_000
    members: int = 100_000
    checkins: int = 2_000_000
    seed: int = 2024

    def scaled(self, factor: float) -> "Spec":
        return Spec(
            places=max(20, round(self.places * factor)),
            members=max(400, round(self.members * factor)),
            checkins=max(8_000, round(self.checkins * factor)),
            seed=self.seed,
        )


@dataclass
class PlanSpec:
    id: int
    place: int
    kind: str
    price: Decimal
    tickets: int | None
    valid_days: int | None
    days_per_month: int | None
    network_wide: bool
    credit_hours: int = 0
    valid_places: list[int] = field(default_factory=list)

    @property
    def unit_value(self) -> Decimal | None:
        """What a day of this plan is worth on the ledger (members.services._unit_value)."""
        if self.kind == "ticket_book":
            return (self.price / self.tickets).quantize(Decimal("0.01"))
        if self.kind == "day_pass":
            return self.price
        if self.kind == "subscription" and self.days_per_month:
            return (self.price / self.days_per_month).quantize(Decimal("0.01"))
        return None


@dataclass
class Pattern:
    """The days (indexes in the calendar) a kind of place is open, with their weights."""

    days: list[int]
    weights: list[float]
    cumulative: list[float]  # cumulative[k] = sum of weights[:k]
    months: list[tuple[int, int]]  # (year, month) of each of `days`
    opens: int  # minutes after midnight
    closes: int

    def span(self, first: int, last: int) -> tuple[int, int]:
        """Positions in `days` of the open days between two day indexes (both included)."""
        return bisect.bisect_left(self.days, first), bisect.bisect_right(self.days, last)


# --------------------------------------------------------------------------------------------
# Calendar and places
# --------------------------------------------------------------------------------------------


def _closed_by_season(day: dt.date, seasons: tuple[int, ...]) -> bool:
    for k in seasons:
        _share, _name, first, last, closed, _hours = SEASON_TEMPLATES[k]
        if not closed:
            continue
        key = (day.month, day.day)
        inside = first <= key <= last if first <= last else key >= first or key <= last
        if inside:
            return True
    return False


def _patterns(place_specs, calendar: list[dt.date]) -> dict[tuple, Pattern]:
    patterns = {}
    for place in place_specs:
        key = (place.hours, place.seasons)
        if key in patterns:
            continue
        week = HOURS_TEMPLATES[place.hours][1]
        weekdays = {day for day, _opens, _closes in week} or set(range(7))
        if week:
            opens = min(o.hour * 60 + o.minute for _d, o, _c in week)
            closes = max(c.hour * 60 + c.minute for _d, _o, c in week)
        else:
            opens, closes = 8 * 60, 20 * 60
        days, weights = [], []
        for index, day in enumerate(calendar):
            if day.weekday() in weekdays and not _closed_by_season(day, place.seasons):
                days.append(index)
                weights.append(WEEKDAY_WEIGHTS[day.weekday()] * MONTH_WEIGHTS[day.month - 1])
        cumulative = [0.0]
        for weight in weights:
            cumulative.append(cumulative[-1] + weight)
        months = [(calendar[index].year, calendar[index].month) for index in days]
        patterns[key] = Pattern(days, weights, cumulative, months, opens, closes)
    return patterns


def _network_places(links) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """Places of each network, and networks of each place (regional first)."""
    places_of: dict[int, list[int]] = {}
    networks_of: dict[int, list[int]] = {}
    for place_id, network_id in links:
        places_of.setdefault(network_id, []).append(place_id)
        networks_of.setdefault(place_id, []).append(network_id)
    for networks in networks_of.values():
        networks.sort(key=lambda n: len(places_of[n]))
    return places_of, networks_of


def _plans(rng: random.Random, place_ids: list[int], places_of, networks_of) -> list[PlanSpec]:
    """Three plans per place (ids 3i-2, 3i-1, 3i for the place of id i)."""
    plans = []
    for place_id in place_ids:
        peers = [p for n in networks_of.get(place_id, []) for p in places_of[n] if p != place_id]
        days = rng.choice((8, 12)) if rng.random() < 0.25 else None
        plans.append(
            PlanSpec(
                id=len(plans) + 1,
                place=place_id,
                kind="subscription",
                price=Decimal(rng.randrange(120, 260, 10)),
                tickets=None,
                valid_days=None,
                days_per_month=days,
                network_wide=bool(peers) and rng.random() < 0.2,
                credit_hours=rng.choice((4, 8, 10)) if rng.random() < 0.5 else 0,
            )
        )
        book = PlanSpec(
            id=len(plans) + 1,
            place=place_id,
            kind="ticket_book",
            price=Decimal(rng.randrange(90, 170, 5)),
            tickets=10,
            valid_days=180 if rng.random() < 0.7 else 365,
            days_per_month=None,
            network_wide=bool(peers) and rng.random() < 0.4,
        )
        if book.network_wide and rng.random() < 0.15:
            book.valid_places = sorted(rng.sample(peers, min(len(peers), rng.randint(2, 6))))
        plans.append(book)
        plans.append(
            PlanSpec(
                id=len(plans) + 1,
                place=place_id,
                kind="day_pass",
                price=Decimal(rng.randrange(12, 26)),
                tickets=None,
                valid_days=1,
                days_per_month=None,
                network_wide=False,
            )
        )
    return plans


def _plan_rows(plans: list[PlanSpec], now: dt.datetime):
    from psycopg.types.json import Jsonb

    names = {
        "subscription": "Abonnement résident",
        "ticket_book": "Carnet 10 journées",
        "day_pass": "Journée",
    }
    rows, through = [], []
    for plan in plans:
        credits = plan.credit_hours
        name = names[plan.kind]
        if plan.days_per_month:
            name = f"{name} {plan.days_per_month} jours/mois"
        rows.append(
            (
                plan.id,
                plan.place,
                name,
                plan.kind,
                plan.price,
                credits,
                Jsonb(["meeting_room"] if credits else []),
                plan.days_per_month,
                plan.tickets,
                plan.valid_days,
                plan.network_wide,
                now,
                now,
            )
        )
        through.extend((plan.id, place_id) for place_id in plan.valid_places)
    return rows, through


# --------------------------------------------------------------------------------------------
# Members and their days
# --------------------------------------------------------------------------------------------


@dataclass
class MemberSpec:
    user_id: int
    home: int
    persona: str
    pattern: Pattern
    first: int  # position in pattern.days of the first open day of the activity
    last: int  # past the last one
    start: int  # day index (may be negative: a member since before the calendar)
    end: int  # day index of the last day of the activity
    active: bool
    day_cap: int | None  # days a month of a limited subscription
    raw: float = 0.0
    capacity: int = 0
    count: int = 0


def _members(spec: Spec, rng: random.Random, place_specs, patterns, plans) -> list[MemberSpec]:
    weights = [rng.lognormvariate(0, 0.7) for _ in place_specs]
    homes = rng.choices(range(len(place_specs)), weights=weights, k=spec.members)
    personas = [name for name, _share in PERSONAS]
    shares = [share for _name, share in PERSONAS]
    members = []
    for n in range(spec.members):
        place = place_specs[homes[n]]
        persona = rng.choices(personas, weights=shares)[0]
        pattern = patterns[(place.hours, place.seasons)]
        start = rng.randint(-170, DAYS - 20)
        active = rng.random() < 0.55
        end = DAYS - 1 if active else min(DAYS - 1, start + 14 + int(rng.lognormvariate(5.2, 0.7)))
        first, last = pattern.span(max(0, start), end)
        day_cap = None
        if persona == "resident":
            day_cap = plans[3 * (place.id - 1)].days_per_month
        member = MemberSpec(
            len(place_specs) + n + 1,
            place.id,
            persona,
            pattern,
            first,
            last,
            start,
            end,
            active,
            day_cap,
        )
        weighted = pattern.cumulative[last] - pattern.cumulative[first]
        if persona == "visitor":
            member.raw = rng.lognormvariate(math.log(VISITOR_DAYS), 0.6) if last > first else 0.0
        else:
            member.raw = RATE_PER_WEEK[persona] * rng.lognormvariate(0, 0.4) * weighted / 5
        member.capacity = _capacity(member)
        members.append(member)
    return members


def _capacity(member: MemberSpec) -> int:
    """Open days of the activity the member's plan can pay for (a subscription of a few days a
    month, that many in each month)."""
    if member.day_cap is None:
        return member.last - member.first
    per_month: dict[tuple[int, int], int] = {}
    for month in member.pattern.months[member.first : member.last]:
        per_month[month] = per_month.get(month, 0) + 1
    return sum(min(member.day_cap, n) for n in per_month.values())


def _share_out(spec: Spec, rng: random.Random, members: list[MemberSpec]) -> None:
    """Check-ins per member: in proportion to `raw`, within capacity, exactly spec.checkins."""
    total = sum(m.raw for m in members)
    for member in members:
        member.count = min(member.capacity, math.floor(spec.checkins * member.raw / total))
    missing = spec.checkins - sum(m.count for m in members)
    room = [m for m in members if m.count < m.capacity and m.raw > 0]
    while missing > 0:
        cumulative, running = [], 0.0
        for member in room:
            running += member.raw
            cumulative.append(running)
        for member in rng.choices(room, cum_weights=cumulative, k=missing):
            if member.count < member.capacity:
                member.count += 1
                missing -= 1
        room = [m for m in room if m.count < m.capacity]
    if missing < 0:
        raise ValueError("more check-ins than asked for")


def _draw_days(rng: random.Random, member: MemberSpec) -> list[int]:
    """`member.count` distinct open days of its activity, by weight (rejection sampling), at most
    `day_cap` in a calendar month; exhaustive when the days are nearly all taken."""
    pattern = member.pattern
    first, last, count = member.first, member.last, member.count
    if not count:
        return []
    chosen: set[int] = set()
    months: dict[tuple[int, int], int] = {}
    cap = member.day_cap
    top = max(WEEKDAY_WEIGHTS) * max(MONTH_WEIGHTS)
    tries = 0
    while len(chosen) < count and tries < 30 * count:
        tries += 1
        position = rng.randrange(first, last)
        if position in chosen or rng.random() * top > pattern.weights[position]:
            continue
        if cap is not None:
            month = pattern.months[position]
            if months.get(month, 0) >= cap:
                continue
            months[month] = months.get(month, 0) + 1
        chosen.add(position)
    if len(chosen) < count:
        remaining = [p for p in range(first, last) if p not in chosen]
        rng.shuffle(remaining)
        for position in remaining:
            if len(chosen) == count:
                break
            if cap is not None:
                month = pattern.months[position]
                if months.get(month, 0) >= cap:
                    continue
                months[month] = months.get(month, 0) + 1
            chosen.add(position)
    return sorted(pattern.days[p] for p in chosen)


class Writer:
    """Turns each member's days into check-in rows (streamed to COPY) and memberships and
    months (kept for their own COPY after)."""

    def __init__(self, rng, anchor, calendar, plans, places_of, networks_of, now):
        zone = zoneinfo.ZoneInfo(ZONE)
        self.rng = rng
        self.anchor = anchor
        self.calendar = calendar
        self.midnights = [dt.datetime.combine(day, dt.time(0), zone) for day in calendar]
        self.plans = plans
        self.places_of = places_of
        self.networks_of = networks_of
        self.now = now
        self.memberships: list[tuple] = []
        self.months: list[tuple] = []
        self.ledger_lines = 0

    def _membership(self, member: MemberSpec, plan: PlanSpec, starts_on, ends_on, tickets_left):
        membership_id = len(self.memberships) + 1
        created = dt.datetime.combine(starts_on, dt.time(7), dt.UTC)
        ended_at = None
        if plan.kind == "subscription" and ends_on is not None:
            ended_at = dt.datetime.combine(ends_on, dt.time(18), dt.UTC)
        self.memberships.append(
            (
                membership_id,
                member.user_id,
                plan.id,
                plan.place,
                starts_on,
                ends_on,
                tickets_left,
                plan.price,
                plan.place,  # granted by the place's manager (user id = place id)
                ended_at,
                min(created, self.now),
                min(created, self.now),
            )
        )
        return membership_id

    def _away_places(self, member: MemberSpec, plan: PlanSpec) -> list[int]:
        if not plan.network_wide:
            return []
        if plan.valid_places:
            return self.rng.sample(plan.valid_places, min(len(plan.valid_places), 2))
        networks = self.networks_of[member.home]
        network = networks[0] if self.rng.random() < 0.8 else self.rng.choice(networks)
        peers = [p for p in self.places_of[network] if p != member.home] or [
            p for n in networks for p in self.places_of[n] if p != member.home
        ]
        return [self.rng.choice(peers) for _ in range(self.rng.randint(1, 3))]

    def _row(self, member, index, place_id, consumed, membership_id, plan, away):
        rng = self.rng
        pattern = member.pattern
        arrives = pattern.opens + rng.randint(0, min(180, pattern.closes - pattern.opens - 60))
        # Gone before closing time, or checked out by the hourly job when they forgot.
        leaves = min(arrives + rng.randint(120, 540), pattern.closes - rng.randint(0, 30))
        auto = rng.random() < AUTO_CHECKOUT
        if auto:
            leaves = pattern.closes
        midnight = self.midnights[index]
        self.ledger_lines += away
        return (
            member.user_id,
            place_id,
            self.calendar[index],
            midnight + dt.timedelta(minutes=arrives),
            midnight + dt.timedelta(minutes=leaves),
            auto,
            consumed,
            membership_id,
            member.home if away else None,
            plan.unit_value if away else None,
            place_id if rng.random() < STAFF_CHECKINS else None,  # the manager of the place
        )

    def member_rows(self, member: MemberSpec, days: list[int]):
        rng = self.rng
        plans = self.plans
        base = 3 * (member.home - 1)
        if member.persona == "visitor":
            plan = plans[base + 2]
            for index in days:
                day = self.calendar[index]
                membership_id = self._membership(member, plan, day, day, 0)
                yield self._row(member, index, member.home, "day_pass", membership_id, plan, False)
            return
        if member.persona == "resident":
            plan = plans[base]
            starts_on = self.anchor - dt.timedelta(days=DAYS - member.start)
            ends_on = None
            if not member.active:
                ends_on = self.anchor - dt.timedelta(days=DAYS - member.end)
            membership_id = self._membership(member, plan, starts_on, ends_on, None)
            away_places = self._away_places(member, plan)
            used: dict[dt.date, int] = {}
            for index in days:
                away = bool(away_places) and rng.random() < AWAY_SHARE["resident"]
                place_id = rng.choice(away_places) if away else member.home
                if plan.days_per_month:
                    month = self.calendar[index].replace(day=1)
                    used[month] = used.get(month, 0) + 1
                yield self._row(member, index, place_id, "subscription", membership_id, plan, away)
            for month, count in used.items():
                self.months.append(
                    (
                        len(self.months) + 1,
                        membership_id,
                        month,
                        plan.credit_hours * 60,
                        plan.days_per_month,
                        count,
                    )
                )
            return
        plan = plans[base + 1]
        away_places = self._away_places(member, plan)
        book_id, book_end, book_used = None, None, 0
        for index in days:
            day = self.calendar[index]
            if book_id is None or book_used == plan.tickets or day > book_end:
                if book_id is not None:
                    self._close_book(book_id, plan.tickets - book_used)
                starts_on = day - dt.timedelta(days=rng.randint(0, 7))
                book_end = starts_on + dt.timedelta(days=plan.valid_days - 1)
                book_id = self._membership(member, plan, starts_on, book_end, plan.tickets)
                book_used = 0
            book_used += 1
            away = bool(away_places) and rng.random() < AWAY_SHARE["nomad"]
            place_id = rng.choice(away_places) if away else member.home
            yield self._row(member, index, place_id, "ticket", book_id, plan, away)
        if book_id is not None:
            self._close_book(book_id, plan.tickets - book_used)

    def _close_book(self, membership_id: int, tickets_left: int) -> None:
        row = self.memberships[membership_id - 1]
        self.memberships[membership_id - 1] = (*row[:6], tickets_left, *row[7:])


def _copy_in_time_order(cursor, model, fields: list[str], now, rows) -> int:
    """COPY the rows (drawn member by member) into a temporary table, then into the model's
    table in the order of `day` and `checked_in_at`, numbered in that order: the rows of a month
    lie together on disk and ids grow with time, as when check-ins arrive day after day."""
    copier = Copier(model, fields, now)
    table = model._meta.db_table
    columns = ", ".join(f'"{column}"' for column in copier.columns)
    cursor.execute(
        f'CREATE TEMPORARY TABLE staging ON COMMIT DROP AS SELECT {columns} FROM "{table}" '
        "WITH NO DATA"
    )
    count = 0
    with cursor.copy(f"COPY staging ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row + copier.defaults)
            count += 1
    order = '"day", "checked_in_at", "user_id"'
    cursor.execute(
        f'INSERT INTO "{table}" ("id", {columns}) '
        f"SELECT row_number() OVER (ORDER BY {order}), {columns} FROM staging ORDER BY {order}"
    )
    cursor.execute("DROP TABLE staging")
    return count


def _people(spec: Spec, rng: random.Random, place_ids: list[int], members: list[MemberSpec]):
    from maillage.core.text import fold

    role_of = {"resident": "resident", "nomad": "nomad", "visitor": "visitor"}
    users, roles, profiles = [], [], []
    for place_id in place_ids:
        users.append((place_id, f"manager-{place_id}@bench.invalid", f"Gérant {place_id}"))
        roles.append((len(roles) + 1, place_id, place_id, "manager"))
    for n, member in enumerate(members):
        name = f"Membre {n}"
        users.append((member.user_id, f"member-{n}@bench.invalid", name))
        roles.append((len(roles) + 1, member.user_id, member.home, role_of[member.persona]))
        if rng.random() < PROFILES:
            visibility = rng.choice(("private", "members", "members", "public"))
            profiles.append((member.user_id, visibility, rng.random() < SHOW_PRESENCE, fold(name)))
    return users, roles, profiles


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------

TABLES = (
    "places_place",
    "places_network",
    "places_place_networks",
    "accounts_user",
    "accounts_placerole",
    "members_plan",
    "members_plan_valid_places",
    "members_membership",
    "members_membershipmonth",
    "members_memberprofile",
    "members_checkin",
)


def schema_fingerprint(tables: tuple[str, ...] = TABLES) -> str:
    """Eight hex digits of the columns and constraints of `tables` (by default those this
    generator writes): a migration that changes them makes the next run regenerate the data."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, data_type, is_nullable, column_default "
            "FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = ANY(%s) ORDER BY table_name, column_name",
            [list(tables)],
        )
        columns = cursor.fetchall()
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE conrelid = ANY(%s::regclass[]) ORDER BY 1, 2",
            [list(tables)],
        )
        constraints = cursor.fetchall()
    return hashlib.sha256(repr((columns, constraints)).encode()).hexdigest()[:8]


def marker(spec: Spec, anchor: dt.date, fingerprint: str) -> str:
    """Prefix of Place.source_id: the seed, the generator version, the schema and the anchor."""
    return f"{spec.seed}-pr{VERSION}-{fingerprint}-{anchor:%Y%m%d}"


def existing_anchor(spec: Spec) -> dt.date | None:
    """The anchor day of the dataset in the database when it is exactly `spec`'s, generated on
    the current schema, else None."""
    from maillage.accounts.models import User
    from maillage.members.models import CheckIn
    from maillage.places.models import Place

    first = (
        Place.objects.filter(source=SOURCE, slug="national-0")
        .values_list("source_id", flat=True)
        .first()
    )
    pattern = rf"{spec.seed}-pr{VERSION}-{schema_fingerprint()}-(\d{{8}})-0"
    match = re.fullmatch(pattern, first or "")
    if not match:
        return None
    anchor = dt.date.fromisoformat(match.group(1))
    if (
        Place.objects.count() != spec.places
        or CheckIn.objects.filter(day__lt=anchor).count() != spec.checkins
        or User.objects.filter(email__endswith="@bench.invalid").count()
        != spec.members + spec.places
    ):
        return None
    return anchor


def consistency(anchor: dt.date) -> dict:
    """Checks, in SQL, that the dataset's counters agree with its check-ins (days before the
    anchor: a run's own check-ins are today's): tickets left = tickets − days paid, days used of
    a month = days of that month, one day per day pass, ledger lines exactly the days away."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH used AS (
                SELECT membership_id, COUNT(*) AS days FROM members_checkin
                WHERE day < %(anchor)s GROUP BY membership_id
            )
            SELECT
                COUNT(*) FILTER (WHERE p.kind = 'ticket_book'
                                   AND m.tickets_left + COALESCE(u.days, 0) <> p.tickets),
                COUNT(*) FILTER (WHERE p.kind = 'day_pass'
                                   AND (m.tickets_left <> 0 OR COALESCE(u.days, 0) <> 1)),
                COUNT(*) FILTER (WHERE p.kind = 'ticket_book' AND m.tickets_left > 0
                                   AND m.ends_on >= %(anchor)s),
                COUNT(*) FILTER (WHERE p.kind = 'subscription' AND m.ends_on IS NULL)
            FROM members_membership m JOIN members_plan p ON p.id = m.plan_id
            LEFT JOIN used u ON u.membership_id = m.id
            """,
            {"anchor": anchor},
        )
        wrong_books, wrong_passes, books_valid, open_subscriptions = cursor.fetchone()
        cursor.execute(
            """
            SELECT COUNT(*) FROM members_membershipmonth mm
            LEFT JOIN LATERAL (
                SELECT COUNT(*) AS days FROM members_checkin c
                WHERE c.membership_id = mm.membership_id AND c.day >= mm.month
                  AND c.day < mm.month + interval '1 month'
            ) c ON true
            WHERE mm.month < %(anchor)s AND mm.days_used <> c.days
            """,
            {"anchor": anchor},
        )
        (wrong_months,) = cursor.fetchone()
        cursor.execute(
            """
            SELECT COUNT(*) FILTER (WHERE c.home_place_id IS NOT NULL),
                   COUNT(*) FILTER (
                       WHERE (c.home_place_id IS NOT NULL) <> (c.place_id <> m.place_id)
                   ),
                   COUNT(*)
            FROM members_checkin c JOIN members_membership m ON m.id = c.membership_id
            WHERE c.day < %(anchor)s
            """,
            {"anchor": anchor},
        )
        ledger, wrong_ledger, checkins = cursor.fetchone()
    return {
        "checkins": checkins,
        "ledger_lines": ledger,
        "ledger_share": round(ledger / checkins, 4) if checkins else 0,
        "ticket_books_with_tickets_unlike_days": wrong_books,
        "day_passes_not_used_once": wrong_passes,
        "months_with_days_unlike_checkins": wrong_months,
        "ledger_lines_unlike_memberships": wrong_ledger,
        "ticket_books_valid_on_the_anchor": books_valid,
        "open_subscriptions": open_subscriptions,
    }


def generate(spec: Spec, log=print) -> dict:
    """Write the whole dataset into an empty database, in one transaction. Returns counts and
    seconds per step."""
    from django.db import connection, transaction
    from django.utils import timezone

    from maillage.accounts.models import PlaceRole, User
    from maillage.bookings.models import Resource
    from maillage.members.models import (
        CheckIn,
        MemberProfile,
        Membership,
        MembershipMonth,
        Plan,
    )
    from maillage.places.models import Network, OpeningHours, Place, PlaceTerm, Season

    now = timezone.now().replace(microsecond=0)
    anchor = now.astimezone(zoneinfo.ZoneInfo(ZONE)).date()
    rng = random.Random(f"{spec.seed}-presence-{anchor}")
    timings: dict[str, float] = {}
    counts: dict[str, int] = {}
    started = time.perf_counter()

    def step(name: str):
        timings[name] = round(time.perf_counter() - started - sum(timings.values()), 2)
        log(f"  {name}: {timings[name]} s", flush=True)

    fingerprint = schema_fingerprint()
    calendar = [anchor - dt.timedelta(days=DAYS - k) for k in range(DAYS)]
    places_spec = bookings_dataset.Spec(places=spec.places, members=spec.members, seed=spec.seed)
    networks, places, links, place_terms, hours, seasons, place_specs = bookings_dataset._places(
        places_spec, rng, marker(spec, anchor, fingerprint)
    )
    place_ids = [place.id for place in place_specs]
    places_of, networks_of = _network_places(links)
    patterns = _patterns(place_specs, calendar)
    plans = _plans(rng, place_ids, places_of, networks_of)
    plan_rows, plan_places = _plan_rows(plans, now)
    members = _members(spec, rng, place_specs, patterns, plans)
    _share_out(spec, rng, members)
    users, roles, profiles = _people(spec, rng, place_ids, members)
    step("places, plans and members drawn")
    writer = Writer(rng, anchor, calendar, plans, places_of, networks_of, now)
    big = [CheckIn._meta.db_table, Membership._meta.db_table, MembershipMonth._meta.db_table]
    with transaction.atomic(), connection.cursor() as wrapper:
        cursor = wrapper.cursor  # the psycopg cursor, for COPY
        cursor.execute("SET LOCAL statement_timeout = 0")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        rebuild = _detach_constraints(cursor, big)
        tables = [
            (Network, ["id", "slug", "name"], networks),
            (Place, PLACE_COLUMNS, places),
            (Place.networks.through, ["place", "network"], links),
            (PlaceTerm, ["place", "kind", "code"], place_terms),
            (
                Season,
                ["id", "place", "name", "start_date", "end_date", "yearly", "closed"],
                seasons,
            ),
            (OpeningHours, ["id", "place", "season", "weekday", "opens", "closes"], hours),
            (
                User,
                ["id", "email", "full_name", "password"],
                [(*row, UNUSABLE_PASSWORD) for row in users],
            ),
            (PlaceRole, ["id", "user", "place", "role"], roles),
            (MemberProfile, ["user", "visibility", "show_presence", "search_text"], profiles),
            (
                Plan,
                [
                    "id",
                    "place",
                    "name",
                    "kind",
                    "price",
                    "credit_hours",
                    "resource_kinds",
                    "days_per_month",
                    "tickets",
                    "valid_days",
                    "network_wide",
                    "created_at",
                    "updated_at",
                ],
                plan_rows,
            ),
            (Plan.valid_places.through, ["plan", "place"], plan_places),
        ]
        for model, fields, rows in tables:
            counts[model._meta.db_table] = Copier(model, fields, now).write(cursor, rows)
        bookings_dataset._copy_hours_rules(Place, Resource)
        step("places, people and plans copied")

        def checkin_rows():
            for member in members:
                yield from writer.member_rows(member, _draw_days(rng, member))

        counts[CheckIn._meta.db_table] = _copy_in_time_order(
            cursor,
            CheckIn,
            [
                "user",
                "place",
                "day",
                "checked_in_at",
                "checked_out_at",
                "auto_checked_out",
                "consumed",
                "membership",
                "home_place",
                "unit_value",
                "checked_in_by",
            ],
            now,
            checkin_rows(),
        )
        step("2 years of check-ins drawn, copied and ordered by day")
        counts[Membership._meta.db_table] = Copier(
            Membership,
            [
                "id",
                "user",
                "plan",
                "place",
                "starts_on",
                "ends_on",
                "tickets_left",
                "price",
                "granted_by",
                "ended_at",
                "created_at",
                "updated_at",
            ],
            now,
        ).write(cursor, writer.memberships)
        counts[MembershipMonth._meta.db_table] = Copier(
            MembershipMonth,
            ["id", "membership", "month", "credit_minutes", "days", "days_used"],
            now,
        ).write(cursor, writer.months)
        step("memberships and months copied")
        for statement in rebuild:
            cursor.execute(statement)
        step("indexes, unique constraints and foreign keys rebuilt")
        for model in (Network, Place, Season, OpeningHours, User, PlaceRole, Plan):
            _reset_sequence(cursor, model)
        for model in (Membership, MembershipMonth, CheckIn):
            _reset_sequence(cursor, model)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    step("VACUUM ANALYZE")
    return {
        "anchor": anchor.isoformat(),
        "schema": fingerprint,
        "rows": counts,
        "ledger_lines": writer.ledger_lines,
        "seconds": timings,
        "total_seconds": round(time.perf_counter() - started, 2),
    }
