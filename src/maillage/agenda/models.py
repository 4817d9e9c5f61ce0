"""Events of the places and networks, registrations with a waiting list, and the newsletter.

The number of confirmed participants is kept on the event's row and changed only by the services,
under a lock of that row, so that capacity is exact when people register at the same moment; a
check constraint makes the database refuse an event fuller than its capacity whatever the code.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from maillage.core.models import TimeStampedModel
from maillage.places.vocabulary import LANGUAGES

from . import vocabulary


class EventSeries(TimeStampedModel):
    """Dates of a recurring event, each its own Event with its own registrations."""

    rrule = models.CharField(_("repeat rule (RFC 5545)"), max_length=300)

    class Meta:
        verbose_name = _("event series")
        verbose_name_plural = _("event series")

    def __str__(self):
        return self.rrule


class Event(TimeStampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")
        CANCELLED = "cancelled", _("cancelled")

    class Location(models.TextChoices):
        PLACE = "place", _("at the place")
        ROOM = "room", _("in a room of the place")
        ADDRESS = "address", _("at another address")
        ONLINE = "online", _("online")

    # The owner: a place, or a network for the events of the network itself.
    place = models.ForeignKey(
        "places.Place", on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    network = models.ForeignKey(
        "places.Network", on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    series = models.ForeignKey(
        EventSeries, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    title = models.CharField(_("title"), max_length=200)
    # Sanitised HTML (agenda.text.clean_html): a few formatting tags and links, nothing else.
    description = models.TextField(_("description"), blank=True)
    # Title and description in other languages: {"es": {"title": "...", "description": "..."}}.
    translations = models.JSONField(_("translations"), default=dict, blank=True)
    category = models.CharField(
        _("category"),
        max_length=20,
        choices=[(term.code, term.label) for term in vocabulary.CATEGORIES],
    )
    audience = models.CharField(
        _("audience"),
        max_length=20,
        default="everyone",
        choices=[(term.code, term.label) for term in vocabulary.AUDIENCES],
    )
    language = models.CharField(
        _("language"),
        max_length=3,
        default="fr",
        choices=[(term.code, term.label) for term in LANGUAGES],
    )
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    location = models.CharField(
        _("where"), max_length=10, choices=Location.choices, default=Location.PLACE
    )
    # The room's booking, made by the services when the event takes place in a room.
    booking = models.OneToOneField(
        "bookings.Booking",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="event",
        editable=False,
    )
    address = models.CharField(_("address"), max_length=250, blank=True)
    online_url = models.URLField(_("link to join online"), max_length=300, blank=True)
    registration_required = models.BooleanField(_("registration required"), default=True)
    # None: no limit.
    capacity = models.PositiveIntegerField(_("capacity"), null=True, blank=True)
    waitlist_enabled = models.BooleanField(_("waiting list when full"), default=True)
    registrations_open = models.BooleanField(_("registrations open"), default=True)
    is_free = models.BooleanField(_("free of charge"), default=True)
    price_info = models.CharField(_("price information"), max_length=200, blank=True)
    image = models.ImageField(_("image"), upload_to="agenda/events/%Y/", blank=True)
    organiser_name = models.CharField(_("organiser"), max_length=150, blank=True)
    organiser_email = models.EmailField(_("organiser's email"), blank=True)
    organiser_phone = models.CharField(_("organiser's phone"), max_length=30, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PUBLISHED
    )
    cancellation_reason = models.CharField(_("why it is cancelled"), max_length=500, blank=True)
    # Counters kept by the services under a lock of this row (see the module's docstring).
    confirmed_count = models.PositiveIntegerField(default=0, editable=False)
    waitlisted_count = models.PositiveIntegerField(default=0, editable=False)
    # The next place in the waiting list: positions are ranks by this number, without gaps.
    next_queue_number = models.PositiveIntegerField(default=1, editable=False)
    # A folded copy (core.text.fold) of the title, description and place for search.
    search_text = models.TextField(blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["start", "id"]
        indexes = [
            models.Index(fields=["status", "start"], name="event_agenda"),
            models.Index(fields=["place", "start"], name="event_place_start"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="event_ends_after_start"),
            models.CheckConstraint(
                condition=Q(place__isnull=False) | Q(network__isnull=False),
                name="event_has_an_owner",
            ),
            models.CheckConstraint(
                condition=Q(capacity__isnull=True) | Q(confirmed_count__lte=F("capacity")),
                name="event_never_over_capacity",
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("agenda:event", kwargs={"pk": self.pk, "slug": slugify(self.title) or "-"})

    def localized(self, field: str, language: str | None) -> str:
        """`title` or `description` in `language` when given, else in the event's language."""
        text = (self.translations or {}).get((language or "")[:2], {}).get(field, "")
        return text or getattr(self, field)

    @property
    def places_left(self) -> int | None:
        if self.capacity is None:
            return None
        return max(self.capacity - self.confirmed_count, 0)


class Registration(TimeStampedModel):
    class Status(models.TextChoices):
        CONFIRMED = "confirmed", _("confirmed")
        WAITLISTED = "waitlisted", _("on the waiting list")
        CANCELLED = "cancelled", _("cancelled")

    ACTIVE = (Status.CONFIRMED, Status.WAITLISTED)

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="registrations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="registrations",
    )
    name = models.CharField(_("name"), max_length=150)
    # Lower-cased: one active registration per email and event.
    email = models.EmailField(_("email"))
    # The language of the emails this person receives.
    language = models.CharField(max_length=8, default=settings.LANGUAGE_CODE)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    # Rank in the waiting list (smaller first); null once confirmed or cancelled.
    queue_number = models.PositiveIntegerField(null=True, blank=True, editable=False)
    # People without an account confirm their address by the link of the first email.
    email_confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    promoted_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["event", "status", "queue_number"], name="registration_queue"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "email"],
                condition=Q(status__in=["confirmed", "waitlisted"]),
                name="one_active_registration_per_email",
            ),
            models.UniqueConstraint(
                fields=["event", "queue_number"],
                condition=Q(status="waitlisted"),
                name="one_waitlisted_per_queue_number",
            ),
            models.CheckConstraint(
                condition=Q(status="waitlisted", queue_number__isnull=False)
                | (~Q(status="waitlisted") & Q(queue_number__isnull=True)),
                name="queue_number_iff_waitlisted",
            ),
        ]

    def __str__(self):
        return f"{self.name} – {self.event}"


class Subscription(TimeStampedModel):
    """A newsletter subscriber: the coming events of a network, or of chosen places."""

    email = models.EmailField(_("email"))
    language = models.CharField(_("language"), max_length=8, default=settings.LANGUAGE_CODE)
    network = models.ForeignKey(
        "places.Network",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="subscriptions",
        verbose_name=_("network"),
    )
    places = models.ManyToManyField(
        "places.Place", blank=True, related_name="subscriptions", verbose_name=_("places")
    )
    # Double opt-in: nothing is sent before the link of the first email is followed.
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("newsletter subscription")
        verbose_name_plural = _("newsletter subscriptions")
        constraints = [
            models.UniqueConstraint(fields=["email"], name="one_subscription_per_email"),
        ]

    def __str__(self):
        return self.email
