from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from maillage.privacy import services


class Command(BaseCommand):
    help = (
        "Write everything the instance holds about a person (an account, or only an email "
        "address: registrations, newsletter, mentoring questions, proposals) as a zip, for a "
        "request received by mail (docs/privacy.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--output", help="Zip file to write (default: <email>.zip).")

    def handle(self, *args, email, output, **options):
        person = services.person_by_email(email)
        if not person.email or "@" not in person.email:
            raise CommandError(_("Give an email address."))
        path = Path(output or f"{person.email}.zip")
        path.write_bytes(services.export_person(person))
        found = sum(count for _title, count in services.counts(person))
        self.stdout.write(
            _("%(path)s written: %(count)d records (%(kind)s).")
            % {
                "path": path,
                "count": found,
                "kind": _("account") if person.user is not None else _("no account"),
            }
        )
