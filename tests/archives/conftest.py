import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _private_dirs(settings, tmp_path):
    """Media and archives of each test in its own directory."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MAILLAGE_ARCHIVE_ROOT = tmp_path / "archives"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield
