#!/usr/bin/env python
"""Bookings benchmark at national scale on PostgreSQL (PRODUCT.md §4, issue 4).

    .venv/bin/python bench/bookings.py [--rebuild] [--scale 1.0]
                                       [--only availability,service,race,http]

Fills the database `maillage_bench_bookings` with the national dataset (bench/bookings_dataset.py:
5,000 places, 25,000 resources, 2,000,000 booked slots, 100,000 members) unless it already holds
it, then measures booking creation through the service layer and over HTTP (gunicorn), races on
one slot, and the network availability search against a hand-written SQL ceiling. Prints Markdown
tables and writes bench/results/bookings-postgres.json. See bench/README.md.
"""

import argparse
import cProfile
import datetime as dt
import http.client
import io
import json
import math
import os
import platform
import pstats
import random
import socket
import subprocess
import sys
import threading
import time
import zoneinfo
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from directory import percentile

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
RESULT_PATH = RESULTS_DIR / "bookings-postgres.json"
LOG_PATH = ROOT / "var" / "bench" / "gunicorn-bookings.log"
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
# Not `maillage_bench`: bench/directory.py flushes and drops that one.
PG_DATABASE = "maillage_bench_bookings"
REDIS_URL = "redis://127.0.0.1:6379/10"
MEASURES = ("service", "http", "race", "availability")
REBUILD_AFTER_DAYS = 90  # the dataset's "year ahead" is then too short: regenerate it

# Targets of the issue, and the anchors measured with Indico 3.2.9 on this machine class.
TARGETS = {"service_per_s": 740, "http_per_s": 300, "availability_p95_ms": 25.0}
INDICO = {"service_per_s": 74, "availability_p95_ms": 12.9, "availability_rooms": 200}

RADIUS_KM = 50.0
WINDOW = dt.timedelta(hours=2)
HOLDING = ("pending", "confirmed")


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
    parser.add_argument("--service", type=int, default=2000, help="bookings through the service")
    parser.add_argument("--http", type=int, default=3000, help="bookings over HTTP")
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP connections")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker")
    parser.add_argument("--race-threads", type=int, default=50)
    parser.add_argument("--race-rounds", type=int, default=20)
    parser.add_argument("--queries", type=int, default=500, help="timed availability searches")
    parser.add_argument("--warmup", type=int, default=50, help="untimed searches first")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--pg-server", default=PG_SERVER, help="PostgreSQL server URL, no db")
    parser.add_argument("--redis-url", default=REDIS_URL, help="Redis of the HTTP server")
    args = parser.parse_args(argv)
    args.only = [m.strip() for m in args.only.split(",") if m.strip()]
    unknown = set(args.only) - set(MEASURES)
    if unknown:
        parser.error(f"unknown measures: {', '.join(sorted(unknown))}")
    return args


def prepare_database(args: argparse.Namespace, database: str = PG_DATABASE) -> None:
    """Create the benchmark's own database when missing and point the settings at it (before
    django.setup(): maillage.env reads the environment at import)."""
    import psycopg

    try:
        with psycopg.connect(f"{args.pg_server}/postgres", autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [database]
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{database}"')
    except psycopg.OperationalError as error:
        raise SystemExit(
            f"This benchmark needs PostgreSQL (PRODUCT.md §4), unreachable at {args.pg_server}: "
            f"{error}"
        ) from None
    os.environ["DJANGO_SETTINGS_MODULE"] = "maillage.settings"
    os.environ["DATABASE_URL"] = f"{args.pg_server}/{database}"
    os.environ["MAILLAGE_DEBUG"] = "0"
    os.environ.setdefault("MAILLAGE_SECRET_KEY", "bench-only-not-a-secret")
    # In this process: local cache and jobs run at once (emails go to the configured backend).
    os.environ.pop("REDIS_URL", None)
    os.environ.pop("MAILLAGE_TASKS_BACKEND", None)


def reuse_or_generate(
    generator, spec, *, rebuild: bool, label: str, database: str, rebuild_after_days: int
) -> dict:
    """Reuse the dataset `generator` (a *_dataset module) left in the database unless asked to
    rebuild it or it is older than `rebuild_after_days`; otherwise empty the database and
    generate it again."""
    from django.core.management import call_command
    from django.utils import timezone

    anchor = None if rebuild else generator.existing_anchor(spec)
    today = timezone.localdate()
    if anchor is not None and (today - anchor).days <= rebuild_after_days:
        print(f"Reusing the {label} of {anchor} in {database}.", flush=True)
        return {"reused": True, "anchor": anchor.isoformat()}
    print(f"Generating the {label} in {database}:", flush=True)
    call_command("flush", interactive=False, verbosity=0)
    data = generator.generate(spec)
    print(f"  done in {data['total_seconds']} s.", flush=True)
    return {"reused": False, **data}


def ensure_dataset(args: argparse.Namespace, spec) -> dict:
    import bookings_dataset

    return reuse_or_generate(
        bookings_dataset,
        spec,
        rebuild=args.rebuild,
        label="national dataset",
        database=PG_DATABASE,
        rebuild_after_days=REBUILD_AFTER_DAYS,
    )


def remove_run_leftovers(spec) -> None:
    """Bookings, tokens (and the audit of their creation) of earlier runs: the dataset's
    bookings have ids 1..occurrences."""
    from maillage.accounts.models import ApiToken
    from maillage.bookings.models import Booking
    from maillage.core.models import AuditEntry

    Booking.objects.filter(id__gt=spec.occurrences).delete()
    ApiToken.objects.filter(name="bench").delete()
    AuditEntry.objects.filter(action="token.create", details__name="bench").delete()


def database_info(connection) -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0].split()[0]
        settings = {}
        for name in ("shared_buffers", "work_mem", "synchronous_commit", "fsync", "jit"):
            cursor.execute(f"SHOW {name}")
            settings[name] = cursor.fetchone()[0]
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = cursor.fetchone()[0]
    return {"vendor": "postgresql", "version": version, "settings": settings, "size": size}


def summarize(times_ms: list[float]) -> dict:
    ordered = sorted(times_ms)
    if not ordered:
        return {"count": 0}
    return {
        "count": len(ordered),
        "p50_ms": round(percentile(ordered, 0.50), 3),
        "p95_ms": round(percentile(ordered, 0.95), 3),
        "p99_ms": round(percentile(ordered, 0.99), 3),
        "mean_ms": round(sum(ordered) / len(ordered), 3),
        "max_ms": round(ordered[-1], 3),
    }


# --------------------------------------------------------------------------------------------
# Free slots to book
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Wanted:
    resource_id: int
    start: dt.datetime
    end: dt.datetime
    booker_id: int


class SlotFinder:
    """Random free slots, inside bookable hours, of random public resources that need neither
    approval nor training: what a member books most of the time. Never twice the same time of
    one resource, and free in the database when drawn."""

    def __init__(self, rng: random.Random, spec):
        from maillage.bookings.models import Resource

        self.rng = rng
        self.resource_ids = list(
            Resource.objects.filter(
                is_active=True,
                place__is_published=True,
                audience=Resource.Audience.PUBLIC,
                requires_approval=False,
                training="",
            ).values_list("id", flat=True)
        )
        self.first_member = spec.places + 1
        self.members = spec.members
        self.taken: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {}

    def booker(self) -> int:
        return self.first_member + self.rng.randrange(self.members)

    def draw(self, count: int, booker_ids: list[int] | None = None) -> list[Wanted]:
        from maillage.bookings.models import Resource

        found: list[Wanted] = []
        while len(found) < count:
            batch = self.rng.sample(self.resource_ids, min(200, len(self.resource_ids)))
            resources = Resource.objects.select_related("place").prefetch_related(
                "place__hours", "place__seasons", "hours"
            )
            for resource in resources.filter(id__in=batch):
                slot = self._free_slot(resource)
                if slot is None:
                    continue
                booker = self.rng.choice(booker_ids) if booker_ids else self.booker()
                found.append(Wanted(resource.id, *slot, booker))
                if len(found) == count:
                    break
        return found

    def _free_slot(self, resource) -> tuple[dt.datetime, dt.datetime] | None:
        from django.utils import timezone

        from maillage.bookings import services
        from maillage.bookings.models import Occurrence
        from maillage.places.hours import intervals_on

        zone = zoneinfo.ZoneInfo(resource.place.time_zone)
        rules, seasons = services.bookable_rules(resource)
        minutes = max(resource.min_minutes, min(resource.max_minutes, self.rng.choice((60, 120))))
        duration = dt.timedelta(minutes=minutes)
        buffer = dt.timedelta(minutes=resource.buffer_minutes)
        today = timezone.now().astimezone(zone).date()
        for _attempt in range(10):
            day = today + dt.timedelta(days=self.rng.randint(1, min(60, resource.horizon_days - 1)))
            intervals = intervals_on(day, rules, seasons) if rules else [(dt.time(8), dt.time(20))]
            fitting = [
                (opens, closes)
                for opens, closes in intervals
                if dt.datetime.combine(day, opens) + duration <= dt.datetime.combine(day, closes)
            ]
            if not fitting:
                continue
            opens, closes = self.rng.choice(fitting)
            first = dt.datetime.combine(day, opens)
            steps = int(
                (dt.datetime.combine(day, closes) - duration - first).total_seconds() // 1800
            )
            local = first + dt.timedelta(minutes=30 * self.rng.randint(0, steps))
            start = local.replace(tzinfo=zone)
            end = start + duration
            taken = self.taken.setdefault(resource.id, [])
            if any(s < end + buffer and start < e + buffer for s, e in taken):
                continue
            if Occurrence.objects.filter(
                resource=resource,
                status__in=HOLDING,
                start__lt=end + buffer,
                held_until__gt=start,
            ).exists():
                continue
            taken.append((start, end))
            return start, end
        return None


# --------------------------------------------------------------------------------------------
# (a) Booking creation through the service
# --------------------------------------------------------------------------------------------


def book_through_service(wanted: list[Wanted], users: dict) -> tuple[list[float], Counter]:
    """Read the resource as the API does, then booking_create: per-call times and outcomes."""
    from django.core.exceptions import ValidationError

    from maillage.bookings.selectors import resource_with_place
    from maillage.bookings.services import BookingConflict, booking_create

    times, outcomes = [], Counter()
    for item in wanted:
        started = time.perf_counter()
        try:
            booking_create(
                resource=resource_with_place(item.resource_id),
                booker=users[item.booker_id],
                start=item.start,
                end=item.end,
                title="Banc d'essai",
            )
            outcomes["created"] += 1
        except BookingConflict:
            outcomes["conflict"] += 1
        except ValidationError as error:
            outcomes[f"invalid: {error.messages[0]}"] += 1
        times.append((time.perf_counter() - started) * 1000.0)
    return times, outcomes


def book_raw_sql(wanted: list[Wanted], booker_ids: dict) -> list[float]:
    """The floor: the conflict check and both INSERTs by hand, in one transaction each."""
    from django.db import connection, transaction

    times = []
    with connection.cursor() as cursor:
        for item in wanted:
            started = time.perf_counter()
            with transaction.atomic():
                cursor.execute(
                    'SELECT start, "end" FROM bookings_occurrence WHERE resource_id = %s'
                    " AND status IN ('pending', 'confirmed') AND start < %s AND held_until > %s"
                    " ORDER BY start LIMIT 1",
                    [item.resource_id, item.end, item.start],
                )
                if cursor.fetchone() is None:
                    cursor.execute(
                        "INSERT INTO bookings_booking (created_at, updated_at, resource_id,"
                        " booker_id, title, private, rrule, decision_note)"
                        " VALUES (now(), now(), %s, %s, 'Banc d''essai', false, '', '')"
                        " RETURNING id",
                        [item.resource_id, booker_ids[item.booker_id]],
                    )
                    booking_id = cursor.fetchone()[0]
                    cursor.execute(
                        "INSERT INTO bookings_occurrence (booking_id, resource_id, start,"
                        " \"end\", held_until, status) VALUES (%s, %s, %s, %s, %s, 'confirmed')",
                        [booking_id, item.resource_id, item.start, item.end, item.end],
                    )
            times.append((time.perf_counter() - started) * 1000.0)
    return times


def measure_service(args, finder: SlotFinder) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from maillage.accounts.models import User

    print(f"\n(a) {args.service} bookings through the service layer, one thread", flush=True)
    warmup = finder.draw(50)
    timed = finder.draw(args.service)
    floor = finder.draw(500)
    users = User.objects.in_bulk({w.booker_id for w in warmup + timed + floor})
    book_through_service(warmup, users)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    with CpuMeter() as cpu:
        times, outcomes = book_through_service(timed, users)
    elapsed = time.perf_counter() - started
    rate = outcomes["created"] / elapsed
    raw_times = book_raw_sql(floor, {u: u for u in users})
    result = {
        "bookings": args.service,
        "seconds": round(elapsed, 3),
        "per_second": round(rate, 1),
        "latency": summarize(times),
        "outcomes": dict(outcomes),
        "cpu_ms_per_booking": {
            name: value for name, value in cpu.per_request_ms(args.service).items() if name != "app"
        },
        "load_average_before": round(load, 2),
        "raw_sql_floor": {
            "bookings": len(floor),
            "per_second": round(len(floor) / (sum(raw_times) / 1000.0), 1),
            "latency": summarize(raw_times),
        },
    }
    # What one booking sends to the database.
    (sample,) = finder.draw(1)
    sample_users = User.objects.in_bulk([sample.booker_id])
    with CaptureQueriesContext(connection) as captured:
        book_through_service([sample], sample_users)
    result["queries_per_booking"] = [
        {"sql": q["sql"][:400], "ms": q["time"]} for q in captured.captured_queries
    ]
    if rate < TARGETS["service_per_s"]:
        profiled = finder.draw(500)
        profile_users = User.objects.in_bulk({w.booker_id for w in profiled})
        profiler = cProfile.Profile()
        profiler.enable()
        book_through_service(profiled, profile_users)
        profiler.disable()
        result["profile"] = profile_text(profiler)
    print(
        f"  {result['per_second']} bookings/s, p50 {result['latency']['p50_ms']} ms, "
        f"p95 {result['latency']['p95_ms']} ms; {len(result['queries_per_booking'])} queries "
        f"per booking; raw SQL floor {result['raw_sql_floor']['per_second']}/s; {dict(outcomes)};"
        f" CPU ms per booking {result['cpu_ms_per_booking']}",
        flush=True,
    )
    return result


def profile_text(profiler: cProfile.Profile) -> dict:
    out = {}
    for order in ("cumulative", "tottime"):
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream)
        stats.strip_dirs().sort_stats(order).print_stats(30)
        out[order] = stream.getvalue().splitlines()
    return out


# --------------------------------------------------------------------------------------------
# (b) Over HTTP
# --------------------------------------------------------------------------------------------


def cpu_seconds(pids: list[int], *, reaped_children: bool = False) -> float:
    """User + system CPU time of these processes (Linux /proc), in seconds; with
    `reaped_children`, plus that of their children which have ended."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process has ended
        total += int(fields[11]) + int(fields[12])  # utime, stime
        if reaped_children:
            total += int(fields[13]) + int(fields[14])  # cutime, cstime
    return total / ticks


def database_backends() -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend connected to the benchmark's database (other
    databases on the server may be busy with other work)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        pids = [row[0] for row in cursor.fetchall()]
    return {pid: cpu_seconds([pid]) for pid in pids}


class CpuMeter:
    """CPU spent by the app server, the PostgreSQL backends of the benchmark's database and this
    process between start and stop: on 2 cores, tells whether a rate is bound by the CPU, and
    by whose."""

    def __init__(self, server: "Server | None" = None):
        self.server = server

    def read(self) -> tuple[float, dict[int, float], float]:
        app = self.server.cpu_seconds() if self.server else 0.0
        return app, database_backends(), time.process_time()

    def __enter__(self) -> "CpuMeter":
        self.before = self.read()
        return self

    def __exit__(self, *exc):
        app, backends, bench = self.read()
        # A backend opened meanwhile (a recycled worker's) counts from its start.
        postgres = sum(cpu - self.before[1].get(pid, 0.0) for pid, cpu in backends.items())
        self.spent = {
            "app": round(app - self.before[0], 3),
            "postgres": round(postgres, 3),
            "bench": round(bench - self.before[2], 3),
        }

    def per_request_ms(self, requests: int) -> dict:
        return {name: round(1000 * seconds / requests, 3) for name, seconds in self.spent.items()}


class Server:
    """gunicorn with the deploy configuration, on the bench database, DEBUG and MFA off."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.redis = redis_reachable(args.redis_url)
        self.process = None

    def environment(self) -> dict:
        env = dict(os.environ)
        env.update(
            {
                "MAILLAGE_BIND": f"127.0.0.1:{self.port}",
                "MAILLAGE_WORKERS": str(self.args.workers),
                "MAILLAGE_THREADS": str(self.args.threads),
                "MAILLAGE_MFA_REQUIRED": "0",
                "MAILLAGE_DEBUG": "0",
                # The benchmark books thousands of slots a minute from a few accounts.
                "MAILLAGE_RATE_BOOKINGS_PER_ACCOUNT": "1000000/1m",
            }
        )
        if self.redis:
            env["REDIS_URL"] = self.args.redis_url
        return env

    def __enter__(self) -> "Server":
        LOG_PATH.parent.mkdir(parents=True, exist_ok=True)
        self.log = LOG_PATH.open("w")
        gunicorn = Path(sys.executable).parent / "gunicorn"
        self.process = subprocess.Popen(
            [str(gunicorn), "-c", str(ROOT / "deploy" / "gunicorn.conf.py")],
            cwd=ROOT,
            env=self.environment(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        answer = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn stopped; see {LOG_PATH}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/healthz")
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    return self
                answer = f"status {status}"
            except OSError as error:
                answer = str(error)
            time.sleep(0.3)
        self.__exit__()
        raise SystemExit(f"gunicorn: /healthz gave {answer} for 60 s; see {LOG_PATH}")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def cpu_seconds(self) -> float:
        """The master, its live workers and the workers it recycled (max_requests)."""
        return cpu_seconds([self.process.pid], reaped_children=True) + cpu_seconds(
            self.worker_pids()
        )

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def redis_reachable(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


class Client:
    """One keep-alive connection; reconnects when the server closed it (worker recycling)."""

    def __init__(self, port: int):
        self.port = port
        self.conn = None
        self.reconnects = 0

    def post(self, path: str, payload: dict, token: str) -> tuple[int, float, bytes]:
        return self.request("POST", path, payload, token)

    def request(
        self, method: str, path: str, payload: dict | None = None, token: str | None = None
    ) -> tuple[int, float, bytes]:
        """Status, milliseconds and body of one request (JSON in, with a Bearer token if given)."""
        body = json.dumps(payload).encode() if payload is not None else None
        headers = {"Host": "127.0.0.1", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            started = time.perf_counter()
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                content = response.read()
            except (http.client.RemoteDisconnected, ConnectionError, BrokenPipeError):
                self.conn.close()
                self.conn = None
                self.reconnects += 1
                if attempt == 2:
                    raise
                continue
            elapsed = (time.perf_counter() - started) * 1000.0
            if response.getheader("Connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
            return response.status, elapsed, content
        raise AssertionError("unreachable")

    def close(self):
        if self.conn is not None:
            self.conn.close()


def booking_payload(item: Wanted) -> dict:
    return {
        "resource": item.resource_id,
        "start": item.start.isoformat(),
        "end": item.end.isoformat(),
        "title": "Banc d'essai",
        "private": False,
    }


def tokens_for(user_ids: list[int]) -> dict[int, str]:
    from maillage.accounts.models import User
    from maillage.accounts.services import api_token_create

    users = User.objects.in_bulk(user_ids)
    return {pk: api_token_create(user=users[pk], name="bench")[1] for pk in user_ids}


def endpoint_missing(port: int, token: str) -> str | None:
    """Why POST /api/v1/bookings cannot be measured, or None when it answers like the contract."""
    status, _ms, content = Client(port).post("/api/v1/bookings", {}, token)
    if status in (404, 405):
        return f"POST /api/v1/bookings answers {status}: the endpoint is not there yet"
    if status >= 500:
        return f"POST /api/v1/bookings answers {status}: {content[:200]!r}"
    return None


def http_burst(port: int, wanted: list[Wanted], tokens: dict, clients: int):
    """Send every booking from `clients` connections at once; per-request results."""
    queues = [wanted[i::clients] for i in range(clients)]
    results: list[list[tuple[int, float]]] = [[] for _ in range(clients)]
    reconnects = [0] * clients
    barrier = threading.Barrier(clients + 1)

    def run(index: int):
        client = Client(port)
        barrier.wait()
        for item in queues[index]:
            status, elapsed, _content = client.post(
                "/api/v1/bookings", booking_payload(item), tokens[item.booker_id]
            )
            results[index].append((status, elapsed))
        reconnects[index] = client.reconnects
        client.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    flat = [item for per_client in results for item in per_client]
    return flat, elapsed, sum(reconnects)


def measure_http(args, finder: SlotFinder, server: Server, tokens: dict) -> dict:
    print(
        f"\n(b) {args.http} bookings over HTTP: gunicorn {args.workers} workers x "
        f"{args.threads} threads, {args.clients} keep-alive client connections",
        flush=True,
    )
    booker_ids = list(tokens)
    warmup = finder.draw(200, booker_ids)
    timed = finder.draw(args.http, booker_ids)
    http_burst(server.port, warmup, tokens, args.clients)
    load = os.getloadavg()[0]
    workers_before = set(server.worker_pids())
    with CpuMeter(server) as cpu:
        flat, elapsed, reconnects = http_burst(server.port, timed, tokens, args.clients)
    recycled = len(workers_before - set(server.worker_pids()))
    statuses = Counter(status for status, _ms in flat)
    created = [ms for status, ms in flat if status == 201]
    result = {
        "bookings": args.http,
        "clients": args.clients,
        "workers": args.workers,
        "threads": args.threads,
        "redis": server.redis,
        "seconds": round(elapsed, 3),
        "per_second": round(len(created) / elapsed, 1),
        "latency": summarize([ms for _status, ms in flat]),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "reconnects": reconnects,
        "workers_recycled": recycled,
        "cpu_ms_per_request": cpu.per_request_ms(len(flat)),
        "cpu_busy_share": round(sum(cpu.spent.values()) / (elapsed * (os.cpu_count() or 1)), 2),
        "load_average_before": round(load, 2),
    }
    print(
        f"  {result['per_second']} bookings/s, p50 {result['latency']['p50_ms']} ms, "
        f"p95 {result['latency']['p95_ms']} ms; statuses {result['statuses']}; CPU ms per "
        f"request {result['cpu_ms_per_request']}, CPUs busy {result['cpu_busy_share']:.0%}",
        flush=True,
    )
    return result


# --------------------------------------------------------------------------------------------
# (c) Races
# --------------------------------------------------------------------------------------------


def race_service(args, finder: SlotFinder, booker_ids: list[int]) -> dict:
    """`race_threads` threads, each with its own database connection, book the same slot at the
    same instant, for `race_rounds` different slots."""
    from django.core.exceptions import ValidationError
    from django.db import connection

    from maillage.accounts.models import User
    from maillage.bookings.models import Resource
    from maillage.bookings.services import BookingConflict, booking_create

    rounds = finder.draw(args.race_rounds)
    users = User.objects.in_bulk(booker_ids[: args.race_threads])
    bookers = list(users.values())
    outcomes = [Counter() for _ in rounds]
    slowest = [0.0 for _ in rounds]
    lock = threading.Lock()
    barrier = threading.Barrier(args.race_threads)

    def run(index: int):
        try:
            for number, item in enumerate(rounds):
                resource = Resource.objects.select_related("place").get(pk=item.resource_id)
                barrier.wait()
                started = time.perf_counter()
                try:
                    booking_create(
                        resource=resource,
                        booker=bookers[index],
                        start=item.start,
                        end=item.end,
                        title="Course",
                    )
                    outcome = "created"
                except BookingConflict:
                    outcome = "conflict"
                except ValidationError as error:
                    outcome = f"invalid: {error.messages[0]}"
                except Exception as error:  # every failure is a result here
                    first_line = str(error).splitlines()[0] if str(error) else ""
                    outcome = f"error: {type(error).__name__}: {first_line}"
                elapsed = (time.perf_counter() - started) * 1000.0
                with lock:
                    outcomes[number][outcome] += 1
                    slowest[number] = max(slowest[number], elapsed)
        finally:
            connection.close()

    print(
        f"\n(c) race through the service: {args.race_threads} threads x {args.race_rounds} rounds",
        flush=True,
    )
    threads = [threading.Thread(target=run, args=(i,)) for i in range(args.race_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return race_summary(rounds, outcomes, slowest, created_key="created")


def race_http(args, finder: SlotFinder, server: Server, tokens: dict) -> dict:
    rounds = finder.draw(args.race_rounds)
    booker_ids = list(tokens)[: args.race_threads]
    outcomes = [Counter() for _ in rounds]
    slowest = [0.0 for _ in rounds]
    lock = threading.Lock()
    barrier = threading.Barrier(len(booker_ids))

    def run(index: int):
        client = Client(server.port)
        token = tokens[booker_ids[index]]
        for number, item in enumerate(rounds):
            barrier.wait()
            started = time.perf_counter()
            try:
                status, _ms, content = client.post("/api/v1/bookings", booking_payload(item), token)
                outcome = str(status)
                if status == 409:
                    # A taken slot names the slot in the way; a lock or deadlock gives no details.
                    details = json.loads(content).get("details")
                    outcome = "409 taken" if details else "409 busy, try again"
            except OSError as error:
                outcome = f"error: {type(error).__name__}"
            elapsed = (time.perf_counter() - started) * 1000.0
            with lock:
                outcomes[number][outcome] += 1
                slowest[number] = max(slowest[number], elapsed)
        client.close()

    print(
        f"\n(c) race over HTTP: {len(booker_ids)} connections x {args.race_rounds} rounds",
        flush=True,
    )
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(booker_ids))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return race_summary(rounds, outcomes, slowest, created_key="201")


def race_summary(
    rounds: list[Wanted], outcomes: list[Counter], slowest: list[float], created_key: str
) -> dict:
    """Per round: successes, held rows for the slot, outcomes, and the slowest call (ms)."""
    from maillage.bookings.models import Occurrence

    per_round = []
    for item, counter in zip(rounds, outcomes, strict=True):
        rows = Occurrence.objects.filter(
            resource_id=item.resource_id, start=item.start, status__in=HOLDING
        ).count()
        per_round.append({"successes": counter[created_key], "rows": rows, **counter})
    totals = Counter()
    for counter in outcomes:
        totals.update(counter)
    successes = [r["successes"] for r in per_round]
    result = {
        "rounds": len(rounds),
        "successes_per_round": successes,
        "rows_per_round": [r["rows"] for r in per_round],
        "outcomes": dict(totals),
        "every_round_exactly_one": all(s == 1 for s in successes)
        and all(r["rows"] == 1 for r in per_round),
        "overlapping_rows": overlapping_rows([item.resource_id for item in rounds]),
        "slowest_call_ms_per_round": [round(ms, 1) for ms in slowest],
        "slowest_call_ms": summarize(slowest),
    }
    print(
        f"  successes per round {successes}; outcomes {dict(totals)}; overlapping rows "
        f"{result['overlapping_rows']}; slowest call of a round: median "
        f"{result['slowest_call_ms']['p50_ms']:.0f} ms, max {max(slowest):.0f} ms",
        flush=True,
    )
    return result


def overlapping_rows(resource_ids: list[int]) -> int:
    """Pairs of held slots of one resource that overlap, by a self-join (buffers included)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM bookings_occurrence a JOIN bookings_occurrence b"
            " ON a.resource_id = b.resource_id AND a.id < b.id"
            " AND a.start < b.held_until AND b.start < a.held_until"
            " WHERE a.resource_id = ANY(%s) AND a.status IN ('pending', 'confirmed')"
            " AND b.status IN ('pending', 'confirmed')",
            [resource_ids],
        )
        return cursor.fetchone()[0]


def overlaps_everywhere() -> dict:
    """Every held slot against the latest end of the held slots before it, resource by resource:
    an overlap anywhere in the table shows up, in one sort."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FILTER (WHERE start < previous_end), COUNT(*) FROM ("
            " SELECT start, MAX(held_until) OVER (PARTITION BY resource_id ORDER BY start, id"
            " ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS previous_end"
            " FROM bookings_occurrence WHERE status IN ('pending', 'confirmed')) AS held"
        )
        overlapping, held = cursor.fetchone()
    return {
        "held_slots": held,
        "overlapping": overlapping,
        "seconds": round(time.perf_counter() - started, 2),
    }


# --------------------------------------------------------------------------------------------
# (d) Availability search
# --------------------------------------------------------------------------------------------

# The same search by hand, in two shapes, both giving the selector's answer in its order
# (distance, place, capacity, name, id). Hours are checked in SQL with the service's rules
# (services.bookable_rules and within_bookable_hours): the resource's own hours when it has some
# (the place's closed seasons still close it); else the place's hours of the season that governs
# the day (the shortest covering season; a closed one closes); any time when the place has no
# hours at all. Trainings as selectors.holds_training. The "free" test uses the GiST index of the
# exclusion constraint (range overlap), buffers included.
COVERS = """(CASE WHEN s.yearly THEN
    CASE WHEN (EXTRACT(MONTH FROM s.start_date) * 100 + EXTRACT(DAY FROM s.start_date))
           <= (EXTRACT(MONTH FROM s.end_date) * 100 + EXTRACT(DAY FROM s.end_date))
      THEN loc.md BETWEEN EXTRACT(MONTH FROM s.start_date) * 100 + EXTRACT(DAY FROM s.start_date)
                      AND EXTRACT(MONTH FROM s.end_date) * 100 + EXTRACT(DAY FROM s.end_date)
      ELSE loc.md >= EXTRACT(MONTH FROM s.start_date) * 100 + EXTRACT(DAY FROM s.start_date)
        OR loc.md <= EXTRACT(MONTH FROM s.end_date) * 100 + EXTRACT(DAY FROM s.end_date) END
  ELSE loc.day BETWEEN s.start_date AND s.end_date END)"""
SEASON_LENGTH = """(CASE WHEN s.yearly THEN
    MOD(MOD(make_date(2001, EXTRACT(MONTH FROM s.end_date)::int,
        CASE WHEN EXTRACT(MONTH FROM s.end_date) = 2
          THEN LEAST(EXTRACT(DAY FROM s.end_date)::int, 28)
          ELSE EXTRACT(DAY FROM s.end_date)::int END)
      - make_date(2001, EXTRACT(MONTH FROM s.start_date)::int,
        CASE WHEN EXTRACT(MONTH FROM s.start_date) = 2
          THEN LEAST(EXTRACT(DAY FROM s.start_date)::int, 28)
          ELSE EXTRACT(DAY FROM s.start_date)::int END), 365) + 365, 365)
  ELSE s.end_date - s.start_date END)"""
# Published places in the bounding box, with their distance.
PLACES_IN_BOX = """SELECT pl.id, pl.time_zone, %(diameter)s * ASIN(SQRT(
    POWER(SIN(RADIANS(pl.latitude - %(lat)s) / 2), 2)
    + %(cos_lat)s * COS(RADIANS(pl.latitude)) * POWER(SIN(RADIANS(pl.longitude - %(lon)s) / 2), 2)
  )) AS km
  FROM places_place pl
  WHERE pl.is_published AND pl.latitude BETWEEN %(lat_min)s AND %(lat_max)s
    AND pl.longitude BETWEEN %(west)s AND %(east)s"""
# The window in the place's local time, and the season that governs its day.
LOCAL_TIME = f"""CROSS JOIN LATERAL (
  SELECT local_start::date AS day, local_start::time AS t0, local_end::time AS t1,
         EXTRACT(ISODOW FROM local_start)::int - 1 AS weekday,
         EXTRACT(MONTH FROM local_start) * 100 + EXTRACT(DAY FROM local_start) AS md,
         local_start::date = local_end::date AS same_day
  FROM (SELECT %(start)s::timestamptz AT TIME ZONE p.time_zone AS local_start,
               %(end)s::timestamptz AT TIME ZONE p.time_zone AS local_end) AS instants
) loc
LEFT JOIN LATERAL (
  SELECT s.id, s.closed FROM places_season s WHERE s.place_id = p.id AND {COVERS}
  ORDER BY {SEASON_LENGTH}, s.id LIMIT 1
) governing ON true"""
# Everything a resource `r` of place `p` must pass.
RESOURCE_IS_FREE = f"""r.is_active
  AND r.capacity >= %(min_capacity)s
  AND (%(kind)s = '' OR r.kind = %(kind)s)
  AND NOT EXISTS (
    SELECT 1 FROM unnest(%(services)s::text[]) AS wanted(code)
    WHERE NOT EXISTS (SELECT 1 FROM bookings_resourceterm t
                      WHERE t.resource_id = r.id AND t.kind = 'service' AND t.code = wanted.code))
  AND (%(network)s = '' OR EXISTS (
    SELECT 1 FROM places_place_networks pn JOIN places_network n ON n.id = pn.network_id
    WHERE pn.place_id = p.id AND n.slug = %(network)s))
  AND (r.audience = 'public' OR EXISTS (
    SELECT 1 FROM accounts_placerole pr WHERE pr.place_id = p.id AND pr.user_id = %(user)s))
  AND (r.training = '' OR EXISTS (
    SELECT 1 FROM bookings_trainingvalidation tv
    WHERE tv.user_id = %(user)s AND tv.machine_type = r.training
    AND (tv.expires_on IS NULL OR tv.expires_on >= loc.day)
    AND (tv.place_id = p.id OR tv.place_id IN (
      SELECT other.place_id FROM places_place_networks mine
      JOIN places_place_networks other ON other.network_id = mine.network_id
      WHERE mine.place_id = p.id))))
  AND r.min_minutes <= %(minutes)s AND r.max_minutes >= %(minutes)s
  AND %(start)s::timestamptz <= now() + r.horizon_days * interval '1 day'
  AND %(start)s::timestamptz >= now()
  AND loc.same_day
  AND CASE
    WHEN EXISTS (SELECT 1 FROM bookings_resourcehours rh WHERE rh.resource_id = r.id) THEN
      NOT EXISTS (SELECT 1 FROM places_season s WHERE s.place_id = p.id AND s.closed AND {COVERS})
      AND EXISTS (SELECT 1 FROM bookings_resourcehours rh WHERE rh.resource_id = r.id
                  AND rh.weekday = loc.weekday AND rh.opens <= loc.t0 AND rh.closes >= loc.t1)
    WHEN NOT EXISTS (SELECT 1 FROM places_openinghours h WHERE h.place_id = p.id) THEN true
    ELSE NOT COALESCE(governing.closed, false) AND EXISTS (
      SELECT 1 FROM places_openinghours h WHERE h.place_id = p.id
      AND h.season_id IS NOT DISTINCT FROM governing.id
      AND h.weekday = loc.weekday AND h.opens <= loc.t0 AND h.closes >= loc.t1)
  END
  AND NOT EXISTS (
    SELECT 1 FROM bookings_occurrence o
    WHERE o.resource_id = r.id AND o.status IN ('pending', 'confirmed')
    AND tstzrange(o.start, o.held_until, '[)')
        && tstzrange(%(start)s::timestamptz,
                     %(end)s::timestamptz + r.buffer_minutes * interval '1 minute', '[)'))"""
# (b) A plain join: every resource of the circle is checked, then sorted.
RAW_WHOLE_CIRCLE = f"""SELECT r.id, p.km
FROM ({PLACES_IN_BOX}) p
JOIN bookings_resource r ON r.place_id = p.id
{LOCAL_TIME}
WHERE p.km <= %(radius)s AND {RESOURCE_IS_FREE}
ORDER BY p.km, p.id, r.capacity, r.name, r.id
LIMIT %(limit)s"""
# (c) Nearest places first: the places of the circle sorted by distance (OFFSET 0 keeps the
# subquery, hence its order), each place's free resources joined laterally; an incremental sort
# under the LIMIT stops as soon as enough resources are found.
RAW_NEAREST_FIRST = f"""SELECT found.id, p.km
FROM (
  SELECT * FROM ({PLACES_IN_BOX}) AS in_box WHERE km <= %(radius)s ORDER BY km, id OFFSET 0
) p
CROSS JOIN LATERAL (
  SELECT r.id, r.capacity, r.name FROM bookings_resource r
  {LOCAL_TIME}
  WHERE r.place_id = p.id AND {RESOURCE_IS_FREE}
) found
ORDER BY p.km, p.id, found.capacity, found.name, found.id
LIMIT %(limit)s"""
RAW_QUERIES = {"raw_circle": RAW_WHOLE_CIRCLE, "raw_nearest": RAW_NEAREST_FIRST}
VARIANTS = {
    "selector": "(a) selector `available_resources` (ORM + Python checks)",
    "raw_circle": "(b) raw SQL, whole circle then sort",
    "raw_nearest": "(c) raw SQL, nearest places first (ceiling)",
}


@dataclass(frozen=True)
class Search:
    lat: float
    lon: float
    start: dt.datetime
    kind: str = ""
    min_capacity: int = 1
    services: tuple[str, ...] = ()


SERIES = {
    "any": "any resource free for 2 hours within 50 km",
    "room8_visio": "a meeting room for 8 with visio, free for 2 hours within 50 km",
}


def searches(rng: random.Random, count: int, series: str) -> list[Search]:
    """Points near random places of the dataset (Gaussian jitter of 5 km); a 2-hour window on a
    random weekday of the next 8 weeks, starting between 9:00 and 15:00."""
    import dataset
    from django.utils import timezone

    from maillage.places.models import Place

    zone = zoneinfo.ZoneInfo("Europe/Paris")
    coordinates = list(Place.objects.values_list("latitude", "longitude"))
    today = timezone.now().astimezone(zone).date()
    found = []
    while len(found) < count:
        day = today + dt.timedelta(days=rng.randint(1, 56))
        if day.weekday() >= 5:
            continue
        lat, lon = dataset.jitter(rng, *rng.choice(coordinates), 5.0)
        start = dt.datetime.combine(day, dt.time(rng.randint(9, 15)), zone)
        if series == "any":
            found.append(Search(lat, lon, start))
        else:
            found.append(Search(lat, lon, start, "meeting_room", 8, ("visio_room",)))
    return found


def raw_params(search: Search, user_id: int, limit: int) -> dict:
    """Parameters of the raw queries, with the bounding box of the circle (mainland France:
    no pole, no antimeridian)."""
    from maillage.places.selectors import EARTH_RADIUS_KM

    angle = RADIUS_KM / EARTH_RADIUS_KM
    dlat = math.degrees(angle) + 1e-7
    dlon = math.degrees(math.asin(math.sin(angle) / math.cos(math.radians(search.lat)))) + 1e-7
    return {
        "diameter": 2 * EARTH_RADIUS_KM,
        "lat": search.lat,
        "lon": search.lon,
        "cos_lat": math.cos(math.radians(search.lat)),
        "lat_min": search.lat - dlat,
        "lat_max": search.lat + dlat,
        "west": search.lon - dlon,
        "east": search.lon + dlon,
        "radius": RADIUS_KM,
        "start": search.start,
        "end": search.start + WINDOW,
        "minutes": int(WINDOW.total_seconds() // 60),
        "kind": search.kind,
        "min_capacity": search.min_capacity,
        "services": list(search.services),
        "network": "",
        "user": user_id,
        "limit": limit,
    }


def availability_user(spec):
    """A member of two places who holds a training: the search shows them members-only
    resources of their places and the machines they may use."""
    from django.db.models import Count

    from maillage.accounts.models import User
    from maillage.bookings.models import TrainingValidation

    trained = TrainingValidation.objects.filter(expires_on__isnull=True).values("user_id")
    return (
        User.objects.filter(id__gt=spec.places, id__in=trained)
        .annotate(places=Count("place_roles"))
        .order_by("-places", "id")
        .first()
    )


def run_selector(search: Search, user, limit: int) -> list[tuple[int, float]]:
    from maillage.bookings.selectors import AvailabilityQuery, available_resources
    from maillage.places.selectors import Point

    query = AvailabilityQuery(
        start=search.start,
        end=search.start + WINDOW,
        kind=search.kind,
        min_capacity=search.min_capacity,
        near=Point(search.lat, search.lon),
        radius_km=RADIUS_KM,
        services=search.services,
    )
    return [(a.resource.id, a.distance_km) for a in available_resources(query, user, limit=limit)]


def run_raw(cursor, sql: str, search: Search, user_id: int, limit: int) -> list:
    cursor.execute(sql, raw_params(search, user_id, limit))
    return cursor.fetchall()


def in_radius(cursor, search: Search) -> int:
    """Active resources of published places within the radius: what the search sifts."""
    cursor.execute(
        "SELECT COUNT(*) FROM bookings_resource r JOIN places_place p ON p.id = r.place_id"
        " WHERE p.is_published AND r.is_active"
        " AND p.latitude BETWEEN %(lat_min)s AND %(lat_max)s"
        " AND p.longitude BETWEEN %(west)s AND %(east)s"
        " AND %(diameter)s * ASIN(SQRT(POWER(SIN(RADIANS(p.latitude - %(lat)s) / 2), 2)"
        " + %(cos_lat)s * COS(RADIANS(p.latitude))"
        " * POWER(SIN(RADIANS(p.longitude - %(lon)s) / 2), 2))) <= %(radius)s",
        raw_params(search, 0, 0),
    )
    return cursor.fetchone()[0]


def same_answer(selector: list, raw: list) -> bool:
    return [pk for pk, _km in selector] == [pk for pk, _km in raw] and all(
        math.isclose(a, b, abs_tol=1e-9) for (_x, a), (_y, b) in zip(selector, raw, strict=True)
    )


def explain(cursor, sql: str, params=None) -> list[str]:
    cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
    return [row[0] for row in cursor.fetchall()]


def mismatch(search: Search, name: str, selector: list, raw: list) -> dict:
    selector_ids, raw_ids = {pk for pk, _km in selector}, {pk for pk, _km in raw}
    return {
        "search": repr(search),
        "variant": name,
        "selector_only": sorted(selector_ids - raw_ids)[:20],
        "raw_only": sorted(raw_ids - selector_ids)[:20],
        "selector": len(selector),
        "raw": len(raw),
    }


def measure_series(args, rng, user, series: str, connection) -> dict:
    """Time the three variants on the same searches, in rotating order, and check that they
    give the same answer: whole answers (no limit) on the warm-up searches, the first 50 on
    every timed one."""
    from django.test.utils import CaptureQueriesContext

    limit = 50
    points = searches(rng, args.warmup + args.queries, series)
    warmup, timed = points[: args.warmup], points[args.warmup :]
    names = list(VARIANTS)
    with connection.cursor() as cursor:

        def run(name: str, search: Search, limit: int) -> list:
            if name == "selector":
                return run_selector(search, user, limit)
            return run_raw(cursor, RAW_QUERIES[name], search, user.pk, limit)

        full_mismatches = []
        for search in warmup:
            selector = run("selector", search, 100_000)
            for name in RAW_QUERIES:
                raw = run(name, search, 100_000)
                if not same_answer(selector, raw):
                    full_mismatches.append(mismatch(search, name, selector, raw))
        times: dict[str, list[float]] = {name: [] for name in names}
        found, mismatches, sifted = [], [], []
        for index, search in enumerate(timed):
            shift = index % len(names)
            answers = {}
            for name in names[shift:] + names[:shift]:
                started = time.perf_counter()
                answers[name] = run(name, search, limit)
                times[name].append((time.perf_counter() - started) * 1000.0)
            for name in RAW_QUERIES:
                if not same_answer(answers["selector"], answers[name]):
                    mismatches.append(mismatch(search, name, answers["selector"], answers[name]))
            found.append(len(answers["selector"]))
            sifted.append(in_radius(cursor, search))
        by_time = sorted(range(len(timed)), key=lambda i: times["selector"][i])
        plans = {}
        for label, position in (("typical", len(by_time) // 2), ("slowest", -1)):
            search = timed[by_time[position]]
            with CaptureQueriesContext(connection) as captured:
                run_selector(search, user, limit)
            queries = captured.captured_queries
            main = max(queries, key=lambda q: float(q["time"]))
            plans[label] = {
                "search": repr(search),
                "resources_in_radius": in_radius(cursor, search),
                "selector_queries": [{"sql": q["sql"], "ms": q["time"]} for q in queries],
                "selector_main_query_plan": explain(cursor, main["sql"]),
                **{
                    f"{name}_plan": explain(cursor, sql, raw_params(search, user.pk, limit))
                    for name, sql in RAW_QUERIES.items()
                },
            }
    ordered_sifted = sorted(sifted)
    return {
        "label": SERIES[series],
        "queries": len(timed),
        "variants": {name: summarize(times[name]) for name in names},
        "avg_results": round(sum(found) / len(found), 1),
        "resources_in_radius": {
            "p50": percentile(ordered_sifted, 0.5),
            "p95": percentile(ordered_sifted, 0.95),
            "max": ordered_sifted[-1],
        },
        "mismatch_count": len(mismatches),
        "mismatches": mismatches[:5],
        "full_answers_checked": len(warmup),
        "full_answer_mismatch_count": len(full_mismatches),
        "full_answer_mismatches": full_mismatches[:5],
        "plans": plans,
    }


def measure_availability(args, spec) -> dict:
    from django.db import connection

    from maillage.bookings import selectors

    if not hasattr(selectors, "available_resources"):
        print("\n(d) skipped: selectors.available_resources is not there yet", flush=True)
        return {"skipped": "selectors.available_resources is missing"}
    user = availability_user(spec)
    rng = random.Random(args.seed + 4)
    result = {"user": user.email, "radius_km": RADIUS_KM, "window_hours": 2, "series": {}}
    for series in SERIES:
        print(f"\n(d) availability: {SERIES[series]}, {args.queries} searches", flush=True)
        measured = measure_series(args, rng, user, series, connection)
        result["series"][series] = measured
        variants = measured["variants"]
        print(
            "  "
            + "; ".join(
                f"{name} p50 {variants[name]['p50_ms']} ms, p95 {variants[name]['p95_ms']} ms"
                for name in VARIANTS
            )
            + f"; {measured['avg_results']} results; "
            f"{measured['resources_in_radius']['p50']:.0f} resources in the circle (p50); "
            f"different answers {measured['mismatch_count']} (first 50), "
            f"{measured['full_answer_mismatch_count']} (whole, {measured['full_answers_checked']}"
            " searches x 2 raw variants)",
            flush=True,
        )
    return result


# --------------------------------------------------------------------------------------------
# Run and report
# --------------------------------------------------------------------------------------------


def run_http_measures(args, finder: SlotFinder, result: dict) -> None:
    server = Server(args)
    booker_ids = [finder.booker() for _ in range(max(64, args.race_threads))]
    booker_ids = list(dict.fromkeys(booker_ids))
    tokens = tokens_for(booker_ids)
    with server:
        missing = endpoint_missing(server.port, next(iter(tokens.values())))
        if missing:
            print(f"\n(b) and HTTP race skipped: {missing}", flush=True)
            result["http"] = result["race_http"] = {"skipped": missing}
            return
        if "http" in args.only:
            result["http"] = measure_http(args, finder, server, tokens)
        if "race" in args.only:
            result["race_http"] = race_http(args, finder, server, tokens)


def yes_no(ok: bool) -> str:
    return "yes" if ok else "NO"


def markdown(result: dict) -> str:
    lines = [
        "| measure | result | target | Indico 3.2.9 | met |",
        "|---|---|---|---|---|",
    ]
    service = result.get("service")
    if service:
        latency = service["latency"]
        lines.append(
            f"| booking creation, service layer, 1 thread ({service['bookings']}) "
            f"| **{service['per_second']:.0f}/s** (p50 {latency['p50_ms']:.2f} ms, p95 "
            f"{latency['p95_ms']:.2f} ms) | ≥ {TARGETS['service_per_s']}/s "
            f"| {INDICO['service_per_s']}/s (ORM, 1 thread) "
            f"| {yes_no(service['per_second'] >= TARGETS['service_per_s'])} |"
        )
        floor = service["raw_sql_floor"]
        lines.append(
            f"| same, raw SQL transaction (check + 2 INSERTs + COMMIT), floor "
            f"| {floor['per_second']:.0f}/s (p50 {floor['latency']['p50_ms']:.2f} ms) | | | |"
        )
    http = result.get("http")
    if http and "skipped" not in http:
        latency = http["latency"]
        lines.append(
            f"| booking creation over HTTP ({http['bookings']}, gunicorn {http['workers']}×"
            f"{http['threads']}, {http['clients']} connections) "
            f"| **{http['per_second']:.0f}/s** (p50 {latency['p50_ms']:.2f} ms, p95 "
            f"{latency['p95_ms']:.2f} ms) | ≥ {TARGETS['http_per_s']}/s | – "
            f"| {yes_no(http['per_second'] >= TARGETS['http_per_s'])} |"
        )
    elif http:
        lines.append(f"| booking creation over HTTP | skipped: {http['skipped']} | | | |")
    for key, label in (("race_service", "service"), ("race_http", "HTTP")):
        race = result.get(key)
        if race and "skipped" not in race:
            rounds = race["successes_per_round"]
            exact = sum(1 for n in rounds if n == 1)
            lines.append(
                f"| race, {label}: {result['args']['race_threads']} at once × {race['rounds']} "
                f"rounds | exactly one success in {exact}/{len(rounds)} rounds; outcomes "
                f"{race['outcomes']}; overlapping rows {race['overlapping_rows']}; slowest call "
                f"per round median {race['slowest_call_ms']['p50_ms']:.0f} ms, max "
                f"{race['slowest_call_ms']['max_ms']:.0f} ms "
                f"| exactly 1 | double-booked | {yes_no(race['every_round_exactly_one'])} |"
            )
    availability = result.get("availability", {})
    for series in availability.get("series", {}).values():
        for name, label in VARIANTS.items():
            stats = series["variants"][name]
            selector = name == "selector"
            target = f"p95 ≤ {TARGETS['availability_p95_ms']:g} ms" if selector else ""
            indico = (
                f"p95 {INDICO['availability_p95_ms']} ms over {INDICO['availability_rooms']} rooms"
                if selector
                else ""
            )
            met = yes_no(stats["p95_ms"] <= TARGETS["availability_p95_ms"]) if selector else ""
            lines.append(
                f"| availability: {series['label']}; {label} | p50 {stats['p50_ms']:.2f} ms, "
                f"**p95 {stats['p95_ms']:.2f} ms** | {target} | {indico} | {met} |"
            )
    overlaps = result.get("overlaps")
    if overlaps:
        lines.append(
            f"| overlapping held slots in the whole table ({overlaps['held_slots']:,} held) "
            f"| {overlaps['overlapping']} | 0 | | {yes_no(overlaps['overlapping'] == 0)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    prepare_database(args)
    import django

    django.setup()
    import bookings_dataset
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", interactive=False, verbosity=0)
    spec = bookings_dataset.Spec(seed=args.seed).scaled(args.scale)
    data = ensure_dataset(args, spec)
    remove_run_leftovers(spec)
    load_before = os.getloadavg()
    if load_before[0] > 1.0:
        print(f"Warning: load average {load_before[0]:.2f}; timings may be skewed.", flush=True)
    finder = SlotFinder(random.Random(args.seed), spec)
    result = {
        "database": PG_DATABASE,
        "db": database_info(connection),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "spec": vars(spec),
        "dataset": data,
        "args": vars(args),
        "targets": TARGETS,
        "indico": INDICO,
    }
    started = time.perf_counter()
    try:
        if "availability" in args.only:
            result["availability"] = measure_availability(args, spec)
        if "service" in args.only:
            result["service"] = measure_service(args, finder)
        if "race" in args.only:
            bookers = list(dict.fromkeys(finder.booker() for _ in range(args.race_threads * 2)))
            result["race_service"] = race_service(args, finder, bookers)
        if "http" in args.only or "race" in args.only:
            run_http_measures(args, finder, result)
        result["overlaps"] = overlaps_everywhere()
    finally:
        remove_run_leftovers(spec)
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["load_average"] = {
        "before": [round(x, 2) for x in load_before],
        "after": [round(x, 2) for x in os.getloadavg()],
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    RESULT_PATH.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"\n## Bookings, PostgreSQL {result['db']['version']}, {os.cpu_count()} CPUs\n")
    print(markdown(result))
    print(f"\nWritten to {RESULT_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
