"""The tables of a place archive, version 1 (docs/place-archive.md): what each file holds.

Each table names its model, the rows of a place it exports, and its fields by kind: plain values
(copied under the model field's name, as JSON: dates and times in ISO 8601, decimals as
strings), references to another table of the archive (its archive-local `id`), people (an `id`
of people.jsonl), media files (a path under media/ in the zip) and places outside the archive
(their slug). The exporter and the importer both read this one description, so the two cannot
drift apart; a change to it is a new format version.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Model, Q, QuerySet

from maillage.accounts.models import PlaceRole
from maillage.agenda.models import Event, EventSeries, Registration
from maillage.bookings.models import (
    Booking,
    Occurrence,
    Resource,
    ResourceHours,
    ResourceTerm,
    TrainingValidation,
)
from maillage.members.models import (
    CheckIn,
    CreditUse,
    MemberProfile,
    Membership,
    MembershipMonth,
    Plan,
)
from maillage.places.models import (
    Animator,
    Equipment,
    OpeningHours,
    Place,
    PlacePhoto,
    PlaceTerm,
    Season,
)

FORMAT = "maillage-place-archive"
VERSION = 1


@dataclass(frozen=True)
class Table:
    name: str
    model: type[Model]
    rows: Callable[[Place], QuerySet]
    fields: tuple[str, ...] = ()
    # archive key -> (model ForeignKey name, table it points to)
    refs: dict[str, tuple[str, str]] = field(default_factory=dict)
    # ForeignKeys to accounts, exported as ids of people.jsonl under the same name
    people: tuple[str, ...] = ()
    media: tuple[str, ...] = ()
    # created_at is exported and restored as it was
    keeps_created_at: bool = False
    # the model's ForeignKey to the place, set by the importer (None: reached through a ref)
    owner: str | None = "place"
    # refs that may be null
    optional: tuple[str, ...] = ()
    # keys written and read by the exporter and importer themselves (skills, places by slug)
    extra: tuple[str, ...] = ()

    @property
    def file_name(self) -> str:
        return f"{self.name}.jsonl"

    def columns(self) -> list[str]:
        keys = ["id", *self.fields, *self.refs, *self.people, *self.media, *self.extra]
        return keys + (["created_at"] if self.keeps_created_at else [])


def _resources(place: Place) -> Q:
    return Q(resource__place=place)


TABLES: tuple[Table, ...] = (
    Table(
        "place_roles",
        PlaceRole,
        lambda place: PlaceRole.objects.filter(place=place),
        fields=("role",),
        people=("user",),
        keeps_created_at=True,
    ),
    Table(
        "member_profiles",
        MemberProfile,
        lambda place: MemberProfile.objects.filter(user__place_roles__place=place),
        fields=("bio", "links", "languages", "visibility", "show_presence"),
        people=("user",),
        owner=None,
        extra=("skills",),
    ),
    Table(
        "place_terms",
        PlaceTerm,
        lambda place: PlaceTerm.objects.filter(place=place),
        fields=("kind", "code"),
    ),
    Table(
        "place_photos",
        PlacePhoto,
        lambda place: PlacePhoto.objects.filter(place=place),
        fields=("alt_text", "position"),
        media=("image",),
    ),
    Table(
        "animators",
        Animator,
        lambda place: Animator.objects.filter(place=place),
        fields=("name", "role", "position"),
        media=("photo",),
    ),
    Table(
        "equipment",
        Equipment,
        lambda place: Equipment.objects.filter(place=place),
        fields=("name", "quantity", "notes"),
    ),
    Table(
        "seasons",
        Season,
        lambda place: Season.objects.filter(place=place),
        fields=("name", "start_date", "end_date", "yearly", "closed"),
    ),
    Table(
        "opening_hours",
        OpeningHours,
        lambda place: OpeningHours.objects.filter(place=place),
        fields=("weekday", "opens", "closes"),
        refs={"season": ("season", "seasons")},
        optional=("season",),
    ),
    Table(
        "resources",
        Resource,
        lambda place: Resource.objects.filter(place=place),
        fields=(
            "name",
            "kind",
            "description",
            "capacity",
            "min_minutes",
            "max_minutes",
            "horizon_days",
            "buffer_minutes",
            "audience",
            "requires_approval",
            "cancel_deadline_hours",
            "training",
            "price_info",
            "credits_per_hour",
            "is_active",
        ),
        media=("photo",),
        keeps_created_at=True,
    ),
    Table(
        "resource_terms",
        ResourceTerm,
        lambda place: ResourceTerm.objects.filter(_resources(place)),
        fields=("kind", "code"),
        refs={"resource": ("resource", "resources")},
        owner=None,
    ),
    Table(
        "resource_hours",
        ResourceHours,
        lambda place: ResourceHours.objects.filter(_resources(place)),
        fields=("weekday", "opens", "closes"),
        refs={"resource": ("resource", "resources")},
        owner=None,
    ),
    Table(
        "training_validations",
        TrainingValidation,
        lambda place: TrainingValidation.objects.filter(place=place),
        fields=("machine_type", "expires_on"),
        people=("user", "validated_by"),
        keeps_created_at=True,
    ),
    Table(
        "bookings",
        Booking,
        lambda place: Booking.objects.filter(_resources(place)),
        fields=("title", "private", "rrule", "decision_note"),
        refs={"resource": ("resource", "resources")},
        people=("booker", "created_by", "decided_by"),
        keeps_created_at=True,
        owner=None,
    ),
    Table(
        "occurrences",
        Occurrence,
        lambda place: Occurrence.objects.filter(_resources(place)),
        fields=("start", "end", "held_until", "status"),
        refs={"booking": ("booking", "bookings")},
        owner=None,
    ),
    Table(
        "event_series",
        EventSeries,
        lambda place: EventSeries.objects.filter(events__place=place).distinct(),
        fields=("rrule",),
        keeps_created_at=True,
        owner=None,
    ),
    Table(
        "events",
        Event,
        lambda place: Event.objects.filter(place=place),
        fields=(
            "title",
            "description",
            "translations",
            "category",
            "audience",
            "language",
            "start",
            "end",
            "location",
            "address",
            "online_url",
            "registration_required",
            "capacity",
            "waitlist_enabled",
            "registrations_open",
            "is_free",
            "price_info",
            "organiser_name",
            "organiser_email",
            "organiser_phone",
            "status",
            "cancellation_reason",
        ),
        refs={"series": ("series", "event_series"), "room_booking": ("booking", "bookings")},
        people=("created_by",),
        media=("image",),
        keeps_created_at=True,
        optional=("series", "room_booking"),
    ),
    Table(
        "registrations",
        Registration,
        lambda place: Registration.objects.filter(event__place=place),
        fields=(
            "name",
            "email",
            "language",
            "status",
            "queue_number",
            "email_confirmed_at",
            "cancelled_at",
            "promoted_at",
            "checked_in_at",
            "reminded_at",
        ),
        refs={"event": ("event", "events")},
        people=("user", "checked_in_by"),
        keeps_created_at=True,
        owner=None,
    ),
    Table(
        "plans",
        Plan,
        lambda place: Plan.objects.filter(place=place),
        fields=(
            "name",
            "description",
            "kind",
            "price",
            "currency",
            "credit_hours",
            "resource_kinds",
            "days_per_month",
            "tickets",
            "valid_days",
            "network_wide",
            "is_active",
        ),
        keeps_created_at=True,
        extra=("valid_places",),
    ),
    Table(
        "memberships",
        Membership,
        lambda place: Membership.objects.filter(place=place),
        fields=("starts_on", "ends_on", "tickets_left", "price", "ended_at", "note"),
        refs={"plan": ("plan", "plans")},
        people=("user", "granted_by"),
        keeps_created_at=True,
    ),
    Table(
        "membership_months",
        MembershipMonth,
        lambda place: MembershipMonth.objects.filter(membership__place=place),
        fields=("month", "credit_minutes", "credit_minutes_used", "days", "days_used"),
        refs={"membership": ("membership", "memberships")},
        owner=None,
    ),
    Table(
        "credit_uses",
        CreditUse,
        lambda place: CreditUse.objects.filter(
            month__membership__place=place, occurrence__resource__place=place
        ),
        fields=("minutes", "refunded_at"),
        refs={"month": ("month", "membership_months"), "occurrence": ("occurrence", "occurrences")},
        keeps_created_at=True,
        owner=None,
    ),
    Table(
        "checkins",
        CheckIn,
        lambda place: CheckIn.objects.filter(place=place),
        fields=(
            "day",
            "checked_in_at",
            "checked_out_at",
            "auto_checked_out",
            "consumed",
            "unit_value",
        ),
        refs={"membership": ("membership", "memberships")},
        people=("user", "checked_in_by"),
        optional=("membership",),
        extra=("home_place",),
    ),
)

BY_NAME = {table.name: table for table in TABLES}
# Fields of place.jsonl (the one row of the place itself).
PLACE_FIELDS = (
    "slug",
    "name",
    "summary",
    "description",
    "address",
    "postcode",
    "town",
    "insee_code",
    "department",
    "country",
    "latitude",
    "longitude",
    "translations",
    "email",
    "phone",
    "website",
    "time_zone",
    "is_published",
)
PEOPLE_FIELDS = ("id", "email", "full_name", "language")
# Every table file of the archive, in the order the importer writes them.
FILES = ("place.jsonl", "people.jsonl", *(table.file_name for table in TABLES))
