from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from maillage.community import givebox, mentoring, services


class Command(BaseCommand):
    help = (
        "The community exchange's hourly work: email the daily and weekly digests that are due, "
        "remind borrowers of the give-box of their return dates, and delete the mentoring "
        "questions whose address was not confirmed within a week. Idempotent: running it twice "
        "sends nothing more."
    )

    def handle(self, *args, **options):
        digests = services.send_digests()
        reminders = givebox.send_return_reminders()
        self.stdout.write(
            _("Digests sent: %(digests)d. Return reminders sent: %(reminders)d.")
            % {"digests": digests, "reminders": reminders}
        )
        purged = mentoring.purge_unconfirmed()
        self.stdout.write(
            _("Unconfirmed mentoring questions deleted: %(count)d.") % {"count": purged}
        )
