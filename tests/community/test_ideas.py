"""The idea box's rules (community/ideas.py): anyone with an account posts an idea for a
published place, its people vote once each (the counter always equals the vote rows), its team
answers and marks it planned, done or declined; the author and the voters are told in their
language. Runs on SQLite and, with DATABASE_URL, on PostgreSQL."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import translation

from maillage.accounts.models import PlaceRole
from maillage.community import ideas, services
from maillage.community.models import Idea, IdeaVote, Notification
from maillage.core.models import AuditEntry
from tests.factories import NetworkFactory, PlaceFactory, UserFactory, make_coordinator

pytestmark = pytest.mark.django_db


def _role(place, role, **kwargs):
    user = UserFactory(**kwargs)
    PlaceRole.objects.create(user=user, place=place, role=role)
    return user


@pytest.fixture(autouse=True)
def _messages_in_english():
    """The assertions read the English messages; the site's default language is French."""
    with translation.override("en"):
        yield


@pytest.fixture
def world():
    network = NetworkFactory()
    place_a, place_b = PlaceFactory(name="POLeN"), PlaceFactory(name="La Loco")
    place_a.networks.add(network)
    return {
        "network": network,
        "a": place_a,
        "b": place_b,
        "member_a": _role(place_a, PlaceRole.Role.RESIDENT, full_name="Catherine Vidal"),
        "nomad_a": _role(place_a, PlaceRole.Role.NOMAD, full_name="Basile Martin"),
        "staff_a": _role(place_a, PlaceRole.Role.STAFF, full_name="Jean Dupont"),
        "manager_a": _role(place_a, PlaceRole.Role.MANAGER, full_name="Lucas Gestionnaire"),
        "manager_b": _role(place_b, PlaceRole.Role.MANAGER, full_name="Luc Brun"),
        "member_b": _role(place_b, PlaceRole.Role.RESIDENT, full_name="Dan Smith"),
        "coordinator": make_coordinator(network, full_name="Camille Coste"),
        "stranger": UserFactory(full_name="Justine Petit"),
    }


def _idea(world, author="member_a", **kwargs):
    data = {"title": "Un repair café le samedi", "body": "<p>Une fois par mois.</p>"}
    return ideas.idea_post(author=world[author], place=world["a"], **{**data, **kwargs})


def _counted(idea) -> tuple[int, int]:
    """(the counter, the rows): they must always be equal."""
    return Idea.objects.get(pk=idea.pk).votes, IdeaVote.objects.filter(idea=idea).count()


# Posting ---------------------------------------------------------------------------------------


def test_anyone_with_an_account_posts_an_idea_and_the_team_is_told(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        idea = _idea(world, author="stranger")
    assert (idea.place, idea.author, idea.status, idea.votes) == (
        world["a"],
        world["stranger"],
        "new",
        0,
    )
    told = sorted(message.to[0] for message in mail.outbox)
    assert told == sorted([world["manager_a"].email, world["staff_a"].email])
    assert all("Justine P." in message.body for message in mail.outbox)
    assert all(world["stranger"].email not in message.body for message in mail.outbox)
    assert all(f"/community/ideas/{idea.pk}/" in message.body for message in mail.outbox)


def test_the_team_member_who_posts_is_not_told_of_their_own_idea(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _idea(world, author="manager_a")
    assert [message.to for message in mail.outbox] == [[world["staff_a"].email]]


def test_scripts_are_removed_from_an_idea(world):
    idea = _idea(
        world,
        body='<p onclick="steal()">Des casiers<script>alert(1)</script> fermés</p>'
        '<a href="javascript:alert(1)">lien</a>',
    )
    assert "<script" not in idea.body and "onclick" not in idea.body
    assert "javascript:" not in idea.body
    assert "Des casiers" in idea.body and "fermés" in idea.body


def test_an_idea_needs_a_title_and_words_and_nothing_is_written_without(world):
    with pytest.raises(ValidationError) as error:
        _idea(world, title="   ", body="<p>   </p><script>x</script>")
    assert set(error.value.message_dict) == {"title", "body"}
    assert not Idea.objects.exists()


def test_an_unpublished_place_takes_no_idea(world):
    world["a"].is_published = False
    world["a"].save()
    with pytest.raises(ValidationError) as error:
        _idea(world)
    assert "place" in error.value.message_dict
    assert not Idea.objects.exists()


def test_an_anonymous_visitor_posts_no_idea(world):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(PermissionError):
        ideas.idea_post(author=AnonymousUser(), place=world["a"], title="Idée", body="<p>x</p>")
    assert not Idea.objects.exists()


# Votes -----------------------------------------------------------------------------------------


def test_the_people_of_the_place_vote_once_each_and_the_count_is_exact(world):
    idea = _idea(world)
    for who in ("member_a", "nomad_a", "staff_a", "manager_a", "coordinator"):
        ideas.idea_vote(idea=idea, user=world[who])
    assert _counted(idea) == (5, 5)
    with pytest.raises(ValidationError) as error:
        ideas.idea_vote(idea=idea, user=world["nomad_a"])
    assert error.value.code == "already_voted"
    assert _counted(idea) == (5, 5)
    assert ideas.idea_unvote(idea=idea, user=world["nomad_a"]) is True
    assert ideas.idea_unvote(idea=idea, user=world["nomad_a"]) is False
    assert _counted(idea) == (4, 4)
    ideas.idea_vote(idea=idea, user=world["nomad_a"])
    assert _counted(idea) == (5, 5)


def test_the_author_may_vote_for_their_own_idea(world):
    idea = _idea(world)
    assert idea.votes == 0  # posting is not voting
    ideas.idea_vote(idea=idea, user=world["member_a"])
    assert _counted(idea) == (1, 1)


@pytest.mark.parametrize("who", ["member_b", "manager_b", "stranger"])
def test_nobody_outside_the_place_votes_on_its_ideas(world, who):
    idea = _idea(world)
    with pytest.raises(PermissionError):
        ideas.idea_vote(idea=idea, user=world[who])
    with pytest.raises(PermissionError):
        ideas.idea_unvote(idea=idea, user=world[who])
    assert _counted(idea) == (0, 0)


def test_the_author_without_a_role_at_the_place_cannot_vote_for_their_idea(world):
    idea = _idea(world, author="stranger")
    with pytest.raises(PermissionError):
        ideas.idea_vote(idea=idea, user=world["stranger"])


def test_a_hidden_idea_takes_no_vote(world):
    idea = _idea(world)
    ideas.idea_vote(idea=idea, user=world["nomad_a"])
    services.hide_post(post=idea, actor=world["manager_a"], reason="Doublon")
    idea.refresh_from_db()
    with pytest.raises(Idea.DoesNotExist):
        ideas.idea_vote(idea=idea, user=world["member_a"])
    with pytest.raises(Idea.DoesNotExist):
        ideas.idea_unvote(idea=idea, user=world["nomad_a"])
    assert _counted(idea) == (1, 1)


def test_a_vote_given_after_the_idea_was_hidden_is_refused_and_rolled_back(world):
    idea = _idea(world)
    stale = Idea.objects.get(pk=idea.pk)  # read before the team hides it
    services.hide_post(post=idea, actor=world["manager_a"], reason="Doublon")
    with pytest.raises(Idea.DoesNotExist):
        ideas.idea_vote(idea=stale, user=world["member_a"])
    assert _counted(idea) == (0, 0)


@pytest.mark.parametrize("status", ["done", "declined"])
def test_votes_are_closed_once_an_idea_is_done_or_declined(world, status):
    idea = _idea(world)
    ideas.idea_vote(idea=idea, user=world["nomad_a"])
    stale = Idea.objects.get(pk=idea.pk)
    ideas.idea_answer(idea=idea, actor=world["manager_a"], status=status, answer="<p>Voilà.</p>")
    for attempt in (ideas.idea_vote, ideas.idea_unvote):
        for given in (stale, Idea.objects.get(pk=idea.pk)):
            with pytest.raises(ValidationError, match="votes are closed") as error:
                attempt(
                    idea=given, user=world["member_a" if attempt == ideas.idea_vote else "nomad_a"]
                )
            assert error.value.code == "closed"
    assert _counted(idea) == (1, 1)


def test_a_planned_idea_still_takes_votes(world):
    idea = _idea(world)
    ideas.idea_answer(idea=idea, actor=world["manager_a"], status="planned", answer="")
    ideas.idea_vote(idea=Idea.objects.get(pk=idea.pk), user=world["member_a"])
    assert _counted(idea) == (1, 1)


# The team's answer -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["manager_a", "staff_a", "coordinator"])
def test_the_place_team_answers_an_idea_and_it_is_audited(world, who):
    idea = _idea(world)
    answered = ideas.idea_answer(
        idea=idea,
        actor=world[who],
        status="planned",
        answer="<p>Dès mars <script>alert(1)</script>!</p>",
    )
    idea.refresh_from_db()
    assert (idea.status, idea.answered_by) == ("planned", world[who])
    assert idea.answered_at is not None and answered.pk == idea.pk
    assert "<script" not in idea.answer and "Dès mars" in idea.answer
    entry = AuditEntry.objects.get(action="community.idea_answer")
    assert (entry.actor, entry.place, entry.target_id) == (world[who], world["a"], str(idea.pk))
    assert entry.details == {"from": "new", "to": "planned"}


@pytest.mark.parametrize("who", ["member_a", "nomad_a", "manager_b", "member_b", "stranger"])
def test_nobody_else_answers_an_idea(world, who):
    idea = _idea(world)
    with pytest.raises(PermissionError):
        ideas.idea_answer(idea=idea, actor=world[who], status="done", answer="<p>Fait</p>")
    idea.refresh_from_db()
    assert idea.status == "new" and not idea.answer
    assert not AuditEntry.objects.filter(action="community.idea_answer").exists()


def test_declining_needs_a_reason(world):
    idea = _idea(world)
    with pytest.raises(ValidationError) as error:
        ideas.idea_answer(idea=idea, actor=world["manager_a"], status="declined", answer="<p> </p>")
    assert "answer" in error.value.message_dict
    idea.refresh_from_db()
    assert idea.status == "new"
    assert not AuditEntry.objects.exists()


def test_an_unknown_status_is_refused(world):
    idea = _idea(world)
    with pytest.raises(ValidationError) as error:
        ideas.idea_answer(idea=idea, actor=world["manager_a"], status="maybe", answer="")
    assert "status" in error.value.message_dict


def test_a_hidden_idea_is_not_answered(world):
    idea = _idea(world)
    services.hide_post(post=idea, actor=world["manager_a"], reason="Doublon")
    with pytest.raises(ValidationError, match="hidden"):
        ideas.idea_answer(idea=idea, actor=world["manager_a"], status="done", answer="")
    assert Idea.objects.get(pk=idea.pk).status == "new"


def test_back_to_new_without_words_is_not_an_answer(world, django_capture_on_commit_callbacks):
    idea = _idea(world)
    ideas.idea_answer(idea=idea, actor=world["manager_a"], status="planned", answer="<p>Oui</p>")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        ideas.idea_answer(idea=idea, actor=world["manager_a"], status="new", answer="")
    idea.refresh_from_db()
    assert (idea.status, idea.answer, idea.answered_at, idea.answered_by) == ("new", "", None, None)
    assert mail.outbox == []


def test_the_author_and_the_voters_are_told_in_their_language(
    world, django_capture_on_commit_callbacks
):
    world["member_a"].language = "es"
    world["member_a"].save()
    world["nomad_a"].language = "en"
    world["nomad_a"].save()
    idea = _idea(world)
    for who in ("member_a", "nomad_a", "staff_a", "manager_a"):
        ideas.idea_vote(idea=idea, user=world[who])
    with django_capture_on_commit_callbacks(execute=True):
        ideas.idea_answer(
            idea=idea,
            actor=world["manager_a"],
            status="declined",
            answer="<p>Pas de place pour l&#39;instant &amp; pas de budget.</p>",
        )
    by_address = {message.to[0]: message for message in mail.outbox}
    # The author (once, though they voted too) and the other voters, never the one who answered.
    assert set(by_address) == {
        world["member_a"].email,
        world["nomad_a"].email,
        world["staff_a"].email,
    }
    spanish = by_address[world["member_a"].email]
    assert spanish.body.startswith("Hola:")
    assert "Pas de place pour l'instant & pas de budget." in spanish.body
    assert by_address[world["nomad_a"].email].body.startswith("Hello,")
    assert "answered an idea you voted for" in by_address[world["nomad_a"].email].body
    assert by_address[world["staff_a"].email].body.startswith("Bonjour")
    assert all(f"/community/ideas/{idea.pk}/" in message.body for message in mail.outbox)
    assert Notification.objects.filter(user=world["member_a"]).count() == 1


def test_answers_follow_the_digest_choice(world, django_capture_on_commit_callbacks):
    services.notification_settings_save(
        user=world["member_a"], frequency="weekly", notify_matches=True
    )
    idea = _idea(world)
    with django_capture_on_commit_callbacks(execute=True):
        ideas.idea_answer(idea=idea, actor=world["manager_a"], status="planned", answer="")
    assert mail.outbox == []
    (news,) = Notification.objects.filter(user=world["member_a"])
    assert news.sent_at is None and news.url.endswith(f"/community/ideas/{idea.pk}/")


# Lists -----------------------------------------------------------------------------------------


def test_the_box_lists_by_votes_or_newest_and_filters_by_status(world):
    first = _idea(world, title="Des casiers fermés à clé")
    second = _idea(world, title="Un atelier vélo")
    third = _idea(world, title="Un repair café le samedi")
    for who in ("member_a", "nomad_a"):
        ideas.idea_vote(idea=second, user=world[who])
    ideas.idea_vote(idea=first, user=world["member_a"])
    ideas.idea_answer(idea=third, actor=world["manager_a"], status="planned", answer="")
    place = world["a"]
    assert list(ideas.ideas_for(place)) == [second, first, third]
    assert list(ideas.ideas_for(place, order="recent")) == [third, second, first]
    assert list(ideas.ideas_for(place, status="planned")) == [third]
    assert list(ideas.ideas_for(world["b"])) == []


def test_hidden_ideas_are_listed_only_for_the_team_and_their_author(world):
    shown = _idea(world, title="Un atelier vélo")
    hidden = _idea(world, title="Publicité", author="nomad_a")
    services.hide_post(post=hidden, actor=world["staff_a"], reason="Publicité")
    place = world["a"]
    assert list(ideas.ideas_for(place)) == [shown]
    assert list(ideas.ideas_for(place, user=world["member_a"])) == [shown]
    assert set(ideas.ideas_for(place, user=world["nomad_a"])) == {shown, hidden}
    assert set(ideas.ideas_for(place, user=world["manager_a"])) == {shown, hidden}
    assert set(ideas.ideas_for(place, user=world["coordinator"])) == {shown, hidden}
    assert list(ideas.ideas_for(place, user=world["manager_b"])) == [shown]


def test_the_hub_shows_the_most_supported_open_ideas(world):
    made = [_idea(world, title=f"Idée {n}") for n in range(7)]
    for idea, voters in zip(made, (0, 1, 2, 3, 0, 0, 0), strict=True):
        for who in ("member_a", "nomad_a", "staff_a")[:voters]:
            ideas.idea_vote(idea=idea, user=world[who])
    ideas.idea_answer(idea=made[3], actor=world["manager_a"], status="done", answer="")
    services.hide_post(post=made[2], actor=world["manager_a"], reason="Doublon")
    hub = ideas.for_place(world["a"], limit=3)
    assert hub[:1] == [made[1]] and len(hub) == 3
    assert made[2] not in hub and made[3] not in hub
    assert len(ideas.for_place(world["a"])) == 5
