from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from maillage.core.models import TimeStampedModel

from . import vocabulary


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
    # Capped so that "now + horizon" stays a representable date (and a series stays finite).
    horizon_days = models.PositiveIntegerField(
        _("bookable up to (days ahead)"), default=90, validators=[MaxValueValidator(3660)]
    )
    buffer_minutes = models.PositiveIntegerField(
        _("free time after each booking (minutes)"), default=0
    )
    audience = models.CharField(
        _("who may book"), max_length=16, choices=Audience.choices, default=Audience.PUBLIC
    )
    requires_approval = models.BooleanField(_("bookings need approval"), default=False)
    cancel_deadline_hours = models.PositiveIntegerField(
        _("cancellation possible until (hours before the start)"), default=0
    )
    training = models.CharField(
        _("training required (machine type)"),
        max_length=40,
        blank=True,
        choices=[(term.code, term.label) for term in vocabulary.MACHINE_TYPES],
    )
    price_info = models.CharField(_("price information"), max_length=200, blank=True)
    # Members whose subscription includes booking credits for this kind of resource pay with
    # them: an hour booked takes this many hours of credits (0: credits are not used here).
    credits_per_hour = models.DecimalField(
        _("credits per hour booked"),
        max_digits=4,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0)],
    )
    photo = models.ImageField(_("photo"), upload_to="bookings/resources/%Y/", blank=True)
    is_active = models.BooleanField(_("bookable"), default=True)
    # A copy of the resource's own hours (places.hours.rules_to_json), rewritten whenever they
    # change: see Place.hours_rules.
    hours_rules = models.JSONField(default=dict, editable=False)

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

    def codes(self, kind: str) -> list[str]:
        terms = getattr(self, "prefetched_terms", None)
        if terms is None:
            terms = list(self.terms.all())
        return sorted(term.code for term in terms if term.kind == kind)

    @property
    def services(self) -> list[str]:
        return self.codes(ResourceTerm.Kind.SERVICE)

    @property
    def character(self) -> list[str]:
        return self.codes(ResourceTerm.Kind.CHARACTER)


class ResourceTerm(models.Model):
    """A service the resource offers (shared vocabulary) or one of its character tags."""

    class Kind(models.TextChoices):
        SERVICE = "service", _("service")
        CHARACTER = "character", _("character")

    VOCABULARY = {
        Kind.SERVICE: vocabulary.SERVICE_CODES,
        Kind.CHARACTER: vocabulary.CHARACTER_CODES,
    }

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="terms")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    code = models.CharField(max_length=40)

    class Meta:
        verbose_name = _("resource term")
        verbose_name_plural = _("resource terms")
        constraints = [
            models.UniqueConstraint(
                fields=["resource", "kind", "code"], name="resource_term_unique"
            ),
        ]
        indexes = [models.Index(fields=["kind", "code", "resource"], name="resource_term_lookup")]

    def __str__(self):
        return f"{self.kind}:{self.code}"


class ResourceHours(models.Model):
    """Bookable hours of a resource for one weekday. A resource without any follows the opening
    hours of its place; either way the place's closed seasons close it too."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(_("day"), choices=[(day, day) for day in range(7)])
    opens = models.TimeField(_("from"))
    closes = models.TimeField(_("to"))

    class Meta:
        verbose_name = _("bookable hours")
        verbose_name_plural = _("bookable hours")
        ordering = ["weekday", "opens"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes__gt=F("opens")), name="resource_hours_close_after_open"
            ),
        ]

    def __str__(self):
        return f"{self.weekday} {self.opens:%H:%M}-{self.closes:%H:%M}"


class TrainingValidation(TimeStampedModel):
    """A member may use a type of machine: validated by a manager of `place`, recognised by every
    place that shares a network with it, until `expires_on` (if set) or until revoked."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trainings"
    )
    machine_type = models.CharField(
        _("machine type"),
        max_length=40,
        choices=[(term.code, term.label) for term in vocabulary.MACHINE_TYPES],
    )
    place = models.ForeignKey(
        "places.Place",
        on_delete=models.CASCADE,
        related_name="training_validations",
        verbose_name=_("validated at"),
    )
    validated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    expires_on = models.DateField(_("valid until"), null=True, blank=True)

    class Meta:
        verbose_name = _("training validation")
        verbose_name_plural = _("training validations")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "machine_type", "place"], name="training_once_per_place"
            ),
        ]

    def __str__(self):
        return f"{self.user} {self.machine_type}"


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
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decision_note = models.CharField(_("message to the booker"), max_length=500, blank=True)

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


class WaitlistEntry(TimeStampedModel):
    """A member queues for a slot that is taken. When the slot frees up, the first in line whose
    wanted slot is now entirely free is booked automatically and told by email (see
    docs/bookings.md: automatic confirmation, not a timed offer)."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("waiting")
        BOOKED = "booked", _("booked")
        WITHDRAWN = "withdrawn", _("withdrawn")
        EXPIRED = "expired", _("expired")

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="waitlist")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="waitlist_entries"
    )
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    title = models.CharField(_("title"), max_length=150, blank=True)
    private = models.BooleanField(_("private"), default=False)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.WAITING
    )
    booking = models.ForeignKey(
        Booking, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("waiting-list entry")
        verbose_name_plural = _("waiting-list entries")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=F("start")), name="waitlist_ends_after_start"
            ),
            models.UniqueConstraint(
                fields=["resource", "user", "start", "end"],
                condition=Q(status="waiting"),
                name="waitlist_once_per_slot",
            ),
        ]
        indexes = [models.Index(fields=["resource", "status", "start"], name="waitlist_lookup")]

    def __str__(self):
        return f"{self.user} {self.resource} {self.start:%Y-%m-%d %H:%M}"


class CalendarFeed(models.Model):
    """The secret address of a member's personal iCalendar feed. Revoking it deletes the row; a
    new token is a new row, so an old address stops working at once."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")

    def __str__(self):
        return f"feed of {self.user}"
