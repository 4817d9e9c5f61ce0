"""Races: many people book the same slot at the same instant (PRODUCT.md §2.2, "never a double
booking"). In each round exactly one wins and every other gets a conflict naming the slot; no two
held slots of the resource ever overlap, and nothing fails. Through the service, one database
connection per thread, and over HTTP against several gunicorn processes; on PostgreSQL (the
exclusion constraint decides) and on SQLite (write transactions are serialised: IMMEDIATE, with a
busy timeout, on a file database).

Each round's threads are released together by a barrier. PostgreSQL runs the full 50 threads ×
20 rounds; SQLite, whose writers queue one behind the other, fewer.
"""

import datetime as dt
import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import zoneinfo
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from maillage.accounts.services import api_token_create
from maillage.bookings.models import Occurrence, Resource, WaitlistEntry
from maillage.bookings.services import BookingConflict, Slot, booking_create
from tests.factories import PlaceFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

POSTGRES = connection.vendor == "postgresql"
THREADS, ROUNDS = (50, 20) if POSTGRES else (20, 5)
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
HOUR = dt.timedelta(hours=1)
ROOT = Path(__file__).resolve().parents[2]
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
SERVER_PROCESSES = 4
# Threads per process: enough to serve many requests at once, few enough that the processes'
# PostgreSQL connections (one per thread) stay well below max_connections.
SERVER_THREADS = 8
START_TIMEOUT = 60
REQUEST_TIMEOUT = 60


def round_start(round_number: int) -> dt.datetime:
    """The slot of a round: 10:00 (Paris), one day per round, from next week on."""
    today = timezone.now().astimezone(PARIS).date()
    day = today + dt.timedelta(days=7 + round_number)
    return dt.datetime.combine(day, dt.time(10), PARIS)


def race(attempt: Callable[[int, int], str], threads: int, rounds: int) -> list[list[str]]:
    """Run `attempt(thread, round)` in `threads` threads released together at each round by a
    barrier; return each round's outcomes. Each thread uses its own database connection and
    closes it at the end."""
    barrier = threading.Barrier(threads)
    outcomes: list[list[str]] = [[] for _ in range(rounds)]

    def worker(index: int) -> None:
        try:
            for round_number in range(rounds):
                barrier.wait(timeout=REQUEST_TIMEOUT)
                outcomes[round_number].append(attempt(index, round_number))
        except threading.BrokenBarrierError:
            outcomes[round_number].append("barrier broken")
        finally:
            connections.close_all()

    workers = [threading.Thread(target=worker, args=(index,)) for index in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=REQUEST_TIMEOUT * rounds)
    return outcomes


def one_winner_per_round(outcomes: list[list[str]], threads: int, winner: str = "booked") -> None:
    expected = sorted([winner] + ["conflict"] * (threads - 1))
    for round_number, results in enumerate(outcomes):
        assert sorted(results) == expected, f"round {round_number}: {sorted(set(results))}"


def overlapping_pairs(resource: Resource) -> int:
    """Pairs of held slots of the resource whose held ranges overlap, counted by the database."""
    table = connection.ops.quote_name(Occurrence._meta.db_table)
    held = "('pending', 'confirmed')"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM {table} a JOIN {table} b "  # noqa: S608 (no user input)
            "ON a.resource_id = b.resource_id AND a.id < b.id "
            "AND a.start < b.held_until AND b.start < a.held_until "
            f"WHERE a.resource_id = %s AND a.status IN {held} AND b.status IN {held}",
            [resource.pk],
        )
        return cursor.fetchone()[0]


def assert_one_slot_per_round(resource: Resource, rounds: int) -> None:
    assert overlapping_pairs(resource) == 0
    held = Occurrence.objects.filter(resource=resource, status__in=Occurrence.HOLDING)
    assert sorted(held.values_list("start", flat=True)) == [round_start(n) for n in range(rounds)]
    assert Occurrence.objects.filter(resource=resource).count() == rounds


def make_resource() -> Resource:
    resource = Resource.objects.create(
        place=PlaceFactory(), name="Salle Causse", kind="meeting_room", buffer_minutes=15
    )
    return Resource.objects.select_related("place").get(pk=resource.pk)


def test_service_race_one_winner_per_round():
    resource = make_resource()
    users = [UserFactory() for _ in range(THREADS)]

    def attempt(index: int, round_number: int) -> str:
        start = round_start(round_number)
        try:
            booking_create(resource=resource, booker=users[index], start=start, end=start + HOUR)
        except BookingConflict as conflict:
            if conflict.slot == Slot(start, start + HOUR):
                return "conflict"
            return f"conflict with {conflict.slot}"
        except Exception as error:  # any other outcome fails the test, named
            return repr(error)
        return "booked"

    one_winner_per_round(race(attempt, THREADS, ROUNDS), THREADS)
    assert_one_slot_per_round(resource, ROUNDS)


def test_joining_a_waiting_list_twice_at_once_gives_one_entry(settings):
    """The same request sent many times at once (a double click, a retrying client): one entry,
    every other answer a 409. PostgreSQL refuses the duplicates with its unique index."""
    settings.MAILLAGE_BOOKINGS_PER_ACCOUNT = "100000/1m"
    resource = make_resource()
    user, holder = UserFactory(), UserFactory()
    _token, raw = api_token_create(user=user)
    threads, rounds = 10, 5
    for round_number in range(rounds):
        start = round_start(round_number)
        booking_create(resource=resource, booker=holder, start=start, end=start + HOUR)

    def attempt(index: int, round_number: int) -> str:
        start = round_start(round_number)
        body = {
            "resource": resource.pk,
            "start": start.isoformat(),
            "end": (start + HOUR).isoformat(),
        }
        response = Client().post(
            "/api/v1/waitlist",
            data=json.dumps(body),
            content_type="application/json",
            headers={"authorization": f"Bearer {raw}"},
        )
        return {201: "joined", 409: "conflict"}.get(response.status_code, str(response.content))

    one_winner_per_round(race(attempt, threads, rounds), threads, winner="joined")
    assert WaitlistEntry.objects.filter(user=user, status="waiting").count() == rounds


# Over HTTP: several gunicorn processes on the test database --------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_environment(tmp_path: Path) -> dict[str, str]:
    """Settings that point the server processes at the test database pytest-django created."""
    database = connection.settings_dict
    if not POSTGRES:
        return {"MAILLAGE_SQLITE_PATH": str(database["NAME"])}
    credentials = quote(database["USER"] or "", safe="")
    if database["PASSWORD"]:
        credentials += ":" + quote(database["PASSWORD"], safe="")
    host, port = database["HOST"] or "127.0.0.1", database["PORT"] or 5432
    name = quote(database["NAME"], safe="")
    return {
        "DATABASE_URL": f"postgres://{credentials}@{host}:{port}/{name}",
        "MAILLAGE_SQLITE_PATH": str(tmp_path / "unused.sqlite3"),
    }


def _server_environment(port: int, tmp_path: Path) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MAILLAGE_", "DJANGO_", "GUNICORN_", "WEB_CONCURRENCY"))
        and key not in ("DATABASE_URL", "REDIS_URL")
    }
    (tmp_path / "static").mkdir()
    environment.update(_database_environment(tmp_path))
    environment.update(
        {
            "DJANGO_SETTINGS_MODULE": "maillage.settings",
            "MAILLAGE_SECRET_KEY": secrets.token_urlsafe(50),
            "MAILLAGE_DEBUG": "0",
            "MAILLAGE_ALLOWED_HOSTS": "127.0.0.1",
            "MAILLAGE_MFA_REQUIRED": "0",
            "MAILLAGE_STATIC_ROOT": str(tmp_path / "static"),
            "MAILLAGE_MEDIA_ROOT": str(tmp_path / "media"),
            "MAILLAGE_TASKS_BACKEND": "immediate",
            # The race is the subject here; the limit has its own test.
            "MAILLAGE_RATE_BOOKINGS_PER_ACCOUNT": "100000/1m",
            "MAILLAGE_BIND": f"127.0.0.1:{port}",
            "MAILLAGE_WORKERS": str(SERVER_PROCESSES),
            "MAILLAGE_THREADS": str(SERVER_THREADS),
        }
    )
    return environment


def _healthy(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


@pytest.fixture
def server(tmp_path) -> int:
    """gunicorn with deploy/gunicorn.conf.py, SERVER_PROCESSES worker processes, serving the test
    database; yields its port once /healthz answers."""
    port = _free_port()
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF)],
            cwd=ROOT,
            env=_server_environment(port, tmp_path),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not _healthy(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"gunicorn did not start:\n{log_path.read_text()[-4000:]}")
                time.sleep(0.2)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def test_http_race_against_several_server_processes(server):
    resource = make_resource()
    tokens = [api_token_create(user=UserFactory())[1] for _ in range(THREADS)]

    def attempt(index: int, round_number: int) -> str:
        start = round_start(round_number)
        slot = {"start": start.isoformat(), "end": (start + HOUR).isoformat()}
        conn = http.client.HTTPConnection("127.0.0.1", server, timeout=REQUEST_TIMEOUT)
        try:
            conn.request(
                "POST",
                "/api/v1/bookings",
                body=json.dumps({"resource": resource.pk, **slot}),
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {tokens[index]}",
                },
            )
            response = conn.getresponse()
            status, body = response.status, response.read()
        except OSError as error:
            return repr(error)
        finally:
            conn.close()
        if status == 201:
            return "booked"
        if status == 409 and json.loads(body).get("details") == slot:
            return "conflict"
        return f"{status} {body[:300]!r}"

    one_winner_per_round(race(attempt, THREADS, ROUNDS), THREADS)
    assert_one_slot_per_round(resource, ROUNDS)
