from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImpactConfig(AppConfig):
    name = "maillage.impact"
    verbose_name = _("Impact statistics")

    def ready(self):
        # Receivers on the other apps' models that queue the days to recompute (signals.py).
        from . import signals

        signals.connect()
