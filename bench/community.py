#!/usr/bin/env python
"""Community exchange benchmark at national scale on PostgreSQL (PRODUCT.md §4, §2.5).

    .venv/bin/python bench/community.py [--rebuild] [--scale 1.0]
                                        [--only matching,lists,digest,posting,votes]

Fills the database `maillage_bench_community` with the national community dataset
(bench/community_dataset.py: 5,000 places, 100,000 members, profiles with skills, 60,000 skill
posts, 20,000 opportunities, 20,000 give-box items, 10,000 ideas with 200,000 votes, 500,000
notifications) unless it already holds it, then measures (1) the matching of a skill post
(`exchange.matches_for`, and `GET /api/v1/community/skills/{id}/matches` against gunicorn); (2)
the lists: the exchange's search, a network's board and its RSS feed, a place's idea box, the
give-box; (3) posting offers and requests over HTTP, with their match notifications; (4)
concurrent votes on one idea, counted exactly; (5) the daily and weekly digests
(`services.send_digests`). Prints a Markdown table and writes
bench/results/community-postgres.json. See bench/README.md.
"""

import argparse
import cProfile
import datetime as dt
import json
import os
import platform
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import bookings
from agenda import empty_job_queue
from bookings import Client, CpuMeter, database_info, profile_text, summarize, tokens_for
from presence import decode, explain

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
RESULT_PATH = RESULTS_DIR / "community-postgres.json"
LOG_PATH = ROOT / "var" / "bench" / "gunicorn-community.log"
# What the digest measure changes, kept until it is put back (a run stopped half-way restores
# it at its next start).
DIGEST_STATE = ROOT / "var" / "bench" / "community-digest-state.json"
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
PG_DATABASE = "maillage_bench_community"
REDIS_URL = "redis://127.0.0.1:6379/12"
MEASURES = ("matching", "lists", "digest", "posting", "votes")
REBUILD_AFTER_DAYS = 90  # deadlines and loans are drawn around the anchor
PAGE = 20  # rows of a page, as the views and the API
SLOW_MS = 100.0  # PRODUCT.md §4: main pages p95 under 100 ms server time
WORDS = (  # folded words people search the exchange for
    "comptabilite",
    "graphisme",
    "soudure",
    "jardinage",
    "anglais",
    "velos",
    "initiation",
    "aide",
    "couture",
    "photographie",
)


# --------------------------------------------------------------------------------------------
# Command line, database
# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="regenerate the dataset")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="dataset size factor (0.05: a quick run)"
    )
    parser.add_argument(
        "--only", default=",".join(MEASURES), help=f"comma-separated subset of {MEASURES}"
    )
    parser.add_argument("--queries", type=int, default=300, help="timed calls per series")
    parser.add_argument("--warmup", type=int, default=30, help="untimed calls first")
    parser.add_argument(
        "--http-queries", type=int, default=200, help="timed GET requests per series"
    )
    parser.add_argument("--posts", type=int, default=1000, help="skill posts over HTTP")
    parser.add_argument("--post-authors", type=int, default=100, help="their authors")
    parser.add_argument("--votes", type=int, default=200, help="votes on one idea at once")
    parser.add_argument("--vote-rounds", type=int, default=3, help="ideas voted on, one by one")
    parser.add_argument("--clients", type=int, default=8, help="keep-alive HTTP connections")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker")
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
    import community_dataset

    data = bookings.reuse_or_generate(
        community_dataset,
        spec,
        rebuild=args.rebuild,
        label="national community dataset",
        database=PG_DATABASE,
        rebuild_after_days=REBUILD_AFTER_DAYS,
    )
    if not data["reused"]:
        DIGEST_STATE.unlink(missing_ok=True)  # it was about the data just replaced
    return data


def remove_run_leftovers(spec) -> dict:
    """What runs wrote: skill posts, ideas (their votes with them), votes and notifications
    with ids above the dataset's, the run's API tokens; and the digest state, if a run stopped
    before putting it back."""
    from django.db import connection, transaction

    from maillage.accounts.models import ApiToken
    from maillage.community.models import Idea, IdeaVote, Notification, SkillPost
    from maillage.core.models import AuditEntry

    restored = restore_digest_state()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE community_idea i SET votes = i.votes - v.n
                FROM (SELECT idea_id, COUNT(*) AS n FROM community_ideavote
                      WHERE id > %s AND idea_id <= %s GROUP BY idea_id) v
                WHERE i.id = v.idea_id
                """,
                [spec.votes, spec.ideas],
            )
        votes = IdeaVote.objects.filter(id__gt=spec.votes).delete()[0]
        ideas = Idea.objects.filter(id__gt=spec.ideas).delete()[0]
        posts = SkillPost.objects.filter(id__gt=spec.skill_posts).delete()[0]
        news = Notification.objects.filter(id__gt=spec.notifications).delete()[0]
    ApiToken.objects.filter(name="bench").delete()
    AuditEntry.objects.filter(action="token.create", details__name="bench").delete()
    return {
        "skill_posts_and_skills": posts,
        "ideas_and_votes": ideas,
        "votes": votes,
        "notifications": news,
        "digest_state_restored": restored,
    }


def hardware() -> dict:
    info = {"cpus": os.cpu_count(), "machine": platform.machine()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gb"] = round(int(line.split()[1]) / 1024**2, 1)
                break
    except OSError:
        pass
    return info


# --------------------------------------------------------------------------------------------
# Timing helpers
# --------------------------------------------------------------------------------------------


def time_series(calls: dict, count: int, warmup: int) -> tuple[dict, dict]:
    """Each call `count + warmup` times (argument: the draw's index), the series in rotating
    order; returns the summaries of the timed calls and their sizes (len of the answer, or the
    answer itself when it is a number)."""
    times = {name: [] for name in calls}
    sizes = {name: [] for name in calls}
    names = list(calls)
    for index in range(warmup + count):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            answer = calls[name](index)
            spent = (time.perf_counter() - started) * 1000.0
            if index >= warmup:
                times[name].append(spent)
                sizes[name].append(answer if isinstance(answer, int) else len(answer))
    return (
        {name: summarize(spent) for name, spent in times.items()},
        {name: spread(found) for name, found in sizes.items()},
    )


def spread(values: list[int]) -> dict:
    ordered = sorted(values)
    if not ordered:
        return {}
    return {"p50": ordered[len(ordered) // 2], "max": ordered[-1]}


def slowest_statement(call) -> dict:
    """The statements `call` sends, and EXPLAIN (ANALYZE, BUFFERS) of the slowest one."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        call()
    queries = captured.captured_queries
    slowest = max(queries, key=lambda q: float(q["time"]))
    return {
        "statements": len(queries),
        "slowest_ms": round(float(slowest["time"]) * 1000, 2),
        "sql": slowest["sql"][:3000],
        "plan": explain(slowest["sql"]),
    }


def page_of(queryset) -> list:
    """What core.api.page_of and a view's Paginator read: the count, then the first page."""
    count = queryset.count()
    return list(queryset[:PAGE]) if count else []


class Server(bookings.Server):
    """bench/bookings.py's gunicorn (deploy configuration, DEBUG and MFA off, Redis for the
    rate-limit counters and the email jobs, as in production), the community's rate limit
    raised: the benchmark posts and votes far more than 30 times an hour per account."""

    def environment(self) -> dict:
        env = super().environment()
        env["MAILLAGE_RATE_COMMUNITY_POSTS"] = "1000000/1m"
        env["MAILLAGE_TASKS_BACKEND"] = "rq" if self.redis else "immediate"
        return env

    def __enter__(self) -> "Server":
        bookings.LOG_PATH = LOG_PATH
        return super().__enter__()


def send_all(port: int, requests: list[tuple], clients: int):
    """Send every (method, path, payload, token) from `clients` keep-alive connections started
    together, each taking its share in turn. Returns (status, ms, body) per request in the
    order of `requests`, the seconds from the start to the last answer, and the reconnections."""
    queues = [list(range(len(requests)))[i::clients] for i in range(clients)]
    results: list[tuple[int, float, bytes]] = [(0, 0.0, b"")] * len(requests)
    reconnects = [0] * clients
    barrier = threading.Barrier(clients + 1)

    def run(index: int):
        client = Client(port)
        barrier.wait()
        try:
            for position in queues[index]:
                method, path, payload, token = requests[position]
                try:
                    results[position] = client.request(method, path, payload, token)
                except OSError as error:
                    results[position] = (0, 0.0, repr(error).encode())
        finally:
            reconnects[index] = client.reconnects
            client.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - started, sum(reconnects)


def statuses_of(results) -> dict:
    return {str(k): v for k, v in sorted(Counter(r[0] for r in results).items())}


def in_process(requests: list[tuple], label: str) -> dict:
    """The same requests through Django's test client in this process: the statements of the
    first ones, then the others under cProfile (rate limits raised, local cache instead of
    Redis, emails to memory), to show where the app's time goes."""
    from django.conf import settings
    from django.core import mail
    from django.db import connection
    from django.test import Client as DjangoClient
    from django.test.utils import CaptureQueriesContext

    settings.MAILLAGE_COMMUNITY_POSTS = "1000000/1m"
    client = DjangoClient()

    def send(method, path, payload, token):
        return client.generic(
            method,
            path,
            json.dumps(payload) if payload is not None else "",
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        ).status_code

    counted, statuses = [], Counter()
    for request in requests[:10]:
        with CaptureQueriesContext(connection) as captured:
            statuses[send(*request)] += 1
        counted.append(len(captured.captured_queries))
    example = [q["sql"][:300] for q in captured.captured_queries]
    profiler = cProfile.Profile()
    rest = requests[10:]
    started = time.perf_counter()
    profiler.enable()
    for request in rest:
        statuses[send(*request)] += 1
    profiler.disable()
    elapsed = time.perf_counter() - started
    mail.outbox = []
    result = {
        "requests": len(requests),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "statements_per_request": spread(counted) | {"min": min(counted)},
        "statements_of_one": example,
        "ms_per_request_profiled": round(1000 * elapsed / max(1, len(rest)), 2),
        "profile": profile_text(profiler),
    }
    print(
        f"  {label} in this process (test client): statements per request "
        f"{result['statements_per_request']}, {result['ms_per_request_profiled']} ms per "
        "request under cProfile",
        flush=True,
    )
    return result


def get_series(server: Server, series: dict[str, list[tuple[str, str | None]]], warmup: int):
    """For each series of (path, token): the first `warmup` GETs untimed, then the others one
    after the other on one connection, with the CPU they cost."""
    out = {}
    for name, requests in series.items():
        client = Client(server.port)
        for path, token in requests[:warmup]:
            client.request("GET", path, None, token)
        timed = requests[warmup:]
        results = []
        with CpuMeter(server) as cpu:
            for path, token in timed:
                results.append(client.request("GET", path, None, token))
        client.close()
        out[name] = {
            "latency": summarize([ms for _status, ms, _body in results]),
            "statuses": statuses_of(results),
            "bytes_p50": sorted(len(body) for _s, _ms, body in results)[len(results) // 2],
            "cpu_ms_per_request": cpu.per_request_ms(max(1, len(results))),
            "example": timed[0][0] if timed else None,
            "errors": [body[:200].decode(errors="replace") for s, _ms, body in results if s != 200][
                :3
            ],
        }
        stats = out[name]["latency"]
        print(
            f"  {name}: p50 {stats.get('p50_ms')} ms, p95 {stats.get('p95_ms')} ms, statuses "
            f"{out[name]['statuses']}, CPU ms per request {out[name]['cpu_ms_per_request']}",
            flush=True,
        )
    return out


# --------------------------------------------------------------------------------------------
# (1) Matching
# --------------------------------------------------------------------------------------------


def draw_posts(spec, rng: random.Random, count: int) -> list:
    """`count` open, shown posts of published places by active people, half requests and half
    offers (interleaved), with their place and author."""
    from maillage.community.models import SkillPost

    chosen = []
    for kind in ("request", "offer"):
        ids = list(
            SkillPost.objects.filter(
                kind=kind,
                id__lte=spec.skill_posts,
                closed_at__isnull=True,
                hidden_at__isnull=True,
                place__is_published=True,
                author__is_active=True,
            )
            .order_by("id")
            .values_list("id", flat=True)
        )
        chosen.append(rng.sample(ids, min(len(ids), count // 2)))
    ids = [pk for pair in zip(*chosen, strict=False) for pk in pair]
    posts = SkillPost.objects.select_related("place", "author").in_bulk(ids)
    return [posts[pk] for pk in ids]


def measure_matching_service(args, spec) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from maillage.community import exchange

    rng = random.Random(args.seed + 1)
    posts = draw_posts(spec, rng, args.warmup + args.queries)
    print(
        f"\n(1) matching: exchange.matches_for(post, viewer=author) for {args.queries} open "
        "posts (half requests, half offers)",
        flush=True,
    )
    times = {"request": [], "offer": []}
    sizes, tiers = [], Counter()
    slowest, slowest_ms = posts[-1], 0.0
    for index, post in enumerate(posts):
        started = time.perf_counter()
        matches = exchange.matches_for(post, viewer=post.author)
        spent = (time.perf_counter() - started) * 1000.0
        if index >= args.warmup:
            times[post.kind].append(spent)
            sizes.append(len(matches))
            tiers.update(f"{m.kind} tier {m.tier}" for m in matches)
            if spent > slowest_ms:
                slowest, slowest_ms = post, spent
    statements = []
    for post in posts[args.warmup : args.warmup + 40]:
        with CaptureQueriesContext(connection) as captured:
            exchange.matches_for(post, viewer=post.author)
        statements.append(len(captured.captured_queries))
    result = {
        "posts": len(posts) - args.warmup,
        "variants": {
            "all": summarize(times["request"] + times["offer"]),
            "requests": summarize(times["request"]),
            "offers": summarize(times["offer"]),
        },
        "matches_per_call": spread(sizes),
        "suggestions": dict(tiers),
        "statements_per_call": spread(statements) | {"min": min(statements)},
        "slowest_post": {
            "id": slowest.pk,
            "kind": slowest.kind,
            "ms": round(slowest_ms, 2),
            "place": slowest.place.slug,
            **slowest_statement(lambda: exchange.matches_for(slowest, viewer=slowest.author)),
        },
        "candidates_of_slowest": candidates(slowest),
    }
    for name, stats in result["variants"].items():
        print(f"  {name}: p50 {stats['p50_ms']} ms, p95 {stats['p95_ms']} ms", flush=True)
    print(
        f"  statements per call {result['statements_per_call']}, matches per call "
        f"{result['matches_per_call']}; slowest statement of the slowest post "
        f"{result['slowest_post']['slowest_ms']} ms",
        flush=True,
    )
    return result


def candidates(post) -> dict:
    """How much the matching of `post` reads: places in reach, rows of the posts' query and
    of the people's query (before the visibility filter)."""
    from maillage.community import exchange
    from maillage.community.models import SkillPostSkill
    from maillage.members.models import MemberSkill

    keys = set(post.skills.values_list("key", flat=True))
    reach = exchange.places_in_reach(post.place)
    return {
        "skills": sorted(keys),
        "places_in_reach": len(reach),
        "skill_rows_of_posts_in_reach": SkillPostSkill.objects.filter(
            key__in=keys, post__place_id__in=list(reach)
        ).count(),
        "profile_skill_rows_nationally": MemberSkill.objects.filter(key__in=keys).count(),
    }


def measure_matching_http(args, spec, server: Server) -> dict:
    rng = random.Random(args.seed + 2)
    posts = draw_posts(spec, rng, args.warmup + args.http_queries)
    tokens = tokens_for(sorted({post.author_id for post in posts}))
    print(
        f"\n(1) matching over HTTP: GET /api/v1/community/skills/{{id}}/matches by the post's "
        f"author, {len(posts) - args.warmup} after {args.warmup}, one connection",
        flush=True,
    )
    requests = [
        (f"/api/v1/community/skills/{post.pk}/matches", tokens[post.author_id]) for post in posts
    ]
    return get_series(server, {"matches_api": requests}, args.warmup)["matches_api"]


# --------------------------------------------------------------------------------------------
# (2) Lists
# --------------------------------------------------------------------------------------------


def list_draws(args, spec, count: int, seed: int) -> dict:
    from maillage.community.models import Idea
    from maillage.members import vocabulary
    from maillage.places.models import Network, Place

    rng = random.Random(seed)
    networks = list(Network.objects.order_by("slug"))
    codes = [term.code for term in vocabulary.SKILLS]
    idea_places = list(
        Idea.objects.filter(id__lte=spec.ideas, place__is_published=True)
        .order_by("id")
        .values_list("place_id", flat=True)
    )
    places = Place.objects.in_bulk(rng.choices(idea_places, k=count))
    return {
        "networks": [rng.choice(networks) for _ in range(count)],
        "skills": [rng.choice(codes) for _ in range(count)],
        "words": [rng.choice(WORDS) for _ in range(count)],
        "idea_places": [places[pk] for pk in rng.choices(list(places), k=count)],
    }


def measure_lists_service(args, spec) -> dict:
    from django.db.models import Count

    from maillage.community import board, exchange, givebox, ideas
    from maillage.places.models import Network

    count = args.warmup + args.queries
    draws = list_draws(args, spec, count, args.seed + 3)
    networks, skills, words, places = (
        draws["networks"],
        draws["skills"],
        draws["words"],
        draws["idea_places"],
    )
    calls = {
        "exchange_search_network_skill": lambda i: page_of(
            exchange.search(exchange.ExchangeFilters(network=networks[i].slug, skill=skills[i]))
        ),
        "exchange_search_q": lambda i: page_of(
            exchange.search(exchange.ExchangeFilters(q=words[i]))
        ),
        "exchange_search_network_q": lambda i: page_of(
            exchange.search(exchange.ExchangeFilters(network=networks[i].slug, q=words[i]))
        ),
        "board_network": lambda i: page_of(board.board_for(network=networks[i])),
        "ideas_of_a_place": lambda i: page_of(ideas.ideas_for(places[i])),
        "givebox_network": lambda i: page_of(givebox.givebox_for(network=networks[i])),
    }
    print(
        f"\n(2) lists through the selectors, count and first page of {PAGE}: {args.queries} "
        "calls each, random networks, skills, words and places",
        flush=True,
    )
    variants, sizes = time_series(calls, args.queries, args.warmup)
    national = Network.objects.annotate(n=Count("places")).order_by("-n", "slug").first()
    plans = {
        "exchange_search_network_skill": slowest_statement(
            lambda: page_of(
                exchange.search(
                    exchange.ExchangeFilters(network=national.slug, skill="web_development")
                )
            )
        ),
        "exchange_search_q": slowest_statement(
            lambda: page_of(exchange.search(exchange.ExchangeFilters(q="comptabilite")))
        ),
        "board_network": slowest_statement(lambda: page_of(board.board_for(network=national))),
        "givebox_network": slowest_statement(
            lambda: page_of(givebox.givebox_for(network=national))
        ),
    }
    for name, stats in variants.items():
        print(
            f"  {name}: p50 {stats['p50_ms']} ms, p95 {stats['p95_ms']} ms (rows {sizes[name]})",
            flush=True,
        )
    return {"variants": variants, "sizes": sizes, "plans": plans, "national": national.slug}


def measure_lists_http(args, spec, server: Server) -> dict:
    count = args.warmup + args.http_queries
    draws = list_draws(args, spec, count, args.seed + 4)
    networks, skills, places = draws["networks"], draws["skills"], draws["idea_places"]
    anonymous = None
    series = {
        "board_feed_rss_network": [
            (f"/community/board/feed.rss?network={n.slug}", anonymous) for n in networks
        ],
        "board_page_network": [
            (f"/community/networks/{n.slug}/board/", anonymous) for n in networks
        ],
        "ideas_page_of_a_place": [
            (f"/community/places/{p.slug}/ideas/", anonymous) for p in places
        ],
        "givebox_page": [("/community/givebox/", anonymous)] * count,
        "givebox_page_network": [
            (f"/community/givebox/?network={n.slug}", anonymous) for n in networks
        ],
        "exchange_api_network_skill": [
            (f"/api/v1/community/skills?network={n.slug}&skill={s}", anonymous)
            for n, s in zip(networks, skills, strict=True)
        ],
        "exchange_page_network_skill": [
            (f"/community/skills/?network={n.slug}&skill={s}", anonymous)
            for n, s in zip(networks, skills, strict=True)
        ],
    }
    print(
        f"\n(2) lists over HTTP, anonymous: {args.http_queries} GETs per series after "
        f"{args.warmup}, one connection",
        flush=True,
    )
    return get_series(server, series, args.warmup)


# --------------------------------------------------------------------------------------------
# (3) Posting offers and requests
# --------------------------------------------------------------------------------------------


def post_payloads(args, spec, count: int, seed: int):
    """Payloads of new posts (1–3 skills, a free tag now and then) by members at their home
    place, with the author of each."""
    from maillage.accounts.models import PlaceRole
    from maillage.members import vocabulary

    rng = random.Random(seed)
    roles = list(
        PlaceRole.objects.filter(role__in=("resident", "nomad"))
        .order_by("id")
        .values_list("user_id", "place__slug")
    )
    authors = rng.sample(roles, min(len(roles), args.post_authors))
    codes = [term.code for term in vocabulary.SKILLS]
    payloads = []
    for index in range(count):
        author, slug = authors[index % len(authors)]
        chosen = rng.sample(codes, rng.choice((1, 1, 2, 3)))
        payloads.append(
            (
                author,
                {
                    "place": slug,
                    "kind": rng.choice(("offer", "request")),
                    "title": f"Banc d'essai {index} : {chosen[0].replace('_', ' ')}",
                    "body": "<p>Une heure ou deux, au tiers-lieu ou en visio.</p>",
                    "skills": chosen,
                    "free_tags": ["Permaculture"] if rng.random() < 0.2 else [],
                },
            )
        )
    return payloads


def posting_exactness(before: dict, payloads, results) -> dict:
    """Every 201 is one new post with the payload's skills (keys by the rule) and the search
    text the service computes; match notices at most MAX_MATCH_NOTICES per post."""
    from django.db.models import Count

    from maillage.community import exchange
    from maillage.community.models import Notification, SkillPost

    created = {}
    for (_author, payload), (status, _ms, body) in zip(payloads, results, strict=True):
        if status == 201:
            created[decode(body).get("id")] = payload
    rows = SkillPost.objects.filter(id__gt=before["post"]).prefetch_related("skills")
    by_id = {post.pk: post for post in rows}
    wrong = 0
    for pk, payload in created.items():
        post = by_id.get(pk)
        if post is None:
            wrong += 1
            continue
        # The rows as the service builds them from the payload (in its order).
        wanted = exchange._skill_rows(payload["skills"], payload["free_tags"])
        stored = {(s.code, s.label, s.key) for s in post.skills.all()}
        wrong += stored != {(s.code, s.label, s.key) for s in wanted}
        wrong += post.search_text != exchange._search_text(post.title, post.body, wanted)
    notices = (
        Notification.objects.filter(id__gt=before["notification"])
        .values("url")
        .annotate(n=Count("id"))
    )
    per_post = [row["n"] for row in notices]
    unsent = Notification.objects.filter(id__gt=before["notification"], sent_at__isnull=True)
    return {
        "answers_201": len(created),
        "rows_created": len(by_id),
        "answer_ids_equal_rows": set(created) == set(by_id),
        "posts_unlike_payload": wrong,
        "match_notices": sum(per_post),
        "match_notices_per_post": spread(per_post),
        "notices_over_limit": sum(n > exchange.MAX_MATCH_NOTICES for n in per_post),
        "notices_waiting_for_a_digest": unsent.count(),
        "exact": set(created) == set(by_id) and not wrong,
    }


def run_queued_jobs(server: Server) -> dict:
    """Run what the posts queued — the match notices (one job per post), then the emails they
    send (console backend) — with one burst worker started as deploy/maillage-worker.service
    starts its own, and time it. Nothing is queued without Redis: the jobs ran in the requests."""
    import redis
    import rq

    if not server.redis:
        return {"jobs": 0, "seconds": 0.0}
    queue = rq.Queue("default", connection=redis.Redis.from_url(server.args.redis_url))
    queued = queue.count
    started = time.monotonic()
    worker = [str(Path(sys.executable).parent / "maillage"), "rqworker", "default", "--burst"]
    subprocess.run(
        [*worker, "--job-class", "django_tasks_rq.Job", "-v", "0"],
        cwd=ROOT,
        env=server.environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return {"jobs": queued, "seconds": round(time.monotonic() - started, 2)}


def measure_posting(args, spec, server: Server) -> dict:
    from maillage.community.models import Notification, SkillPost

    payloads = post_payloads(args, spec, 50 + args.posts, args.seed + 5)
    tokens = tokens_for(sorted({author for author, _p in payloads}))
    path = "/api/v1/community/skills"
    requests = [("POST", path, payload, tokens[author]) for author, payload in payloads]
    print(
        f"\n(3) posting: {args.posts} POST {path} by {len(tokens)} members at their place, "
        f"{args.clients} connections (50 untimed first); each tells up to 20 matching authors",
        flush=True,
    )
    send_all(server.port, requests[:50], args.clients)
    run_queued_jobs(server)
    timed, timed_payloads = requests[50:], payloads[50:]
    before = {
        "post": SkillPost.objects.order_by("-id").values_list("id", flat=True).first(),
        "notification": Notification.objects.order_by("-id").values_list("id", flat=True).first(),
    }
    load = os.getloadavg()[0]
    with CpuMeter(server) as cpu:
        results, elapsed, reconnects = send_all(server.port, timed, args.clients)
    created = sum(status == 201 for status, _ms, _body in results)
    jobs = run_queued_jobs(server)
    result = {
        "posts": len(timed),
        "authors": len(tokens),
        "clients": args.clients,
        "seconds": round(elapsed, 3),
        "per_second": round(created / elapsed, 1),
        "latency": summarize([ms for _status, ms, _body in results]),
        "statuses": statuses_of(results),
        "errors": [body[:300].decode(errors="replace") for s, _ms, body in results if s != 201][:5],
        "reconnects": reconnects,
        "jobs_after_commit": jobs,
        "exactness": posting_exactness(before, timed_payloads, results),
        "cpu_ms_per_request": cpu.per_request_ms(max(1, len(results))),
        "cpu_busy_share": round(sum(cpu.spent.values()) / (elapsed * (os.cpu_count() or 1)), 2),
        "load_average_before": round(load, 2),
    }
    extra = post_payloads(args, spec, 110, args.seed + 7)
    extra_tokens = tokens_for(sorted({author for author, _p in extra}))
    result["in_process"] = in_process(
        [("POST", path, payload, extra_tokens[author]) for author, payload in extra], "posting"
    )
    exact = result["exactness"]
    print(
        f"  {result['per_second']} posts/s, p50 {result['latency']['p50_ms']} ms, p95 "
        f"{result['latency']['p95_ms']} ms; statuses {result['statuses']}; exact "
        f"{exact['exact']}; {exact['match_notices']} match notices (per post "
        f"{exact['match_notices_per_post']}); CPU ms per request {result['cpu_ms_per_request']}, "
        f"CPUs busy {result['cpu_busy_share']:.0%}; then one worker ran the {jobs['jobs']} "
        f"queued jobs (match notices and their emails) in {jobs['seconds']} s",
        flush=True,
    )
    return result


# --------------------------------------------------------------------------------------------
# (4) Votes
# --------------------------------------------------------------------------------------------


def measure_votes(args, spec, server: Server) -> dict:
    from django.db.models import Count

    from maillage.accounts.models import PlaceRole, User
    from maillage.community import ideas
    from maillage.community.models import Idea, IdeaVote
    from maillage.places.models import Place

    biggest = (
        PlaceRole.objects.values("place_id")
        .annotate(n=Count("id"))
        .order_by("-n", "place_id")
        .first()
    )
    place = Place.objects.get(pk=biggest["place_id"])
    people = list(
        PlaceRole.objects.filter(place=place).order_by("user_id").values_list("user_id", flat=True)
    )
    rng = random.Random(args.seed + 6)
    voters = rng.sample(people, min(len(people), args.votes))
    tokens = tokens_for(voters)
    manager = User.objects.get(pk=place.pk)  # the dataset's manager of the place
    print(
        f"\n(4) votes: {len(voters)} people of {place.slug} ({len(people)} people) vote at once "
        f"for a new idea, {args.clients} connections, {args.vote_rounds} rounds; then 50 of "
        "them again",
        flush=True,
    )
    rounds, latencies, elapsed_all, cpu_all = [], [], 0.0, Counter()
    for number in range(args.vote_rounds):
        idea = ideas.idea_post(
            author=manager,
            place=place,
            title=f"Banc d'essai : idée {number}",
            body="<p>Votez !</p>",
        )
        path = f"/api/v1/community/ideas/{idea.pk}/vote"
        requests = [("POST", path, None, tokens[v]) for v in voters]
        with CpuMeter(server) as cpu:
            results, elapsed, _r = send_all(server.port, requests, args.clients)
        again, _e, _r = send_all(server.port, requests[:50], args.clients)
        idea.refresh_from_db()
        rows = IdeaVote.objects.filter(idea=idea).count()
        accepted = sum(status == 201 for status, _ms, _b in results)
        counts = sorted(
            decode(body).get("votes", 0) for status, _ms, body in results if status == 201
        )
        rounds.append(
            {
                "idea": idea.pk,
                "votes": len(requests),
                "statuses": statuses_of(results),
                "again_statuses": statuses_of(again),
                "counter": idea.votes,
                "rows": rows,
                "highest_count_answered": counts[-1] if counts else 0,
                "exact": idea.votes == rows == accepted == len(voters),
                "per_second": round(len(results) / elapsed, 1),
            }
        )
        latencies += [ms for _status, ms, _body in results]
        elapsed_all += elapsed
        cpu_all.update(cpu.spent)
    total = sum(r["votes"] for r in rounds)
    idea = ideas.idea_post(
        author=manager, place=place, title="Banc d'essai : profil", body="<p>Votez !</p>"
    )
    profiled = in_process(
        [("POST", f"/api/v1/community/ideas/{idea.pk}/vote", None, tokens[v]) for v in voters],
        "votes",
    )
    result = {
        "place": place.slug,
        "people_of_the_place": len(people),
        "voters": len(voters),
        "clients": args.clients,
        "rounds": rounds,
        "exact": all(r["exact"] for r in rounds),
        "per_second": round(total / elapsed_all, 1) if elapsed_all else 0,
        "latency": summarize(latencies),
        "cpu_ms_per_request": {k: round(1000 * v / max(1, total), 3) for k, v in cpu_all.items()},
        "in_process": profiled,
        "dataset_ideas_unchanged": not Idea.objects.filter(
            id__lte=spec.ideas, vote_rows__id__gt=spec.votes
        ).exists(),
    }
    print(
        f"  {result['per_second']} votes/s, p50 {result['latency']['p50_ms']} ms, p95 "
        f"{result['latency']['p95_ms']} ms; counters = rows = 201s in every round "
        f"{result['exact']}; again: {[r['again_statuses'] for r in rounds]}",
        flush=True,
    )
    return result


# --------------------------------------------------------------------------------------------
# (5) Digests
# --------------------------------------------------------------------------------------------


def save_digest_state(now: dt.datetime) -> None:
    from maillage.community.models import NotificationSettings

    rows = NotificationSettings.objects.filter(frequency__in=("daily", "weekly")).values_list(
        "id", "last_digest_at"
    )
    DIGEST_STATE.parent.mkdir(parents=True, exist_ok=True)
    DIGEST_STATE.write_text(
        json.dumps(
            {
                "now": now.isoformat(),
                "last_digest_at": [[pk, when.isoformat() if when else None] for pk, when in rows],
            }
        )
    )


def restore_digest_state() -> int:
    """Put back what a digest run changed (news marked sent, dates of the last digests), from
    the state saved before it. Returns how many news were marked unsent again."""
    from django.db import connection, transaction

    if not DIGEST_STATE.exists():
        return 0
    state = json.loads(DIGEST_STATE.read_text())
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE community_notification SET sent_at = NULL WHERE sent_at = %s",
            [dt.datetime.fromisoformat(state["now"])],
        )
        news = cursor.rowcount
        cursor.execute(
            """
            UPDATE community_notificationsettings s SET last_digest_at = v.last::timestamptz
            FROM jsonb_to_recordset(%s::jsonb) AS v(id bigint, last text)
            WHERE s.id = v.id
            """,
            [json.dumps([{"id": pk, "last": when} for pk, when in state["last_digest_at"]])],
        )
    DIGEST_STATE.unlink()
    return news


def measure_digest(args) -> dict:
    from django.core import mail
    from django.db import connection
    from django.utils import timezone

    from maillage.community import services

    mail.outbox = []
    now = timezone.now()
    print("\n(5) digests: services.send_digests() for every person whose digest is due", flush=True)
    times, frequencies, statements = [], Counter(), [0]
    original = services._send_digest

    def timed(preferences, when):
        started = time.perf_counter()
        sent = original(preferences, when)
        times.append((time.perf_counter() - started) * 1000.0)
        frequencies[preferences.frequency] += sent
        return sent

    def count(execute, sql, params, many, context):
        statements[0] += 1
        return execute(sql, params, many, context)

    save_digest_state(now)
    services._send_digest = timed
    load = os.getloadavg()[0]
    try:
        with connection.execute_wrapper(count), CpuMeter() as cpu:
            started = time.perf_counter()
            sent = services.send_digests(now=now)
            elapsed = time.perf_counter() - started
        from maillage.community.models import Notification

        marked = Notification.objects.filter(sent_at=now).count()
        left = Notification.objects.filter(
            sent_at__isnull=True, user__community_settings__last_digest_at=now
        ).count()
        emails = len(mail.outbox)
        words = sorted(len(message.body) for message in mail.outbox)
    finally:
        services._send_digest = original
        restored = restore_digest_state()
        mail.outbox = []
    result = {
        "digests": sent,
        "by_frequency": dict(frequencies),
        "news_sent": marked,
        "news_left_for_them": left,
        "emails": emails,
        "email_chars": spread(words),
        "exact": emails == sent and left == 0 and restored == marked,
        "seconds": round(elapsed, 2),
        "per_second": round(sent / elapsed, 1) if elapsed else 0,
        "latency_per_digest": summarize(times),
        "statements_per_digest": round(statements[0] / max(1, sent), 1),
        "cpu_ms_per_digest": cpu.per_request_ms(max(1, sent)),
        "restored_news": restored,
        "load_average_before": round(load, 2),
    }
    print(
        f"  {sent} digests ({dict(frequencies)}) with {marked} news in {result['seconds']} s: "
        f"{result['per_second']} digests/s, p50 {result['latency_per_digest'].get('p50_ms')} ms, "
        f"p95 {result['latency_per_digest'].get('p95_ms')} ms per digest, "
        f"{result['statements_per_digest']} statements each; emails {emails}; exact "
        f"{result['exact']}",
        flush=True,
    )
    return result


# --------------------------------------------------------------------------------------------
# Run and report
# --------------------------------------------------------------------------------------------


def yes_no(ok: bool) -> str:
    return "yes" if ok else "NO"


def _bold_if_slow(p95: float) -> str:
    text = f"{p95:.1f} ms"
    return f"**{text}** ⚠" if p95 > SLOW_MS else text


def _latency_row(label: str, stats: dict, extra: str = "") -> str:
    return (
        f"| {label} | p50 {stats['p50_ms']:.1f} ms, p95 {_bold_if_slow(stats['p95_ms'])}{extra} |"
    )


def markdown(result: dict) -> str:
    lines = ["| measure | result |", "|---|---|"]
    matching = result.get("matching")
    if matching:
        service = matching["service"]
        for name, label in (("requests", "requests (posts and people)"), ("offers", "offers")):
            lines.append(
                _latency_row(
                    f"(1) `matches_for`, {label} ({service['variants'][name]['count']})",
                    service["variants"][name],
                    f"; {service['statements_per_call']['p50']} statements per call (max "
                    f"{service['statements_per_call']['max']}), matches p50 "
                    f"{service['matches_per_call']['p50']}",
                )
            )
        if "http" in matching:
            http = matching["http"]
            lines.append(
                _latency_row(
                    "(1) `GET /api/v1/community/skills/{id}/matches` "
                    f"({http['latency']['count']})",
                    http["latency"],
                    f"; statuses {http['statuses']}; CPU app "
                    f"{http['cpu_ms_per_request']['app']:.1f} ms, PostgreSQL "
                    f"{http['cpu_ms_per_request']['postgres']:.1f} ms",
                )
            )
    lists = result.get("lists")
    if lists:
        for name, stats in lists["service"]["variants"].items():
            lines.append(_latency_row(f"(2) {name} (selector, count + page)", stats))
        for name, part in lists.get("http", {}).items():
            lines.append(
                _latency_row(
                    f"(2) HTTP {name}",
                    part["latency"],
                    f"; statuses {part['statuses']}; CPU app "
                    f"{part['cpu_ms_per_request']['app']:.1f} ms, PostgreSQL "
                    f"{part['cpu_ms_per_request']['postgres']:.1f} ms",
                )
            )
    posting = result.get("posting")
    if posting:
        exact = posting["exactness"]
        lines.append(
            f"| (3) `POST /api/v1/community/skills` ({posting['posts']}, {posting['clients']} "
            f"connections) | **{posting['per_second']:.0f}/s**, p50 "
            f"{posting['latency']['p50_ms']:.1f} ms, p95 "
            f"{_bold_if_slow(posting['latency']['p95_ms'])}; statuses {posting['statuses']}; "
            f"rows = 201s, skills and search text exact {yes_no(exact['exact'])}; "
            f"{exact['match_notices']} match notices (p50 "
            f"{exact['match_notices_per_post'].get('p50')}, max "
            f"{exact['match_notices_per_post'].get('max')} per post); CPU app "
            f"{posting['cpu_ms_per_request']['app']:.1f} ms, PostgreSQL "
            f"{posting['cpu_ms_per_request']['postgres']:.1f} ms per post; "
            f"{posting['in_process']['statements_per_request']['p50']} statements per post "
            f"(max {posting['in_process']['statements_per_request']['max']}); CPUs busy "
            f"{posting['cpu_busy_share']:.0%} |"
        )
    votes = result.get("votes")
    if votes:
        lines.append(
            f"| (4) `POST /api/v1/community/ideas/{{id}}/vote`, {votes['voters']} people at once, "
            f"{votes['clients']} connections, {len(votes['rounds'])} ideas | "
            f"**{votes['per_second']:.0f}/s**, p50 {votes['latency']['p50_ms']:.1f} ms, p95 "
            f"{_bold_if_slow(votes['latency']['p95_ms'])}; counter = rows = 201s "
            f"{yes_no(votes['exact'])} ({', '.join(str(r['counter']) for r in votes['rounds'])}); "
            f"a second vote: {votes['rounds'][0]['again_statuses']}; CPU app "
            f"{votes['cpu_ms_per_request'].get('app', 0):.1f} ms, PostgreSQL "
            f"{votes['cpu_ms_per_request'].get('postgres', 0):.1f} ms, "
            f"{votes['in_process']['statements_per_request']['p50']} statements per vote |"
        )
    digest = result.get("digest")
    if digest:
        lines.append(
            f"| (5) `services.send_digests()`: {digest['digests']} digests "
            f"{digest['by_frequency']}, {digest['news_sent']} news | **{digest['per_second']:.0f} "
            f"digests/s** ({digest['seconds']} s), per digest p50 "
            f"{digest['latency_per_digest'].get('p50_ms', 0):.1f} ms, p95 "
            f"{digest['latency_per_digest'].get('p95_ms', 0):.1f} ms, "
            f"{digest['statements_per_digest']} statements; emails = digests, nothing left "
            f"{yes_no(digest['exact'])} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bookings.prepare_database(args, PG_DATABASE)
    import django

    django.setup()
    import community_dataset
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", interactive=False, verbosity=0)
    # In this process: jobs run at once (prepare_database), emails kept in memory.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    spec = community_dataset.Spec(seed=args.seed).scaled(args.scale)
    data = ensure_dataset(args, spec)
    left = remove_run_leftovers(spec)
    load_before = os.getloadavg()
    if load_before[0] > 1.0:
        print(f"Warning: load average {load_before[0]:.2f}; timings may be skewed.", flush=True)
    result = {
        "database": PG_DATABASE,
        "db": database_info(connection),
        "python": platform.python_version(),
        "hardware": hardware(),
        "cpus": os.cpu_count(),
        "spec": vars(spec),
        "dataset": data,
        "earlier_run_removed": left,
        "consistency": community_dataset.consistency(spec),
        "args": vars(args),
    }
    print(f"Dataset consistency: {result['consistency']}", flush=True)
    started = time.perf_counter()
    http = [m for m in ("matching", "lists", "posting", "votes") if m in args.only]
    try:
        if "matching" in args.only:
            result["matching"] = {"service": measure_matching_service(args, spec)}
        if "lists" in args.only:
            result["lists"] = {"service": measure_lists_service(args, spec)}
        if "digest" in args.only:
            result["digest"] = measure_digest(args)
        if http:
            with Server(args) as server:
                result["server"] = {
                    "workers": args.workers,
                    "threads": args.threads,
                    "redis": server.redis,
                }
                if "matching" in args.only:
                    result["matching"]["http"] = measure_matching_http(args, spec, server)
                if "lists" in args.only:
                    result["lists"]["http"] = measure_lists_http(args, spec, server)
                if "posting" in args.only:
                    result["posting"] = measure_posting(args, spec, server)
                if "votes" in args.only:
                    result["votes"] = measure_votes(args, spec, server)
            if server.redis:
                result["jobs_dropped"] = empty_job_queue(args.redis_url)
    finally:
        result["removed"] = remove_run_leftovers(spec)
        result["consistency_after"] = community_dataset.consistency(spec)
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["load_average"] = {
        "before": [round(x, 2) for x in load_before],
        "after": [round(x, 2) for x in os.getloadavg()],
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    RESULT_PATH.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(
        f"\n## Community exchange, PostgreSQL {result['db']['version']}, {os.cpu_count()} CPUs "
        f"({result['hardware'].get('cpu', '?')})\n"
    )
    print(markdown(result))
    print(f"\nWritten to {RESULT_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
