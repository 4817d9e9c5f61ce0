"""Backups of a whole instance in one portable zip archive, and their restoration.

The archive holds:

- `data.json`: every row of every app, in Django's JSON serialization, models in dependency order,
  content types and permissions by natural key (they are re-created by `migrate`, with other
  ids). Sessions are left out: people sign in again after a restore.
- `media/…`: every uploaded file, as under MAILLAGE_MEDIA_ROOT.
- `manifest.json`: the archive format, the versions of Maillage and Django, the date, the
  database engine, the applied migrations, the number of rows per model and of media files.

The JSON is the same on SQLite and PostgreSQL, so an archive moves an instance from one to the
other. A restore fills an *empty* database only, so that nothing is ever mixed or overwritten.
"""

import hashlib
import io
import json
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path, PurePosixPath

import django
from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from django.utils.translation import gettext as _

FORMAT = 1
DATA = "data.json"
MANIFEST = "manifest.json"
MEDIA = "media/"
# Re-created by `migrate` (content types, permissions) or not worth keeping (sessions).
EXCLUDED = {"contenttypes.contenttype", "auth.permission", "sessions.session"}

Progress = Callable[[int], None]


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


def backed_up_models() -> list:
    """Every concrete model whose rows are ours to keep, those referenced first."""
    models = [
        model
        for model in apps.get_models()
        if model._meta.label_lower not in EXCLUDED and model._meta.managed and not model._meta.proxy
    ]
    return serializers.sort_dependencies([(None, models)], allow_cycles=True)


def count_rows(models, using: str = DEFAULT_DB_ALIAS) -> dict[str, int]:
    """Rows per model; a model whose table does not exist yet counts 0."""
    tables = set(connections[using].introspection.table_names())
    return {
        model._meta.label_lower: (
            model._base_manager.using(using).count() if model._meta.db_table in tables else 0
        )
        for model in models
    }


def applied_migrations(using: str = DEFAULT_DB_ALIAS) -> dict[str, list[str]]:
    loader = MigrationLoader(connections[using], ignore_no_migrations=True)
    applied: dict[str, list[str]] = {}
    for app_label, name in sorted(loader.applied_migrations):
        applied.setdefault(app_label, []).append(name)
    return applied


def _maillage_version() -> str:
    try:
        return metadata.version("maillage")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "unknown"


@contextmanager
def _snapshot(using: str):
    """Read the whole database as of one instant, without blocking anybody's writes."""
    connection = connections[using]
    if connection.in_atomic_block:  # already inside a transaction (tests): read within it
        yield
        return
    connection.ensure_connection()
    if connection.vendor == "postgresql":
        with transaction.atomic(using=using):
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield
    elif connection.vendor == "sqlite":
        # In WAL mode a read transaction sees one snapshot while writers go on.
        with connection.cursor() as cursor:
            cursor.execute("BEGIN DEFERRED")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("COMMIT")
    else:  # pragma: no cover - Maillage supports SQLite and PostgreSQL
        yield


def _media_files(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(path for path in root.rglob("*") if path.is_file())


def create_backup(
    output: Path,
    *,
    using: str = DEFAULT_DB_ALIAS,
    on_step: Callable[[str], None] = lambda message: None,
    progress: Callable[[str, int], Progress] = lambda label, total: lambda done: None,
) -> dict:
    """Write the archive to `output` (through a temporary file) and return its manifest.

    `on_step(message)` tells what is being done; `progress(label, total)` returns a callback
    told of each object or file written.
    """
    output = Path(output)
    partial = output.with_name(output.name + ".part")
    models = backed_up_models()
    media_root = Path(settings.MEDIA_ROOT)
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            with _snapshot(using):
                counts = count_rows(models, using)
                migrations = applied_migrations(using)
                on_step(
                    _("Writing %(rows)d rows of %(models)d models")
                    % {"rows": sum(counts.values()), "models": len(models)}
                )
                advance = progress(_("Rows"), sum(counts.values()))
                with (
                    archive.open(_member(DATA), "w", force_zip64=True) as raw,
                    io.TextIOWrapper(raw, encoding="utf-8") as text,
                ):
                    serializers.serialize(
                        "json",
                        _rows(models, using, advance),
                        stream=text,
                        use_natural_foreign_keys=True,
                    )
            files = _media_files(media_root)
            on_step(_("Adding %(count)d media files") % {"count": len(files)})
            advance = progress(_("Media files"), len(files))
            size = 0
            for done, path in enumerate(files, start=1):
                relative = path.relative_to(media_root).as_posix()
                archive.write(path, MEDIA + relative, compress_type=zipfile.ZIP_STORED)
                size += path.stat().st_size
                advance(done)
            manifest = {
                "format": FORMAT,
                "application": "maillage",
                "maillage_version": _maillage_version(),
                "django_version": django.get_version(),
                "created_at": timezone.now().isoformat(),
                "database_engine": connections[using].vendor,
                "migrations": migrations,
                "counts": counts,
                "media": {"files": len(files), "bytes": size},
            }
            archive.writestr(_member(MANIFEST), json.dumps(manifest, indent=2, sort_keys=True))
        # Password hashes, authenticator secrets and personal data: for the operator's eyes only.
        partial.chmod(0o600)
        partial.replace(output)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return manifest


def _member(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _rows(models, using: str, advance: Progress) -> Iterator:
    done = 0
    for model in models:
        queryset = model._base_manager.using(using).order_by(model._meta.pk.name)
        for instance in queryset.iterator(chunk_size=2000):
            yield instance
            done += 1
            advance(done)


def read_manifest(archive: zipfile.ZipFile) -> dict:
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except (KeyError, ValueError) as exc:
        raise BackupError(_("This file is not a Maillage backup: it has no manifest.")) from exc
    if manifest.get("application") != "maillage" or DATA not in archive.namelist():
        raise BackupError(_("This file is not a Maillage backup."))
    if manifest.get("format") != FORMAT:
        raise BackupError(
            _("This backup is in format %(found)s; this version of Maillage reads format %(ours)s.")
            % {"found": manifest.get("format"), "ours": FORMAT}
        )
    return manifest


def _check_migrations(manifest: dict) -> list[str]:
    """Refuse a backup made by a newer Maillage; return the migrations it predates."""
    on_disk = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    in_backup = {
        (app_label, name) for app_label, names in manifest["migrations"].items() for name in names
    }
    unknown = sorted(in_backup - on_disk)
    if unknown:
        raise BackupError(
            _(
                "This backup was made by a newer version of Maillage (it has the migrations "
                "%(migrations)s). Upgrade Maillage first, then restore."
            )
            % {"migrations": ", ".join(f"{a}.{n}" for a, n in unknown[:5])}
        )
    return sorted(f"{a}.{n}" for a, n in on_disk - in_backup)


def _refuse_if_not_empty(models, using: str) -> None:
    present = {label: n for label, n in count_rows(models, using).items() if n}
    if present:
        raise BackupError(
            _(
                "The database is not empty (%(rows)s). A restore only fills an empty "
                "database, so that nothing is mixed or overwritten: create a new database, "
                "point DATABASE_URL (or MAILLAGE_SQLITE_PATH) at it and restore again."
            )
            % {"rows": ", ".join(f"{label}: {n}" for label, n in sorted(present.items()))}
        )


def _media_members(archive: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    members = []
    for info in archive.infolist():
        if not info.filename.startswith(MEDIA) or info.is_dir():
            continue
        relative = PurePosixPath(info.filename[len(MEDIA) :])
        if relative.is_absolute() or ".." in relative.parts or "\\" in info.filename:
            raise BackupError(
                _("The backup holds a file outside the media folder: %(name)s")
                % {"name": info.filename}
            )
        members.append((info, relative))
    return members


def _same_content(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> bool:
    if target.stat().st_size != info.file_size:
        return False
    digest = hashlib.sha256()
    with archive.open(info) as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest() == hashlib.sha256(target.read_bytes()).hexdigest()


def restore_backup(
    source: Path,
    *,
    using: str = DEFAULT_DB_ALIAS,
    on_step: Callable[[str], None] = lambda message: None,
    progress: Callable[[str, int], Progress] = lambda label, total: lambda done: None,
    migrate: Callable[[], None] = lambda: None,
) -> dict[str, tuple[int, int]]:
    """Fill an empty database (and the media folder) from the archive `source`.

    Returns {model: (rows in the backup, rows now in the database)}; raises BackupError, before
    writing anything, when the database is not empty or a media file would be overwritten.
    `migrate()` is called when the database lacks tables.
    """
    try:
        archive = zipfile.ZipFile(source)
    except (OSError, zipfile.BadZipFile) as exc:
        raise BackupError(
            _("Cannot read %(path)s as a zip archive: %(error)s") % {"path": source, "error": exc}
        ) from exc
    with archive:
        manifest = read_manifest(archive)
        predated = _check_migrations(manifest)
        if predated:
            on_step(
                _(
                    "This backup predates %(count)d migrations: the fields added since take their "
                    "default values."
                )
                % {"count": len(predated)}
            )
        models = backed_up_models()
        _refuse_if_not_empty(models, using)
        media_root = Path(settings.MEDIA_ROOT)
        members = _media_members(archive)
        conflicts = [
            str(relative)
            for info, relative in members
            if (media_root / relative).exists()
            and not _same_content(archive, info, media_root / relative)
        ]
        if conflicts:
            raise BackupError(
                _(
                    "%(count)d media files already exist with other contents, e.g. %(example)s. "
                    "Move %(root)s aside and restore again."
                )
                % {"count": len(conflicts), "example": conflicts[0], "root": media_root}
            )

        executor = MigrationExecutor(connections[using])
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            on_step(_("Creating the tables (migrate)"))
            migrate()
            _refuse_if_not_empty(models, using)

        total = sum(manifest["counts"].values())
        on_step(_("Loading %(rows)d rows") % {"rows": total})
        with archive.open(DATA) as stream:
            _load(stream, models, using, progress(_("Rows"), total))

        on_step(_("Restoring %(count)d media files") % {"count": len(members)})
        advance = progress(_("Media files"), len(members))
        for done, (info, relative) in enumerate(members, start=1):
            target = media_root / relative
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as stream, target.open("wb") as out:
                    for chunk in iter(lambda s=stream: s.read(1 << 20), b""):
                        out.write(chunk)
            advance(done)

        now = count_rows(models, using)
        return {
            label: (expected, now.get(label, 0)) for label, expected in manifest["counts"].items()
        }


def _load(stream, models, using: str, advance: Progress) -> None:
    """Django's loaddata, with a progress callback: raw saves, forward references resolved,
    constraints checked at the end, sequences reset (PostgreSQL) past the restored ids."""
    connection = connections[using]
    objects = serializers.deserialize(
        "json", stream, using=using, ignorenonexistent=True, handle_forward_references=True
    )
    with transaction.atomic(using=using):
        with connection.constraint_checks_disabled():
            deferred = []
            for done, item in enumerate(objects, start=1):
                item.save(using=using)
                if item.deferred_fields:
                    deferred.append(item)
                advance(done)
            for item in deferred:
                item.save_deferred_fields(using=using)
        connection.check_constraints(table_names=[model._meta.db_table for model in models])
        statements = connection.ops.sequence_reset_sql(no_style(), models)
        if statements:
            with connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
