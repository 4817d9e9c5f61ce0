from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "maillage.accounts"
    verbose_name = _("Accounts")

    def ready(self):
        from . import checks, ratelimit, signals  # noqa: F401 (checks and signals register)

        # allauth's rate-limit counters get hashed keys (no raw IP or email in the cache).
        ratelimit.install()
