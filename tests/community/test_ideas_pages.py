"""Pages of the idea box: a place's box (votes, statuses, filters, pages), posting an idea, an
idea's page with the vote button (a plain POST) and the team's answer form. Refusals write
nothing. Runs on SQLite and, with DATABASE_URL, on PostgreSQL."""

import re

import pytest
from django.urls import reverse

from maillage.accounts.models import PlaceRole
from maillage.community import ideas, services
from maillage.community.models import Idea, IdeaVote
from maillage.core.models import AuditEntry
from tests.factories import NetworkFactory, PlaceFactory, UserFactory, make_coordinator

pytestmark = pytest.mark.django_db


def _role(place, role, **kwargs):
    user = UserFactory(language="en", **kwargs)
    PlaceRole.objects.create(user=user, place=place, role=role)
    return user


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def world():
    network = NetworkFactory()
    place_a, place_b = PlaceFactory(name="POLeN"), PlaceFactory(name="La Loco")
    place_a.networks.add(network)
    return {
        "a": place_a,
        "b": place_b,
        "member_a": _role(place_a, PlaceRole.Role.RESIDENT, full_name="Catherine Vidal"),
        "nomad_a": _role(place_a, PlaceRole.Role.NOMAD, full_name="Basile Martin"),
        "staff_a": _role(place_a, PlaceRole.Role.STAFF, full_name="Jean Dupont"),
        "manager_a": _role(place_a, PlaceRole.Role.MANAGER, full_name="Lucas Gestionnaire"),
        "manager_b": _role(place_b, PlaceRole.Role.MANAGER, full_name="Luc Brun"),
        "coordinator": make_coordinator(network, language="en"),
        "stranger": UserFactory(full_name="Justine Petit", language="en"),
    }


def _idea(world, author="member_a", title="Un atelier vélo", **kwargs):
    return ideas.idea_post(
        author=world[author], place=world["a"], title=title, body="<p>Le mercredi.</p>", **kwargs
    )


def _words(response) -> str:
    """The page's text without its tags, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def _box(world, place="a"):
    return reverse("community:ideas", kwargs={"slug": world[place].slug})


# The box ---------------------------------------------------------------------------------------


def test_the_box_is_public_sorted_by_votes_with_counts_and_answers(world, client):
    low = _idea(world, title="Des casiers fermés à clé")
    high = _idea(world, title="Un repair café le samedi")
    ideas.idea_vote(idea=high, user=world["nomad_a"])
    ideas.idea_answer(
        idea=high, actor=world["manager_a"], status="planned", answer="<p>En avril !</p>"
    )
    response = client.get(_box(world))
    assert response.status_code == 200
    text = response.content.decode()
    assert text.index("Un repair café le samedi") < text.index("Des casiers fermés à clé")
    assert "planned" in text and "En avril !" in text and "1 vote" in _words(response)
    assert "Catherine V." in text and world["member_a"].email not in text
    assert "Log in to post an idea" in text
    assert "The people of the place" in text  # who may vote
    assert f'action="{reverse("community:idea_vote", args=[low.pk])}"' not in text
    recent = client.get(_box(world) + "?order=recent").content.decode()
    assert recent.index("Un repair café") < recent.index("Des casiers")
    assert "Des casiers" not in client.get(_box(world) + "?status=planned").content.decode()


def test_the_people_of_the_place_see_a_vote_button_and_others_an_explanation(world, client):
    idea = _idea(world)
    vote_url = reverse("community:idea_vote", args=[idea.pk])
    client.force_login(world["nomad_a"])
    assert f'action="{vote_url}"' in client.get(_box(world)).content.decode()
    ideas.idea_vote(idea=idea, user=world["nomad_a"])
    assert "Remove my vote" in client.get(_box(world)).content.decode()
    client.force_login(world["manager_b"])
    text = client.get(_box(world)).content.decode()
    assert f'action="{vote_url}"' not in text
    assert "You have no role at this place, so you cannot vote here." in text


def test_the_box_is_paginated(world, client):
    for n in range(23):
        _idea(world, title=f"Idée numéro {n:02d}")
    first = client.get(_box(world)).content.decode()
    assert "23 ideas" in first and "Page 1 of 2" in first
    second = client.get(_box(world) + "?page=2").content.decode()
    assert second.count('class="card idea-card"') == 3


def test_hidden_ideas_are_shown_only_to_the_team_and_their_author(world, client):
    idea = _idea(world, title="Une idée masquée")
    services.hide_post(post=idea, actor=world["manager_a"], reason="Doublon")
    assert "Une idée masquée" not in client.get(_box(world)).content.decode()
    detail = reverse("community:idea", args=[idea.pk])
    assert client.get(detail).status_code == 404
    client.force_login(world["nomad_a"])
    assert client.get(detail).status_code == 404
    for who in ("member_a", "staff_a"):
        client.force_login(world[who])
        assert "Une idée masquée" in client.get(_box(world)).content.decode()
        page = client.get(detail)
        assert page.status_code == 200 and "Doublon" in page.content.decode()


@pytest.mark.parametrize("name", ["ideas", "ideas_new"])
def test_an_unknown_or_unpublished_place_has_no_box(world, client, name):
    client.force_login(world["manager_a"])
    assert client.get(reverse(f"community:{name}", args=["nowhere"])).status_code == 404
    world["a"].is_published = False
    world["a"].save()
    assert client.get(reverse(f"community:{name}", args=[world["a"].slug])).status_code == 404


def test_the_ideas_of_an_unpublished_place_are_gone(world, client):
    idea = _idea(world)
    world["a"].is_published = False
    world["a"].save()
    client.force_login(world["member_a"])
    assert client.get(reverse("community:idea", args=[idea.pk])).status_code == 404
    response = client.post(reverse("community:idea_vote", args=[idea.pk]), {"action": "vote"})
    assert response.status_code == 404
    assert not IdeaVote.objects.exists()


# Posting ---------------------------------------------------------------------------------------


def test_posting_needs_an_account(world, client):
    url = reverse("community:ideas_new", args=[world["a"].slug])
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    client.post(url, {"title": "Idée", "body": "Texte"})
    assert not Idea.objects.exists()


def test_anyone_signed_in_posts_an_idea_sanitised(world, client):
    client.force_login(world["stranger"])
    url = reverse("community:ideas_new", args=[world["a"].slug])
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"title": "Un atelier vélo", "body": "<p>Avec des outils</p><script>alert(1)</script>"}
    )
    idea = Idea.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("community:idea", args=[idea.pk])
    assert idea.author == world["stranger"] and "<script" not in idea.body
    page = client.get(response["Location"]).content.decode()
    assert "Avec des outils" in page and "alert(1)" not in page


def test_a_wrong_idea_is_shown_again_with_its_errors_and_nothing_is_written(world, client):
    client.force_login(world["member_a"])
    url = reverse("community:ideas_new", args=[world["a"].slug])
    response = client.post(url, {"title": "", "body": "Une idée"})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    response = client.post(url, {"title": "Une idée", "body": "<script>x</script>"})
    assert response.status_code == 400
    assert "Write a few words." in response.content.decode()
    assert not Idea.objects.exists()


def test_a_burst_of_posts_is_refused_and_nothing_more_is_written(world, client, settings):
    settings.MAILLAGE_COMMUNITY_POSTS = "3/1h"
    client.force_login(world["member_a"])
    url = reverse("community:ideas_new", args=[world["a"].slug])
    codes = [
        client.post(url, {"title": f"Idée {n}", "body": "Une idée"}).status_code for n in range(5)
    ]
    assert codes == [302, 302, 302, 429, 429]
    assert Idea.objects.count() == 3


# Voting ----------------------------------------------------------------------------------------


def test_a_member_votes_and_takes_the_vote_back_and_comes_back_to_the_box(world, client):
    idea = _idea(world)
    client.force_login(world["nomad_a"])
    url = reverse("community:idea_vote", args=[idea.pk])
    back = _box(world) + "?order=recent"
    response = client.post(url, {"action": "vote", "next": back})
    assert response.status_code == 302 and response["Location"] == back
    assert Idea.objects.get(pk=idea.pk).votes == 1
    again = client.post(url, {"action": "vote", "next": back}, follow=True)
    assert "You have already voted for this idea." in again.content.decode()
    assert Idea.objects.get(pk=idea.pk).votes == 1
    client.post(url, {"action": "unvote"})
    assert Idea.objects.get(pk=idea.pk).votes == 0 and not IdeaVote.objects.exists()


def test_the_vote_goes_back_only_to_this_site(world, client):
    idea = _idea(world)
    client.force_login(world["nomad_a"])
    url = reverse("community:idea_vote", args=[idea.pk])
    response = client.post(url, {"action": "vote", "next": "https://evil.example/"})
    assert response["Location"] == reverse("community:idea", args=[idea.pk])


def test_someone_without_a_role_at_the_place_cannot_vote(world, client):
    idea = _idea(world)
    url = reverse("community:idea_vote", args=[idea.pk])
    for who in ("manager_b", "stranger"):
        client.force_login(world[who])
        assert client.post(url, {"action": "vote"}).status_code == 403
    client.logout()
    response = client.post(url, {"action": "vote"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not IdeaVote.objects.exists()


def test_opening_the_vote_address_leads_to_the_idea(world, client):
    idea = _idea(world)
    client.force_login(world["nomad_a"])
    response = client.get(reverse("community:idea_vote", args=[idea.pk]))
    assert response["Location"] == reverse("community:idea", args=[idea.pk])
    assert not IdeaVote.objects.exists()


def test_a_done_idea_refuses_votes_with_a_clear_message(world, client):
    idea = _idea(world)
    ideas.idea_answer(idea=idea, actor=world["manager_a"], status="done", answer="<p>Fait</p>")
    client.force_login(world["nomad_a"])
    url = reverse("community:idea_vote", args=[idea.pk])
    page = client.post(url, {"action": "vote"}, follow=True).content.decode()
    assert "This idea is done: votes are closed." in page
    assert not IdeaVote.objects.exists()


def test_a_burst_of_votes_is_refused(world, client, settings):
    settings.MAILLAGE_COMMUNITY_POSTS = "2/1h"
    idea = _idea(world)
    client.force_login(world["nomad_a"])
    url = reverse("community:idea_vote", args=[idea.pk])
    codes = [client.post(url, {"action": a}).status_code for a in ("vote", "unvote", "vote")]
    assert codes == [302, 302, 429]
    assert not IdeaVote.objects.exists()


# An idea's page and the team's answer ----------------------------------------------------------


def test_the_idea_page_shows_the_answer_form_only_to_the_team(world, client):
    idea = _idea(world)
    url = reverse("community:idea", args=[idea.pk])
    answer_url = reverse("community:idea_answer", args=[idea.pk])
    page = client.get(url)
    assert page.status_code == 200 and answer_url not in page.content.decode()
    for who, sees in (("member_a", False), ("manager_b", False), ("staff_a", True)):
        client.force_login(world[who])
        text = client.get(url).content.decode()
        assert (answer_url in text) is sees
        # Anyone but its author may report it.
        reported = reverse("community:report", args=["idea", idea.pk]) in text
        assert reported is (who != "member_a")


def test_the_team_answers_from_the_idea_page(world, client):
    idea = _idea(world)
    client.force_login(world["staff_a"])
    response = client.post(
        reverse("community:idea_answer", args=[idea.pk]),
        {"status": "declined", "answer": "<p>Pas de local.</p><script>x</script>"},
    )
    assert response.status_code == 302
    idea.refresh_from_db()
    assert idea.status == "declined" and idea.answer == "<p>Pas de local.</p>"
    assert AuditEntry.objects.filter(action="community.idea_answer").count() == 1


def test_declining_without_a_reason_shows_the_error(world, client):
    idea = _idea(world)
    client.force_login(world["manager_a"])
    response = client.post(
        reverse("community:idea_answer", args=[idea.pk]), {"status": "declined", "answer": ""}
    )
    assert response.status_code == 400
    assert "Explain why the idea is declined." in response.content.decode()
    assert Idea.objects.get(pk=idea.pk).status == "new"


def test_others_cannot_answer(world, client):
    idea = _idea(world)
    url = reverse("community:idea_answer", args=[idea.pk])
    data = {"status": "done", "answer": "Fait"}
    for who, code in (("member_a", 403), ("nomad_a", 403), ("manager_b", 404), ("stranger", 404)):
        client.force_login(world[who])
        assert client.post(url, data).status_code == code, who
    client.logout()
    assert client.post(url, data)["Location"].startswith("/accounts/login/")
    assert Idea.objects.get(pk=idea.pk).status == "new"
    assert not AuditEntry.objects.filter(action="community.idea_answer").exists()
