"""Races on a give-box item: status changes and "I'd like it" messages lock the item's row, so
that two changes at once never both apply and no message lands on an item already gone.

Each round's threads are released together by a barrier and use one database connection each,
through the services. PostgreSQL only, as production runs (SQLite serialises its writers).
"""

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.utils import translation

from maillage.community import givebox
from maillage.community.models import Item, Reply
from tests.community.factories import item_at, resident_of
from tests.factories import PlaceFactory, UserFactory, make_manager

POSTGRES = connection.vendor == "postgresql"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not POSTGRES,
        reason="the races need PostgreSQL's row locks (production's engine); SQLite "
        "serialises its writers",
    ),
]

TIMEOUT = 120


def race(attempts: list[Callable[[], str]]) -> list[str]:
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


def attempt(call: Callable[[], object], done: str) -> Callable[[], str]:
    def run() -> str:
        try:
            call()
        except ValidationError as refusal:
            return refusal.code or "invalid"
        return done

    return run


def fresh(pk: int) -> Item:
    return Item.objects.get(pk=pk)


def reply(pk: int, user) -> Callable[[], str]:
    return attempt(lambda: givebox.reply_send(item=fresh(pk), sender=user, body="Moi"), "sent")


def gone(pk: int, actor) -> Callable[[], str]:
    return attempt(lambda: givebox.item_gone(item=fresh(pk), actor=actor), "gone")


def reserve(pk: int, actor) -> Callable[[], str]:
    return attempt(lambda: givebox.item_reserve(item=fresh(pk), actor=actor), "reserved")


def lend(pk: int, actor, holder, return_on: dt.date) -> Callable[[], str]:
    return attempt(
        lambda: givebox.item_lend(item=fresh(pk), actor=actor, holder=holder, return_on=return_on),
        "lent",
    )


def test_messages_never_land_on_an_item_that_went():
    place = PlaceFactory()
    owner = resident_of(place)
    askers = [UserFactory() for _ in range(12)]
    for _round in range(3):
        item = item_at(place, author=owner)
        attempts = [reply(item.pk, user) for user in askers]
        attempts.insert(6, gone(item.pk, owner))
        outcomes = Counter(race(attempts))
        assert set(outcomes) <= {"sent", "gone", givebox.CONFLICT}, outcomes
        assert outcomes["gone"] == 1
        assert outcomes["sent"] == Reply.objects.filter(item=item).count()
        assert outcomes["sent"] + outcomes[givebox.CONFLICT] == len(askers)
        gone_at = fresh(item.pk).gone_at
        assert all(row.created_at <= gone_at for row in Reply.objects.filter(item=item))


def test_two_changes_at_once_never_both_apply():
    place = PlaceFactory()
    owner = resident_of(place)
    borrower = UserFactory()
    manager = make_manager(place)
    for _round in range(5):
        item = item_at(place, author=owner, mode="lend")
        givebox.reply_send(item=item, sender=borrower, body="Oui")
        return_on = givebox.today_at(place) + dt.timedelta(days=7)
        outcomes = race(
            [
                lend(item.pk, owner, borrower, return_on),
                gone(item.pk, manager),
                reserve(item.pk, owner),
            ]
        )
        assert set(outcomes) <= {"lent", "gone", "reserved", givebox.CONFLICT}, outcomes
        final = fresh(item.pk)
        applied = [outcome for outcome in outcomes if outcome != givebox.CONFLICT]
        # Reserving first leaves room for lending or clearing it; nothing else applies twice.
        assert len(applied) == 1 or (len(applied) == 2 and "reserved" in applied), outcomes
        expected = (
            Item.Status.LENT
            if "lent" in applied
            else Item.Status.GONE
            if "gone" in applied
            else Item.Status.RESERVED
        )
        assert final.status == expected
        if final.status == Item.Status.GONE:
            assert final.return_on is None and final.gone_at is not None
        if final.status == Item.Status.LENT:
            assert (final.holder, final.return_on) == (borrower, return_on)
