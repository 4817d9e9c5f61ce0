import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clear_cache():
    """Rate-limit counters live in the cache; every test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _french_by_default(settings):
    settings.LANGUAGE_CODE = "fr"


@pytest.fixture(autouse=True)
def _static_files_without_manifest(settings):
    """Pages render without a prior collectstatic (production uses hashed, compressed files)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Real hashers cost a third of a second per user; tests need no brute-force resistance."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _mfa_not_required(settings):
    """Managers and coordinators need no authenticator app in tests unless a test asks for it
    (tests/accounts/test_mfa.py turns MAILLAGE_MFA_REQUIRED back on)."""
    settings.MAILLAGE_MFA_REQUIRED = False


@pytest.fixture(autouse=True)
def _static_files_found_on_demand(settings):
    """WhiteNoise otherwise lists every collected file again for each new test client."""
    settings.WHITENOISE_AUTOREFRESH = True


@pytest.fixture(autouse=True)
def _background_jobs_in_process(settings):
    """Jobs (emails...) run at once, in the test, even when REDIS_URL would queue them for a
    worker (tests/core/test_tasks.py switches to the RQ backend where it tests it)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
