from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from maillage.core.models import TimeStampedModel


class Resource(TimeStampedModel):
    """Something of a place that people book: a room, a desk, a machine, a piece of equipment."""

    class Kind(models.TextChoices):
        MEETING_ROOM = "meeting_room", _("meeting room")
        VISIO_ROOM = "visio_room", _("video-conference room")
        TRAINING_ROOM = "training_room", _("training room")
        PRIVATE_OFFICE = "private_office", _("private office")
        DESK = "desk", _("open desk")
        MACHINE = "machine", _("machine")
        EQUIPMENT = "equipment", _("loanable equipment")

    class Audience(models.TextChoices):
        PUBLIC = "public", _("anyone with an account")
        MEMBERS = "members", _("members of the place")

    place = models.ForeignKey("places.Place", on_delete=models.CASCADE, related_name="resources")
    name = models.CharField(_("name"), max_length=150)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    description = models.TextField(_("description"), blank=True)
    capacity = models.PositiveSmallIntegerField(_("capacity (people)"), default=1)
    min_minutes = models.PositiveIntegerField(_("shortest booking (minutes)"), default=30)
    max_minutes = models.PositiveIntegerField(_("longest booking (minutes)"), default=600)
    horizon_days = models.PositiveIntegerField(_("bookable up to (days ahead)"), default=90)
    buffer_minutes = models.PositiveIntegerField(
        _("free time after each booking (minutes)"), default=0
    )
    audience = models.CharField(
        _("who may book"), max_length=16, choices=Audience.choices, default=Audience.PUBLIC
    )
    requires_approval = models.BooleanField(_("bookings need approval"), default=False)
    price_info = models.CharField(_("price information"), max_length=200, blank=True)
    is_active = models.BooleanField(_("bookable"), default=True)

    class Meta:
        verbose_name = _("resource")
        verbose_name_plural = _("resources")
        ordering = ["place", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_minutes__gte=F("min_minutes")) & Q(min_minutes__gt=0),
                name="resource_durations_consistent",
            ),
            models.CheckConstraint(condition=Q(capacity__gt=0), name="resource_capacity_positive"),
        ]

    def __str__(self):
        return f"{self.name} ({self.place})"


class Booking(TimeStampedModel):
    """A booking, one-off or recurring; its slots are the occurrences (one row per date)."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="bookings")
    booker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bookings"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("booked on behalf by"),
    )
    title = models.CharField(_("title"), max_length=150, blank=True)
    private = models.BooleanField(_("private"), default=False)
    rrule = models.CharField(_("repeat rule (RFC 5545)"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
        ordering = ["-created_at"]

    def __str__(self):
        return self.title or str(self.resource)


class Occurrence(models.Model):
    """One slot of a booking. The resource is held from `start` to `held_until` (the end plus the
    resource's buffer), and two held ranges of one resource may never overlap: PostgreSQL enforces
    it with an exclusion constraint (migration 0002), SQLite by serialised write transactions."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for approval")
        CONFIRMED = "confirmed", _("confirmed")
        REFUSED = "refused", _("refused")
        CANCELLED = "cancelled", _("cancelled")

    HOLDING = (Status.PENDING, Status.CONFIRMED)

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="occurrences")
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="occurrences")
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    held_until = models.DateTimeField(editable=False)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)

    class Meta:
        verbose_name = _("booked slot")
        verbose_name_plural = _("booked slots")
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=F("start")), name="occurrence_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(held_until__gte=F("end")), name="occurrence_held_after_end"
            ),
        ]
        indexes = [
            models.Index(fields=["resource", "start", "held_until"], name="occurrence_lookup"),
        ]

    def __str__(self):
        return f"{self.resource} {self.start:%Y-%m-%d %H:%M}"
