"""Archives that must be refused: the message names the file (and line), and nothing is written,
neither rows nor media files."""

import json
import os
import zipfile

import pytest

from maillage.accounts.models import User
from maillage.archives.export import export_place
from maillage.archives.load import ArchiveError, import_archive
from maillage.core.models import AuditEntry
from maillage.places.models import Place

from .world import rich_place

pytestmark = pytest.mark.django_db


@pytest.fixture
def exported(tmp_path):
    world = rich_place(slug="la-fabrique")
    path = tmp_path / "good.zip"
    export_place(world.place, path)
    return path


def rewrite(source, target, *, replace=None, add=None, drop=()):
    """A copy of the archive `source` with some members replaced, added or left out."""
    replace = replace or {}
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            if info.filename in drop:
                continue
            data = old.read(info.filename)
            if info.filename in replace:
                data = replace[info.filename](data)
            new.writestr(info.filename, data)
        for name, data in (add or {}).items():
            new.writestr(name, data)
    return target


def lines_of(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.decode().splitlines()]


def as_lines(rows: list[dict]) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def edit_rows(change):
    def edit(data: bytes) -> bytes:
        rows = lines_of(data)
        change(rows)
        return as_lines(rows)

    return edit


def refused(path, settings, **options) -> str:
    counts = (Place.objects.count(), User.objects.count(), AuditEntry.objects.count())
    media_before = sorted(p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file())
    with pytest.raises(ArchiveError) as error:
        import_archive(path, **options)
    assert (Place.objects.count(), User.objects.count(), AuditEntry.objects.count()) == counts
    assert sorted(p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()) == media_before
    return str(error.value)


def test_a_place_whose_slug_is_taken_is_refused_with_a_hint(exported, settings):
    message = refused(exported, settings)
    assert "place.jsonl" in message
    assert "la-fabrique" in message
    assert "--slug" in message


def test_another_format_version(exported, tmp_path, settings):
    def version_2(data):
        manifest = json.loads(data)
        manifest["version"] = 2
        return json.dumps(manifest).encode()

    path = rewrite(exported, tmp_path / "v2.zip", replace={"manifest.json": version_2})
    message = refused(path, settings, slug="other")
    assert message.startswith("manifest.json:")
    assert "version 2" in message


def test_not_a_zip_and_not_an_archive(tmp_path, settings):
    text = tmp_path / "notes.zip"
    text.write_text("hello")
    assert "not a zip file" in refused(text, settings)
    empty = tmp_path / "empty.zip"
    zipfile.ZipFile(empty, "w").close()
    assert "manifest.json" in refused(empty, settings)


def test_a_broken_json_line(exported, tmp_path, settings):
    def break_second_line(data):
        first, second, *rest = data.split(b"\n")
        return b"\n".join([first, second[:-5], *rest])

    path = rewrite(exported, tmp_path / "b.zip", replace={"events.jsonl": break_second_line})
    assert refused(path, settings, slug="other") == (
        "events.jsonl, line 2: this line is not valid JSON."
    )


def test_a_missing_reference(exported, tmp_path, settings):
    def orphan(rows):
        rows[-1]["event"] = 999_999

    path = rewrite(exported, tmp_path / "r.zip", replace={"registrations.jsonl": edit_rows(orphan)})
    message = refused(path, settings, slug="other")
    assert message.startswith("registrations.jsonl, line 2: event refers to 999999")


def test_a_person_missing_from_people(exported, tmp_path, settings):
    def unknown_booker(rows):
        rows[0]["booker"] = 424242

    path = rewrite(
        exported, tmp_path / "p.zip", replace={"bookings.jsonl": edit_rows(unknown_booker)}
    )
    assert "people.jsonl" in refused(path, settings, slug="other")


def test_a_value_the_model_refuses(exported, tmp_path, settings):
    def nonsense(rows):
        rows[0]["capacity"] = "lots"

    path = rewrite(exported, tmp_path / "v.zip", replace={"resources.jsonl": edit_rows(nonsense)})
    message = refused(path, settings, slug="other")
    assert message.startswith("resources.jsonl, line 1: capacity:")


def test_a_term_outside_the_vocabulary(exported, tmp_path, settings):
    def unknown(rows):
        rows[0]["code"] = "casino"

    path = rewrite(
        exported, tmp_path / "w.zip", replace={"resource_terms.jsonl": edit_rows(unknown)}
    )
    message = refused(path, settings, slug="other")
    assert message == "resource_terms.jsonl, line 1: code: casino is not a term of the vocabulary."


def test_an_unknown_field(exported, tmp_path, settings):
    def extra(rows):
        rows[0]["password"] = "pbkdf2$..."

    path = rewrite(exported, tmp_path / "u.zip", replace={"people.jsonl": edit_rows(extra)})
    assert "unknown fields: password" in refused(path, settings, slug="other")


def test_overlapping_slots_of_a_resource(exported, tmp_path, settings):
    def overlap(rows):
        holding = [row for row in rows if row["status"] in ("pending", "confirmed")]
        holding[1]["start"], holding[1]["end"] = holding[0]["start"], holding[0]["end"]
        holding[1]["held_until"] = holding[0]["held_until"]
        holding[1]["booking"] = holding[0]["booking"]

    path = rewrite(exported, tmp_path / "o.zip", replace={"occurrences.jsonl": edit_rows(overlap)})
    assert "overlaps another slot" in refused(path, settings, slug="other")


def test_a_row_the_database_refuses_rolls_everything_back(exported, tmp_path, settings):
    """Two identical vocabulary terms pass the row checks but break a unique constraint while
    writing: the rows already written and the media files already saved go away."""

    def twice(rows):
        rows.append({**rows[0], "id": 777})

    def count(data):
        manifest = json.loads(data)
        manifest["counts"]["place_terms"] += 1
        return json.dumps(manifest).encode()

    path = rewrite(
        exported,
        tmp_path / "d.zip",
        replace={"place_terms.jsonl": edit_rows(twice), "manifest.json": count},
    )
    message = refused(path, settings, slug="other")
    assert message.startswith("place_terms.jsonl, line 3: refused by the database")


def test_a_count_that_does_not_match_the_manifest(exported, tmp_path, settings):
    path = rewrite(exported, tmp_path / "c.zip", replace={"equipment.jsonl": lambda data: b""})
    assert refused(path, settings, slug="other").startswith(
        "equipment.jsonl: 0 lines, the manifest announces 1"
    )


@pytest.mark.parametrize(
    "name", ["../../etc/cron.d/evil", "/etc/evil", "media/../../evil.webp", "media/x\\..\\y.webp"]
)
def test_a_path_outside_the_archive(exported, tmp_path, settings, name):
    path = rewrite(exported, tmp_path / "t.zip", add={name: b"x"})
    assert "unexpected file name" in refused(path, settings, slug="other")


def test_a_zip_bomb(exported, tmp_path, settings):
    path = rewrite(
        exported, tmp_path / "z.zip", add={"media/place_photos/9-image.webp": bytes(20 << 20)}
    )
    assert "zip bomb" in refused(path, settings, slug="other")


def test_an_archive_larger_than_allowed(exported, tmp_path, settings):
    settings.MAILLAGE_ARCHIVE_MAX_MB = 1
    path = rewrite(
        exported, tmp_path / "h.zip", add={"media/place_photos/9-image.webp": os.urandom(2 << 20)}
    )
    assert "more than 1 MB" in refused(path, settings, slug="other")


def test_a_media_file_that_is_no_image(exported, tmp_path, settings):
    with zipfile.ZipFile(exported) as archive:
        name = next(n for n in archive.namelist() if n.startswith("media/place_photos/"))
    path = rewrite(exported, tmp_path / "m.zip", replace={name: lambda data: b"<?php evil(); ?>"})
    message = refused(path, settings, slug="other")
    assert message.startswith(f"{name}: not a JPEG, PNG or WebP image")


def test_a_media_reference_to_a_file_not_in_the_archive(exported, tmp_path, settings):
    def elsewhere(rows):
        rows[0]["image"] = "../../../etc/passwd"

    path = rewrite(
        exported, tmp_path / "e.zip", replace={"place_photos.jsonl": edit_rows(elsewhere)}
    )
    assert "is not in the archive" in refused(path, settings, slug="other")


def test_an_invalid_new_slug(exported, settings):
    assert "not a valid identifier" in refused(exported, settings, slug="Pas Bon/..")


def test_a_value_of_the_wrong_type_in_people(exported, tmp_path, settings):
    def listed(rows):
        rows[0]["language"] = ["fr"]

    path = rewrite(exported, tmp_path / "l.zip", replace={"people.jsonl": edit_rows(listed)})
    assert refused(path, settings, slug="other").startswith(
        "people.jsonl, line 1: unknown language"
    )


def test_an_archive_repacked_with_folder_entries_is_accepted(exported, tmp_path):
    path = rewrite(exported, tmp_path / "f.zip", add={"media/": b"", "media/place_photos/": b""})
    place, counts = import_archive(path, slug="repacked")
    assert place.slug == "repacked"
    assert counts["place_photos"] == 1


def test_a_nul_character(exported, tmp_path, settings):
    def nul(rows):
        rows[0]["full_name"] = "Anne\x00"

    path = rewrite(exported, tmp_path / "n.zip", replace={"people.jsonl": edit_rows(nul)})
    assert (
        refused(path, settings, slug="other")
        == "people.jsonl, line 1: this line holds a NUL character."
    )
