from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from maillage.archives.export import export_place
from maillage.core.audit import audit_record
from maillage.places.models import Place


class Command(BaseCommand):
    help = (
        "Write the archive of a place (all its data, docs/place-archive.md) to a zip file, "
        "which `maillage import_place_archive` loads into another instance."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="identifier of the place")
        parser.add_argument(
            "--output", help="file to write (default: <slug>-<date>.zip in this directory)"
        )

    def handle(self, *args, slug, output=None, verbosity=1, **options):
        place = Place.objects.filter(slug=slug).first()
        if place is None:
            raise CommandError(_("No place with the identifier %(slug)s.") % {"slug": slug})
        path = Path(output or f"{place.slug}-{timezone.localdate():%Y-%m-%d}.zip")
        if path.exists():
            raise CommandError(
                _("%(path)s already exists: give another --output.") % {"path": path}
            )

        def progress(step: str, percent: int) -> None:
            if verbosity:
                self.stdout.write(f"{percent:3d} % {step}")

        try:
            manifest = export_place(place, path, progress=progress)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        audit_record(
            actor=None,
            action="place.archive.export",
            target=place,
            place=place,
            details={"counts": manifest["counts"], "by": "command"},
        )
        for table, count in manifest["counts"].items():
            self.stdout.write(f"{table}: {count}")
        for name in manifest["missing_media"]:
            self.stderr.write(_("Media file missing, left out: %(name)s") % {"name": name})
        self.stdout.write(_("Archive written to %(path)s.") % {"path": path})
