"""The events a network holds itself (no place) count in the network's statistics: rolled up per
network and day of the instance's time zone, queued again when they change after the fact, and
added to the figures of the network's places."""

import datetime as dt

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maillage.agenda import services as agenda_services
from maillage.agenda.models import Event, Registration
from maillage.impact import selectors, services
from maillage.impact.models import DirtyNetworkDay, NetworkDailyFigure
from maillage.impact.periods import Period
from tests.factories import NetworkFactory, PlaceFactory

from .worlds import DAYS, EVENTS, NOW, add_events, at, brute_force_events, build, worlds

DAY = dt.date(2025, 10, 26)  # the autumn DST change in Paris
LATER = dt.datetime(2025, 11, 5, 10, 0, tzinfo=dt.UTC)
EVENT_CODES = ("events_held", "participants", "participants_checked_in", "waitlisted")


def _ratio(part: int, whole: int):
    return round(part * 100 / whole, 1) if whole else None


@pytest.mark.django_db
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    world=worlds,
    own_events=EVENTS,
    bounds=st.tuples(st.integers(0, DAYS - 1), st.integers(0, DAYS - 1)),
)
def test_a_networks_events_figures_equal_a_brute_force_count(world, own_events, bounds):
    with transaction.atomic():
        built = build(world)
        network, first_day = NetworkFactory(), world["first_day"]
        built["place"].networks.add(network)
        add_events(own_events, first_day, network=network)
        services.run_rollup(
            first=first_day - dt.timedelta(days=1),
            last=first_day + dt.timedelta(days=DAYS),
            now=NOW,
        )
        low, high = sorted(bounds)
        first, last = first_day + dt.timedelta(days=low), first_day + dt.timedelta(days=high)
        figures = selectors.network_figures(network, Period.custom(first, last))
        events = Event.objects.filter(place=built["place"]) | Event.objects.filter(
            network=network, place=None
        )
        expected = brute_force_events(events, first, last, NOW)
        for code in EVENT_CODES:
            assert figures.find(code).value == expected[(code, "")], code
        assert figures.find("fill_rate").value == _ratio(
            expected[("participants_capped", "")], expected[("capacity", "")]
        )
        transaction.set_rollback(True)


@pytest.fixture
def frozen(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: LATER)
    return LATER


@pytest.fixture
def network():
    network = NetworkFactory()
    PlaceFactory(time_zone="Europe/Paris").networks.add(network)
    return network


def _network_event(network, *, registrations=3, capacity=10):
    event = Event.objects.create(
        network=network,
        title="Rencontre du réseau",
        category="meetup",
        start=at(DAY, 20 * 60),
        end=at(DAY, 23 * 60),  # 23:00 on a 25-hour day: still the 26th in Paris
        capacity=capacity,
        confirmed_count=registrations,
    )
    rows = [
        Registration.objects.create(
            event=event, name="Someone", email=f"n{n}@example.org", status="confirmed"
        )
        for n in range(registrations)
    ]
    return event, rows


def value(network, code):
    return selectors.network_figures(network, Period.custom(DAY, DAY)).find(code).value


@pytest.mark.django_db
def test_a_network_event_counts_on_the_day_it_ended(frozen, network):
    _network_event(network)
    services.run_rollup(first=DAY, last=DAY)
    assert value(network, "events_held") == 1
    assert value(network, "participants") == 3
    assert value(network, "fill_rate") == 30.0
    next_day = DAY + dt.timedelta(days=1)
    assert (
        not selectors.network_figures(network, Period.custom(next_day, next_day))
        .find("events_held")
        .value
    )


@pytest.mark.django_db
def test_a_late_cancellation_of_a_network_event_registration_is_corrected(frozen, network):
    _event_row, (_first, _second, late) = _network_event(network)
    services.run_rollup(first=DAY, last=DAY)
    assert value(network, "participants") == 3
    agenda_services.registration_cancel(registration=late)
    assert DirtyNetworkDay.objects.filter(network_id=network.pk, day=DAY).exists()
    done = services.run_rollup()
    assert done["networks"] == 1
    assert value(network, "participants") == 2
    assert value(network, "fill_rate") == 20.0
    assert not DirtyNetworkDay.objects.exists()


@pytest.mark.django_db
def test_a_network_event_cancelled_or_moved_after_the_rollup_is_corrected(frozen, network):
    event, _rows = _network_event(network)
    services.run_rollup(first=DAY, last=DAY)
    event.end = at(DAY - dt.timedelta(days=2), 23 * 60)
    event.start = event.end - dt.timedelta(hours=2)
    event.save()
    services.run_rollup()
    assert not value(network, "events_held")
    moved = selectors.network_figures(network, Period.custom(DAY - dt.timedelta(days=2), DAY))
    assert moved.find("events_held").value == 1
    event.status = Event.Status.CANCELLED
    event.save()
    services.run_rollup()
    assert (
        not selectors.network_figures(network, Period.custom(DAY - dt.timedelta(days=2), DAY))
        .find("events_held")
        .value
    )


@pytest.mark.django_db
def test_an_event_given_to_a_place_leaves_the_network_rows_for_the_places(frozen, network):
    event, _rows = _network_event(network)
    services.run_rollup(first=DAY, last=DAY)
    place = network.places.get()
    event.place = place
    event.save()
    services.run_rollup()
    assert not NetworkDailyFigure.objects.filter(network=network, metric="events_held").exists()
    # Counted once, through its place.
    assert value(network, "events_held") == 1
    assert value(network, "participants") == 3


@pytest.mark.django_db
def test_the_days_of_a_deleted_network_are_dropped_from_the_queue(frozen, network):
    _event, (registration, *_rest) = _network_event(network)
    registration.delete()
    assert DirtyNetworkDay.objects.exists()
    network.delete()
    services.run_rollup()
    assert not DirtyNetworkDay.objects.exists()


@pytest.mark.django_db
def test_the_hourly_run_recomputes_the_current_day_of_networks_with_events(network, monkeypatch):
    today = dt.datetime(2025, 10, 26, 22, 30, tzinfo=dt.UTC)  # 23:30 in Paris
    monkeypatch.setattr(timezone, "now", lambda: today)
    _network_event(network)
    DirtyNetworkDay.objects.all().delete()  # as if the marks were lost: the run finds the day
    services.run_rollup(now=today)
    assert value(network, "events_held") == 1
    # A place-limited run leaves the networks alone.
    NetworkDailyFigure.objects.all().delete()
    services.run_rollup(now=today, places=network.places.all())
    assert not NetworkDailyFigure.objects.exists()


@pytest.mark.django_db
def test_a_registration_to_an_event_far_ahead_costs_no_query_for_the_statistics(network):
    start = timezone.now() + dt.timedelta(days=20)
    ahead = Event.objects.create(
        network=network,
        title="Plus tard",
        category="meetup",
        start=start,
        end=start + dt.timedelta(hours=2),
    )
    with CaptureQueriesContext(connection) as queries:
        Registration.objects.create(event=ahead, name="Someone", email="a@example.org")
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"]
    assert not DirtyNetworkDay.objects.exists()
