import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from maillage.impact import services
from maillage.places.models import Place


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(_("Give dates as YYYY-MM-DD.")) from error


class Command(BaseCommand):
    help = (
        "Recompute the daily statistics (docs/impact.md): the days queued because their rows "
        "changed, and the previous and current days of every place with people or resources "
        "and of every network holding events of its own. --from/--to rebuild every day of a "
        "range (up to today); --place limits the work to one place. Idempotent: run hourly by "
        "maillage-impact.timer."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first", type=_date, help="First day (YYYY-MM-DD).")
        parser.add_argument("--to", dest="last", type=_date, help="Last day (YYYY-MM-DD).")
        parser.add_argument("--place", help="Slug of a single place.")

    def handle(self, *args, first=None, last=None, place=None, **options):
        if first and last and last < first:
            raise CommandError(_("--to comes before --from."))
        places = None
        if place:
            places = Place.objects.filter(slug=place)
            if not places.exists():
                raise CommandError(_("There is no place “%(slug)s”.") % {"slug": place})
        done = services.run_rollup(first=first, last=last, places=places)
        self.stdout.write(
            _("Statistics rolled up: %(days)d days of %(places)d places and %(networks)d networks.")
            % {"days": done["days"], "places": done["places"], "networks": done["networks"]}
        )
