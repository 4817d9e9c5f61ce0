"""Reads of the member pages and the iCalendar feeds: the resources a visitor may see, the held
slots of a period (one query), a member's bookings and waiting-list entries, and a day laid out as
stretches of free, busy and closed time for the week and calendar grids."""

import datetime as dt
import itertools
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from django.db.models import Count, Max, Min, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse

from maillage.places.hours import intervals_on
from maillage.places.models import Place

from . import permissions, services
from .models import Booking, CalendarFeed, Occurrence, Resource, WaitlistEntry

DEFAULT_HOURS = (8, 20)  # the window drawn for a day when nothing says which hours matter


# Resources ------------------------------------------------------------------------------------


def _resources() -> QuerySet[Resource]:
    return Resource.objects.select_related("place").prefetch_related(
        "terms", "hours", "place__hours", "place__seasons"
    )


def visible_resource(pk: int, user) -> Resource | None:
    """The resource if this user may see its page: active and of a published place, or any
    resource of a place they are staff of. None otherwise (the page answers 404)."""
    resource = _resources().filter(pk=pk).first()
    if resource is None:
        return None
    if resource.is_active and resource.place.is_published:
        return resource
    return resource if permissions.is_place_staff(user, resource.place) else None


def visible_place(slug: str, user) -> Place | None:
    """A published place, or an unpublished one for its staff."""
    place = Place.objects.prefetch_related("hours", "seasons").filter(slug=slug).first()
    if place is None:
        return None
    if place.is_published or permissions.is_place_staff(user, place):
        return place
    return None


def place_resources(place: Place, user) -> list[Resource]:
    """The active resources of a place, for its page and its calendar (empty for an unpublished
    place unless the user is its staff)."""
    if not place.is_published and not permissions.is_place_staff(user, place):
        return []
    resources = list(
        place.resources.filter(is_active=True).prefetch_related("terms", "hours").order_by("name")
    )
    for resource in resources:
        resource.place = place  # one place object, so its prefetched hours serve every resource
    return resources


def booking_obstacle(resource: Resource, user, *, is_staff: bool, trained: bool) -> str:
    """Why this user cannot book the resource from its page: "login", "members" (members of the
    place only), "training" (a machine they are not trained on), or "" when nothing stands in
    the way. The place's staff are never stopped: they also book on behalf of members.
    `is_staff` and `trained` are asked once by the view, which shows them too."""
    if not (user and user.is_authenticated):
        return "login"
    if is_staff:
        return ""
    if not permissions.bookable_resources(user).filter(pk=resource.pk).exists():
        return "members"
    if not trained:
        return "training"
    return ""


def weekly_hours(resource: Resource) -> list[tuple[int, list[tuple[dt.time, dt.time]]]]:
    """The regular bookable hours per weekday (0 = Monday): the resource's own, or its place's."""
    rules, _seasons = services.bookable_rules(resource)
    return [
        (
            weekday,
            sorted(
                (rule.opens, rule.closes)
                for rule in rules
                if rule.weekday == weekday and rule.season_key is None
            ),
        )
        for weekday in range(7)
    ]


# Held slots -----------------------------------------------------------------------------------


def held_slots(
    resources: Iterable[Resource], start: dt.datetime, end: dt.datetime
) -> QuerySet[Occurrence]:
    """Pending and confirmed slots of these resources that overlap [start, end), with their
    booking, booker and place: one query."""
    return (
        Occurrence.objects.filter(
            resource__in=list(resources),
            status__in=Occurrence.HOLDING,
            start__lt=end,
            held_until__gt=start,
        )
        .select_related("booking__booker", "resource__place")
        .order_by("start", "id")
    )


@dataclass(frozen=True)
class Block:
    """A held slot as this visitor may see it."""

    resource_id: int
    start: dt.datetime  # in the place's time zone
    end: dt.datetime
    held_until: dt.datetime
    title: str  # empty when the booking has none or its details are hidden
    hidden: bool  # private, and this visitor may not see its details
    booker: str  # the booker's name, for the place's staff only
    mine: bool
    pending: bool


def blocks(occurrences: Iterable[Occurrence], user, place: Place) -> list[Block]:
    visible = permissions.details_visible(user, place)
    names = permissions.is_place_staff(user, place)
    zone = zoneinfo.ZoneInfo(place.time_zone)
    user_id = user.pk if user and user.is_authenticated else None
    result = []
    for occurrence in occurrences:
        booking = occurrence.booking
        shown = visible(booking)
        result.append(
            Block(
                resource_id=occurrence.resource_id,
                start=occurrence.start.astimezone(zone),
                end=occurrence.end.astimezone(zone),
                held_until=occurrence.held_until.astimezone(zone),
                title=booking.title if shown else "",
                hidden=not shown,
                booker=booking.booker.get_full_name() if names else "",
                mine=booking.booker_id == user_id,
                pending=occurrence.status == Occurrence.Status.PENDING,
            )
        )
    return result


# Days laid out for the grids ------------------------------------------------------------------


@dataclass(frozen=True)
class Stretch:
    """A part of a drawn day: "free" (bookable, with a link to book it), "busy" (a held slot),
    "unavailable" (past, too short, beyond the horizon, a buffer) or "closed"."""

    kind: str
    start: dt.datetime  # in the place's time zone
    end: dt.datetime
    left: float  # position and width in % of the drawn window
    width: float
    block: Block | None = None
    book_url: str = ""


@dataclass(frozen=True)
class Window:
    """The local hours drawn for a day, from `first` to `last` o'clock (24 = midnight after)."""

    first: int
    last: int

    def bounds(self, day: dt.date, zone) -> tuple[dt.datetime, dt.datetime]:
        return _local(day, self.first, zone), _local(day, self.last, zone)

    def ticks(self, day: dt.date, zone) -> list[tuple[int, float]]:
        start, end = self.bounds(day, zone)
        return [
            (hour, _percent(_local(day, hour, zone), start, end))
            for hour in range(self.first, self.last)
        ]


def _local(day: dt.date, hour: int, zone) -> dt.datetime:
    if hour >= 24:
        return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), zone)
    return dt.datetime.combine(day, dt.time(hour), zone)


def _percent(moment: dt.datetime, start: dt.datetime, end: dt.datetime) -> float:
    span = (end.astimezone(dt.UTC) - start.astimezone(dt.UTC)).total_seconds()
    offset = (moment.astimezone(dt.UTC) - start.astimezone(dt.UTC)).total_seconds()
    return round(max(0.0, min(100.0, 100 * offset / span)), 3)


def open_intervals(
    resource: Resource, day: dt.date, zone, rules_and_seasons
) -> list[tuple[dt.datetime, dt.datetime]] | None:
    """The bookable intervals of a local day as aware datetimes; None when the resource has no
    hours at all (bookable at any time)."""
    rules, seasons = rules_and_seasons
    if not rules:
        return None
    return [
        (dt.datetime.combine(day, opens, zone), dt.datetime.combine(day, closes, zone))
        for opens, closes in intervals_on(day, rules, seasons)
    ]


def _drawn_spans(opens, day: dt.date, zone) -> list[tuple[dt.datetime, dt.datetime]]:
    """What a day's window must show of a resource: its intervals, or the usual working day when
    it is bookable at any time."""
    if opens is None:
        return [Window(*DEFAULT_HOURS).bounds(day, zone)]
    return opens


def window_for(
    days: Iterable[dt.date], spans: Iterable[tuple[dt.datetime, dt.datetime]], zone
) -> Window:
    """The whole hours that contain every span given (bookable hours and held slots) over the
    drawn days; the usual working day when there are none."""
    days = set(days)
    first, last = 24, 0
    for start, end in spans:
        local_start, local_end = start.astimezone(zone), end.astimezone(zone)
        if local_start.date() not in days and local_end.date() not in days:
            continue
        first = min(first, local_start.hour if local_start.date() in days else 0)
        if local_end.date() > local_start.date():
            last = 24
        else:
            rounded_up = local_end.hour + (local_end.time() > dt.time(local_end.hour))
            last = max(last, rounded_up)
    if first >= last:
        return Window(*DEFAULT_HOURS)
    return Window(first, last)


def _next_quarter(moment: dt.datetime) -> dt.datetime:
    """The first quarter of an hour strictly after `moment` (the earliest start worth offering)."""
    base = moment.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    return base + dt.timedelta(minutes=(-base.minute) % 15)


def book_url(resource: Resource, start: dt.datetime, end: dt.datetime) -> str:
    query = urlencode({"start": start.isoformat(), "end": end.isoformat()})
    return f"{reverse('bookings:book', args=[resource.pk])}?{query}"


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC)


def lay_out_day(
    resource: Resource,
    day: dt.date,
    window: Window,
    opens: list[tuple[dt.datetime, dt.datetime]] | None,
    day_blocks: list[Block],
    *,
    now: dt.datetime,
) -> list[Stretch]:
    """Cut the drawn window of one day into stretches, for one resource.

    Free time is what a booking could really take: inside the bookable hours, from the next
    quarter of an hour on, before the horizon, not held, leaving the resource's buffer before the
    next slot, and long enough for the shortest booking. Computed in UTC: wall-clock times repeat
    when the clocks go back.
    """
    zone = zoneinfo.ZoneInfo(resource.place.time_zone)
    start, end = (_utc(bound) for bound in window.bounds(day, zone))
    buffer = dt.timedelta(minutes=resource.buffer_minutes)
    earliest, horizon = (
        _next_quarter(_utc(now)),
        _utc(now) + dt.timedelta(days=resource.horizon_days),
    )
    open_spans = [(start, end)] if opens is None else [(_utc(a), _utc(b)) for a, b in opens]
    held = [(_utc(b.start), _utc(b.end), _utc(b.held_until), b) for b in day_blocks]
    cuts = {start, end, earliest, horizon}
    for span in open_spans:
        cuts.update(span)
    for slot_start, slot_end, held_until, _block in held:
        cuts.update((slot_start, slot_end, held_until, slot_start - buffer))
    points = sorted(point for point in cuts if start <= point <= end)

    def classify(moment: dt.datetime) -> tuple[str, Block | None]:
        for slot_start, slot_end, _held_until, block in held:
            if slot_start <= moment < slot_end:
                return "busy", block
        if any(slot_end <= moment < held_until for _s, slot_end, held_until, _b in held):
            return "unavailable", None
        if not any(opens_at <= moment < closes_at for opens_at, closes_at in open_spans):
            return "closed", None
        if moment < earliest or moment >= horizon:
            return "unavailable", None
        if any(slot_start - buffer <= moment < slot_start for slot_start, *_rest in held):
            return "unavailable", None
        return "free", None

    pieces: list[list] = []
    for a, b in itertools.pairwise(points):
        kind, block = classify(a)
        if pieces and pieces[-1][0] == kind and pieces[-1][3] is block:
            pieces[-1][2] = b
        else:
            pieces.append([kind, a, b, block])
    shortest = dt.timedelta(minutes=resource.min_minutes)
    for piece in pieces:
        if piece[0] == "free" and piece[2] - piece[1] < shortest:
            piece[0] = "unavailable"
    merged: list[list] = []
    for piece in pieces:
        if merged and merged[-1][0] == piece[0] and piece[0] != "busy":
            merged[-1][2] = piece[2]
        else:
            merged.append(piece)
    # A free time links to a booking of a usual length (an hour, within the resource's limits)
    # from its start: the form lets the member adjust it.
    usual = dt.timedelta(minutes=min(max(60, resource.min_minutes), resource.max_minutes))
    stretches = []
    for kind, a, b, block in merged:
        left = _percent(a, start, end)
        stretches.append(
            Stretch(
                kind=kind,
                start=a.astimezone(zone),
                end=b.astimezone(zone),
                left=left,
                width=round(_percent(b, start, end) - left, 3),
                block=block,
                book_url=book_url(resource, a.astimezone(zone), min(b, a + usual).astimezone(zone))
                if kind == "free"
                else "",
            )
        )
    return stretches


def _day_bounds(day: dt.date, zone) -> tuple[dt.datetime, dt.datetime]:
    return Window(0, 24).bounds(day, zone)


def _holds_on(block: Block, day: dt.date, zone) -> bool:
    """Whether the block holds the resource (buffer included) during that local day."""
    start, end = _day_bounds(day, zone)
    return block.start < end and block.held_until > start


def _happens_on(block: Block, day: dt.date, zone) -> bool:
    start, end = _day_bounds(day, zone)
    return block.start < end and block.end > start


@dataclass(frozen=True)
class DayRow:
    day: dt.date
    stretches: list[Stretch]
    is_today: bool


@dataclass(frozen=True)
class Week:
    rows: list[DayRow]
    ticks: list[tuple[int, float]]


def resource_week(resource: Resource, user, *, now: dt.datetime, days: int = 7) -> Week:
    """The coming days of one resource as stretches of free, busy and closed time."""
    zone = zoneinfo.ZoneInfo(resource.place.time_zone)
    today = now.astimezone(zone).date()
    dates = [today + dt.timedelta(days=offset) for offset in range(days)]
    period_start, period_end = _day_bounds(dates[0], zone)[0], _day_bounds(dates[-1], zone)[1]
    day_blocks = blocks(held_slots([resource], period_start, period_end), user, resource.place)
    rules = services.bookable_rules(resource)
    opens = {day: open_intervals(resource, day, zone, rules) for day in dates}
    window = window_for(
        dates,
        [span for day in dates for span in _drawn_spans(opens[day], day, zone)]
        + [(block.start, block.end) for block in day_blocks],
        zone,
    )
    rows = [
        DayRow(
            day=day,
            stretches=lay_out_day(
                resource,
                day,
                window,
                opens[day],
                [block for block in day_blocks if _holds_on(block, day, zone)],
                now=now,
            ),
            is_today=day == today,
        )
        for day in dates
    ]
    return Week(rows=rows, ticks=window.ticks(dates[0], zone))


def free_stretches(
    resource: Resource, day: dt.date, user, *, now: dt.datetime, duration: dt.timedelta
) -> list[Stretch]:
    """The free times of one resource on one local day, each linking to a booking of `duration`
    (or less, where the free time is shorter): offered when a wanted slot is taken."""
    zone = zoneinfo.ZoneInfo(resource.place.time_zone)
    start, end = _day_bounds(day, zone)
    day_blocks = blocks(held_slots([resource], start, end), user, resource.place)
    opens = open_intervals(resource, day, zone, services.bookable_rules(resource))
    return [
        replace(
            stretch,
            book_url=book_url(
                resource,
                stretch.start,
                min(_utc(stretch.end), _utc(stretch.start) + duration).astimezone(zone),
            ),
        )
        for stretch in lay_out_day(resource, day, Window(0, 24), opens, day_blocks, now=now)
        if stretch.kind == "free"
    ]


# The calendar of a place ----------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarDay:
    day: dt.date
    is_open: bool
    blocks: list[Block]


@dataclass(frozen=True)
class CalendarRow:
    resource: Resource
    stretches: list[Stretch]  # the day view: the first date, hour by hour
    days: list[CalendarDay]  # the week view


@dataclass(frozen=True)
class Calendar:
    rows: list[CalendarRow]
    ticks: list[tuple[int, float]]


def place_calendar(
    place: Place, user, *, dates: list[dt.date], now: dt.datetime, hourly: bool
) -> Calendar:
    """The active resources of a place over some local days; the held slots of all of them come
    from one query. `hourly` also lays out the first date hour by hour (the day view)."""
    zone = zoneinfo.ZoneInfo(place.time_zone)
    resources = place_resources(place, user)
    period_start, period_end = _day_bounds(dates[0], zone)[0], _day_bounds(dates[-1], zone)[1]
    by_resource: dict[int, list[Block]] = {resource.pk: [] for resource in resources}
    for block in blocks(held_slots(resources, period_start, period_end), user, place):
        by_resource[block.resource_id].append(block)
    opens = {}
    for resource in resources:
        rules = services.bookable_rules(resource)
        opens[resource.pk] = {day: open_intervals(resource, day, zone, rules) for day in dates}
    window = window_for(
        dates,
        [
            span
            for per_day in opens.values()
            for day, spans in per_day.items()
            for span in _drawn_spans(spans, day, zone)
        ]
        + [(block.start, block.end) for held in by_resource.values() for block in held],
        zone,
    )
    rows = []
    for resource in resources:
        held = by_resource[resource.pk]
        stretches = []
        if hourly:
            stretches = lay_out_day(
                resource,
                dates[0],
                window,
                opens[resource.pk][dates[0]],
                [block for block in held if _holds_on(block, dates[0], zone)],
                now=now,
            )
        days = [
            CalendarDay(
                day=day,
                is_open=opens[resource.pk][day] != [],
                blocks=[block for block in held if _happens_on(block, day, zone)],
            )
            for day in dates
        ]
        rows.append(CalendarRow(resource=resource, stretches=stretches, days=days))
    return Calendar(rows=rows, ticks=window.ticks(dates[0], zone))


# A member's bookings --------------------------------------------------------------------------


def member_bookings(user, *, now: dt.datetime, upcoming: bool) -> QuerySet[Booking]:
    """The user's bookings, grouped slots prefetched. Upcoming: those with a slot still to come
    that is not cancelled, soonest first. The others (past or cancelled): latest first."""
    bookings = (
        Booking.objects.filter(booker=user)
        .select_related("resource__place", "created_by")
        .prefetch_related(Prefetch("occurrences", queryset=Occurrence.objects.order_by("start")))
        .annotate(
            last_live_end=Max("occurrences__end", filter=~Q(occurrences__status="cancelled")),
            next_start=Min("occurrences__start", filter=Q(occurrences__end__gte=now)),
            last_start=Max("occurrences__start"),
        )
    )
    if upcoming:
        return bookings.filter(last_live_end__gte=now).order_by("next_start", "id")
    return bookings.filter(Q(last_live_end__lt=now) | Q(last_live_end__isnull=True)).order_by(
        "-last_start", "-id"
    )


def _ahead_of(*, resource, start, end, created_at, pk) -> QuerySet[WaitlistEntry]:
    """The entries that joined the line before this one for an overlapping slot."""
    return WaitlistEntry.objects.filter(
        resource=resource, status=WaitlistEntry.Status.WAITING, start__lt=end, end__gt=start
    ).filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=pk))


def waiting_entries(user, *, now: dt.datetime) -> QuerySet[WaitlistEntry]:
    """The user's places in waiting lines still to come, each with `ahead`: how many people
    joined before them for an overlapping slot of the same resource."""
    ahead = (
        _ahead_of(
            resource=OuterRef("resource"),
            start=OuterRef("start"),
            end=OuterRef("end"),
            created_at=OuterRef("created_at"),
            pk=OuterRef("id"),
        )
        .order_by()
        .values("resource")
        .annotate(count=Count("id"))
        .values("count")
    )
    return (
        WaitlistEntry.objects.filter(user=user, status=WaitlistEntry.Status.WAITING, end__gt=now)
        .select_related("resource__place")
        .annotate(ahead=Coalesce(Subquery(ahead), 0))
        .order_by("start", "id")
    )


def waiting_position(entry: WaitlistEntry) -> int:
    """The 1-based place in line of one entry."""
    ahead = _ahead_of(
        resource=entry.resource_id,
        start=entry.start,
        end=entry.end,
        created_at=entry.created_at,
        pk=entry.pk,
    )
    return ahead.count() + 1


@dataclass(frozen=True)
class BookingCard:
    """One booking of "My bookings", its slots in the place's time zone."""

    booking: Booking
    zone: zoneinfo.ZoneInfo
    slots: list[Occurrence]  # the first ones shown
    more_slots: list[Occurrence]  # the rest, folded
    refused: bool
    deadline: dt.datetime | None  # the last moment to cancel, when something is left to cancel
    cancellable: bool


def booking_card(
    booking: Booking, user, *, now: dt.datetime, upcoming: bool, shown: int
) -> BookingCard:
    slots = list(booking.occurrences.all())
    if upcoming:
        slots = [slot for slot in slots if slot.end >= now]
    deadline = services.cancellation_deadline(booking) if upcoming else None
    return BookingCard(
        booking=booking,
        zone=zoneinfo.ZoneInfo(booking.resource.place.time_zone),
        slots=slots[:shown],
        more_slots=slots[shown:],
        refused=any(slot.status == Occurrence.Status.REFUSED for slot in slots),
        deadline=deadline,
        # The booker's own bookings: the deadline binds them even when they are staff.
        cancellable=deadline is not None
        and now <= deadline
        and permissions.can_cancel(user, booking),
    )


def personal_feed(user) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(user=user).first()


def feed_by_token(token: str) -> CalendarFeed | None:
    """The personal feed at this secret address, if it is still valid."""
    return (
        CalendarFeed.objects.select_related("user")
        .filter(token=token, user__is_active=True)
        .first()
    )


def member_slots(user, start: dt.datetime, end: dt.datetime) -> QuerySet[Occurrence]:
    """The held slots of the user's own bookings overlapping [start, end)."""
    return (
        Occurrence.objects.filter(
            booking__booker=user, status__in=Occurrence.HOLDING, start__lt=end, end__gt=start
        )
        .select_related("booking__created_by", "resource__place")
        .order_by("start", "id")
    )
