#!/usr/bin/env python
"""Statistics benchmark at national scale on PostgreSQL (issue 8).

    .venv/bin/python bench/impact.py [--rebuild] [--scale 1.0] [--renders 10]

Fills the database `maillage_bench_impact` with the national bookings dataset
(bench/bookings_dataset.py: 5,000 places, 25,000 resources, 2,000,000 booked slots over the year
before and the year after the day of generation, the "anchor") unless it already holds it, then
measures (1) the rollup of the year before the anchor (`impact_rollup --from … --to …`) for every
place, (2) the hourly run (yesterday and today of every place), and (3) the yearly statistics
page of the national network and of the largest regional one (`GET /impact/networks/<slug>/`,
figures, charts and tables; target < 2 s), the same figures through the selector, and their
funders' reports (the page and the PDF). Prints a
Markdown table and writes bench/results/impact-postgres.json. See bench/README.md.
"""

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
import zoneinfo
from pathlib import Path

import bookings
from bookings import database_info, summarize

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
RESULT_PATH = RESULTS_DIR / "impact-postgres.json"
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
PG_DATABASE = "maillage_bench_impact"
REBUILD_AFTER_DAYS = 90
TARGET_PAGE_S = 2.0
ZONE = zoneinfo.ZoneInfo("Europe/Paris")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="regenerate the dataset")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="dataset size factor (0.1: a quick run)"
    )
    parser.add_argument("--renders", type=int, default=10, help="timed renders of each page")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--pg-server", default=PG_SERVER, help="PostgreSQL server URL, no db")
    return parser.parse_args(argv)


def setup(args) -> None:
    bookings.prepare_database(args, PG_DATABASE)
    os.environ["MAILLAGE_ALLOWED_HOSTS"] = "testserver,localhost"
    os.environ["MAILLAGE_MFA_REQUIRED"] = "0"
    # PDF renders of the funders' report are rate-limited per connection; the bench makes many.
    os.environ["MAILLAGE_RATE_REPORTS_PER_IP"] = "100000/1h"
    sys.path.insert(0, str(BENCH_DIR.parent / "src"))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # Pages render without a collectstatic (production serves hashed files).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

    call_command("migrate", verbosity=0)


def backdate(anchor: dt.date) -> None:
    """The generator writes resources and roles as created on the anchor day: make them two
    years older, so that the year before the anchor has bookable hours and members."""
    from django.db import connection

    when = dt.datetime.combine(anchor - dt.timedelta(days=730), dt.time(0), tzinfo=dt.UTC)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE bookings_resource SET created_at = %s", [when])
        cursor.execute("UPDATE accounts_placerole SET created_at = %s", [when])


def clear_rollups() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in (
            "impact_dailyfigure",
            "impact_dailyvisitor",
            "impact_dirtyday",
            "impact_rolluprun",
        ):
            cursor.execute(f"TRUNCATE {table}")


def measure_rollup(first: dt.date, last: dt.date, now: dt.datetime) -> dict:
    from maillage.impact import services
    from maillage.impact.models import DailyFigure

    started = time.perf_counter()
    done = services.run_rollup(first=first, last=last, now=now)
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 1),
        "places": done["places"],
        "days": done["days"],
        "rows": DailyFigure.objects.count(),
        "ms_per_place_year": round(seconds * 1000 / max(done["places"], 1), 1),
    }


def measure_hourly(now: dt.datetime) -> dict:
    from maillage.impact import services

    started = time.perf_counter()
    done = services.run_rollup(now=now)
    return {"seconds": round(time.perf_counter() - started, 1), **done}


def measure_pages(args, first: dt.date, last: dt.date) -> dict:
    from django.db.models import Count
    from django.test import Client

    from maillage.accounts.models import User
    from maillage.impact import selectors
    from maillage.impact.periods import Period
    from maillage.places.models import Network

    admin, _created = User.objects.get_or_create(
        email="bench-impact@example.org", defaults={"is_superuser": True, "is_staff": True}
    )
    client = Client()
    client.force_login(admin)
    national = Network.objects.get(slug="bench-france")
    regional = (
        Network.objects.exclude(pk=national.pk).annotate(n=Count("places")).order_by("-n").first()
    )
    period = Period.custom(first, last)
    query = f"?period=custom&from={first}&to={last}"
    result = {}
    for network in (national, regional):
        result[f"{network.slug} report"] = _report_renders(args, client, network, query)
        url = f"/impact/networks/{network.slug}/{query}"
        assert client.get(url).status_code == 200  # warm-up
        pages, selector = [], []
        for _n in range(args.renders):
            started = time.perf_counter()
            response = client.get(url)
            pages.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
            started = time.perf_counter()
            figures = selectors.network_figures(network, period)
            selector.append((time.perf_counter() - started) * 1000)
        result[network.slug] = {
            "places": network.places.count(),
            "page_ms": summarize(pages),
            "selector_ms": summarize(selector),
            "booked_hours": sum(f.value or 0 for f in figures.figures if f.code == "booked_hours"),
            "met": max(pages) / 1000 < TARGET_PAGE_S,
        }
    return result


def _report_renders(args, client, network, query: str) -> dict:
    """The funders' report of the same period: the printable page and its PDF."""
    timings = {}
    for name, path in (("page_ms", "report/"), ("pdf_ms", "report/pdf/")):
        url = f"/impact/networks/{network.slug}/{path}{query}"
        assert client.get(url).status_code == 200  # warm-up
        times = []
        for _n in range(args.renders):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
        timings[name] = summarize(times)
        timings[f"{name.split('_')[0]}_bytes"] = len(response.content)
    return {
        "places": network.places.count(),
        **timings,
        "met": max(timings["page_ms"]["max_ms"], timings["pdf_ms"]["max_ms"]) / 1000
        < TARGET_PAGE_S,
    }


def markdown(result: dict) -> str:
    rollup, hourly = result["rollup"], result["hourly"]
    lines = [
        "| measure | result | target | met |",
        "|---|---|---|---|",
        f"| rollup of a year, {rollup['places']} places | {rollup['seconds']} s "
        f"({rollup['ms_per_place_year']} ms per place-year, {rollup['rows']} rows) | | |",
        f"| hourly run (yesterday and today) | {hourly['seconds']} s, {hourly['days']} days | | |",
    ]
    for slug, page in result["pages"].items():
        if "pdf_ms" in page:
            lines.append(
                f"| funders' report of `{slug.removesuffix(' report')}` ({page['places']} places):"
                f" page p50 {page['page_ms']['p50_ms']} ms, max {page['page_ms']['max_ms']} ms;"
                f" PDF p50 {page['pdf_ms']['p50_ms']} ms, max {page['pdf_ms']['max_ms']} ms,"
                f" {page['pdf_bytes'] // 1024} KB | | < {TARGET_PAGE_S:g} s |"
                f" {'yes' if page['met'] else 'no'} |"
            )
            continue
        lines.append(
            f"| yearly page of `{slug}` ({page['places']} places) | p50 "
            f"{page['page_ms']['p50_ms']} ms, max {page['page_ms']['max_ms']} ms (selector p50 "
            f"{page['selector_ms']['p50_ms']} ms) | < {TARGET_PAGE_S:g} s | "
            f"{'yes' if page['met'] else 'no'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup(args)
    import bookings_dataset
    from django.db import connection

    spec = bookings_dataset.Spec(seed=args.seed).scaled(args.scale)
    dataset = bookings.reuse_or_generate(
        bookings_dataset,
        spec,
        rebuild=args.rebuild,
        label="national dataset",
        database=PG_DATABASE,
        rebuild_after_days=REBUILD_AFTER_DAYS,
    )
    anchor = bookings_dataset.existing_anchor(spec)
    backdate(anchor)
    clear_rollups()
    first, last = anchor - dt.timedelta(days=365), anchor - dt.timedelta(days=1)
    now = dt.datetime.combine(anchor, dt.time(6), tzinfo=ZONE)
    print(f"Rolling up {first} to {last}…", flush=True)
    result = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "database": database_info(connection),
        "dataset": dataset,
        "spec": spec.__dict__,
        "rollup": measure_rollup(first, last, now),
    }
    print(f"  {result['rollup']}", flush=True)
    result["hourly"] = measure_hourly(now)
    result["pages"] = measure_pages(args, first, last)
    RESULTS_DIR.mkdir(exist_ok=True)
    RESULT_PATH.write_text(json.dumps(result, indent=2, default=str))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
