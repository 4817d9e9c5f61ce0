from django.core.management.base import BaseCommand
from django.utils import timezone
from django.utils.translation import gettext as _

from maillage.agenda import services


class Command(BaseCommand):
    help = (
        "The agenda's hourly work: cancel the registrations whose email address was never "
        "confirmed (their places go to the waiting list) and remind the participants of the "
        "events of the next 24 hours. Idempotent: running it twice does nothing more."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reminder-hours",
            type=int,
            default=24,
            metavar="HOURS",
            help="Remind the participants of events starting within HOURS (default 24).",
        )

    def handle(self, *args, reminder_hours, **options):
        now = timezone.now()
        released = services.release_unconfirmed(now=now)
        reminded = services.send_reminders(now=now, hours=reminder_hours)
        self.stdout.write(
            _("Unconfirmed registrations released: %(released)d, reminders sent: %(reminded)d.")
            % {"released": released, "reminded": reminded}
        )
