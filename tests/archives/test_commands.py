"""maillage export_place_archive and import_place_archive: progress lines, counts, clear
refusals."""

import io
import zipfile

import pytest
from django.core.management import CommandError, call_command

from maillage.core.models import AuditEntry
from maillage.places.models import Place
from tests.factories import NetworkFactory

from .world import rich_place

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def world():
    return rich_place(slug="la-fabrique", name="La Fabrique")


def test_export_then_import_under_a_new_slug(world, tmp_path):
    path = tmp_path / "fabrique.zip"
    output = run("export_place_archive", "la-fabrique", "--output", str(path))
    assert "  0 % place" in output
    assert "100 % done" in output
    assert "occurrences: 7" in output
    assert f"Archive written to {path}." in output
    assert zipfile.is_zipfile(path)
    assert AuditEntry.objects.filter(action="place.archive.export", place=world.place).exists()

    network = NetworkFactory(slug="causses")
    output = run("import_place_archive", str(path), "--network", "causses", "--slug", "fabrique-2")
    assert "Checked events.jsonl: 3 lines." in output
    assert "Wrote registrations: 2." in output
    assert "occurrences: 7" in output
    assert "new_accounts: 0" in output
    assert "Place La Fabrique imported as fabrique-2." in output
    copy = Place.objects.get(slug="fabrique-2")
    assert list(copy.networks.all()) == [network]


def test_export_refuses_an_unknown_place_or_an_existing_file(world, tmp_path):
    with pytest.raises(CommandError, match="No place with the identifier nowhere"):
        run("export_place_archive", "nowhere")
    taken = tmp_path / "taken.zip"
    taken.write_bytes(b"mine")
    with pytest.raises(CommandError, match="already exists"):
        run("export_place_archive", "la-fabrique", "--output", str(taken))
    assert taken.read_bytes() == b"mine"


def test_import_says_why_it_refuses_and_writes_nothing(world, tmp_path):
    path = tmp_path / "fabrique.zip"
    run("export_place_archive", "la-fabrique", "--output", str(path))
    places = Place.objects.count()
    with pytest.raises(CommandError) as error:
        run("import_place_archive", str(path))
    assert str(error.value).startswith("Archive refused, nothing was written. place.jsonl, line 1:")
    assert "--slug NEW_SLUG" in str(error.value)
    with pytest.raises(CommandError, match="No network with the identifier nowhere"):
        run("import_place_archive", str(path), "--network", "nowhere", "--slug", "x")
    with pytest.raises(CommandError, match="Cannot read"):
        run("import_place_archive", str(tmp_path / "missing.zip"))
    assert Place.objects.count() == places
