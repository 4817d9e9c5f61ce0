"""`maillage restore INPUT`: fill an empty database and the media folder from a backup."""

from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from maillage.core.backups import BackupError, restore_backup

from ._progress import Progress


class Command(BaseCommand):
    help = _(
        "Restore an archive written by `maillage backup` into an empty database (created with "
        "`migrate` when needed) and the media folder, then compare the rows per model."
    )

    def add_arguments(self, parser):
        parser.add_argument("input", type=Path, help=_("The archive to read."))

    def handle(self, *args, input: Path, verbosity: int, **options):
        if not input.is_file():
            raise CommandError(_("There is no file %(path)s.") % {"path": input})
        progress = Progress(self, verbosity)
        try:
            compared = restore_backup(
                input,
                on_step=progress.step,
                progress=progress.bar,
                migrate=lambda: call_command(
                    "migrate", interactive=False, verbosity=max(verbosity - 1, 0)
                ),
            )
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            progress.close()
        different = {label: pair for label, pair in compared.items() if pair[0] != pair[1]}
        if verbosity:
            for label, (expected, found) in sorted(compared.items()):
                if expected or found:
                    mark = "✓" if expected == found else "✗"
                    self.stdout.write(f"  {label:<28} {expected:>8} {found:>8} {mark}")
        if different:
            raise CommandError(
                _("The restored rows differ from the backup for: %(models)s.")
                % {"models": ", ".join(sorted(different))}
            )
        if verbosity:
            self.stdout.write(
                self.style.SUCCESS(
                    _("Restored %(rows)d rows; every model has the count of the backup.")
                    % {"rows": sum(found for _expected, found in compared.values())}
                )
            )
