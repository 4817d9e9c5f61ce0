#!/usr/bin/env python
"""Agenda benchmark at national scale on PostgreSQL (PRODUCT.md §4, issue 5).

    .venv/bin/python bench/agenda.py [--rebuild] [--scale 1.0] [--only http,service,agenda]

Fills the database `maillage_bench_agenda` with the national agenda dataset
(bench/agenda_dataset.py: 5,000 places, 50,000 events over two years, 1,000,000 registrations)
unless it already holds it, then measures (a) registrations for one event of capacity 500 over
HTTP against gunicorn (700 people at once: exactly 500 places, 200 on the waiting list) and
through the service layer in one thread, (b) the network agenda (the next 30 days of a network)
through the selector, against a hand-written SQL query and over HTTP, and (c) the CPU each
request costs the app, PostgreSQL and the client. Prints a Markdown table and writes
bench/results/agenda-postgres.json. See bench/README.md.
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
from pathlib import Path
from urllib.parse import urlencode

import bookings
from bookings import Client, CpuMeter, database_info, profile_text, summarize

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
RESULT_PATH = RESULTS_DIR / "agenda-postgres.json"
LOG_PATH = ROOT / "var" / "bench" / "gunicorn-agenda.log"
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
PG_DATABASE = "maillage_bench_agenda"
REDIS_URL = "redis://127.0.0.1:6379/11"
MEASURES = ("http", "service", "agenda")
REBUILD_AFTER_DAYS = 90  # the dataset's "year ahead" is then too short: regenerate it
TITLE = "Banc d'essai agenda"  # title prefix of the events a run creates (and deletes)
WINDOW = dt.timedelta(days=30)
PAGE = 20

# Targets of the issue, and the anchor measured with pretix 2026.8 on this machine class:
# 700 people registering at once for 500 places.
TARGETS = {"http_per_s": 209, "http_p95_ms": 150.0}
PRETIX = {"requests": 700, "confirmed": 500, "per_second": 20.9, "p95_ms": 1218}


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
    parser.add_argument("--requests", type=int, default=700, help="people registering at once")
    parser.add_argument("--capacity", type=int, default=500, help="places of the raced event")
    parser.add_argument("--clients", type=int, default=32, help="keep-alive HTTP connections")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker")
    parser.add_argument("--queries", type=int, default=300, help="timed agenda queries")
    parser.add_argument("--warmup", type=int, default=30, help="untimed agenda queries first")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--pg-server", default=PG_SERVER, help="PostgreSQL server URL, no db")
    parser.add_argument("--redis-url", default=REDIS_URL, help="Redis of the HTTP server")
    args = parser.parse_args(argv)
    args.only = [m.strip() for m in args.only.split(",") if m.strip()]
    unknown = set(args.only) - set(MEASURES)
    if unknown:
        parser.error(f"unknown measures: {', '.join(sorted(unknown))}")
    if args.capacity >= args.requests:
        parser.error("--capacity must be below --requests: the point is the waiting list")
    return args


def ensure_dataset(args: argparse.Namespace, spec) -> dict:
    import agenda_dataset

    return bookings.reuse_or_generate(
        agenda_dataset,
        spec,
        rebuild=args.rebuild,
        label="national agenda dataset",
        database=PG_DATABASE,
        rebuild_after_days=REBUILD_AFTER_DAYS,
    )


def remove_run_leftovers(spec) -> None:
    """Events (their registrations with them) and audit entries of earlier runs: the dataset's
    events have ids 1..events, its registrations 1..registrations."""
    from maillage.agenda.models import Event, Registration
    from maillage.core.models import AuditEntry

    Event.objects.filter(id__gt=spec.events).delete()
    Registration.objects.filter(id__gt=spec.registrations).delete()
    AuditEntry.objects.filter(
        action__startswith="event.", details__title__startswith=TITLE
    ).delete()


def empty_job_queue(url: str) -> int:
    """The emails the server queued for a worker (none runs here): dropped, they go nowhere."""
    import redis
    import rq

    try:
        return rq.Queue("default", connection=redis.Redis.from_url(url)).empty()
    except redis.RedisError:
        return 0


# --------------------------------------------------------------------------------------------
# Events and registrations of a run
# --------------------------------------------------------------------------------------------


class Organiser:
    """A published place of the dataset and its manager, who publishes the run's events."""

    def __init__(self, spec):
        from maillage.accounts.models import User
        from maillage.places.models import Place

        rng = random.Random(spec.seed)
        self.place = Place.objects.get(slug=f"national-{rng.randrange(spec.places)}")
        # bench/bookings_dataset.py: the manager of place n is user n.
        self.manager = User.objects.get(pk=self.place.pk)
        self.count = 0

    def event(self, capacity: int, label: str):
        from django.utils import timezone

        from maillage.agenda import services

        self.count += 1
        start = timezone.now().replace(microsecond=0, second=0) + dt.timedelta(days=14)
        (event,) = services.event_create(
            author=self.manager,
            place=self.place,
            title=f"{TITLE} – {label}",
            category="workshop",
            start=start + dt.timedelta(hours=self.count),
            end=start + dt.timedelta(hours=self.count + 2),
            capacity=capacity,
        )
        return event


def people(count: int, tag: str) -> list[dict]:
    return [{"name": f"Personne {n}", "email": f"{tag}-{n}@bench.invalid"} for n in range(count)]


def exactness(event, capacity: int, total: int, answers: list[dict] | None = None) -> dict:
    """`capacity` confirmed and the others waitlisted at positions 1..n without gaps, in the
    answers (when given) and in the database, counters equal to rows."""
    from maillage.agenda import selectors
    from maillage.agenda.models import Event, Registration

    waiting = total - capacity
    event = Event.objects.get(pk=event.pk)
    rows = Counter(Registration.objects.filter(event=event).values_list("status", flat=True))
    positions = [r.position for r in selectors.participants(event) if r.status == "waitlisted"]
    queue = list(
        Registration.objects.filter(event=event, status="waitlisted")
        .order_by("queue_number")
        .values_list("queue_number", flat=True)
    )
    checks = {
        "confirmed_rows": rows["confirmed"],
        "waitlisted_rows": rows["waitlisted"],
        "confirmed_count": event.confirmed_count,
        "waitlisted_count": event.waitlisted_count,
        "positions_1_to_n": positions == list(range(1, waiting + 1)),
        "queue_numbers_1_to_n": queue == list(range(1, waiting + 1)),
    }
    exact = (
        rows["confirmed"] == event.confirmed_count == capacity
        and rows["waitlisted"] == event.waitlisted_count == waiting
        and checks["positions_1_to_n"]
    )
    if answers is not None:
        statuses = Counter(a.get("status") for a in answers)
        answered = sorted(a["position"] for a in answers if a.get("status") == "waitlisted")
        checks["answered"] = dict(statuses)
        checks["answered_positions_1_to_n"] = answered == list(range(1, waiting + 1))
        exact = exact and statuses == {"confirmed": capacity, "waitlisted": waiting}
        exact = exact and checks["answered_positions_1_to_n"]
    checks["exact"] = exact
    return checks


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------


class Server(bookings.Server):
    """bench/bookings.py's gunicorn, with the registration limit per IP raised (700 people come
    from one address here) and emails queued for a worker in Redis, as in production."""

    def environment(self) -> dict:
        env = super().environment()
        env["MAILLAGE_RATE_REGISTRATIONS_PER_IP"] = "1000000/1m"
        env["MAILLAGE_TASKS_BACKEND"] = "rq" if self.redis else "immediate"
        return env

    def __enter__(self) -> "Server":
        bookings.LOG_PATH = LOG_PATH
        return super().__enter__()


def decode(content: bytes) -> dict:
    try:
        answer = json.loads(content)
    except ValueError:
        return {"raw": content[:200].decode(errors="replace")}
    return answer if isinstance(answer, dict) else {"raw": str(answer)[:200]}


def post_all(port: int, path: str, payloads: list[dict], clients: int | None):
    """POST every payload, all starting together: from `clients` keep-alive connections taking
    turns, or (None) each from its own thread and connection. Returns (status, ms, answer) per
    request and the seconds from the start to the last answer."""
    if clients is None:
        queues = [[payload] for payload in payloads]
    else:
        queues = [payloads[i::clients] for i in range(clients)]
    results: list[list[tuple[int, float, dict]]] = [[] for _ in queues]
    barrier = threading.Barrier(len(queues) + 1)

    def run(index: int):
        client = Client(port)
        barrier.wait()
        try:
            for payload in queues[index]:
                try:
                    status, elapsed, content = client.request("POST", path, payload)
                    results[index].append((status, elapsed, decode(content)))
                except OSError as error:
                    results[index].append((0, 0.0, {"error": repr(error)}))
        finally:
            client.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(queues))]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return [item for per_client in results for item in per_client], elapsed


def registrations_over_http(args, server: Server, organiser: Organiser, clients, label) -> dict:
    event = organiser.event(args.capacity, label)
    path = f"/api/v1/events/{event.pk}/registrations"
    load = os.getloadavg()[0]
    with CpuMeter(server) as cpu:
        flat, elapsed = post_all(server.port, path, people(args.requests, label), clients)
    statuses = Counter(status for status, _ms, _answer in flat)
    answers = [answer for status, _ms, answer in flat if status == 201]
    errors = [answer for status, _ms, answer in flat if status != 201][:5]
    result = {
        "event": event.pk,
        "requests": len(flat),
        "clients": clients if clients is not None else len(flat),
        "seconds": round(elapsed, 3),
        "per_second": round(len(flat) / elapsed, 1),
        "latency": summarize([ms for _status, ms, _answer in flat]),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": errors,
        "exactness": exactness(event, args.capacity, args.requests, answers),
        "cpu_ms_per_request": cpu.per_request_ms(len(flat)),
        "cpu_busy_share": round(sum(cpu.spent.values()) / (elapsed * (os.cpu_count() or 1)), 2),
        "load_average_before": round(load, 2),
    }
    print(
        f"  {result['per_second']} req/s, p50 {result['latency']['p50_ms']} ms, p95 "
        f"{result['latency']['p95_ms']} ms; statuses {result['statuses']}; "
        f"{result['exactness']['answered'] if answers else {}}; exact "
        f"{result['exactness']['exact']}; CPU ms per request {result['cpu_ms_per_request']}, "
        f"CPUs busy {result['cpu_busy_share']:.0%}",
        flush=True,
    )
    return result


def measure_http(args, server: Server, organiser: Organiser) -> dict:
    print(
        f"\n(a) {args.requests} people register at once for {args.capacity} places over HTTP: "
        f"gunicorn {args.workers} workers x {args.threads} threads, Redis {server.redis}",
        flush=True,
    )
    # Untimed: the workers import, connect and warm their caches.
    warm = organiser.event(50, "warm-up")
    post_all(server.port, f"/api/v1/events/{warm.pk}/registrations", people(100, "warm"), 16)
    print(f"  {args.clients} keep-alive connections:", flush=True)
    pooled = registrations_over_http(args, server, organiser, args.clients, "pooled")
    print(f"  {args.requests} connections, one request each, all at once:", flush=True)
    burst = registrations_over_http(args, server, organiser, None, "burst")
    profiled = profile_requests(args, organiser)
    return {
        "request_profile": profiled,
        "workers": args.workers,
        "threads": args.threads,
        "redis": server.redis,
        "pooled": pooled,
        "burst": burst,
    }


def profile_requests(args, organiser: Organiser) -> dict:
    """Where the app's CPU goes: the same POST through Django's test client, in this process,
    under cProfile (local cache instead of Redis, emails rendered and dropped, not queued)."""
    from django.conf import settings
    from django.test import Client as DjangoClient

    settings.MAILLAGE_REGISTRATIONS_PER_IP = "1000000/1m"
    event = organiser.event(args.capacity, "request profile")
    path = f"/api/v1/events/{event.pk}/registrations"
    client = DjangoClient()
    for payload in people(20, "request-warm"):
        client.post(path, payload, content_type="application/json")
    profiler = cProfile.Profile()
    payloads = people(args.requests, "request-profile")
    started = time.perf_counter()
    profiler.enable()
    for payload in payloads:
        client.post(path, payload, content_type="application/json")
    profiler.disable()
    elapsed = time.perf_counter() - started
    return {
        "requests": len(payloads),
        "ms_per_request_profiled": round(1000 * elapsed / len(payloads), 2),
        "profile": profile_text(profiler),
    }


# --------------------------------------------------------------------------------------------
# Service layer, one thread
# --------------------------------------------------------------------------------------------


def register_all(event, payloads: list[dict]) -> tuple[list[float], Counter]:
    from maillage.agenda import services

    times, outcomes = [], Counter()
    for payload in payloads:
        started = time.perf_counter()
        registration = services.register(event=event, language="fr", **payload)
        times.append((time.perf_counter() - started) * 1000.0)
        outcomes[registration.status] += 1
    return times, outcomes


def measure_service(args, organiser: Organiser) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    print(
        f"\n(a') {args.requests} registrations for {args.capacity} places through "
        "services.register, one thread",
        flush=True,
    )
    register_all(organiser.event(50, "service warm-up"), people(100, "service-warm"))
    event = organiser.event(args.capacity, "service")
    load = os.getloadavg()[0]
    started = time.perf_counter()
    with CpuMeter() as cpu:
        times, outcomes = register_all(event, people(args.requests, "service"))
    elapsed = time.perf_counter() - started
    result = {
        "registrations": args.requests,
        "seconds": round(elapsed, 3),
        "per_second": round(args.requests / elapsed, 1),
        "latency": summarize(times),
        "outcomes": dict(outcomes),
        "exactness": exactness(event, args.capacity, args.requests),
        "cpu_ms_per_registration": {
            k: v for k, v in cpu.per_request_ms(args.requests).items() if k != "app"
        },
        "load_average_before": round(load, 2),
    }
    # What one registration sends to the database: a confirmed one, then a waitlisted one.
    small = organiser.event(1, "service queries")
    result["queries"] = {}
    for status, payload in zip(("confirmed", "waitlisted"), people(2, "queries"), strict=True):
        with CaptureQueriesContext(connection) as captured:
            register_all(small, [payload])
        result["queries"][status] = [
            {"sql": q["sql"][:300], "ms": q["time"]} for q in captured.captured_queries
        ]
    profiled = organiser.event(args.capacity, "service profile")
    profiler = cProfile.Profile()
    profiler.enable()
    register_all(profiled, people(args.requests, "profile"))
    profiler.disable()
    result["profile"] = profile_text(profiler)
    print(
        f"  {result['per_second']} registrations/s, p50 {result['latency']['p50_ms']} ms, p95 "
        f"{result['latency']['p95_ms']} ms; {dict(outcomes)}; exact "
        f"{result['exactness']['exact']}; {len(result['queries']['confirmed'])} queries per "
        f"registration; CPU ms per registration {result['cpu_ms_per_registration']}",
        flush=True,
    )
    return result


# --------------------------------------------------------------------------------------------
# (b) The network agenda
# --------------------------------------------------------------------------------------------

RAW_AGENDA = """
SELECT e.id FROM agenda_event e LEFT JOIN places_place p ON p.id = e.place_id
WHERE (e.place_id IS NULL OR p.is_published)
  AND e.status IN ('published', 'cancelled')
  AND (e.network_id = %(network)s
       OR e.place_id IN (SELECT place_id FROM places_place_networks WHERE network_id = %(network)s))
  AND e."end" > %(start)s AND e.start < %(end)s
ORDER BY e.start, e.id
LIMIT %(limit)s
"""


# The same as an overlap of periods, which the GiST index of migration agenda/0002 answers (the
# selector's form on PostgreSQL): the ceiling.
RAW_AGENDA_PERIOD = RAW_AGENDA.replace(
    'AND e."end" > %(start)s AND e.start < %(end)s',
    'AND tstzrange(e.start, e."end") && tstzrange(%(start)s, %(end)s)',
)


def period_index_variant(
    cursor, draws: list[str], networks: dict, now, expected: dict, biggest: str
) -> dict:
    """Time RAW_AGENDA_PERIOD over `draws` (the GiST index); compare with `expected`."""
    times, mismatches = [], 0
    params = {"start": now, "end": now + WINDOW, "limit": PAGE}
    for slug in draws:
        started = time.perf_counter()
        cursor.execute(RAW_AGENDA_PERIOD, {"network": networks[slug], **params})
        answer = [row[0] for row in cursor.fetchall()]
        times.append((time.perf_counter() - started) * 1000.0)
        mismatches += answer != expected[slug]
    cursor.execute(
        f"EXPLAIN (ANALYZE, BUFFERS) {RAW_AGENDA_PERIOD}", {"network": networks[biggest], **params}
    )
    plan = [row[0] for row in cursor.fetchall()]
    return {"latency": summarize(times), "mismatch_count": mismatches, "plan": plan}


def agenda_filters(slug: str, start: dt.datetime):
    from maillage.agenda.selectors import AgendaFilters

    return AgendaFilters(network=slug, start=start, end=start + WINDOW)


def measure_agenda(args, server: Server | None) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from maillage.agenda.selectors import agenda_events
    from maillage.places.models import Network

    networks = dict(Network.objects.values_list("slug", "id"))
    rng = random.Random(args.seed + 2)
    now = timezone.now()
    draws = [rng.choice(sorted(networks)) for _ in range(args.warmup + args.queries)]
    print(
        f"\n(b) the next 30 days of a network's agenda, first page of {PAGE}: {args.queries} "
        f"queries on random networks of {len(networks)}",
        flush=True,
    )
    variants = {"selector": [], "selector_count_and_page": [], "raw_sql": []}
    expected: dict[str, list[int]] = {}
    mismatches, sizes = [], []
    with connection.cursor() as cursor:
        for index, slug in enumerate(draws):
            timed = index >= args.warmup
            answers = {}
            order = list(variants)
            shift = index % len(order)
            for name in order[shift:] + order[:shift]:
                started = time.perf_counter()
                if name == "selector":
                    answers[name] = [
                        e.pk for e in agenda_events(None, agenda_filters(slug, now))[:PAGE]
                    ]
                elif name == "selector_count_and_page":
                    events = agenda_events(None, agenda_filters(slug, now))
                    total = events.count()
                    answers[name] = [e.pk for e in events[:PAGE]]
                    if timed:
                        sizes.append(total)
                else:
                    cursor.execute(
                        RAW_AGENDA,
                        {
                            "network": networks[slug],
                            "start": now,
                            "end": now + WINDOW,
                            "limit": PAGE,
                        },
                    )
                    answers[name] = [row[0] for row in cursor.fetchall()]
                if timed:
                    variants[name].append((time.perf_counter() - started) * 1000.0)
            if len({tuple(a) for a in answers.values()}) != 1:
                mismatches.append({"network": slug, **answers})
            expected[slug] = answers["selector"]
        biggest = max(networks, key=lambda s: agenda_events(None, agenda_filters(s, now)).count())
        period = period_index_variant(
            cursor, draws[args.warmup :], networks, now, expected, biggest
        )
        with CaptureQueriesContext(connection) as captured:
            list(agenda_events(None, agenda_filters(biggest, now))[:PAGE])
        sql = captured.captured_queries[-1]["sql"]
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        plan = [row[0] for row in cursor.fetchall()]
    ordered = sorted(sizes)
    result = {
        "networks": len(networks),
        "queries": args.queries,
        "variants": {
            **{name: summarize(times) for name, times in variants.items()},
            "raw_sql_period_index": period["latency"],
        },
        "period_index_mismatch_count": period["mismatch_count"],
        "period_index_plan": period["plan"],
        "events_in_window": {
            "p50": ordered[len(ordered) // 2],
            "max": ordered[-1],
        },
        "mismatch_count": len(mismatches),
        "mismatches": mismatches[:3],
        "biggest_network": biggest,
        "selector_sql": sql,
        "selector_plan": plan,
    }
    for name, stats in result["variants"].items():
        print(f"  {name}: p50 {stats['p50_ms']} ms, p95 {stats['p95_ms']} ms", flush=True)
    print(
        f"  events in the window: p50 {result['events_in_window']['p50']}, max "
        f"{result['events_in_window']['max']}; different answers: {len(mismatches)}",
        flush=True,
    )
    if server is not None:
        result["http"] = agenda_over_http(args, server, networks, now)
    return result


def agenda_over_http(args, server: Server, networks: dict, now: dt.datetime) -> dict:
    """GET /api/v1/events?network=..&from=..&to=.. one after the other on one connection."""
    rng = random.Random(args.seed + 3)
    client = Client(server.port)
    paths = []
    for _ in range(args.warmup + args.queries):
        query = {
            "network": rng.choice(sorted(networks)),
            "from": now.isoformat(),
            "to": (now + WINDOW).isoformat(),
        }
        paths.append(f"/api/v1/events?{urlencode(query)}")
    for path in paths[: args.warmup]:
        client.request("GET", path)
    times, statuses, counts = [], Counter(), []
    load = os.getloadavg()[0]
    started = time.perf_counter()
    with CpuMeter(server) as cpu:
        for path in paths[args.warmup :]:
            status, elapsed, content = client.request("GET", path)
            times.append(elapsed)
            statuses[status] += 1
            if status == 200:
                counts.append(json.loads(content)["count"])
    elapsed = time.perf_counter() - started
    client.close()
    result = {
        "requests": len(times),
        "per_second": round(len(times) / elapsed, 1),
        "latency": summarize(times),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "cpu_ms_per_request": cpu.per_request_ms(len(times)),
        "load_average_before": round(load, 2),
    }
    print(
        f"  over HTTP (GET /api/v1/events, one connection): p50 {result['latency']['p50_ms']} ms, "
        f"p95 {result['latency']['p95_ms']} ms; statuses {result['statuses']}; CPU ms per "
        f"request {result['cpu_ms_per_request']}",
        flush=True,
    )
    return result


# --------------------------------------------------------------------------------------------
# Run and report
# --------------------------------------------------------------------------------------------


def yes_no(ok: bool) -> str:
    return "yes" if ok else "NO"


def markdown(result: dict) -> str:
    lines = [
        "| measure | result | target | pretix 2026.8 | met |",
        "|---|---|---|---|---|",
    ]
    http = result.get("http")
    if http:
        for key, label in (("pooled", "connections"), ("burst", "connections, 1 request each")):
            run = http[key]
            latency = run["latency"]
            exact = run["exactness"]
            answered = exact.get("answered", {})
            met = (
                exact["exact"]
                and run["per_second"] >= TARGETS["http_per_s"]
                and latency["p95_ms"] <= TARGETS["http_p95_ms"]
            )
            lines.append(
                f"| (a) {run['requests']} registrations at once for {result['args']['capacity']} "
                f"places over HTTP (gunicorn {http['workers']}×{http['threads']}, "
                f"{run['clients']} {label}) | **{run['per_second']:.0f} req/s**, p50 "
                f"{latency['p50_ms']:.0f} ms, **p95 {latency['p95_ms']:.0f} ms**; "
                f"{answered.get('confirmed', 0)} confirmed, {answered.get('waitlisted', 0)} "
                f"waitlisted, positions 1..n {yes_no(exact['answered_positions_1_to_n'])}, "
                f"counters = rows {yes_no(exact['exact'])}; statuses {run['statuses']} "
                f"| exact, ≥ {TARGETS['http_per_s']} req/s, p95 ≤ {TARGETS['http_p95_ms']:.0f} ms "
                f"| {PRETIX['confirmed']} of {PRETIX['requests']}, {PRETIX['per_second']} req/s, "
                f"p95 {PRETIX['p95_ms']:,} ms | {yes_no(met)} |"
            )
            cpu = run["cpu_ms_per_request"]
            lines.append(
                f"| (c) CPU per registration over HTTP ({key}) | app {cpu['app']:.1f} ms, "
                f"PostgreSQL {cpu['postgres']:.1f} ms, client {cpu['bench']:.1f} ms; CPUs busy "
                f"{run['cpu_busy_share']:.0%} | | | |"
            )
    service = result.get("service")
    if service:
        latency = service["latency"]
        lines.append(
            f"| (a) registrations through services.register, 1 thread ({service['registrations']})"
            f" | **{service['per_second']:.0f}/s**, p50 {latency['p50_ms']:.2f} ms, p95 "
            f"{latency['p95_ms']:.2f} ms; exact {yes_no(service['exactness']['exact'])}; "
            f"{len(service['queries']['confirmed'])} queries each | | | |"
        )
    agenda = result.get("agenda")
    if agenda:
        labels = {
            "selector": f"selectors.agenda_events, first {PAGE} materialised",
            "selector_count_and_page": "count() + first page (as the API)",
            "raw_sql": "hand-written SQL, `end > from AND start < to` (B-tree indexes)",
            "raw_sql_period_index": "hand-written SQL, overlap of periods on the GiST index "
            "(migration agenda/0002): the ceiling",
        }
        for name, label in labels.items():
            stats = agenda["variants"][name]
            lines.append(
                f"| (b) network agenda, next 30 days, {agenda['queries']} queries: {label} "
                f"| p50 {stats['p50_ms']:.2f} ms, **p95 {stats['p95_ms']:.2f} ms** | | | |"
            )
        over_http = agenda.get("http")
        if over_http:
            latency = over_http["latency"]
            cpu = over_http["cpu_ms_per_request"]
            lines.append(
                f"| (b) GET /api/v1/events?network&from&to over HTTP ({over_http['requests']}) "
                f"| p50 {latency['p50_ms']:.1f} ms, **p95 {latency['p95_ms']:.1f} ms**; "
                f"statuses {over_http['statuses']} | p95 < 100 ms (§4 pages) | | "
                f"{yes_no(latency['p95_ms'] < 100)} |"
            )
            lines.append(
                f"| (c) CPU per agenda request | app {cpu['app']:.1f} ms, PostgreSQL "
                f"{cpu['postgres']:.1f} ms, client {cpu['bench']:.1f} ms | | | |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bookings.prepare_database(args, PG_DATABASE)
    import django

    django.setup()
    import agenda_dataset
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    # Registrations send emails: rendered as in production, delivered nowhere.
    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
    call_command("migrate", interactive=False, verbosity=0)
    spec = agenda_dataset.Spec(seed=args.seed).scaled(args.scale)
    data = ensure_dataset(args, spec)
    remove_run_leftovers(spec)
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
        "consistency": agenda_dataset.consistency(spec),
        "args": vars(args),
        "targets": TARGETS,
        "pretix": PRETIX,
    }
    print(f"Dataset consistency: {result['consistency']}", flush=True)
    organiser = Organiser(spec)
    started = time.perf_counter()
    try:
        if "service" in args.only:
            result["service"] = measure_service(args, organiser)
        if "http" in args.only or "agenda" in args.only:
            with Server(args) as server:
                if "http" in args.only:
                    result["http"] = measure_http(args, server, organiser)
                if "agenda" in args.only:
                    result["agenda"] = measure_agenda(args, server)
            if server.redis:
                result["jobs_dropped"] = empty_job_queue(args.redis_url)
    finally:
        remove_run_leftovers(spec)
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["load_average"] = {
        "before": [round(x, 2) for x in load_before],
        "after": [round(x, 2) for x in os.getloadavg()],
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    RESULT_PATH.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"\n## Agenda, PostgreSQL {result['db']['version']}, {os.cpu_count()} CPUs\n")
    print(markdown(result))
    print(f"\nWritten to {RESULT_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
