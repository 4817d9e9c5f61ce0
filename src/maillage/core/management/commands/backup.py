"""`maillage backup OUTPUT`: the whole instance (data and media) in one zip archive."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from maillage.core.backups import BackupError, create_backup

from ._progress import Progress


class Command(BaseCommand):
    help = _(
        "Write every row of every app, the uploaded media files and a manifest to a zip archive "
        "that `maillage restore` reads back, on SQLite or PostgreSQL."
    )

    def add_arguments(self, parser):
        parser.add_argument("output", type=Path, help=_("The archive to write, e.g. backup.zip."))
        parser.add_argument(
            "--force", action="store_true", help=_("Replace the archive if it already exists.")
        )

    def handle(self, *args, output: Path, force: bool, verbosity: int, **options):
        if output.exists() and not force:
            raise CommandError(
                _("%(path)s already exists; give another name or --force.") % {"path": output}
            )
        if not output.parent.is_dir():
            raise CommandError(_("The folder %(path)s does not exist.") % {"path": output.parent})
        progress = Progress(self, verbosity)
        try:
            manifest = create_backup(output, on_step=progress.step, progress=progress.bar)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            progress.close()
        if verbosity:
            for label, count in sorted(manifest["counts"].items()):
                if count:
                    self.stdout.write(f"  {label:<28} {count:>8}")
            self.stdout.write(
                self.style.SUCCESS(
                    _("Backup written to %(path)s: %(rows)d rows, %(files)d media files.")
                    % {
                        "path": output,
                        "rows": sum(manifest["counts"].values()),
                        "files": manifest["media"]["files"],
                    }
                )
            )
