"""The availability search against a brute-force reference, on random small worlds.

Each example builds a few places (random weekly hours, maybe a season, maybe another time zone),
a few resources (kinds, capacities, buffers, durations, horizons, audiences, own hours, services,
character, trainings) and held or released slots written directly (any layout), then searches a
random window, also over the clock changes of the coming spring and autumn. The reference checks
every rule of a booking by looping over every resource, written plainly and apart from the
selector's SQL."""

import datetime as dt
import zoneinfo

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maillage.accounts.models import PlaceRole
from maillage.bookings.models import (
    Booking,
    Occurrence,
    Resource,
    ResourceHours,
    ResourceTerm,
    TrainingValidation,
)
from maillage.bookings.selectors import AvailabilityQuery, available_resources, holds_training
from maillage.places.hours import HoursRule, SeasonRule, intervals_on
from maillage.places.models import OpeningHours, Season
from maillage.places.selectors import Point, haversine_km
from tests.bookings.test_availability import MENDE, PARIS, clock_change
from tests.factories import NetworkFactory, PlaceFactory, UserFactory

HELD = ("pending", "confirmed")
INTERVALS = (
    (),
    ((9, 12),),
    ((9, 12), (14, 18)),
    ((8, 20),),
    ((0, 24),),
    ((1, 4), (22, 24)),
)
DURATIONS = (15, 30, 60, 120, 180, 360, 600, 1500)
CLOCK_HOURS = [105, 120, 135, 150, 165, 180]  # minutes after midnight, around 02:00-03:00


def _time(hour: int) -> dt.time:
    return dt.time(23, 59) if hour == 24 else dt.time(hour)


def mostly(usual, *rare):
    """Usually `usual`: a world where every rule may fail, but each one rarely, still finds
    something in most examples."""
    return st.sampled_from([usual] * 8 + list(rare))


places = st.fixed_dictionaries(
    {
        "km": st.tuples(st.sampled_from([0, 4, 12, 27, 33, 60]), st.sampled_from([0, 8, -20])),
        "zone": mostly("Europe/Paris", "Europe/London"),
        "hours": mostly((), *INTERVALS[1:]),
        "closed_days": st.sets(st.integers(0, 6), max_size=2),
        "season": mostly(None)
        | st.fixed_dictionaries(
            {
                "first": st.integers(-2, 1),  # days from the window's
                "days": st.integers(0, 2),
                "closed": st.booleans(),
                "hours": st.sampled_from(INTERVALS),
            }
        ),
        "in_network": st.booleans(),
        "published": mostly(True, False),
    }
)
# Slots just before or after the searched window (where buffers matter), inside it, or anywhere.
slots = st.fixed_dictionaries(
    {
        "side": st.sampled_from(["before", "after", "inside", "anywhere"]),
        "offset": st.sampled_from([-30, -15, 0, 15, 30, 45, 60]),
        "anywhere": st.integers(-24, 24).map(lambda quarters: quarters * 15),
        "length": st.sampled_from([15, 60, 150, 300]),
        "buffer": st.sampled_from([0, 15, 45]),
        "status": st.sampled_from(["confirmed", "pending", "cancelled", "refused"]),
    }
)
resources = st.fixed_dictionaries(
    {
        "place": st.integers(0, 2),
        "kind": st.sampled_from(["meeting_room", "meeting_room", "desk", "machine"]),
        "capacity": st.integers(1, 12),
        "buffer": st.sampled_from([0, 15, 30, 60]),
        "durations": mostly((15, 1500), (30, 120), (60, 600)),
        "horizon": mostly(800, 3, 30),
        "members_only": mostly(False, True),
        "active": mostly(True, False),
        "training": st.booleans(),
        "own_hours": mostly(None, *INTERVALS),
        "services": st.sets(st.sampled_from(["wifi", "visio_room", "fibre"])),
        "character": st.sets(st.sampled_from(["view", "quiet", "cosy"])),
        "slots": st.lists(slots, max_size=3),
    }
)
worlds = st.fixed_dictionaries(
    {
        "places": st.lists(places, min_size=3, max_size=3),
        "resources": st.lists(resources, min_size=3, max_size=7),
        "training_expires": st.sampled_from([None, None, -1, 0]),  # days from the window's
    }
)
queries = st.fixed_dictionaries(
    {
        # The coming week, or the night the clocks go forward (02:00-03:00 does not exist in
        # Paris) or back (it happens twice).
        "when": st.sampled_from(["week", "week", "week", "spring", "autumn"]),
        "day": st.integers(1, 7),
        "minute": st.sampled_from([540, 600, 840, 1380, *CLOCK_HOURS])
        | st.integers(0, 95).map(lambda quarter: quarter * 15),
        "clock_minute": st.sampled_from(CLOCK_HOURS),
        "duration": st.sampled_from([60, 120, 180]) | st.sampled_from(DURATIONS),
        "wall_clock_end": st.booleans(),
        "in_utc": mostly(False, True),
        "kind": mostly("", "meeting_room", "machine"),
        "min_capacity": mostly(1, 4, 10),
        "services": mostly(frozenset(), frozenset({"wifi"}), frozenset({"wifi", "visio_room"})),
        "near": st.booleans(),
        "radius_km": st.sampled_from([None, 10.0, 40.0, 100.0]),
        "network": mostly(False, True),
        "order": st.sampled_from(["distance", "charm"]),
        "who": st.sampled_from(["anonymous", "member", "trained", "stranger"]),
        "limit": st.integers(1, 6),
    }
)


def _window(spec: dict) -> tuple[dt.datetime, dt.datetime]:
    if spec["when"] == "week":
        day = timezone.now().astimezone(PARIS).date() + dt.timedelta(days=spec["day"])
        minute = spec["minute"]
    else:
        day = clock_change(3 if spec["when"] == "spring" else 10)
        minute = spec["clock_minute"]
    start = dt.datetime.combine(day, dt.time(minute // 60, minute % 60), PARIS)
    duration = dt.timedelta(minutes=spec["duration"])
    # Wall-clock arithmetic keeps the local end time across a clock change; UTC does not.
    end = start + duration if spec["wall_clock_end"] else start.astimezone(dt.UTC) + duration
    if spec["in_utc"]:
        return start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    return start, end


def _build(world: dict, start: dt.datetime, end: dt.datetime) -> dict:
    network = NetworkFactory(slug="reseau")
    day = start.astimezone(PARIS).date()
    built_places = []
    for spec in world["places"]:
        east, north = spec["km"]
        place = PlaceFactory(
            latitude=MENDE.lat + north / 111.2,
            longitude=MENDE.lon + east / 79.3,
            time_zone=spec["zone"],
            is_published=spec["published"],
        )
        if spec["in_network"]:
            place.networks.add(network)
        for weekday in set(range(7)) - spec["closed_days"]:
            for opens, closes in spec["hours"]:
                OpeningHours.objects.create(
                    place=place, weekday=weekday, opens=_time(opens), closes=_time(closes)
                )
        season = spec["season"]
        if season:
            first = day + dt.timedelta(days=season["first"])
            row = Season.objects.create(
                place=place,
                name="Season",
                start_date=first,
                end_date=first + dt.timedelta(days=season["days"]),
                closed=season["closed"],
            )
            for weekday in range(7):
                for opens, closes in () if season["closed"] else season["hours"]:
                    OpeningHours.objects.create(
                        place=place,
                        season=row,
                        weekday=weekday,
                        opens=_time(opens),
                        closes=_time(closes),
                    )
        built_places.append(place)
    for spec in world["resources"]:
        shortest, longest = spec["durations"]
        resource = Resource.objects.create(
            place=built_places[spec["place"]],
            name=f"R{len(spec['slots'])}-{spec['capacity']}",
            kind=spec["kind"],
            capacity=spec["capacity"],
            buffer_minutes=spec["buffer"],
            min_minutes=shortest,
            max_minutes=longest,
            horizon_days=spec["horizon"],
            audience="members" if spec["members_only"] else "public",
            is_active=spec["active"],
            training="laser_cutter" if spec["training"] and spec["kind"] == "machine" else "",
        )
        for weekday in range(7):
            for opens, closes in spec["own_hours"] or ():
                ResourceHours.objects.create(
                    resource=resource, weekday=weekday, opens=_time(opens), closes=_time(closes)
                )
        ResourceTerm.objects.bulk_create(
            [ResourceTerm(resource=resource, kind="service", code=c) for c in spec["services"]]
            + [ResourceTerm(resource=resource, kind="character", code=c) for c in spec["character"]]
        )
        _hold(resource, spec["slots"], start, end)
    member, trained = UserFactory(), UserFactory()
    PlaceRole.objects.create(user=member, place=built_places[0], role="resident")
    expires = world["training_expires"]
    TrainingValidation.objects.create(
        user=trained,
        place=built_places[1],
        machine_type="laser_cutter",
        expires_on=None if expires is None else day + dt.timedelta(days=expires),
    )
    return {"member": member, "trained": trained, "stranger": UserFactory(), "anonymous": None}


def _hold(resource: Resource, specs: list[dict], start: dt.datetime, end: dt.datetime) -> None:
    """Write the slots; one overlapping an earlier held one is released instead (PostgreSQL's
    exclusion constraint would refuse it, as the booking service would)."""
    booking = Booking.objects.create(resource=resource, booker=UserFactory())
    held: list[tuple[dt.datetime, dt.datetime]] = []
    for spec in specs:
        length, offset = dt.timedelta(minutes=spec["length"]), dt.timedelta(minutes=spec["offset"])
        since = {
            "before": start + offset - length,
            "after": end + offset,
            "inside": start + abs(offset),
            "anywhere": start + dt.timedelta(minutes=spec["anywhere"]),
        }[spec["side"]].astimezone(dt.UTC)
        until = since + length + dt.timedelta(minutes=spec["buffer"])
        status = spec["status"]
        if status in HELD and any(since < b and a < until for a, b in held):
            status = "cancelled"
        if status in HELD:
            held.append((since, until))
        Occurrence.objects.create(
            booking=booking,
            resource=resource,
            start=since,
            end=since + length,
            held_until=until,
            status=status,
        )


def _exists_in(moment: dt.datetime, zone: zoneinfo.ZoneInfo) -> bool:
    local = moment.astimezone(zone)
    again = local.replace(tzinfo=None).replace(tzinfo=zone).astimezone(dt.UTC).astimezone(zone)
    return again.replace(tzinfo=None) == local.replace(tzinfo=None)


def _fits_hours(resource: Resource, start: dt.datetime, end: dt.datetime) -> bool:
    place = resource.place
    zone = zoneinfo.ZoneInfo(place.time_zone)
    seasons = [
        SeasonRule(s.pk, s.start_date, s.end_date, s.yearly, s.closed) for s in place.seasons.all()
    ]
    own = list(resource.hours.all())
    if own:
        rules = [HoursRule(None, h.weekday, h.opens, h.closes) for h in own]
        seasons = [season for season in seasons if season.closed]
    else:
        rules = [HoursRule(h.season_id, h.weekday, h.opens, h.closes) for h in place.hours.all()]
    if not rules:
        return True
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    if local_start.date() != local_end.date():
        return False
    return any(
        opens <= local_start.time() and local_end.time() <= closes
        for opens, closes in intervals_on(local_start.date(), rules, seasons)
    )


def reference(query: AvailabilityQuery, user) -> set[int]:
    """Every resource that passes every rule, checked one by one."""
    now = timezone.now()
    found = set()
    for resource in Resource.objects.select_related("place"):
        place = resource.place
        zone = zoneinfo.ZoneInfo(place.time_zone)
        services = {t.code for t in resource.terms.all() if t.kind == "service"}
        minutes = (query.end - query.start).total_seconds() / 60
        buffer = dt.timedelta(minutes=resource.buffer_minutes)
        checks = [
            resource.is_active and place.is_published,
            not query.kind or resource.kind == query.kind,
            resource.capacity >= query.min_capacity,
            set(query.services) <= services,
            not query.network or place.networks.filter(slug=query.network).exists(),
            query.near is None
            or haversine_km(query.near, Point(place.latitude, place.longitude))
            <= (query.radius_km or 30),
            resource.audience == "public"
            or (user is not None and PlaceRole.objects.filter(user=user, place=place).exists()),
            now <= query.start <= now + dt.timedelta(days=resource.horizon_days),
            resource.min_minutes <= minutes <= resource.max_minutes,
            _exists_in(query.start, zone) and _exists_in(query.end, zone),
            _fits_hours(resource, query.start, query.end),
            not resource.training
            or holds_training(user, resource, on=query.start.astimezone(zone).date()),
            not any(
                slot.start < query.end.astimezone(dt.UTC) + buffer and slot.held_until > query.start
                for slot in resource.occurrences.all()
                if slot.status in HELD
            ),
        ]
        if all(checks):
            found.add(resource.pk)
    return found


def _order_key(found, query: AvailabilityQuery) -> tuple:
    resource = found.resource
    where = found.distance_km if query.near is not None else resource.place.name
    key = (where, resource.place_id, resource.capacity, resource.name, resource.pk)
    if query.order == "charm":
        return (-len(resource.character), *key)
    return key


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds, spec=queries)
def test_the_search_finds_exactly_what_the_reference_allows(world, spec):
    with transaction.atomic():
        start, end = _window(spec)
        users = _build(world, start, end)
        query = AvailabilityQuery(
            start=start,
            end=end,
            kind=spec["kind"],
            min_capacity=spec["min_capacity"],
            near=MENDE if spec["near"] else None,
            radius_km=spec["radius_km"],
            services=tuple(sorted(spec["services"])),
            network="reseau" if spec["network"] else "",
            order=spec["order"],
        )
        user = users[spec["who"]]
        found = available_resources(query, user, limit=1000)
        assert {f.resource.pk for f in found} == reference(query, user)
        assert [_order_key(f, query) for f in found] == sorted(_order_key(f, query) for f in found)
        for available in found:
            place = available.resource.place
            if query.near is None:
                assert available.distance_km is None
            else:
                expected = haversine_km(query.near, Point(place.latitude, place.longitude))
                assert available.distance_km == pytest.approx(expected, abs=1e-6)
        assert available_resources(query, user, limit=spec["limit"]) == found[: spec["limit"]]
        transaction.set_rollback(True)
