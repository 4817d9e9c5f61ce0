"""Writes on bookings. Every way of booking (pages, API, staff on behalf) comes through here."""

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from dateutil.rrule import rrulestr
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from maillage.accounts.models import PlaceRole, User
from maillage.places.hours import intervals_on
from maillage.places.selectors import place_hours

from .models import Booking, Occurrence, Resource

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


def _slots(start: dt.datetime, end: dt.datetime, rrule: str, zone: zoneinfo.ZoneInfo) -> list[Slot]:
    """The slots of a booking; a repeat rule is expanded in the place's wall-clock time, so that
    "every Thursday 14:00" stays at 14:00 across DST changes."""
    if not rrule:
        return [Slot(start, end)]
    local_start = start.astimezone(zone).replace(tzinfo=None)
    duration = end - start
    try:
        rule = rrulestr(rrule, dtstart=local_start)
    except (ValueError, TypeError) as error:
        raise ValidationError(
            {"rrule": _("This repeat rule is not valid: %(error)s") % {"error": error}}
        ) from None
    slots = []
    for occurrence in rule:
        if len(slots) == MAX_OCCURRENCES:
            raise ValidationError(
                {
                    "rrule": _("A series may have at most %(max)d dates: add COUNT or UNTIL.")
                    % {"max": MAX_OCCURRENCES}
                }
            )
        aware = occurrence.replace(tzinfo=zone)
        slots.append(Slot(aware, aware + duration))
    return slots


def _check_rules(resource: Resource, user: User, slots: list[Slot]) -> None:
    if not resource.is_active:
        raise ValidationError(_("This resource cannot be booked at the moment."))
    if (
        resource.audience == Resource.Audience.MEMBERS
        and not PlaceRole.objects.filter(user=user, place=resource.place).exists()
    ):
        raise ValidationError(_("Only members of this place may book this resource."))
    now = timezone.now()
    horizon = now + dt.timedelta(days=resource.horizon_days)
    rules, seasons = place_hours(resource.place)
    zone = zoneinfo.ZoneInfo(resource.place.time_zone)
    for slot in slots:
        minutes = (slot.end - slot.start).total_seconds() / 60
        if slot.end <= slot.start:
            raise ValidationError({"end": _("The end must come after the start.")})
        if slot.start < now:
            raise ValidationError({"start": _("This slot is in the past.")})
        if slot.start > horizon:
            raise ValidationError(
                {
                    "start": _("This resource can be booked at most %(days)d days ahead.")
                    % {"days": resource.horizon_days}
                }
            )
        if not resource.min_minutes <= minutes <= resource.max_minutes:
            raise ValidationError(
                _("A booking of this resource lasts between %(min)d and %(max)d minutes.")
                % {"min": resource.min_minutes, "max": resource.max_minutes}
            )
        if rules and not _within_opening(slot, zone, rules, seasons):
            raise ValidationError(
                _("The place is not open for the whole slot %(start)s–%(end)s.")
                % {
                    "start": f"{slot.start.astimezone(zone):%d/%m %H:%M}",
                    "end": f"{slot.end.astimezone(zone):%H:%M}",
                }
            )


def _within_opening(slot: Slot, zone, rules, seasons) -> bool:
    """Whether the slot lies inside one opening interval of the place (local wall-clock time)."""
    start, end = slot.start.astimezone(zone), slot.end.astimezone(zone)
    if start.date() != end.date():
        return False
    return any(
        opens <= start.time() and end.time() <= closes
        for opens, closes in intervals_on(start.date(), rules, seasons)
    )


def _first_conflict(resource: Resource, slots: list[Slot], buffer: dt.timedelta) -> Slot | None:
    """The first held slot of the resource that overlaps one of `slots` (buffers included)."""
    for slot in slots:
        clash = (
            Occurrence.objects.filter(
                resource=resource,
                status__in=Occurrence.HOLDING,
                start__lt=slot.end + buffer,
                held_until__gt=slot.start,
            )
            .order_by("start")
            .values_list("start", "end")
            .first()
        )
        if clash:
            return Slot(*clash)
    return None


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

    Raises ValidationError when a rule of the resource is broken and BookingConflict when the
    resource is already held; in both cases nothing is written. A series is all or nothing.
    """
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise ValidationError(_("Times must carry their offset from UTC (ISO 8601)."))
    zone = zoneinfo.ZoneInfo(resource.place.time_zone)
    slots = _slots(start, end, rrule, zone)
    _check_rules(resource, booker, slots)
    buffer = dt.timedelta(minutes=resource.buffer_minutes)
    status = (
        Occurrence.Status.PENDING if resource.requires_approval else Occurrence.Status.CONFIRMED
    )
    try:
        with transaction.atomic():
            # On SQLite this transaction holds the write lock from its start (IMMEDIATE), so the
            # check below and the insert cannot interleave with another booking.
            conflict = _first_conflict(resource, slots, buffer)
            if conflict:
                raise BookingConflict(conflict)
            booking = Booking.objects.create(
                resource=resource,
                booker=booker,
                created_by=created_by,
                title=title,
                private=private,
                rrule=rrule,
            )
            Occurrence.objects.bulk_create(
                [
                    Occurrence(
                        booking=booking,
                        resource=resource,
                        start=slot.start,
                        end=slot.end,
                        held_until=slot.end + buffer,
                        status=status,
                    )
                    for slot in slots
                ]
            )
    except IntegrityError:
        # PostgreSQL's exclusion constraint caught a booking that committed in between.
        conflict = _first_conflict(resource, slots, buffer)
        raise BookingConflict(conflict or slots[0]) from None
    return booking


@transaction.atomic
def booking_cancel(*, booking: Booking) -> None:
    """Free every future slot of a booking."""
    booking.occurrences.filter(status__in=Occurrence.HOLDING, start__gte=timezone.now()).update(
        status=Occurrence.Status.CANCELLED
    )
