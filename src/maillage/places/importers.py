"""Import places from CSV files: the ANCT 2019 census (`cget`) and our own layout (`csv`).

Every write goes through `services`. A file that cannot be read at all (encoding, missing columns)
raises `ImportFileError` and imports nothing; otherwise each bad row is rejected with its line
number and a reason while the good rows are imported, all in one transaction.
"""

import abc
import csv
import io
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import URLValidator, validate_email, validate_slug
from django.db import DataError, IntegrityError, transaction
from django.utils.translation import gettext as _

from maillage.core.audit import audit_record
from maillage.core.text import fold

from . import services
from .exports import _FORMULA_STARTS, CSV_COLUMNS, LIST_SEPARATOR
from .models import Network, Place, PlaceRevision, PlaceTerm

CENSUS_PATH = Path(__file__).resolve().parent / "data" / "cget_tierslieux_2019.csv"
FORMATS = ("csv", "cget")
CENSUS_SOURCE = "cget"

Progress = Callable[[int, int], None]


class ImportFileError(Exception):
    """The file cannot be read at all; nothing was imported."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class RowRejected(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    # Columns of the file that the format does not know (a misspelt column name is not silent).
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + len(self.rejected)


# --- Reading the file -------------------------------------------------------------------------


def _read_bytes(source: str | os.PathLike | bytes | BinaryIO) -> bytes:
    if isinstance(source, bytes | bytearray):
        return bytes(source)
    if isinstance(source, str | os.PathLike):
        try:
            return Path(source).read_bytes()
        except OSError as exc:
            raise ImportFileError(
                _("The file %(name)s cannot be read: %(error)s")
                % {"name": source, "error": exc.strerror or exc}
            ) from exc
    data = source.read()
    return data.encode("utf-8") if isinstance(data, str) else data


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportFileError(
            _(
                "The file is not encoded in UTF-8 (unexpected byte on line %(line)s). Save it "
                "as “CSV UTF-8” from your spreadsheet and import it again; nothing was imported."
            )
            % {"line": line}
        ) from exc
    if not text.strip():
        raise ImportFileError(_("The file is empty; nothing was imported."))
    return text


def _sniff_delimiter(text: str) -> str:
    sample = text[:65536]
    if len(text) > len(sample) and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;").delimiter
    except csv.Error:
        header = text.split("\n", 1)[0]
        return ";" if header.count(";") > header.count(",") else ","


def _split(text: str, delimiter: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the non-blank records, each with the physical line where it starts."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[tuple[int, list[str]]] = []
    try:
        header = next(reader, [])
        previous = reader.line_num
        for values in reader:
            start, previous = previous + 1, reader.line_num
            if any(value.strip() for value in values):
                records.append((start, values))
    except csv.Error as exc:
        raise ImportFileError(
            _("The file is not a readable CSV file (line %(line)s: %(error)s).")
            % {"line": reader.line_num, "error": exc}
        ) from exc
    return header, records


# --- Cleaning values --------------------------------------------------------------------------

_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*://", re.IGNORECASE)
_validate_url = URLValidator(schemes=["http", "https"])
_INSEE_CODE = re.compile(r"^[0-9][0-9AB][0-9]{3}$")
_WORD_SEPARATORS = re.compile("([\\s\\-'\u2019]+)")
_SMALL_WORDS = {"de", "du", "des", "la", "le", "les", "l", "d", "sur", "sous", "en", "et", "aux"}
_WEBSITE_MAX_LENGTH = Place._meta.get_field("website").max_length


def _cell(row: Mapping[str, str], column: str) -> str:
    return (row.get(column) or "").strip()


def title_case(text: str) -> str:
    """ "SAINT-CHÉLY D'APCHER" -> "Saint-Chély d'Apcher"; text that is not all capitals is kept."""
    if not text.isupper():
        return text
    parts = _WORD_SEPARATORS.split(text.lower())
    words = []
    for index, part in enumerate(parts):
        if index % 2 or (index and part in _SMALL_WORDS):
            words.append(part)
        else:
            words.append(part[:1].upper() + part[1:])
    return "".join(words)


def _coordinate(raw: str, *, label: str, limit: float) -> float:
    if not raw:
        raise RowRejected(_("The %(coordinate)s is missing.") % {"coordinate": label})
    try:
        value = float(raw.replace(",", ".") if "." not in raw else raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise RowRejected(
            _("The %(coordinate)s “%(value)s” is not a number.")
            % {"coordinate": label, "value": raw}
        )
    if not -limit <= value <= limit:
        raise RowRejected(
            _("The %(coordinate)s %(value)s is out of range (-%(limit)s to %(limit)s).")
            % {"coordinate": label, "value": raw, "limit": int(limit)}
        )
    return value


def _coordinates(latitude: str, longitude: str) -> dict[str, float]:
    return {
        "latitude": _coordinate(latitude, label=_("latitude"), limit=90),
        "longitude": _coordinate(longitude, label=_("longitude"), limit=180),
    }


def _with_scheme(url: str) -> str:
    return url if _SCHEME.match(url) else f"http://{url}"


def _is_valid_url(url: str) -> bool:
    try:
        _validate_url(url)
    except ValidationError:
        return False
    return len(url) <= _WEBSITE_MAX_LENGTH


def census_website(raw: str) -> str:
    """The census WEB column as a usable URL, or "" (truncated or not a URL at all)."""
    if not raw or raw.endswith(("…", "...")):
        return ""
    url = _with_scheme(raw)
    return url if _is_valid_url(url) else ""


def _describe(exc: ValidationError) -> str:
    if not hasattr(exc, "error_dict"):
        return " ".join(exc.messages)
    parts = []
    for name, messages in exc.message_dict.items():
        for message in messages:
            parts.append(message if name == NON_FIELD_ERRORS else f"{name}: {message}")
    return " ".join(parts)


def _chunks(items: list, size: int = 500) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- Formats ----------------------------------------------------------------------------------


class _Format(abc.ABC):
    """What the two file layouts share; each layout says how to read its header and rows."""

    required: tuple[str, ...] = ()

    def __init__(self, network: Network | None, author):
        self.network = network
        self.author = author
        self.seen: dict[str, int] = {}
        self.network_members: set[int] = set()

    @abc.abstractmethod
    def normalise_header(self, header: list[str]) -> list[str]:
        """The file's column names in this layout's spelling."""

    def ignored_columns(self, header: list[str]) -> list[str]:
        return []

    def preload(self, header: list[str], rows: list[dict[str, str]]) -> None:
        if self.network is not None:
            self.network_members = set(self.network.places.values_list("pk", flat=True))

    def check_duplicate(self, key: str, line: int) -> None:
        if key in self.seen:
            raise RowRejected(
                _("The identifier “%(key)s” already appears on line %(line)s.")
                % {"key": key, "line": self.seen[key]}
            )
        self.seen[key] = line

    def networks_with_ours(self, place: Place | None) -> list[Network] | None:
        """Existing networks plus the import's network, or None when nothing must change."""
        if self.network is None or (place is not None and place.pk in self.network_members):
            return None
        current = list(place.networks.all()) if place is not None else []
        return [*current, self.network]


class _CensusFormat(_Format):
    """The ANCT/CGET 2019 census; re-importing updates the census-owned fields only."""

    required = ("ID", "NOM_TL", "LAT", "LONG")
    TYPOLOGY = {
        "coworking": {
            "functions": ["business_services", "social_bond"],
            "services": ["open_desk", "wifi"],
        },
        "fablab": {"functions": ["makers", "social_bond"], "services": ["fablab"]},
    }
    # The census columns behind each field; a field whose columns are all absent is left alone.
    SOURCES = {
        "address": ("ADRESSE",),
        "postcode": ("CP",),
        "town": ("NOMCOM", "COMINIT", "NOMCOMMETRO"),
        "insee_code": ("INSEECOM",),
        "department": ("INSEEDEP",),
        "website": ("WEB",),
    }

    def normalise_header(self, header):
        return [name.strip().upper() for name in header]

    def preload(self, header, rows):
        super().preload(header, rows)
        self.absent = {
            name for name, columns in self.SOURCES.items() if not set(columns) & set(header)
        }
        self.existing = {
            place.source_id: place for place in Place.objects.filter(source=CENSUS_SOURCE)
        }

    @staticmethod
    def _town(row) -> str:
        for column in ("NOMCOM", "COMINIT", "NOMCOMMETRO"):
            town = _cell(row, column)
            if town:
                return title_case(town)
        return ""

    @staticmethod
    def _code(raw: str, width: int) -> str:
        """Codes that lost their leading zero in a spreadsheet get it back; "0" means unknown."""
        if raw in ("", "0"):
            return ""
        return raw.zfill(width) if raw.isdigit() else raw

    def prepare(self, row, line):
        key = _cell(row, "ID")
        if not key:
            raise RowRejected(_("The identifier (ID) is missing."))
        self.check_duplicate(key, line)
        name = _cell(row, "NOM_TL")
        if not name:
            raise RowRejected(_("The name is missing."))
        insee_code = self._code(_cell(row, "INSEECOM"), 5)
        data = {
            "name": name,
            "address": _cell(row, "ADRESSE"),
            "postcode": self._code(_cell(row, "CP"), 5),
            "town": self._town(row),
            "insee_code": insee_code if _INSEE_CODE.match(insee_code) else "",
            "department": self._code(_cell(row, "INSEEDEP"), 2),
            **_coordinates(_cell(row, "LAT"), _cell(row, "LONG")),
            "website": census_website(_cell(row, "WEB")),
        }
        for name in self.absent:
            del data[name]
        typology = fold(_cell(row, "TYPO"))
        terms = next((t for word, t in self.TYPOLOGY.items() if word in typology), {})
        return key, data, terms

    def write(self, prepared) -> str:
        key, data, terms = prepared
        place = self.existing.get(key)
        if place is None:
            place = services.place_create(
                data={**data, **terms},
                author=self.author,
                source=PlaceRevision.Source.IMPORT,
                networks=self.networks_with_ours(None),
                origin=(CENSUS_SOURCE, key),
            )
            return "created"
        changed = any(getattr(place, name) != value for name, value in data.items())
        networks = self.networks_with_ours(place)
        if not changed and networks is None:
            return "unchanged"
        services.place_update(
            place=place,
            data=data,
            author=self.author,
            source=PlaceRevision.Source.IMPORT,
            networks=networks,
        )
        return "updated"


class _OwnFormat(_Format):
    """Our own layout, `exports.CSV_COLUMNS`: the `slug` column is the key."""

    required = ("name", "latitude", "longitude")
    # Plain text columns of the export layout; the others are parsed one by one below.
    TEXT_COLUMNS = tuple(
        column
        for column in CSV_COLUMNS
        if column not in {"slug", "name", "latitude", "longitude", "networks"}
        and column not in services.TERM_FIELDS
    )

    def normalise_header(self, header):
        return [name.strip().lower() for name in header]

    def ignored_columns(self, header):
        return [column for column in header if column and column not in CSV_COLUMNS]

    def preload(self, header, rows):
        super().preload(header, rows)
        self.columns = set(header)
        slugs = sorted({_cell(row, "slug") for row in rows} - {""})
        self.existing: dict[str, Place] = {}
        for chunk in _chunks(slugs):
            places = Place.objects.filter(slug__in=chunk).prefetch_related("terms", "networks")
            self.existing.update((place.slug, place) for place in places)
        self.known_networks = {n.slug: n for n in Network.objects.all()}

    @staticmethod
    def _value(row, column: str) -> str:
        """A cell, without the quote that `exports.neutralise` put before a formula character."""
        value = _cell(row, column)
        if value.startswith("'") and value[1:2] and value[1:2] in _FORMULA_STARTS:
            return value[1:]
        return value

    def _codes(self, row, column: str) -> list[str]:
        codes = [code.strip() for code in self._value(row, column).split(LIST_SEPARATOR)]
        return sorted({code for code in codes if code})

    def prepare(self, row, line):
        slug = self._value(row, "slug")
        if slug:
            self.check_duplicate(slug, line)
            try:
                validate_slug(slug)
            except ValidationError as exc:
                raise RowRejected(
                    _("“%(slug)s” is not a valid identifier (slug): use letters, digits and “-”.")
                    % {"slug": slug}
                ) from exc
        name = self._value(row, "name")
        if not name:
            raise RowRejected(_("The name is missing."))
        data: dict = {"name": name}
        for column in self.TEXT_COLUMNS:
            if column in self.columns:
                data[column] = self._value(row, column)
        data.update(_coordinates(self._value(row, "latitude"), self._value(row, "longitude")))
        if not data.get("time_zone", "x"):
            del data["time_zone"]  # an empty cell keeps the place's (or the default) time zone
        if data.get("email"):
            try:
                validate_email(data["email"])
            except ValidationError as exc:
                raise RowRejected(
                    _("“%(value)s” is not a valid email address.") % {"value": data["email"]}
                ) from exc
        if data.get("website"):
            url = _with_scheme(data["website"])
            if not _is_valid_url(url):
                raise RowRejected(
                    _("“%(value)s” is not a valid website address.") % {"value": data["website"]}
                )
            data["website"] = url
        for column, kind in services.TERM_FIELDS.items():
            if column in self.columns:
                codes = self._codes(row, column)
                unknown = [c for c in codes if c not in PlaceTerm.VOCABULARY[kind]]
                if unknown:
                    raise RowRejected(
                        _("Unknown codes in the column %(column)s: %(codes)s.")
                        % {"column": column, "codes": ", ".join(unknown)}
                    )
                data[column] = codes
        networks = None
        if "networks" in self.columns:
            slugs = self._codes(row, "networks")
            unknown = [s for s in slugs if s not in self.known_networks]
            if unknown:
                raise RowRejected(_("Unknown networks: %(slugs)s.") % {"slugs": ", ".join(unknown)})
            networks = [self.known_networks[s] for s in slugs]
        return slug, data, networks

    def _networks(self, place: Place | None, from_file: list[Network] | None):
        if from_file is None:
            return self.networks_with_ours(place)
        if self.network is not None and self.network not in from_file:
            return [*from_file, self.network]
        return from_file

    def write(self, prepared) -> str:
        slug, data, from_file = prepared
        place = self.existing.get(slug) if slug else None
        networks = self._networks(place, from_file)
        if place is None:
            place = services.place_create(
                data=data,
                author=self.author,
                source=PlaceRevision.Source.IMPORT,
                networks=networks,
                slug=slug,
            )
            return "created"
        changed = any(
            (
                place.codes(services.TERM_FIELDS[name])
                if name in services.TERM_FIELDS
                else getattr(place, name)
            )
            != value
            for name, value in data.items()
        )
        if networks is not None:
            current = sorted(n.slug for n in place.networks.all())
            if current == sorted(n.slug for n in networks):
                networks = None
        if not changed and networks is None:
            return "unchanged"
        services.place_update(
            place=place,
            data=data,
            author=self.author,
            source=PlaceRevision.Source.IMPORT,
            networks=networks,
        )
        return "updated"


_FORMAT_CLASSES = {"csv": _OwnFormat, "cget": _CensusFormat}


# --- Entry point ------------------------------------------------------------------------------


def import_places(
    source: str | os.PathLike | bytes | BinaryIO,
    *,
    format: str = "csv",
    network: Network | None = None,
    author=None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import the places of a CSV file (path, bytes or binary file) in one transaction.

    Raises ImportFileError, with nothing imported, when the file cannot be read at all.
    `progress(done, total)` is called after each row.
    """
    if format not in _FORMAT_CLASSES:
        raise ValueError(f"Unknown import format {format!r}; expected one of {FORMATS}.")
    importer = _FORMAT_CLASSES[format](network, author)
    text = _decode(_read_bytes(source))
    delimiter = _sniff_delimiter(text)
    header, records = _split(text, delimiter)
    header = importer.normalise_header(header)
    missing = [column for column in importer.required if column not in header]
    if missing:
        other = ";" if delimiter == "," else ","
        other_header, other_records = _split(text, other)
        other_header = importer.normalise_header(other_header)
        if all(column in other_header for column in importer.required):
            header, records, missing = other_header, other_records, []
    if missing:
        raise ImportFileError(
            _("Required columns are missing: %(columns)s. Nothing was imported.")
            % {"columns": ", ".join(missing)}
        )

    rows: list[tuple[int, dict[str, str], bool]] = []
    for line, values in records:
        too_long = any(value.strip() for value in values[len(header) :])
        rows.append((line, dict(zip(header, values, strict=False)), too_long))
    result = ImportResult(ignored_columns=importer.ignored_columns(header))
    total = len(rows)
    with transaction.atomic():
        importer.preload(header, [row for _line, row, _too_long in rows])
        for done, (line, row, too_long) in enumerate(rows, start=1):
            try:
                if too_long:
                    raise RowRejected(_("This line has more values than the header has columns."))
                prepared = importer.prepare(row, line)
                with transaction.atomic():
                    outcome = importer.write(prepared)
            except RowRejected as exc:
                result.rejected.append((line, exc.reason))
            except ValidationError as exc:
                result.rejected.append((line, _describe(exc)))
            except (IntegrityError, DataError) as exc:
                result.rejected.append(
                    (line, _("The database refused this line: %(error)s") % {"error": exc})
                )
            else:
                setattr(result, outcome, getattr(result, outcome) + 1)
            if progress is not None:
                progress(done, total)
        audit_record(
            actor=author,
            action="places.import",
            network=network,
            details={
                "format": format,
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "rejected": len(result.rejected),
            },
        )
    return result
