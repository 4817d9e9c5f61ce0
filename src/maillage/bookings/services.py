"""Writes on resources and bookings. Every way of booking (pages, API, staff on behalf, the waiting
list) comes through here, so the rules and the audit are the same for all."""

import contextlib
import datetime as dt
import functools
import itertools
import secrets
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass

from dateutil.rrule import rrulestr
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, Subquery
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from maillage.accounts.models import User
from maillage.core.audit import audit_record
from maillage.core.prepared import prepared_cursor
from maillage.core.tasks import send_email
from maillage.members.credits import credits_charge, credits_refund
from maillage.places.hours import HoursRule, SeasonRule, intervals_on, rules_from_json
from maillage.places.models import Place

from . import permissions, selectors
from .models import (
    Booking,
    CalendarFeed,
    Occurrence,
    Resource,
    ResourceHours,
    ResourceTerm,
    TrainingValidation,
    WaitlistEntry,
)

MAX_OCCURRENCES = 200


@dataclass(frozen=True)
class Slot:
    start: dt.datetime
    end: dt.datetime


class BookingConflict(Exception):
    """The resource is already held during `slot` (its details may be private: only times)."""

    def __init__(self, slot: Slot):
        super().__init__(f"{slot.start.isoformat()}/{slot.end.isoformat()}")
        self.slot = slot


# Resources ------------------------------------------------------------------------------------


def _set_terms(resource: Resource, kind: str, codes: Iterable[str]) -> None:
    wanted = set(codes)
    unknown = wanted - ResourceTerm.VOCABULARY[kind]
    if unknown:
        raise ValidationError(
            {kind: _("Unknown codes: %(codes)s") % {"codes": ", ".join(sorted(unknown))}}
        )
    resource.terms.filter(kind=kind).exclude(code__in=wanted).delete()
    present = set(resource.terms.filter(kind=kind).values_list("code", flat=True))
    ResourceTerm.objects.bulk_create(
        [ResourceTerm(resource=resource, kind=kind, code=code) for code in wanted - present]
    )


def _check_resource(resource: Resource) -> None:
    resource.full_clean(exclude=["place", "photo"])
    if resource.kind != Resource.Kind.MACHINE and resource.training:
        raise ValidationError({"training": _("Only machines can require a training.")})


@transaction.atomic
def resource_create(
    *,
    place: Place,
    author: User | None,
    services: Iterable[str] = (),
    character: Iterable[str] = (),
    **fields,
) -> Resource:
    """Add a bookable resource to a place. Raises ValidationError, writing nothing, on bad input."""
    resource = Resource(place=place, **fields)
    _check_resource(resource)
    resource.save()
    _set_terms(resource, ResourceTerm.Kind.SERVICE, services)
    _set_terms(resource, ResourceTerm.Kind.CHARACTER, character)
    audit_record(
        actor=author,
        action="resource.create",
        target=resource,
        place=place,
        details={"kind": resource.kind, "capacity": resource.capacity},
    )
    return resource


@transaction.atomic
def resource_update(
    *,
    resource: Resource,
    author: User | None,
    services: Iterable[str] | None = None,
    character: Iterable[str] | None = None,
    **fields,
) -> Resource:
    changed = {name: value for name, value in fields.items() if getattr(resource, name) != value}
    for name, value in changed.items():
        setattr(resource, name, value)
    _check_resource(resource)
    resource.save()
    if services is not None:
        _set_terms(resource, ResourceTerm.Kind.SERVICE, services)
    if character is not None:
        _set_terms(resource, ResourceTerm.Kind.CHARACTER, character)
    audit_record(
        actor=author,
        action="resource.update",
        target=resource,
        place=resource.place,
        details={"fields": sorted(name for name in changed if name != "photo")},
    )
    return resource


def resource_hours_rules_refresh(*resources: Resource | int) -> None:
    """Rewrite Resource.hours_rules from its own hours rows (after any change to them), in the
    database and on the given Resource objects."""
    ids = [resource if isinstance(resource, int) else resource.pk for resource in resources]
    rules = selectors.hours_rules_by_resource(ids)
    for resource in resources:
        if isinstance(resource, Resource):
            resource.hours_rules = rules[resource.pk]
    for resource_id, resource_rules in rules.items():
        Resource.objects.filter(pk=resource_id).update(hours_rules=resource_rules)


@transaction.atomic
def resource_hours_set(
    *, resource: Resource, intervals: Iterable[tuple[int, dt.time, dt.time]], author: User | None
) -> None:
    """Replace the resource's own bookable hours; an empty list means "the place's hours"."""
    rows = [
        ResourceHours(resource=resource, weekday=weekday, opens=opens, closes=closes)
        for weekday, opens, closes in intervals
    ]
    for row in rows:
        if row.closes <= row.opens:
            raise ValidationError(_("Each interval must close after it opens."))
    resource.hours.all().delete()
    ResourceHours.objects.bulk_create(rows)
    resource_hours_rules_refresh(resource)  # bulk_create sends no post_save signal
    audit_record(
        actor=author,
        action="resource.hours",
        target=resource,
        place=resource.place,
        details={"intervals": len(rows)},
    )


# Trainings ------------------------------------------------------------------------------------


@transaction.atomic
def training_validate(
    *,
    user: User,
    machine_type: str,
    place: Place,
    validator: User,
    expires_on: dt.date | None = None,
) -> TrainingValidation:
    """Record that `user` was trained on a type of machine at `place` (renews an earlier one)."""
    if not permissions.can_manage_resources(validator, place):
        raise PermissionError
    if expires_on is not None and expires_on < timezone.localdate():
        raise ValidationError({"expires_on": _("The expiry date is in the past.")})
    validation, _created = TrainingValidation.objects.update_or_create(
        user=user,
        machine_type=machine_type,
        place=place,
        defaults={"validated_by": validator, "expires_on": expires_on},
    )
    validation.full_clean()
    audit_record(
        actor=validator,
        action="training.validate",
        target=validation,
        place=place,
        details={"user": user.email, "machine_type": machine_type, "expires_on": str(expires_on)},
    )
    return validation


@transaction.atomic
def training_revoke(*, validation: TrainingValidation, actor: User) -> None:
    if not permissions.can_manage_resources(actor, validation.place):
        raise PermissionError
    audit_record(
        actor=actor,
        action="training.revoke",
        target=validation,
        place=validation.place,
        details={"user": validation.user.email, "machine_type": validation.machine_type},
    )
    validation.delete()


# Bookings -------------------------------------------------------------------------------------


def _slots(
    start: dt.datetime, end: dt.datetime, rrule: str, zone: zoneinfo.ZoneInfo, horizon_days: int
) -> list[Slot]:
    """The slots of a booking; a repeat rule is expanded in the place's wall-clock time, so that
    "every Thursday 14:00" stays at 14:00 across DST changes.

    Expansion stops at the resource's horizon: a rule that never matches would otherwise make
    dateutil scan every day up to the year 9999 before giving up.
    """
    if not rrule:
        return [Slot(start, end)]
    local_start = start.astimezone(zone).replace(tzinfo=None)
    limit = local_start + dt.timedelta(days=horizon_days + 1)
    duration = end - start
    try:
        rule = rrulestr(rrule, dtstart=local_start)
        dates = rule.between(local_start, limit, inc=True)
        beyond = bool(dates) and rule.after(limit) is not None
    except (ValueError, TypeError, OverflowError) as error:
        raise ValidationError(
            {"rrule": _("This repeat rule is not valid: %(error)s") % {"error": error}}
        ) from None
    if not dates:
        raise ValidationError(
            {"rrule": _("This repeat rule gives no date within the booking horizon.")}
        )
    if len(dates) > MAX_OCCURRENCES or beyond:
        raise ValidationError(
            {
                "rrule": _(
                    "A series may have at most %(max)d dates, all within %(days)d days: "
                    "add COUNT or UNTIL."
                )
                % {"max": MAX_OCCURRENCES, "days": horizon_days}
            }
        )
    return [Slot(date.replace(tzinfo=zone), date.replace(tzinfo=zone) + duration) for date in dates]


def _overlapping_within(slots: list[Slot], buffer: dt.timedelta) -> bool:
    """Whether two slots of one series would overlap each other (buffers included)."""
    ordered = sorted(slots, key=lambda slot: slot.start)
    return any(
        later.start < after(earlier.end, buffer) for earlier, later in itertools.pairwise(ordered)
    )


def after(moment: dt.datetime, elapsed: dt.timedelta) -> dt.datetime:
    """The instant `elapsed` after `moment`. Not `moment + elapsed`: on an aware datetime that is
    wall-clock arithmetic in its own time zone, and a 30-minute buffer after 02:45 (summer time)
    on the night the clocks go back would last until 03:15 winter time, 90 minutes later."""
    return moment.astimezone(dt.UTC) + elapsed


def exists_locally(moment: dt.datetime, zone: zoneinfo.ZoneInfo) -> bool:
    """False for a wall-clock time skipped by a DST change (02:30 on the last Sunday of March)."""
    local = moment.astimezone(zone).replace(tzinfo=None)
    round_trip = local.replace(tzinfo=zone).astimezone(dt.UTC).astimezone(zone)
    return round_trip.replace(tzinfo=None) == local


def bookable_rules(resource: Resource) -> tuple[tuple[HoursRule, ...], tuple[SeasonRule, ...]]:
    """The weekly rules and seasons that say when a resource may be booked: its own hours when it
    has some (the place's closed seasons still close it), else its place's hours and seasons.

    Read from the copies kept on the resource's and the place's rows, so with the resource.
    """
    place_hours, seasons = rules_from_json(resource.place.hours_rules)
    own_hours, _none = rules_from_json(resource.hours_rules)
    if not own_hours:
        return place_hours, seasons
    return own_hours, tuple(season for season in seasons if season.closed)


def within_bookable_hours(slot: Slot, zone: zoneinfo.ZoneInfo, rules, seasons) -> bool:
    """Whether the slot lies inside one bookable interval (local wall-clock time). A place or
    resource without any hours is bookable at any time."""
    if not rules:
        return True
    start, end = slot.start.astimezone(zone), slot.end.astimezone(zone)
    if start.date() != end.date():
        return False
    return any(
        opens <= start.time() and end.time() <= closes
        for opens, closes in intervals_on(start.date(), rules, seasons)
    )


def _check_rules(resource: Resource, user: User, slots: list[Slot]) -> None:
    if not resource.is_active or not resource.place.is_published:
        raise ValidationError(_("This resource cannot be booked at the moment."))
    if resource.audience == Resource.Audience.MEMBERS and not permissions.is_member(
        user, resource.place
    ):
        raise ValidationError(_("Only members of this place may book this resource."))
    zone = zoneinfo.ZoneInfo(resource.place.time_zone)
    if resource.training and not selectors.holds_training(
        user, resource, on=slots[-1].start.astimezone(zone).date()
    ):
        raise ValidationError(
            _(
                "This machine needs a validated training (%(training)s). Ask the team of a place "
                "of the network to validate it."
            )
            % {"training": resource.get_training_display()}
        )
    now = timezone.now()
    horizon = now + dt.timedelta(days=resource.horizon_days)
    rules, seasons = bookable_rules(resource)
    for slot in slots:
        if slot.end <= slot.start:
            raise ValidationError({"end": _("The end must come after the start.")})
        for moment in (slot.start, slot.end):
            if not exists_locally(moment, zone):
                raise ValidationError(
                    _(
                        "%(time)s does not exist on that day in %(zone)s (clocks go forward): "
                        "choose another time."
                    )
                    % {"time": f"{moment.astimezone(zone):%H:%M}", "zone": zone.key}
                )
        if slot.start < now:
            raise ValidationError({"start": _("This slot is in the past.")})
        if slot.start > horizon:
            raise ValidationError(
                {
                    "start": _("This resource can be booked at most %(days)d days ahead.")
                    % {"days": resource.horizon_days}
                }
            )
        minutes = (slot.end - slot.start).total_seconds() / 60
        if not resource.min_minutes <= minutes <= resource.max_minutes:
            raise ValidationError(
                _("A booking of this resource lasts between %(min)d and %(max)d minutes.")
                % {"min": resource.min_minutes, "max": resource.max_minutes}
            )
        if not within_bookable_hours(slot, zone, rules, seasons):
            raise ValidationError(
                _("The resource cannot be booked for the whole slot %(start)s–%(end)s.")
                % {
                    "start": f"{slot.start.astimezone(zone):%d/%m %H:%M}",
                    "end": f"{slot.end.astimezone(zone):%H:%M}",
                }
            )


def _clashes(resource: Resource, slots: list[Slot], buffer: dt.timedelta):
    overlaps = Q()
    for slot in slots:
        overlaps |= Q(start__lt=after(slot.end, buffer), held_until__gt=slot.start)
    return Occurrence.objects.filter(
        overlaps, resource=resource, status__in=Occurrence.HOLDING
    ).order_by("start")


def _first_conflict(resource: Resource, slots: list[Slot], buffer: dt.timedelta) -> Slot | None:
    """The first held slot of the resource that overlaps one of `slots` (buffers included)."""
    if not slots:
        return None
    clash = _clashes(resource, slots, buffer).values_list("start", "end").first()
    return Slot(*clash) if clash else None


def _hold(booking: Booking, occurrences: list[Occurrence], buffer: dt.timedelta) -> Slot | None:
    """Save `booking` and its `occurrences` unless the resource is held during one of them: then
    write nothing and return the first held slot that overlaps (buffers included).

    The check locks the resource's row (PostgreSQL), so bookings of one resource wait for each
    other here instead of inside the exclusion constraint's index, where fifty simultaneous
    inserts of one slot deadlock (PostgreSQL breaks the cycle after a second with an error
    instead of a conflict). SQLite ignores the lock: its write transactions are serialised.
    """
    if connection.vendor == "postgresql":
        return _hold_postgresql(booking, occurrences)
    slots = [Slot(occurrence.start, occurrence.end) for occurrence in occurrences]
    clashes = _clashes(booking.resource, slots, buffer)
    start, end = (
        Resource.objects.select_for_update(no_key=True)
        .filter(pk=booking.resource_id)
        .values_list(Subquery(clashes.values("start")[:1]), Subquery(clashes.values("end")[:1]))
        .get()
    )
    if start is not None:
        return Slot(start, end)
    booking.save()
    Occurrence.objects.bulk_create(occurrences)
    return None


def _hold_postgresql(booking: Booking, occurrences: list[Occurrence]) -> Slot | None:
    """`_hold` as one statement: lock, check and both inserts in a single round trip.

    Through the ORM these were four statements whose building cost three times the database's
    work; booking creation is the hot path of the network (PRODUCT.md §4: ≥ 740 per second).
    The statement reads the table as it was when it started: a booking committed while it waited
    for the lock makes the exclusion constraint fail, which booking_create reports as a conflict.
    """
    fields = _booking_insert_fields()
    values = [field.get_db_prep_save(field.pre_save(booking, True), connection) for field in fields]
    starts = [occurrence.start for occurrence in occurrences]
    ends = [occurrence.end for occurrence in occurrences]
    reaches = [occurrence.held_until for occurrence in occurrences]
    with prepared_cursor() as cursor:
        cursor.execute(
            _hold_sql(),
            [
                booking.resource_id,
                starts,
                reaches,
                list(Occurrence.HOLDING),
                *values,
                booking.resource_id,
                occurrences[0].status,
                starts,
                ends,
                reaches,
            ],
        )
        booking_id, occurrence_ids, clash_start, clash_end = cursor.fetchone()
    if booking_id is None:
        return Slot(clash_start, clash_end)
    booking.pk = booking_id
    booking._state.adding = False
    booking._state.db = connection.alias
    for occurrence, occurrence_id in zip(occurrences, occurrence_ids, strict=True):
        occurrence.pk, occurrence.booking_id = occurrence_id, booking_id
        occurrence._state.adding = False
        occurrence._state.db = connection.alias
    return None


@functools.cache
def _booking_insert_fields() -> list:
    return [field for field in Booking._meta.concrete_fields if not field.primary_key]


@functools.cache
def _hold_sql() -> str:
    """The statement of `_hold_postgresql`; it names every column of Occurrence (a test checks
    that none is missing)."""
    quote = connection.ops.quote_name
    booking_columns = ", ".join(quote(field.column) for field in _booking_insert_fields())
    booking_values = ", ".join(["%s"] * len(_booking_insert_fields()))
    # Only the model's own table and column names are interpolated.
    return f"""
        WITH locked AS (
            SELECT id FROM {quote(Resource._meta.db_table)} WHERE id = %s FOR NO KEY UPDATE
        ), clash AS (
            SELECT held.start, held."end"
            FROM {quote(Occurrence._meta.db_table)} held
            JOIN unnest(%s::timestamptz[], %s::timestamptz[]) AS wanted(start, reach)
                ON held.start < wanted.reach AND held.held_until > wanted.start
            WHERE held.resource_id = (SELECT id FROM locked) AND held.status = ANY(%s)
            ORDER BY held.start
            LIMIT 1
        ), booking AS (
            INSERT INTO {quote(Booking._meta.db_table)} ({booking_columns})
            SELECT {booking_values} WHERE NOT EXISTS (SELECT FROM clash)
            RETURNING id
        ), held_slots AS (
            INSERT INTO {quote(Occurrence._meta.db_table)}
                (booking_id, resource_id, start, "end", held_until, status)
            SELECT booking.id, %s, slot.start, slot."end", slot.held_until, %s
            FROM booking,
                unnest(%s::timestamptz[], %s::timestamptz[], %s::timestamptz[])
                    AS slot(start, "end", held_until)
            RETURNING id, start
        )
        SELECT
            (SELECT id FROM booking),
            (SELECT array_agg(id ORDER BY start) FROM held_slots),
            (SELECT start FROM clash),
            (SELECT "end" FROM clash)
    """  # noqa: S608


def booking_create(
    *,
    resource: Resource,
    booker: User,
    start: dt.datetime,
    end: dt.datetime,
    title: str = "",
    private: bool = False,
    rrule: str = "",
    created_by: User | None = None,
) -> Booking:
    """Book `resource` for `booker` (one slot, or a series when `rrule` is given).

    `created_by` is the staff member booking on the booker's behalf (checked and audited).
    Raises ValidationError when a rule of the resource is broken and BookingConflict when the
    resource is already held; in both cases nothing is written. A series is all or nothing.
    The booking comes back with `new_occurrences`, its slots as written (ids included), so that
    whoever shows it need not read them again.
    """
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise ValidationError(_("Times must carry their offset from UTC (ISO 8601)."))
    on_behalf = created_by is not None and created_by.pk != booker.pk
    if on_behalf and not permissions.is_place_staff(created_by, resource.place):
        raise PermissionError
    zone = zoneinfo.ZoneInfo(resource.place.time_zone)
    slots = _slots(start, end, rrule, zone, resource.horizon_days)
    _check_rules(resource, booker, slots)
    buffer = dt.timedelta(minutes=resource.buffer_minutes)
    if _overlapping_within(slots, buffer):
        raise ValidationError(
            {"rrule": _("The dates of this series overlap each other: repeat less often.")}
        )
    status = (
        Occurrence.Status.PENDING if resource.requires_approval else Occurrence.Status.CONFIRMED
    )
    booking = Booking(
        resource=resource,
        booker=booker,
        created_by=created_by if on_behalf else None,
        title=title,
        private=private,
        rrule=rrule,
    )
    occurrences = [
        Occurrence(
            booking=booking,
            resource=resource,
            start=slot.start,
            end=slot.end,
            held_until=after(slot.end, buffer),
            status=status,
        )
        for slot in slots
    ]
    # On PostgreSQL `_hold` is one statement, hence its own transaction: a plain booking made
    # outside any other transaction spares the round trips of BEGIN and COMMIT. Otherwise the
    # transaction (a savepoint when nested) keeps the audit entry and the emails with the
    # booking, and on SQLite holds the write lock from its start (IMMEDIATE), so that the check
    # and the inserts cannot interleave with another booking.
    alone = (
        connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and not on_behalf
        and status == Occurrence.Status.CONFIRMED
        and not resource.credits_per_hour
    )
    try:
        with contextlib.nullcontext() if alone else transaction.atomic():
            conflict = _hold(booking, occurrences, buffer)
            if conflict:
                raise BookingConflict(conflict)
            credits_charge(booker, resource, occurrences)
            if on_behalf:
                audit_record(
                    actor=created_by,
                    action="booking.on_behalf",
                    target=booking,
                    place=resource.place,
                    details={
                        "booker": booker.email,
                        "start": start.isoformat(),
                        "dates": len(slots),
                    },
                )
            if status == Occurrence.Status.PENDING:
                _notify_managers_of_request(booking)
    except IntegrityError:
        # PostgreSQL's exclusion constraint caught a booking that committed in between.
        conflict = _first_conflict(resource, slots, buffer)
        raise BookingConflict(conflict or slots[0]) from None
    booking.new_occurrences = occurrences
    return booking


class CancellationTooLate(Exception):
    """The resource's cancellation deadline has passed for the booking's next slot."""


def cancellation_deadline(booking: Booking) -> dt.datetime | None:
    """The last moment the booker may cancel (None when nothing is left to cancel)."""
    first = (
        booking.occurrences.filter(status__in=Occurrence.HOLDING, start__gte=timezone.now())
        .order_by("start")
        .values_list("start", flat=True)
        .first()
    )
    if first is None:
        return None
    return first - dt.timedelta(hours=booking.resource.cancel_deadline_hours)


def booking_cancel(*, booking: Booking, actor: User | None = None) -> int:
    """Free every future slot of a booking and offer them to the waiting list.

    The booker may cancel until the resource's deadline; the place's staff at any time (audited).
    Returns the number of slots freed.
    """
    place = booking.resource.place
    by_staff = actor is not None and actor.pk != booking.booker_id
    if by_staff and not permissions.is_place_staff(actor, place):
        raise PermissionError
    deadline = cancellation_deadline(booking)
    if deadline is not None and not by_staff and timezone.now() > deadline:
        raise CancellationTooLate(
            _("Bookings of this resource can be cancelled up to %(hours)d hours before the start.")
            % {"hours": booking.resource.cancel_deadline_hours}
        )
    with transaction.atomic():
        freed = list(
            booking.occurrences.select_for_update().filter(
                status__in=Occurrence.HOLDING, start__gte=timezone.now()
            )
        )
        Occurrence.objects.filter(pk__in=[o.pk for o in freed]).update(
            status=Occurrence.Status.CANCELLED
        )
        # Credits come back for slots cancelled before the deadline, or by the team.
        notice = dt.timedelta(hours=booking.resource.cancel_deadline_hours)
        credits_refund(o.pk for o in freed if by_staff or timezone.now() <= o.start - notice)
        if by_staff:
            audit_record(
                actor=actor,
                action="booking.cancel",
                target=booking,
                place=place,
                details={"booker": booking.booker.email, "dates": len(freed)},
            )
        _offer_to_waitlist(booking.resource, freed)
    return len(freed)


@transaction.atomic
def booking_decide(*, booking: Booking, actor: User, approve: bool, note: str = "") -> Booking:
    """Confirm or refuse the pending slots of a booking; the booker is told in their language."""
    if not permissions.can_decide(actor, booking):
        raise PermissionError
    pending = list(booking.occurrences.select_for_update().filter(status=Occurrence.Status.PENDING))
    if not pending:
        raise ValidationError(_("This booking is not waiting for a decision."))
    new_status = Occurrence.Status.CONFIRMED if approve else Occurrence.Status.REFUSED
    Occurrence.objects.filter(pk__in=[o.pk for o in pending]).update(status=new_status)
    booking.decided_by = actor
    booking.decision_note = note[:500]
    booking.save(update_fields=["decided_by", "decision_note", "updated_at"])
    audit_record(
        actor=actor,
        action="booking.approve" if approve else "booking.refuse",
        target=booking,
        place=booking.resource.place,
        details={"booker": booking.booker.email, "dates": len(pending)},
    )
    _notify_booker(booking, "approved" if approve else "refused")
    if not approve:
        credits_refund(o.pk for o in pending)
        _offer_to_waitlist(booking.resource, pending)
    return booking


# Waiting list ---------------------------------------------------------------------------------


class WaitlistConflict(ValidationError):
    """Joining makes no sense in the slot's present state: it is free, or the person already waits
    for it (the API answers 409 rather than 400)."""


@transaction.atomic
def waitlist_join(
    *,
    resource: Resource,
    user: User,
    start: dt.datetime,
    end: dt.datetime,
    title: str = "",
    private: bool = False,
) -> WaitlistEntry:
    """Queue for a taken slot. The slot must obey the resource's rules and really be taken."""
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise ValidationError(_("Times must carry their offset from UTC (ISO 8601)."))
    slot = Slot(start, end)
    _check_rules(resource, user, [slot])
    if _first_conflict(resource, [slot], dt.timedelta(minutes=resource.buffer_minutes)) is None:
        raise WaitlistConflict(_("This slot is free: book it directly."))
    if WaitlistEntry.objects.filter(
        resource=resource, user=user, start=start, end=end, status=WaitlistEntry.Status.WAITING
    ).exists():
        raise WaitlistConflict(_("You are already on the waiting list for this slot."))
    return WaitlistEntry.objects.create(
        resource=resource, user=user, start=start, end=end, title=title, private=private
    )


def waitlist_leave(*, entry: WaitlistEntry) -> None:
    WaitlistEntry.objects.filter(pk=entry.pk, status=WaitlistEntry.Status.WAITING).update(
        status=WaitlistEntry.Status.WITHDRAWN
    )


def _offer_to_waitlist(resource: Resource, freed: list[Occurrence]) -> None:
    """Book freed time for the people waiting for it, first come first served.

    Runs inside the transaction that freed the slots. Each candidate is booked through
    booking_create (every rule applies); one whose wanted slot is still partly taken keeps
    waiting. Entries whose slot has started are marked expired.
    """
    if not freed:
        return
    now = timezone.now()
    WaitlistEntry.objects.filter(
        resource=resource, status=WaitlistEntry.Status.WAITING, start__lt=now
    ).update(status=WaitlistEntry.Status.EXPIRED)
    overlaps = Q()
    buffer = dt.timedelta(minutes=resource.buffer_minutes)
    for occurrence in freed:
        overlaps |= Q(start__lt=occurrence.held_until, end__gt=after(occurrence.start, -buffer))
    candidates = WaitlistEntry.objects.select_related("user").filter(
        overlaps, resource=resource, status=WaitlistEntry.Status.WAITING
    )
    for entry in candidates.order_by("created_at", "id"):
        try:
            with transaction.atomic():
                booking = booking_create(
                    resource=resource,
                    booker=entry.user,
                    start=entry.start,
                    end=entry.end,
                    title=entry.title,
                    private=entry.private,
                )
        except (BookingConflict, ValidationError):
            continue
        entry.status = WaitlistEntry.Status.BOOKED
        entry.booking = booking
        entry.save(update_fields=["status", "booking", "updated_at"])
        _notify_booker(booking, "from_waitlist")


# Notifications --------------------------------------------------------------------------------


def _booking_url(booking: Booking) -> str:
    return settings.MAILLAGE_BASE_URL + reverse("bookings:mine")


def _notify_booker(booking: Booking, event: str) -> None:
    """Email the booker, in their language, once the change to the booking commits."""
    booker = booking.booker
    with translation.override(booker.language or settings.LANGUAGE_CODE):
        subjects = {
            "approved": _("Your booking is confirmed"),
            "refused": _("Your booking request was declined"),
            "from_waitlist": _("A slot you waited for is now booked for you"),
        }
        context = {
            "booking": booking,
            "event": event,
            "slots": list(booking.occurrences.order_by("start")[:20]),
            "zone": zoneinfo.ZoneInfo(booking.resource.place.time_zone),
            "url": _booking_url(booking),
            "site_name": settings.MAILLAGE_SITE_NAME,
        }
        body = render_to_string("bookings/email/booking_news.txt", context)
        subject = f"[{settings.MAILLAGE_SITE_NAME}] {subjects[event]}"
    transaction.on_commit(
        lambda: send_email.enqueue(subject=subject, body=body, recipients=[booker.email]),
        robust=True,
    )


def _notify_managers_of_request(booking: Booking) -> None:
    for manager in selectors.place_managers(booking.resource.place):
        with translation.override(manager.language or settings.LANGUAGE_CODE):
            context = {
                "booking": booking,
                "zone": zoneinfo.ZoneInfo(booking.resource.place.time_zone),
                "slots": list(booking.occurrences.order_by("start")[:20]),
                "url": settings.MAILLAGE_BASE_URL
                + reverse("bookings:requests", kwargs={"slug": booking.resource.place.slug}),
                "site_name": settings.MAILLAGE_SITE_NAME,
            }
            body = render_to_string("bookings/email/approval_request.txt", context)
            subject = f"[{settings.MAILLAGE_SITE_NAME}] " + _("A booking waits for your approval")
        transaction.on_commit(
            lambda subject=subject, body=body, to=manager.email: send_email.enqueue(
                subject=subject, body=body, recipients=[to]
            ),
            robust=True,
        )


# Calendar feeds -------------------------------------------------------------------------------


@transaction.atomic
def calendar_feed_renew(*, user: User) -> CalendarFeed:
    """Give the user a new secret feed address; the previous one stops working."""
    CalendarFeed.objects.filter(user=user).delete()
    return CalendarFeed.objects.create(user=user, token=secrets.token_urlsafe(32))


def calendar_feed_revoke(*, user: User) -> None:
    CalendarFeed.objects.filter(user=user).delete()
