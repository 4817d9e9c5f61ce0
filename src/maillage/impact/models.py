"""Daily rollups of the statistics: what the pages, the CSV and the API read.

A place's figures are kept per local day of the place (its time zone) as rows of
(place, day, metric, key, value): `key` tells apart the parts of a figure (a resource kind, a role,
a plan...). Unique visitors cannot be summed from daily counts, so each day also keeps the set of
its visitors as pseudonyms (a keyed hash of the account, never the account itself): the distinct
count over any period and any group of places is then exact. Days to recompute are queued in
`DirtyDay` by the receivers of impact.signals; `maillage impact_rollup` recomputes them.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class DailyFigure(models.Model):
    place = models.ForeignKey(
        "places.Place", on_delete=models.CASCADE, related_name="+", verbose_name=_("place")
    )
    day = models.DateField(_("day"))
    metric = models.CharField(_("figure"), max_length=40)
    key = models.CharField(_("detail"), max_length=60, blank=True)
    value = models.BigIntegerField(_("value"))

    class Meta:
        verbose_name = _("daily figure")
        verbose_name_plural = _("daily figures")
        constraints = [
            models.UniqueConstraint(
                fields=["place", "day", "metric", "key"], name="impact_figure_once"
            ),
        ]
        indexes = [models.Index(fields=["place", "metric", "day"], name="impact_figure_read")]

    def __str__(self):
        return f"{self.place_id} {self.day} {self.metric}:{self.key}={self.value}"


class DailyVisitor(models.Model):
    """A pseudonymous visitor of a place on a day (see the module's docstring)."""

    place = models.ForeignKey("places.Place", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    visitor = models.BigIntegerField()

    class Meta:
        verbose_name = _("daily visitor")
        verbose_name_plural = _("daily visitors")
        constraints = [
            models.UniqueConstraint(fields=["place", "day", "visitor"], name="impact_visitor_once"),
        ]
        indexes = [models.Index(fields=["place", "day"], name="impact_visitor_read")]

    def __str__(self):
        return f"{self.place_id} {self.day}"


class DirtyDay(models.Model):
    """A day of a place whose figures changed after they were rolled up. `place_id` is a plain
    number, not a foreign key: days are marked while a place's rows are being deleted too."""

    place_id = models.BigIntegerField()
    day = models.DateField()
    marked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("day to recompute")
        verbose_name_plural = _("days to recompute")
        constraints = [
            models.UniqueConstraint(fields=["place_id", "day"], name="impact_dirty_once"),
        ]

    def __str__(self):
        return f"{self.place_id} {self.day}"


class NetworkDailyFigure(models.Model):
    """A daily figure of the events a network holds itself (events with no place): the events
    figures of DailyFigure (events_held, participants...), per day of the instance's time zone
    (settings.TIME_ZONE), since a network has none of its own."""

    network = models.ForeignKey(
        "places.Network", on_delete=models.CASCADE, related_name="+", verbose_name=_("network")
    )
    day = models.DateField(_("day"))
    metric = models.CharField(_("figure"), max_length=40)
    key = models.CharField(_("detail"), max_length=60, blank=True)
    value = models.BigIntegerField(_("value"))

    class Meta:
        verbose_name = _("daily figure of a network")
        verbose_name_plural = _("daily figures of networks")
        constraints = [
            models.UniqueConstraint(
                fields=["network", "day", "metric", "key"], name="impact_network_figure_once"
            ),
        ]
        indexes = [
            models.Index(fields=["network", "metric", "day"], name="impact_network_figure_read")
        ]

    def __str__(self):
        return f"{self.network_id} {self.day} {self.metric}:{self.key}={self.value}"


class DirtyNetworkDay(models.Model):
    """A day of a network's own events whose figures changed after they were rolled up (a plain
    number, as in DirtyDay)."""

    network_id = models.BigIntegerField()
    day = models.DateField()
    marked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("network day to recompute")
        verbose_name_plural = _("network days to recompute")
        constraints = [
            models.UniqueConstraint(fields=["network_id", "day"], name="impact_dirty_network_once"),
        ]

    def __str__(self):
        return f"{self.network_id} {self.day}"


class RollupRun(models.Model):
    """When the rollup job last finished: the next run also recomputes the days since then, so a
    job that did not run for a while leaves no day behind."""

    finished_at = models.DateTimeField()
    days = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("statistics rollup")
        verbose_name_plural = _("statistics rollups")
        ordering = ["-finished_at"]

    def __str__(self):
        return f"{self.finished_at:%Y-%m-%d %H:%M}"
