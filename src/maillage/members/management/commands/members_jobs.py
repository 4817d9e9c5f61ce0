from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from maillage.members import services


class Command(BaseCommand):
    help = (
        "The members' hourly work: check out everyone still checked in at a place that has "
        "closed (at its closing time that day, or at midnight when it keeps no hours). "
        "Idempotent: running it twice does nothing more."
    )

    def handle(self, *args, **options):
        done = services.checkout_at_closing()
        self.stdout.write(_("Checked out at closing time: %(count)d.") % {"count": done})
