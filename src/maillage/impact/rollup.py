"""Computing the daily rollups of a place from the rows of the other apps.

One function reads a run of consecutive local days of one place with a few grouped queries and
returns every figure of those days; `rollup_days` writes them in place of the old ones. What each
metric counts (docs/impact.md):

- booked_minutes[kind]: minutes of confirmed booked slots, cut at the place's local midnights;
- bookable_minutes[kind]: minutes the active resources may be booked that day (their own hours or
  the place's, seasons included, measured in real time so DST days have 23 or 25 hours); a
  resource without any hours is bookable the whole day;
- checkins, pass_checkins[home place id] (days paid by a pass of another place), and the day's
  pseudonymous visitors (DailyVisitor);
- members_role[role], members_plan[plan id]: snapshots at the end of the day (roles given up to
  that day, memberships valid that day);
- new_members: people whose first membership at the place starts that day;
- events_held (published, not cancelled, ended that day), participants (confirmed registrations),
  participants_checked_in, capacity and participants_capped (for the fill rate, events with a
  capacity only), waitlisted (registrations still waiting when the event ended);
- booking_waitlist: entries on the waiting list of the place's resources joined that day;
- exchanges (thanks closing a skills exchange), skill_posts[kind], opportunities[kind],
  items_posted[mode], items_given, items_on_loan (hidden posts are not counted);
- rolled: 1 on every day rolled up, so that a snapshot's "last day" is known even when it is 0.

The events a network holds itself (no place) give the same events figures, kept per network and
day of the instance's time zone (NetworkDailyFigure, `rollup_network_days`).

Zero values are not stored. `items_on_loan` has no history in the source rows: it is taken on the
place's current day only and kept as it was on the days recomputed later.
"""

import datetime as dt
import functools
import zoneinfo
from collections import Counter, defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Min, Q
from django.utils import timezone
from django.utils.crypto import salted_hmac

from maillage.accounts.models import PlaceRole
from maillage.agenda.models import Event, Registration
from maillage.bookings.models import Occurrence, Resource, WaitlistEntry
from maillage.bookings.services import bookable_rules
from maillage.community.models import Item, Opportunity, SkillPost, Thanks
from maillage.members.models import CheckIn, Membership
from maillage.places.hours import intervals_on
from maillage.places.models import Network, Place

from .models import DailyFigure, DailyVisitor, NetworkDailyFigure

# Taken on the place's current day only (no history in the rows): kept when older days are
# recomputed.
CURRENT_ONLY = ("items_on_loan",)
ROLLED = "rolled"


def visitor_pseudonym(user_id: int) -> int:
    """A stable number for an account that cannot be traced back to it without the secret key
    (60 bits of an HMAC: collisions are negligible at the scale of a network)."""
    return int(salted_hmac("maillage.impact.visitor", str(user_id)).hexdigest()[:15], 16)


def local_midnight(day: dt.date, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.UTC)


def local_date(instant: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.date:
    return instant.astimezone(dt.UTC).astimezone(zone).date()


@functools.lru_cache(maxsize=4096)
def _offset_segments(day: dt.date, zone) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
    """The local day as UTC segments of constant offset (two on a DST day, else one)."""
    start, end = local_midnight(day, zone), local_midnight(day + dt.timedelta(days=1), zone)
    second = dt.timedelta(seconds=1)
    if start.astimezone(zone).utcoffset() == (end - second).astimezone(zone).utcoffset():
        return ((start, end),)
    low, high = start, end - second  # the offset differs at low and at high: find the change
    while high - low > second:
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle.astimezone(zone).utcoffset() == start.astimezone(zone).utcoffset():
            low = middle
        else:
            high = middle
    return ((start, high), (high, end))


def real_minutes(day: dt.date, opens: dt.time, closes: dt.time, zone) -> int:
    """Minutes during which the local clock of `day` shows a time from `opens` to `closes`, as
    clocks really run: over a DST change the interval is shorter (skipped times never happen)
    or longer (repeated times happen twice)."""
    wall_open, wall_close = dt.datetime.combine(day, opens), dt.datetime.combine(day, closes)
    seconds = 0.0
    for start, end in _offset_segments(day, zone):
        offset = start.astimezone(zone).utcoffset()
        wall_start = (start + offset).replace(tzinfo=None)
        wall_end = (end + offset).replace(tzinfo=None)
        overlap = min(wall_end, wall_close) - max(wall_start, wall_open)
        seconds += max(overlap.total_seconds(), 0)
    return int(seconds // 60)


@functools.lru_cache(maxsize=4096)
def day_minutes(day: dt.date, zone) -> int:
    next_day = day + dt.timedelta(days=1)
    return int((local_midnight(next_day, zone) - local_midnight(day, zone)).total_seconds() // 60)


def bookable_minutes(day: dt.date, zone, rules, seasons) -> int:
    if not rules:
        return day_minutes(day, zone)
    intervals = intervals_on(day, rules, seasons)
    return sum(real_minutes(day, opens, closes, zone) for opens, closes in intervals)


def split_by_day(start: dt.datetime, end: dt.datetime, zone) -> Iterable[tuple[dt.date, int]]:
    """The minutes of [start, end) falling in each local day."""
    day = local_date(start, zone)
    while True:
        day_end = local_midnight(day + dt.timedelta(days=1), zone)
        piece_end = min(end, day_end)
        minutes = int((piece_end - max(start, local_midnight(day, zone))).total_seconds() // 60)
        if minutes > 0:
            yield day, minutes
        if end <= day_end:
            return
        day += dt.timedelta(days=1)


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def count_events(events, zone, start: dt.datetime, end: dt.datetime, now, figures: Counter) -> None:
    """Add to `figures` the events of `events` held (ended) from `start` to `end`, their
    participants and waiting lists, on the local day (in `zone`) each event ended."""
    held = {
        pk: (local_date(event_end, zone), capacity)
        for pk, event_end, capacity in events.filter(
            status=Event.Status.PUBLISHED,
            end__gte=start,
            end__lt=end,
            end__lte=now,
        ).values_list("pk", "end", "capacity")
    }
    for day, capacity in held.values():
        figures[(day, "events_held", "")] += 1
        if capacity is not None:
            figures[(day, "capacity", "")] += capacity
    registrations = (
        Registration.objects.filter(event_id__in=list(held))
        .exclude(status=Registration.Status.CANCELLED)
        .values("event_id", "status")
        .annotate(count=Count("pk"), checked_in=Count("pk", filter=Q(checked_in_at__isnull=False)))
    )
    for row in registrations:
        day, capacity = held[row["event_id"]]
        if row["status"] == Registration.Status.CONFIRMED:
            figures[(day, "participants", "")] += row["count"]
            figures[(day, "participants_checked_in", "")] += row["checked_in"]
            if capacity is not None:
                figures[(day, "participants_capped", "")] += row["count"]
        else:
            figures[(day, "waitlisted", "")] += row["count"]


def compute(
    place: Place, first: dt.date, last: dt.date, now: dt.datetime
) -> tuple[dict[tuple[dt.date, str, str], int], set[tuple[dt.date, int]]]:
    """Every figure of `place` from local day `first` to `last` (both included)."""
    zone = zoneinfo.ZoneInfo(place.time_zone)
    start, end = local_midnight(first, zone), local_midnight(last + dt.timedelta(days=1), zone)
    days = _days(first, last)
    figures: Counter = Counter()

    def within(day: dt.date) -> bool:
        return first <= day <= last

    # Occupancy: booked against bookable minutes, per kind of resource.
    confirmed = Occurrence.objects.filter(
        resource__place=place,
        status=Occurrence.Status.CONFIRMED,
        start__lt=end,
        end__gt=start,
    ).values_list("start", "end", "resource__kind")
    for slot_start, slot_end, kind in confirmed.iterator(chunk_size=2000):
        for day, minutes in split_by_day(max(slot_start, start), min(slot_end, end), zone):
            figures[(day, "booked_minutes", kind)] += minutes
    resources = Resource.objects.filter(place=place, is_active=True, created_at__lt=end)
    by_rules: dict[tuple, dict[dt.date, int]] = {}  # resources mostly share their place's hours
    for resource in resources.select_related("place"):
        rules, seasons = bookable_rules(resource)
        minutes = by_rules.get((rules, seasons))
        if minutes is None:
            minutes = {day: bookable_minutes(day, zone, rules, seasons) for day in days}
            by_rules[(rules, seasons)] = minutes
        created = local_date(resource.created_at, zone)
        for day in days:
            if day >= created:
                figures[(day, "bookable_minutes", resource.kind)] += minutes[day]

    # Presence.
    visitors: set[tuple[dt.date, int]] = set()
    checkins = CheckIn.objects.filter(place=place, day__range=(first, last)).values_list(
        "day", "user_id", "home_place_id"
    )
    for day, user_id, home_place_id in checkins.iterator(chunk_size=2000):
        figures[(day, "checkins", "")] += 1
        visitors.add((day, visitor_pseudonym(user_id)))
        if home_place_id is not None and home_place_id != place.pk:
            figures[(day, "pass_checkins", str(home_place_id))] += 1

    # Members: roles and plans at the end of each day, newcomers.
    for role, created_at in PlaceRole.objects.filter(place=place, created_at__lt=end).values_list(
        "role", "created_at"
    ):
        since = max(local_date(created_at, zone), first)
        for day in _days(since, last):
            figures[(day, "members_role", role)] += 1
    valid = Membership.objects.filter(place=place, starts_on__lte=last).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=first)
    )
    for plan_id, starts_on, ends_on in valid.values_list("plan_id", "starts_on", "ends_on"):
        for day in _days(max(starts_on, first), min(ends_on or last, last)):
            figures[(day, "members_plan", str(plan_id))] += 1
    newcomers = (
        Membership.objects.filter(place=place)
        .values("user_id")
        .annotate(first_day=Min("starts_on"))
        .filter(first_day__range=(first, last))
        .values_list("first_day", flat=True)
    )
    for day in newcomers:
        figures[(day, "new_members", "")] += 1

    # Events held, their participants and waiting lists.
    count_events(Event.objects.filter(place=place), zone, start, end, now, figures)
    for joined in WaitlistEntry.objects.filter(
        resource__place=place, created_at__gte=start, created_at__lt=end
    ).values_list("created_at", flat=True):
        figures[(local_date(joined, zone), "booking_waitlist", "")] += 1

    # Community.
    for closed in Thanks.objects.filter(
        place=place, created_at__gte=start, created_at__lt=end
    ).values_list("created_at", flat=True):
        figures[(local_date(closed, zone), "exchanges", "")] += 1
    for model, metric, field in (
        (SkillPost, "skill_posts", "kind"),
        (Opportunity, "opportunities", "kind"),
        (Item, "items_posted", "mode"),
    ):
        posts = model.objects.filter(
            place=place, hidden_at__isnull=True, created_at__gte=start, created_at__lt=end
        ).values_list("created_at", field)
        for created_at, key in posts:
            figures[(local_date(created_at, zone), metric, key)] += 1
    for gone_at in Item.objects.filter(
        place=place,
        hidden_at__isnull=True,
        mode=Item.Mode.GIVE,
        status=Item.Status.GONE,
        gone_at__gte=start,
        gone_at__lt=end,
    ).values_list("gone_at", flat=True):
        figures[(local_date(gone_at, zone), "items_given", "")] += 1
    today = local_date(now, zone)
    if within(today):
        figures[(today, "items_on_loan", "")] = Item.objects.filter(
            place=place, hidden_at__isnull=True, status=Item.Status.LENT
        ).count()

    for day in days:
        figures[(day, ROLLED, "")] = 1
    kept = {key: value for key, value in figures.items() if value and within(key[0])}
    return kept, {(day, visitor) for day, visitor in visitors if within(day)}


def runs(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Sorted days grouped into runs of consecutive days: [(first, last), ...]."""
    result: list[list[dt.date]] = []
    for day in sorted(set(days)):
        if result and day == result[-1][1] + dt.timedelta(days=1):
            result[-1][1] = day
        else:
            result.append([day, day])
    return [(first, last) for first, last in result]


def rollup_days(place: Place, days: Iterable[dt.date], now: dt.datetime | None = None) -> int:
    """Recompute the figures of `place` on `days` (those after the place's current day are
    skipped: there is nothing to count yet). Returns the number of days written."""
    now = now or timezone.now()
    zone = zoneinfo.ZoneInfo(place.time_zone)
    today = local_date(now, zone)
    written = 0
    for first, last in runs(day for day in days if day <= today):
        figures, visitors = compute(place, first, last, now)
        with transaction.atomic():
            old = DailyFigure.objects.filter(place=place, day__range=(first, last))
            old.exclude(Q(metric__in=CURRENT_ONLY) & ~Q(day=today)).delete()
            DailyFigure.objects.bulk_create(
                [
                    DailyFigure(place=place, day=day, metric=metric, key=key, value=value)
                    for (day, metric, key), value in figures.items()
                    if metric not in CURRENT_ONLY or day == today
                ],
                batch_size=2000,
            )
            DailyVisitor.objects.filter(place=place, day__range=(first, last)).delete()
            DailyVisitor.objects.bulk_create(
                [DailyVisitor(place=place, day=day, visitor=visitor) for day, visitor in visitors],
                batch_size=2000,
            )
        written += (last - first).days + 1
    return written


def network_zone() -> zoneinfo.ZoneInfo:
    """A network has no time zone of its own: its days are those of the instance."""
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def compute_network(
    network: Network, first: dt.date, last: dt.date, now: dt.datetime
) -> dict[tuple[dt.date, str, str], int]:
    """The figures of the events `network` holds itself (no place) from `first` to `last`."""
    zone = network_zone()
    start, end = local_midnight(first, zone), local_midnight(last + dt.timedelta(days=1), zone)
    figures: Counter = Counter()
    own = Event.objects.filter(network=network, place__isnull=True)
    count_events(own, zone, start, end, now, figures)
    return {key: value for key, value in figures.items() if value and first <= key[0] <= last}


def rollup_network_days(
    network: Network, days: Iterable[dt.date], now: dt.datetime | None = None
) -> int:
    """Recompute the figures of the network's own events on `days` (up to today)."""
    now = now or timezone.now()
    today = local_date(now, network_zone())
    written = 0
    for first, last in runs(day for day in days if day <= today):
        figures = compute_network(network, first, last, now)
        with transaction.atomic():
            NetworkDailyFigure.objects.filter(network=network, day__range=(first, last)).delete()
            NetworkDailyFigure.objects.bulk_create(
                [
                    NetworkDailyFigure(
                        network=network, day=day, metric=metric, key=key, value=value
                    )
                    for (day, metric, key), value in figures.items()
                ]
            )
        written += (last - first).days + 1
    return written


def by_place(marks: Iterable[tuple[int, dt.date]]) -> dict[int, set[dt.date]]:
    grouped: dict[int, set[dt.date]] = defaultdict(set)
    for place_id, day in marks:
        grouped[place_id].add(day)
    return grouped
