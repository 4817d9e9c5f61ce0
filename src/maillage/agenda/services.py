"""Writes of the agenda: events, registrations with their waiting list, the newsletter.

Every change to who is confirmed or waitlisted locks the event's row first (SELECT ... FOR UPDATE
on PostgreSQL, the write lock on SQLite), so registrations, cancellations and capacity changes of
one event happen one after the other: capacity is exact and the waiting list has no gaps however
many people register at the same moment. Emails are rendered in each recipient's language and
sent after the commit, through the background job queue where one is configured.
"""

import contextlib
import datetime as dt
import functools
import zoneinfo
from collections.abc import Iterable
from typing import NoReturn

from dateutil.rrule import rrulestr
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from maillage.accounts.models import User
from maillage.bookings import services as booking_services
from maillage.bookings.models import Resource
from maillage.core.audit import audit_record
from maillage.core.html import clean_html, html_to_text
from maillage.core.prepared import prepared_cursor
from maillage.core.tasks import send_email
from maillage.core.text import fold
from maillage.places.models import Network, Place

from . import permissions
from .models import Event, EventSeries, Registration, Subscription
from .tasks import send_registration_email

MAX_SERIES_DATES = 100
# How long someone registered without an account has to follow the link of the first email.
UNCONFIRMED_HOURS = 48


# The links of the emails carry the id signed with the secret key: every email of a
# registration or a subscription (reminders, digests) can give them, and nobody can make one.
_REGISTRATION_LINKS = signing.Signer(salt="maillage.agenda.registration")
_SUBSCRIPTION_LINKS = signing.Signer(salt="maillage.agenda.subscription")


def registration_secret(registration: Registration) -> str:
    return _REGISTRATION_LINKS.sign(str(registration.pk))


def registration_by_secret(secret: str) -> Registration | None:
    pk = _signed_pk(_REGISTRATION_LINKS, secret)
    return Registration.objects.select_related("event__place").filter(pk=pk).first()


def subscription_secret(subscription: Subscription) -> str:
    return _SUBSCRIPTION_LINKS.sign(str(subscription.pk))


def subscription_by_secret(secret: str) -> Subscription | None:
    return Subscription.objects.filter(pk=_signed_pk(_SUBSCRIPTION_LINKS, secret)).first()


def _signed_pk(signer: signing.Signer, secret: str) -> int | None:
    """The id a link carries, or None when its signature is not ours."""
    try:
        return int(signer.unsign(secret or ""))
    except (signing.BadSignature, ValueError):
        return None


def _zone(event: Event) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(event.place.time_zone if event.place_id else settings.TIME_ZONE)


# Events ---------------------------------------------------------------------------------------

EDITABLE_FIELDS = (
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
    "image",
    "organiser_name",
    "organiser_email",
    "organiser_phone",
    "status",
)


def _prepare(event: Event, data: dict) -> None:
    """Copy `data` onto `event`, sanitise the user HTML and refresh the search text."""
    unknown = set(data) - set(EDITABLE_FIELDS) - {"room"}
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    for name, value in data.items():
        if name != "room":
            setattr(event, name, value)
    event.description = clean_html(event.description)
    event.translations = {
        language: {
            **texts,
            **({"description": clean_html(texts["description"])} if "description" in texts else {}),
        }
        for language, texts in (event.translations or {}).items()
    }
    if event.start and event.end and event.end <= event.start:
        raise ValidationError({"end": _("The end must come after the start.")})
    if event.location == Event.Location.ADDRESS and not event.address.strip():
        raise ValidationError({"address": _("Give the address where the event takes place.")})
    if event.location == Event.Location.ONLINE and not event.online_url:
        raise ValidationError({"online_url": _("Give the link to join the event online.")})
    if event.location == Event.Location.ROOM and event.place_id is None:
        raise ValidationError({"location": _("Only an event of a place can take place in a room.")})
    event.search_text = fold(
        " ".join(
            [
                event.title,
                html_to_text(event.description),
                event.place.name if event.place_id else "",
                event.place.town if event.place_id else "",
                *(texts.get("title", "") for texts in (event.translations or {}).values()),
            ]
        )
    )
    event.full_clean(exclude=["image", "booking", "series", "created_by"])


def _book_room(event: Event, resource: Resource | None, author: User) -> None:
    """Book the event's room for its time (or free it when the event leaves the room)."""
    if event.booking_id:
        booking_services.booking_cancel(booking=event.booking, actor=author)
        event.booking = None
    if event.location != Event.Location.ROOM or event.status == Event.Status.CANCELLED:
        return
    if resource is None or resource.place_id != event.place_id:
        raise ValidationError({"room": _("Choose a room of this place.")})
    try:
        event.booking = booking_services.booking_create(
            resource=resource,
            booker=author,
            start=event.start,
            end=event.end,
            title=event.title,
        )
    except booking_services.BookingConflict as conflict:
        zone = _zone(event)
        raise ValidationError(
            {
                "room": _("%(room)s is already booked from %(start)s to %(end)s.")
                % {
                    "room": resource.name,
                    "start": f"{conflict.slot.start.astimezone(zone):%d/%m %H:%M}",
                    "end": f"{conflict.slot.end.astimezone(zone):%H:%M}",
                }
            }
        ) from None


def _series_starts(start: dt.datetime, rrule: str, zone: zoneinfo.ZoneInfo) -> list[dt.datetime]:
    """The starts of a series, expanded in the place's wall-clock time (a workshop at 18:00
    stays at 18:00 across a DST change), at most MAX_SERIES_DATES."""
    local = start.astimezone(zone).replace(tzinfo=None)
    try:
        rule = rrulestr(rrule, dtstart=local)
    except (ValueError, TypeError):
        raise ValidationError({"rrule": _("This repeat rule cannot be read.")}) from None
    starts = []
    for moment in rule.xafter(local, count=MAX_SERIES_DATES + 1, inc=True):
        starts.append(moment.replace(tzinfo=zone))
    if len(starts) > MAX_SERIES_DATES:
        raise ValidationError(
            {"rrule": _("A series has at most %(count)d dates.") % {"count": MAX_SERIES_DATES}}
        )
    return starts


@transaction.atomic
def event_create(
    *,
    author: User,
    place: Place | None = None,
    network: Network | None = None,
    rrule: str = "",
    room: Resource | None = None,
    **data,
) -> list[Event]:
    """Create an event of a place or of a network; with `rrule`, one event per date of the
    series (each with its own registrations and, in a room, its own booking). Audited."""
    if (place is None) == (network is None):
        raise ValueError("an event belongs to a place or to a network")
    if not permissions.can_manage_events(author, place=place, network=network):
        raise PermissionError
    template = Event(place=place, network=network, created_by=author)
    _prepare(template, data)
    duration = template.end - template.start
    starts = [template.start]
    series = None
    if rrule:
        starts = _series_starts(template.start, rrule, _zone(template))
        series = EventSeries.objects.create(rrule=rrule)
    events = []
    for start in starts:
        event = Event(
            **{name: getattr(template, name) for name in EDITABLE_FIELDS},
            place=place,
            network=network,
            series=series,
            created_by=author,
            search_text=template.search_text,
        )
        event.start, event.end = start, start + duration
        _book_room(event, room, author)
        event.save()
        events.append(event)
    audit_record(
        actor=author,
        action="event.create",
        target=events[0],
        place=place,
        details={"title": template.title, "dates": len(events)},
    )
    return events


@transaction.atomic
def event_update(*, event: Event, author: User, room: Resource | None = None, **data) -> Event:
    """Change an event. Raising the capacity confirms as many waitlisted people as now fit;
    lowering it below the confirmed participants is refused. New times book the room again."""
    if not permissions.can_manage_event(author, event):
        raise PermissionError
    event = (
        Event.objects.select_for_update(of=("self",))
        .select_related("place", "booking")
        .get(pk=event.pk)
    )
    before = {name: getattr(event, name) for name in EDITABLE_FIELDS}
    if data.get("status") == Event.Status.CANCELLED:
        raise ValidationError(
            {"status": _("Cancel an event with its own button: people are told.")}
        )
    capacity = data.get("capacity", event.capacity)
    if capacity is not None and capacity < event.confirmed_count:
        raise ValidationError(
            {
                "capacity": _(
                    "%(count)d people are already confirmed: the capacity cannot be lower."
                )
                % {"count": event.confirmed_count}
            }
        )
    _prepare(event, data)
    moved = (event.start, event.end) != (before["start"], before["end"])
    if moved or event.location != before["location"] or room is not None:
        current_room = room or (event.booking.resource if event.booking_id else None)
        _book_room(event, current_room, author)
    event.save()
    promoted = _promote(event)
    changed = sorted(
        name for name in EDITABLE_FIELDS if getattr(event, name) != before[name] and name != "image"
    )
    audit_record(
        actor=author,
        action="event.update",
        target=event,
        place=event.place,
        details={"fields": changed, "promoted": len(promoted)},
    )
    if moved and event.status == Event.Status.PUBLISHED:
        _notify(
            event,
            _active(event),
            "agenda/email/event_moved.txt",
            gettext_lazy("The event has moved"),
        )
    return event


@transaction.atomic
def event_cancel(*, event: Event, author: User, reason: str = "") -> Event:
    """Cancel an event: everyone registered or waiting is told, the room is freed. Audited."""
    if not permissions.can_manage_event(author, event):
        raise PermissionError
    event = (
        Event.objects.select_for_update(of=("self",))
        .select_related("place", "booking")
        .get(pk=event.pk)
    )
    if event.status == Event.Status.CANCELLED:
        return event
    event.status = Event.Status.CANCELLED
    event.cancellation_reason = reason.strip()[:500]
    _book_room(event, None, author)
    event.save()
    _notify(
        event,
        _active(event),
        "agenda/email/event_cancelled.txt",
        gettext_lazy("The event is cancelled"),
    )
    audit_record(
        actor=author,
        action="event.cancel",
        target=event,
        place=event.place,
        details={"reason": event.cancellation_reason, "registered": event.confirmed_count},
    )
    return event


# Registrations --------------------------------------------------------------------------------


# What decides whether a registration is taken, and where.
_REGISTRATION_STATE = (
    "status",
    "start",
    "registration_required",
    "registrations_open",
    "capacity",
    "confirmed_count",
    "waitlist_enabled",
    "waitlisted_count",
    "next_queue_number",
)


class RegistrationRefused(ValidationError):
    """The event does not take this registration (past, cancelled, closed, full...)."""


class AlreadyRegistered(Exception):
    """This email already holds a place or a waiting-list rank for the event (HTTP 409)."""


def _acceptance_problem(event: Event, now: dt.datetime) -> str | None:
    if event.status == Event.Status.CANCELLED:
        return _("This event is cancelled.")
    if event.status != Event.Status.PUBLISHED:
        return _("This event is not published.")
    if event.start <= now:
        return _("This event has already started.")
    if not event.registration_required:
        return _("This event needs no registration: just come.")
    if not event.registrations_open:
        return _("Registrations for this event are closed.")
    return None


def _refuse_when_full(event: Event, email: str) -> NoReturn:
    """The event is full and keeps no waiting list."""
    if Registration.objects.filter(
        event=event, email=email, status__in=Registration.ACTIVE
    ).exists():
        raise AlreadyRegistered
    raise RegistrationRefused(_("This event is full."))


def _take(event: Event, registration: Registration, now: dt.datetime, by_staff) -> None:
    """Record `registration` confirmed or on the waiting list, through the ORM."""
    with transaction.atomic():
        # The columns that decide, read under the row's lock onto the caller's event (whose
        # place and texts the email uses): the lock is held for as little as possible.
        locked = Event.objects.select_for_update().filter(pk=event.pk)
        for field, value in locked.values(*_REGISTRATION_STATE).get().items():
            setattr(event, field, value)
        problem = _acceptance_problem(event, now)
        if problem:
            raise RegistrationRefused(problem)
        if event.capacity is None or event.confirmed_count < event.capacity:
            registration.status = Registration.Status.CONFIRMED
            event.confirmed_count += 1
        elif event.waitlist_enabled:
            registration.status = Registration.Status.WAITLISTED
            registration.queue_number = event.next_queue_number
            event.next_queue_number += 1
            event.waitlisted_count += 1
        else:
            _refuse_when_full(event, registration.email)
        registration.save()
        locked.update(
            confirmed_count=event.confirmed_count,
            waitlisted_count=event.waitlisted_count,
            next_queue_number=event.next_queue_number,
        )
        if by_staff is not None:
            audit_record(
                actor=by_staff,
                action="registration.on_behalf",
                target=registration,
                place=event.place,
                details={"event": event.pk, "email": registration.email},
            )


def _take_in_one_statement(event: Event, registration: Registration, now: dt.datetime) -> None:
    """`_take` on PostgreSQL as one statement: the event's row is locked, the registration
    written and the counters moved in a single round trip, so that the registrations of a
    popular event, which queue on that lock, each hold it for one statement and its commit
    instead of four round trips. The same decisions as `_take` (tested on both engines); the
    refusals are worded from the state the statement read."""
    fields = _registration_insert_fields()
    values = [
        field.get_db_prep_save(field.pre_save(registration, True), connection) for field in fields
    ]
    # Outside a transaction the statement is one by itself (no BEGIN and COMMIT round trips);
    # inside one, a savepoint keeps a refused duplicate from spoiling it.
    atomic = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    with atomic, prepared_cursor() as cursor:
        cursor.execute(_take_sql(), [event.pk, now, *values])
        row = cursor.fetchone()
    if row is None:
        raise Event.DoesNotExist
    *state, outcome, registration_id = row
    for field, value in zip(_REGISTRATION_STATE, state, strict=True):
        setattr(event, field, value)
    if outcome is None:
        problem = _acceptance_problem(event, now)
        if problem:
            raise RegistrationRefused(problem)
        _refuse_when_full(event, registration.email)
    registration.pk, registration.status = registration_id, outcome
    registration._state.adding = False
    registration._state.db = connection.alias
    if outcome == Registration.Status.CONFIRMED:
        event.confirmed_count += 1
    else:
        registration.queue_number = event.next_queue_number
        event.next_queue_number += 1
        event.waitlisted_count += 1


@functools.cache
def _registration_insert_fields() -> list:
    return [
        field
        for field in Registration._meta.concrete_fields
        if not field.primary_key and field.name not in ("status", "queue_number")
    ]


@functools.cache
def _take_sql() -> str:
    """The statement of `_take_in_one_statement` (only the models' own table and column names
    are interpolated)."""
    quote = connection.ops.quote_name
    event_table, registration_table = (
        quote(Event._meta.db_table),
        quote(Registration._meta.db_table),
    )
    state = ", ".join(quote(Event._meta.get_field(name).column) for name in _REGISTRATION_STATE)
    columns = ", ".join(quote(field.column) for field in _registration_insert_fields())
    values = ", ".join(["%s"] * len(_registration_insert_fields()))
    return f"""
        WITH locked AS (
            SELECT id, {state} FROM {event_table} WHERE id = %s FOR NO KEY UPDATE
        ), decided AS (
            SELECT locked.*, CASE
                WHEN NOT (status = 'published' AND start > %s
                          AND registration_required AND registrations_open) THEN NULL
                WHEN capacity IS NULL OR confirmed_count < capacity THEN 'confirmed'
                WHEN waitlist_enabled THEN 'waitlisted'
            END AS outcome
            FROM locked
        ), taken AS (
            INSERT INTO {registration_table} ({columns}, status, queue_number)
            SELECT {values}, outcome,
                CASE WHEN outcome = 'waitlisted' THEN next_queue_number END
            FROM decided WHERE outcome IS NOT NULL
            RETURNING id
        ), counted AS (
            UPDATE {event_table} SET
                confirmed_count = decided.confirmed_count + (outcome = 'confirmed')::int,
                waitlisted_count = decided.waitlisted_count + (outcome = 'waitlisted')::int,
                next_queue_number = decided.next_queue_number + (outcome = 'waitlisted')::int
            FROM decided
            WHERE {event_table}.id = decided.id AND outcome IS NOT NULL
        )
        SELECT {state}, outcome, (SELECT id FROM taken) FROM decided
    """  # noqa: S608


def register(
    *,
    event: Event,
    user: User | None = None,
    name: str = "",
    email: str = "",
    language: str | None = None,
    by_staff: User | None = None,
) -> Registration:
    """Register someone: confirmed while there is room, else on the waiting list (when the event
    has one). Without an account, `name` and `email` are required and the first email asks to
    confirm the address, unless a manager of the event (`by_staff`, audited) registers them.

    Raises RegistrationRefused (with a message for people) or AlreadyRegistered; writes nothing
    then.
    """
    if user is not None:
        name, email = user.full_name or user.email, user.email
        language = language or user.language
    name, email = name.strip(), email.strip().lower()
    if not name:
        raise RegistrationRefused({"name": _("Give your name.")})
    try:
        validate_email(email)
    except ValidationError:
        raise RegistrationRefused({"email": _("Enter a valid email address.")}) from None
    if len(name) > 150 or len(email) > 254:
        raise RegistrationRefused(_("The name or the email address is too long."))
    if by_staff is not None and not permissions.can_manage_event(by_staff, event):
        raise PermissionError
    now = timezone.now()
    registration = Registration(
        event=event,
        user=user,
        name=name,
        email=email,
        language=(language or translation.get_language() or settings.LANGUAGE_CODE)[:8],
        # An account's address is checked; the team took this one from the person.
        email_confirmed_at=now if user or by_staff else None,
    )
    try:
        if by_staff is None and connection.vendor == "postgresql":
            _take_in_one_statement(event, registration, now)
        else:
            _take(event, registration, now, by_staff)
    except IntegrityError:
        # A second registration of the email is refused by the unique constraint.
        raise AlreadyRegistered from None
    except Event.DoesNotExist:
        raise RegistrationRefused(_("This event no longer exists.")) from None
    # Under the lock a newcomer to the waiting list is its last.
    registration.position = event.waitlisted_count if registration.queue_number else None
    # Written by a job once committed: the request answers without rendering the email.
    registration_id, waiting = registration.pk, registration.position
    transaction.on_commit(
        lambda: send_registration_email.enqueue(registration_id, waiting), robust=True
    )
    return registration


def position(registration: Registration) -> int | None:
    """Rank on the waiting list, from 1, without gaps (None when not waiting)."""
    if registration.status != Registration.Status.WAITLISTED:
        return None
    return (
        Registration.objects.filter(
            event_id=registration.event_id,
            status=Registration.Status.WAITLISTED,
            queue_number__lt=registration.queue_number,
        ).count()
        + 1
    )


def registration_confirm_email(registration: Registration) -> Registration:
    """The person followed the link of the first email: their address is theirs."""
    if registration.email_confirmed_at is None:
        registration.email_confirmed_at = timezone.now()
        registration.save(update_fields=["email_confirmed_at", "updated_at"])
    return registration


@transaction.atomic
def registration_cancel(*, registration: Registration, actor: User | None = None) -> list:
    """Cancel a registration (its owner, the event's managers, or whoever holds the secret of
    its email). A confirmed place that frees up goes to the first on the waiting list, who is
    told by email. Returns the registrations promoted."""
    by_manager = (
        actor is not None
        and registration.user_id != actor.pk
        and permissions.can_manage_event(actor, registration.event)
    )
    event = (
        Event.objects.select_for_update(of=("self",))
        .select_related("place")
        .get(pk=registration.event_id)
    )
    registration = Registration.objects.get(pk=registration.pk)
    if registration.status == Registration.Status.CANCELLED:
        return []
    if registration.status == Registration.Status.CONFIRMED:
        event.confirmed_count -= 1
    else:
        event.waitlisted_count -= 1
    registration.status = Registration.Status.CANCELLED
    registration.queue_number = None
    registration.cancelled_at = timezone.now()
    registration.save(update_fields=["status", "queue_number", "cancelled_at", "updated_at"])
    Event.objects.filter(pk=event.pk).update(
        confirmed_count=event.confirmed_count, waitlisted_count=event.waitlisted_count
    )
    promoted = _promote(event)
    if by_manager:
        _notify(
            event,
            [registration],
            "agenda/email/registration_cancelled.txt",
            gettext_lazy("Your registration is cancelled"),
        )
        audit_record(
            actor=actor,
            action="registration.cancel",
            target=registration,
            place=event.place,
            details={"event": event.pk, "email": registration.email},
        )
    return promoted


def _promote(event: Event) -> list[Registration]:
    """Confirm the first on the waiting list while there is room (the event's row is locked by
    the caller); each is told by email."""
    if event.status != Event.Status.PUBLISHED or event.start <= timezone.now():
        return []
    room = None if event.capacity is None else event.capacity - event.confirmed_count
    if room is not None and room <= 0:
        return []
    waiting = Registration.objects.filter(
        event=event, status=Registration.Status.WAITLISTED
    ).order_by("queue_number")
    promoted = list(waiting if room is None else waiting[:room])
    if not promoted:
        return []
    now = timezone.now()
    Registration.objects.filter(pk__in=[r.pk for r in promoted]).update(
        status=Registration.Status.CONFIRMED, queue_number=None, promoted_at=now, updated_at=now
    )
    Event.objects.filter(pk=event.pk).update(
        confirmed_count=F("confirmed_count") + len(promoted),
        waitlisted_count=F("waitlisted_count") - len(promoted),
    )
    event.confirmed_count += len(promoted)
    event.waitlisted_count -= len(promoted)
    for registration in promoted:
        registration.status, registration.queue_number = Registration.Status.CONFIRMED, None
    _notify(event, promoted, "agenda/email/promoted.txt", gettext_lazy("A place is yours"))
    return promoted


@transaction.atomic
def check_in(*, registration: Registration, actor: User, undo: bool = False) -> Registration:
    """Mark a confirmed participant as arrived (or not, with `undo`) at the door."""
    if not permissions.can_manage_event(actor, registration.event):
        raise PermissionError
    registration = Registration.objects.select_for_update().get(pk=registration.pk)
    if registration.status != Registration.Status.CONFIRMED:
        raise ValidationError(_("Only confirmed participants can be checked in."))
    registration.checked_in_at = None if undo else timezone.now()
    registration.checked_in_by = None if undo else actor
    registration.save(update_fields=["checked_in_at", "checked_in_by", "updated_at"])
    return registration


def message_participants(
    *, event: Event, author: User, subject: str, body: str, include_waitlist: bool = False
) -> int:
    """Email the event's confirmed participants (and the waiting list if asked). Audited."""
    if not permissions.can_manage_event(author, event):
        raise PermissionError
    subject, body = subject.strip(), body.strip()
    if not subject or not body:
        raise ValidationError(_("Write a subject and a message."))
    if len(subject) > 150 or len(body) > 5000:
        raise ValidationError(_("The subject or the message is too long."))
    statuses = Registration.ACTIVE if include_waitlist else [Registration.Status.CONFIRMED]
    recipients = list(event.registrations.filter(status__in=statuses))
    with transaction.atomic():
        for registration in recipients:
            with translation.override(registration.language):
                text = render_to_string(
                    "agenda/email/message.txt", _context(event, registration, body=body)
                )
            _send_later(f"[{event.title}] {subject}", text, registration.email)
        audit_record(
            actor=author,
            action="event.message",
            target=event,
            place=event.place,
            details={"subject": subject, "recipients": len(recipients)},
        )
    return len(recipients)


def release_unconfirmed(*, now: dt.datetime | None = None) -> int:
    """Cancel the registrations whose address was never confirmed UNCONFIRMED_HOURS after they
    were made (people, or robots, who gave an address that is not theirs): their places go to
    the waiting list. Idempotent; run by `maillage agenda_jobs`."""
    now = now or timezone.now()
    stale = Registration.objects.filter(
        status__in=Registration.ACTIVE,
        email_confirmed_at__isnull=True,
        created_at__lt=now - dt.timedelta(hours=UNCONFIRMED_HOURS),
        event__start__gt=now,
    )
    released = 0
    for registration in stale.iterator():
        registration_cancel(registration=registration)
        released += 1
    return released


def send_reminders(*, now: dt.datetime | None = None, hours: int = 24) -> int:
    """Remind the confirmed participants of events starting within `hours` (once each).
    Idempotent; run by `maillage agenda_jobs`."""
    now = now or timezone.now()
    due = Registration.objects.filter(
        status=Registration.Status.CONFIRMED,
        reminded_at__isnull=True,
        event__status=Event.Status.PUBLISHED,
        event__start__gt=now,
        event__start__lte=now + dt.timedelta(hours=hours),
    ).select_related("event__place")
    sent = 0
    for registration in due.iterator():
        with transaction.atomic():
            marked = Registration.objects.filter(pk=registration.pk, reminded_at__isnull=True)
            if not marked.update(reminded_at=now):
                continue  # another run took it
            _notify(
                registration.event,
                [registration],
                "agenda/email/reminder.txt",
                gettext_lazy("Reminder"),
            )
            sent += 1
    return sent


# Emails ---------------------------------------------------------------------------------------


def _context(event: Event, registration: Registration | None = None, **extra) -> dict:
    zone = _zone(event)
    return {
        "event": event,
        "title": event.localized("title", translation.get_language()),
        "start": event.start.astimezone(zone),
        "end": event.end.astimezone(zone),
        "event_url": settings.MAILLAGE_BASE_URL + event.get_absolute_url(),
        "registration": registration,
        "manage_url": _manage_url(registration) if registration else None,
        "site_name": settings.MAILLAGE_SITE_NAME,
        **extra,
    }


def _send_later(subject: str, body: str, recipient: str) -> None:
    transaction.on_commit(
        lambda: send_email.enqueue(subject=subject, body=body, recipients=[recipient]),
        robust=True,
    )


def _manage_url(registration: Registration) -> str:
    return settings.MAILLAGE_BASE_URL + reverse(
        "agenda:registration", kwargs={"secret": registration_secret(registration)}
    )


def registration_email_send(registration_id: int, position: int | None) -> bool:
    """Send the email of a new registration, in its language, as it stands when the job runs:
    nothing for a registration cancelled or gone meanwhile, no waiting-list position for one
    promoted meanwhile (the promotion has its own email)."""
    registration = (
        Registration.objects.select_related("event__place", "event__network")
        .filter(pk=registration_id)
        .exclude(status=Registration.Status.CANCELLED)
        .first()
    )
    if registration is None:
        return False
    if registration.status != Registration.Status.WAITLISTED:
        position = None
    registration.position = position
    event = registration.event
    with translation.override(registration.language):
        context = _context(
            event,
            registration,
            position=registration.position,
            needs_confirmation=registration.email_confirmed_at is None,
        )
        body = render_to_string("agenda/email/registered.txt", context)
        title = context["title"]
        if registration.status == Registration.Status.CONFIRMED:
            subject = _("Your place: %(title)s") % {"title": title}
        else:
            subject = _("Waiting list: %(title)s") % {"title": title}
    _send_later(f"[{settings.MAILLAGE_SITE_NAME}] {subject}", body, registration.email)
    return True


def _notify(event: Event, registrations: Iterable[Registration], template: str, subject) -> None:
    """One email per registration, in its language; `subject` (lazy) is translated for each."""
    for registration in registrations:
        with translation.override(registration.language):
            body = render_to_string(template, _context(event, registration))
            title = event.localized("title", registration.language)
            text = f"[{settings.MAILLAGE_SITE_NAME}] {subject} – {title}"
        _send_later(text, body, registration.email)


def _active(event: Event):
    return event.registrations.filter(status__in=Registration.ACTIVE)


# Newsletter -----------------------------------------------------------------------------------


def subscribe(
    *, email: str, language: str, network: Network | None = None, places: Iterable[Place] = ()
) -> Subscription:
    """Ask for the digest of a network's or of chosen places' coming events. Nothing is sent
    before the address is confirmed by the link of the email this sends (double opt-in);
    asking again sends a new link and replaces the choice."""
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": _("Enter a valid email address.")}) from None
    places = list(places)
    if network is None and not places:
        raise ValidationError(_("Choose a network or at least one place."))
    with transaction.atomic():
        subscription, _created = Subscription.objects.select_for_update().get_or_create(
            email=email, defaults={"language": language[:8]}
        )
        subscription.language, subscription.network = language[:8], network
        subscription.save()
        subscription.places.set(places)
        with translation.override(subscription.language):
            body = render_to_string(
                "agenda/email/subscription_confirm.txt",
                {
                    "confirm_url": settings.MAILLAGE_BASE_URL
                    + reverse(
                        "agenda:newsletter_confirm",
                        kwargs={"secret": subscription_secret(subscription)},
                    ),
                    "site_name": settings.MAILLAGE_SITE_NAME,
                    "subscription": subscription,
                },
            )
            subject = f"[{settings.MAILLAGE_SITE_NAME}] " + _("Confirm your subscription")
        _send_later(subject, body, email)
    return subscription


def subscription_confirm(subscription: Subscription) -> Subscription:
    if subscription.confirmed_at is None:
        subscription.confirmed_at = timezone.now()
        subscription.save(update_fields=["confirmed_at", "updated_at"])
    return subscription


def unsubscribe(subscription: Subscription) -> None:
    subscription.delete()
