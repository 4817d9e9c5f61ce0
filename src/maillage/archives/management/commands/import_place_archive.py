from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from maillage.archives.load import ArchiveError, import_archive
from maillage.places.models import Network


class Command(BaseCommand):
    help = (
        "Load a place archive written by `maillage export_place_archive` (or the place's "
        "archive page) into this instance: everything is checked first, then written in one "
        "transaction, or nothing is. People are matched to accounts by email; the others get "
        "an account without a password (they choose one with 'forgot password')."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the archive (.zip)")
        parser.add_argument("--network", help="identifier of the network to add the place to")
        parser.add_argument("--slug", help="a new identifier for the place, if its own is taken")

    def handle(self, *args, file, network=None, slug=None, verbosity=1, **options):
        target = None
        if network:
            target = Network.objects.filter(slug=network).first()
            if target is None:
                raise CommandError(
                    _("No network with the identifier %(slug)s.") % {"slug": network}
                )

        def report(message: str) -> None:
            if verbosity:
                self.stdout.write(message)

        try:
            with open(file, "rb") as source:
                place, counts = import_archive(source, network=target, slug=slug, report=report)
        except OSError as error:
            raise CommandError(
                _("Cannot read %(file)s: %(error)s") % {"file": file, "error": error}
            ) from None
        except ArchiveError as error:
            raise CommandError(
                _("Archive refused, nothing was written. %(error)s") % {"error": error}
            ) from None
        for table, count in counts.items():
            self.stdout.write(f"{table}: {count}")
        self.stdout.write(
            _("Place %(name)s imported as %(slug)s.") % {"name": place.name, "slug": place.slug}
        )
