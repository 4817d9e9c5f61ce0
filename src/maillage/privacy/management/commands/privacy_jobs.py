from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from maillage.privacy import retention


class Command(BaseCommand):
    help = (
        "The daily retention work (docs/privacy.md): warn the accounts unused for "
        "MAILLAGE_RETENTION_ACCOUNT_DAYS, erase those still unused MAILLAGE_RETENTION_NOTICE_DAYS "
        "after the warning, and purge the personal logs older than MAILLAGE_RETENTION_LOG_DAYS. "
        "Idempotent: running it twice a day does nothing more."
    )

    def handle(self, *args, **options):
        accounts = retention.accounts_job()
        self.stdout.write(
            _("Unused accounts warned: %(warned)d, erased: %(erased)d, used again: %(kept)d.")
            % accounts
        )
        logs = retention.logs_job()
        self.stdout.write(
            _(
                "Purged: %(notifications)d notifications, %(sessions)d expired sessions, "
                "%(admin_entries)d admin history entries, %(audit_entries)d audit entries, "
                "%(registrations)d old registrations."
            )
            % logs
        )
