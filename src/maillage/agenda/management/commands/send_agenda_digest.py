from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from maillage.agenda import newsletter


class Command(BaseCommand):
    help = (
        "Send the newsletter digest (the coming events) to every confirmed subscriber who has "
        "had none for six days and has something to announce. Idempotent: a second run the same "
        "day sends nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--weeks",
            type=int,
            default=newsletter.DEFAULT_WEEKS,
            help="How many weeks ahead the digest covers (default %(default)s).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Only count the digests that would be sent; send and record nothing.",
        )

    def handle(self, *args, weeks, dry_run, **options):
        if not 1 <= weeks <= newsletter.MAX_WEEKS:
            raise CommandError(
                _("--weeks must be between 1 and %(max)d.") % {"max": newsletter.MAX_WEEKS}
            )
        count = newsletter.send_digests(weeks=weeks, dry_run=dry_run)
        if dry_run:
            message = _("Digests that would be sent: %(count)d.")
        else:
            message = _("Digests sent: %(count)d.")
        self.stdout.write(message % {"count": count})
