from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlacesConfig(AppConfig):
    name = "maillage.places"
    verbose_name = _("Places")

    def ready(self):
        from . import signals  # noqa: F401 - connects the receivers
