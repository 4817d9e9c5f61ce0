"""Loading a place archive into this instance (docs/place-archive.md, "Import").

Two phases. Checking reads the whole archive and writes nothing: the zip's names and sizes (no
path outside media/, no member that inflates beyond reason, nothing beyond
MAILLAGE_ARCHIVE_MAX_MB), the manifest's format and version, every line of every file (JSON,
exactly the fields of the format, values through the models' own validation), every reference,
the images, and what the database would refuse (overlapping booked slots, events over
capacity, the slug already taken). Writing then creates everything in one transaction: should
the database still refuse a row, nothing stays, and the message names the file and line.
"""

import datetime as dt
import io
import itertools
import json
import re
import uuid
import warnings
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import JSONField, Model
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from maillage.accounts.models import User
from maillage.agenda.models import Event, Registration
from maillage.bookings.models import Occurrence
from maillage.bookings.services import resource_hours_rules_refresh
from maillage.core.audit import audit_record
from maillage.core.html import clean_html, html_to_text
from maillage.core.text import fold
from maillage.members import vocabulary as members_vocabulary
from maillage.members.models import MemberProfile, MemberSkill
from maillage.places.models import Network, Place
from maillage.places.services import place_hours_rules_refresh, refresh_search_fields

from .tables import FILES, FORMAT, PEOPLE_FIELDS, PLACE_FIELDS, TABLES, VERSION, Table

MEDIA_NAME = re.compile(r"media/[a-z_]+/[0-9]+-[a-z_]+\.(webp|jpe?g|png)")
MEDIA_FOLDER = re.compile(r"media/([a-z_]+/)?")
# A deflated member may not be more than this many times larger than its compressed bytes
# (a few hundred for JSON text; zip bombs reach millions).
MAX_RATIO = 200
MAX_LINE_BYTES = 1 << 20
IMAGE_FORMATS = {"JPEG", "PNG", "WEBP"}

Report = Callable[[str], None]


class ArchiveError(Exception):
    """A refused archive; the message says which file and line, in the reader's language."""


def _at(file: str, line: int | None, message: str) -> ArchiveError:
    if line is None:
        return ArchiveError(_("%(file)s: %(message)s") % {"file": file, "message": message})
    return ArchiveError(
        _("%(file)s, line %(line)d: %(message)s") % {"file": file, "line": line, "message": message}
    )


def _messages(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(
            f"{name}: {' '.join(str(m) for e in errors for m in e.messages)}"
            for name, errors in error.error_dict.items()
        )
    return " ".join(error.messages)


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class Row:
    line: int
    data: dict


@dataclass
class Archive:
    manifest: dict
    place: dict
    people: list[Row]
    tables: dict[str, list[Row]]
    zip: zipfile.ZipFile
    media: set[str] = field(default_factory=set)


# Reading ------------------------------------------------------------------------------------------


def _check_members(archive: zipfile.ZipFile, max_bytes: int) -> set[str]:
    total = 0
    media = set()
    for info in archive.infolist():
        name = info.filename
        if name in FILES or name == "manifest.json":
            pass
        elif MEDIA_FOLDER.fullmatch(name) and info.file_size == 0:
            continue  # folders added by a zip tool that repacked the archive
        elif MEDIA_NAME.fullmatch(name):
            media.add(name)
        else:
            raise _at(
                name,
                None,
                _(
                    "unexpected file name in the archive "
                    "(only the files of the format are accepted)."
                ),
            )
        if info.flag_bits & 0x1:
            raise _at(name, None, _("encrypted files are not accepted."))
        total += info.file_size
        if info.file_size > max_bytes or total > max_bytes:
            raise _at(
                name,
                None,
                _("the archive unpacks to more than %(mb)d MB (MAILLAGE_ARCHIVE_MAX_MB).")
                % {"mb": max_bytes >> 20},
            )
        if info.file_size > 1 << 16 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise _at(name, None, _("this file inflates far beyond its packed size (zip bomb)."))
    return media


def _lines(archive: zipfile.ZipFile, name: str):
    try:
        with archive.open(name) as raw:
            for number, line in enumerate(io.BufferedReader(raw), start=1):
                if len(line) > MAX_LINE_BYTES:
                    raise _at(name, number, _("line too long."))
                if not line.strip():
                    continue
                if b"\\u0000" in line:
                    # PostgreSQL stores no NUL character in text.
                    raise _at(name, number, _("this line holds a NUL character."))
                try:
                    data = json.loads(line)
                except (UnicodeDecodeError, ValueError):
                    raise _at(name, number, _("this line is not valid JSON.")) from None
                if not isinstance(data, dict):
                    raise _at(name, number, _("each line must be a JSON object."))
                yield Row(number, data)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as error:
        raise _at(name, None, _("unreadable (%(error)s).") % {"error": error}) from None


def _keys(name: str, row: Row, expected: list[str] | tuple[str, ...]) -> None:
    missing = [key for key in expected if key not in row.data]
    unknown = sorted(set(row.data) - set(expected))
    if missing or unknown:
        raise _at(
            name,
            row.line,
            _("fields missing: %(missing)s; unknown fields: %(unknown)s.")
            % {"missing": ", ".join(missing) or "-", "unknown": ", ".join(unknown) or "-"},
        )
    if not _is_id(row.data["id"]):
        raise _at(name, row.line, _("the id must be a whole number."))


def read_archive(source) -> Archive:
    """Open and parse `source` (a path or a binary file), checking its structure."""
    max_bytes = settings.MAILLAGE_ARCHIVE_MAX_MB << 20
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as error:
        raise ArchiveError(_("This is not a zip file: %(error)s") % {"error": error}) from None
    media = _check_members(archive, max_bytes)
    names = set(archive.namelist())
    if "manifest.json" not in names:
        raise _at("manifest.json", None, _("missing: this is not a Maillage place archive."))
    try:
        manifest = json.loads(archive.read("manifest.json"))
    except (UnicodeDecodeError, ValueError):
        raise _at("manifest.json", None, _("not valid JSON.")) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _at("manifest.json", None, _("this is not a Maillage place archive."))
    if manifest.get("version") != VERSION:
        raise _at(
            "manifest.json",
            None,
            _("format version %(found)s, this instance reads version %(version)d.")
            % {"found": manifest.get("version"), "version": VERSION},
        )
    for name in FILES:
        if name not in names:
            raise _at(name, None, _("missing from the archive."))
    place_rows = list(_lines(archive, "place.jsonl"))
    if len(place_rows) != 1:
        raise _at("place.jsonl", None, _("must hold exactly one line."))
    _keys("place.jsonl", place_rows[0], ("id", *PLACE_FIELDS, "networks"))
    people = list(_lines(archive, "people.jsonl"))
    for row in people:
        _keys("people.jsonl", row, PEOPLE_FIELDS)
    tables = {}
    for table in TABLES:
        rows = list(_lines(archive, table.file_name))
        for row in rows:
            _keys(table.file_name, row, table.columns())
        tables[table.name] = rows
    counts = manifest.get("counts") if isinstance(manifest.get("counts"), dict) else {}
    found = {"place": 1, "people": len(people), **{n: len(r) for n, r in tables.items()}}
    for name, number in found.items():
        if counts.get(name) != number:
            raise _at(
                f"{name}.jsonl",
                None,
                _("%(found)d lines, the manifest announces %(expected)s.")
                % {"found": number, "expected": counts.get(name)},
            )
    return Archive(manifest, place_rows[0].data, people, tables, archive, media)


# Checking -----------------------------------------------------------------------------------------


def _json_shape_ok(name: str, value) -> bool:
    """JSON fields hold what the apps read: translations {"es": {"summary": "..."}}, the other
    ones lists of texts."""
    if name == "translations":
        return isinstance(value, dict) and all(
            isinstance(texts, dict) and all(isinstance(t, str) for t in texts.values())
            for texts in value.values()
        )
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _set_value(obj: Model, name: str, value) -> None:
    model_field = obj._meta.get_field(name)
    if value is None and not model_field.null:
        raise ValidationError({name: _("a value is required.")})
    if isinstance(model_field, JSONField):
        if not _json_shape_ok(name, value):
            raise ValidationError({name: _("this value does not have the documented form.")})
    elif isinstance(value, list | dict):
        raise ValidationError({name: _("a single value is expected here.")})
    try:
        setattr(obj, model_field.attname, model_field.to_python(value))
    except ValidationError as error:
        raise ValidationError({name: error.messages}) from None
    except (TypeError, ValueError, OverflowError):
        raise ValidationError({name: _("this value cannot be read.")}) from None


def _image(archive: Archive, file: str, line: int, path) -> None:
    if path is None:
        return
    if not isinstance(path, str) or path not in archive.media:
        raise _at(file, line, _("the media file %(path)s is not in the archive.") % {"path": path})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with archive.zip.open(path) as data, Image.open(data) as image:
                if image.format not in IMAGE_FORMATS:
                    raise UnidentifiedImageError(path)
                image.verify()
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombWarning,
        Image.DecompressionBombError,
    ):
        raise _at(path, None, _("not a JPEG, PNG or WebP image we can read.")) from None


def _build(table: Table, row: Row) -> Model:
    """An unsaved instance with the row's plain values, checked by the model's validation."""
    obj = table.model()
    exclude = {f.name for f in table.model._meta.fields if f.is_relation} | set(table.media)
    try:
        for name in table.fields:
            _set_value(obj, name, row.data[name])
            value = getattr(obj, obj._meta.get_field(name).attname)
            if isinstance(value, dt.datetime) and timezone.is_naive(value):
                raise ValidationError(
                    {name: _("Times must carry their offset from UTC (ISO 8601).")}
                )
        if table.keeps_created_at:
            _set_value(obj, "created_at", row.data["created_at"])
            if obj.created_at is None or timezone.is_naive(obj.created_at):
                raise ValidationError(
                    {"created_at": _("An instant with its UTC offset is expected.")}
                )
            row.data["created_at"] = obj.created_at  # parsed once; saving would replace it
        obj.full_clean(exclude=exclude, validate_unique=False)
        vocabulary = getattr(table.model, "VOCABULARY", None)
        if vocabulary is not None and obj.code not in vocabulary.get(obj.kind, ()):
            raise ValidationError(
                {"code": _("%(code)s is not a term of the vocabulary.") % {"code": obj.code}}
            )
    except ValidationError as error:
        raise _at(table.file_name, row.line, _messages(error)) from None
    return obj


def _check_people(archive: Archive) -> dict[int, dict]:
    people = {}
    languages = {code for code, _name in settings.LANGUAGES}
    seen = set()
    for row in archive.people:
        data = row.data
        email = data["email"]
        try:
            if not isinstance(email, str):
                raise ValidationError(_("Enter a valid email address."))
            validate_email(email)
        except ValidationError as error:
            raise _at("people.jsonl", row.line, _messages(error)) from None
        if not isinstance(data["full_name"], str) or len(data["full_name"]) > 150:
            raise _at(
                "people.jsonl", row.line, _("the full name must be text of 150 characters at most.")
            )
        if not isinstance(data["language"], str) or data["language"] not in languages:
            raise _at(
                "people.jsonl",
                row.line,
                _("unknown language %(value)s.") % {"value": data["language"]},
            )
        if data["id"] in people or email.lower() in seen:
            raise _at("people.jsonl", row.line, _("this person appears twice."))
        seen.add(email.lower())
        people[data["id"]] = data
    return people


def _check_place(archive: Archive, slug: str) -> Place:
    place = Place()
    try:
        for name in PLACE_FIELDS:
            _set_value(place, name, archive.place[name])
        place.slug = slug
        place.full_clean(exclude={"networks"}, validate_unique=False)
    except ValidationError as error:
        raise _at("place.jsonl", 1, _messages(error)) from None
    if Place.objects.filter(slug=slug).exists():
        raise _at(
            "place.jsonl",
            1,
            _(
                "a place with the identifier %(slug)s already exists here: "
                "choose another one with --slug NEW_SLUG."
            )
            % {"slug": slug},
        )
    return place


def _check_references(archive: Archive, people: dict) -> None:
    ids: dict[str, set[int]] = {}
    for table in TABLES:
        rows = archive.tables[table.name]
        own = Counter(row.data["id"] for row in rows)
        for row in rows:
            if own[row.data["id"]] > 1:
                raise _at(table.file_name, row.line, _("this id appears twice."))
            for key, (_fk, target) in table.refs.items():
                value = row.data[key]
                if value is None and key in table.optional:
                    continue
                if not _is_id(value) or value not in ids[target]:
                    raise _at(
                        table.file_name,
                        row.line,
                        _("%(field)s refers to %(value)s, which is not in %(target)s.jsonl.")
                        % {"field": key, "value": value, "target": target},
                    )
            for name in table.people:
                value = row.data[name]
                if value is None and table.model._meta.get_field(name).null:
                    continue
                if not _is_id(value) or value not in people:
                    raise _at(
                        table.file_name,
                        row.line,
                        _("%(field)s refers to %(value)s, which is not in people.jsonl.")
                        % {"field": name, "value": value},
                    )
        ids[table.name] = set(own)


def _check_rules(archive: Archive, objects: dict[str, dict[int, Model]]) -> None:
    """What the database would refuse across rows: overlapping held slots of a resource, events
    with more confirmed participants than places."""
    resource_of = {row.data["id"]: row.data["resource"] for row in archive.tables["bookings"]}
    held = defaultdict(list)
    for row in archive.tables["occurrences"]:
        slot = objects["occurrences"][row.data["id"]]
        if slot.status in Occurrence.HOLDING:
            held[resource_of[row.data["booking"]]].append((slot.start, slot.held_until, row.line))
    for slots in held.values():
        slots.sort()
        for (_start, until, _line), (start, _until, line) in itertools.pairwise(slots):
            if start < until:
                raise _at(
                    "occurrences.jsonl",
                    line,
                    _("this slot overlaps another slot of the same resource."),
                )
    confirmed = Counter(
        row.data["event"]
        for row in archive.tables["registrations"]
        if row.data["status"] == Registration.Status.CONFIRMED
    )
    for row in archive.tables["events"]:
        event = objects["events"][row.data["id"]]
        if event.capacity is not None and confirmed[row.data["id"]] > event.capacity:
            raise _at("events.jsonl", row.line, _("more confirmed registrations than places."))


def check_archive(
    archive: Archive, *, slug: str | None, report: Report
) -> tuple[Place, dict, dict]:
    slug = slug or archive.place["slug"]
    place = _check_place(archive, slug)
    people = _check_people(archive)
    report(_("Checked %(file)s: %(count)d lines.") % {"file": "people.jsonl", "count": len(people)})
    _check_references(archive, people)
    objects: dict[str, dict[int, Model]] = {}
    for table in TABLES:
        rows = archive.tables[table.name]
        objects[table.name] = {row.data["id"]: _build(table, row) for row in rows}
        for row in rows:
            for name in table.media:
                _image(archive, table.file_name, row.line, row.data[name])
        report(
            _("Checked %(file)s: %(count)d lines.") % {"file": table.file_name, "count": len(rows)}
        )
    _check_rules(archive, objects)
    return place, people, objects


# Writing ------------------------------------------------------------------------------------------


class _Loader:
    def __init__(self, archive: Archive, place: Place, people: dict, objects: dict, report: Report):
        self.archive = archive
        self.place = place
        self.people = people
        self.objects = objects
        self.report = report
        self.users: dict[int, User] = {}
        self.new_ids: dict[str, dict[int, int]] = {}
        self.saved_files: list[tuple] = []
        self.created_people = 0

    def load_people(self) -> None:
        for archive_id, person in self.people.items():
            user = User.objects.filter(email__iexact=person["email"]).first()
            if user is None:
                user = User(
                    email=person["email"].lower(),
                    full_name=person["full_name"],
                    language=person["language"],
                )
                user.set_unusable_password()
                user.save()
                self.created_people += 1
            self.users[archive_id] = user

    def save_media(self, obj: Model, name: str, path: str | None) -> None:
        if path is None:
            return
        extension = path.rsplit(".", 1)[1]
        file = getattr(obj, name)
        file.save(
            f"{uuid.uuid4().hex}.{extension}", ContentFile(self.archive.zip.read(path)), save=False
        )
        self.saved_files.append((file.storage, file.name))

    def load_row(self, table: Table, row: Row) -> Model:
        obj = self.objects[table.name][row.data["id"]]
        for key, (fk, target) in table.refs.items():
            value = row.data[key]
            setattr(obj, f"{fk}_id", None if value is None else self.new_ids[target][value])
        for name in table.people:
            value = row.data[name]
            setattr(obj, f"{name}_id", None if value is None else self.users[value].pk)
        if table.owner:
            setattr(obj, f"{table.owner}_id", self.place.pk)
        for name in table.media:
            self.save_media(obj, name, row.data[name])
        special = getattr(self, f"before_{table.name}", None)
        if special is not None and special(obj, row) is False:
            return obj
        obj.save()
        if table.keeps_created_at:
            table.model.objects.filter(pk=obj.pk).update(created_at=row.data["created_at"])
        self.new_ids[table.name][row.data["id"]] = obj.pk
        return obj

    # Rows that need more than their values.

    def before_member_profiles(self, profile: MemberProfile, row: Row) -> bool:
        user = self.users[row.data["user"]]
        if MemberProfile.objects.filter(user=user).exists():
            return False  # an account of this instance keeps its own profile
        skills = row.data["skills"] if isinstance(row.data["skills"], list) else []
        pairs = []
        for skill in skills:
            if not isinstance(skill, dict):
                continue
            code, label = str(skill.get("code", ""))[:40], str(skill.get("label", ""))[:60]
            # The rule of members.services: a vocabulary skill is keyed by its code, a free one
            # by its folded label.
            if code and members_vocabulary.skill(code) is not None:
                key = code
            else:
                code, key = "", fold(label)[:60]
            if key and not MemberSkill.objects.filter(user=user, key=key).exists():
                MemberSkill.objects.create(user=user, code=code, label=label, key=key)
                pairs.append((code, label))
        profile.search_text = fold(
            " ".join([user.full_name, profile.bio, *members_vocabulary.skill_words(pairs)])
        )
        return True

    def before_occurrences(self, occurrence: Occurrence, row: Row) -> bool:
        booking = self.archive_bookings[row.data["booking"]]
        occurrence.resource_id = self.new_ids["resources"][booking]
        return True

    def before_events(self, event: Event, row: Row) -> bool:
        event.description = clean_html(event.description)
        event.search_text = fold(
            " ".join(
                [
                    event.title,
                    html_to_text(event.description),
                    self.place.name,
                    self.place.town,
                    *(
                        texts.get("title", "")
                        for texts in (event.translations or {}).values()
                        if isinstance(texts, dict)
                    ),
                ]
            )
        )
        return True

    def before_registrations(self, registration: Registration, row: Row) -> bool:
        registration.email = registration.email.lower()  # as agenda.services writes it
        return True

    def before_checkins(self, record, row: Row) -> bool:
        slug = row.data["home_place"]
        record.home_place = Place.objects.filter(slug=slug).first() if slug else None
        return True

    def after_plans(self) -> None:
        for row in self.archive.tables["plans"]:
            slugs = row.data["valid_places"]
            if isinstance(slugs, list) and slugs:
                plan = self.objects["plans"][row.data["id"]]
                plan.valid_places.set(Place.objects.filter(slug__in=[str(s) for s in slugs]))

    def after_registrations(self) -> None:
        for event_id, new_id in self.new_ids["events"].items():
            rows = [
                r.data for r in self.archive.tables["registrations"] if r.data["event"] == event_id
            ]
            queue = [r["queue_number"] for r in rows if r["queue_number"] is not None]
            Event.objects.filter(pk=new_id).update(
                confirmed_count=sum(r["status"] == Registration.Status.CONFIRMED for r in rows),
                waitlisted_count=sum(r["status"] == Registration.Status.WAITLISTED for r in rows),
                next_queue_number=max(queue, default=0) + 1,
            )

    def load(self) -> dict[str, int]:
        self.archive_bookings = {
            r.data["id"]: r.data["resource"] for r in self.archive.tables["bookings"]
        }
        try:
            refresh_search_fields(self.place)
            self.place.save()
        except DatabaseError as error:
            raise _at(
                "place.jsonl",
                1,
                _("refused by the database (%(error)s).") % {"error": str(error)[:300]},
            ) from None
        try:
            self.load_people()
        except DatabaseError as error:
            raise _at(
                "people.jsonl",
                None,
                _("refused by the database (%(error)s).") % {"error": str(error)[:300]},
            ) from None
        counts = {"place": 1, "people": len(self.users)}
        for table in TABLES:
            self.new_ids[table.name] = {}
            for row in self.archive.tables[table.name]:
                try:
                    self.load_row(table, row)
                except (IntegrityError, ValidationError, DatabaseError) as error:
                    raise _at(
                        table.file_name,
                        row.line,
                        _("refused by the database (%(error)s).") % {"error": str(error)[:300]},
                    ) from None
            after = getattr(self, f"after_{table.name}", None)
            if after is not None:
                after()
            counts[table.name] = len(self.new_ids[table.name])
            self.report(
                _("Wrote %(table)s: %(count)d.")
                % {"table": table.name, "count": counts[table.name]}
            )
        place_hours_rules_refresh(self.place)
        with_hours = {
            self.new_ids["resources"][r.data["resource"]]
            for r in self.archive.tables["resource_hours"]
        }
        if with_hours:
            resource_hours_rules_refresh(*sorted(with_hours))
        return counts


def import_archive(
    source,
    *,
    network: Network | None = None,
    slug: str | None = None,
    report: Report | None = None,
) -> tuple[Place, dict[str, int]]:
    """Check then load a place archive; returns the new place and the rows written per table.

    Raises ArchiveError, having written nothing, when the archive is refused.
    """
    report = report or (lambda message: None)
    if slug is not None and slugify(slug) != slug:
        raise ArchiveError(
            _("%(slug)s is not a valid identifier (lower-case letters, digits and hyphens).")
            % {"slug": slug}
        )
    archive = read_archive(source)
    report(
        _("Archive of %(place)s exported on %(date)s from %(instance)s.")
        % {
            "place": archive.manifest.get("place"),
            "date": archive.manifest.get("exported_at"),
            "instance": archive.manifest.get("instance"),
        }
    )
    place, people, objects = check_archive(archive, slug=slug, report=report)
    loader = _Loader(archive, place, people, objects, report)
    try:
        with transaction.atomic():
            counts = loader.load()
            if network is not None:
                place.networks.add(network)
            audit_record(
                actor=None,
                action="place.archive.import",
                target=place,
                place=place,
                network=network,
                details={
                    "source": archive.manifest.get("instance", ""),
                    "exported_at": archive.manifest.get("exported_at", ""),
                    "counts": counts,
                    "new_accounts": loader.created_people,
                },
            )
    except BaseException:
        for storage, name in loader.saved_files:
            storage.delete(name)
        raise
    counts["new_accounts"] = loader.created_people
    return place, counts
