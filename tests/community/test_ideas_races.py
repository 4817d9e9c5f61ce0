"""Races on the votes of an idea: its counter must always equal its vote rows, however many
people vote at once, and one person's simultaneous votes count once.

Each round's threads are released together by a barrier and use one database connection each,
through the services. PostgreSQL only, as production runs: its row locks and the unique index
are what the conditional UPDATE and the savepoint rely on (SQLite serialises its writers, see
tests/members/test_races.py).
"""

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.utils import translation

from maillage.accounts.models import PlaceRole
from maillage.community import ideas
from maillage.community.models import Idea, IdeaVote
from tests.factories import PlaceFactory, UserFactory

POSTGRES = connection.vendor == "postgresql"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not POSTGRES,
        reason="the races need PostgreSQL's row locks (production's engine); SQLite "
        "serialises its writers",
    ),
]

VOTERS, REPEATS = 20, 10
TIMEOUT = 120


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


def vote(idea_pk: int, user) -> Callable[[], str]:
    def attempt() -> str:
        try:
            ideas.idea_vote(idea=Idea.objects.get(pk=idea_pk), user=user)
        except ValidationError as refusal:
            return refusal.code
        return "voted"

    return attempt


def unvote(idea_pk: int, user) -> Callable[[], str]:
    def attempt() -> str:
        removed = ideas.idea_unvote(idea=Idea.objects.get(pk=idea_pk), user=user)
        return "removed" if removed else "none"

    return attempt


def _members(place, count: int) -> list:
    people = []
    for _n in range(count):
        user = UserFactory()
        PlaceRole.objects.create(user=user, place=place, role=PlaceRole.Role.RESIDENT)
        people.append(user)
    return people


def _counted(idea) -> tuple[int, int]:
    return Idea.objects.get(pk=idea.pk).votes, IdeaVote.objects.filter(idea=idea).count()


def _new_idea(place, author) -> Idea:
    return ideas.idea_post(author=author, place=place, title="Un atelier vélo", body="Oui")


def test_twenty_members_voting_at_once_are_all_counted():
    place = PlaceFactory()
    people = _members(place, VOTERS)
    idea = _new_idea(place, people[0])
    outcomes = race([vote(idea.pk, person) for person in people])
    assert Counter(outcomes) == {"voted": VOTERS}, Counter(outcomes)
    assert _counted(idea) == (VOTERS, VOTERS)


def test_one_member_voting_ten_times_at_once_counts_once():
    place = PlaceFactory()
    (person,) = _members(place, 1)
    idea = _new_idea(place, person)
    outcomes = race([vote(idea.pk, person) for _n in range(REPEATS)])
    assert Counter(outcomes) == {"voted": 1, "already_voted": REPEATS - 1}, Counter(outcomes)
    assert _counted(idea) == (1, 1)


def test_votes_and_withdrawals_at_once_keep_the_counter_exact():
    place = PlaceFactory()
    people = _members(place, VOTERS)
    idea = _new_idea(place, people[0])
    for person in people[: VOTERS // 2]:
        ideas.idea_vote(idea=idea, user=person)
    # The first half takes its votes back (twice each) while the second half votes.
    attempts = [unvote(idea.pk, person) for person in people[: VOTERS // 2] for _twice in (1, 2)]
    attempts += [vote(idea.pk, person) for person in people[VOTERS // 2 :]]
    outcomes = Counter(race(attempts))
    assert outcomes == {"removed": VOTERS // 2, "none": VOTERS // 2, "voted": VOTERS // 2}, outcomes
    assert _counted(idea) == (VOTERS // 2, VOTERS // 2)


def test_votes_racing_the_team_answer_are_counted_or_refused_never_lost():
    place = PlaceFactory()
    people = _members(place, VOTERS)
    manager = UserFactory()
    PlaceRole.objects.create(user=manager, place=place, role=PlaceRole.Role.MANAGER)
    idea = _new_idea(place, people[0])

    def answer() -> str:
        ideas.idea_answer(
            idea=Idea.objects.get(pk=idea.pk), actor=manager, status="done", answer="<p>Fait</p>"
        )
        return "answered"

    outcomes = Counter(race([answer, *(vote(idea.pk, person) for person in people)]))
    assert outcomes["answered"] == 1
    assert set(outcomes) <= {"answered", "voted", "closed"}, outcomes
    assert _counted(idea) == (outcomes["voted"], outcomes["voted"])
    assert Idea.objects.get(pk=idea.pk).status == "done"
