from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from maillage.privacy import services


class Command(BaseCommand):
    help = (
        "Erase a person (an account, or only an email address: registrations, newsletter, "
        "mentoring questions, proposals), for a request received by mail (docs/privacy.md). "
        "Asks for confirmation unless --yes."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args, email, yes, **options):
        person = services.person_by_email(email)
        if not person.email or "@" not in person.email:
            raise CommandError(_("Give an email address."))
        found = services.counts(person)
        if not found:
            self.stdout.write(_("Nothing is held about %(email)s.") % {"email": person.email})
            return
        for title, count in found:
            self.stdout.write(f"  {title}: {count}")
        if person.user is not None:
            for place in services.places_left_without_manager(person.user):
                self.stdout.write(
                    _("Warning: %(place)s will have no manager left.") % {"place": place.name}
                )
        if not yes:
            answer = input(_("Erase %(email)s for good? Type yes: ") % {"email": person.email})
            if answer.strip().lower() != "yes":
                raise CommandError(_("Nothing was erased."))
        changed = services.erase_person(person, actor=None)
        self.stdout.write(
            _("%(email)s erased: %(count)d records deleted or anonymised.")
            % {"email": person.email, "count": sum(changed.values())}
        )
