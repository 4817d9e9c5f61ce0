"""The skills exchange in the API: status codes and shapes; matches for the author only; private
replies never read by a third member nor by the place's team; closed posts and second thanks
answered 409; hidden posts 404; bursts 429 with nothing written."""

import json

import pytest
from django.core import mail
from django.utils import translation

from maillage.accounts.services import api_token_create
from maillage.api import api  # noqa: F401 (every router and its schemas are loaded)
from maillage.community import exchange, services
from maillage.community.models import Reply, SkillPost, Thanks
from maillage.members import services as member_services
from tests.community.factories import resident_of, skill_post_at
from tests.factories import PlaceFactory, UserFactory, make_coordinator, make_manager

pytestmark = pytest.mark.django_db

API = "/api/v1/community/skills"
POST_KEYS = {
    "id",
    "kind",
    "title",
    "body",
    "place",
    "author",
    "skills",
    "created_at",
    "closed_at",
    "is_open",
    "hidden",
    "url",
}


@pytest.fixture(autouse=True)
def _messages_in_english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


def bearer(user) -> dict[str, str]:
    _token, raw = api_token_create(user=user)
    return {"authorization": f"Bearer {raw}"}


def send(client, method, path, body=None, user=None):
    kwargs = {"headers": bearer(user) if user else {}}
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    return getattr(client, method.lower())(path, **kwargs)


@pytest.fixture
def place():
    return PlaceFactory(name="POLeN", slug="polen")


@pytest.fixture
def post(place):
    author = resident_of(place, full_name="Roald Martin", email="roald@example.org")
    return skill_post_at(place, author=author, body="<p>Le soir</p>")


def test_posting_an_offer_answers_201_with_the_post(client, place):
    author = resident_of(place, full_name="Catherine Vidal")
    body = {
        "place": "polen",
        "kind": "offer",
        "title": "Je donne des cours de compta",
        "body": "<p>Bonjour</p><script>alert(1)</script>",
        "skills": ["accounting"],
        "free_tags": ["Bilan annuel"],
    }
    response = send(client, "POST", API, body, author)
    assert response.status_code == 201, response.content
    data = response.json()
    assert set(data) == POST_KEYS
    assert data["body"] == "<p>Bonjour</p>"
    assert data["author"] == {"id": author.pk, "name": "Catherine V."}
    assert data["place"] == {"slug": "polen", "name": "POLeN"}
    assert data["skills"] == [
        {"code": "accounting", "label": "Accounting"},
        {"code": "", "label": "Bilan annuel"},
    ]
    assert data["is_open"] and data["closed_at"] is None and not data["hidden"]
    assert data["created_at"].endswith(("+01:00", "+02:00"))
    assert data["url"].endswith(f"/community/skills/{data['id']}/")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "swap"}, "kind"),
        ({"skills": [], "free_tags": []}, "skills"),
        ({"skills": ["unknown"]}, "skills"),
        ({"title": ""}, "title"),
        ({"title": "a\x00b"}, "title"),
    ],
)
def test_invalid_posts_answer_400_naming_the_field(client, place, body, field):
    author = resident_of(place)
    given = {"place": "polen", "kind": "offer", "title": "Aide", "skills": ["accounting"], **body}
    response = send(client, "POST", API, given, author)
    assert response.status_code == 400
    assert field in response.json()["details"]
    assert not SkillPost.objects.exists()


def test_posting_needs_a_token_and_a_role_at_the_place(client, place):
    body = {"place": "polen", "kind": "offer", "title": "Aide", "skills": ["accounting"]}
    assert send(client, "POST", API, body).status_code == 401
    member_of_b = resident_of(PlaceFactory())
    assert send(client, "POST", API, body, member_of_b).status_code == 403
    unpublished = PlaceFactory(slug="secret", is_published=False)
    assert send(client, "POST", API, {**body, "place": "secret"}, member_of_b).status_code == 404
    assert send(client, "POST", API, {**body, "place": "nowhere"}, member_of_b).status_code == 404
    assert send(client, "POST", API, {**body, "place": "a b"}, member_of_b).status_code == 404
    assert not SkillPost.objects.exists()
    # The team of the place and the coordinators of its networks post there.
    assert send(client, "POST", API, body, make_manager(place)).status_code == 201
    network = place.networks.create(slug="solozere", name="Solozère")
    assert send(client, "POST", API, body, make_coordinator(network)).status_code == 201
    assert unpublished.pk


def test_the_list_filters_and_paginates(client, place):
    author = resident_of(place)
    offer = skill_post_at(place, author=author, title="Compta", skills=["accounting"])
    request = skill_post_at(
        place, author=author, kind="request", title="Dossier", skills=["grant_writing"]
    )
    closed = skill_post_at(place, author=author, title="Vieux")
    exchange.skillpost_close(post=closed, actor=author)
    hidden = skill_post_at(place, author=author, title="Spam")
    services.hide_post(post=hidden, actor=make_manager(place), reason="Spam")
    data = send(client, "GET", API).json()
    assert data["count"] == 2
    assert [item["id"] for item in data["results"]] == [request.pk, offer.pk]
    assert [i["id"] for i in send(client, "GET", API + "?kind=offer").json()["results"]] == [
        offer.pk
    ]
    assert send(client, "GET", API + "?skill=grant_writing").json()["count"] == 1
    assert send(client, "GET", API + "?q=comptabilite").json()["count"] == 1
    assert send(client, "GET", API + "?place=polen&page_size=1&page=2").json()["count"] == 2
    assert len(send(client, "GET", API + "?page_size=1&page=2").json()["results"]) == 1
    assert send(client, "GET", API + "?place=nowhere").json()["count"] == 0
    assert send(client, "GET", API + "?kind=swap").status_code == 400
    assert send(client, "GET", API + "?page=0").status_code == 400


def test_a_hidden_or_unknown_post_is_not_found_but_for_its_author_and_team(client, place, post):
    services.hide_post(post=post, actor=make_manager(place), reason="Publicité")
    assert send(client, "GET", f"{API}/{post.pk}").status_code == 404
    assert send(client, "GET", f"{API}/{post.pk}", user=resident_of(place)).status_code == 404
    mine = send(client, "GET", f"{API}/{post.pk}", user=post.author)
    assert mine.status_code == 200 and mine.json()["hidden"]
    assert send(client, "GET", f"{API}/{post.pk}", user=make_manager(place)).status_code == 200
    assert send(client, "GET", f"{API}/987654").status_code == 404
    assert send(client, "GET", f"{API}/{2**63}").status_code in (400, 404)
    reply = send(client, "POST", f"{API}/{post.pk}/replies", {"body": "Hé"}, resident_of(place))
    assert reply.status_code == 404
    assert not Reply.objects.exists()


def test_the_author_patches_and_closes_others_get_403(client, place, post):
    other = resident_of(place)
    patch = {"title": "Nouveau titre", "skills": ["accounting"]}
    assert send(client, "PATCH", f"{API}/{post.pk}", patch).status_code == 401
    assert send(client, "PATCH", f"{API}/{post.pk}", patch, other).status_code == 403
    assert send(client, "POST", f"{API}/{post.pk}/close", user=other).status_code == 403
    response = send(client, "PATCH", f"{API}/{post.pk}", patch, post.author)
    assert response.status_code == 200
    assert response.json()["title"] == "Nouveau titre"
    assert [s["code"] for s in response.json()["skills"]] == ["accounting"]
    assert send(client, "PATCH", f"{API}/{post.pk}", {"skills": []}, post.author).status_code == 400
    assert send(client, "PATCH", f"{API}/{post.pk}", [1], post.author).status_code == 400
    closed = send(client, "POST", f"{API}/{post.pk}/close", user=post.author)
    assert closed.status_code == 200 and not closed.json()["is_open"]
    assert send(client, "POST", f"{API}/{post.pk}/close", user=post.author).status_code == 409


def test_matches_are_for_the_author_only(client, place, post):
    nearby = PlaceFactory(name="MSAP Florac", latitude=44.3247, longitude=3.5961)
    request = skill_post_at(nearby, kind="request", title="Besoin d'un dossier")
    helper = resident_of(place, full_name="Basile Martin")
    member_services.profile_save(user=helper, visibility="public", skills=["grant_writing"])
    # Roald's offer: requests only.
    response = send(client, "GET", f"{API}/{post.pk}/matches", user=post.author)
    assert response.status_code == 200
    data = response.json()
    assert data["radius_km"] == 50 and data["count"] == 1
    (match,) = data["results"]
    assert match["kind"] == "post" and match["post"]["id"] == request.pk
    assert match["person"] is None and match["tier"] == 1
    assert match["place"] == {"slug": nearby.slug, "name": "MSAP Florac"}
    assert 0 < match["distance_km"] <= 50
    assert match["skills"] == ["Funding applications"]
    # The request's author sees Roald's offer and Basile (a public profile at POLeN).
    theirs = send(client, "GET", f"{API}/{request.pk}/matches", user=request.author).json()
    # Both at POLeN, one skill each: the newest first (Basile's profile, saved after the post).
    assert [m["kind"] for m in theirs["results"]] == ["person", "post"]
    assert theirs["results"][0]["person"] == {"id": helper.pk, "name": "Basile M."}
    assert theirs["results"][0]["person_url"].endswith(f"/members/{helper.pk}/")
    assert theirs["results"][1]["post"]["id"] == post.pk
    # Nobody else learns anything, not even that the post has matches.
    assert send(client, "GET", f"{API}/{post.pk}/matches").status_code == 401
    for someone in (resident_of(place), make_manager(place), helper):
        answer = send(client, "GET", f"{API}/{post.pk}/matches", user=someone)
        assert answer.status_code == 404
    assert send(client, "GET", f"{API}/987654/matches", user=helper).status_code == 404


def test_private_replies_never_leak_to_a_third_member_nor_to_the_team(client, place, post):
    first = resident_of(place, full_name="Catherine Vidal", email="catherine@example.org")
    second = resident_of(place)
    response = send(client, "POST", f"{API}/{post.pk}/replies", {"body": "Je suis là"}, first)
    assert response.status_code == 201
    assert response.json()["sender"] == {"id": first.pk, "name": "Catherine V."}
    assert response.json()["mine"] is True
    send(client, "POST", f"{API}/{post.pk}/replies", {"body": "Moi aussi"}, second)
    author_view = send(client, "GET", f"{API}/{post.pk}/replies", user=post.author).json()
    assert [r["body"] for r in author_view["results"]] == ["Je suis là", "Moi aussi"]
    assert "catherine@example.org" not in json.dumps(author_view)
    own = send(client, "GET", f"{API}/{post.pk}/replies", user=second).json()
    assert [r["body"] for r in own["results"]] == ["Moi aussi"]
    for outsider in (resident_of(place), make_manager(place), UserFactory()):
        seen = send(client, "GET", f"{API}/{post.pk}/replies", user=outsider).json()
        assert seen == {"count": 0, "results": []}
    assert send(client, "GET", f"{API}/{post.pk}/replies").status_code == 401
    # The post itself shows no reply to anybody.
    assert "Je suis là" not in send(client, "GET", f"{API}/{post.pk}").content.decode()


def test_replies_refused_on_ones_own_or_a_closed_post(client, place, post):
    own = send(client, "POST", f"{API}/{post.pk}/replies", {"body": "Moi"}, post.author)
    assert own.status_code == 400
    empty = send(client, "POST", f"{API}/{post.pk}/replies", {"body": "  "}, resident_of(place))
    assert empty.status_code == 400
    exchange.skillpost_close(post=post, actor=post.author)
    late = send(client, "POST", f"{API}/{post.pk}/replies", {"body": "Hé"}, resident_of(place))
    assert late.status_code == 409
    assert late.json()["message"] == "This post is closed: replies are no longer possible."
    assert send(client, "POST", f"{API}/{post.pk}/replies", {"body": "x"}).status_code == 401
    assert not Reply.objects.exists()


def test_a_reply_emails_the_author(client, place, post, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        send(client, "POST", f"{API}/{post.pk}/replies", {"body": "Bonjour"}, resident_of(place))
    assert [message.to for message in mail.outbox] == [["roald@example.org"]]


def test_thanks_once_per_person_by_the_author(client, place, post):
    helper = resident_of(place, full_name="Basile Martin")
    stranger = resident_of(place)
    send(client, "POST", f"{API}/{post.pk}/replies", {"body": "Je peux aider"}, helper)
    url = f"{API}/{post.pk}/thanks"
    assert send(client, "POST", url, {"receiver": helper.pk}).status_code == 401
    assert send(client, "POST", url, {"receiver": helper.pk}, stranger).status_code == 403
    assert send(client, "POST", url, {"receiver": stranger.pk}, post.author).status_code == 400
    assert send(client, "POST", url, {"receiver": 987654}, post.author).status_code == 400
    assert send(client, "POST", url, {"receiver": "x"}, post.author).status_code == 400
    assert not Thanks.objects.exists()
    response = send(client, "POST", url, {"receiver": helper.pk, "message": "Merci"}, post.author)
    assert response.status_code == 201
    data = response.json()
    assert set(data) == {"id", "post", "receiver", "message", "created_at", "post_closed"}
    assert data["receiver"] == {"id": helper.pk, "name": "Basile M."} and data["post_closed"]
    again = send(client, "POST", url, {"receiver": helper.pk}, post.author)
    assert again.status_code == 409
    assert Thanks.objects.count() == 1


def test_a_burst_of_posts_gets_429_and_writes_nothing(client, place, settings):
    settings.MAILLAGE_COMMUNITY_POSTS = "3/1h"
    author = resident_of(place)
    body = {"place": "polen", "kind": "offer", "title": "Aide", "skills": ["accounting"]}
    codes = [send(client, "POST", API, body, author).status_code for _ in range(5)]
    assert codes == [201, 201, 201, 429, 429]
    assert SkillPost.objects.count() == 3
    post = SkillPost.objects.first()
    refused = send(client, "POST", f"{API}/{post.pk}/replies", {"body": "Spam"}, author)
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert not Reply.objects.exists()
