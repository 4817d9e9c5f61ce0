"""Scale-out: two gunicorn processes of the app, sharing only PostgreSQL and Redis, serve the same
people. A session opened on one is valid on the other; a rate limit counted on one holds on the
other. This is what lets an operator run several app processes or hosts behind one proxy
(docs/operations.md)."""

import http.client
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from django.db import connection

from maillage import env
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
START_TIMEOUT = 40  # seconds for both processes to answer /healthz
REQUEST_TIMEOUT = 15
PASSWORD = "a long and unusual passphrase"
NEW_PLACE = {
    "name": "La Grange",
    "town": "Florac",
    "latitude": 44.3242,
    "longitude": 3.5931,
    "proposer_email": "alice@example.org",
}

pytestmark = [
    pytest.mark.skipif(
        not (env.DATABASE_URL.startswith(("postgres://", "postgresql://")) and env.REDIS_URL),
        reason="scale-out needs DATABASE_URL on PostgreSQL and REDIS_URL: app processes share "
        "only those (SQLite and the in-memory cache are per host or per process)",
    ),
    pytest.mark.django_db(transaction=True),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _test_database_url() -> str:
    """The URL of the test database pytest-django created, for the subprocesses."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = db["PORT"] or 5432
    return f"postgres://{credentials}@{host}:{port}/{quote(db['NAME'], safe='')}"


class Answer:
    def __init__(self, response: http.client.HTTPResponse):
        self.status = response.status
        self.headers = response.headers
        self.body = response.read().decode()
        self.cookies = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie") or []:
            self.cookies.load(header)

    def json(self):
        return json.loads(self.body)


def call(port, method, path, *, body=None, headers=None, cookies=None) -> Answer:
    """One HTTP request to 127.0.0.1:port, no redirect followed, bounded in time."""
    headers = dict(headers or {})
    if cookies:
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        conn.request(method, path, body=body, headers=headers)
        return Answer(conn.getresponse())
    finally:
        conn.close()


@pytest.fixture(scope="module")
def static_root(tmp_path_factory):
    """Collected static files: the processes run as in production (DEBUG off, hashed names)."""
    root = tmp_path_factory.mktemp("static")
    subprocess.run(
        [sys.executable, "-m", "maillage", "collectstatic", "--noinput", "-v", "0"],
        env={**os.environ, "MAILLAGE_STATIC_ROOT": str(root), "MAILLAGE_SECRET_KEY": "collect"},
        check=True,
        timeout=180,
        capture_output=True,
    )
    return root


def _environment(port: int, static_root: Path, secret_key: str, tmp_path: Path) -> dict:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MAILLAGE_", "DJANGO_", "GUNICORN_", "WEB_CONCURRENCY"))
    }
    environment.update(
        {
            "DJANGO_SETTINGS_MODULE": "maillage.settings",
            "DATABASE_URL": _test_database_url(),
            "REDIS_URL": env.REDIS_URL,
            "MAILLAGE_SECRET_KEY": secret_key,
            "MAILLAGE_DEBUG": "0",
            "MAILLAGE_ALLOWED_HOSTS": "127.0.0.1",
            "MAILLAGE_STATIC_ROOT": str(static_root),
            "MAILLAGE_MEDIA_ROOT": str(tmp_path / "media"),
            "MAILLAGE_SQLITE_PATH": str(tmp_path / "unused.sqlite3"),
            "MAILLAGE_PROPOSALS_PER_HOUR": "2",
            "MAILLAGE_BIND": f"127.0.0.1:{port}",
            "MAILLAGE_WORKERS": "1",
            "MAILLAGE_THREADS": "2",
        }
    )
    return environment


@pytest.fixture
def two_processes(static_root, tmp_path):
    """Start two gunicorn processes with deploy/gunicorn.conf.py; yield their ports."""
    secret_key = secrets.token_urlsafe(50)  # shared, as in a real deployment
    processes, logs, ports = [], [], []
    try:
        for number in (1, 2):
            port = _free_port()
            log = (tmp_path / f"gunicorn-{number}.log").open("w")
            process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF)],
                cwd=ROOT,
                env=_environment(port, static_root, secret_key, tmp_path),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            processes.append(process)
            logs.append(log)
            ports.append(port)
        deadline = time.monotonic() + START_TIMEOUT
        for number, (process, port) in enumerate(zip(processes, ports, strict=True), start=1):
            while True:
                if process.poll() is not None:
                    pytest.fail(f"gunicorn {number} exited:\n{_log(tmp_path, number)}")
                try:
                    if call(port, "GET", "/healthz").status == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"gunicorn {number} did not answer:\n{_log(tmp_path, number)}")
                time.sleep(0.2)
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        for log in logs:
            log.close()


def _log(tmp_path: Path, number: int) -> str:
    return (tmp_path / f"gunicorn-{number}.log").read_text()[-4000:]


def test_two_app_processes_share_sessions_and_rate_limits(settings, two_processes):
    # The processes use the real password hashers, not the fast one of the test settings.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    user = UserFactory(email="traveller@example.org", password=PASSWORD)  # committed
    first, second = two_processes

    # Sign in on the first process, with the CSRF token of its login form.
    page = call(first, "GET", "/accounts/login/")
    assert page.status == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.body).group(1)
    cookies = {"csrftoken": page.cookies["csrftoken"].value}
    signed_in = call(
        first,
        "POST",
        "/accounts/login/",
        body=urlencode({"login": user.email, "password": PASSWORD, "csrfmiddlewaretoken": token}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        cookies=cookies,
    )
    assert signed_in.status == 302, signed_in.body[:2000]
    cookies["sessionid"] = signed_in.cookies["sessionid"].value

    # The second process knows the session: the account page is open, and shows the address.
    account = call(second, "GET", "/accounts/email/", cookies=cookies)
    assert account.status == 200
    assert user.email in account.body
    anonymous = call(second, "GET", "/accounts/email/")
    assert anonymous.status == 302 and "/accounts/login/" in anonymous.headers["Location"]

    # Two proposals per hour from this connection, counted in Redis whichever process answers.
    def propose(port):
        return call(
            port,
            "POST",
            "/api/v1/proposals",
            body=json.dumps(NEW_PLACE),
            headers={"Content-Type": "application/json"},
        )

    assert propose(first).status == 201
    assert propose(second).status == 201
    refused = propose(first)
    assert refused.status == 429
    refused = propose(second)
    assert refused.status == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert set(refused.json()) == {"message", "details"}
