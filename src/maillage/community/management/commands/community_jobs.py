from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from maillage.community import givebox, services


class Command(BaseCommand):
    help = (
        "The community exchange's hourly work: email the daily and weekly digests that are due, "
        "and remind borrowers of the give-box of their return dates. Idempotent: running it "
        "twice sends nothing more."
    )

    def handle(self, *args, **options):
        digests = services.send_digests()
        reminders = givebox.send_return_reminders()
        self.stdout.write(
            _("Digests sent: %(digests)d. Return reminders sent: %(reminders)d.")
            % {"digests": digests, "reminders": reminders}
        )
