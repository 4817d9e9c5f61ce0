#!/usr/bin/env python
"""Directory benchmark: "the nearest 20 places within 30 km" at world scale, ORM against raw SQL.

    .venv/bin/python bench/directory.py [--places 50000] [--backend sqlite|postgres|both]
                                        [--queries 500] [--keep] [--fresh]

Each backend runs in a child process of this script (Django reads its settings once, at import),
on a dedicated database that the child creates: var/bench/directory.sqlite3 for SQLite, the
database `maillage_bench` for PostgreSQL. The child migrates it, fills it with the world dataset
(bench/dataset.py) unless it already holds exactly those places, times the query variants, prints
a Markdown table and writes bench/results/directory-<backend>.json. The parent prints both tables
together. See bench/README.md.
"""

import argparse
import json
import math
import os
import platform
import random
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
SQLITE_PATH = ROOT / "var" / "bench" / "directory.sqlite3"
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
PG_DATABASE = "maillage_bench"
BACKENDS = ("sqlite", "postgres")

RADIUS_KM = 30.0
LIMIT = 20
EMPTY_SHARE = 0.10  # share of query points drawn far from any place
EMPTY_MIN_KM = 150.0  # an "empty" point is at least this far from every census place
TARGET_P95_MS = 20.0  # PRODUCT.md §4: proximity search at world scale
TARGET_RATIO = 3.0  # the issue: the ORM path within 3x of raw SQL

# Haversine in km from (%(lat)s, %(lon)s), with %(cos_lat)s = cos(lat) computed in Python, written
# with the functions both backends have: PostgreSQL natively, SQLite >= 3.35 when built with its
# math functions (Django checks, and otherwise registers Python functions of the same names).
DISTANCE_SQL = (
    "%(diameter)s * ASIN(SQRT("
    "POWER(SIN(RADIANS(latitude - %(lat)s) / 2), 2)"
    " + %(cos_lat)s * COS(RADIANS(latitude))"
    " * POWER(SIN(RADIANS(longitude - %(lon)s) / 2), 2)"
    "))"
)

# Variants, in table order: key -> label.
VARIANTS = {
    "orm": "(a) ORM selector, terms prefetched (as the API)",
    "raw": "(b) raw SQL (ceiling)",
    "orm_no_prefetch": "(c) ORM selector, no prefetch",
    "raw_terms": "(d) raw SQL + terms query",
    "orm_sql": "(e) ORM-built SQL via cursor (no models)",
    "api_page": "(f) ORM count() + page (as /api/places)",
}


# --------------------------------------------------------------------------------------------
# Command line and parent process
# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--places", type=int, default=50_000, help="places in the dataset")
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="both")
    parser.add_argument("--queries", type=int, default=500, help="timed query points")
    parser.add_argument("--warmup", type=int, default=50, help="untimed query points first")
    parser.add_argument("--seed", type=int, default=2019, help="seed of dataset and points")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the benchmark database afterwards (the next run then reuses its data)",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="drop the benchmark database and rebuild it"
    )
    parser.add_argument("--pg-server", default=PG_SERVER, help="PostgreSQL server URL, no db")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def run_parent(args: argparse.Namespace) -> int:
    backends = BACKENDS if args.backend == "both" else (args.backend,)
    forwarded = [
        f"--places={args.places}",
        f"--queries={args.queries}",
        f"--warmup={args.warmup}",
        f"--seed={args.seed}",
        f"--pg-server={args.pg_server}",
        *(["--keep"] if args.keep else []),
        *(["--fresh"] if args.fresh else []),
    ]
    results, failed = [], []
    for backend in backends:
        print(f"\n### {backend}\n", flush=True)
        command = [sys.executable, __file__, *forwarded, f"--backend={backend}", "--child"]
        if subprocess.run(command, cwd=ROOT, check=False).returncode:
            failed.append(backend)
            continue
        results.append(json.loads(result_path(backend).read_text()))
    if len(results) > 1:
        print("\n## Combined\n")
        print(markdown_table(results))
    if failed:
        print(f"\nFailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def result_path(backend: str) -> Path:
    return RESULTS_DIR / f"directory-{backend}.json"


# --------------------------------------------------------------------------------------------
# Child process: one backend
# --------------------------------------------------------------------------------------------


def prepare_database(args: argparse.Namespace) -> str:
    """Create (or drop and recreate) the dedicated database; point the settings at it.

    Must run before django.setup(): maillage.env reads the environment at import.
    """
    os.environ["DJANGO_SETTINGS_MODULE"] = "maillage.settings"
    os.environ["MAILLAGE_DEBUG"] = "0"  # no query log during the timings
    # A fixed key, so that settings do not write a generated one anywhere.
    os.environ.setdefault("MAILLAGE_SECRET_KEY", "bench-only-not-a-secret")
    if args.backend == "sqlite":
        os.environ.pop("DATABASE_URL", None)
        os.environ["MAILLAGE_SQLITE_PATH"] = str(SQLITE_PATH)
        SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
        if args.fresh:
            remove_sqlite()
        return str(SQLITE_PATH.relative_to(ROOT))
    import psycopg

    with psycopg.connect(f"{args.pg_server}/postgres", autocommit=True) as conn:
        if args.fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [PG_DATABASE]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{PG_DATABASE}"')
    os.environ["DATABASE_URL"] = f"{args.pg_server}/{PG_DATABASE}"
    return PG_DATABASE


def remove_sqlite() -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)


def drop_database(args: argparse.Namespace) -> None:
    from django.db import connections

    connections.close_all()
    if args.backend == "sqlite":
        remove_sqlite()
        return
    import psycopg

    with psycopg.connect(f"{args.pg_server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')


def ensure_dataset(n: int, seed: int) -> dict:
    """Reuse the places when the database holds exactly this dataset; else rebuild it."""
    import dataset
    from django.core.management import call_command
    from django.db import connection

    from maillage.places.models import Place

    marker = dataset.marker(seed, 0)
    if (
        Place.objects.count() == n
        and dataset.bench_place_count() == n
        and Place.objects.filter(source=dataset.BENCH_SOURCE, source_id=marker).exists()
    ):
        return {"reused": True, "seconds": 0.0, "places": n}
    call_command("flush", interactive=False, verbosity=0)
    started = time.perf_counter()
    written = dataset.generate_places(n, seed)
    generated = time.perf_counter() - started
    with connection.cursor() as cursor:
        # Fresh statistics, as autovacuum (PostgreSQL) or a periodic ANALYZE would give.
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return {"reused": False, "seconds": round(generated, 2), **written}


def query_points(count: int, seed: int) -> list[tuple[float, float]]:
    """Points near random census places, and EMPTY_SHARE of them far from every place."""
    import dataset

    from maillage.places.selectors import Point, haversine_km

    census = dataset.load_census()
    rng = random.Random(seed)
    points = []
    while len(points) < count:
        if rng.random() >= EMPTY_SHARE:
            base = rng.choice(census)
            points.append(dataset.jitter(rng, base.latitude, base.longitude, 5.0))
            continue
        lat, lon = rng.uniform(-55.0, 70.0), rng.uniform(-180.0, 180.0)
        here = Point(lat, lon)
        if all(haversine_km(here, Point(c.latitude, c.longitude)) > EMPTY_MIN_KM for c in census):
            points.append((lat, lon))
    return points


class RawQuery:
    """The proximity query by hand, and the terms query for its ids.

    Bounding box on the (latitude, longitude) index, haversine in SQL, the same columns as the
    ORM selects, nearest first. The box mirrors selectors._bounding_box (check_same_places
    stops the run if the two ever disagree).
    """

    def __init__(self, connection):
        from maillage.places.models import Place, PlaceTerm

        quote = connection.ops.quote_name
        self.table = quote(Place._meta.db_table)
        self.columns = ", ".join(quote(f.column) for f in Place._meta.concrete_fields)
        self.terms_sql = (
            f"SELECT place_id, kind, code FROM {quote(PlaceTerm._meta.db_table)}"
            " WHERE place_id IN ({ids}) ORDER BY kind, code"
        )
        self._places_sql: dict[str, str] = {}

    def places(self, lat: float, lon: float) -> tuple[str, dict]:
        where, params = box(lat, lon)
        sql = self._places_sql.get(where)
        if sql is None:
            sql = self._places_sql[where] = (
                f"SELECT {self.columns}, distance_km FROM ("
                f"SELECT {self.columns}, {DISTANCE_SQL} AS distance_km FROM {self.table}"
                f" WHERE {where}"
                ") AS near WHERE distance_km <= %(radius)s ORDER BY distance_km, id"
                " LIMIT %(limit)s"
            )
        return sql, params

    def terms(self, ids: list[int]) -> str:
        return self.terms_sql.format(ids=", ".join(["%s"] * len(ids)))


def box(lat: float, lon: float) -> tuple[str, dict]:
    """WHERE clause and parameters of the bounding box of the circle, as selectors builds it."""
    from maillage.places.selectors import EARTH_RADIUS_KM

    params = {
        "diameter": 2 * EARTH_RADIUS_KM,
        "lat": lat,
        "lon": lon,
        "cos_lat": math.cos(math.radians(lat)),
        "published": True,
        "radius": RADIUS_KM,
        "limit": LIMIT,
    }
    margin = 1e-7
    angle = RADIUS_KM / EARTH_RADIUS_KM
    dlat = math.degrees(angle) + margin
    params["lat_min"], params["lat_max"] = lat - dlat, lat + dlat
    where = "is_published = %(published)s AND latitude BETWEEN %(lat_min)s AND %(lat_max)s"
    cos_lat = math.cos(math.radians(lat))
    if abs(lat) + dlat >= 90 or math.sin(angle) >= cos_lat:
        return where, params  # the circle holds a pole
    dlon = math.degrees(math.asin(math.sin(angle) / cos_lat)) + margin
    params["west"], params["east"] = lon - dlon, lon + dlon
    longitudes = ["longitude BETWEEN %(west)s AND %(east)s"]
    if lon - dlon < -180:
        params["west_wrapped"] = lon - dlon + 360
        longitudes.append("longitude >= %(west_wrapped)s")
    if lon + dlon > 180:
        params["east_wrapped"] = lon + dlon - 360
        longitudes.append("longitude <= %(east_wrapped)s")
    if len(longitudes) == 1:
        return f"{where} AND {longitudes[0]}", params
    return f"{where} AND ({' OR '.join(longitudes)})", params


def make_variants(connection):
    """Each variant: (lat, lon) -> number of places found, doing the whole work."""
    from maillage.places import selectors
    from maillage.places.selectors import DirectoryFilters, Point

    raw_query = RawQuery(connection)

    def search(lat, lon):
        return selectors.search_places(DirectoryFilters(near=Point(lat, lon), radius_km=RADIUS_KM))

    def orm(lat, lon):
        return len(list(search(lat, lon)[:LIMIT]))

    def orm_no_prefetch(lat, lon):
        return len(list(search(lat, lon).prefetch_related(None)[:LIMIT]))

    def raw(lat, lon):
        with connection.cursor() as cursor:
            cursor.execute(*raw_query.places(lat, lon))
            return len(cursor.fetchall())

    def raw_terms(lat, lon):
        with connection.cursor() as cursor:
            cursor.execute(*raw_query.places(lat, lon))
            rows = cursor.fetchall()
            if rows:
                ids = [row[0] for row in rows]
                cursor.execute(raw_query.terms(ids), ids)
                cursor.fetchall()
            return len(rows)

    def orm_sql(lat, lon):
        sql, params = search(lat, lon)[:LIMIT].query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return len(cursor.fetchall())

    def api_page(lat, lon):
        queryset = search(lat, lon)
        queryset.count()
        return len(list(queryset[:LIMIT]))

    return {
        "orm": orm,
        "raw": raw,
        "orm_no_prefetch": orm_no_prefetch,
        "raw_terms": raw_terms,
        "orm_sql": orm_sql,
        "api_page": api_page,
    }


def check_same_places(connection, points: list[tuple[float, float]]) -> None:
    """The ORM selector and the raw SQL must return the same places in the same order."""
    from maillage.places import selectors
    from maillage.places.selectors import DirectoryFilters, Point

    raw_query = RawQuery(connection)
    for lat, lon in points:
        filters = DirectoryFilters(near=Point(lat, lon), radius_km=RADIUS_KM)
        orm_ids = [place.id for place in selectors.search_places(filters)[:LIMIT]]
        with connection.cursor() as cursor:
            cursor.execute(*raw_query.places(lat, lon))
            raw_ids = [row[0] for row in cursor.fetchall()]
        if orm_ids != raw_ids:
            raise SystemExit(f"ORM and raw SQL disagree at {lat}, {lon}: {orm_ids} != {raw_ids}")


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return float("nan")
    position = (len(sorted_values) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def summarize(times_ms: list[float], found: list[int]) -> dict:
    ordered = sorted(times_ms)
    return {
        "p50_ms": round(percentile(ordered, 0.50), 3),
        "p95_ms": round(percentile(ordered, 0.95), 3),
        "p99_ms": round(percentile(ordered, 0.99), 3),
        "mean_ms": round(sum(ordered) / len(ordered), 3),
        "max_ms": round(ordered[-1], 3),
        "avg_results": round(sum(found) / len(found), 2),
    }


def measure(variants: dict, points: list[tuple[float, float]], warmup: list) -> dict:
    for lat, lon in warmup:
        for run in variants.values():
            run(lat, lon)
    names = list(variants)
    times: dict[str, list[float]] = {name: [] for name in names}
    found: dict[str, list[int]] = {name: [] for name in names}
    for index, (lat, lon) in enumerate(points):
        # Rotate the order so that no variant always runs first (or right after another).
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            count = variants[name](lat, lon)
            times[name].append((time.perf_counter() - started) * 1000.0)
            found[name].append(count)
    reference = found["raw"]
    for name in names:
        if found[name] != reference:
            raise SystemExit(f"Variant {name} found other places than raw SQL")
    return {name: summarize(times[name], found[name]) for name in names}, times


def candidates(connection, points: list[tuple[float, float]]) -> dict:
    """How many rows each query reads (bounding box) and how many lie within the radius."""
    from maillage.places.models import Place

    table = connection.ops.quote_name(Place._meta.db_table)
    in_box, in_radius = [], []
    with connection.cursor() as cursor:
        for lat, lon in points:
            where, params = box(lat, lon)
            cursor.execute(
                "SELECT COUNT(*),"
                f" COALESCE(SUM(CASE WHEN {DISTANCE_SQL} <= %(radius)s THEN 1 ELSE 0 END), 0)"
                f" FROM {table} WHERE {where}",
                params,
            )
            rows, near = cursor.fetchone()
            in_box.append(rows)
            in_radius.append(near)
    summary = {}
    for name, values in (("in_box", in_box), ("in_radius", in_radius)):
        ordered = sorted(values)
        summary[name] = {
            "p50": percentile(ordered, 0.5),
            "p95": percentile(ordered, 0.95),
            "max": ordered[-1] if ordered else 0,
            "mean": round(sum(ordered) / len(ordered), 1) if ordered else 0,
        }
    return summary


def diagnostics(connection, point: tuple[float, float]) -> dict:
    """Queries the ORM sends, and the plans of the ORM and raw statements, at one point."""
    from django.test.utils import CaptureQueriesContext

    from maillage.places import selectors
    from maillage.places.selectors import DirectoryFilters, Point

    lat, lon = point
    queryset = selectors.search_places(DirectoryFilters(near=Point(lat, lon), radius_km=RADIUS_KM))[
        :LIMIT
    ]
    with CaptureQueriesContext(connection) as captured:
        list(queryset)
    orm_sql, orm_params = queryset.query.sql_with_params()
    places_sql, params = RawQuery(connection).places(lat, lon)
    if connection.vendor == "postgresql":
        prefix = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)"
    else:
        prefix = "EXPLAIN QUERY PLAN"
    plans = {}
    with connection.cursor() as cursor:
        for name, sql, sql_params in (
            ("orm", orm_sql, orm_params),
            ("raw", places_sql, params),
        ):
            cursor.execute(f"{prefix} {sql}", sql_params)
            rows = cursor.fetchall()
            plans[name] = [row[-1] if connection.vendor == "sqlite" else row[0] for row in rows]
    return {
        "point": list(point),
        "orm_queries": [{"sql": q["sql"], "time": q["time"]} for q in captured.captured_queries],
        "plans": plans,
    }


def database_info(connection) -> dict:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0].split()[0]
            math_functions = "native"
        else:
            cursor.execute("SELECT sqlite_version()")
            version = cursor.fetchone()[0]
            cursor.execute("SELECT sqlite_compileoption_used('ENABLE_MATH_FUNCTIONS')")
            native = cursor.fetchone()[0]
            math_functions = "native" if native else "Python functions registered by Django"
    return {"vendor": connection.vendor, "version": version, "math_functions": math_functions}


def run_child(args: argparse.Namespace) -> int:
    location = prepare_database(args)
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    try:
        call_command("migrate", interactive=False, verbosity=0)
        data = ensure_dataset(args.places, args.seed)
        if data["reused"]:
            print(f"Reusing the {args.places} places already in {location}.", flush=True)
        else:
            print(
                f"Generated {data['places']} places and {data['terms']} terms in {location} "
                f"in {data['seconds']} s.",
                flush=True,
            )
        load_before = os.getloadavg()
        if load_before[0] > 1.0:
            print(
                f"Warning: load average {load_before[0]:.2f}; other processes may skew timings.",
                flush=True,
            )
        points = query_points(args.warmup + args.queries, args.seed + 1)
        warmup, timed = points[: args.warmup], points[args.warmup :]
        check_same_places(connection, warmup)
        variants = make_variants(connection)
        started = time.perf_counter()
        stats, times = measure(variants, timed, warmup)
        elapsed = time.perf_counter() - started
        by_raw_time = sorted(range(len(timed)), key=lambda i: times["raw"][i])
        typical = timed[by_raw_time[len(by_raw_time) // 2]]
        slowest = timed[by_raw_time[-1]]
        result = {
            "backend": args.backend,
            "database": location,
            "db": database_info(connection),
            "python": platform.python_version(),
            "machine": platform.machine(),
            "places": args.places,
            "queries": args.queries,
            "warmup": args.warmup,
            "seed": args.seed,
            "radius_km": RADIUS_KM,
            "limit": LIMIT,
            "dataset": data,
            "seconds": round(elapsed, 2),
            "load_average": {
                "before": [round(x, 2) for x in load_before],
                "after": [round(x, 2) for x in os.getloadavg()],
            },
            "cpus": os.cpu_count(),
            "variants": stats,
            "ratio_orm_raw": {
                "p50": round(stats["orm"]["p50_ms"] / stats["raw"]["p50_ms"], 2),
                "p95": round(stats["orm"]["p95_ms"] / stats["raw"]["p95_ms"], 2),
            },
            "ratio_orm_raw_terms": {
                "p50": round(stats["orm"]["p50_ms"] / stats["raw_terms"]["p50_ms"], 2),
                "p95": round(stats["orm"]["p95_ms"] / stats["raw_terms"]["p95_ms"], 2),
            },
            "targets": {"p95_ms": TARGET_P95_MS, "orm_over_raw": TARGET_RATIO},
            "candidates": candidates(connection, timed),
            "diagnostics": {
                "typical_point": diagnostics(connection, typical),
                "slowest_point": diagnostics(connection, slowest),
            },
        }
    finally:
        if not args.keep:
            drop_database(args)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    result_path(args.backend).write_text(json.dumps(result, indent=2) + "\n")
    print(markdown_table([result]))
    print(f"\nWritten to {result_path(args.backend).relative_to(ROOT)}")
    return 0


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def markdown_table(results: list[dict]) -> str:
    lines = [
        "| backend | variant | p50 ms | p95 ms | mean ms | avg results |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for result in results:
        name = f"{result['backend']} {result['db']['version']}"
        for key, label in VARIANTS.items():
            s = result["variants"][key]
            lines.append(
                f"| {name} | {label} | {s['p50_ms']:.2f} | {s['p95_ms']:.2f} "
                f"| {s['mean_ms']:.2f} | {s['avg_results']:.1f} |"
            )
    lines.append("")
    lines.append(
        "| backend | places | queries | ORM/raw p50 | ORM/raw p95 | ORM/(raw+terms) p50 "
        f"| ORM/(raw+terms) p95 | ORM p95 < {TARGET_P95_MS:g} ms | ORM/raw p95 < {TARGET_RATIO:g} |"
    )
    lines.append("|---|---:|---:|---:|---:|---:|---:|---|---|")
    for result in results:
        ratio, ratio_terms = result["ratio_orm_raw"], result["ratio_orm_raw_terms"]
        p95 = result["variants"]["orm"]["p95_ms"]
        lines.append(
            f"| {result['backend']} | {result['places']} | {result['queries']} "
            f"| {ratio['p50']:.2f}x | {ratio['p95']:.2f}x "
            f"| {ratio_terms['p50']:.2f}x | {ratio_terms['p95']:.2f}x "
            f"| {'yes' if p95 < TARGET_P95_MS else 'NO'} "
            f"| {'yes' if ratio['p95'] < TARGET_RATIO else 'NO'} |"
        )
    lines.append("")
    for result in results:
        box, near = result["candidates"]["in_box"], result["candidates"]["in_radius"]
        load = result["load_average"]
        lines.append(
            f"- {result['backend']}: rows read per query (bounding box) p50 {box['p50']:.0f}, "
            f"p95 {box['p95']:.0f}, max {box['max']}; within {result['radius_km']:g} km p50 "
            f"{near['p50']:.0f}, p95 {near['p95']:.0f}; load average before/after "
            f"{load['before'][0]:.2f}/{load['after'][0]:.2f} on {result['cpus']} CPUs."
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return run_child(args)
    return run_parent(args)


if __name__ == "__main__":
    sys.exit(main())
