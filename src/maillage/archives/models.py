"""A place's archive: one export of its complete data, built by a background job.

The zip file lives under MAILLAGE_ARCHIVE_ROOT (never under MEDIA_ROOT, which is served to
anyone): only the download view hands it out, to those allowed. It is deleted after
MAILLAGE_ARCHIVE_KEEP_DAYS by `maillage archives_jobs`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class PlaceArchive(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("waiting to start")
        RUNNING = "running", _("being written")
        DONE = "done", _("ready")
        FAILED = "failed", _("failed")
        EXPIRED = "expired", _("expired")

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    place = models.ForeignKey("places.Place", on_delete=models.CASCADE, related_name="archives")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    step = models.CharField(_("current step"), max_length=60, blank=True)
    # Relative to MAILLAGE_ARCHIVE_ROOT; a random name, empty until written and once expired.
    file_name = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField(_("size (bytes)"), null=True, blank=True)
    counts = models.JSONField(_("rows per table"), default=dict, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("available until"), null=True, blank=True)

    class Meta:
        verbose_name = _("place archive")
        verbose_name_plural = _("place archives")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="place_archive_progress_percent"
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_at"], name="place_archive_expiry")]

    def __str__(self):
        return f"{self.place} · {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.DONE and bool(self.file_name)
