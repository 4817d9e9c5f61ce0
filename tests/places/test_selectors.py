"""Directory reads: proximity, filters, opening times, geocoding from our own towns."""

import datetime as dt
import math
import random
from zoneinfo import ZoneInfo

import pytest

from maillage.places import selectors
from maillage.places.models import PlaceTerm
from maillage.places.selectors import DirectoryFilters, Point, haversine_km, search_places
from tests.factories import NetworkFactory, OpeningHoursFactory, PlaceFactory, SeasonFactory

pytestmark = pytest.mark.django_db

MENDE = Point(44.5181, 3.5006)
PARIS = ZoneInfo("Europe/Paris")


def add_terms(place, kind, *codes):
    PlaceTerm.objects.bulk_create([PlaceTerm(place=place, kind=kind, code=c) for c in codes])


def destination(start: Point, bearing_degrees: float, distance_km: float) -> Point:
    """The point reached from `start` along a great circle (same sphere as the selectors)."""
    delta = distance_km / selectors.EARTH_RADIUS_KM
    theta = math.radians(bearing_degrees)
    lat1, lon1 = math.radians(start.lat), math.radians(start.lon)
    lat2 = math.asin(
        math.sin(lat1) * math.cos(delta) + math.cos(lat1) * math.sin(delta) * math.cos(theta)
    )
    lon2 = lon1 + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(lat1),
        math.cos(delta) - math.sin(lat1) * math.sin(lat2),
    )
    return Point(math.degrees(lat2), (math.degrees(lon2) + 540) % 360 - 180)


def slugs(queryset):
    return [place.slug for place in queryset]


@pytest.mark.parametrize("seed", range(6))
def test_proximity_search_matches_a_brute_force_haversine(seed):
    rng = random.Random(seed)
    places = [
        PlaceFactory(
            latitude=MENDE.lat + rng.uniform(-1.5, 1.5),
            longitude=MENDE.lon + rng.uniform(-2.0, 2.0),
        )
        for _ in range(50)
    ]
    centre = Point(MENDE.lat + rng.uniform(-0.5, 0.5), MENDE.lon + rng.uniform(-0.5, 0.5))
    radius = rng.choice([5.0, 20.0, 50.0, 120.0, 400.0])

    found = list(search_places(DirectoryFilters(near=centre, radius_km=radius)))

    distances = {p.pk: haversine_km(centre, Point(p.latitude, p.longitude)) for p in places}
    expected = sorted((pk for pk, d in distances.items() if d <= radius), key=distances.get)
    assert [p.pk for p in found] == expected
    for place in found:
        assert place.distance_km <= radius
        assert place.distance_km == pytest.approx(distances[place.pk], rel=1e-6)


@pytest.mark.parametrize("radius", [1.0, 30.0, 300.0, 1000.0])
def test_places_just_inside_the_radius_are_found_in_every_direction(radius):
    inside, outside = [], []
    for bearing in range(0, 360, 15):
        near = destination(MENDE, bearing, radius * 0.999)
        far = destination(MENDE, bearing, radius * 1.001)
        inside.append(PlaceFactory(latitude=near.lat, longitude=near.lon).slug)
        outside.append(PlaceFactory(latitude=far.lat, longitude=far.lon).slug)

    found = set(slugs(search_places(DirectoryFilters(near=MENDE, radius_km=radius))))

    assert found == set(inside)


def test_places_across_the_antimeridian_are_found():
    wallis = Point(-13.28, -176.17)
    across = destination(wallis, 270, 600)  # west of Wallis, past 180° of longitude
    place = PlaceFactory(latitude=across.lat, longitude=across.lon)

    found = list(search_places(DirectoryFilters(near=wallis, radius_km=700)))

    assert across.lon > 170
    assert slugs(found) == [place.slug]
    assert found[0].distance_km == pytest.approx(600, rel=1e-6)


def test_nearest_place_comes_first():
    far = PlaceFactory(name="Florac", latitude=44.3242, longitude=3.5931)
    near = PlaceFactory(name="Badaroux", latitude=44.5376, longitude=3.5428)
    here = PlaceFactory(name="Mende", latitude=MENDE.lat, longitude=MENDE.lon)

    found = list(search_places(DirectoryFilters(near=MENDE, radius_km=50)))

    assert slugs(found) == [here.slug, near.slug, far.slug]
    assert found[0].distance_km == pytest.approx(0, abs=1e-9)


def test_without_a_position_places_come_by_name():
    PlaceFactory(name="Zèbre")
    PlaceFactory(name="Atelier")

    assert [p.name for p in search_places(DirectoryFilters())] == ["Atelier", "Zèbre"]


def test_unpublished_places_are_never_listed():
    PlaceFactory(name="Hidden", is_published=False)
    shown = PlaceFactory(name="Shown")

    assert slugs(search_places(DirectoryFilters())) == [shown.slug]
    assert slugs(search_places(DirectoryFilters(near=MENDE, radius_km=10))) == [shown.slug]


@pytest.mark.parametrize("query", ["chely", "Chély", "st chely", "SAINT-CHELY", "apcher 48200"])
def test_search_ignores_accents_case_and_saint_abbreviations(query):
    place = PlaceFactory(name="La Fabrique", town="Saint-Chély d'Apcher", postcode="48200")
    PlaceFactory(name="Autre lieu", town="Mende", postcode="48000")

    assert slugs(search_places(DirectoryFilters(q=query))) == [place.slug]


def test_every_word_of_the_search_must_match():
    PlaceFactory(name="Fablab de Mende", town="Mende")
    PlaceFactory(name="Café de Marvejols", town="Marvejols")

    assert [p.name for p in search_places(DirectoryFilters(q="fablab mende"))] == [
        "Fablab de Mende"
    ]
    assert list(search_places(DirectoryFilters(q="fablab marvejols"))) == []


def test_two_services_must_both_be_offered():
    both = PlaceFactory()
    add_terms(both, PlaceTerm.Kind.SERVICE, "wifi", "fablab")
    wifi_only = PlaceFactory()
    add_terms(wifi_only, PlaceTerm.Kind.SERVICE, "wifi")

    assert slugs(search_places(DirectoryFilters(services=["wifi", "fablab"]))) == [both.slug]
    assert set(slugs(search_places(DirectoryFilters(services=["wifi"])))) == {
        both.slug,
        wifi_only.slug,
    }


def test_function_language_and_accessibility_filters_combine():
    wanted = PlaceFactory()
    add_terms(wanted, PlaceTerm.Kind.FUNCTION, "makers")
    add_terms(wanted, PlaceTerm.Kind.LANGUAGE, "oc")
    add_terms(wanted, PlaceTerm.Kind.ACCESSIBILITY, "wheelchair")
    no_ramp = PlaceFactory()
    add_terms(no_ramp, PlaceTerm.Kind.FUNCTION, "makers")
    add_terms(no_ramp, PlaceTerm.Kind.LANGUAGE, "oc")
    # Same code, other kind: "oc" as a function does not make a place speak Occitan.
    add_terms(PlaceFactory(), PlaceTerm.Kind.ACCESSIBILITY, "wheelchair")

    filters = DirectoryFilters(functions=["makers"], languages=["oc"], accessibility=["wheelchair"])
    assert slugs(search_places(filters)) == [wanted.slug]
    assert set(slugs(search_places(DirectoryFilters(functions=["makers"], languages=["oc"])))) == {
        no_ramp.slug,
        wanted.slug,
    }


def test_network_filter_keeps_the_places_of_that_network():
    network, other = NetworkFactory(), NetworkFactory()
    member = PlaceFactory()
    member.networks.add(network, other)
    PlaceFactory().networks.add(other)
    PlaceFactory()

    assert slugs(search_places(DirectoryFilters(network=network.slug))) == [member.slug]


def open_every_day(place, opens=dt.time(9), closes=dt.time(18), season=None):
    for weekday in range(7):
        OpeningHoursFactory(place=place, season=season, weekday=weekday, opens=opens, closes=closes)


def test_a_place_closed_for_its_winter_season_is_not_open_in_january():
    winter_closed = PlaceFactory(name="Closed in winter")
    open_every_day(winter_closed)
    SeasonFactory(
        place=winter_closed,
        start_date=dt.date(2020, 12, 1),
        end_date=dt.date(2021, 3, 31),
        yearly=True,
        closed=True,
    )
    always = PlaceFactory(name="Always open")
    open_every_day(always)
    never = PlaceFactory(name="No hours")

    january = dt.datetime(2027, 1, 15, 10, tzinfo=PARIS)
    july = dt.datetime(2027, 7, 15, 10, tzinfo=PARIS)
    night = dt.datetime(2027, 7, 15, 20, tzinfo=PARIS)

    assert slugs(search_places(DirectoryFilters(open_at=january))) == [always.slug]
    assert set(slugs(search_places(DirectoryFilters(open_at=july)))) == {
        always.slug,
        winter_closed.slug,
    }
    assert list(search_places(DirectoryFilters(open_at=night))) == []
    assert never.slug not in slugs(search_places(DirectoryFilters(open_at=july)))


def test_a_season_with_its_own_hours_replaces_the_regular_week():
    place = PlaceFactory()
    open_every_day(place)
    summer = SeasonFactory(
        place=place,
        name="Summer",
        start_date=dt.date(2027, 7, 1),
        end_date=dt.date(2027, 8, 31),
        yearly=False,
        closed=False,
    )
    open_every_day(place, dt.time(14), dt.time(22), season=summer)

    def is_listed(instant):
        return slugs(search_places(DirectoryFilters(open_at=instant))) == [place.slug]

    assert is_listed(dt.datetime(2027, 7, 15, 20, tzinfo=PARIS))
    assert not is_listed(dt.datetime(2027, 7, 15, 10, tzinfo=PARIS))
    assert is_listed(dt.datetime(2027, 9, 15, 10, tzinfo=PARIS))
    assert not is_listed(dt.datetime(2027, 9, 15, 20, tzinfo=PARIS))


def test_opening_times_are_read_in_each_place_time_zone():
    paris = PlaceFactory(name="Mende")
    open_every_day(paris)
    guadeloupe = PlaceFactory(
        name="Pointe-à-Pitre", time_zone="America/Guadeloupe", latitude=16.24, longitude=-61.53
    )
    open_every_day(guadeloupe)

    morning_in_paris = dt.datetime(2027, 3, 10, 10, tzinfo=dt.UTC)  # 11:00 Paris, 6:00 there
    evening_in_paris = dt.datetime(2027, 3, 10, 20, tzinfo=dt.UTC)  # 21:00 Paris, 16:00 there

    assert slugs(search_places(DirectoryFilters(open_at=morning_in_paris))) == [paris.slug]
    assert slugs(search_places(DirectoryFilters(open_at=evening_in_paris))) == [guadeloupe.slug]


def test_filters_combine_with_proximity():
    network = NetworkFactory()
    near_member = PlaceFactory(latitude=44.52, longitude=3.50)
    near_member.networks.add(network)
    PlaceFactory(latitude=44.52, longitude=3.50)  # near, not a member
    far_member = PlaceFactory(latitude=43.6, longitude=3.88)  # Montpellier
    far_member.networks.add(network)

    found = search_places(DirectoryFilters(network=network.slug, near=MENDE, radius_km=30))

    assert slugs(found) == [near_member.slug]


def test_geocode_town_by_name_or_postcode():
    PlaceFactory(town="Mende", postcode="48000", latitude=44.50, longitude=3.50)
    PlaceFactory(town="Mende", postcode="48000", latitude=44.54, longitude=3.52)
    PlaceFactory(town="Saint-Chély-d'Apcher", postcode="48200", latitude=44.80, longitude=3.27)

    for text in ("Mende", "mende", " MENDE ", "48000"):
        point, name = selectors.geocode_town(text)
        assert name == "Mende"
        assert point.lat == pytest.approx(44.52)
        assert point.lon == pytest.approx(3.51)
    point, name = selectors.geocode_town("st chely d'apcher")
    assert (name, point) == ("Saint-Chély-d'Apcher", Point(44.80, 3.27))


@pytest.mark.parametrize("text", ["Atlantis", "99999", "", "   "])
def test_geocode_an_unknown_town_gives_none(text):
    PlaceFactory(town="Mende")
    PlaceFactory(town="Nowhere", is_published=False)

    assert selectors.geocode_town(text) is None
    assert selectors.geocode_town("Nowhere") is None


def test_town_suggestions_by_folded_prefix():
    PlaceFactory(town="Mende")
    PlaceFactory(town="Mende")
    PlaceFactory(town="Menton")
    PlaceFactory(town="Marvejols")
    PlaceFactory(town="Mende-Hidden", is_published=False)

    assert selectors.town_suggestions("men") == [
        {"name": "Mende", "places": 2},
        {"name": "Menton", "places": 1},
    ]
    assert selectors.town_suggestions("MÉN", limit=1) == [{"name": "Mende", "places": 2}]
    assert selectors.town_suggestions("m") == []


def test_nearby_places_excludes_the_place_itself():
    place = PlaceFactory(latitude=44.5181, longitude=3.5006)
    near = PlaceFactory(latitude=44.53, longitude=3.51)
    PlaceFactory(latitude=44.53, longitude=3.51, is_published=False)
    PlaceFactory(latitude=43.6, longitude=3.88)  # 100 km away

    assert slugs(selectors.nearby_places(place)) == [near.slug]


def test_town_suggestions_count_every_spelling_of_a_town_under_the_most_common_one():
    for town in ("Saint-Chély-d'Apcher", "Saint-Chély-d'Apcher", "ST CHELY D'APCHER"):
        PlaceFactory(town=town)
    PlaceFactory(town="Saint-Alban-sur-Limagnole")

    assert selectors.town_suggestions("saint") == [
        {"name": "Saint-Chély-d'Apcher", "places": 3},
        {"name": "Saint-Alban-sur-Limagnole", "places": 1},
    ]
