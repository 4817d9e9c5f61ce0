"""Place archives: requesting one (audited, built by a background job), building it with its
progress recorded, handing it out, and deleting expired ones."""

import datetime as dt
import logging
import secrets
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from maillage.core.audit import audit_record
from maillage.places.models import Place

from .export import export_place
from .models import PlaceArchive

logger = logging.getLogger(__name__)

# A job that has not finished after this long died with its worker.
STALE_AFTER = dt.timedelta(hours=6)


def archive_root() -> Path:
    return Path(settings.MAILLAGE_ARCHIVE_ROOT)


def archive_path(archive: PlaceArchive) -> Path:
    return archive_root() / archive.file_name


def archive_request(*, place: Place, actor) -> PlaceArchive:
    """Queue the export of `place`; refused while another export of it is under way."""
    from .tasks import build_archive

    with transaction.atomic():
        # Lock the place's row: two clicks at once start one export.
        Place.objects.select_for_update().filter(pk=place.pk).first()
        if PlaceArchive.objects.filter(place=place, status__in=PlaceArchive.ACTIVE).exists():
            raise ValidationError(_("An export of this place is already under way."))
        archive = PlaceArchive.objects.create(place=place, requested_by=actor)
        audit_record(actor=actor, action="place.archive.request", target=archive, place=place)
        transaction.on_commit(lambda: build_archive.enqueue(archive.pk), robust=True)
    return archive


def _progress(archive: PlaceArchive):
    def report(step: str, percent: int) -> None:
        PlaceArchive.objects.filter(pk=archive.pk).update(step=step[:60], progress=percent)

    return report


def archive_build(archive_id: int) -> PlaceArchive | None:
    """Write the archive's file, recording progress on its row as the tables are written."""
    claimed = PlaceArchive.objects.filter(pk=archive_id, status=PlaceArchive.Status.QUEUED).update(
        status=PlaceArchive.Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return None  # already built, or gone with its place
    archive = PlaceArchive.objects.select_related("place").get(pk=archive_id)
    root = archive_root()
    root.mkdir(parents=True, exist_ok=True)
    name = f"{archive.place.slug}-{timezone.now():%Y%m%d}-{secrets.token_hex(8)}.zip"
    path = root / name
    try:
        manifest = export_place(archive.place, path, progress=_progress(archive))
    except Exception as error:
        path.unlink(missing_ok=True)
        PlaceArchive.objects.filter(pk=archive.pk).update(
            status=PlaceArchive.Status.FAILED,
            error=str(error)[:500],
            finished_at=timezone.now(),
        )
        logger.exception("export of place archive %s failed", archive.pk)
        return None
    now = timezone.now()
    PlaceArchive.objects.filter(pk=archive.pk).update(
        status=PlaceArchive.Status.DONE,
        progress=100,
        step="",
        file_name=name,
        size=path.stat().st_size,
        counts=manifest["counts"],
        finished_at=now,
        expires_at=now + dt.timedelta(days=settings.MAILLAGE_ARCHIVE_KEEP_DAYS),
    )
    archive.refresh_from_db()
    return archive


def archive_downloaded(*, archive: PlaceArchive, actor) -> None:
    audit_record(
        actor=actor,
        action="place.archive.download",
        target=archive,
        place=archive.place,
        details={"size": archive.size},
    )


def archives_expire(*, now: dt.datetime | None = None) -> int:
    """Delete the files of archives past their date, and close jobs that died with their worker.
    Returns how many archives expired."""
    now = now or timezone.now()
    PlaceArchive.objects.filter(
        status__in=PlaceArchive.ACTIVE, created_at__lt=now - STALE_AFTER
    ).update(status=PlaceArchive.Status.FAILED, error="interrupted", finished_at=now)
    expired = 0
    for archive in PlaceArchive.objects.filter(
        status=PlaceArchive.Status.DONE, expires_at__lte=now
    ):
        if archive.file_name:
            archive_path(archive).unlink(missing_ok=True)
        archive.status = PlaceArchive.Status.EXPIRED
        archive.file_name = ""
        archive.save(update_fields=["status", "file_name"])
        expired += 1
    return expired
