"""The projects and opportunities board in the API: shapes, codes (201, 400, 401, 403, 404,
409, 429) and that every refusal writes nothing; private replies never leak. Runs on SQLite
and, with DATABASE_URL, on PostgreSQL."""

import datetime as dt
import json

import pytest
from django.core import mail
from django.utils import timezone, translation

from maillage.accounts.models import PlaceRole
from maillage.accounts.services import api_token_create
from maillage.api import api  # noqa: F401 (every router and its schemas are loaded)
from maillage.community import board, services
from maillage.community.models import Notification, Opportunity, Reply
from tests.community.factories import opportunity_at, resident_of
from tests.factories import (
    NetworkFactory,
    PlaceFactory,
    UserFactory,
    make_coordinator,
    make_manager,
)

pytestmark = pytest.mark.django_db

API = "/api/v1/community/opportunities"
POST_KEYS = {
    "id",
    "kind",
    "kind_label",
    "place",
    "author",
    "is_mine",
    "title",
    "body",
    "skills",
    "deadline",
    "network_wide",
    "is_open",
    "closed_at",
    "hidden",
    "hidden_reason",
    "created_at",
    "updated_at",
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


def send(client, method, path, body=None, user=None, **params):
    kwargs = {"headers": bearer(user) if user else {}}
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    elif params:
        kwargs["data"] = params
    return getattr(client, method)(f"{API}{path}", **kwargs)


def assert_error(response, status) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"message", "details"}
    assert body["message"]
    return body


def rows() -> tuple[int, ...]:
    return (
        Opportunity.objects.count(),
        Opportunity.objects.filter(closed_at__isnull=False).count(),
        Reply.objects.count(),
        Notification.objects.count(),
    )


class World:
    """Network N holds place A; place B is in network M. A has a resident author, another
    resident, a staff member and a manager; N a coordinator; B a manager."""

    def __init__(self):
        self.n, self.m = NetworkFactory(slug="solozere"), NetworkFactory(slug="ailleurs")
        self.a = PlaceFactory(slug="polen", name="POLeN")
        self.b = PlaceFactory(slug="fablab-b", name="Fablab B")
        self.a.networks.add(self.n)
        self.b.networks.add(self.m)
        self.author = resident_of(self.a, full_name="Catherine Vidal")
        self.other = resident_of(self.a, full_name="Basile Martin")
        self.staff = UserFactory()
        PlaceRole.objects.create(user=self.staff, place=self.a, role=PlaceRole.Role.STAFF)
        self.manager = make_manager(self.a)
        self.coordinator = make_coordinator(self.n)
        self.manager_b = make_manager(self.b)
        self.post = opportunity_at(
            self.a,
            author=self.author,
            kind="volunteer",
            title="Bénévoles pour le repair café",
            skills=["repair"],
            free_tags=["Accueil"],
        )


@pytest.fixture
def w():
    return World()


def new_post(w, **extra):
    return {
        "place": w.a.slug,
        "kind": "job",
        "title": "Un poste de médiateur numérique",
        "body": "<p>CDI à temps partiel<script>x()</script></p>",
        "skills": ["digital_mediation"],
        "free_tags": ["Pédagogie"],
        **extra,
    }


# Reading ----------------------------------------------------------------------------------------


def test_the_list_is_public_and_shaped(client, w):
    response = send(client, "get", "", place=w.a.slug)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    (post,) = body["results"]
    assert set(post) == POST_KEYS
    assert post["author"] == "Catherine V."
    assert post["place"] == {"slug": "polen", "name": "POLeN"}
    assert post["skills"] == [
        {"code": "repair", "label": "Repair"},
        {"code": "", "label": "Accueil"},
    ]
    assert post["is_open"] is True and post["is_mine"] is False
    assert "+" in post["created_at"] or post["created_at"].endswith("Z")
    assert "@" not in json.dumps(body)  # never an email address


def test_list_filters_and_errors(client, w):
    opportunity_at(w.a, kind="job", title="Comptable", skills=["accounting"])
    opportunity_at(w.b, kind="job", title="Ailleurs")
    titles = lambda r: [p["title"] for p in r.json()["results"]]  # noqa: E731
    assert titles(send(client, "get", "", network="solozere", kind="job")) == ["Comptable"]
    assert titles(send(client, "get", "", skill="accounting")) == ["Comptable"]
    assert titles(send(client, "get", "", q="repair cafe")) == ["Bénévoles pour le repair café"]
    assert len(send(client, "get", "").json()["results"]) == 3
    assert_error(send(client, "get", "", kind="lottery"), 400)
    assert_error(send(client, "get", "", place="polen", network="solozere"), 400)
    assert_error(send(client, "get", "", place="nowhere"), 404)
    assert_error(send(client, "get", "", network="nowhere"), 404)
    assert_error(send(client, "get", "", page="0"), 400)


def test_include_closed(client, w):
    board.opportunity_close(post=w.post, actor=w.author)
    assert send(client, "get", "").json()["count"] == 0
    (post,) = send(client, "get", "", include_closed="true").json()["results"]
    assert post["is_open"] is False and post["closed_at"]


def test_a_hidden_post_is_gone_but_for_its_author_and_moderators(client, w):
    services.hide_post(post=w.post, actor=w.manager, reason="Publicité déguisée")
    path = f"/{w.post.pk}"
    assert_error(send(client, "get", path), 404)
    assert_error(send(client, "get", path, user=w.other), 404)
    assert_error(send(client, "get", path, user=w.manager_b), 404)
    mine = send(client, "get", path, user=w.author).json()
    assert mine["hidden"] is True and mine["hidden_reason"] == "Publicité déguisée"
    assert send(client, "get", path, user=w.manager).status_code == 200
    assert send(client, "get", "", user=w.other).json()["count"] == 0
    assert send(client, "get", "", user=w.author).json()["count"] == 1
    before = rows()
    assert_error(send(client, "post", f"{path}/replies", {"body": "Hello"}, user=w.other), 404)
    assert rows() == before


def test_unknown_ids(client, w):
    assert_error(send(client, "get", "/987654"), 404)
    assert send(client, "get", f"/{2**63}").status_code in (400, 404)


# Posting ----------------------------------------------------------------------------------------


def test_a_member_posts(client, w):
    deadline = (timezone.now() + dt.timedelta(days=20)).date().isoformat()
    response = send(client, "post", "", new_post(w, deadline=deadline), user=w.other)
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == POST_KEYS
    assert body["is_mine"] is True and body["deadline"] == deadline
    assert body["body"] == "<p>CDI à temps partiel</p>"
    assert body["skills"][0] == {"code": "digital_mediation", "label": "Digital mediation"}
    post = Opportunity.objects.get(pk=body["id"])
    assert post.author == w.other and post.place == w.a and post.network_wide


def test_writes_need_a_token(client, w):
    before = rows()
    assert_error(send(client, "post", "", new_post(w)), 401)
    assert_error(send(client, "patch", f"/{w.post.pk}", {"title": "x"}), 401)
    assert_error(send(client, "post", f"/{w.post.pk}/close", {}), 401)
    assert_error(send(client, "post", f"/{w.post.pk}/replies", {"body": "Hi"}), 401)
    assert_error(send(client, "get", f"/{w.post.pk}/replies"), 401)
    assert rows() == before


def test_a_member_of_a_cannot_post_at_b(client, w):
    before = rows()
    body = assert_error(
        send(client, "post", "", {**new_post(w), "place": "fablab-b"}, w.other), 403
    )
    assert "role" in body["message"]
    hidden_place = PlaceFactory(slug="brouillon", is_published=False)
    assert hidden_place
    assert_error(send(client, "post", "", {**new_post(w), "place": "brouillon"}, w.other), 404)
    assert_error(send(client, "post", "", {**new_post(w), "place": "nowhere"}, w.other), 404)
    assert rows() == before


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"kind": "lottery"}, "kind"),
        ({"title": " "}, "title"),
        ({"body": ""}, "body"),
        ({"skills": ["juggling"]}, "skills"),
        ({"free_tags": [f"t{i}" for i in range(10)]}, "skills"),
        ({"deadline": "2020-01-01"}, "deadline"),
        ({"deadline": "tomorrow"}, "deadline"),
        ({"network_wide": "yes"}, "network_wide"),
        ({"title": "nul\x00"}, "title"),
    ],
)
def test_invalid_posts_name_the_field_and_write_nothing(client, w, extra, field):
    before = rows()
    body = assert_error(send(client, "post", "", new_post(w, **extra), user=w.other), 400)
    assert field in body["details"], body
    assert rows() == before


def test_not_an_object(client, w):
    assert_error(send(client, "post", "", [1, 2], user=w.other), 400)


# Changing and closing ---------------------------------------------------------------------------


def test_only_the_author_changes_and_closes(client, w):
    path = f"/{w.post.pk}"
    before = rows()
    for user in (w.other, w.staff, w.manager, w.coordinator, w.manager_b):
        assert_error(send(client, "patch", path, {"title": "Pris"}, user=user), 404)
        assert_error(send(client, "post", f"{path}/close", {}, user=user), 404)
    assert rows() == before
    response = send(
        client, "patch", path, {"title": "Nouveau", "deadline": None, "skills": []}, user=w.author
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["title"] == "Nouveau"
    assert body["skills"] == [{"code": "", "label": "Accueil"}]  # free tags kept
    assert_error(send(client, "patch", path, {"title": None}, user=w.author), 400)
    assert_error(send(client, "patch", path, {"kind": "lottery"}, user=w.author), 400)
    closed = send(client, "post", f"{path}/close", {}, user=w.author)
    assert closed.status_code == 200 and closed.json()["is_open"] is False
    assert_error(send(client, "post", f"{path}/close", {}, user=w.author), 409)
    assert_error(send(client, "patch", path, {"title": "Encore"}, user=w.author), 409)


# Replies ----------------------------------------------------------------------------------------


def test_private_replies_never_leak(client, w, django_capture_on_commit_callbacks):
    path = f"/{w.post.pk}/replies"
    with django_capture_on_commit_callbacks(execute=True):
        response = send(client, "post", path, {"body": "Je viens samedi. 06 12"}, user=w.other)
    assert response.status_code == 201, response.content
    reply = response.json()
    assert reply["sender"] == "Basile M." and reply["is_mine"] is True
    (message,) = mail.outbox
    assert message.to == [w.author.email]
    send(client, "post", path, {"body": "Moi aussi"}, user=w.manager_b)
    author_view = send(client, "get", path, user=w.author).json()
    assert author_view["count"] == 2
    assert [r["body"] for r in author_view["results"]] == ["Je viens samedi. 06 12", "Moi aussi"]
    assert [r["body"] for r in send(client, "get", path, user=w.other).json()["results"]] == [
        "Je viens samedi. 06 12"
    ]
    # The place's team, its coordinator and a third member read none of them.
    for outsider in (w.staff, w.manager, w.coordinator, resident_of(w.a)):
        assert send(client, "get", path, user=outsider).json() == {"count": 0, "results": []}
    assert "06 12" not in json.dumps(send(client, "get", f"/{w.post.pk}").json())


def test_replies_to_closed_posts_answer_409_and_write_nothing(client, w, monkeypatch):
    board.opportunity_close(post=w.post, actor=w.author)
    before = rows()
    body = assert_error(
        send(client, "post", f"/{w.post.pk}/replies", {"body": "Trop tard ?"}, user=w.other), 409
    )
    assert body["message"] == "This post is closed: replies are no longer possible."
    expiring = opportunity_at(w.a, deadline=board.today_at(w.a))
    before = rows()
    later = timezone.now() + dt.timedelta(days=2)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert_error(send(client, "post", f"/{expiring.pk}/replies", {"body": "?"}, user=w.other), 409)
    assert rows() == before


def test_invalid_replies(client, w):
    path = f"/{w.post.pk}/replies"
    before = rows()
    assert_error(send(client, "post", path, {"body": "   "}, user=w.other), 400)
    assert_error(send(client, "post", path, {"body": "x" * 4001}, user=w.other), 400)
    assert_error(send(client, "post", path, {"body": "Moi"}, user=w.author), 400)
    assert_error(send(client, "post", "/987654/replies", {"body": "?"}, user=w.other), 404)
    assert rows() == before


def test_a_burst_of_posts_gets_429_and_writes_nothing_more(client, w, settings):
    settings.MAILLAGE_COMMUNITY_POSTS = "3/1h"
    codes = [
        send(client, "post", "", new_post(w, title=f"Annonce {i}"), user=w.other).status_code
        for i in range(5)
    ]
    assert codes == [201, 201, 201, 429, 429]
    assert Opportunity.objects.count() == 4
    response = send(client, "post", f"/{w.post.pk}/replies", {"body": "Hi"}, user=w.other)
    assert_error(response, 429)
    assert response["Retry-After"]
    assert not Reply.objects.exists()
