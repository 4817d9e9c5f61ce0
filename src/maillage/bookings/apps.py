from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BookingsConfig(AppConfig):
    name = "maillage.bookings"
    verbose_name = _("Bookings")

    def ready(self):
        from . import signals  # noqa: F401 - connects the receivers
