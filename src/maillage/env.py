"""The only module that reads the process environment.

Every setting that can change between installations is read here, with its default, so that
`.env.example` and this file together are the full list of what an operator can configure.
"""

import os
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


DEBUG = _bool("MAILLAGE_DEBUG", False)
SECRET_KEY = _str("MAILLAGE_SECRET_KEY", "")
ALLOWED_HOSTS = _list("MAILLAGE_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = _list("MAILLAGE_CSRF_TRUSTED_ORIGINS", "")
DATABASE_URL = _str("DATABASE_URL", "")
SQLITE_PATH = Path(_str("MAILLAGE_SQLITE_PATH", str(PROJECT_DIR / "var" / "maillage.sqlite3")))
REDIS_URL = _str("REDIS_URL", "")
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
