"""Races on what must never go below zero or happen twice (models: conditional UPDATEs and check
constraints): the last ticket of a network pass spent at two places at once, the last hours of
credits booked by many slots at once, and the same person checked in many times at once.

Each round's threads are released together by a barrier and use one database connection each,
through the services. PostgreSQL only, as production runs: its row locks and READ COMMITTED
re-checks are what the conditional UPDATEs rely on (SQLite serialises its writers, see
tests/bookings/test_races.py).
"""

import datetime as dt
import threading
import zoneinfo
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.utils import timezone, translation

from maillage.bookings.models import Booking, Occurrence
from maillage.bookings.services import booking_create, resource_create
from maillage.members import periods, services
from maillage.members.credits import NotEnoughCredits
from maillage.members.models import CheckIn, CreditUse, Membership, MembershipMonth, Plan
from tests.factories import NetworkFactory, PlaceFactory
from tests.members.factories import give, plan_for

POSTGRES = connection.vendor == "postgresql"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not POSTGRES,
        reason="the races need PostgreSQL's row locks (production's engine); SQLite "
        "serialises its writers",
    ),
]

THREADS, ROUNDS = 20, 5
TIMEOUT = 120
PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def race(attempts: list[Callable[[], str]]) -> list[str]:
    """Run each attempt in its own thread, all released together by a barrier; each thread
    opens its own database connection and closes it when done. An exception is an outcome,
    named, so that any unexpected one fails the test."""
    barrier = threading.Barrier(len(attempts))
    outcomes: list[str] = [""] * len(attempts)

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=TIMEOUT)
            with translation.override("en"):
                outcomes[index] = attempts[index]()
        except threading.BrokenBarrierError:
            outcomes[index] = "barrier broken"
        except Exception as error:  # any other outcome fails the test, named
            outcomes[index] = repr(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(attempts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a racing thread hangs"
    return outcomes


def check_in(place, member) -> Callable[[], str]:
    def attempt() -> str:
        try:
            services.checkin(place=place, member=member)
        except services.CheckInRefused as refusal:
            return refusal.reason
        return "in"

    return attempt


def test_the_last_ticket_of_a_network_pass_is_spent_once_at_two_places():
    network = NetworkFactory()
    home, host = PlaceFactory(), PlaceFactory()
    for place in (home, host):
        place.networks.add(network)
    plan = plan_for(home, network_wide=True, valid_places=[host], tickets=1, price=Decimal("12.00"))
    for _round in range(ROUNDS):
        membership = give(plan)
        member = membership.user
        outcomes = race([check_in((home, host)[i % 2], member) for i in range(THREADS)])
        counts = Counter(outcomes)
        assert counts["in"] == 1, counts
        assert set(counts) <= {"in", "used_up", "nothing_valid", "already_checked_in"}, counts
        assert Membership.objects.get(pk=membership.pk).tickets_left == 0
        (record,) = CheckIn.objects.filter(user=member)
        assert (record.membership_id, record.consumed) == (membership.pk, "ticket")
        if record.place_id == host.pk:
            assert (record.home_place_id, record.unit_value) == (home.pk, Decimal("12.00"))
        else:
            assert record.home_place_id is None


def test_credits_are_never_overdrawn_by_simultaneous_bookings():
    place = PlaceFactory(time_zone="Europe/Paris")
    rooms = [
        resource_create(
            place=place,
            author=None,
            name=f"Salle {n}",
            kind="meeting_room",
            credits_per_hour=1,
            horizon_days=400,
        )
        for n in range(4)
    ]
    plan = plan_for(
        place,
        name="Résident",
        kind=Plan.Kind.SUBSCRIPTION,
        credit_hours=3,
        resource_kinds=["meeting_room"],
    )
    month = periods.next_month(periods.month_of(timezone.now().astimezone(PARIS).date()))
    for round_number in range(ROUNDS):
        membership = give(plan)
        member = membership.user
        day = month + dt.timedelta(days=1 + round_number)

        def booking(index: int, member=member, day=day) -> Callable[[], str]:
            # Twenty distinct hours: four rooms, five hours each.
            start = dt.datetime.combine(day, dt.time(8 + index // 4), tzinfo=PARIS)

            def attempt() -> str:
                try:
                    booking_create(
                        resource=rooms[index % 4],
                        booker=member,
                        start=start,
                        end=start + dt.timedelta(hours=1),
                    )
                except NotEnoughCredits:
                    return "not enough"
                return "booked"

            return attempt

        outcomes = race([booking(i) for i in range(THREADS)])
        assert Counter(outcomes) == {"booked": 3, "not enough": THREADS - 3}, Counter(outcomes)
        row = MembershipMonth.objects.get(membership=membership)
        assert (row.month, row.credit_minutes, row.credit_minutes_used) == (month, 180, 180)
        booked = set(Occurrence.objects.filter(booking__booker=member).values_list("pk", flat=True))
        assert Booking.objects.filter(booker=member).count() == len(booked) == 3
        uses = CreditUse.objects.filter(month=row)
        assert set(uses.values_list("occurrence_id", flat=True)) == booked
        assert sorted(uses.values_list("minutes", flat=True)) == [60, 60, 60]


@pytest.mark.parametrize("kind", ["subscription", "ticket_book"])
def test_the_same_person_checked_in_many_times_at_once_has_one_day(kind):
    place = PlaceFactory()
    if kind == "subscription":
        plan = plan_for(place, name="Résident", kind=kind, days_per_month=5)
    else:
        plan = plan_for(place)
    for _round in range(ROUNDS):
        membership = give(plan)
        outcomes = race([check_in(place, membership.user) for _ in range(THREADS)])
        assert Counter(outcomes) == {"in": 1, "already_checked_in": THREADS - 1}, Counter(outcomes)
        assert CheckIn.objects.filter(user=membership.user).count() == 1
        if kind == "subscription":
            assert MembershipMonth.objects.get(membership=membership).days_used == 1
        else:
            assert Membership.objects.get(pk=membership.pk).tickets_left == 9
