"""Bookings endpoints of the API (PRODUCT.md §5): book, list, cancel, decide, wait for a slot.

Every write goes through bookings.services, so the rules, the audit and "never a double booking"
are those of the pages. Times are read here from text, so that any string gets a 400 naming the
field rather than a schema error; answers give times with the offset of the place's time zone.
"""

import datetime as dt
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models import Min, Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema, Status

from maillage.accounts.models import User
from maillage.core.api import (
    ERRORS,
    TIME_EXAMPLE,
    ApiError,
    BearerToken,
    invalid_value,
    out_of_range,
    page_params,
    parse_instant,
    refuse_unstorable,
)
from maillage.core.ratelimit import hit, parse_rate

from . import permissions, selectors, services
from .models import Booking, Occurrence, Resource, WaitlistEntry

router = Router(tags=["bookings"])
# The largest id a database column holds: a larger number names nothing (and would overflow).
MAX_ID = 2**63 - 1


class ResourceRef(Schema):
    id: int
    name: str
    place: str = Field(description="Slug of the resource's place.")


class SlotOut(Schema):
    start: dt.datetime
    end: dt.datetime
    status: str = Field(description="confirmed, pending, refused or cancelled.")


class BookingOut(Schema):
    id: int
    resource: ResourceRef
    title: str
    private: bool
    rrule: str
    status: str = Field(
        description="confirmed, pending, refused or cancelled: the status of the next slot "
        "(the one under way or to come), or of the last one when all are past."
    )
    occurrences: list[SlotOut] = Field(description="The slots, in the place's time zone.")
    booker: str = Field(description="Email of the person the booking is for.")
    created_by: str | None = Field(
        None, description="Email of the staff member who booked on the booker's behalf."
    )
    decision_note: str = Field(description="The manager's message when approving or refusing.")


class BookingListOut(Schema):
    count: int
    results: list[BookingOut]


def _time_field(what: str):
    return Field(description=f"{what}, ISO 8601 with its offset, e.g. {TIME_EXAMPLE}.")


class SlotIn(Schema):
    resource: int = Field(ge=1, le=MAX_ID, strict=True, description="Id of the resource.")
    start: str = _time_field("Start")
    end: str = _time_field("End")
    title: str = Field("", max_length=150)
    private: bool = Field(
        False, strict=True, description="Hide the title from all but the booker and the staff."
    )


class BookingIn(SlotIn):
    rrule: str = Field(
        "",
        max_length=300,
        description="An RFC 5545 repeat rule, e.g. FREQ=WEEKLY;COUNT=10 (at most 200 dates), "
        "expanded in the place's wall-clock time. The series is booked whole or not at all.",
    )
    on_behalf_of: str = Field(
        "",
        max_length=254,
        description="For the staff of the resource's place: email of the person to book for.",
    )


class DecisionIn(Schema):
    approve: bool = Field(strict=True)
    note: str = Field("", max_length=500, description="A message for the booker.")


class WaitlistOut(Schema):
    id: int
    position: int = Field(description="1 when nobody waiting for this time came before you.")


class BookingQuery(Schema):
    from_: str = Field(
        "",
        alias="from",
        description=f"Bookings with a slot ending after this instant ({TIME_EXAMPLE}).",
    )
    to: str = Field("", description="Bookings with a slot starting before this instant.")
    status: str = Field("", description="Bookings with a slot in this status.")


def _count_attempt(request, scope: str) -> None:
    limit, window = parse_rate(settings.MAILLAGE_BOOKINGS_PER_ACCOUNT)
    result = hit(scope, str(request.auth.pk), limit=limit, window_seconds=window)
    if not result.allowed:
        raise ApiError(
            429,
            _("Too many booking requests from your account. Try again later."),
            retry_after=result.retry_after,
        )


def _resource(user: User, resource_id: int) -> Resource:
    """The resource, when the caller may know of it: it belongs to a published place, or to a
    place where the caller is staff. Whether it may be booked is the service's business."""
    try:
        resource = selectors.resource_with_place(resource_id)
    except Resource.DoesNotExist:
        resource = None
    if resource is None or not (
        resource.place.is_published or permissions.is_place_staff(user, resource.place)
    ):
        raise ApiError(404, _("There is no resource #%(id)d.") % {"id": resource_id})
    return resource


def _booker(caller: User, resource: Resource, email: str) -> User:
    if not email:
        return caller
    if not permissions.is_place_staff(caller, resource.place):
        raise ApiError(403, _("Only the staff of this place may book on someone's behalf."))
    booker = User.objects.filter(email=email.strip().lower(), is_active=True).first()
    if booker is None:
        raise invalid_value("on_behalf_of", _("There is no account with this email address."))
    return booker


def _bookings():
    return Booking.objects.select_related(
        "resource__place", "booker", "created_by"
    ).prefetch_related("occurrences")


def _visible_booking(user: User, booking_id: int) -> Booking:
    """The booking, for those who may cancel it (its booker, the place's staff); anyone else is
    answered as if it did not exist."""
    booking = _bookings().filter(pk=booking_id).first()
    if booking is None or not permissions.can_cancel(user, booking):
        raise ApiError(404, _("There is no booking #%(id)d.") % {"id": booking_id})
    return booking


def _booking_out(booking: Booking, slots: list[Occurrence] | None = None) -> dict:
    zone = zoneinfo.ZoneInfo(booking.resource.place.time_zone)
    if slots is None:
        slots = list(booking.occurrences.all())
    now = timezone.now()
    upcoming = [slot for slot in slots if slot.end > now]
    return {
        "id": booking.pk,
        "resource": {
            "id": booking.resource.pk,
            "name": booking.resource.name,
            "place": booking.resource.place.slug,
        },
        "title": booking.title,
        "private": booking.private,
        "rrule": booking.rrule,
        "status": (upcoming[0] if upcoming else slots[-1]).status,
        "occurrences": [
            {"start": s.start.astimezone(zone), "end": s.end.astimezone(zone), "status": s.status}
            for s in slots
        ],
        "booker": booking.booker.email,
        "created_by": booking.created_by.email if booking.created_by else None,
        "decision_note": booking.decision_note,
    }


def _taken(conflict: services.BookingConflict, resource: Resource) -> ApiError:
    """The 409 of a taken slot: it names the times of the slot in the way, never its title or
    booker (it may be somebody else's private booking)."""
    zone = zoneinfo.ZoneInfo(resource.place.time_zone)
    start, end = conflict.slot.start.astimezone(zone), conflict.slot.end.astimezone(zone)
    if start.date() == end.date():
        message = _("The slot %(start)s–%(end)s on %(date)s is already taken.") % {
            "start": f"{start:%H:%M}",
            "end": f"{end:%H:%M}",
            "date": formats.date_format(start, "DATE_FORMAT"),
        }
    else:
        message = _("The slot from %(start)s to %(end)s is already taken.") % {
            "start": formats.date_format(start, "SHORT_DATETIME_FORMAT"),
            "end": formats.date_format(end, "SHORT_DATETIME_FORMAT"),
        }
    return ApiError(409, message, {"start": start.isoformat(), "end": end.isoformat()})


BOOKING_ID = Path(ge=1, le=MAX_ID, description="Id of the booking.")


@router.post(
    "/bookings",
    response={201: BookingOut, **ERRORS},
    auth=BearerToken(),
    summary="Book a resource",
    description=(
        "Books one slot, or a series with `rrule`, for the caller (or, for the staff of the "
        "place, for the account named by `on_behalf_of`). The status is `pending` when the "
        "resource needs approval. 400 when a rule of the resource is broken (hours, durations, "
        "horizon, audience, training...), 404 for a resource the caller cannot see, 409 when "
        "the slot is taken: `details` gives the start and end of the slot in the way. Limited "
        "per account (429)."
    ),
)
def create_booking(request, payload: BookingIn):
    _count_attempt(request, "booking")
    refuse_unstorable(title=payload.title, rrule=payload.rrule, on_behalf_of=payload.on_behalf_of)
    start, end = parse_instant(payload.start, "start"), parse_instant(payload.end, "end")
    resource = _resource(request.auth, payload.resource)
    booker = _booker(request.auth, resource, payload.on_behalf_of)
    try:
        booking = services.booking_create(
            resource=resource,
            booker=booker,
            start=start,
            end=end,
            title=payload.title,
            private=payload.private,
            rrule=payload.rrule,
            created_by=request.auth,
        )
    except services.BookingConflict as conflict:
        raise _taken(conflict, resource) from None
    except OverflowError:  # a series reaching past the year 9999
        raise out_of_range("rrule") from None
    # The booking comes back with its resource, place, people and slots: nothing is read again.
    return Status(201, _booking_out(booking, booking.new_occurrences))


@router.get(
    "/bookings",
    response={200: BookingListOut, **ERRORS},
    auth=BearerToken(),
    summary="The caller's bookings",
    description=(
        "Bookings made for the caller, first slot first. `from` and `to` keep those with a slot "
        "in that window, `status` those with a slot in that status (within the window)."
    ),
)
def list_bookings(request, filters: Query[BookingQuery], page: int = 1, page_size: int = 20):
    page, size = page_params(request)
    slots = Q()
    if filters.from_:
        slots &= Q(occurrences__end__gt=parse_instant(filters.from_, "from"))
    if filters.to:
        slots &= Q(occurrences__start__lt=parse_instant(filters.to, "to"))
    if filters.status:
        if filters.status not in Occurrence.Status.values:
            raise invalid_value(
                "status",
                _("Choose one of: %(choices)s.") % {"choices": ", ".join(Occurrence.Status.values)},
            )
        slots &= Q(occurrences__status=filters.status)
    bookings = (
        _bookings()
        .filter(booker=request.auth)
        .annotate(first_start=Min("occurrences__start", filter=slots))
        .filter(first_start__isnull=False)
        .order_by("first_start", "id")
    )
    count = bookings.count()
    offset = (page - 1) * size
    # Past the last page there is nothing to fetch (and a huge offset would overflow in SQL).
    results = bookings[offset : offset + size] if offset < count else []
    return {"count": count, "results": [_booking_out(booking) for booking in results]}


@router.get(
    "/bookings/{booking_id}",
    response={200: BookingOut, **ERRORS},
    auth=BearerToken(),
    summary="One booking",
    description="For its booker and the staff of its place; 404 for anyone else.",
)
def get_booking(request, booking_id: int = BOOKING_ID):
    return _booking_out(_visible_booking(request.auth, booking_id))


@router.delete(
    "/bookings/{booking_id}",
    response={204: None, **ERRORS},
    auth=BearerToken(),
    summary="Cancel a booking",
    description=(
        "Frees every slot still to come and books them for the first people waiting for them. "
        "The booker may cancel until the resource's deadline (409 after it, `details` giving the "
        "deadline), the staff of the place at any time; 404 for anyone else."
    ),
)
def cancel_booking(request, booking_id: int = BOOKING_ID):
    booking = _visible_booking(request.auth, booking_id)
    try:
        services.booking_cancel(booking=booking, actor=request.auth)
    except services.CancellationTooLate as error:
        zone = zoneinfo.ZoneInfo(booking.resource.place.time_zone)
        deadline = services.cancellation_deadline(booking).astimezone(zone)
        raise ApiError(409, str(error), {"deadline": deadline.isoformat()}) from None
    return Status(204, None)


@router.post(
    "/bookings/{booking_id}/decision",
    response={200: BookingOut, **ERRORS},
    auth=BearerToken(),
    summary="Approve or refuse a booking request",
    description=(
        "For the managers of the place (403 for its other staff and the booker, 404 for anyone "
        "else); 409 when the booking is not waiting for a decision. The booker is told by email."
    ),
)
def decide_booking(request, payload: DecisionIn, booking_id: int = BOOKING_ID):
    booking = _visible_booking(request.auth, booking_id)
    if not permissions.can_decide(request.auth, booking):
        raise ApiError(403, _("Only the managers of this place may approve or refuse bookings."))
    refuse_unstorable(note=payload.note)
    try:
        services.booking_decide(
            booking=booking, actor=request.auth, approve=payload.approve, note=payload.note
        )
    except ValidationError as error:  # the only one it raises: nothing is pending any more
        raise ApiError(409, " ".join(error.messages)) from None
    return _booking_out(_bookings().get(pk=booking.pk))


@router.post(
    "/waitlist",
    response={201: WaitlistOut, **ERRORS},
    auth=BearerToken(),
    summary="Wait for a taken slot",
    description=(
        "Queues the caller for a slot that is taken. When it frees up, the first in line whose "
        "slot is then entirely free is booked automatically and told by email. 409 when the "
        "slot is free (book it directly) or when the caller already waits for it; 400 when a "
        "rule of the resource is broken; 404 for a resource the caller cannot see. Limited per "
        "account (429)."
    ),
)
def join_waitlist(request, payload: SlotIn):
    _count_attempt(request, "waitlist")
    refuse_unstorable(title=payload.title)
    start, end = parse_instant(payload.start, "start"), parse_instant(payload.end, "end")
    resource = _resource(request.auth, payload.resource)
    try:
        entry = services.waitlist_join(
            resource=resource,
            user=request.auth,
            start=start,
            end=end,
            title=payload.title,
            private=payload.private,
        )
    except services.WaitlistConflict as error:
        raise ApiError(409, " ".join(error.messages)) from None
    except IntegrityError:  # the same request twice at once (PostgreSQL does not serialise them)
        raise ApiError(409, _("You are already on the waiting list for this slot.")) from None
    return Status(201, {"id": entry.pk, "position": _position(entry)})


def _position(entry: WaitlistEntry) -> int:
    """1 + the people waiting for an overlapping time of the resource who came first: the order
    in which freed time is offered."""
    ahead = WaitlistEntry.objects.filter(
        Q(created_at__lt=entry.created_at) | Q(created_at=entry.created_at, pk__lt=entry.pk),
        resource=entry.resource_id,
        status=WaitlistEntry.Status.WAITING,
        start__lt=entry.end,
        end__gt=entry.start,
    )
    return ahead.count() + 1


@router.delete(
    "/waitlist/{entry_id}",
    response={204: None, **ERRORS},
    auth=BearerToken(),
    summary="Leave a waiting list",
    description="For the person waiting; 404 for anyone else.",
)
def leave_waitlist(request, entry_id: int = Path(ge=1, le=MAX_ID)):
    entry = WaitlistEntry.objects.filter(pk=entry_id, user=request.auth).first()
    if entry is None:
        raise ApiError(404, _("There is no waiting-list entry #%(id)d.") % {"id": entry_id})
    services.waitlist_leave(entry=entry)
    return Status(204, None)
