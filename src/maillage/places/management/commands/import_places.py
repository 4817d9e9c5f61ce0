from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from maillage.places.importers import FORMATS, ImportFileError, ImportResult, import_places
from maillage.places.models import Network


class ProgressBar:
    """A `progress(done, total)` callback drawing a tqdm bar (only on a terminal)."""

    def __init__(self, stream, description: str):
        self.stream = stream
        self.description = description
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = tqdm(
                total=total, desc=self.description, unit=" rows", file=self.stream, disable=None
            )
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_import(command: BaseCommand, path, *, format: str, network=None) -> ImportResult:
    """Import with a progress bar on stderr; a file that cannot be read becomes a CommandError."""
    progress = ProgressBar(getattr(command.stderr, "_out", command.stderr), _("Importing"))
    try:
        return import_places(path, format=format, network=network, progress=progress)
    except ImportFileError as exc:
        raise CommandError(exc.message) from exc
    finally:
        progress.close()


def write_summary(command: BaseCommand, result: ImportResult) -> None:
    command.stdout.write(
        _(
            "Created: %(created)s, updated: %(updated)s, unchanged: %(unchanged)s, "
            "rejected: %(rejected)s."
        )
        % {
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "rejected": len(result.rejected),
        }
    )
    if result.ignored_columns:
        command.stdout.write(
            _("Ignored columns (unknown): %(columns)s.")
            % {"columns": ", ".join(result.ignored_columns)}
        )
    for line, reason in result.rejected:
        command.stdout.write(_("line %(line)s: %(reason)s") % {"line": line, "reason": reason})


class Command(BaseCommand):
    help = (
        "Import places from a CSV file: our own layout (the directory's CSV export) or the "
        "ANCT/CGET 2019 census. Re-importing the same file updates instead of duplicating."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path of the CSV file (UTF-8, comma or semicolon).")
        parser.add_argument(
            "--format",
            choices=FORMATS,
            default="csv",
            help="csv: our export layout (default); cget: the 2019 census of tiers-lieux.",
        )
        parser.add_argument(
            "--network", metavar="SLUG", help="Add every imported place to this network."
        )

    def handle(self, *args, file, format, network, **options):
        target = None
        if network:
            target = Network.objects.filter(slug=network).first()
            if target is None:
                raise CommandError(
                    _("No network has the identifier “%(slug)s”.") % {"slug": network}
                )
        result = run_import(self, file, format=format, network=target)
        write_summary(self, result)
