"""Production settings: `maillage check --deploy` is clean with the documented environment, and
the settings it does not look at (sessions in Redis, cookies, database timeouts) are right."""

import json
import os
import secrets
import subprocess
import sys
import textwrap

import pytest


@pytest.fixture
def production_environment(tmp_path):
    """The environment of docs/operations.md, without any value a developer (or another test,
    like the browser tests' DJANGO_ALLOW_ASYNC_UNSAFE) may have exported."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MAILLAGE_", "DJANGO_")) and key not in ("DATABASE_URL", "REDIS_URL")
    }
    environment.update(
        {
            "DJANGO_SETTINGS_MODULE": "maillage.settings",
            "MAILLAGE_DEBUG": "0",
            "MAILLAGE_SECURE": "1",
            "MAILLAGE_SECRET_KEY": secrets.token_urlsafe(64),
            "MAILLAGE_ALLOWED_HOSTS": "example.org",
            "MAILLAGE_EMAIL_URL": "smtp://mailer:secret@mail.example.org:587",
            "MAILLAGE_BASE_URL": "https://example.org",
            # Never used by the check; keeps the run away from the developer's var/.
            "MAILLAGE_SQLITE_PATH": str(tmp_path / "maillage.sqlite3"),
        }
    )
    return environment


def check_deploy(environment) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "maillage", "check", "--deploy", "--fail-level", "WARNING"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "services",
    [
        {},
        {
            "DATABASE_URL": "postgres://maillage:secret@127.0.0.1:5432/maillage",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
        },
    ],
    ids=["sqlite", "postgresql-and-redis"],
)
def test_the_deploy_check_is_clean_in_production(production_environment, services):
    completed = check_deploy({**production_environment, **services})

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "System check identified no issues" in completed.stdout + completed.stderr


def test_the_deploy_check_does_complain_without_https(production_environment):
    """The check has teeth: the same environment without MAILLAGE_SECURE fails it."""
    completed = check_deploy({**production_environment, "MAILLAGE_SECURE": "0"})

    assert completed.returncode != 0
    output = completed.stdout + completed.stderr
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in output


def test_production_settings_share_sessions_and_bound_database_waits(production_environment):
    script = textwrap.dedent(
        """
        import json
        from django.conf import settings
        database = settings.DATABASES["default"]
        print(json.dumps({
            "session_engine": settings.SESSION_ENGINE,
            "cache": settings.CACHES["default"]["BACKEND"],
            "cookies_secure": [settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE,
                               settings.LANGUAGE_COOKIE_SECURE],
            "samesite": [settings.SESSION_COOKIE_SAMESITE, settings.CSRF_COOKIE_SAMESITE],
            "ssl_redirect": settings.SECURE_SSL_REDIRECT,
            "redirect_exempt": settings.SECURE_REDIRECT_EXEMPT,
            "proxy_header": list(settings.SECURE_PROXY_SSL_HEADER),
            "health_checks": database["CONN_HEALTH_CHECKS"],
            "options": database["OPTIONS"],
            "silenced": settings.SILENCED_SYSTEM_CHECKS,
        }))
        """
    )
    environment = {
        **production_environment,
        "DATABASE_URL": "postgres://maillage:secret@127.0.0.1:5432/maillage?sslmode=prefer",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "MAILLAGE_DB_LOCK_TIMEOUT": "7",
        "MAILLAGE_DB_STATEMENT_TIMEOUT": "25",
    }
    completed = subprocess.run(
        [sys.executable, "-c", script],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    values = json.loads(completed.stdout)

    assert values["session_engine"] == "django.contrib.sessions.backends.cached_db"
    assert values["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert values["cookies_secure"] == [True, True, True]
    assert values["samesite"] == ["Lax", "Lax"]
    assert values["ssl_redirect"] is True
    assert values["redirect_exempt"] == ["^healthz$"]
    assert values["proxy_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["health_checks"] is True
    assert values["options"]["sslmode"] == "prefer"
    assert values["options"]["connect_timeout"] == 5
    assert values["options"]["options"] == (
        "-c lock_timeout=7s -c statement_timeout=25s -c jit=off"
    )
    # Only what settings.py explains: HSTS preload is the domain owner's decision.
    assert values["silenced"] == ["security.W021"]
