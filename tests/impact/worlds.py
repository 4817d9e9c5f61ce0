"""Small worlds for the statistics tests, written straight into the tables (the services refuse
dates in the past), and the brute-force counts the rollups must match.

Times are minutes from WINDOW_START (local midnight of the window's first day, Europe/Paris);
rows may start the day before the window and end after it.
"""

import datetime as dt
import zoneinfo
from collections import Counter, defaultdict

from hypothesis import strategies as st

from maillage.accounts.models import PlaceRole
from maillage.agenda.models import Event, Registration
from maillage.bookings.models import Booking, Occurrence, Resource, WaitlistEntry
from maillage.community.models import Item, Opportunity, SkillPost, Thanks
from maillage.members.models import CheckIn, Membership, Plan
from maillage.places.hours import HoursRule, intervals_on, rules_from_json, rules_to_json
from tests.factories import PlaceFactory, UserFactory

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
DAYS = 5
# The days around the two DST changes of 2025 (30 March, 26 October) and a plain week.
FIRST_DAYS = [dt.date(2025, 3, 28), dt.date(2025, 10, 24), dt.date(2025, 6, 9)]
NOW = dt.datetime(2025, 11, 20, 12, 0, tzinfo=dt.UTC)
KINDS = ["meeting_room", "desk", "machine"]
# Half hours, so that the brute force may step half an hour at a time.
TIMES = [dt.time(h, m) for h in (0, 1, 2, 3, 8, 9, 12, 18, 23) for m in (0, 30)]
STEP = dt.timedelta(minutes=30)
REGISTRATIONS = ["confirmed", "waitlisted", "cancelled", "in"]
MINUTES = st.integers(min_value=-24 * 60, max_value=(DAYS + 1) * 24 * 60)


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=PARIS).astimezone(dt.UTC)


def at(first_day: dt.date, minutes: int) -> dt.datetime:
    return local_midnight(first_day) + dt.timedelta(minutes=minutes)


@st.composite
def hours(draw):
    rules = []
    for weekday in draw(st.lists(st.integers(0, 6), max_size=4, unique=True)):
        opens, closes = sorted(draw(st.lists(st.sampled_from(TIMES), min_size=2, max_size=2)))
        if opens < closes:
            rules.append(HoursRule(None, weekday, opens, closes))
    return rules


EVENTS = st.lists(
    st.tuples(
        MINUTES,
        st.sampled_from(["published", "published", "cancelled", "draft"]),
        st.one_of(st.none(), st.integers(1, 4)),
        st.lists(st.sampled_from(REGISTRATIONS), max_size=4),
    ),
    max_size=3,
)

worlds = st.fixed_dictionaries(
    {
        "first_day": st.sampled_from(FIRST_DAYS),
        "place_hours": hours(),
        "resources": st.lists(
            st.tuples(st.sampled_from(KINDS), st.booleans(), hours(), st.integers(-3, 3)),
            min_size=1,
            max_size=3,
        ),
        "slots": st.lists(
            st.tuples(
                st.integers(0, 2),
                MINUTES,
                st.integers(15, 30 * 60),
                st.sampled_from(["confirmed", "confirmed", "pending", "cancelled"]),
            ),
            max_size=8,
        ),
        "checkins": st.lists(
            st.tuples(st.integers(0, 3), st.integers(-1, DAYS), st.booleans()), max_size=10
        ),
        "memberships": st.lists(
            st.tuples(
                st.integers(0, 3),
                st.integers(0, 1),
                st.integers(-3, DAYS),
                st.one_of(st.none(), st.integers(0, 4)),
            ),
            max_size=5,
        ),
        "roles": st.lists(
            st.tuples(st.sampled_from(list(PlaceRole.Role)), st.integers(-2, DAYS)),
            max_size=4,
        ),
        "events": EVENTS,
        "posts": st.lists(
            st.tuples(
                st.sampled_from(["thanks", "skill", "opportunity", "item", "gone", "waitlist"]),
                MINUTES,
                st.booleans(),
            ),
            max_size=8,
        ),
    }
)


def add_events(events, first_day: dt.date, **owner) -> None:
    """Write drawn events (end, status, capacity, registrations) of `owner` (place= or network=)."""
    for end, status, capacity, registrations in events:
        finish = at(first_day, end)
        event = Event.objects.create(
            **owner,
            title="Atelier",
            category="workshop",
            start=finish - dt.timedelta(hours=2),
            end=finish,
            status=status,
            capacity=None if capacity is None else max(capacity, len(registrations)),
        )
        for number, state in enumerate(registrations):
            Registration.objects.create(
                event=event,
                name="Someone",
                email=f"r{number}@example.org",
                status="confirmed" if state == "in" else state,
                queue_number=number + 1 if state == "waitlisted" else None,
                checked_in_at=finish if state == "in" else None,
            )


def build(world) -> dict:
    """Write the world; returns its place, other place and users."""
    first_day = world["first_day"]
    place = PlaceFactory(time_zone="Europe/Paris", hours_rules=rules_to_json(world["place_hours"]))
    other = PlaceFactory()
    users = [UserFactory() for _n in range(4)]
    resources = []
    for number, (kind, active, own, created) in enumerate(world["resources"]):
        resource = Resource.objects.create(
            place=place,
            name=f"R{number}",
            kind=kind,
            is_active=active,
            hours_rules=rules_to_json(own),
        )
        created_at = at(first_day, created * 24 * 60 + 600)
        Resource.objects.filter(pk=resource.pk).update(created_at=created_at)
        resources.append(resource)
    held: dict[int, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    for index, start, length, status in world["slots"]:
        resource = resources[index % len(resources)]
        begin = at(first_day, start)
        finish = begin + dt.timedelta(minutes=length)
        if status != "cancelled":
            # Held slots of a resource never overlap (PostgreSQL's exclusion constraint).
            if any(a < finish and begin < b for a, b in held[resource.pk]):
                continue
            held[resource.pk].append((begin, finish))
        booking = Booking.objects.create(resource=resource, booker=users[0])
        Occurrence.objects.create(
            booking=booking,
            resource=resource,
            start=begin,
            end=begin + dt.timedelta(minutes=length),
            held_until=begin + dt.timedelta(minutes=length),
            status=status,
        )
    for user, day, from_pass in world["checkins"]:
        local = first_day + dt.timedelta(days=day)
        CheckIn.objects.get_or_create(
            user=users[user],
            place=place,
            day=local,
            defaults={
                "checked_in_at": at(local, 9 * 60),
                "consumed": "ticket",
                "home_place": other if from_pass else None,
            },
        )
    plans = [
        Plan.objects.create(place=place, name=f"Plan {n}", kind="subscription") for n in range(2)
    ]
    for user, plan, starts, length in world["memberships"]:
        starts_on = first_day + dt.timedelta(days=starts)
        Membership.objects.create(
            user=users[user],
            plan=plans[plan],
            place=place,
            starts_on=starts_on,
            ends_on=None if length is None else starts_on + dt.timedelta(days=length),
        )
    for number, (role, created) in enumerate(world["roles"]):
        row = PlaceRole.objects.create(user=users[number], place=place, role=role)
        PlaceRole.objects.filter(pk=row.pk).update(created_at=at(first_day, created * 24 * 60 + 60))
    add_events(world["events"], first_day, place=place)
    for kind, when, hidden in world["posts"]:
        moment = at(first_day, when)
        hidden_at = moment if hidden else None
        if kind in ("thanks", "skill"):
            post = SkillPost.objects.create(
                author=users[0], place=place, title="Soudure", kind="offer", hidden_at=hidden_at
            )
            SkillPost.objects.filter(pk=post.pk).update(created_at=moment)
            if kind == "thanks":
                thanks = Thanks.objects.create(
                    post=post, giver=users[0], receiver=users[1], place=place
                )
                Thanks.objects.filter(pk=thanks.pk).update(created_at=moment)
        elif kind == "opportunity":
            post = Opportunity.objects.create(
                author=users[0], place=place, title="Projet", kind="project", hidden_at=hidden_at
            )
            Opportunity.objects.filter(pk=post.pk).update(created_at=moment)
        elif kind in ("item", "gone"):
            item = Item.objects.create(
                author=users[0],
                place=place,
                title="Perceuse",
                mode="give" if kind == "gone" or hidden else "lend",
                status="gone" if kind == "gone" else "available",
                gone_at=moment + dt.timedelta(hours=30) if kind == "gone" else None,
                hidden_at=hidden_at if kind == "item" else None,
            )
            Item.objects.filter(pk=item.pk).update(created_at=moment)
        elif not WaitlistEntry.objects.filter(resource=resources[0], start=moment).exists():
            entry = WaitlistEntry.objects.create(
                resource=resources[0],
                user=users[1],
                start=moment,
                end=moment + dt.timedelta(hours=1),
            )
            WaitlistEntry.objects.filter(pk=entry.pk).update(created_at=moment)
    return {"place": place, "other": other, "users": users, "plans": plans}


# Brute force ----------------------------------------------------------------------------------


def _bookable_by_stepping(resource, day: dt.date) -> int:
    """Minutes of the local day whose wall-clock time lies in a bookable interval, stepping
    through the day in UTC (no arithmetic on wall-clock times; every bound is a half hour)."""
    place_hours, seasons = rules_from_json(resource.place.hours_rules)
    own, _none = rules_from_json(resource.hours_rules)
    rules = own or place_hours
    minute, end, total = local_midnight(day), local_midnight(day + dt.timedelta(days=1)), 0
    intervals = intervals_on(day, rules, seasons) if rules else None
    while minute < end:
        local = minute.astimezone(PARIS)
        if intervals is None or any(o <= local.time() < c for o, c in intervals):
            total += 30
        minute += STEP
    return total


def brute_force_events(events, first: dt.date, last: dt.date, now: dt.datetime) -> Counter:
    """The events figures of `events` over [first, last] (Paris days) counted one by one."""
    start, end = local_midnight(first), local_midnight(last + dt.timedelta(days=1))
    result: Counter = Counter()
    for event in events.filter(status="published"):
        if not (start <= event.end < end and event.end <= now):
            continue
        result[("events_held", "")] += 1
        confirmed = event.registrations.filter(status="confirmed")
        result[("participants", "")] += confirmed.count()
        result[("participants_checked_in", "")] += confirmed.exclude(checked_in_at=None).count()
        result[("waitlisted", "")] += event.registrations.filter(status="waitlisted").count()
        if event.capacity is not None:
            result[("capacity", "")] += event.capacity
            result[("participants_capped", "")] += confirmed.count()
    return result


def brute_force(place, first: dt.date, last: dt.date, now: dt.datetime) -> dict:
    """The figures of `place` over [first, last] counted from the raw rows."""
    start, end = local_midnight(first), local_midnight(last + dt.timedelta(days=1))
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    result: dict = Counter()
    for slot in Occurrence.objects.filter(resource__place=place, status="confirmed"):
        overlap = (min(slot.end, end) - max(slot.start, start)).total_seconds() // 60
        if overlap > 0:
            result[("booked_minutes", slot.resource.kind)] += int(overlap)
    for resource in Resource.objects.filter(place=place, is_active=True).select_related("place"):
        created = resource.created_at.astimezone(PARIS).date()
        for day in days:
            if day >= created:
                result[("bookable_minutes", resource.kind)] += _bookable_by_stepping(resource, day)
    checkins = CheckIn.objects.filter(place=place, day__gte=first, day__lte=last)
    result[("checkins", "")] = checkins.count()
    result[("unique_visitors", "")] = len({c.user_id for c in checkins})
    for checkin in checkins:
        if checkin.home_place_id and checkin.home_place_id != place.pk:
            result[("pass_checkins", str(checkin.home_place_id))] += 1
    for role in PlaceRole.objects.filter(place=place):
        if role.created_at.astimezone(PARIS).date() <= last:
            result[("members_role", role.role)] += 1
    for membership in Membership.objects.filter(place=place):
        ends_on = membership.ends_on
        if membership.starts_on <= last and (ends_on is None or ends_on >= last):
            result[("members_plan", str(membership.plan_id))] += 1
    firsts = defaultdict(list)
    for membership in Membership.objects.filter(place=place):
        firsts[membership.user_id].append(membership.starts_on)
    result[("new_members", "")] = sum(1 for d in firsts.values() if first <= min(d) <= last)
    result.update(brute_force_events(Event.objects.filter(place=place), first, last, now))
    in_window = {"created_at__gte": start, "created_at__lt": end}
    result[("booking_waitlist", "")] = WaitlistEntry.objects.filter(
        resource__place=place, **in_window
    ).count()
    result[("exchanges", "")] = Thanks.objects.filter(place=place, **in_window).count()
    shown = {"place": place, "hidden_at": None, **in_window}
    for post in SkillPost.objects.filter(**shown):
        result[("skill_posts", post.kind)] += 1
    for post in Opportunity.objects.filter(**shown):
        result[("opportunities", post.kind)] += 1
    for item in Item.objects.filter(**shown):
        result[("items_posted", item.mode)] += 1
    result[("items_given", "")] = Item.objects.filter(
        place=place, hidden_at=None, mode="give", status="gone", gone_at__gte=start, gone_at__lt=end
    ).count()
    return {key: value for key, value in result.items() if value}
