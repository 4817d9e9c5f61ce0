"""`maillage backup` and `maillage restore`: a round trip through an empty database gives back the
same rows per model and the same media files, on whichever engine the suite runs."""

import datetime as dt
import io
import json
import zipfile

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from maillage.accounts.services import api_token_create
from maillage.core import backups
from maillage.places import services
from maillage.places.models import Place, PlacePhoto, PlaceProposal, PlaceRevision
from tests.factories import (
    NetworkFactory,
    OpeningHoursFactory,
    PlaceFactory,
    SeasonFactory,
    UserFactory,
    make_coordinator,
    make_manager,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _messages_in_english(settings):
    """Commands speak the site's language; these tests read the English messages."""
    settings.LANGUAGE_CODE = "en"


# The smallest valid PNG: one transparent pixel.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def make_instance():
    """A bit of everything: people, roles, a group with a permission, places with terms, hours,
    seasons, a photo, proposals moderated and pending, history, a token."""
    network = NetworkFactory(slug="solozere", name="Solozère")
    coordinator = make_coordinator(network, email="coord@example.org")
    place = services.place_create(
        data={
            "name": "La Fabrique",
            "town": "Mende",
            "latitude": 44.5181,
            "longitude": 3.5006,
            "services": ["wifi"],
            "translations": {"es": {"summary": "Un lugar"}},
        },
        author=coordinator,
        networks=[network],
    )
    make_manager(place, email="manager@example.org")
    other = PlaceFactory()
    OpeningHoursFactory(place=other, opens=dt.time(8, 30), closes=dt.time(12, 0))
    SeasonFactory(place=other)
    PlacePhoto.objects.create(place=place, image=ContentFile(PIXEL, name="front.png"))
    group = Group.objects.create(name="editors")
    group.permissions.add(Permission.objects.get(codename="change_place"))
    UserFactory(email="member@example.org").groups.add(group)
    proposal = services.proposal_submit(
        kind=PlaceProposal.Kind.NEW,
        payload={"name": "La Grange", "town": "Florac", "latitude": 44.3, "longitude": 3.6},
        proposer_email="alice@example.org",
    )
    services.proposal_approve(proposal=proposal, reviewer=coordinator)
    services.proposal_submit(
        kind=PlaceProposal.Kind.CORRECTION,
        place=place,
        payload={"phone": "04 66 00 00 00"},
        proposer_email="bob@example.org",
    )
    api_token_create(user=coordinator, name="script")
    return place


def run(command, *args) -> str:
    out = io.StringIO()
    call_command(command, *map(str, args), stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_backup_flush_restore_gives_back_every_row_and_media_file(tmp_path, media_root):
    place = make_instance()
    photo_name = PlacePhoto.objects.get().image.name
    before = backups.count_rows(backups.backed_up_models())
    assert before["places.place"] == 3 and before["accounts.user"] == 3
    archive = tmp_path / "backup.zip"

    output = run("backup", archive)

    assert str(archive) in output
    with zipfile.ZipFile(archive) as opened:
        manifest = json.loads(opened.read("manifest.json"))
        assert f"media/{photo_name}" in opened.namelist()
    assert manifest["format"] == backups.FORMAT
    assert manifest["counts"] == before
    assert manifest["media"]["files"] == 1
    assert "places" in manifest["migrations"]
    assert dt.datetime.fromisoformat(manifest["created_at"]) <= timezone.now()
    assert archive.stat().st_mode & 0o777 == 0o600

    call_command("flush", interactive=False, verbosity=0)
    (media_root / photo_name).unlink()
    assert not Place.objects.exists()

    output = run("restore", archive)

    assert backups.count_rows(backups.backed_up_models()) == before
    assert "✗" not in output
    restored = Place.objects.get(slug=place.slug)
    assert restored.services == ["wifi"]
    assert restored.translations == {"es": {"summary": "Un lugar"}}
    assert [n.slug for n in restored.networks.all()] == ["solozere"]
    assert PlaceRevision.objects.filter(place=restored).exists()
    assert Group.objects.get(name="editors").permissions.get().codename == "change_place"
    assert (media_root / photo_name).read_bytes() == PIXEL
    # New rows get ids after the restored ones: the sequences restarted by flush were reset.
    restored_ids = set(Place.objects.values_list("pk", flat=True))
    assert PlaceFactory().pk not in restored_ids


def test_restore_refuses_a_database_that_is_not_empty(tmp_path, media_root):
    make_instance()
    archive = tmp_path / "backup.zip"
    run("backup", archive)
    places = Place.objects.count()

    with pytest.raises(CommandError, match=r"not empty.*places\.place: 3"):
        run("restore", archive)

    assert Place.objects.count() == places


def test_restore_refuses_to_overwrite_a_different_media_file(tmp_path, media_root):
    make_instance()
    archive = tmp_path / "backup.zip"
    run("backup", archive)
    photo = PlacePhoto.objects.get().image.name
    call_command("flush", interactive=False, verbosity=0)
    (media_root / photo).write_bytes(b"another picture")

    with pytest.raises(CommandError, match="media files already exist"):
        run("restore", archive)

    assert not Place.objects.exists()


def test_restore_keeps_identical_media_files(tmp_path, media_root):
    make_instance()
    archive = tmp_path / "backup.zip"
    run("backup", archive)
    call_command("flush", interactive=False, verbosity=0)

    run("restore", archive)

    assert (media_root / PlacePhoto.objects.get().image.name).read_bytes() == PIXEL


def test_backup_does_not_overwrite_an_archive_unless_forced(tmp_path, media_root):
    archive = tmp_path / "backup.zip"
    archive.write_text("precious")

    with pytest.raises(CommandError, match="already exists"):
        run("backup", archive)

    assert archive.read_text() == "precious"
    run("backup", archive, "--force")
    assert zipfile.is_zipfile(archive)


def test_restore_refuses_what_is_not_a_backup_or_comes_from_a_newer_version(tmp_path, media_root):
    not_zip = tmp_path / "notes.zip"
    not_zip.write_text("hello")
    with pytest.raises(CommandError, match="zip archive"):
        run("restore", not_zip)

    archive = tmp_path / "backup.zip"
    run("backup", archive)
    newer = tmp_path / "newer.zip"
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(newer, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "manifest.json":
                manifest = json.loads(data)
                manifest["migrations"]["places"].append("9999_from_the_future")
                data = json.dumps(manifest).encode()
            target.writestr(info, data)
    with pytest.raises(CommandError, match="newer version"):
        run("restore", newer)


def test_restore_refuses_paths_outside_the_media_folder(tmp_path, media_root):
    archive = tmp_path / "backup.zip"
    run("backup", archive)
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(evil, "w") as target:
        for info in source.infolist():
            target.writestr(info, source.read(info))
        target.writestr("media/../../escaped.txt", b"gotcha")

    with pytest.raises(CommandError, match="outside the media folder"):
        run("restore", evil)

    assert not (tmp_path / "escaped.txt").exists()
