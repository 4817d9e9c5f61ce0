"""The give-box in the API: shapes and codes of /community/items and its status and private
messages (201, 400, 401, 404 for what the caller may not see or change, 409 for a state that
does not allow it, 429 past the rate limit); every refusal writes nothing. Runs on SQLite and,
with DATABASE_URL, on PostgreSQL."""

import datetime as dt
import json

import pytest
from django.utils import translation

from maillage.accounts.services import api_token_create
from maillage.api import api  # noqa: F401 (every router and its schemas are loaded)
from maillage.community import givebox, services
from maillage.community.models import Item, Reply
from tests.community.factories import item_at, resident_of
from tests.factories import NetworkFactory, PlaceFactory, UserFactory, make_manager

pytestmark = pytest.mark.django_db

API = "/api/v1/community/items"
ITEM_KEYS = {
    "id",
    "url",
    "place",
    "mode",
    "status",
    "title",
    "body",
    "author",
    "photo",
    "holder",
    "return_on",
    "gone_at",
    "hidden",
    "created_at",
    "updated_at",
}


@pytest.fixture(autouse=True)
def _messages_in_english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def network():
    return NetworkFactory(slug="solozere", name="Solozère")


@pytest.fixture
def place_a(network):
    place = PlaceFactory(slug="polen", name="POLeN", time_zone="Europe/Paris")
    place.networks.add(network)
    return place


@pytest.fixture
def place_b():
    return PlaceFactory(slug="ailleurs", name="Ailleurs")


@pytest.fixture
def owner(place_a):
    return resident_of(place_a, full_name="Catherine Vidal", language="en")


@pytest.fixture
def asker(place_a):
    return resident_of(place_a, full_name="Basile Martin", language="en")


def bearer(user) -> dict[str, str]:
    _token, raw = api_token_create(user=user)
    return {"authorization": f"Bearer {raw}"}


def send(client, method, path, body=None, user=None):
    kwargs = {"headers": bearer(user) if user else {}}
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    return getattr(client, method.lower())(path, **kwargs)


def snapshot():
    return (list(Item.objects.order_by("pk").values()), Reply.objects.count())


# Items ------------------------------------------------------------------------------------------


def test_create_then_read_an_item(client, place_a, owner):
    response = send(
        client,
        "POST",
        API,
        {
            "place": "polen",
            "mode": "lend",
            "title": "Perceuse",
            "body": "<p>Avec <em>deux</em> batteries<script>x()</script></p>",
        },
        owner,
    )
    assert response.status_code == 201
    data = response.json()
    assert set(data) == ITEM_KEYS
    assert data["place"] == {"slug": "polen", "name": "POLeN"}
    assert data["author"] == {"id": owner.pk, "name": "Catherine V."}
    assert (data["mode"], data["status"], data["photo"], data["holder"]) == (
        "lend",
        "available",
        None,
        None,
    )
    assert data["body"] == "<p>Avec <em>deux</em> batteries</p>"
    assert data["url"].endswith(f"/community/givebox/{data['id']}/")
    assert data["created_at"][-6:] in ("+01:00", "+02:00")  # the place's offset
    assert send(client, "GET", f"{API}/{data['id']}").json() == data


def test_create_refusals(client, place_a, place_b, owner):
    closed = PlaceFactory(slug="ferme", is_published=False)
    before = snapshot()
    item = {"mode": "give", "title": "Livres"}
    assert send(client, "POST", API, {**item, "place": "polen"}).status_code == 401
    refused = send(client, "POST", API, {**item, "place": "ailleurs"}, owner)
    assert refused.status_code == 403
    assert send(client, "POST", API, {**item, "place": "ferme"}, owner).status_code == 404
    assert send(client, "POST", API, {**item, "place": "nulle-part"}, owner).status_code == 404
    invalid = send(client, "POST", API, {"place": "polen", "mode": "sell", "title": "x"}, owner)
    assert invalid.status_code == 400 and "mode" in invalid.json()["details"]
    blank = send(client, "POST", API, {"place": "polen", "mode": "give", "title": " "}, owner)
    assert blank.status_code == 400 and "title" in blank.json()["details"]
    assert send(client, "POST", API, [1, 2], owner).status_code == 400
    assert snapshot() == before
    assert closed


def test_the_list_filters_and_paginates(client, place_a, place_b, owner, asker, network):
    books = item_at(place_a, author=owner, title="Livres d'enfants")
    drill = item_at(place_a, author=owner, title="Perceuse", mode="lend")
    givebox.reply_send(item=drill, sender=asker, body="Oui")
    givebox.item_lend(item=drill, actor=owner, holder=asker, return_on=givebox.today_at(place_a))
    bike = item_at(place_b, title="Vélo")
    hidden = item_at(place_a, author=owner, title="Caché")
    services.hide_post(post=hidden, actor=make_manager(place_a), reason="Spam")

    def ids(query="", user=None):
        response = send(client, "GET", f"{API}?{query}", user=user)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [bike.pk, books.pk]
    assert ids("place=polen") == [books.pk]
    assert ids("network=solozere&status=available,lent") == [drill.pk, books.pk]
    assert ids("status=lent&status=gone&mode=lend") == [drill.pk]
    assert ids("q=ENFANTS") == [books.pk]
    assert ids("page=2&page_size=1") == [books.pk]
    assert ids("page=9") == []
    assert hidden.pk in ids(user=owner) and hidden.pk not in ids(user=asker)
    assert send(client, "GET", f"{API}?status=sold").status_code == 400
    assert send(client, "GET", f"{API}?mode=sell").status_code == 400
    assert send(client, "GET", f"{API}?place=nowhere").status_code == 404
    assert send(client, "GET", f"{API}?network=nowhere").status_code == 404
    assert send(client, "GET", f"{API}?page=0").status_code == 400
    # The holder is told to the owner and the holder only.
    lent = send(client, "GET", f"{API}/{drill.pk}", user=owner).json()
    assert lent["holder"] == {"id": asker.pk, "name": "Basile M."}
    assert lent["return_on"] == givebox.today_at(place_a).isoformat()
    assert send(client, "GET", f"{API}/{drill.pk}", user=asker).json()["holder"]["id"] == asker.pk
    assert send(client, "GET", f"{API}/{drill.pk}").json()["holder"] is None


def test_hidden_and_unknown_items_are_not_found(client, place_a, owner, asker):
    hidden = item_at(place_a, author=owner)
    services.hide_post(post=hidden, actor=make_manager(place_a), reason="Doublon")
    assert send(client, "GET", f"{API}/{hidden.pk}").status_code == 404
    assert send(client, "GET", f"{API}/{hidden.pk}", user=asker).status_code == 404
    shown = send(client, "GET", f"{API}/{hidden.pk}", user=owner).json()
    assert shown["hidden"] is True
    assert send(client, "GET", f"{API}/999999").status_code == 404
    assert send(client, "GET", f"{API}/{2**63}").status_code == 400


def test_only_the_author_patches_an_item(client, place_a, owner, asker):
    item = item_at(place_a, author=owner, title="Livres")
    path = f"{API}/{item.pk}"
    before = snapshot()
    assert send(client, "PATCH", path, {"title": "Volé"}).status_code == 401
    assert send(client, "PATCH", path, {"title": "Volé"}, asker).status_code == 404
    assert send(client, "PATCH", path, {"title": None}, owner).status_code == 400
    assert send(client, "PATCH", path, {"mode": "sell"}, owner).status_code == 400
    assert snapshot() == before
    response = send(client, "PATCH", path, {"title": "Livres et jeux", "mode": "lend"}, owner)
    assert response.status_code == 200
    assert (response.json()["title"], response.json()["mode"]) == ("Livres et jeux", "lend")
    givebox.item_gone(item=item, actor=owner)
    gone = send(client, "PATCH", path, {"title": "Encore"}, owner)
    assert gone.status_code == 409 and "gone" in gone.json()["message"]


# Status -----------------------------------------------------------------------------------------


def test_status_changes_and_their_codes(client, place_a, owner, asker, mailoutbox):
    item = item_at(place_a, author=owner, mode="lend", title="Perceuse")
    status = f"{API}/{item.pk}/status"
    before = snapshot()
    assert send(client, "POST", status, {"action": "reserve"}).status_code == 401
    assert send(client, "POST", status, {"action": "reserve"}, asker).status_code == 404
    assert send(client, "POST", status, {"action": "sell"}, owner).status_code == 400
    not_asked = send(client, "POST", status, {"action": "reserve", "holder": asker.pk}, owner)
    assert not_asked.status_code == 400 and "holder" in not_asked.json()["details"]
    nobody = send(client, "POST", status, {"action": "reserve", "holder": 2**40}, owner)
    assert nobody.status_code == 400
    released = send(client, "POST", status, {"action": "release"}, owner)
    assert (
        released.status_code == 409 and released.json()["message"] == "This item is not reserved."
    )
    assert snapshot() == before

    reply = send(client, "POST", f"{API}/{item.pk}/replies", {"body": "Samedi ?"}, asker)
    assert reply.status_code == 201
    reserved = send(client, "POST", status, {"action": "reserve", "holder": asker.pk}, owner)
    assert reserved.status_code == 200 and reserved.json()["status"] == "reserved"
    assert reserved.json()["holder"]["id"] == asker.pk
    today = givebox.today_at(place_a)
    for bad_date, code in (("2020-01-01", 400), ("31/12/2030", 400), ("2030-02-30", 400)):
        refused = send(client, "POST", status, {"action": "lend", "return_on": bad_date}, owner)
        assert refused.status_code == code and "return_on" in refused.json()["details"]
    lent = send(
        client,
        "POST",
        status,
        {"action": "lend", "return_on": (today + dt.timedelta(days=14)).isoformat()},
        owner,
    )
    assert lent.status_code == 200
    assert lent.json()["status"] == "lent"
    assert lent.json()["return_on"] == (today + dt.timedelta(days=14)).isoformat()
    again = send(client, "POST", status, {"action": "gone"}, owner)
    assert again.status_code == 409
    assert again.json()["message"] == "This item is lent: mark it returned first."
    back = send(client, "POST", status, {"action": "returned"}, owner)
    assert back.json()["status"] == "available" and back.json()["return_on"] is None
    # The place's team: only "gone".
    manager = make_manager(place_a)
    assert send(client, "POST", status, {"action": "reserve"}, manager).status_code == 404
    gone = send(client, "POST", status, {"action": "gone"}, manager)
    assert gone.status_code == 200 and gone.json()["gone_at"]
    assert send(client, "POST", status, {"action": "release"}, owner).status_code == 409


def test_status_of_a_hidden_item_is_not_found_for_others(client, place_a, owner, asker):
    item = item_at(place_a, author=owner, mode="lend")
    services.hide_post(post=item, actor=make_manager(place_a), reason="Doublon")
    status = f"{API}/{item.pk}/status"
    assert send(client, "POST", status, {"action": "gone"}, asker).status_code == 404
    refused = send(client, "POST", status, {"action": "reserve"}, owner)
    assert refused.status_code == 409 and "hidden" in refused.json()["message"]


# Private messages -------------------------------------------------------------------------------


def test_replies_are_private(client, place_a, owner, asker):
    item = item_at(place_a, author=owner)
    replies = f"{API}/{item.pk}/replies"
    created = send(client, "POST", replies, {"body": "  Je passe jeudi  "}, asker)
    assert created.status_code == 201
    data = created.json()
    assert set(data) == {"id", "item", "sender", "body", "created_at"}
    assert data["sender"] == {"id": asker.pk, "name": "Basile M."}
    assert data["body"] == "Je passe jeudi"
    third = resident_of(place_a)
    send(client, "POST", replies, {"body": "Moi aussi"}, third)

    def bodies(user):
        response = send(client, "GET", replies, user=user)
        assert response.status_code == 200
        return [row["body"] for row in response.json()["results"]]

    assert bodies(owner) == ["Je passe jeudi", "Moi aussi"]
    assert bodies(asker) == ["Je passe jeudi"]
    assert bodies(make_manager(place_a)) == []
    assert bodies(UserFactory()) == []
    assert send(client, "GET", replies).status_code == 401


def test_reply_refusals(client, place_a, owner, asker):
    item = item_at(place_a, author=owner)
    hidden = item_at(place_a, author=owner)
    services.hide_post(post=hidden, actor=make_manager(place_a), reason="Doublon")
    before = snapshot()
    own = send(client, "POST", f"{API}/{item.pk}/replies", {"body": "Moi"}, owner)
    assert own.status_code == 400
    empty = send(client, "POST", f"{API}/{item.pk}/replies", {"body": "  "}, asker)
    assert empty.status_code == 400
    assert (
        send(client, "POST", f"{API}/{hidden.pk}/replies", {"body": "?"}, asker).status_code == 404
    )
    assert send(client, "POST", f"{API}/{item.pk}/replies", {"body": "?"}).status_code == 401
    assert snapshot() == before
    givebox.item_gone(item=item, actor=owner)
    before = snapshot()
    gone = send(client, "POST", f"{API}/{item.pk}/replies", {"body": "Encore ?"}, asker)
    assert gone.status_code == 409
    assert gone.json()["message"] == "This item is gone: replies are no longer possible."
    assert snapshot() == before


def test_a_burst_of_api_posts_gets_429(client, settings, place_a, owner, asker):
    settings.MAILLAGE_COMMUNITY_POSTS = "3/1h"
    item = item_at(place_a, author=owner)
    headers = bearer(asker)
    codes = [
        client.post(
            f"{API}/{item.pk}/replies",
            data=json.dumps({"body": f"Message {n}"}),
            content_type="application/json",
            headers=headers,
        ).status_code
        for n in range(4)
    ]
    assert codes == [201, 201, 201, 429]
    assert Reply.objects.count() == 3
    refused = send(client, "POST", API, {"place": "polen", "mode": "give", "title": "x"}, asker)
    assert refused.status_code == 429 and refused["Retry-After"]
    assert Item.objects.count() == 1
