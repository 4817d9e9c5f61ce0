import functools
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from maillage.core.models import TimeStampedModel

from . import vocabulary


@functools.cache
def _time_zones() -> frozenset[str]:
    # available_timezones() rescans the tzdata files at every call.
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    if value not in _time_zones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


class Network(TimeStampedModel):
    slug = models.SlugField(_("identifier"), max_length=80, unique=True)
    name = models.CharField(_("name"), max_length=150)
    description = models.TextField(_("description"), blank=True)
    website = models.URLField(_("website"), blank=True)
    # Open data: the network's aggregate statistics (never personal data) are public when set;
    # the directory and the agenda are public anyway.
    publishes_statistics = models.BooleanField(
        _("publish the statistics"),
        default=False,
        help_text=_("Anyone may read and download the network's aggregate figures."),
    )

    class Meta:
        verbose_name = _("network")
        verbose_name_plural = _("networks")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Place(TimeStampedModel):
    slug = models.SlugField(_("identifier"), max_length=120, unique=True)
    name = models.CharField(_("name"), max_length=200)
    summary = models.CharField(_("short presentation"), max_length=300, blank=True)
    description = models.TextField(_("description"), blank=True)
    address = models.CharField(_("address"), max_length=250, blank=True)
    postcode = models.CharField(_("postcode"), max_length=10, blank=True)
    town = models.CharField(_("town"), max_length=120, blank=True)
    insee_code = models.CharField(_("INSEE code"), max_length=5, blank=True)
    department = models.CharField(_("département"), max_length=3, blank=True)
    country = models.CharField(_("country"), max_length=2, default="FR")
    latitude = models.FloatField(_("latitude"))
    longitude = models.FloatField(_("longitude"))
    # Summary and description in the other interface languages: {"es": {"summary": "..."}}.
    translations = models.JSONField(_("translations"), default=dict, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    website = models.URLField(_("website"), max_length=300, blank=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default=settings.TIME_ZONE, validators=[validate_time_zone]
    )
    networks = models.ManyToManyField(
        Network, related_name="places", blank=True, verbose_name=_("networks")
    )
    is_published = models.BooleanField(_("published"), default=True)
    # Where the row came from, so that re-importing a census updates instead of duplicating.
    source = models.CharField(_("source"), max_length=20, blank=True)
    source_id = models.CharField(_("identifier in the source"), max_length=40, blank=True)
    # Folded copies (see core.text.fold) that make search accent- and case-insensitive.
    town_key = models.CharField(max_length=120, blank=True, db_index=True, editable=False)
    search_text = models.TextField(blank=True, editable=False)
    # A copy of the weekly hours and seasons (hours.rules_to_json), rewritten whenever they
    # change (services and signals): booking a slot reads it with the place instead of querying
    # the rows it comes from.
    hours_rules = models.JSONField(default=dict, editable=False)

    class Meta:
        verbose_name = _("place")
        verbose_name_plural = _("places")
        ordering = ["name"]
        # is_published in the index spares a table lookup per candidate of a proximity search.
        indexes = [
            models.Index(fields=["latitude", "longitude", "is_published"], name="place_lat_lon_pub")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__gte=-90, latitude__lte=90)
                & Q(longitude__gte=-180, longitude__lte=180),
                name="place_coordinates_on_earth",
            ),
            models.UniqueConstraint(
                fields=["source", "source_id"],
                condition=~Q(source=""),
                name="place_unique_source_id",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("places:detail", kwargs={"slug": self.slug})

    def localized(self, field: str, language: str | None) -> str:
        """`summary` or `description` in `language` when given, else in the main language."""
        text = (self.translations or {}).get((language or "")[:2], {}).get(field, "")
        return text or getattr(self, field)

    def codes(self, kind: str) -> list[str]:
        """Vocabulary codes of one kind; uses the prefetched terms when there are some."""
        terms = getattr(self, "prefetched_terms", None)
        if terms is None:
            terms = self.terms.all()
        return sorted(t.code for t in terms if t.kind == kind)

    @property
    def functions(self):
        return self.codes(PlaceTerm.Kind.FUNCTION)

    @property
    def services(self):
        return self.codes(PlaceTerm.Kind.SERVICE)

    @property
    def languages(self):
        return self.codes(PlaceTerm.Kind.LANGUAGE)

    @property
    def accessibility(self):
        return self.codes(PlaceTerm.Kind.ACCESSIBILITY)


class PlaceTerm(models.Model):
    """One vocabulary term (function, service, language, accessibility feature) of a place."""

    class Kind(models.TextChoices):
        FUNCTION = "function", _("function")
        SERVICE = "service", _("service")
        LANGUAGE = "language", _("language")
        ACCESSIBILITY = "accessibility", _("accessibility")

    VOCABULARY = {
        Kind.FUNCTION: vocabulary.FUNCTION_CODES,
        Kind.SERVICE: vocabulary.SERVICE_CODES,
        Kind.LANGUAGE: vocabulary.LANGUAGE_CODES,
        Kind.ACCESSIBILITY: vocabulary.ACCESSIBILITY_CODES,
    }

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="terms")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    code = models.CharField(max_length=40)

    class Meta:
        verbose_name = _("place term")
        verbose_name_plural = _("place terms")
        constraints = [
            models.UniqueConstraint(fields=["place", "kind", "code"], name="place_term_unique"),
        ]
        indexes = [models.Index(fields=["kind", "code", "place"], name="place_term_lookup")]

    def __str__(self):
        return f"{self.kind}:{self.code}"


class PlacePhoto(models.Model):
    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(_("image"), upload_to="places/photos/%Y/")
    alt_text = models.CharField(_("description of the image"), max_length=200)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        ordering = ["position", "id"]

    def __str__(self):
        return self.alt_text


class Animator(models.Model):
    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="animators")
    name = models.CharField(_("name"), max_length=120)
    role = models.CharField(_("role"), max_length=120, blank=True)
    photo = models.ImageField(_("photo"), upload_to="places/animators/", blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("animator")
        verbose_name_plural = _("animators")
        ordering = ["position", "id"]

    def __str__(self):
        return self.name


class Equipment(models.Model):
    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="equipment")
    name = models.CharField(_("name"), max_length=120)
    quantity = models.PositiveSmallIntegerField(_("quantity"), default=1)
    notes = models.CharField(_("notes"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("equipment")
        verbose_name_plural = _("equipment")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Season(models.Model):
    """A date range with its own opening hours, or a closure (seed 003 §4.3).

    A yearly season repeats every year on the same days and may wrap over New Year
    (1 December to 31 March).
    """

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="seasons")
    name = models.CharField(_("name"), max_length=100)
    start_date = models.DateField(_("first day"))
    end_date = models.DateField(_("last day"))
    yearly = models.BooleanField(_("every year"), default=False)
    closed = models.BooleanField(_("closed during this season"), default=False)

    class Meta:
        verbose_name = _("season")
        verbose_name_plural = _("seasons")
        ordering = ["start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(yearly=True) | Q(end_date__gte=models.F("start_date")),
                name="season_ends_after_start",
            ),
        ]

    def __str__(self):
        return self.name


class OpeningHours(models.Model):
    """An opening interval on a weekday, for the regular week (no season) or for a season."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="hours")
    season = models.ForeignKey(
        Season, on_delete=models.CASCADE, related_name="hours", null=True, blank=True
    )
    weekday = models.PositiveSmallIntegerField(_("day"), choices=Weekday.choices)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))

    class Meta:
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        ordering = ["weekday", "opens"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes__gt=models.F("opens")), name="hours_closes_after_opens"
            ),
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6), name="hours_weekday_valid"
            ),
        ]
        indexes = [models.Index(fields=["weekday", "opens", "closes"], name="hours_lookup")]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class PlaceProposal(TimeStampedModel):
    """A new place or a correction proposed by anyone, waiting for a coordinator."""

    class Kind(models.TextChoices):
        NEW = "new", _("new place")
        CORRECTION = "correction", _("correction")

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for moderation")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    place = models.ForeignKey(
        Place, on_delete=models.CASCADE, null=True, blank=True, related_name="proposals"
    )
    network = models.ForeignKey(
        Network, on_delete=models.SET_NULL, null=True, blank=True, related_name="proposals"
    )
    payload = models.JSONField(_("proposed values"), default=dict)
    message = models.TextField(_("message to the moderators"), blank=True)
    proposer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="place_proposals",
    )
    proposer_name = models.CharField(_("your name"), max_length=120, blank=True)
    proposer_email = models.EmailField(_("your email"), blank=True)
    language = models.CharField(max_length=8, default=settings.LANGUAGE_CODE)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reviewed_place_proposals",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(_("reason"), blank=True)

    class Meta:
        verbose_name = _("place proposal")
        verbose_name_plural = _("place proposals")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="new") | Q(place__isnull=False),
                name="correction_names_its_place",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.payload.get('name', '')}"


class PlaceRevision(models.Model):
    """One change to a place: who, when, from what, and each field's old and new value."""

    class Source(models.TextChoices):
        CREATED = "created", _("creation")
        EDIT = "edit", _("edit by a manager")
        PROPOSAL = "proposal", _("approved proposal")
        IMPORT = "import", _("import")

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="revisions")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    source = models.CharField(max_length=16, choices=Source.choices)
    proposal = models.ForeignKey(PlaceProposal, on_delete=models.SET_NULL, null=True, blank=True)
    changes = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("place revision")
        verbose_name_plural = _("place revisions")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.place} · {self.created_at:%Y-%m-%d %H:%M}"
