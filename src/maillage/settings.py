"""Django settings. Values that vary between installations come from `maillage.env` only."""

import secrets
from pathlib import Path
from urllib.parse import unquote, urlsplit

import dj_database_url
import redis

from maillage import env

BASE_DIR = env.BASE_DIR
DEBUG = env.DEBUG


def _secret_key() -> str:
    """Use the configured key; otherwise keep a generated one beside the SQLite database.

    A fresh clone must start without questions, and a key that changed at every start would log
    everybody out, so the generated key is written once and reused.
    """
    if env.SECRET_KEY:
        return env.SECRET_KEY
    key_file = Path(env.SQLITE_PATH).parent / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env.ALLOWED_HOSTS
CSRF_TRUSTED_ORIGINS = env.CSRF_TRUSTED_ORIGINS

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",
    "django_tasks",
    "django_tasks_rq",
    "django_rq",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "maillage.core",
    "maillage.accounts",
    "maillage.places",
    "maillage.bookings",
    "maillage.agenda",
    "maillage.members",
    "maillage.community",
    "maillage.impact",
    "maillage.privacy",
    "maillage.archives",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.gzip.GZipMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Failures: outside every middleware that may query the database (sessions, users, messages),
    # so that an unreachable database or a lock timeout anywhere gives a clean 503 or 409.
    "maillage.core.middleware.DatabaseFailureMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Rate limits: allauth's 429s get our page and a Retry-After; failed log-ins become 429s.
    "maillage.core.middleware.TooManyRequestsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "maillage.accounts.middleware.MFARequiredMiddleware",
    "maillage.core.middleware.AccountLanguageMiddleware",
    "maillage.core.middleware.ContentSecurityPolicyMiddleware",
    "maillage.core.middleware.ApiMethodNotAllowedMiddleware",
]

ROOT_URLCONF = "maillage.urls"
WSGI_APPLICATION = "maillage.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "maillage.core.context_processors.site",
                "maillage.places.context_processors.navigation",
            ],
        },
    },
]

if env.DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(env.DATABASE_URL, conn_max_age=60, conn_health_checks=True)
    }
else:
    env.SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env.SQLITE_PATH,
            "OPTIONS": {
                # WAL lets readers go on while one writer writes; IMMEDIATE takes the write lock at
                # BEGIN so that concurrent writers queue instead of failing mid-transaction.
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                ),
                "transaction_mode": "IMMEDIATE",
                "timeout": env.DB_LOCK_TIMEOUT,
            },
            # Tests use a file too: an in-memory shared-cache database answers "table is locked"
            # at once instead of queueing writers, so concurrency tests would test nothing real.
            "TEST": {"NAME": str(env.SQLITE_PATH.with_name("test-" + env.SQLITE_PATH.name))},
        }
    }

# Failures: PostgreSQL gives up waiting for a lock after MAILLAGE_DB_LOCK_TIMEOUT seconds (the
# request answers 409, see maillage.core.failures), cancels a statement running longer than
# MAILLAGE_DB_STATEMENT_TIMEOUT seconds and an unreachable server after 5 seconds (both 503), so
# that no request hangs on the database. SQLite waits MAILLAGE_DB_LOCK_TIMEOUT for its write lock.
_database = DATABASES["default"]
_database.setdefault("OPTIONS", {})
if _database["ENGINE"] == "django.db.backends.postgresql":
    _database["OPTIONS"].setdefault("connect_timeout", 5)
    _server_options = [_database["OPTIONS"].get("options", "")]
    if env.DB_LOCK_TIMEOUT:
        _server_options.append(f"-c lock_timeout={env.DB_LOCK_TIMEOUT}s")
    if env.DB_STATEMENT_TIMEOUT:
        _server_options.append(f"-c statement_timeout={env.DB_STATEMENT_TIMEOUT}s")
    # The app's queries are short: compiling them to machine code (PostgreSQL's JIT, triggered by
    # cost estimates on large tables) costs more than it saves — a third of the community
    # matching's time at national scale (bench/README.md).
    _server_options.append("-c jit=off")
    # psycopg prepares only what `maillage.core.prepared.prepared_cursor` runs (the other cursors
    # bind parameters client-side and are never prepared); None turns it off, for a pooler that
    # cannot follow prepared statements (docs/operations.md).
    _database["OPTIONS"].setdefault("prepare_threshold", 0 if env.DB_PREPARED_STATEMENTS else None)
    if any(_server_options):
        _database["OPTIONS"]["options"] = " ".join(o for o in _server_options if o)
elif _database["ENGINE"] == "django.db.backends.sqlite3":
    _database["OPTIONS"].setdefault("timeout", env.DB_LOCK_TIMEOUT)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-allauth: email is the identity; no usernames anywhere.
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env.EMAIL_VERIFICATION or (
    "mandatory" if env.EMAIL_URL else "optional"
)
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_PREVENT_ENUMERATION = True
LOGIN_REDIRECT_URL = "/"
LOGIN_URL = "account_login"

# Two-factor authentication: an authenticator app (TOTP) and recovery codes, offered to everyone;
# required of place managers, network coordinators and superusers when MAILLAGE_MFA_REQUIRED is on
# (maillage.accounts.middleware reads it at each request, so tests can switch it).
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env.SITE_NAME
# Accept the previous and next 30-second code too: phones whose clock drifts a little still work.
MFA_TOTP_TOLERANCE = 1
MAILLAGE_MFA_REQUIRED = env.MFA_REQUIRED

LANGUAGE_CODE = "fr"
LANGUAGES = [
    ("fr", "Français"),
    ("es", "Español"),
    ("en", "English"),
    ("ca", "Català"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env.TIME_ZONE
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env.STATIC_ROOT
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/leaflet", env.NODE_MODULES / "leaflet" / "dist"),
    ("vendor/leaflet.markercluster", env.NODE_MODULES / "leaflet.markercluster" / "dist"),
    ("vendor/htmx", env.NODE_MODULES / "htmx.org" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_URL = "/media/"
MEDIA_ROOT = env.MEDIA_ROOT

if env.REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env.REDIS_URL,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Background jobs (docs/operations.md): Django's tasks framework (the django-tasks backport).
# Without Redis each job runs at once in the process that enqueues it, so `make run` needs no
# worker; with REDIS_URL jobs go to the RQ queue "default" in the same Redis, run by
# `maillage rqworker` (deploy/maillage-worker.service). MAILLAGE_TASKS_BACKEND chooses either.
_tasks_backend = env.TASKS_BACKEND or ("rq" if env.REDIS_URL else "immediate")
if _tasks_backend == "rq":
    if not env.REDIS_URL:
        raise ValueError("MAILLAGE_TASKS_BACKEND=rq needs REDIS_URL")
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
RQ_QUEUES = {}
if env.REDIS_URL:
    _redis = urlsplit(env.REDIS_URL)
    # Given a URL, django-rq opens a new connection (and pool) for every job enqueued: one pool
    # per process, shared by its threads (and renewed after a fork), keeps them open.
    RQ_QUEUES["default"] = {
        "HOST": _redis.hostname or "localhost",
        "PORT": _redis.port or 6379,
        "REDIS_CLIENT_KWARGS": {"connection_pool": redis.ConnectionPool.from_url(env.REDIS_URL)},
    }
# Jobs are enqueued by our own transaction.on_commit callbacks, so at once; workers run them with
# the job class of django-tasks-rq.
RQ = {"COMMIT_MODE": "auto", "JOB_CLASS": "django_tasks_rq.Job"}
# No RQ dashboard in the admin (it would show job arguments, such as email bodies, to staff):
# `maillage rqstats` and the rq command line (docs/operations.md) are the tools.
RQ_SHOW_ADMIN_LINK = False

if env.EMAIL_URL:
    # smtp://user:password@host:port (TLS on by default; smtps:// for implicit SSL)
    _email = urlsplit(env.EMAIL_URL)
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _email.hostname or "localhost"
    EMAIL_PORT = _email.port or (465 if _email.scheme == "smtps" else 587)
    EMAIL_HOST_USER = unquote(_email.username or "")
    EMAIL_HOST_PASSWORD = unquote(_email.password or "")
    EMAIL_USE_SSL = _email.scheme == "smtps"
    EMAIL_USE_TLS = not EMAIL_USE_SSL
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env.DEFAULT_FROM_EMAIL
SERVER_EMAIL = env.DEFAULT_FROM_EMAIL

SESSION_COOKIE_SECURE = env.SECURE
CSRF_COOKIE_SECURE = env.SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env.SECURE:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True

# Production (docs/operations.md). Behind TLS every cookie is HTTPS-only and never sent on
# cross-site sub-requests; the health check stays reachable over plain HTTP from the host itself.
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = env.SECURE
LANGUAGE_COOKIE_SAMESITE = "Lax"
if env.SECURE:
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_PRELOAD = env.HSTS_PRELOAD
# Production: with Redis every app process shares the cache, the rate-limit counters and the
# sessions; sessions are written through to the database too, so a Redis restart logs nobody out.
if env.REDIS_URL:
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

MAILLAGE_SITE_NAME = env.SITE_NAME
MAILLAGE_TILE_URL = env.TILE_URL
MAILLAGE_TILE_ATTRIBUTION = env.TILE_ATTRIBUTION
MAILLAGE_PROPOSALS_PER_HOUR = env.PROPOSALS_PER_HOUR
MAILLAGE_BASE_URL = env.BASE_URL
MAILLAGE_TRUST_PROXY = env.TRUST_PROXY

# Rate limits: attempts/period from MAILLAGE_RATE_* (see .env.example), per IP and per account
# or submitted email; past one, a 429 page (or JSON) with Retry-After. allauth keeps its counters
# in the cache like maillage.core.ratelimit; maillage.accounts.ratelimit hashes their keys with the
# secret key (no IP or email stored) and TooManyRequestsMiddleware writes the answer. Log-ins: the
# 6th failure for one account within 30 minutes is refused, whether the account exists or not.
ACCOUNT_RATE_LIMITS = {
    "login": f"{env.RATE_LOGIN_PER_IP}/ip",
    "login_failed": f"{env.RATE_LOGIN_FAILED_PER_IP}/ip,{env.RATE_LOGIN_FAILED_PER_ACCOUNT}/key",
    "signup": f"{env.RATE_SIGNUP_PER_IP}/ip",
    "reset_password": (
        f"{env.RATE_PASSWORD_RESET_PER_IP}/ip,{env.RATE_PASSWORD_RESET_PER_EMAIL}/key"
    ),
    "reset_password_from_key": f"{env.RATE_PASSWORD_RESET_LINK_PER_IP}/ip",
    "confirm_email": (
        f"{env.RATE_CONFIRMATION_EMAIL_PER_EMAIL}/key,{env.RATE_CONFIRMATION_EMAIL_PER_IP}/ip"
    ),
}
ACCOUNT_ADAPTER = "maillage.accounts.adapter.AccountAdapter"  # client IP as core.ratelimit finds it
ALLAUTH_TRUSTED_PROXY_COUNT = 1 if env.TRUST_PROXY else 0
MAILLAGE_API_TOKEN_FAILURES_PER_IP = env.RATE_API_TOKEN_FAILURES_PER_IP
# API booking and waiting-list requests per account (bookings/api.py).
MAILLAGE_BOOKINGS_PER_ACCOUNT = env.RATE_BOOKINGS_PER_ACCOUNT
# Event registrations and newsletter subscriptions per IP (agenda pages and API).
MAILLAGE_REGISTRATIONS_PER_IP = env.RATE_REGISTRATIONS_PER_IP
# Searches and check-ins on a place's check-in kiosk per IP (members/kiosk_views.py).
MAILLAGE_KIOSK_PER_IP = env.RATE_KIOSK_PER_IP
# Community posts, private replies, reports and votes per IP and per account; mentoring questions
# per IP (community/throttle.py).
MAILLAGE_COMMUNITY_POSTS = env.RATE_COMMUNITY_POSTS
MAILLAGE_MENTORING_PER_IP = env.RATE_MENTORING_PER_IP
# PDF renders of the funders' report per IP (each takes a second of CPU; impact/funders_views.py).
MAILLAGE_RATE_REPORTS_PER_IP = env.RATE_REPORTS_PER_IP

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO" if DEBUG else "WARNING"},
}

SILENCED_SYSTEM_CHECKS: list[str] = []
# Production: asking browsers to preload HSTS commits the whole registered domain and all its
# sub-domains to HTTPS for months, a decision for the domain's owner (MAILLAGE_HSTS_PRELOAD=1), not
# a default of one application that usually runs on a sub-domain (where the flag has no effect).
if env.SECURE and not env.HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS.append("security.W021")

# archives: where place archives are written (private, served only to those allowed), how many
# days they are kept, and the largest archive an import unpacks (docs/place-archive.md).
MAILLAGE_ARCHIVE_ROOT = env.ARCHIVE_ROOT
MAILLAGE_ARCHIVE_KEEP_DAYS = env.ARCHIVE_KEEP_DAYS
MAILLAGE_ARCHIVE_MAX_MB = env.ARCHIVE_MAX_MB

# privacy: retention of unused accounts and personal logs, in days (privacy/retention.py).
MAILLAGE_RETENTION_ACCOUNT_DAYS = env.RETENTION_ACCOUNT_DAYS
MAILLAGE_RETENTION_NOTICE_DAYS = env.RETENTION_NOTICE_DAYS
MAILLAGE_RETENTION_LOG_DAYS = env.RETENTION_LOG_DAYS
