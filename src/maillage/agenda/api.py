"""Agenda endpoints of the API (PRODUCT.md §5): events, registrations, participants, check-in.

Every write goes through agenda.services and every "who may" through agenda.permissions, so the
rules (capacity, waiting list, sanitised HTML, room bookings, audit) are those of the pages.
Times are read here from text, so that any string gets a 400 naming the field rather than a
schema error; answers give times with the offset of the place's time zone (the site's for the
events of a network). Whoever cannot see an event (a draft of somebody else, an event of an
unpublished place) is answered as if it did not exist.
"""

import datetime as dt
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema, Status

from maillage.bookings.models import Resource
from maillage.core.api import (
    ERRORS,
    MAX_ID,
    TIME_EXAMPLE,
    ApiError,
    BearerToken,
    ObjectIn,
    OptionalBearer,
    invalid_value,
    is_slug,
    out_of_range,
    page_params,
    parse_instant,
    refuse_unstorable,
)
from maillage.core.ratelimit import hit_request, parse_rate
from maillage.places import vocabulary as place_vocabulary
from maillage.places.forms import parse_point
from maillage.places.models import Network, Place
from maillage.places.permissions import place_access
from maillage.places.selectors import MAX_RADIUS_KM

from . import permissions, selectors, services, vocabulary
from .models import Event, Registration

router = Router(tags=["agenda"])
MAX_CAPACITY = 1_000_000

CATEGORIES = [term.code for term in vocabulary.CATEGORIES]
AUDIENCES = [term.code for term in vocabulary.AUDIENCES]
LANGUAGES = [term.code for term in place_vocabulary.LANGUAGES]
LOCATIONS = list(Event.Location.values)
# An event is cancelled with DELETE (its people are told), never by changing its status.
STATUSES = [Event.Status.DRAFT.value, Event.Status.PUBLISHED.value]
TRANSLATION_LANGUAGES = [code for code, _name in settings.LANGUAGES]
TRANSLATED_FIELDS = {"title": 200, "description": 20_000}
PLAIN_TEXTS = (
    "title",
    "address",
    "online_url",
    "price_info",
    "organiser_name",
    "organiser_email",
    "organiser_phone",
)


# Answers --------------------------------------------------------------------------------------


class PlaceRef(Schema):
    slug: str
    name: str
    town: str


class SeriesOut(Schema):
    id: int
    rrule: str
    count: int = Field(description="How many dates the series has (that the caller may see).")
    events: list[int] = Field(description="Ids of the events of the series, first date first.")


class EventOut(Schema):
    id: int
    title: str = Field(description="In the event's `language`; see `translations` for others.")
    start: dt.datetime = Field(description="In the place's time zone, with its offset.")
    end: dt.datetime
    place: PlaceRef | None = Field(description="The place holding the event; null for a network's.")
    network: str | None = Field(
        description="Slug of the network, for the network's own events; null for a place's."
    )
    category: str
    audience: str
    language: str
    location: str = Field(description=f"One of {', '.join(LOCATIONS)}.")
    address: str = Field(description="For location `address`.")
    is_free: bool
    price_info: str
    capacity: int | None = Field(description="Places for participants; null: no limit.")
    confirmed: int = Field(description="Confirmed participants.")
    places_left: int | None = Field(description="Null when there is no limit.")
    waitlisted: int = Field(description="People on the waiting list.")
    registration_required: bool
    registrations_open: bool
    status: str = Field(description="draft, published or cancelled.")
    url: str = Field(description="The event's page.")
    image: str | None


class EventDetailOut(EventOut):
    description: str = Field(description="Sanitised HTML: paragraphs, emphasis, lists, links.")
    translations: dict[str, dict[str, str]] = Field(
        description='Title and description in other languages: {"es": {"title", "description"}}.'
    )
    online_url: str = Field(description="For location `online`.")
    organiser_name: str
    organiser_email: str
    organiser_phone: str
    cancellation_reason: str
    series: SeriesOut | None = Field(description="The dates of a recurring event; null if none.")


class EventListOut(Schema):
    count: int
    results: list[EventOut]


class RegistrationOut(Schema):
    id: int
    status: str = Field(description="confirmed or waitlisted.")
    position: int | None = Field(description="Rank on the waiting list, from 1; null if confirmed.")
    event: int = Field(description="Id of the event.")


class RegistrationCancelledOut(Schema):
    id: int
    status: str = Field(description="cancelled.")
    event: int
    promoted: int = Field(description="How many people of the waiting list got a place.")


class ParticipantOut(Schema):
    id: int
    name: str
    email: str
    status: str = Field(description="confirmed or waitlisted.")
    position: int | None = Field(description="Rank on the waiting list, from 1; null if confirmed.")
    checked_in: bool
    checked_in_at: dt.datetime | None
    email_confirmed: bool = Field(
        description="Registrations without an account are confirmed by the link of their email."
    )
    created_at: dt.datetime


class ParticipantListOut(Schema):
    count: int
    results: list[ParticipantOut]


# Requests -------------------------------------------------------------------------------------


def _time_field(what: str, default=...):
    return Field(default, description=f"{what}, ISO 8601 with its offset, e.g. {TIME_EXAMPLE}.")


class EventFields(ObjectIn):
    """What an event's managers may set; every field is optional when changing an event."""

    description: str = Field(
        None,
        max_length=20_000,
        description="HTML; only paragraphs, emphasis, lists and links are kept.",
    )
    audience: str = Field(None, description=f"One of {', '.join(AUDIENCES)}; everyone.")
    language: str = Field(None, description="Language code of the event (fr, en, es, ca...).")
    location: str = Field(
        None,
        description=f"One of {', '.join(LOCATIONS)}; place. `room` needs `room`, `address` "
        "an `address`, `online` an `online_url`.",
    )
    room: int = Field(
        None,
        ge=1,
        le=MAX_ID,
        strict=True,
        description="Id of a room (resource) of the place, booked for the event's time.",
    )
    address: str = Field(None, max_length=250)
    online_url: str = Field(None, max_length=300)
    capacity: int | None = Field(
        None, ge=0, le=MAX_CAPACITY, strict=True, description="Null: no limit."
    )
    registration_required: bool = Field(None, strict=True)
    waitlist_enabled: bool = Field(
        None, strict=True, description="Queue people once full; they get places that free up."
    )
    registrations_open: bool = Field(None, strict=True)
    is_free: bool = Field(None, strict=True)
    price_info: str = Field(None, max_length=200)
    organiser_name: str = Field(None, max_length=150)
    organiser_email: str = Field(None, max_length=254)
    organiser_phone: str = Field(None, max_length=30)
    status: str = Field(
        None, description="draft (seen only by the managers) or published; published."
    )
    translations: dict[str, dict[str, str]] = Field(
        None,
        description='{"es": {"title": "...", "description": "..."}} for the languages of the '
        f"site ({', '.join(TRANSLATION_LANGUAGES)}); replaces the previous translations.",
    )


class EventIn(EventFields):
    place: str | None = Field(None, description="Slug of the place; or give `network`.")
    network: str | None = Field(
        None, description="Slug of the network, for the network's own events."
    )
    title: str = Field(max_length=200)
    start: str = _time_field("Start")
    end: str = _time_field("End, after the start")
    category: str = Field(description=f"One of {', '.join(CATEGORIES)}.")
    rrule: str = Field(
        "",
        max_length=300,
        description="An RFC 5545 repeat rule, e.g. FREQ=WEEKLY;COUNT=6 (at most "
        f"{services.MAX_SERIES_DATES} dates), expanded in the place's wall-clock time: one "
        "event per date, each with its own registrations.",
    )


class EventPatch(EventFields):
    title: str = Field(None, max_length=200)
    start: str = _time_field("Start", None)
    end: str = _time_field("End", None)
    category: str = Field(None, description=f"One of {', '.join(CATEGORIES)}.")


class RegistrationIn(ObjectIn):
    name: str = Field("", max_length=150, description="Required without a token.")
    email: str = Field(
        "",
        max_length=254,
        description="Required without a token; with one, leave it out (or give the account's).",
    )


class CheckinIn(ObjectIn):
    undo: bool = Field(False, strict=True, description="true: mark as not arrived after all.")


class EventQuery(Schema):
    """The agenda's criteria, declared as text and validated here with translated messages."""

    network: str = Field("", description="Slug of a network: its own events and its places'.")
    place: str = Field("", description="Slug of a place.")
    from_: str = Field(
        "",
        alias="from",
        description=f"Events not over at this instant ({TIME_EXAMPLE}); now when not given.",
    )
    to: str = Field("", description="Events starting before this instant.")
    q: str = Field("", max_length=200, description="Words of the title, description or place.")
    category: list[str] = Field(
        [], description="Category codes, repeated or separated by commas; any may match."
    )
    audience: list[str] = Field(
        [], description="Audience codes, repeated or separated by commas; any may match."
    )
    free: str = Field("", description="true: free events only; false: paying ones only.")
    near: str = Field("", description="A position, LAT,LON in WGS84 degrees.")
    radius_km: str = Field("", description=f"Radius around `near`, 0 < r ≤ {MAX_RADIUS_KM:g}; 30.")


# Helpers --------------------------------------------------------------------------------------


def _choice(field: str, value: str, choices: list[str]) -> None:
    if value not in choices:
        raise invalid_value(
            field,
            _("Unknown value “%(value)s”: use one of %(choices)s.")
            % {"value": value, "choices": ", ".join(choices)},
        )


def _caller(request):
    """The authenticated user, or None for an anonymous call of an OptionalBearer operation."""
    return request.auth if request.auth is not True else None


def _zone(event: Event) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(event.place.time_zone if event.place_id else settings.TIME_ZONE)


def _absolute(url: str) -> str:
    return url if url.startswith(("http://", "https://")) else settings.MAILLAGE_BASE_URL + url


def _event_out(event: Event) -> dict:
    zone = _zone(event)
    place = event.place if event.place_id else None
    return {
        "id": event.pk,
        "title": event.title,
        "start": event.start.astimezone(zone),
        "end": event.end.astimezone(zone),
        "place": {"slug": place.slug, "name": place.name, "town": place.town} if place else None,
        "network": event.network.slug if event.network_id else None,
        "category": event.category,
        "audience": event.audience,
        "language": event.language,
        "location": event.location,
        "address": event.address,
        "is_free": event.is_free,
        "price_info": event.price_info,
        "capacity": event.capacity,
        "confirmed": event.confirmed_count,
        "places_left": event.places_left,
        "waitlisted": event.waitlisted_count,
        "registration_required": event.registration_required,
        "registrations_open": event.registrations_open,
        "status": event.status,
        "url": _absolute(event.get_absolute_url()),
        "image": _absolute(event.image.url) if event.image else None,
    }


def _event_detail_out(event: Event, user, series_events: list[int] | None = None) -> dict:
    series = None
    if event.series_id:
        if series_events is None:
            series_events = list(
                permissions.visible_events(user)
                .filter(series_id=event.series_id)
                .order_by("start", "id")
                .values_list("pk", flat=True)
            )
        series = {
            "id": event.series_id,
            "rrule": event.series.rrule,
            "count": len(series_events),
            "events": series_events,
        }
    return {
        **_event_out(event),
        "description": event.description,
        "translations": event.translations or {},
        "online_url": event.online_url,
        "organiser_name": event.organiser_name,
        "organiser_email": event.organiser_email,
        "organiser_phone": event.organiser_phone,
        "cancellation_reason": event.cancellation_reason,
        "series": series,
    }


def _no_event(event_id: int) -> ApiError:
    return ApiError(404, _("There is no event #%(id)d.") % {"id": event_id})


def _visible_event(user, event_id: int) -> Event:
    """The event, when the caller may see it; a 404 otherwise, whether it exists or not."""
    try:
        return (
            permissions.visible_events(user)
            .select_related("place", "network", "series")
            .get(pk=event_id)
        )
    except Event.DoesNotExist:
        raise _no_event(event_id) from None


def _managed_event(user, event_id: int) -> Event:
    """The event, for its managers; 403 for the other people with a role in its place (they
    know it), 404 for anyone else, as for an unknown event: nobody learns who runs what."""
    event = _visible_event(user, event_id)
    if permissions.can_manage_event(user, event):
        return event
    if event.place_id and place_access(user, event.place) == "role":
        raise ApiError(
            403,
            _(
                "Only the staff of the event's place (or the coordinators of its network) "
                "may manage it."
            ),
        )
    raise _no_event(event_id)


def _owner(user, place_slug: str | None, network_slug: str | None) -> dict:
    """The place or network a new event belongs to, checked against the caller's rights."""
    if bool(place_slug) == bool(network_slug):
        raise ApiError(
            400,
            _("Some values are invalid."),
            {"place": [_("Give either a place or a network (the slug of one of them).")]},
        )
    if place_slug:
        place = Place.objects.filter(slug=place_slug).first() if is_slug(place_slug) else None
        if place is not None and permissions.can_manage_events(user, place=place):
            return {"place": place}
        if place is not None and place_access(user, place) == "role":
            raise ApiError(403, _("Only the staff of this place may publish its events."))
        raise ApiError(404, _("There is no place “%(slug)s”.") % {"slug": place_slug})
    network = Network.objects.filter(slug=network_slug).first() if is_slug(network_slug) else None
    if network is None or not permissions.can_manage_events(user, network=network):
        raise ApiError(404, _("There is no network “%(slug)s”.") % {"slug": network_slug})
    return {"network": network}


def _room(room_id: int | None, place: Place | None) -> Resource | None:
    if room_id is None:
        return None
    room = Resource.objects.filter(pk=room_id, place=place).first() if place else None
    if room is None:
        raise invalid_value("room", _("Choose a room of this place."))
    return room


def _translations(value: dict) -> dict:
    for language, texts in value.items():
        if language not in TRANSLATION_LANGUAGES:
            raise invalid_value(
                "translations",
                _("Unknown language “%(value)s”: use one of %(choices)s.")
                % {"value": language, "choices": ", ".join(TRANSLATION_LANGUAGES)},
            )
        for name, text in texts.items():
            if name not in TRANSLATED_FIELDS:
                raise invalid_value(
                    f"translations.{language}",
                    _("Only a title and a description can be translated, not “%(value)s”.")
                    % {"value": name},
                )
            if len(text) > TRANSLATED_FIELDS[name]:
                raise invalid_value(
                    f"translations.{language}.{name}",
                    _("At most %(max)d characters.") % {"max": TRANSLATED_FIELDS[name]},
                )
            refuse_unstorable(**{f"translations.{language}.{name}": text})
    return {language: dict(texts) for language, texts in value.items() if texts}


def _event_data(given: dict) -> dict:
    """The fields given for services.event_create/event_update, checked: times, choices, texts.
    Only given fields are returned, so that a change leaves the others as they are."""
    refuse_unstorable(**{key: value for key, value in given.items() if isinstance(value, str)})
    data = {key: value for key, value in given.items() if key in services.EDITABLE_FIELDS}
    for field in PLAIN_TEXTS:
        if field in data:
            data[field] = data[field].strip()
    for field in ("start", "end"):
        if field in data:
            data[field] = parse_instant(data[field], field)
    for field, choices in (
        ("category", CATEGORIES),
        ("audience", AUDIENCES),
        ("language", LANGUAGES),
        ("location", LOCATIONS),
    ):
        if field in data:
            _choice(field, data[field], choices)
    if data.get("status") == Event.Status.CANCELLED:
        raise invalid_value(
            "status",
            _("Cancel an event with DELETE /api/v1/events/{id}: its participants are told."),
        )
    if "status" in data:
        _choice("status", data["status"], STATUSES)
    if "translations" in data:
        data["translations"] = _translations(data["translations"])
    return data


def _check_room(location: str, room_id: int | None) -> None:
    if room_id is not None and location != Event.Location.ROOM:
        raise invalid_value(
            "room",
            _("Give a room only for an event in a room of the place (location “room”)."),
        )


def _reload(event_id: int) -> Event:
    return Event.objects.select_related("place", "network", "series").get(pk=event_id)


def _parse_filters(request, query: EventQuery) -> selectors.AgendaFilters:
    user = _caller(request)
    refuse_unstorable(**{name: getattr(query, name) for name in ("network", "place", "q")})
    filters = selectors.AgendaFilters(q=query.q)
    if query.network:
        if not (is_slug(query.network) and Network.objects.filter(slug=query.network).exists()):
            raise invalid_value(
                "network", _("There is no network “%(slug)s”.") % {"slug": query.network}
            )
        filters.network = query.network
    if query.place:
        place = Place.objects.filter(slug=query.place).first() if is_slug(query.place) else None
        if place is None or not (
            place.is_published or permissions.can_manage_events(user, place=place)
        ):
            raise invalid_value("place", _("There is no place “%(slug)s”.") % {"slug": query.place})
        filters.place = query.place
    filters.start = parse_instant(query.from_, "from") if query.from_ else timezone.now()
    if query.to:
        filters.end = parse_instant(query.to, "to")
        if filters.end <= filters.start:
            raise invalid_value("to", _("The end must come after the start."))
    for name, known in (("category", CATEGORIES), ("audience", AUDIENCES)):
        codes = [
            code.strip() for value in getattr(query, name) for code in value.split(",") if code
        ]
        for code in codes:
            _choice(name, code, known)
        setattr(filters, "categories" if name == "category" else "audiences", codes)
    if query.free:
        if query.free.lower() not in ("true", "false", "1", "0"):
            raise invalid_value("free", _("Use true or false."))
        filters.free = query.free.lower() in ("true", "1")
    if query.near:
        try:
            filters.near = parse_point(query.near.strip())
        except ValidationError as error:
            raise invalid_value("near", " ".join(error.messages)) from None
    if query.radius_km:
        try:
            radius = float(query.radius_km)
        except ValueError:
            radius = None
        if radius is None or radius != radius or not 0 < radius <= MAX_RADIUS_KM:
            raise invalid_value(
                "radius_km",
                _("The radius must be more than 0 and at most %(max)d km.")
                % {"max": MAX_RADIUS_KM},
            )
        filters.radius_km = radius
    return filters


EVENT_ID = Path(ge=1, le=MAX_ID, description="Id of the event.")
REGISTRATION_ID = Path(ge=1, le=MAX_ID, description="Id of the registration.")


# Events ---------------------------------------------------------------------------------------


@router.post(
    "/events",
    response={201: EventDetailOut, **ERRORS},
    auth=BearerToken(),
    summary="Publish an event",
    description=(
        "For the staff of the place (`place`) or the coordinators of the network (`network`): "
        "exactly one of them. `status` draft keeps the event to its managers. With `rrule`, one "
        "event per date: the answer is the first, `series` lists them all. The description's "
        "HTML is sanitised. An event in a room (`location` room, `room`) books the room for its "
        "time: 400 naming `room` when it is taken. 400 for invalid values (end before start, "
        "negative capacity, unknown category...), 403 for a place where the caller has a role "
        "that does not let them publish, 404 for any other place or network they do not manage."
    ),
)
def create_event(request, payload: EventIn):
    given = payload.dict(exclude_unset=True)
    refuse_unstorable(place=payload.place, network=payload.network, rrule=payload.rrule)
    owner = _owner(request.auth, payload.place, payload.network)
    data = _event_data(given)
    _check_room(data.get("location", Event.Location.PLACE), payload.room)
    room = _room(payload.room, owner.get("place"))
    try:
        events = services.event_create(
            author=request.auth, rrule=payload.rrule, room=room, **owner, **data
        )
    except PermissionError:
        raise ApiError(403, _("You are not allowed to do this.")) from None
    except OverflowError:  # a series reaching past the year 9999
        raise out_of_range("rrule") from None
    first = _reload(events[0].pk)
    series = [event.pk for event in events] if first.series_id else None
    return Status(201, _event_detail_out(first, request.auth, series))


@router.get(
    "/events",
    response={200: EventListOut, **ERRORS},
    auth=OptionalBearer(),
    summary="The agenda",
    description=(
        "Published (and cancelled) events of every published place and network, first start "
        "first; drafts too for the caller's own places and networks. Filters: `network`, "
        "`place` (slugs), `from` (events not over at that instant; now by default), `to` "
        "(events starting before it), `q` (words), `category` and `audience` (repeated or "
        "comma-separated codes), `free` (true/false), `near=LAT,LON` with `radius_km` (30 by "
        "default). Paginated with `page` and `page_size`."
    ),
)
def list_events(request, filters: Query[EventQuery], page: int = 1, page_size: int = 20):
    page, size = page_params(request)
    events = selectors.agenda_events(_caller(request), _parse_filters(request, filters))
    count = events.count()
    offset = (page - 1) * size
    # Past the last page there is nothing to fetch (and a huge offset would overflow in SQL).
    results = events[offset : offset + size] if offset < count else []
    return {"count": count, "results": [_event_out(event) for event in results]}


@router.get(
    "/events/{event_id}",
    response={200: EventDetailOut, **ERRORS},
    auth=OptionalBearer(),
    summary="One event",
    description=(
        "With its sanitised HTML description, its translations and its series. Drafts are "
        "only for their managers: 404 for anyone else, as for an unknown event."
    ),
)
def get_event(request, event_id: int = EVENT_ID):
    user = _caller(request)
    return _event_detail_out(_visible_event(user, event_id), user)


@router.patch(
    "/events/{event_id}",
    response={200: EventDetailOut, **ERRORS},
    auth=BearerToken(),
    summary="Change an event",
    description=(
        "For its managers (403 for the other people with a role in its place, 404 for anyone "
        "else). Only the "
        "given fields change; `capacity` null removes the limit. Raising the capacity gives the "
        "new places to the waiting list; lowering it below the confirmed participants is "
        "refused (400). New times are emailed to the participants and book the room again. "
        "A cancelled event can no longer be changed (409)."
    ),
)
def update_event(request, payload: EventPatch, event_id: int = EVENT_ID):
    event = _managed_event(request.auth, event_id)
    if event.status == Event.Status.CANCELLED:
        raise ApiError(409, _("This event is cancelled: it can no longer be changed."))
    given = payload.dict(exclude_unset=True)
    data = _event_data(given)
    _check_room(data.get("location", event.location), payload.room)
    room = _room(payload.room, event.place if event.place_id else None)
    try:
        services.event_update(event=event, author=request.auth, room=room, **data)
    except PermissionError:
        raise ApiError(403, _("You are not allowed to do this.")) from None
    return _event_detail_out(_reload(event.pk), request.auth)


@router.delete(
    "/events/{event_id}",
    response={200: EventDetailOut, **ERRORS},
    auth=BearerToken(),
    summary="Cancel an event",
    description=(
        "For its managers (403 for the other people with a role in its place, 404 for anyone "
        "else). The event "
        "stays in the agenda as cancelled, with the optional `reason`; everyone registered or "
        "waiting is told by email and its room is freed. Answers the cancelled event; "
        "cancelling it again changes nothing."
    ),
)
def cancel_event(
    request,
    event_id: int = EVENT_ID,
    reason: str = Query("", max_length=500, description="Told to the participants."),
):
    event = _managed_event(request.auth, event_id)
    refuse_unstorable(reason=reason)
    try:
        services.event_cancel(event=event, author=request.auth, reason=reason)
    except PermissionError:
        raise ApiError(403, _("You are not allowed to do this.")) from None
    return _event_detail_out(_reload(event.pk), request.auth)


# Registrations --------------------------------------------------------------------------------


def _count_registration(request) -> None:
    limit, window = parse_rate(settings.MAILLAGE_REGISTRATIONS_PER_IP)
    result = hit_request(request, "agenda.register", limit=limit, window_seconds=window)
    if not result.allowed:
        raise ApiError(
            429,
            _("Too many registrations from your connection. Try again later."),
            retry_after=result.retry_after,
        )


@router.post(
    "/events/{event_id}/registrations",
    response={201: RegistrationOut, **ERRORS},
    auth=OptionalBearer(),
    summary="Register for an event",
    description=(
        "Without a token, `name` and `email` are required: the person confirms the address "
        "by the link of the email sent (unconfirmed registrations are released after 48 hours). "
        "With a token, the caller registers themselves. `status` is confirmed while there are "
        "places, else waitlisted with the `position` on the waiting list (1 is next). 400 when "
        "the event takes no registration (past, cancelled, closed, full without a waiting "
        "list, none needed) or a value is invalid, 409 when this email is already registered, "
        "404 for an event the caller cannot see. Limited per connection (429)."
    ),
)
def register(request, payload: RegistrationIn, event_id: int = EVENT_ID):
    _count_registration(request)
    user = _caller(request)
    try:
        event = selectors.event_with_place(event_id)
    except Event.DoesNotExist:
        raise _no_event(event_id) from None
    if not permissions.can_see_event(user, event):
        raise _no_event(event_id)
    refuse_unstorable(name=payload.name, email=payload.email)
    if user is not None:
        if payload.email and payload.email.strip().lower() != user.email.lower():
            raise invalid_value(
                "email",
                _(
                    "With a token you register yourself: leave out the email or give your "
                    "account's."
                ),
            )
        # Their account's language, for the emails.
        who = {"user": user, "language": None}
    else:
        who = {
            "name": payload.name,
            "email": payload.email,
            "language": translation.get_language(),
        }
    try:
        registration = services.register(event=event, **who)
    except services.AlreadyRegistered:
        raise ApiError(
            409,
            _("This email address is already registered for this event (or on its waiting list)."),
        ) from None
    except services.RegistrationRefused as refusal:
        details = refusal.message_dict if hasattr(refusal, "error_dict") else {}
        raise ApiError(400, " ".join(refusal.messages), details) from None
    return Status(
        201,
        {
            "id": registration.pk,
            "status": registration.status,
            "position": registration.position,
            "event": event.pk,
        },
    )


def _no_registration(registration_id: int) -> ApiError:
    return ApiError(404, _("There is no registration #%(id)d.") % {"id": registration_id})


@router.delete(
    "/registrations/{registration_id}",
    response={200: RegistrationCancelledOut, **ERRORS},
    auth=OptionalBearer(),
    summary="Cancel a registration",
    description=(
        "For its owner (token of their account), the event's managers, or anyone giving the "
        "`token` of the links of its emails. Answers 200 with `promoted`: a confirmed place "
        "that frees up goes to the first on the waiting list, who is told by email. Cancelling "
        "again changes nothing. 404 for anyone else, as for an unknown registration."
    ),
)
def cancel_registration(
    request,
    registration_id: int = REGISTRATION_ID,
    token: str = Query("", max_length=300, description="The secret of the registration's emails."),
):
    user = _caller(request)
    registration = None
    if token:
        found = services.registration_by_secret(token)
        if found is not None and found.pk == registration_id:
            registration = found
    if registration is None and user is not None:
        found = (
            Registration.objects.select_related("event__place", "event__network")
            .filter(pk=registration_id)
            .first()
        )
        if found is not None and permissions.can_cancel_registration(user, found):
            registration = found
    if registration is None:
        raise _no_registration(registration_id)
    promoted = services.registration_cancel(registration=registration, actor=user)
    return {
        "id": registration.pk,
        "status": Registration.Status.CANCELLED,
        "event": registration.event_id,
        "promoted": len(promoted),
    }


def _participant_out(registration: Registration, zone: zoneinfo.ZoneInfo) -> dict:
    checked = registration.checked_in_at
    return {
        "id": registration.pk,
        "name": registration.name,
        "email": registration.email,
        "status": registration.status,
        "position": getattr(registration, "position", None),
        "checked_in": checked is not None,
        "checked_in_at": checked.astimezone(zone) if checked else None,
        "email_confirmed": registration.email_confirmed_at is not None,
        "created_at": registration.created_at.astimezone(zone),
    }


@router.get(
    "/events/{event_id}/registrations",
    response={200: ParticipantListOut, **ERRORS},
    auth=BearerToken(),
    summary="The participants of an event",
    description=(
        "For the event's managers (403 for the other people with a role in its place, 404 for "
        "anyone else): "
        "the confirmed participants by name, then the waiting list in order (`position` 1, "
        "2...). Cancelled registrations are left out. Paginated with `page` and `page_size`."
    ),
)
def list_registrations(request, event_id: int = EVENT_ID, page: int = 1, page_size: int = 20):
    page, size = page_params(request)
    event = _managed_event(request.auth, event_id)
    registrations = selectors.participants(event)
    offset = (page - 1) * size
    zone = _zone(event)
    return {
        "count": len(registrations),
        "results": [_participant_out(r, zone) for r in registrations[offset : offset + size]],
    }


@router.post(
    "/registrations/{registration_id}/checkin",
    response={200: ParticipantOut, **ERRORS},
    auth=BearerToken(),
    summary="Check a participant in at the door",
    description=(
        "For the event's managers: marks a confirmed participant as arrived, or not with "
        '`{"undo": true}`. 409 for someone who is not confirmed (waiting list, cancelled); '
        "403 for the participant themselves, 404 for anyone else."
    ),
)
def check_in(request, payload: CheckinIn, registration_id: int = REGISTRATION_ID):
    registration = (
        Registration.objects.select_related("event__place", "event__network")
        .filter(pk=registration_id)
        .first()
    )
    if registration is None:
        raise _no_registration(registration_id)
    event = registration.event
    if not permissions.can_manage_event(request.auth, event):
        if registration.user_id == request.auth.pk:
            raise ApiError(403, _("Only the event's managers may check people in."))
        raise _no_registration(registration_id)
    try:
        registration = services.check_in(
            registration=registration, actor=request.auth, undo=payload.undo
        )
    except ValidationError as error:
        raise ApiError(409, " ".join(error.messages)) from None
    registration.position = services.position(registration)
    return _participant_out(registration, _zone(event))
