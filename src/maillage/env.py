"""The only module that reads the process environment.

Every setting that can change between installations is read here, with its default, so that
`.env.example` and this file together are the full list of what an operator can configure.
"""

import os
import re
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent.parent


def _str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def _list(name: str, default: str) -> list[str]:
    return [item.strip() for item in _str(name, default).split(",") if item.strip()]


def _rate(name: str, default: str) -> str:
    """A rate limit written "<attempts>/<period>", the period in s, m, h or d: "5/30m", "20/1h"."""
    value = _str(name, "").strip() or default
    if not re.fullmatch(r"[1-9][0-9]*/[0-9]*[smhd]", value):
        raise ValueError(f"{name}={value!r}: expected attempts/period, e.g. 5/30m or 20/1h")
    return value


DEBUG = _bool("MAILLAGE_DEBUG", False)
SECRET_KEY = _str("MAILLAGE_SECRET_KEY", "")
ALLOWED_HOSTS = _list("MAILLAGE_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = _list("MAILLAGE_CSRF_TRUSTED_ORIGINS", "")
DATABASE_URL = _str("DATABASE_URL", "")
SQLITE_PATH = Path(_str("MAILLAGE_SQLITE_PATH", str(PROJECT_DIR / "var" / "maillage.sqlite3")))
REDIS_URL = _str("REDIS_URL", "")
# Background jobs: "immediate" (in the process that enqueues them) or "rq" (Redis and a worker);
# empty: rq when REDIS_URL is set, immediate otherwise.
TASKS_BACKEND = _str("MAILLAGE_TASKS_BACKEND", "").strip().lower()
if TASKS_BACKEND not in {"", "immediate", "rq"}:
    raise ValueError(f"MAILLAGE_TASKS_BACKEND={TASKS_BACKEND!r}: expected immediate or rq")
TIME_ZONE = _str("MAILLAGE_TIME_ZONE", "Europe/Paris")
DEFAULT_FROM_EMAIL = _str("MAILLAGE_FROM_EMAIL", "Maillage <noreply@maillage.localhost>")
EMAIL_URL = _str("MAILLAGE_EMAIL_URL", "")
EMAIL_VERIFICATION = _str("MAILLAGE_EMAIL_VERIFICATION", "")
TILE_URL = _str("MAILLAGE_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
TILE_ATTRIBUTION = _str(
    "MAILLAGE_TILE_ATTRIBUTION",
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>',
)
STATIC_ROOT = Path(_str("MAILLAGE_STATIC_ROOT", str(PROJECT_DIR / "var" / "static")))
MEDIA_ROOT = Path(_str("MAILLAGE_MEDIA_ROOT", str(PROJECT_DIR / "var" / "media")))
NODE_MODULES = Path(_str("MAILLAGE_NODE_MODULES", str(PROJECT_DIR / "node_modules")))
SITE_NAME = _str("MAILLAGE_SITE_NAME", "Maillage")
PROPOSALS_PER_HOUR = _int("MAILLAGE_PROPOSALS_PER_HOUR", 5)
SECURE = _bool("MAILLAGE_SECURE", False)
BASE_URL = _str("MAILLAGE_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
TRUST_PROXY = _bool("MAILLAGE_TRUST_PROXY", False)
MFA_REQUIRED = _bool("MAILLAGE_MFA_REQUIRED", True)
# Rate limits, "<attempts>/<period>" (see .env.example): per IP and per account or submitted email.
RATE_LOGIN_PER_IP = _rate("MAILLAGE_RATE_LOGIN_PER_IP", "30/1m")
RATE_LOGIN_FAILED_PER_ACCOUNT = _rate("MAILLAGE_RATE_LOGIN_FAILED_PER_ACCOUNT", "5/30m")
RATE_LOGIN_FAILED_PER_IP = _rate("MAILLAGE_RATE_LOGIN_FAILED_PER_IP", "30/5m")
RATE_SIGNUP_PER_IP = _rate("MAILLAGE_RATE_SIGNUP_PER_IP", "20/10m")
RATE_PASSWORD_RESET_PER_EMAIL = _rate("MAILLAGE_RATE_PASSWORD_RESET_PER_EMAIL", "3/1h")
RATE_PASSWORD_RESET_PER_IP = _rate("MAILLAGE_RATE_PASSWORD_RESET_PER_IP", "20/1h")
RATE_PASSWORD_RESET_LINK_PER_IP = _rate("MAILLAGE_RATE_PASSWORD_RESET_LINK_PER_IP", "20/1m")
RATE_CONFIRMATION_EMAIL_PER_EMAIL = _rate("MAILLAGE_RATE_CONFIRMATION_EMAIL_PER_EMAIL", "1/3m")
RATE_CONFIRMATION_EMAIL_PER_IP = _rate("MAILLAGE_RATE_CONFIRMATION_EMAIL_PER_IP", "20/10m")
RATE_API_TOKEN_FAILURES_PER_IP = _rate("MAILLAGE_RATE_API_TOKEN_FAILURES_PER_IP", "20/10m")
RATE_BOOKINGS_PER_ACCOUNT = _rate("MAILLAGE_RATE_BOOKINGS_PER_ACCOUNT", "120/1m")
RATE_REGISTRATIONS_PER_IP = _rate("MAILLAGE_RATE_REGISTRATIONS_PER_IP", "30/1h")
RATE_KIOSK_PER_IP = _rate("MAILLAGE_RATE_KIOSK_PER_IP", "300/10m")
RATE_COMMUNITY_POSTS = _rate("MAILLAGE_RATE_COMMUNITY_POSTS", "30/1h")
RATE_MENTORING_PER_IP = _rate("MAILLAGE_RATE_MENTORING_PER_IP", "5/1h")
RATE_REPORTS_PER_IP = _rate("MAILLAGE_RATE_REPORTS_PER_IP", "20/1h")

# Failures: how long a request waits for a row or table another one holds (SQLite: the write lock;
# then 409), and for one SQL statement (PostgreSQL only; then 503). Seconds; on PostgreSQL 0
# leaves it to the server's (or role's) own setting.
DB_LOCK_TIMEOUT = _int("MAILLAGE_DB_LOCK_TIMEOUT", 20)
DB_STATEMENT_TIMEOUT = _int("MAILLAGE_DB_STATEMENT_TIMEOUT", 30)
# The hottest statements (booking, registering, the API token) are planned once per connection.
DB_PREPARED_STATEMENTS = _bool("MAILLAGE_DB_PREPARED_STATEMENTS", True)

# Production: gunicorn (deploy/gunicorn.conf.py) and HTTPS.
PORT = _int("PORT", 8000)
BIND = _str("MAILLAGE_BIND", "")  # default 127.0.0.1:PORT
WORKERS = _int("MAILLAGE_WORKERS", 0)  # 0: one per CPU, at least two
THREADS = _int("MAILLAGE_THREADS", 4)
HSTS_PRELOAD = _bool("MAILLAGE_HSTS_PRELOAD", False)

# archives: place archives (docs/place-archive.md), written outside MEDIA_ROOT (never served
# directly), deleted after KEEP_DAYS; imports refuse archives larger than MAX_MB unpacked.
ARCHIVE_ROOT = Path(_str("MAILLAGE_ARCHIVE_ROOT", str(PROJECT_DIR / "var" / "archives")))
ARCHIVE_KEEP_DAYS = _int("MAILLAGE_ARCHIVE_KEEP_DAYS", 7)
ARCHIVE_MAX_MB = _int("MAILLAGE_ARCHIVE_MAX_MB", 2048)

# privacy: retention (docs/privacy.md). Accounts unused for ACCOUNT_DAYS are warned by email and
# erased NOTICE_DAYS later if still unused; personal logs older than LOG_DAYS are purged.
RETENTION_ACCOUNT_DAYS = _int("MAILLAGE_RETENTION_ACCOUNT_DAYS", 1095)
RETENTION_NOTICE_DAYS = _int("MAILLAGE_RETENTION_NOTICE_DAYS", 30)
RETENTION_LOG_DAYS = _int("MAILLAGE_RETENTION_LOG_DAYS", 365)
