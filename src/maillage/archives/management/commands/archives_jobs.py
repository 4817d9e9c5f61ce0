from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from maillage.archives import services


class Command(BaseCommand):
    help = (
        "The place archives' hourly work: delete the files of archives older than "
        "MAILLAGE_ARCHIVE_KEEP_DAYS and close exports whose worker died. Idempotent."
    )

    def handle(self, *args, **options):
        done = services.archives_expire()
        self.stdout.write(_("Expired archives: %(count)d.") % {"count": done})
