from django.core.management.base import BaseCommand, CommandError

from maillage.accounts.models import User
from maillage.accounts.services import api_token_create


class Command(BaseCommand):
    help = "Print a new personal API token for the user with this email address."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--name", default="command line")

    def handle(self, *args, email, name, **options):
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"No user with the email address {email!r}.")
        _token, raw = api_token_create(user=user, name=name)
        self.stdout.write(raw)
