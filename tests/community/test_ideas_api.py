"""The idea box in the API: shapes, codes (201, 204, 400, 401, 403, 404, 409, 429) and that every
refusal writes nothing. Runs on SQLite and, with DATABASE_URL, on PostgreSQL."""

import datetime as dt
import json

import pytest
from django.utils import translation

from maillage.accounts.models import PlaceRole
from maillage.accounts.services import api_token_create
from maillage.api import api  # noqa: F401 (every router and its schemas are loaded)
from maillage.community import ideas, services
from maillage.community.models import Idea, IdeaVote
from maillage.core.models import AuditEntry
from tests.factories import NetworkFactory, PlaceFactory, UserFactory, make_coordinator

pytestmark = pytest.mark.django_db

API = "/api/v1/community/ideas"
IDEA_KEYS = {
    "id",
    "place",
    "title",
    "body",
    "author",
    "status",
    "votes",
    "voted",
    "can_vote",
    "answer",
    "answered_at",
    "hidden",
    "created_at",
    "url",
}


@pytest.fixture(autouse=True)
def _messages_in_english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


def _role(place, role, **kwargs):
    user = UserFactory(**kwargs)
    PlaceRole.objects.create(user=user, place=place, role=role)
    return user


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
        "staff_a": _role(place_a, PlaceRole.Role.STAFF),
        "manager_a": _role(place_a, PlaceRole.Role.MANAGER),
        "manager_b": _role(place_b, PlaceRole.Role.MANAGER),
        "member_b": _role(place_b, PlaceRole.Role.RESIDENT),
        "coordinator": make_coordinator(network),
        "stranger": UserFactory(full_name="Justine Petit"),
    }


def _idea(world, author="member_a", title="Un atelier vélo"):
    return ideas.idea_post(
        author=world[author], place=world["a"], title=title, body="<p>Le mercredi.</p>"
    )


def send(client, method, path, body=None, user=None):
    headers = {}
    if user is not None:
        _token, raw = api_token_create(user=user)
        headers["authorization"] = f"Bearer {raw}"
    kwargs = {"headers": headers}
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    return client.generic(method, path, **kwargs)


# Reading --------------------------------------------------------------------------------------


def test_the_list_of_a_place_is_public_sorted_and_filtered(world, client):
    low = _idea(world, title="Des casiers fermés à clé")
    high = _idea(world, title="Un repair café le samedi")
    ideas.idea_vote(idea=high, user=world["nomad_a"])
    ideas.idea_answer(idea=low, actor=world["manager_a"], status="planned", answer="<p>Oui</p>")
    response = send(client, "GET", f"{API}?place={world['a'].slug}")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2 and [r["id"] for r in body["results"]] == [high.pk, low.pk]
    first = body["results"][0]
    assert set(first) == IDEA_KEYS
    assert first["author"] == "Catherine V." and world["member_a"].email not in response.text
    assert (first["votes"], first["voted"], first["can_vote"], first["hidden"]) == (
        1,
        False,
        False,
        False,
    )
    assert first["url"].endswith(f"/community/ideas/{high.pk}/")
    assert dt.datetime.fromisoformat(first["created_at"]).utcoffset() is not None
    recent = send(client, "GET", f"{API}?place={world['a'].slug}&order=recent").json()
    assert [r["id"] for r in recent["results"]] == [high.pk, low.pk]
    planned = send(client, "GET", f"{API}?place={world['a'].slug}&status=planned").json()
    assert [r["id"] for r in planned["results"]] == [low.pk]
    assert planned["results"][0]["answer"] == "<p>Oui</p>"
    assert planned["results"][0]["answered_at"] is not None
    page = send(client, "GET", f"{API}?place={world['a'].slug}&page=2&page_size=1").json()
    assert page["count"] == 2 and [r["id"] for r in page["results"]] == [low.pk]


def test_the_list_tells_the_caller_whether_they_voted_and_may_vote(world, client):
    idea = _idea(world)
    ideas.idea_vote(idea=idea, user=world["nomad_a"])
    (mine,) = send(client, "GET", f"{API}?place={world['a'].slug}", user=world["nomad_a"]).json()[
        "results"
    ]
    assert (mine["voted"], mine["can_vote"]) == (True, True)
    (theirs,) = send(
        client, "GET", f"{API}?place={world['a'].slug}", user=world["manager_b"]
    ).json()["results"]
    assert (theirs["voted"], theirs["can_vote"]) == (False, False)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("", 400),
        ("?place=nowhere", 404),
        ("?place=Not%20a%20slug", 404),
        ("?place={place}&status=maybe", 400),
        ("?place={place}&order=best", 400),
        ("?place={place}&page=0", 400),
    ],
)
def test_bad_list_queries(world, client, query, code):
    response = send(client, "GET", API + query.format(place=world["a"].slug))
    assert response.status_code == code
    assert set(response.json()) == {"message", "details"}


def test_an_unpublished_place_has_no_ideas_in_the_api(world, client):
    idea = _idea(world)
    world["a"].is_published = False
    world["a"].save()
    user = world["manager_a"]
    assert send(client, "GET", f"{API}?place={world['a'].slug}", user=user).status_code == 404
    assert send(client, "GET", f"{API}/{idea.pk}", user=user).status_code == 404
    assert send(client, "POST", f"{API}/{idea.pk}/vote", user=user).status_code == 404
    assert not IdeaVote.objects.exists()


def test_a_hidden_idea_exists_only_for_its_author_and_the_team(world, client):
    idea = _idea(world)
    services.hide_post(post=idea, actor=world["staff_a"], reason="Doublon")
    url = f"{API}/{idea.pk}"
    assert send(client, "GET", url).status_code == 404
    assert send(client, "GET", url, user=world["nomad_a"]).status_code == 404
    assert send(client, "GET", url, user=world["member_a"]).json()["hidden"] is True
    assert send(client, "GET", url, user=world["manager_a"]).status_code == 200
    listed = send(client, "GET", f"{API}?place={world['a'].slug}").json()
    assert listed["count"] == 0
    # Nobody votes on it, the team included; the team shows it again before answering.
    for who in ("member_a", "manager_a"):
        assert send(client, "POST", f"{url}/vote", user=world[who]).status_code == 404
    answer = {"status": "done", "answer": ""}
    assert send(client, "POST", f"{url}/answer", answer, world["manager_a"]).status_code == 409
    assert not IdeaVote.objects.exists() and Idea.objects.get(pk=idea.pk).status == "new"


def test_an_unknown_idea_is_404(client, world):
    assert send(client, "GET", f"{API}/999999").status_code == 404
    assert send(client, "GET", f"{API}/0").status_code == 400
    assert send(client, "GET", f"{API}/{2**63}").status_code == 400


# Posting --------------------------------------------------------------------------------------


def test_anyone_with_a_token_posts_an_idea(world, client):
    body = {
        "place": world["a"].slug,
        "title": "Des casiers fermés à clé",
        "body": "<p>Pour les nomades</p><script>alert(1)</script>",
    }
    response = send(client, "POST", API, body, world["stranger"])
    assert response.status_code == 201
    created = response.json()
    assert set(created) == IDEA_KEYS
    assert created["author"] == "Justine P." and created["status"] == "new"
    assert created["body"] == "<p>Pour les nomades</p>" and created["votes"] == 0
    assert Idea.objects.get().author == world["stranger"]


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"place": "{place}", "title": " ", "body": "<p>Oui</p>"}, 400, "title"),
        ({"place": "{place}", "title": "Idée", "body": "<script>x</script>"}, 400, "body"),
        ({"place": "{place}", "title": "Idée"}, 400, "body"),
        ({"place": "{place}", "title": "x" * 161, "body": "Oui"}, 400, "title"),
        ({"place": "{place}", "title": "Idée\x00", "body": "Oui"}, 400, "title"),
        ({"place": "nowhere", "title": "Idée", "body": "Oui"}, 404, None),
        (["not", "an", "object"], 400, None),
    ],
)
def test_a_wrong_idea_is_refused_and_nothing_is_written(world, client, body, code, field):
    if isinstance(body, dict):
        body = {k: v.format(place=world["a"].slug) for k, v in body.items()}
    response = send(client, "POST", API, body, world["member_a"])
    assert response.status_code == code
    if field:
        assert field in response.json()["details"]
    assert not Idea.objects.exists()


def test_posting_needs_a_token(world, client):
    body = {"place": world["a"].slug, "title": "Idée", "body": "Oui"}
    assert send(client, "POST", API, body).status_code == 401
    assert not Idea.objects.exists()


def test_a_burst_of_posts_gets_429_and_writes_nothing_more(world, client, settings):
    settings.MAILLAGE_COMMUNITY_POSTS = "3/1h"
    user = world["member_a"]
    codes = []
    for n in range(5):
        body = {"place": world["a"].slug, "title": f"Idée {n}", "body": "Oui"}
        response = send(client, "POST", API, body, user)
        codes.append(response.status_code)
    assert codes == [201, 201, 201, 429, 429]
    assert int(response["Retry-After"]) > 0
    assert Idea.objects.count() == 3


# Votes ----------------------------------------------------------------------------------------


def test_a_member_votes_once_and_takes_it_back(world, client):
    idea = _idea(world)
    url = f"{API}/{idea.pk}/vote"
    response = send(client, "POST", url, user=world["nomad_a"])
    assert response.status_code == 201
    assert (response.json()["votes"], response.json()["voted"]) == (1, True)
    again = send(client, "POST", url, user=world["nomad_a"])
    assert again.status_code == 409 and "already voted" in again.json()["message"]
    assert send(client, "DELETE", url, user=world["nomad_a"]).status_code == 204
    gone = send(client, "DELETE", url, user=world["nomad_a"])
    assert gone.status_code == 404 and "not voted" in gone.json()["message"]
    assert Idea.objects.get(pk=idea.pk).votes == 0 and not IdeaVote.objects.exists()


@pytest.mark.parametrize("who", ["manager_b", "member_b", "stranger"])
def test_people_outside_the_place_are_told_they_may_not_vote(world, client, who):
    idea = _idea(world)
    url = f"{API}/{idea.pk}/vote"
    refused = send(client, "POST", url, user=world[who])
    assert refused.status_code == 403 and "people of this place" in refused.json()["message"]
    assert send(client, "DELETE", url, user=world[who]).status_code == 403
    assert send(client, "POST", url).status_code == 401
    assert send(client, "DELETE", url).status_code == 401
    assert not IdeaVote.objects.exists() and Idea.objects.get(pk=idea.pk).votes == 0


@pytest.mark.parametrize("status", ["done", "declined"])
def test_a_closed_idea_refuses_votes_with_409(world, client, status):
    idea = _idea(world)
    ideas.idea_vote(idea=idea, user=world["nomad_a"])
    ideas.idea_answer(idea=idea, actor=world["manager_a"], status=status, answer="<p>Voilà</p>")
    url = f"{API}/{idea.pk}/vote"
    response = send(client, "POST", url, user=world["member_a"])
    assert response.status_code == 409 and "votes are closed" in response.json()["message"]
    assert send(client, "DELETE", url, user=world["nomad_a"]).status_code == 409
    assert Idea.objects.get(pk=idea.pk).votes == 1 and IdeaVote.objects.count() == 1


def test_a_burst_of_votes_gets_429(world, client, settings):
    settings.MAILLAGE_COMMUNITY_POSTS = "2/1h"
    idea = _idea(world)
    url = f"{API}/{idea.pk}/vote"
    codes = [
        send(client, method, url, user=world["nomad_a"]).status_code
        for method in ("POST", "DELETE", "POST")
    ]
    assert codes == [201, 204, 429]
    assert not IdeaVote.objects.exists()


# The team's answer ----------------------------------------------------------------------------


def test_the_team_answers_an_idea(world, client):
    idea = _idea(world)
    body = {"status": "planned", "answer": "<p>En avril</p><script>x</script>"}
    response = send(client, "POST", f"{API}/{idea.pk}/answer", body, world["staff_a"])
    assert response.status_code == 200
    answered = response.json()
    assert (answered["status"], answered["answer"]) == ("planned", "<p>En avril</p>")
    assert AuditEntry.objects.filter(action="community.idea_answer").count() == 1


@pytest.mark.parametrize(
    ("who", "code"),
    [("member_a", 403), ("nomad_a", 403), ("manager_b", 404), ("stranger", 404), (None, 401)],
)
def test_only_the_team_answers(world, client, who, code):
    idea = _idea(world)
    body = {"status": "done", "answer": "<p>Fait</p>"}
    user = world[who] if who else None
    assert send(client, "POST", f"{API}/{idea.pk}/answer", body, user).status_code == code
    assert Idea.objects.get(pk=idea.pk).status == "new"
    assert not AuditEntry.objects.filter(action="community.idea_answer").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "declined", "answer": ""}, "answer"),
        ({"status": "maybe", "answer": "Oui"}, "status"),
        ({"answer": "Oui"}, "status"),
    ],
)
def test_a_wrong_answer_is_400(world, client, body, field):
    idea = _idea(world)
    response = send(client, "POST", f"{API}/{idea.pk}/answer", body, world["manager_a"])
    assert response.status_code == 400 and field in response.json()["details"]
    assert Idea.objects.get(pk=idea.pk).status == "new"
