"""Failure behaviour: an unreachable database or a lock timeout gives a clean page or JSON error
(503 with Retry-After, or 409), never a traceback; error pages query nothing; emails leave only
after commit."""

import ast
import html
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.test import RequestFactory
from django.utils import translation
from django.utils.translation import gettext

from maillage.accounts.services import api_token_create
from maillage.core import failures
from maillage.core.views import server_error
from maillage.places import services
from maillage.places.models import PlaceProposal
from tests.factories import PlaceFactory, UserFactory, make_manager

SRC = Path(__file__).resolve().parents[2] / "src" / "maillage"
UNAVAILABLE = "The service is unavailable for a moment, try again in a few minutes."
BUSY = "Someone else is changing this right now, try again."
# Transaction control must still work while the "server" refuses queries, or the test could not
# roll back; everything else fails.
TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE", "ROLLBACK", "COMMIT", "BEGIN")


def in_french(message: str) -> str:
    with translation.override("fr"):
        return gettext(message)


@pytest.fixture
def failing_database(monkeypatch):
    """Make every query fail with the driver's own error, wrapped by Django as in production."""

    def fail_with(error: Exception) -> None:
        original = CursorWrapper._execute

        def execute(self, sql, params, *args):
            if sql.lstrip().upper().startswith(TRANSACTION_CONTROL):
                return original(self, sql, params, *args)
            with self.db.wrap_database_errors:
                raise error

        monkeypatch.setattr(CursorWrapper, "_execute", execute)

    return fail_with


def refused() -> Exception:
    return connection.Database.OperationalError(
        'connection to server at "127.0.0.1", port 5432 failed: Connection refused'
    )


def locked() -> Exception:
    return connection.Database.OperationalError("database is locked")


def assert_clean_page(response, status: int, message: str) -> str:
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert response["Cache-Control"] == "no-store"
    body = html.unescape(response.content.decode())
    assert in_french(message) in body
    assert "Traceback" not in body and "OperationalError" not in body
    return body


def assert_json_error(response, status: int, message: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body == {"message": in_french(message), "details": {}}
    return body


# An unreachable database


@pytest.mark.django_db
def test_an_unreachable_database_gives_a_503_page_with_retry_after(client, failing_database):
    failing_database(refused())

    response = client.get("/places/")

    body = assert_clean_page(response, 503, UNAVAILABLE)
    assert response["Retry-After"] == str(failures.RETRY_AFTER_SECONDS)
    assert '<html lang="fr">' in body


@pytest.mark.django_db
def test_the_error_page_speaks_the_language_of_the_visitor(client, failing_database):
    failing_database(refused())

    response = client.get("/places/", headers={"accept-language": "es"})

    assert response.status_code == 503
    with translation.override("es"):
        assert gettext(UNAVAILABLE) in response.content.decode()
    assert '<html lang="es">' in response.content.decode()


@pytest.mark.django_db
def test_an_unreachable_database_gives_the_api_json_error(client, failing_database):
    failing_database(refused())

    response = client.get("/api/v1/places")

    assert_json_error(response, 503, UNAVAILABLE)
    assert response["Retry-After"] == str(failures.RETRY_AFTER_SECONDS)


@pytest.mark.django_db
def test_a_failure_while_loading_the_signed_in_person_is_a_503_too(client, failing_database):
    """The session and user are loaded by middleware, before any view: Django has already made
    that a 500 when DatabaseFailureMiddleware sees it."""
    client.force_login(UserFactory())
    client.raise_request_exception = False
    failing_database(refused())

    assert_clean_page(client.get("/places/"), 503, UNAVAILABLE)
    assert_json_error(client.get("/api/v1/places"), 503, UNAVAILABLE)


@pytest.mark.django_db
def test_other_server_errors_are_not_dressed_up_as_database_failures(client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("maillage.places.views.selectors.search_places", broken)
    client.raise_request_exception = False

    response = client.get("/places/")

    assert response.status_code == 500
    body = response.content.decode()
    assert in_french("Something went wrong") in body and "a bug" not in body


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_real_refused_connection_gives_503_pages_json_and_health(tmp_path):
    """A process whose DATABASE_URL points at a closed port: the real driver error, end to end."""
    script = textwrap.dedent(
        """
        import json, django
        django.setup()
        from django.test import Client
        client = Client(raise_request_exception=False)
        results = {}
        for path in ("/places/", "/api/v1/places", "/healthz"):
            response = client.get(path)
            results[path] = [response.status_code, response.get("Retry-After"),
                             response.content.decode()]
        client.cookies["sessionid"] = "x" * 32  # the session is then loaded by middleware
        response = client.get("/places/")
        results["with a session"] = [response.status_code, response.get("Retry-After"),
                                     response.content.decode()]
        print(json.dumps(results))
        """
    )
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "maillage.settings",
        "DATABASE_URL": f"postgres://maillage@127.0.0.1:{_free_port()}/maillage",
        "REDIS_URL": "",
        "MAILLAGE_DEBUG": "0",
        "MAILLAGE_SECRET_KEY": "failure-test-" + "x" * 50,
        "MAILLAGE_SQLITE_PATH": str(tmp_path / "unused.sqlite3"),
    }
    completed = subprocess.run(
        [sys.executable, "-c", script],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    results = json.loads(completed.stdout.strip().splitlines()[-1])

    for key in ("/places/", "with a session"):
        status, retry_after, body = results[key]
        assert (status, retry_after) == (503, "30"), key
        assert in_french(UNAVAILABLE) in body and "Traceback" not in body
    status, retry_after, body = results["/api/v1/places"]
    assert (status, retry_after) == (503, "30")
    assert json.loads(body) == {"message": in_french(UNAVAILABLE), "details": {}}
    status, _retry_after, body = results["/healthz"]
    assert (status, body) == (503, "unavailable: database")


# A lock held too long by someone else


@pytest.mark.django_db
def test_a_lock_timeout_gives_a_409_page(client, failing_database):
    failing_database(locked())

    response = client.get("/places/")

    assert_clean_page(response, 409, BUSY)
    assert "Retry-After" not in response


@pytest.mark.django_db
def test_a_lock_timeout_gives_the_api_json_409(client, failing_database):
    failing_database(locked())

    assert_json_error(client.get("/api/v1/places"), 409, BUSY)


def test_lock_errors_of_both_engines_are_recognised():
    import sqlite3

    from django.db import OperationalError

    def wrapped(cause):
        error = OperationalError(str(cause))
        error.__cause__ = cause
        return error

    busy = sqlite3.OperationalError("database is locked")
    assert failures.classify(wrapped(busy)).status == 409
    assert failures.classify(OperationalError("could not connect")).status == 503
    assert failures.classify(ValueError("database is locked")) is None
    assert failures.classify(None) is None
    try:
        from psycopg import errors
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return
    assert failures.classify(wrapped(errors.LockNotAvailable("lock timeout"))).status == 409
    assert failures.classify(wrapped(errors.DeadlockDetected("deadlock"))).status == 409
    assert failures.classify(wrapped(errors.QueryCanceled("statement timeout"))).status == 503


@pytest.mark.django_db(transaction=True)
def test_a_real_postgresql_lock_timeout_is_a_409(client):
    """Another transaction holds the place's row; the edit gives up after lock_timeout."""
    if connection.vendor != "postgresql":
        pytest.skip("lock_timeout is a PostgreSQL setting; SQLite is covered by simulation")
    import psycopg

    place = PlaceFactory()
    manager = make_manager(place)
    _token, raw = api_token_create(user=manager)
    params = connection.get_connection_params()
    other = psycopg.connect(
        dbname=params["dbname"],
        user=params.get("user"),
        host=params.get("host"),
        port=params.get("port"),
        password=params.get("password"),
    )
    try:
        other.execute("SELECT id FROM places_place WHERE id = %s FOR UPDATE", [place.pk])
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '300ms'")
        response = client.patch(
            f"/api/v1/places/{place.slug}",
            data=json.dumps({"phone": "04 66 00 00 00"}),
            content_type="application/json",
            headers={"authorization": f"Bearer {raw}"},
        )
    finally:
        other.rollback()
        other.close()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")

    assert_json_error(response, 409, BUSY)
    place.refresh_from_db()
    assert place.phone == ""


@pytest.mark.django_db
def test_postgresql_connections_carry_the_lock_and_statement_timeouts(settings):
    options = settings.DATABASES["default"].get("OPTIONS", {})
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        assert options["timeout"] > 0
        return
    assert options["connect_timeout"] > 0
    assert "-c lock_timeout=" in options["options"]
    assert "-c statement_timeout=" in options["options"]
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] not in ("0", "")


# Error pages that need nothing


# Without the django_db mark, pytest-django makes any database access an error.


def test_the_500_page_makes_no_query():
    response = server_error(RequestFactory().get("/places/"))

    assert response.status_code == 500
    assert "Traceback" not in response.content.decode()


def test_the_failure_pages_make_no_query():
    request = RequestFactory().get("/places/", headers={"accept-language": "fr"})
    for failure in (failures.Failure(503, retry_after=30), failures.Failure(409)):
        response = failures.failure_response(request, failure)
        assert response.status_code == failure.status
        assert "<!doctype html>" in response.content.decode()


@pytest.mark.django_db
def test_an_unknown_page_is_a_404_page_and_an_unknown_endpoint_a_json_404(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert in_french("Page not found") in response.content.decode()
    response = client.get("/api/v1/no-such-endpoint")
    assert response.status_code == 404
    assert response.json() == {"message": in_french("Not found."), "details": {}}


# Health check


@pytest.mark.django_db
def test_health_is_ok_when_the_database_and_the_cache_answer(client):
    response = client.get("/healthz")

    assert (response.status_code, response.content) == (200, b"ok")
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_health_is_503_when_the_database_does_not_answer(client, failing_database):
    failing_database(refused())

    response = client.get("/healthz")

    assert (response.status_code, response.content) == (503, b"unavailable: database")
    assert response["Retry-After"] == str(failures.RETRY_AFTER_SECONDS)


@pytest.mark.django_db
def test_health_is_503_when_the_cache_does_not_answer(client, monkeypatch):
    def unreachable(*args, **kwargs):
        raise ConnectionError("cache unreachable")

    monkeypatch.setattr(cache, "set", unreachable)

    response = client.get("/healthz")

    assert (response.status_code, response.content) == (503, b"unavailable: cache")


# Emails only after commit

MAIL_FUNCTIONS = {"send_mail", "send_mass_mail", "mail_admins", "mail_managers", "EmailMessage"}


def _parents(tree):
    parents = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    return parents


def _name(node) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def test_every_email_of_ours_is_sent_from_an_on_commit_callback():
    """Each function that sends mail must be called only inside transaction.on_commit(...): an
    email must never announce a change that was then rolled back. Emails are sent by a background
    job (maillage.core.tasks.send_email), so it is enqueueing it, `send_email.enqueue(...)`, that
    must happen there: the worker, or the immediate backend, then sends a committed decision."""
    modules = {
        path: ast.parse(path.read_text(), str(path))
        for path in SRC.rglob("*.py")
        if "migrations" not in path.parts
    }
    senders = set()
    for path, tree in modules.items():
        parents = _parents(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node.func) in MAIL_FUNCTIONS:
                scope = parents.get(node)
                while scope is not None and not isinstance(scope, ast.FunctionDef):
                    scope = parents.get(scope)
                assert scope is not None, f"{path}:{node.lineno} sends mail at import time"
                senders.add(scope.name)
    assert "send_email" in senders, "no email sending found: has the search gone stale?"

    for path, tree in modules.items():
        parents = _parents(tree)
        for node in ast.walk(tree):
            if _name(node) in senders and isinstance(getattr(node, "ctx", None), ast.Load):
                outer = parents.get(node)
                inside_on_commit = False
                while outer is not None:
                    if isinstance(outer, ast.Call) and _name(outer.func) == "on_commit":
                        inside_on_commit = True
                        break
                    outer = parents.get(outer)
                assert inside_on_commit, (
                    f"{path.relative_to(SRC)}:{node.lineno} calls {_name(node)} outside "
                    "transaction.on_commit"
                )


@pytest.mark.django_db
def test_a_decision_rolled_back_sends_no_email(django_capture_on_commit_callbacks, mailoutbox):
    proposal = services.proposal_submit(
        kind=PlaceProposal.Kind.NEW,
        payload={"name": "La Grange", "town": "Florac", "latitude": 44.3, "longitude": 3.6},
        proposer_email="alice@example.org",
    )

    reviewer = UserFactory()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.proposal_reject(proposal=proposal, reviewer=reviewer, reason="Twice")
        raise RuntimeError("the request failed after the decision")

    assert callbacks == []
    assert mailoutbox == []
    proposal.refresh_from_db()
    assert proposal.status == PlaceProposal.Status.PENDING
