"""An archive exported, the place and its people removed, the archive imported: the same rows,
with the same values, in every table (the issue's acceptance test), media files included."""

import json
import zipfile

import pytest
from django.contrib.auth.hashers import is_password_usable

from maillage.accounts.models import User
from maillage.agenda.models import EventSeries
from maillage.archives.export import export_place
from maillage.archives.load import import_archive
from maillage.archives.tables import FILES, TABLES, VERSION
from maillage.core.models import AuditEntry
from maillage.members.models import CheckIn, Membership
from maillage.places.models import Network, Place
from tests.factories import NetworkFactory

from .snapshot import snapshot
from .world import rich_place

pytestmark = pytest.mark.django_db


def forget(place: Place) -> None:
    """Remove the place and everybody who appears in its archive from this database."""
    emails = [
        "manager@example.org",
        "staff@example.org",
        "resident@example.org",
        "nomad@example.org",
        "guest@example.org",
    ]
    CheckIn.objects.filter(place=place).delete()
    Membership.objects.filter(place=place).delete()
    EventSeries.objects.filter(events__place=place).delete()
    place.delete()
    User.objects.filter(email__in=emails).delete()


@pytest.fixture
def world():
    return rich_place(slug="la-fabrique", name="La Fabrique")


def test_every_table_comes_back_with_the_same_rows_and_values(world, tmp_path):
    before = snapshot(world.place)
    for table in TABLES:
        assert before[table.name], f"the test world leaves {table.name} empty"
    path = tmp_path / "fabrique.zip"
    manifest = export_place(world.place, path)
    forget(world.place)
    assert not Place.objects.filter(slug="la-fabrique").exists()

    lines = []
    place, counts = import_archive(path, report=lines.append)

    assert place.slug == "la-fabrique"
    after = snapshot(place)
    for name, rows in before.items():
        assert len(after[name]) == len(rows), name
        for row_after, row_before in zip(after[name], rows, strict=True):
            assert row_after == row_before, name
    assert {name: counts[name] for name in manifest["counts"]} == manifest["counts"]
    assert counts["new_accounts"] == 5
    assert any("events.jsonl" in line for line in lines)
    assert any(line.startswith("Wrote occurrences") for line in lines)
    # People come back without a usable password: they choose one through "forgot password".
    assert not any(
        is_password_usable(user.password)
        for user in User.objects.filter(email__endswith="@example.org")
    )
    entry = AuditEntry.objects.get(action="place.archive.import")
    assert entry.place == place
    assert entry.details["counts"]["occurrences"] == counts["occurrences"]


def test_the_archive_holds_the_documented_files_and_no_secret(world, tmp_path):
    path = tmp_path / "a.zip"
    manifest = export_place(world.place, path)
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        assert set(FILES) | {"manifest.json"} <= names
        media = {name for name in names if name.startswith("media/")}
        # A place photo, an animator's photo, a room's photo and an event's image.
        assert len(media) == 4
        people = [json.loads(line) for line in archive.read("people.jsonl").splitlines()]
        everything = b"".join(archive.read(name) for name in names - media)
    assert manifest["version"] == VERSION
    assert manifest["counts"]["people"] == len(people) == 5
    assert set(people[0]) == {"id", "email", "full_name", "language"}
    for user in User.objects.all():
        assert user.password.encode() not in everything


def test_people_of_this_instance_are_matched_by_email_and_keep_their_account(world, tmp_path):
    path = tmp_path / "a.zip"
    export_place(world.place, path)
    network = NetworkFactory(slug="reseau-b")
    accounts = User.objects.count()

    place, counts = import_archive(path, slug="la-fabrique-2", network=network)

    assert counts["new_accounts"] == 0
    assert User.objects.count() == accounts
    assert list(place.networks.all()) == [network]
    assert set(place.roles.values_list("user__email", flat=True)) == set(
        world.place.roles.values_list("user__email", flat=True)
    )
    # The accounts already have a profile here: it stays as it is.
    assert counts["member_profiles"] == 0
    assert counts["occurrences"] == snapshot(world.place)["occurrences"].__len__()


def test_an_archive_loads_into_an_empty_database_with_the_same_counts(world, tmp_path):
    """The issue's words: export, an instance with nothing in it, import, the same counts."""
    path = tmp_path / "fabrique.zip"
    manifest = export_place(world.place, path)
    before = {name: len(rows) for name, rows in snapshot(world.place).items()}
    for model in (CheckIn, Membership, EventSeries, Place, User):
        model.objects.all().delete()
    Network.objects.all().delete()
    AuditEntry.objects.all().delete()
    assert not any(table.model.objects.exists() for table in TABLES)

    place, counts = import_archive(path, report=lambda line: None)

    after = {name: len(rows) for name, rows in snapshot(place).items()}
    assert after == before
    assert {name: counts[name] for name in manifest["counts"]} == manifest["counts"]
    assert counts["new_accounts"] == User.objects.count() == manifest["counts"]["people"]
