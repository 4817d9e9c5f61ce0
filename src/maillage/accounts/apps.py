from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "maillage.accounts"
    verbose_name = _("Accounts")

    def ready(self):
        from . import checks, ratelimit  # noqa: F401 (checks registers itself)

        # allauth's rate-limit counters get hashed keys (no raw IP or email in the cache).
        ratelimit.install()
