"""Writing a place archive (docs/place-archive.md): a zip of JSON Lines files, one per table,
the media files of the place under media/, and manifest.json with the format's name and
version and the number of rows of each table."""

import datetime as dt
import json
import posixpath
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from decimal import Decimal

from django.conf import settings
from django.db.models import Model
from django.utils import timezone

from maillage.accounts.models import User
from maillage.members.models import MemberSkill
from maillage.places.models import Place

from .tables import FORMAT, PEOPLE_FIELDS, PLACE_FIELDS, TABLES, VERSION, Table

SPOOL_BYTES = 8 << 20

Progress = Callable[[str, int], None]


def to_json(value):
    """A model value as JSON: dates and times in ISO 8601, decimals as strings."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _line(row: dict) -> bytes:
    return (json.dumps(row, ensure_ascii=False, sort_keys=False) + "\n").encode()


def media_name(table: str, pk: int, field: str, stored_name: str) -> str:
    extension = posixpath.splitext(stored_name)[1].lower() or ".bin"
    return f"media/{table}/{pk}-{field}{extension}"


class _Writer:
    def __init__(self, archive: zipfile.ZipFile):
        self.archive = archive
        self.people: set[int] = set()
        self.ids: dict[str, set[int]] = {}
        self.missing_media: list[str] = []

    def media(self, table: Table, obj: Model, name: str) -> str | None:
        file = getattr(obj, name)
        if not file:
            return None
        path = media_name(table.name, obj.pk, name, file.name)
        try:
            with (
                file.storage.open(file.name, "rb") as source,
                self.archive.open(path, "w", force_zip64=True) as target,
            ):
                while chunk := source.read(1 << 20):
                    target.write(chunk)
        except OSError:
            self.missing_media.append(file.name)
            return None
        return path

    def row(self, table: Table, obj: Model) -> dict:
        row = {"id": obj.pk}
        for name in table.fields:
            row[name] = to_json(getattr(obj, name))
        for key, (fk, target) in table.refs.items():
            value = getattr(obj, f"{fk}_id")
            # An optional link to a row outside the place (a pass of another place) is dropped.
            row[key] = value if value in self.ids[target] else None
        for name in table.people:
            value = getattr(obj, f"{name}_id")
            if value is not None:
                self.people.add(value)
            row[name] = value
        for name in table.media:
            row[name] = self.media(table, obj, name)
        if table.name == "member_profiles":
            row["skills"] = [
                {"code": skill.code, "label": skill.label}
                for skill in MemberSkill.objects.filter(user_id=obj.user_id).order_by("key")
            ]
        elif table.name == "plans":
            row["valid_places"] = sorted(obj.valid_places.values_list("slug", flat=True))
        elif table.name == "checkins":
            row["home_place"] = obj.home_place.slug if obj.home_place_id else None
        if table.keeps_created_at:
            row["created_at"] = to_json(obj.created_at)
        return row


def export_place(place: Place, target, *, progress: Progress | None = None) -> dict:
    """Write the archive of `place` to `target` (a path or a binary file). Returns the manifest.

    `progress(step, percent)` is called before each table and at the end.
    """
    report = progress or (lambda step, percent: None)
    counts: dict[str, int] = {}
    steps = len(TABLES) + 2
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        writer = _Writer(archive)
        report("place", 0)
        place_row = {
            "id": place.pk,
            **{name: to_json(getattr(place, name)) for name in PLACE_FIELDS},
        }
        place_row["networks"] = sorted(place.networks.values_list("slug", flat=True))
        archive.writestr("place.jsonl", _line(place_row))
        counts["place"] = 1
        for number, table in enumerate(TABLES, start=1):
            report(table.name, number * 100 // steps)
            ids = writer.ids.setdefault(table.name, set())
            # Lines wait in a spooled file while media files go into the zip (one writer at once).
            with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as lines:
                n = 0
                for obj in table.rows(place).order_by("pk").iterator(chunk_size=1000):
                    lines.write(_line(writer.row(table, obj)))
                    ids.add(obj.pk)
                    n += 1
                lines.seek(0)
                with archive.open(table.file_name, "w", force_zip64=True) as out:
                    shutil.copyfileobj(lines, out)
            counts[table.name] = n
        report("people", (steps - 1) * 100 // steps)
        with archive.open("people.jsonl", "w") as out:
            people = User.objects.filter(pk__in=writer.people).order_by("pk")
            for person in people.iterator(chunk_size=1000):
                out.write(_line({name: getattr(person, name) for name in PEOPLE_FIELDS}))
        counts["people"] = len(writer.people)
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "exported_at": timezone.now().isoformat(),
            "instance": settings.MAILLAGE_BASE_URL,
            "place": place.slug,
            "counts": counts,
            "missing_media": writer.missing_media,
        }
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    report("done", 100)
    return manifest
