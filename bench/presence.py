#!/usr/bin/env python
"""Members and presence benchmark at national scale on PostgreSQL (issue 6).

    .venv/bin/python bench/presence.py [--rebuild] [--scale 1.0]
                                       [--only http,service,ledger,attendance]

Fills the database `maillage_bench_presence` with the national presence dataset
(bench/presence_dataset.py: 5,000 places, 100,000 members, their plans and memberships, two years
of check-ins) unless it already holds it, then measures (1) check-ins over HTTP
(`POST /api/v1/checkins` against gunicorn, by the places' managers and by members for
themselves) and through `services.checkin`, checking afterwards that every 201 is one row and
that tickets and days moved exactly; (2) the network-pass ledger of a month
(`selectors.ledger`) per network and for every place of a network, with its plan; (3) a place's
attendance over a year and "who is here now". Prints a Markdown table and writes
bench/results/presence-postgres.json. See bench/README.md.
"""

import argparse
import cProfile
import datetime as dt
import json
import os
import platform
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import bookings
from bookings import Client, CpuMeter, database_info, profile_text, summarize, tokens_for

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
RESULT_PATH = RESULTS_DIR / "presence-postgres.json"
LOG_PATH = ROOT / "var" / "bench" / "gunicorn-presence.log"
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
PG_DATABASE = "maillage_bench_presence"
REDIS_URL = "redis://127.0.0.1:6379/9"
MEASURES = ("http", "service", "ledger", "attendance")
REBUILD_AFTER_DAYS = 90  # then fewer ticket books bought before the anchor are still valid
CHECKINS = "/api/v1/checkins"


# --------------------------------------------------------------------------------------------
# Command line, database
# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="regenerate the dataset")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="dataset size factor (0.1: a quick run)"
    )
    parser.add_argument(
        "--only", default=",".join(MEASURES), help=f"comma-separated subset of {MEASURES}"
    )
    parser.add_argument("--http", type=int, default=3000, help="check-ins over HTTP")
    parser.add_argument("--clients", type=int, default=8, help="keep-alive HTTP connections")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker")
    parser.add_argument("--service", type=int, default=1500, help="check-ins through the service")
    parser.add_argument(
        "--service-threads", type=int, default=4, help="threads of the concurrent service run"
    )
    parser.add_argument(
        "--staff-share", type=float, default=0.5, help="check-ins made by the place's manager"
    )
    parser.add_argument(
        "--away-share", type=float, default=0.1, help="check-ins with a network pass elsewhere"
    )
    parser.add_argument("--queries", type=int, default=300, help="timed queries per series")
    parser.add_argument("--warmup", type=int, default=30, help="untimed queries first")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--pg-server", default=PG_SERVER, help="PostgreSQL server URL, no db")
    parser.add_argument("--redis-url", default=REDIS_URL, help="Redis of the HTTP server")
    args = parser.parse_args(argv)
    args.only = [m.strip() for m in args.only.split(",") if m.strip()]
    unknown = set(args.only) - set(MEASURES)
    if unknown:
        parser.error(f"unknown measures: {', '.join(sorted(unknown))}")
    return args


def ensure_dataset(args: argparse.Namespace, spec) -> dict:
    import presence_dataset

    return bookings.reuse_or_generate(
        presence_dataset,
        spec,
        rebuild=args.rebuild,
        label="national presence dataset",
        database=PG_DATABASE,
        rebuild_after_days=REBUILD_AFTER_DAYS,
    )


def remove_run_leftovers(anchor: dt.date) -> dict:
    """Undo what runs did (the dataset's check-ins are all before the anchor day, a run's are
    on the day it runs): give back the tickets and days the run's check-ins spent, delete the
    months they opened, the check-ins, their audit entries and the run's API tokens."""
    from django.db import connection, transaction

    from maillage.accounts.models import ApiToken
    from maillage.core.models import AuditEntry

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE members_membership m SET tickets_left = m.tickets_left + c.n
            FROM (SELECT membership_id, COUNT(*) AS n FROM members_checkin
                  WHERE day >= %(anchor)s AND consumed IN ('ticket', 'day_pass')
                  GROUP BY membership_id) c
            WHERE m.id = c.membership_id
            """,
            {"anchor": anchor},
        )
        tickets = cursor.rowcount
        cursor.execute(
            """
            UPDATE members_membershipmonth mm SET days_used = mm.days_used - c.n
            FROM (SELECT membership_id, date_trunc('month', day)::date AS month, COUNT(*) AS n
                  FROM members_checkin WHERE day >= %(anchor)s AND consumed = 'subscription'
                  GROUP BY 1, 2) c
            WHERE mm.membership_id = c.membership_id AND mm.month = c.month
              AND mm.days IS NOT NULL
            """,
            {"anchor": anchor},
        )
        months = cursor.rowcount
        # The dataset's months all have days used: an empty one was opened by a run.
        cursor.execute(
            "DELETE FROM members_membershipmonth WHERE days_used = 0 AND credit_minutes_used = 0"
        )
        cursor.execute("DELETE FROM members_checkin WHERE day >= %s", [anchor])
        checkins = cursor.rowcount
    AuditEntry.objects.filter(action__startswith="checkin.").delete()
    ApiToken.objects.filter(name="bench").delete()
    AuditEntry.objects.filter(action="token.create", details__name="bench").delete()
    return {"checkins": checkins, "memberships_refilled": tickets, "months_given_back": months}


# --------------------------------------------------------------------------------------------
# Who checks in today
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Visit:
    member_id: int
    email: str
    place_id: int
    slug: str
    home_id: int

    @property
    def away(self) -> bool:
        return self.place_id != self.home_id

    def payload(self) -> dict:
        return {"place": self.slug, "member": self.email}


VALID_TODAY = """
SELECT DISTINCT ON (m.user_id) m.user_id, u.email, m.place_id, p.network_wide, m.plan_id
FROM members_membership m
JOIN members_plan p ON p.id = m.plan_id
JOIN accounts_user u ON u.id = m.user_id
LEFT JOIN members_membershipmonth mm ON mm.membership_id = m.id AND mm.month = %(month)s
WHERE m.starts_on <= %(today)s AND (m.ends_on IS NULL OR m.ends_on >= %(today)s)
  AND u.is_active
  AND ((p.kind IN ('ticket_book', 'day_pass') AND m.tickets_left > 0)
       OR (p.kind = 'subscription'
           AND (p.days_per_month IS NULL OR COALESCE(mm.days_used, 0) < p.days_per_month)))
  AND NOT EXISTS (SELECT 1 FROM members_checkin c WHERE c.user_id = m.user_id AND c.day = %(today)s)
ORDER BY m.user_id, m.id
"""

# Visitors whose day passes are all used: a check-in is refused (nothing valid).
NOTHING_VALID = """
SELECT u.id, u.email, r.place_id FROM accounts_user u
JOIN accounts_placerole r ON r.user_id = u.id AND r.role = 'visitor'
WHERE NOT EXISTS (SELECT 1 FROM members_membership m WHERE m.user_id = u.id
                  AND (m.ends_on IS NULL OR m.ends_on >= %(today)s))
ORDER BY u.id
LIMIT %(limit)s
"""


class Visits:
    """Members holding something valid today, each used once per run, at their place or, with
    a network pass, at another place of the network where the pass is valid."""

    def __init__(self, args, today: dt.date):
        from django.db import connection

        from maillage.members.models import Plan
        from maillage.places.models import Place

        self.rng = random.Random(args.seed + 1)
        self.away_share = args.away_share
        self.slugs = dict(Place.objects.values_list("id", "slug"))
        places_of: dict[int, list[int]] = {}
        self.networks_of: dict[int, list[int]] = {}
        for place_id, network_id in Place.networks.through.objects.values_list(
            "place_id", "network_id"
        ):
            places_of.setdefault(network_id, []).append(place_id)
            self.networks_of.setdefault(place_id, []).append(network_id)
        self.places_of = places_of
        self.valid_places: dict[int, list[int]] = {}
        for plan_id, place_id in Plan.valid_places.through.objects.values_list(
            "plan_id", "place_id"
        ):
            self.valid_places.setdefault(plan_id, []).append(place_id)
        with connection.cursor() as cursor:
            cursor.execute(VALID_TODAY, {"today": today, "month": today.replace(day=1)})
            rows = cursor.fetchall()
            cursor.execute(NOTHING_VALID, {"today": today, "limit": 5000})
            self.refusable = [(user_id, email, place) for user_id, email, place in cursor]
        self.rng.shuffle(rows)
        self.rng.shuffle(self.refusable)
        self.home = [r for r in rows if not r[3]]
        self.network = [r for r in rows if r[3]]
        self.available = len(rows)

    def _host(self, home: int, plan_id: int) -> int:
        chosen = self.valid_places.get(plan_id)
        if chosen:
            return self.rng.choice(chosen)
        network = self.rng.choice(self.networks_of[home])
        peers = [p for p in self.places_of[network] if p != home]
        return self.rng.choice(peers) if peers else home

    def take(self, count: int, away_share: float | None = None) -> list["Visit"]:
        """`count` visits (fewer when the dataset holds too few), `away_share` of them (by
        default --away-share) at another place of the network with a pass from home."""
        visits = []
        away = round(count * (self.away_share if away_share is None else away_share))
        for _ in range(count):
            if away and self.network:
                user_id, email, home, _wide, plan_id = self.network.pop()
                place = self._host(home, plan_id)
                away -= 1
            elif self.home or self.network:
                user_id, email, home, _wide, _plan = (self.home or self.network).pop()
                place = home
            else:
                break
            visits.append(Visit(user_id, email, place, self.slugs[place], home))
        return visits

    def refused(self, count: int) -> list["Visit"]:
        taken, self.refusable = self.refusable[:count], self.refusable[count:]
        return [Visit(u, e, p, self.slugs[p], p) for u, e, p in taken]


class Snapshot:
    """What the members of some visits hold before a run: then `exactness()` after it."""

    def __init__(self, visits: list[Visit], today: dt.date):
        from maillage.members.models import CheckIn, Membership, MembershipMonth

        self.visits = visits
        self.today = today
        users = [v.member_id for v in visits]
        self.tickets = dict(
            Membership.objects.filter(user_id__in=users).values_list("id", "tickets_left")
        )
        self.days = dict(
            MembershipMonth.objects.filter(
                membership__user_id__in=users, month=today.replace(day=1)
            ).values_list("membership_id", "days_used")
        )
        self.last_id = CheckIn.objects.order_by("-id").values_list("id", flat=True).first() or 0

    def exactness(self, answers: list[tuple[int, dict]] | None = None) -> dict:
        """Rows created = successes, each for a visit of the run; tickets and days of a month
        spent exactly once per row; ledger lines exactly where another place's plan paid."""
        from maillage.members.models import CheckIn, Membership, MembershipMonth

        users = [v.member_id for v in self.visits]
        rows = list(
            CheckIn.objects.filter(id__gt=self.last_id, user_id__in=users).values(
                "id",
                "user_id",
                "place_id",
                "day",
                "consumed",
                "membership_id",
                "membership__place_id",
                "membership__plan__days_per_month",
                "home_place_id",
            )
        )
        wanted = {(v.member_id, v.place_id) for v in self.visits}
        spent_tickets, spent_days = Counter(), Counter()
        for row in rows:
            if row["consumed"] in ("ticket", "day_pass"):
                spent_tickets[row["membership_id"]] += 1
            if row["consumed"] == "subscription" and row["membership__plan__days_per_month"]:
                spent_days[row["membership_id"]] += 1
        tickets_after = dict(
            Membership.objects.filter(user_id__in=users).values_list("id", "tickets_left")
        )
        days_after = dict(
            MembershipMonth.objects.filter(
                membership__user_id__in=users, month=self.today.replace(day=1)
            ).values_list("membership_id", "days_used")
        )
        tickets_wrong = [
            pk
            for pk, before in self.tickets.items()
            if before is not None and before - tickets_after[pk] != spent_tickets[pk]
        ]
        days_wrong = [
            pk
            for pk in set(self.days) | set(days_after) | set(spent_days)
            if days_after.get(pk, 0) - self.days.get(pk, 0) != spent_days[pk]
        ]
        ledger_wrong = [row["id"] for row in rows if _ledger_line_wrong(row)]
        checks = {
            "rows_created": len(rows),
            "rows_for_other_visits": sum((r["user_id"], r["place_id"]) not in wanted for r in rows),
            "rows_not_today": sum(r["day"] != self.today for r in rows),
            "tickets_spent": sum(spent_tickets.values()),
            "memberships_with_tickets_unlike_rows": len(tickets_wrong),
            "subscription_days_spent": sum(spent_days.values()),
            "months_with_days_unlike_rows": len(days_wrong),
            "ledger_lines": sum(r["home_place_id"] is not None for r in rows),
            "ledger_lines_unlike_memberships": len(ledger_wrong),
        }
        exact = not (
            checks["rows_for_other_visits"]
            or checks["rows_not_today"]
            or tickets_wrong
            or days_wrong
            or ledger_wrong
        )
        if answers is not None:
            by_id = {r["id"]: r for r in rows}
            created = {answer.get("id"): answer for status, answer in answers if status == 201}
            checks["successes"] = len(created)
            checks["answer_ids_equal_rows"] = set(created) == set(by_id)
            checks["answers_unlike_rows"] = sum(
                _answer_unlike(answer, by_id.get(pk), tickets_after)
                for pk, answer in created.items()
            )
            exact = exact and checks["answer_ids_equal_rows"] and not checks["answers_unlike_rows"]
            exact = exact and checks["successes"] == len(rows)
        checks["exact"] = exact
        return checks


def _ledger_line_wrong(row: dict) -> bool:
    """A ledger line (home_place) exactly when a membership of another place paid, naming it."""
    home = row["membership__place_id"]
    elsewhere = row["membership_id"] is not None and home != row["place_id"]
    return row["home_place_id"] != (home if elsewhere else None)


def _answer_unlike(answer: dict, row: dict | None, tickets_after: dict) -> bool:
    """Whether a 201 answer says something else than the row: what paid, which membership,
    the tickets left on it, the pass's home place."""
    if row is None:
        return True
    consumed = answer.get("consumed") or {}
    tickets = tickets_after.get(row["membership_id"])
    return (
        consumed.get("kind") != row["consumed"]
        or consumed.get("membership") != row["membership_id"]
        or consumed.get("tickets_left") != tickets
        or (consumed.get("home_place") is None) != (row["home_place_id"] is None)
    )


# --------------------------------------------------------------------------------------------
# (1) Check-ins over HTTP
# --------------------------------------------------------------------------------------------


class Server(bookings.Server):
    """bench/bookings.py's gunicorn (deploy configuration, DEBUG and MFA off, Redis for the
    rate-limit counters), logging to its own file."""

    def __enter__(self) -> "Server":
        bookings.LOG_PATH = LOG_PATH
        return super().__enter__()


def decode(content: bytes) -> dict:
    try:
        answer = json.loads(content)
    except ValueError:
        return {"raw": content[:200].decode(errors="replace")}
    return answer if isinstance(answer, dict) else {"raw": str(answer)[:200]}


def post_all(port: int, requests: list[tuple[dict, str]], clients: int):
    """POST every (payload, token) to /api/v1/checkins from `clients` keep-alive connections
    started together. Returns (status, ms, answer) per request, in the order of `requests`, the
    seconds from the start to the last answer, and the reconnections."""
    queues = [list(range(len(requests)))[i::clients] for i in range(clients)]
    results: list[tuple[int, float, dict]] = [(0, 0.0, {})] * len(requests)
    reconnects = [0] * len(queues)
    barrier = threading.Barrier(len(queues) + 1)

    def run(index: int):
        client = Client(port)
        barrier.wait()
        try:
            for position in queues[index]:
                payload, token = requests[position]
                try:
                    status, elapsed, content = client.request("POST", CHECKINS, payload, token)
                    results[position] = (status, elapsed, decode(content))
                except OSError as error:
                    results[position] = (0, 0.0, {"error": repr(error)})
        finally:
            reconnects[index] = client.reconnects
            client.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(queues))]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return results, elapsed, sum(reconnects)


def endpoint_missing(port: int, token: str) -> str | None:
    """Why POST /api/v1/checkins cannot be measured, or None when it answers."""
    status, _ms, content = Client(port).request("POST", CHECKINS, {}, token)
    if status in (404, 405):
        return f"POST {CHECKINS} answers {status}: the endpoint is not there yet"
    if status >= 500:
        return f"POST {CHECKINS} answers {status}: {content[:200]!r}"
    return None


class Tokens:
    """Bearer tokens: the manager of a place (user id = place id in the dataset) checks members
    in there; the others check themselves in."""

    def __init__(self, visits: list[Visit], staff_share: float, seed: int):
        rng = random.Random(seed + 2)
        self.by_staff = {v: rng.random() < staff_share for v in visits}
        holders = {v.place_id if staff else v.member_id for v, staff in self.by_staff.items()}
        self.tokens = tokens_for(sorted(holders))

    def requests(self, visits: list[Visit]) -> list[tuple[dict, str]]:
        return [
            (v.payload(), self.tokens[v.place_id if self.by_staff[v] else v.member_id])
            for v in visits
        ]


def statuses_of(flat) -> dict:
    return {str(k): v for k, v in sorted(Counter(status for status, _ms, _a in flat).items())}


def reasons_of(flat) -> dict:
    return dict(
        Counter(
            (answer.get("details") or {}).get("reason", "?")
            for status, _ms, answer in flat
            if status == 409
        )
    )


def timed_checkins(args, server: Server, tokens: "Tokens", batch: list[Visit], today) -> dict:
    """One timed run of check-ins over HTTP, its CPU and its exactness."""
    snapshot = Snapshot(batch, today)
    load = os.getloadavg()[0]
    workers_before = set(server.worker_pids())
    with CpuMeter(server) as cpu:
        flat, elapsed, reconnects = post_all(server.port, tokens.requests(batch), args.clients)
    recycled = len(workers_before - set(server.worker_pids()))
    created = sum(status == 201 for status, _ms, _a in flat)
    staff = [tokens.by_staff[v] for v in batch]
    result = {
        "checkins": len(batch),
        "away": sum(v.away for v in batch),
        "by_staff": sum(staff),
        "seconds": round(elapsed, 3),
        "per_second": round(created / elapsed, 1),
        "requests_per_second": round(len(flat) / elapsed, 1),
        "latency": summarize([ms for _status, ms, _answer in flat]),
        "latency_by_staff": summarize([r[1] for r, by in zip(flat, staff, strict=True) if by]),
        "latency_self": summarize([r[1] for r, by in zip(flat, staff, strict=True) if not by]),
        "statuses": statuses_of(flat),
        "server_errors": sum(status >= 500 or status == 0 for status, _ms, _a in flat),
        "errors": [a for s, _ms, a in flat if s != 201][:5],
        "sample_answer": next((a for s, _ms, a in flat if s == 201), None),
        "exactness": snapshot.exactness([(status, answer) for status, _ms, answer in flat]),
        "reconnects": reconnects,
        "workers_recycled": recycled,
        "cpu_ms_per_request": cpu.per_request_ms(len(flat)),
        "cpu_busy_share": round(sum(cpu.spent.values()) / (elapsed * (os.cpu_count() or 1)), 2),
        "load_average_before": round(load, 2),
    }
    print(
        f"  {result['per_second']} check-ins/s, p50 {result['latency']['p50_ms']} ms, p95 "
        f"{result['latency']['p95_ms']} ms (by staff p50 "
        f"{result['latency_by_staff'].get('p50_ms')} ms, self p50 "
        f"{result['latency_self'].get('p50_ms')} ms); statuses {result['statuses']}; exact "
        f"{result['exactness']['exact']} ({result['exactness']['rows_created']} rows, "
        f"{result['exactness']['tickets_spent']} tickets, "
        f"{result['exactness']['ledger_lines']} ledger lines); CPU ms per request "
        f"{result['cpu_ms_per_request']}, CPUs busy {result['cpu_busy_share']:.0%}",
        flush=True,
    )
    return result


def refusals(args, server: Server, tokens: "Tokens", batch: list[Visit], today) -> dict:
    """Check-ins that must be refused (409): nothing may be written."""
    from maillage.members.models import CheckIn

    before = CheckIn.objects.filter(day=today, user_id__in=[v.member_id for v in batch]).count()
    flat, _elapsed, _r = post_all(server.port, tokens.requests(batch), args.clients)
    after = CheckIn.objects.filter(day=today, user_id__in=[v.member_id for v in batch]).count()
    return {
        "requests": len(flat),
        "statuses": statuses_of(flat),
        "reasons": reasons_of(flat),
        "latency": summarize([ms for _status, ms, _answer in flat]),
        "rows_created": after - before,
    }


def profile_requests(args, visits: Visits) -> dict:
    """Where the app's CPU goes: the same POSTs through Django's test client, in this process,
    under cProfile (local cache instead of Redis for the self check-in counter)."""
    from django.conf import settings
    from django.test import Client as DjangoClient

    batch = visits.take(args.profile)
    if not batch:
        return {}
    settings.MAILLAGE_BOOKINGS_PER_ACCOUNT = "1000000/1m"
    tokens = Tokens(batch, args.staff_share, args.seed)
    client = DjangoClient()
    statuses = Counter()
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for payload, token in tokens.requests(batch):
        response = client.post(
            CHECKINS, payload, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
        )
        statuses[response.status_code] += 1
    profiler.disable()
    elapsed = time.perf_counter() - started
    return {
        "requests": len(batch),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "ms_per_request_profiled": round(1000 * elapsed / len(batch), 2),
        "profile": profile_text(profiler),
    }


def measure_http(args, server: Server, visits: Visits, today: dt.date) -> dict:
    warm = visits.take(args.http_warmup)
    timed = visits.take(args.http)
    refused = visits.refused(200)
    print(
        f"\n(1) {len(timed)} check-ins over HTTP ({CHECKINS}): gunicorn {args.workers} workers x "
        f"{args.threads} threads, {args.clients} keep-alive connections, Redis {server.redis}; "
        f"{sum(v.away for v in timed)} with a network pass elsewhere",
        flush=True,
    )
    if not timed:
        return {"skipped": "no member holds anything valid today"}
    tokens = Tokens(warm + timed + refused, args.staff_share, args.seed)
    missing = endpoint_missing(server.port, next(iter(tokens.tokens.values())))
    if missing:
        print(f"  skipped: {missing}", flush=True)
        return {"skipped": missing}
    post_all(server.port, tokens.requests(warm), args.clients)
    result = {
        "clients": args.clients,
        "workers": args.workers,
        "threads": args.threads,
        "redis": server.redis,
        **timed_checkins(args, server, tokens, timed, today),
    }
    # The same people again: each is refused (already checked in), nothing is written; then
    # visitors whose passes are all used.
    result["second_checkin"] = refusals(args, server, tokens, timed[:200], today)
    result["nothing_valid"] = refusals(args, server, tokens, refused, today)
    for key in ("second_checkin", "nothing_valid"):
        part = result[key]
        print(
            f"  {key.replace('_', ' ')}: statuses {part['statuses']}, reasons {part['reasons']}, "
            f"p50 {part['latency'].get('p50_ms')} ms, rows created {part['rows_created']}",
            flush=True,
        )
    result["request_profile"] = profile_requests(args, visits)
    return result


# --------------------------------------------------------------------------------------------
# (1') Check-ins through the service
# --------------------------------------------------------------------------------------------


def checkin_all(visits: list[Visit], by_staff: bool) -> tuple[list[float], Counter]:
    """services.checkin for each visit, the place and member read first as the API does."""
    from maillage.accounts.models import User
    from maillage.members.services import CheckInRefused, checkin
    from maillage.places.models import Place

    times, outcomes = [], Counter()
    for visit in visits:
        started = time.perf_counter()
        place = Place.objects.get(slug=visit.slug)
        member = User.objects.get(email=visit.email)
        actor = User.objects.get(pk=visit.place_id) if by_staff else member
        try:
            record = checkin(place=place, member=member, actor=actor)
            outcomes[record.consumed] += 1
        except CheckInRefused as refusal:
            outcomes[f"refused: {refusal.reason}"] += 1
        times.append((time.perf_counter() - started) * 1000.0)
    return times, outcomes


def checkin_in_threads(batch: list[Visit], threads: int):
    """services.checkin for the batch from `threads` threads, each with its own database
    connection, opened before the start and kept until the CPU of the database's backends has
    been read; odd threads check in as the place's manager. Returns the times per thread, the
    outcomes, the seconds and the CpuMeter."""
    from django.db import connection

    queues = [batch[i::threads] for i in range(threads)]
    times: list[list[float]] = [[] for _ in queues]
    outcomes = Counter()
    lock = threading.Lock()
    ready, finished = threading.Barrier(threads + 1), threading.Barrier(threads + 1)
    release = threading.Event()

    def run(index: int):
        connection.ensure_connection()
        ready.wait()
        try:
            spent, counted = checkin_all(queues[index], by_staff=index % 2 == 1)
            times[index] = spent
            with lock:
                outcomes.update(counted)
        finally:
            finished.wait()
            release.wait()
            connection.close()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    ready.wait()
    with CpuMeter() as cpu:
        started = time.perf_counter()
        finished.wait()
        elapsed = time.perf_counter() - started
    release.set()
    for worker in workers:
        worker.join()
    return times, outcomes, elapsed, cpu


def measure_service(args, visits: Visits, today: dt.date) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    print(
        f"\n(1') check-ins through services.checkin: {args.service} in one thread, then "
        f"{args.service} from {args.service_threads} threads",
        flush=True,
    )
    checkin_all(visits.take(args.service_warmup), by_staff=False)
    result = {}
    for label, threads in (("one_thread", 1), ("threads", args.service_threads)):
        batch = visits.take(args.service)
        snapshot = Snapshot(batch, today)
        load = os.getloadavg()[0]
        times, outcomes, elapsed, cpu = checkin_in_threads(batch, threads)
        flat = [ms for per_thread in times for ms in per_thread]
        created = sum(n for outcome, n in outcomes.items() if not outcome.startswith("refused"))
        result[label] = {
            "checkins": len(batch),
            "threads": threads,
            "away": sum(v.away for v in batch),
            "seconds": round(elapsed, 3),
            "per_second": round(created / elapsed, 1),
            "latency": summarize(flat),
            "outcomes": dict(outcomes),
            "exactness": snapshot.exactness(),
            "cpu_ms_per_checkin": {
                "service": cpu.per_request_ms(max(1, len(batch)))["bench"],
                "postgres": cpu.per_request_ms(max(1, len(batch)))["postgres"],
            },
            "load_average_before": round(load, 2),
        }
        exact = result[label]["exactness"]
        exact["exact"] = exact["exact"] and exact["rows_created"] == created
        print(
            f"  {label.replace('_', ' ')}: {result[label]['per_second']} check-ins/s, p50 "
            f"{result[label]['latency']['p50_ms']} ms, p95 {result[label]['latency']['p95_ms']} "
            f"ms; {dict(outcomes)}; exact {exact['exact']}",
            flush=True,
        )
    # What one check-in sends to the database, at home with a ticket book and with a pass.
    result["queries"] = {}
    for label, batch in (
        ("own_place", visits.take(1)),
        ("network_pass", visits.take(1, away_share=1.0)),
    ):
        if not batch:
            continue
        with CaptureQueriesContext(connection) as captured:
            checkin_all(batch, by_staff=True)
        result["queries"][label] = [
            {"sql": q["sql"][:300], "ms": q["time"]} for q in captured.captured_queries
        ]
    profiled = visits.take(args.profile)
    profiler = cProfile.Profile()
    profiler.enable()
    checkin_all(profiled, by_staff=True)
    profiler.disable()
    result["profile"] = profile_text(profiler)
    print(
        f"  statements per check-in: { {k: len(v) for k, v in result['queries'].items()} }",
        flush=True,
    )
    return result


# --------------------------------------------------------------------------------------------
# (2) The network-pass ledger
# --------------------------------------------------------------------------------------------


def explain(sql: str, params=None) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        return [row[0] for row in cursor.fetchall()]


def ledger_sql(places, month: dt.date) -> str:
    """The SQL selectors.ledger sends, with its parameters."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from maillage.members import selectors

    with CaptureQueriesContext(connection) as captured:
        selectors.ledger(places=places, month=month)
    return captured.captured_queries[-1]["sql"]


def time_ledger(draws, places_of: dict, warmup: int) -> dict:
    """For each (network, month) draw, in rotating order: selectors.ledger with the network's
    places as a list (a view holding them), with the queryset permissions.ledger_places gives a
    coordinator (as the ledger page and the API do: the selector keeps it as a subquery), and
    the lines of the CSV export (selectors.ledger_lines, read as the page does). All must
    agree."""
    from maillage.members import selectors
    from maillage.places.models import Place

    calls = {
        "ledger": lambda network, month: selectors.ledger(places=places_of[network], month=month),
        "ledger_queryset": lambda network, month: selectors.ledger(
            places=Place.objects.filter(networks=network), month=month
        ),
        "ledger_lines": lambda network, month: list(
            selectors.ledger_lines(
                places=Place.objects.filter(networks=network), month=month
            ).iterator(chunk_size=2000)
        ),
    }
    variants = {name: [] for name in calls}
    lines, rows_per_call, mismatches = [], [], 0
    for index, (network, month) in enumerate(draws):
        names = list(calls)
        shift = index % len(names)
        answers = {}
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            answers[name] = calls[name](network, month)
            if index >= warmup:
                variants[name].append((time.perf_counter() - started) * 1000.0)
        exported = len(answers.pop("ledger_lines"))
        first = answers["ledger"]
        mismatches += any(answer != first for answer in answers.values())
        mismatches += exported != sum(line["days"] for line in first)
        if index >= warmup:
            lines.append(len(first))
            rows_per_call.append(exported)
    ordered_lines, ordered_rows = sorted(lines), sorted(rows_per_call)
    return {
        "calls": len(lines),
        "variants": {name: summarize(times) for name, times in variants.items()},
        "ledger_lines_per_call": {"p50": ordered_lines[len(lines) // 2], "max": ordered_lines[-1]},
        "check_ins_per_call": {"p50": ordered_rows[len(lines) // 2], "max": ordered_rows[-1]},
        "mismatch_count": mismatches,
    }


def time_whole_set(places: list, months: list[dt.date], rounds: int) -> dict:
    """The ledger of every place of a network, each month, `rounds` times: selectors.ledger
    with the places as a list and as a queryset; both must agree."""
    from maillage.members import selectors
    from maillage.places.models import Place

    networked = Place.objects.filter(networks__isnull=False)
    times = {"ledger": [], "ledger_queryset": []}
    lines, mismatches = [], 0
    for _round in range(rounds):
        for month in months:
            started = time.perf_counter()
            answer = selectors.ledger(places=places, month=month)
            times["ledger"].append((time.perf_counter() - started) * 1000.0)
            started = time.perf_counter()
            again = selectors.ledger(places=networked, month=month)
            times["ledger_queryset"].append((time.perf_counter() - started) * 1000.0)
            mismatches += answer != again
            lines.append(len(answer))
    return {
        "calls": len(lines),
        "variants": {name: summarize(spent) for name, spent in times.items()},
        "lines_max": max(lines),
        "mismatch_count": mismatches,
    }


def ledger_plans(biggest, region, month) -> dict:
    """EXPLAIN (ANALYZE, BUFFERS) of the selector's query, with the places as the ledger page
    passes them, for the biggest network, a middle one and every networked place."""
    from maillage.places.models import Place

    return {
        label: explain(ledger_sql(places, month))
        for label, places in (
            ("biggest_network", Place.objects.filter(networks=biggest)),
            ("a_region_network", Place.objects.filter(networks=region)),
            ("every_networked_place", Place.objects.filter(networks__isnull=False)),
        )
    }


def measure_ledger(args, anchor: dt.date) -> dict:
    from maillage.members import periods
    from maillage.places.models import Network, Place

    networks = list(Network.objects.order_by("slug"))
    places_of = {n.pk: list(Place.objects.filter(networks=n).order_by("pk")) for n in networks}
    all_places = list(Place.objects.filter(networks__isnull=False).distinct().order_by("pk"))
    first = periods.next_month(periods.month_of(anchor - dt.timedelta(days=730)))
    months = periods.months_between(first, periods.month_of(anchor) - dt.timedelta(days=1))
    rng = random.Random(args.seed + 4)
    draws = [
        (rng.choice(networks).pk, rng.choice(months)) for _ in range(args.warmup + args.queries)
    ]
    print(
        f"\n(2) the network-pass ledger of a month: {args.queries} calls on random networks "
        f"({len(networks)}) and months ({len(months)}), then every networked place "
        f"({len(all_places)}) for each month",
        flush=True,
    )
    biggest = max(networks, key=lambda n: len(places_of[n.pk]))
    region = sorted(networks, key=lambda n: len(places_of[n.pk]))[len(networks) // 2]
    month = months[len(months) // 2]
    result = {
        "networks": {n.slug: len(places_of[n.pk]) for n in networks},
        "months": [m.isoformat() for m in (months[0], months[-1])],
        "per_network": time_ledger(draws, places_of, args.warmup),
        "whole_set": time_whole_set(all_places, months, rounds=2),
        "plans": ledger_plans(biggest, region, month),
        "sql": ledger_sql(Place.objects.filter(networks=biggest), month),
    }
    _print_ledger(result)
    return result


def _print_ledger(result: dict) -> None:
    for name, stats in result["per_network"]["variants"].items():
        print(f"  {name}: p50 {stats['p50_ms']} ms, p95 {stats['p95_ms']} ms", flush=True)
    for name, stats in result["whole_set"]["variants"].items():
        print(
            f"  every networked place, {name}: p50 {stats['p50_ms']} ms, p95 {stats['p95_ms']} ms",
            flush=True,
        )
    mismatches = result["per_network"]["mismatch_count"] + result["whole_set"]["mismatch_count"]
    print(f"  different answers: {mismatches}", flush=True)


# --------------------------------------------------------------------------------------------
# (3) Attendance and presence
# --------------------------------------------------------------------------------------------


def measure_attendance(args, anchor: dt.date, today: dt.date) -> dict:
    from django.db.models import Count

    from maillage.accounts.models import PlaceRole, User
    from maillage.members import periods, selectors
    from maillage.members.models import CheckIn
    from maillage.places.models import Place

    rng = random.Random(args.seed + 5)
    end = periods.month_of(anchor) - dt.timedelta(days=1)
    start = periods.month_of(end - dt.timedelta(days=335))
    place_ids = list(Place.objects.values_list("pk", flat=True))
    places = Place.objects.in_bulk(rng.choices(place_ids, k=args.warmup + args.queries))
    draws = [places[pk] for pk in rng.choices(list(places), k=args.warmup + args.queries)]
    members = User.objects.in_bulk(
        rng.sample(range(len(place_ids) + 1, User.objects.count() + 1), k=len(draws))
    )
    member_draws = list(members.values())
    # "Who is here now" where the run's check-ins are (today's), for the team and a member.
    present_ids = list(
        CheckIn.objects.filter(checked_out_at__isnull=True)
        .values("place_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("place_id", flat=True)[:50]
    )
    present_places = Place.objects.in_bulk(present_ids or place_ids[:50])
    present_draws = [rng.choice(list(present_places.values())) for _ in draws]
    community = dict(
        PlaceRole.objects.filter(place_id__in=present_places, role__in=("resident", "nomad"))
        .order_by("place_id", "user_id")
        .values_list("place_id", "user_id")
    )
    viewers = User.objects.in_bulk(list(community.values()) + list(present_places))
    print(
        f"\n(3) attendance of a place over a year ({start} to {end}) and who is here now: "
        f"{args.queries} queries each",
        flush=True,
    )
    calls = {
        "attendance_summary": lambda i: selectors.attendance_summary(
            draws[i], start=start, end=end
        ),
        "monthly_attendance": lambda i: selectors.monthly_attendance(
            draws[i], start=start, end=end
        ),
        "attendance_place_page": lambda i: list(
            selectors.attendance(place=draws[i], start=start, end=end)[:50]
        ),
        "attendance_member_page": lambda i: list(
            selectors.attendance(
                user=member_draws[i], start=anchor - dt.timedelta(days=730), end=today
            )[:50]
        ),
        "present_for_the_team": lambda i: list(
            selectors.present(present_draws[i], viewer=viewers[present_draws[i].pk])
        ),
        "present_for_a_member": lambda i: list(
            selectors.present(
                present_draws[i],
                viewer=viewers.get(
                    community.get(present_draws[i].pk), viewers[present_draws[i].pk]
                ),
            )
        ),
    }
    times = {name: [] for name in calls}
    sizes = {name: [] for name in calls}
    for index in range(len(draws)):
        names = list(calls)
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            answer = calls[name](index)
            spent = (time.perf_counter() - started) * 1000.0
            if index >= args.warmup:
                times[name].append(spent)
                sizes[name].append(len(answer) if isinstance(answer, list) else answer["days"])
    result = {
        "year": [start.isoformat(), end.isoformat()],
        "variants": {name: summarize(spent) for name, spent in times.items()},
        "sizes": {
            name: {"p50": sorted(n)[len(n) // 2], "max": max(n)} for name, n in sizes.items()
        },
        "present_now": CheckIn.objects.filter(checked_out_at__isnull=True).count(),
        "plans": {
            "monthly_attendance": explain(
                *_sql_of(lambda: selectors.monthly_attendance(draws[0], start=start, end=end))
            ),
            "attendance_summary": explain(
                *_sql_of(lambda: selectors.attendance_summary(draws[0], start=start, end=end))
            ),
        },
    }
    for name, stats in result["variants"].items():
        print(
            f"  {name}: p50 {stats['p50_ms']} ms, p95 {stats['p95_ms']} ms "
            f"(rows or days: p50 {result['sizes'][name]['p50']}, "
            f"max {result['sizes'][name]['max']})",
            flush=True,
        )
    return result


def _sql_of(call) -> tuple[str, None]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        call()
    return captured.captured_queries[-1]["sql"], None


# --------------------------------------------------------------------------------------------
# Run and report
# --------------------------------------------------------------------------------------------


def yes_no(ok: bool) -> str:
    return "yes" if ok else "NO"


def markdown(result: dict) -> str:
    lines = ["| measure | result |", "|---|---|"]
    http = result.get("http")
    if http and "skipped" not in http:
        latency, exact, cpu = http["latency"], http["exactness"], http["cpu_ms_per_request"]
        lines.append(
            f"| (1) check-ins over HTTP ({http['checkins']}, gunicorn "
            f"{http['workers']}×{http['threads']}, {http['clients']} connections; "
            f"{http['by_staff']} by the place's manager, {http['away']} with a network pass) "
            f"| **{http['per_second']:.0f}/s**, p50 {latency['p50_ms']:.1f} ms, **p95 "
            f"{latency['p95_ms']:.1f} ms** (p50 by staff "
            f"{http['latency_by_staff'].get('p50_ms', 0):.1f} ms, self "
            f"{http['latency_self'].get('p50_ms', 0):.1f} ms); statuses {http['statuses']}; "
            f"rows = 201s {yes_no(exact['answer_ids_equal_rows'])}, tickets and days exact "
            f"{yes_no(exact['exact'])} ({exact['tickets_spent']} tickets, "
            f"{exact['subscription_days_spent']} counted days, {exact['ledger_lines']} ledger "
            f"lines) |"
        )
        lines.append(
            f"| (1) CPU per check-in over HTTP | app {cpu['app']:.1f} ms, PostgreSQL "
            f"{cpu['postgres']:.1f} ms, client {cpu['bench']:.1f} ms; CPUs busy "
            f"{http['cpu_busy_share']:.0%} |"
        )
        for key, label in (("second_checkin", "the same again"), ("nothing_valid", "no plan")):
            part = http[key]
            lines.append(
                f"| (1) refusals over HTTP: {label} ({part['requests']}) | statuses "
                f"{part['statuses']}, reasons {part['reasons']}, p50 "
                f"{part['latency'].get('p50_ms', 0):.1f} ms; rows written {part['rows_created']} |"
            )
    elif http:
        lines.append(f"| (1) check-ins over HTTP | skipped: {http['skipped']} |")
    service = result.get("service")
    if service:
        for key in ("one_thread", "threads"):
            run = service[key]
            latency = run["latency"]
            lines.append(
                f"| (1') services.checkin, {run['threads']} thread(s) ({run['checkins']}) | "
                f"**{run['per_second']:.0f}/s**, p50 {latency['p50_ms']:.2f} ms, p95 "
                f"{latency['p95_ms']:.2f} ms; exact {yes_no(run['exactness']['exact'])} |"
            )
        counts = {k: len(v) for k, v in service["queries"].items()}
        lines.append(
            f"| (1') statements per check-in (place, member, actor read first) | {counts} |"
        )
    ledger = result.get("ledger")
    if ledger:
        labels = {
            "ledger": "selectors.ledger, a network's places as a list",
            "ledger_queryset": "selectors.ledger, the places as a queryset (ledger page)",
            "ledger_lines": "selectors.ledger_lines, rows as the CSV export reads them",
        }
        per_network = ledger["per_network"]
        for name, label in labels.items():
            stats = per_network["variants"][name]
            lines.append(
                f"| (2) {label}, {per_network['calls']} network-months | p50 "
                f"{stats['p50_ms']:.1f} ms, **p95 {stats['p95_ms']:.1f} ms** |"
            )
        whole = ledger["whole_set"]
        for name, form in (("ledger", "a list"), ("ledger_queryset", "a queryset")):
            stats = whole["variants"][name]
            lines.append(
                f"| (2) selectors.ledger, every networked place as {form}, {whole['calls']} "
                f"months | p50 {stats['p50_ms']:.1f} ms, **p95 {stats['p95_ms']:.1f} ms** |"
            )
    attendance = result.get("attendance")
    if attendance:
        for name, stats in attendance["variants"].items():
            lines.append(
                f"| (3) {name} ({stats['count']}) | p50 {stats['p50_ms']:.2f} ms, **p95 "
                f"{stats['p95_ms']:.2f} ms** |"
            )
    return "\n".join(lines)


def share_out(args: argparse.Namespace, available: int) -> None:
    """Sizes of the check-in runs (each member checks in once per run): as asked, or less in
    proportion when the dataset holds fewer members with something valid today."""
    sizes = {}
    if "http" in args.only:
        sizes = {"http_warmup": 200, "http": args.http, "profile": min(500, args.http)}
    if "service" in args.only:
        sizes.update(
            service_warmup=100,
            service=2 * args.service,
            samples=2,
            service_profile=min(500, args.service),
        )
    needed = sum(sizes.values())
    factor = min(1.0, available / needed) if needed else 1.0
    if factor < 1.0:
        print(
            f"Only {available} members can check in today for {needed} check-ins: every run "
            f"takes {factor:.0%} of its size.",
            flush=True,
        )
    args.http_warmup = int(200 * factor)
    args.http = int(args.http * factor)
    args.service_warmup = int(100 * factor)
    args.profile = int(500 * factor)
    args.service = int(args.service * factor)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bookings.prepare_database(args, PG_DATABASE)
    import django

    django.setup()
    import presence_dataset
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    call_command("migrate", interactive=False, verbosity=0)
    spec = presence_dataset.Spec(seed=args.seed).scaled(args.scale)
    data = ensure_dataset(args, spec)
    anchor = dt.date.fromisoformat(data["anchor"])
    today = timezone.localdate()
    left = remove_run_leftovers(anchor)
    load_before = os.getloadavg()
    if load_before[0] > 1.0:
        print(f"Warning: load average {load_before[0]:.2f}; timings may be skewed.", flush=True)
    result = {
        "database": PG_DATABASE,
        "db": database_info(connection),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "spec": vars(spec),
        "dataset": data,
        "earlier_run_removed": left,
        "consistency": presence_dataset.consistency(anchor),
        "args": vars(args),
    }
    print(f"Dataset consistency: {result['consistency']}", flush=True)
    started = time.perf_counter()
    try:
        visits = Visits(args, today)
        result["valid_today"] = visits.available
        print(f"Members holding something valid today: {visits.available}", flush=True)
        share_out(args, visits.available)
        if "service" in args.only:
            result["service"] = measure_service(args, visits, today)
        if "http" in args.only:
            with Server(args) as server:
                result["http"] = measure_http(args, server, visits, today)
        if "ledger" in args.only:
            result["ledger"] = measure_ledger(args, anchor)
        if "attendance" in args.only:
            result["attendance"] = measure_attendance(args, anchor, today)
    finally:
        result["removed"] = remove_run_leftovers(anchor)
        result["consistency_after"] = presence_dataset.consistency(anchor)
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["load_average"] = {
        "before": [round(x, 2) for x in load_before],
        "after": [round(x, 2) for x in os.getloadavg()],
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    RESULT_PATH.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"\n## Presence, PostgreSQL {result['db']['version']}, {os.cpu_count()} CPUs\n")
    print(markdown(result))
    print(f"\nWritten to {RESULT_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
