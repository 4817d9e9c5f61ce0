"""The network availability search (selectors.available_resources): every rule a booking obeys,
the criteria, both orders, and reading the nearest places first.

The helpers at the top are shared by the API, page and reference tests of the search."""

import datetime as dt
import zoneinfo

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from maillage.accounts.models import PlaceRole
from maillage.bookings.models import (
    Booking,
    Occurrence,
    Resource,
    ResourceHours,
    ResourceTerm,
    TrainingValidation,
)
from maillage.bookings.selectors import AvailabilityQuery, available_resources
from maillage.places.selectors import Point, haversine_km
from tests.factories import (
    NetworkFactory,
    OpeningHoursFactory,
    PlaceFactory,
    SeasonFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
MENDE = Point(44.5181, 3.5006)
HOUR = dt.timedelta(hours=1)
THURSDAY = 3


def next_weekday(weekday: int, hour: int, minute: int = 0, weeks: int = 1) -> dt.datetime:
    """A wall-clock time in Paris on a coming weekday, `weeks` weeks or more ahead."""
    today = timezone.now().astimezone(PARIS).date()
    days = (weekday - today.weekday()) % 7 + 7 * weeks
    return dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour, minute), PARIS)


def clock_change(month: int) -> dt.date:
    """The next last Sunday of `month` (3: clocks go forward in Paris, 10: back), days ahead."""
    today = timezone.now().astimezone(PARIS).date()
    year = today.year
    while True:
        last = dt.date(year, month + 1, 1) - dt.timedelta(days=1)
        sunday = last - dt.timedelta(days=(last.weekday() - 6) % 7)
        if sunday > today + dt.timedelta(days=2):
            return sunday
        year += 1


def make_resource(place=None, *, services=(), character=(), **fields) -> Resource:
    fields.setdefault("name", "Salle Causse")
    fields.setdefault("kind", "meeting_room")
    resource = Resource.objects.create(place=place or PlaceFactory(), **fields)
    ResourceTerm.objects.bulk_create(
        [ResourceTerm(resource=resource, kind="service", code=code) for code in services]
        + [ResourceTerm(resource=resource, kind="character", code=code) for code in character]
    )
    return resource


def hold(resource, start, end, *, status="confirmed", buffer_minutes=None) -> Occurrence:
    """A held slot written directly, whatever the rules: any layout can be arranged."""
    booking = Booking.objects.create(resource=resource, booker=UserFactory())
    buffer = dt.timedelta(
        minutes=resource.buffer_minutes if buffer_minutes is None else buffer_minutes
    )
    return Occurrence.objects.create(
        booking=booking,
        resource=resource,
        start=start,
        end=end,
        held_until=end + buffer,
        status=status,
    )


def place_at(km_east: float, **fields):
    """A place `km_east` kilometres east of Mende (on its parallel)."""
    return PlaceFactory(latitude=MENDE.lat, longitude=MENDE.lon + km_east / 79.4, **fields)


def search(start, end=None, user=None, *, limit=50, **criteria) -> list[str]:
    query = AvailabilityQuery(start=start, end=end or start + 3 * HOUR, **criteria)
    return [found.resource.name for found in available_resources(query, user, limit=limit)]


class TestHeldSlots:
    def test_a_free_resource_is_found_and_an_overlapping_booking_hides_it(self):
        make_resource(name="Free")
        taken = make_resource(name="Taken")
        start = next_weekday(THURSDAY, 14)
        hold(taken, start + HOUR, start + 2 * HOUR)
        assert search(start) == ["Free"]

    @pytest.mark.parametrize(
        ("status", "blocks"),
        [("confirmed", True), ("pending", True), ("cancelled", False), ("refused", False)],
    )
    def test_pending_slots_block_cancelled_and_refused_ones_do_not(self, status, blocks):
        resource = make_resource()
        start = next_weekday(THURSDAY, 14)
        hold(resource, start, start + HOUR, status=status)
        assert search(start) == ([] if blocks else ["Salle Causse"])

    def test_slots_touching_the_window_do_not_block(self):
        resource = make_resource()
        start = next_weekday(THURSDAY, 14)
        hold(resource, start - 2 * HOUR, start)
        hold(resource, start + 3 * HOUR, start + 4 * HOUR)
        assert search(start) == ["Salle Causse"]

    def test_the_buffer_after_an_earlier_booking_blocks_the_start_of_the_window(self):
        resource = make_resource(buffer_minutes=30)
        start = next_weekday(THURSDAY, 14)
        hold(resource, start - 2 * HOUR, start - dt.timedelta(minutes=15))
        assert search(start) == []
        assert search(start + dt.timedelta(minutes=15)) == ["Salle Causse"]

    def test_the_window_needs_its_own_buffer_before_the_next_booking(self):
        tight = make_resource(name="Tight", buffer_minutes=15)
        loose = make_resource(name="Loose", buffer_minutes=5)
        start = next_weekday(THURSDAY, 14)
        for resource in (tight, loose):
            hold(resource, start + dt.timedelta(hours=3, minutes=10), start + 5 * HOUR)
        assert search(start) == ["Loose"]

    def test_held_until_of_an_earlier_booking_counts_even_if_the_buffer_changed(self):
        resource = make_resource(buffer_minutes=0)
        start = next_weekday(THURSDAY, 14)
        hold(resource, start - 2 * HOUR, start - HOUR, buffer_minutes=90)
        assert search(start) == []


class TestHours:
    def test_the_window_must_fit_in_one_opening_interval_of_the_place(self):
        place = PlaceFactory()
        OpeningHoursFactory(place=place, weekday=THURSDAY, opens=dt.time(9), closes=dt.time(12))
        OpeningHoursFactory(place=place, weekday=THURSDAY, opens=dt.time(14), closes=dt.time(17))
        make_resource(place)
        thursday = next_weekday(THURSDAY, 14)
        assert search(thursday) == ["Salle Causse"]
        assert search(thursday, thursday + 4 * HOUR) == []
        assert search(thursday.replace(hour=11), thursday.replace(hour=15)) == []
        assert search(thursday + dt.timedelta(days=1)) == []

    def test_a_closed_season_closes_the_place_and_a_season_brings_its_own_hours(self):
        closed_place, summer_place = PlaceFactory(), PlaceFactory()
        thursday = next_weekday(THURSDAY, 10)
        day = thursday.date()
        for place in (closed_place, summer_place):
            OpeningHoursFactory(place=place, weekday=THURSDAY, opens=dt.time(9), closes=dt.time(18))
        SeasonFactory(place=closed_place, start_date=day, end_date=day, closed=True)
        summer = SeasonFactory(place=summer_place, start_date=day, end_date=day)
        OpeningHoursFactory(
            place=summer_place,
            season=summer,
            weekday=THURSDAY,
            opens=dt.time(10),
            closes=dt.time(12),
        )
        make_resource(closed_place, name="Closed")
        make_resource(summer_place, name="Summer")
        assert search(thursday, thursday + 2 * HOUR) == ["Summer"]
        assert search(thursday.replace(hour=14)) == []
        next_week = thursday + dt.timedelta(days=7)
        assert sorted(search(next_week.replace(hour=14))) == ["Closed", "Summer"]

    def test_own_hours_replace_the_place_hours_but_closed_seasons_still_close(self):
        place = PlaceFactory()
        OpeningHoursFactory(place=place, weekday=THURSDAY, opens=dt.time(9), closes=dt.time(17))
        evening = make_resource(place, name="Evening")
        ResourceHours.objects.create(
            resource=evening, weekday=THURSDAY, opens=dt.time(18), closes=dt.time(23)
        )
        make_resource(place, name="Daytime")
        thursday = next_weekday(THURSDAY, 19)
        assert search(thursday, thursday + 2 * HOUR) == ["Evening"]
        assert search(thursday.replace(hour=14), thursday.replace(hour=16)) == ["Daytime"]
        SeasonFactory(
            place=place, start_date=thursday.date(), end_date=thursday.date(), closed=True
        )
        assert search(thursday, thursday + 2 * HOUR) == []

    def test_without_any_hours_a_resource_is_bookable_at_night_and_over_midnight(self):
        make_resource(name="Anytime")
        with_hours = make_resource(name="Evenings")
        ResourceHours.objects.create(
            resource=with_hours, weekday=THURSDAY, opens=dt.time(0), closes=dt.time(23, 59)
        )
        late = next_weekday(THURSDAY, 23)
        assert search(late, late + 2 * HOUR) == ["Anytime"]

    def test_places_in_another_time_zone_are_read_in_their_own_time(self):
        place = PlaceFactory(time_zone="America/Guadeloupe")
        OpeningHoursFactory(place=place, weekday=THURSDAY, opens=dt.time(9), closes=dt.time(12))
        make_resource(place, name="Pointe-à-Pitre")
        guadeloupe = zoneinfo.ZoneInfo("America/Guadeloupe")
        morning = next_weekday(THURSDAY, 0).astimezone(guadeloupe).replace(hour=9)
        morning += dt.timedelta(days=(THURSDAY - morning.weekday()) % 7)
        assert search(morning, morning + 3 * HOUR) == ["Pointe-à-Pitre"]
        assert search(morning.astimezone(PARIS)) == ["Pointe-à-Pitre"]
        assert search(morning + 2 * HOUR) == []

    def test_a_time_skipped_by_the_clocks_finds_nothing_a_repeated_one_is_fine(self):
        make_resource(horizon_days=800)
        spring, autumn = clock_change(3), clock_change(10)
        skipped = dt.datetime.combine(spring, dt.time(2, 30), PARIS)
        assert search(skipped, skipped.replace(hour=4)) == []
        assert search(skipped.replace(hour=3), skipped.replace(hour=4)) == ["Salle Causse"]
        repeated = dt.datetime.combine(autumn, dt.time(2, 30), PARIS)
        assert search(repeated, repeated + HOUR) == ["Salle Causse"]


class TestBookingRules:
    def test_members_only_resources_are_for_members_of_their_place(self):
        resource = make_resource(audience="members")
        member, stranger = UserFactory(), UserFactory()
        PlaceRole.objects.create(user=member, place=resource.place, role="resident")
        start = next_weekday(THURSDAY, 14)
        assert search(start) == []
        assert search(start, user=stranger) == []
        assert search(start, user=member) == ["Salle Causse"]

    def test_each_member_sees_the_members_only_resources_of_their_own_place(self):
        """Searches of one shape share their compiled query: each is bound to its own user."""
        first = make_resource(name="First's", audience="members")
        second = make_resource(name="Second's", audience="members")
        members = [UserFactory(), UserFactory()]
        for member, resource in zip(members, (first, second), strict=True):
            PlaceRole.objects.create(user=member, place=resource.place, role="resident")
        start = next_weekday(THURSDAY, 14)
        for _round in range(2):
            assert search(start, user=members[0]) == ["First's"]
            assert search(start, user=members[1]) == ["Second's"]
            assert search(start, user=AnonymousUser()) == []

    def test_inactive_resources_and_unpublished_places_are_never_found(self):
        make_resource(is_active=False)
        make_resource(PlaceFactory(is_published=False))
        assert search(next_weekday(THURSDAY, 14)) == []

    def test_a_machine_needs_a_training_valid_on_the_day_recognised_in_the_network(self):
        network = NetworkFactory()
        fablab, atelier, elsewhere = PlaceFactory(), PlaceFactory(), PlaceFactory()
        fablab.networks.add(network)
        atelier.networks.add(network)
        make_resource(fablab, name="Laser", kind="machine", training="laser_cutter")
        start = next_weekday(THURSDAY, 14)
        trained_here, trained_in_network, trained_elsewhere = (UserFactory() for _ in range(3))
        for user, place in (
            (trained_here, fablab),
            (trained_in_network, atelier),
            (trained_elsewhere, elsewhere),
        ):
            TrainingValidation.objects.create(user=user, place=place, machine_type="laser_cutter")
        assert search(start) == []
        assert search(start, user=UserFactory()) == []
        assert search(start, user=trained_here) == ["Laser"]
        assert search(start, user=trained_in_network) == ["Laser"]
        assert search(start, user=trained_elsewhere) == []

    def test_an_expired_training_does_not_count_one_ending_that_day_does(self):
        resource = make_resource(kind="machine", training="printer_3d")
        start = next_weekday(THURSDAY, 14)
        user = UserFactory()
        training = TrainingValidation.objects.create(
            user=user,
            place=resource.place,
            machine_type="printer_3d",
            expires_on=start.date() - dt.timedelta(days=1),
        )
        assert search(start, user=user) == []
        training.expires_on = start.date()
        training.save()
        assert search(start, user=user) == ["Salle Causse"]

    def test_the_window_must_be_within_the_horizon_and_not_past(self):
        make_resource(horizon_days=10)
        soon = timezone.now().astimezone(PARIS).replace(microsecond=0) + dt.timedelta(days=9)
        assert search(soon) == ["Salle Causse"]
        assert search(soon + dt.timedelta(days=2)) == []
        assert search(soon - dt.timedelta(days=10)) == []

    def test_the_window_must_last_between_the_shortest_and_longest_booking(self):
        make_resource(min_minutes=60, max_minutes=120)
        start = next_weekday(THURSDAY, 14)
        assert search(start, start + dt.timedelta(minutes=30)) == []
        assert search(start, start + 2 * HOUR) == ["Salle Causse"]
        assert search(start, start + dt.timedelta(minutes=121)) == []
        # A window given to the second: a part of a minute counts.
        assert search(start, start + dt.timedelta(minutes=120, seconds=30)) == []
        assert search(start, start + dt.timedelta(minutes=59, seconds=30)) == []
        assert search(start, start + dt.timedelta(minutes=60, seconds=30)) == ["Salle Causse"]

    def test_an_empty_or_reversed_window_finds_nothing(self):
        make_resource()
        start = next_weekday(THURSDAY, 14)
        assert search(start, start) == []
        assert search(start, start - HOUR) == []


class TestCriteria:
    def test_every_requested_service_is_required(self):
        make_resource(name="Visio", services=["wifi", "visio_room"])
        make_resource(name="Wifi", services=["wifi"])
        start = next_weekday(THURSDAY, 14)
        assert sorted(search(start, services=("wifi",))) == ["Visio", "Wifi"]
        assert search(start, services=("wifi", "visio_room")) == ["Visio"]
        assert search(start, services=("wifi", "printer_3d")) == []

    def test_the_place_services_do_not_count_for_its_resources(self):
        place = PlaceFactory()
        place.terms.create(kind="service", code="visio_room")
        make_resource(place)
        assert search(next_weekday(THURSDAY, 14), services=("visio_room",)) == []

    def test_kind_and_capacity_and_the_closest_capacity_first(self):
        place = PlaceFactory()
        make_resource(place, name="Big", capacity=20)
        make_resource(place, name="Right", capacity=10)
        make_resource(place, name="Small", capacity=6)
        make_resource(place, name="Desk", kind="desk", capacity=12)
        start = next_weekday(THURSDAY, 14)
        assert search(start, kind="meeting_room", min_capacity=8) == ["Right", "Big"]
        assert search(start, kind="desk") == ["Desk"]

    def test_a_network_keeps_its_own_places(self):
        network = NetworkFactory(slug="solozere")
        inside = PlaceFactory()
        inside.networks.add(network)
        make_resource(inside, name="Inside")
        make_resource(name="Outside")
        start = next_weekday(THURSDAY, 14)
        assert search(start, network="solozere") == ["Inside"]
        assert search(start, network="solozere", near=MENDE) == ["Inside"]

    def test_within_the_radius_nearest_first_with_the_distance(self):
        make_resource(place_at(25), name="Twenty-five")
        make_resource(place_at(5), name="Five")
        make_resource(place_at(45), name="Forty-five")
        start = next_weekday(THURSDAY, 14)
        assert search(start, near=MENDE) == ["Five", "Twenty-five"]
        assert search(start, near=MENDE, radius_km=50) == ["Five", "Twenty-five", "Forty-five"]
        found = available_resources(
            AvailabilityQuery(start=start, end=start + HOUR, near=MENDE), None
        )
        place = found[0].resource.place
        expected = haversine_km(MENDE, Point(place.latitude, place.longitude))
        assert found[0].distance_km == pytest.approx(expected, abs=1e-6)
        assert found[0].distance_km == pytest.approx(5, abs=0.1)

    def test_without_a_position_places_come_by_name_and_distances_are_unknown(self):
        make_resource(PlaceFactory(name="Zénith"), name="Z")
        make_resource(PlaceFactory(name="Atelier"), name="A")
        start = next_weekday(THURSDAY, 14)
        found = available_resources(AvailabilityQuery(start=start, end=start + HOUR), None)
        assert [f.resource.name for f in found] == ["A", "Z"]
        assert [f.distance_km for f in found] == [None, None]

    def test_the_charm_order_puts_character_first_then_distance(self):
        make_resource(place_at(2), name="Plain and near")
        make_resource(place_at(20), name="Charming", character=["view", "fireplace", "quiet"])
        make_resource(place_at(10), name="Cosy", character=["cosy"])
        make_resource(place_at(4), name="Quiet", character=["quiet"])
        start = next_weekday(THURSDAY, 14)
        assert search(start, near=MENDE, order="charm") == [
            "Charming",
            "Quiet",
            "Cosy",
            "Plain and near",
        ]
        assert search(start, near=MENDE) == ["Plain and near", "Quiet", "Cosy", "Charming"]


class TestReadingPlaceByPlace:
    def test_the_nearest_free_resources_are_found_past_many_busy_places(self):
        start = next_weekday(THURSDAY, 14)
        for km in range(1, 26):
            resource = make_resource(place_at(km), name=f"{km:02d} km")
            if km <= 20:
                hold(resource, start, start + HOUR)
        assert search(start, near=MENDE, limit=3) == ["21 km", "22 km", "23 km"]
        assert search(start, near=MENDE, limit=1) == ["21 km"]

    def test_past_many_shut_places_every_kind_of_open_one_is_found(self):
        thursday = next_weekday(THURSDAY, 14)
        for km in range(1, 21):
            OpeningHoursFactory(place=make_resource(place_at(km)).place, weekday=0)
        open_place = place_at(30)
        OpeningHoursFactory(
            place=open_place, weekday=THURSDAY, opens=dt.time(14), closes=dt.time(17)
        )
        make_resource(open_place, name="Open")
        make_resource(place_at(31), name="No hours at all")
        morning = place_at(32)
        OpeningHoursFactory(place=morning, weekday=THURSDAY, closes=dt.time(12))
        make_resource(morning, name="Morning only")
        shut = place_at(33)
        OpeningHoursFactory(place=shut, weekday=0)
        evening = make_resource(shut, name="Own hours")
        ResourceHours.objects.create(
            resource=evening, weekday=THURSDAY, opens=dt.time(13), closes=dt.time(18)
        )
        summer = place_at(34)
        OpeningHoursFactory(place=summer, weekday=0)
        season = SeasonFactory(place=summer, start_date=thursday.date(), end_date=thursday.date())
        OpeningHoursFactory(place=summer, season=season, weekday=THURSDAY, opens=dt.time(9))
        make_resource(summer, name="Season hours")
        # 14:00-17:00 in Paris is 08:00-11:00 or 09:00-12:00 in Guadeloupe (summer time or not).
        abroad = place_at(35, time_zone="America/Guadeloupe")
        OpeningHoursFactory(place=abroad, weekday=THURSDAY, opens=dt.time(8), closes=dt.time(12))
        make_resource(abroad, name="Abroad")
        expected = ["Open", "No hours at all", "Own hours", "Season hours", "Abroad"]
        assert search(thursday, near=MENDE, radius_km=50, limit=3) == expected[:3]
        assert search(thursday, near=MENDE, radius_km=50, limit=10) == expected

    def test_the_charm_order_looks_past_the_nearest_places(self):
        start = next_weekday(THURSDAY, 14)
        for km in range(1, 41):
            make_resource(place_at(km), name=f"Plain {km:02d}")
        make_resource(place_at(38), name="Cosy far", character=["cosy"])
        make_resource(place_at(39), name="Charming far", character=["view", "garden"])
        make_resource(place_at(20), name="Cosy middle", character=["quiet"])
        found = search(start, near=MENDE, radius_km=50, order="charm", limit=4)
        assert found == ["Charming far", "Cosy middle", "Cosy far", "Plain 01"]

    def test_limits_cut_the_ordered_list_the_same_way_for_each_size(self):
        start = next_weekday(THURSDAY, 14)
        for km in range(1, 30):
            place = place_at(km / 2)
            for capacity in (12, 4):
                make_resource(place, name=f"{km:02d}-{capacity}", capacity=capacity)
        everything = search(start, near=MENDE, limit=200)
        assert len(everything) == 58
        assert everything[:4] == ["01-4", "01-12", "02-4", "02-12"]
        for limit in (1, 5, 17, 40):
            assert search(start, near=MENDE, limit=limit) == everything[:limit]
            assert search(start, limit=limit) == search(start, limit=200)[:limit]
            assert (
                search(start, near=MENDE, order="charm", limit=limit)
                == search(start, near=MENDE, order="charm", limit=200)[:limit]
            )

    def test_the_number_of_queries_does_not_grow_with_the_results(
        self, django_assert_max_num_queries
    ):
        start = next_weekday(THURSDAY, 14)
        user = UserFactory()
        for km in range(12):
            place = place_at(km)
            OpeningHoursFactory(place=place, weekday=THURSDAY, opens=dt.time(8), closes=dt.time(20))
            SeasonFactory(place=place, start_date=dt.date(2001, 8, 1), end_date=dt.date(2001, 8, 2))
            for number in range(4):
                make_resource(place, name=f"{km}-{number}", services=["wifi"], character=["view"])
        # The places in order, the candidates, and the hours, seasons and terms they need.
        with django_assert_max_num_queries(6):
            found = available_resources(
                AvailabilityQuery(start=start, end=start + HOUR, near=MENDE), user
            )
        assert len(found) == 48
        with django_assert_max_num_queries(0):
            assert all(f.resource.services == ["wifi"] for f in found)
            assert all(f.resource.place.name for f in found)
