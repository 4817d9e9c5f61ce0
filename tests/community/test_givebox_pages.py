"""The give-box's pages: the list with its filters and photos, putting an item in with a photo
(wrong type or too large: a clear error and nothing written), the item's page with its private
messages and the owner's status buttons, changing an item, and the rate limit on writes."""

import datetime as dt
import html
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import translation
from PIL import Image

from maillage.accounts.models import PlaceRole
from maillage.community import givebox, services
from maillage.community.models import Item, Reply
from maillage.core import images
from tests.community.factories import item_at, resident_of
from tests.factories import (
    NetworkFactory,
    PlaceFactory,
    UserFactory,
    make_coordinator,
    make_manager,
)

pytestmark = pytest.mark.django_db

LIST = "/community/givebox/"
NEW = "/community/givebox/new/"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def network():
    return NetworkFactory(slug="solozere", name="Solozère")


@pytest.fixture
def place_a(network):
    place = PlaceFactory(slug="polen", name="POLeN")
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


def browser(user=None) -> Client:
    client = Client(headers={"accept-language": "en"})
    # The cookie, else a signed-in person's account language (French) would win.
    client.cookies["django_language"] = "en"
    if user is not None:
        client.force_login(user)
    return client


def text(response) -> str:
    body = re.sub(r"<[^>]+>", " ", response.content.decode())
    return " ".join(html.unescape(body).split())


def png(width=1400, height=1000) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 140, 90)).save(out, "PNG")
    return SimpleUploadedFile("perceuse.png", out.getvalue(), content_type="image/png")


def item_page(item) -> str:
    return f"/community/givebox/{item.pk}/"


# The list ---------------------------------------------------------------------------------------


def test_the_list_shows_cards_with_lazy_photos_and_filters_without_javascript(
    place_a, place_b, owner, network
):
    drill = givebox.item_create(
        author=owner,
        place=place_a,
        mode="lend",
        title="Perceuse à percussion",
        photo=images.normalise_image(png(), max_side=1000),
    )
    books = item_at(place_a, author=owner, title="Livres pour enfants")
    bike = item_at(place_b, title="Vélo d'enfant")
    gone = item_at(place_a, author=owner, title="Cartons de déménagement")
    givebox.item_gone(item=gone, actor=owner)

    response = browser().get(LIST)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Give-box</h1>" in page
    img = re.search(r"<img [^>]*givebox-thumb[^>]*>", page).group(0)
    assert f'src="{drill.photo.url}"' in img and 'alt="Perceuse à percussion"' in img
    assert 'loading="lazy"' in img and 'width="320"' in img and 'height="240"' in img
    words = text(response)
    assert "3 items" in words and "Cartons" not in words

    assert "Vélo" not in text(browser().get(LIST, {"network": "solozere"}))
    assert "Vélo" not in text(browser().get(LIST, {"place": "polen"}))
    only_lend = text(browser().get(LIST, {"mode": "lend"}))
    assert "Perceuse" in only_lend and "Livres" not in only_lend
    assert "Perceuse" in text(browser().get(LIST, {"q": "perceuse a PERCUSSION"}))
    assert "Cartons" in text(browser().get(LIST, {"show": "gone"}))
    assert browser().get(LIST, {"place": "nowhere"}).status_code == 404
    assert books and bike


def test_the_list_is_paginated_by_twenty(place_a, owner):
    for number in range(23):
        item_at(place_a, author=owner, title=f"Objet {number:02d}")
    first = text(browser().get(LIST, {"place": "polen"}))
    assert "23 items" in first and "Page 1 of 2" in first and "Objet 22" in first
    second = browser().get(LIST, {"place": "polen", "page": 2})
    assert "Objet 00" in text(second)
    assert "place=polen&amp;page=1" in second.content.decode()


# Putting an item in -----------------------------------------------------------------------------


def test_a_member_puts_an_item_in_with_a_photo(place_a, owner):
    client = browser(owner)
    form = client.get(NEW, {"place": "polen"})
    assert form.status_code == 200
    page = form.content.decode()
    assert 'accept="image/*"' in page and 'enctype="multipart/form-data"' in page
    assert re.search(rf'<option value="{place_a.pk}" selected>POLeN</option>', page)
    response = client.post(
        NEW,
        {
            "place": place_a.pk,
            "mode": "lend",
            "title": "Perceuse",
            "body": "Avec deux batteries.\n\nÀ prendre le mardi.",
            "photo": png(),
        },
    )
    item = Item.objects.get()
    assert response.status_code == 302 and response["Location"] == item_page(item)
    assert item.body == "<p>Avec deux batteries.</p>\n\n<p>À prendre le mardi.</p>"
    with Image.open(item.photo.path) as stored:
        assert stored.format == "WEBP" and max(stored.size) == 1000


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (
            SimpleUploadedFile("photo.jpg", b"not an image at all", content_type="image/jpeg"),
            "This file is not an image we can read",
        ),
        ("too-large", "The image is too large: 8 MB at most."),
    ],
)
def test_a_wrong_or_too_large_photo_is_refused_clearly_and_nothing_is_written(
    place_a, owner, tmp_path, upload, message
):
    if upload == "too-large":
        upload = SimpleUploadedFile(
            "huge.jpg", b"\xff" * (images.MAX_UPLOAD_MB * 1024 * 1024 + 1), "image/jpeg"
        )
    response = browser(owner).post(
        NEW, {"place": place_a.pk, "mode": "give", "title": "Livres", "photo": upload}
    )
    assert response.status_code == 400
    assert message in text(response)
    assert "Nothing was saved" in text(response)
    assert not Item.objects.exists()
    assert not any(path.is_file() for path in tmp_path.rglob("*"))


def test_html_is_sanitised_on_the_way_in_and_the_title_is_escaped(place_a, owner):
    browser(owner).post(
        NEW,
        {
            "place": place_a.pk,
            "mode": "give",
            "title": "<b>Livres</b>",
            "body": '<p>Bon état<script>alert("x")</script><img src=x onerror=alert(1)></p>',
        },
    )
    item = Item.objects.get()
    assert item.body == "<p>Bon état</p>"
    page = browser().get(item_page(item)).content.decode()
    assert "&lt;b&gt;Livres&lt;/b&gt;" in page and "<b>Livres</b>" not in page
    assert "<script>alert" not in page and "onerror" not in page


def test_a_member_of_a_cannot_post_at_b(place_a, place_b, owner):
    client = browser(owner)
    page = client.get(NEW).content.decode()
    assert "POLeN" in page and "Ailleurs" not in page
    response = client.post(NEW, {"place": place_b.pk, "mode": "give", "title": "Vélo"})
    assert response.status_code == 400
    assert "Select a valid choice" in text(response)
    assert not Item.objects.exists()


def test_someone_without_a_place_is_told_where_they_can_post():
    response = browser(UserFactory()).get(NEW)
    assert response.status_code == 200
    assert "places where you have a role" in text(response)
    assert browser().get(NEW).status_code == 302  # anonymous: the login page


# The item's page --------------------------------------------------------------------------------


def test_i_would_like_it_sends_a_private_message_that_only_the_owner_reads(
    place_a, owner, asker, django_capture_on_commit_callbacks, mailoutbox
):
    item = item_at(place_a, author=owner, title="Livres pour enfants")
    anonymous = text(browser().get(item_page(item)))
    assert "Log in to ask for it" in anonymous and "Posted by Catherine V." in anonymous
    with django_capture_on_commit_callbacks(execute=True):
        response = browser(asker).post(
            f"{item_page(item)}reply/", {"body": "Pour ma fille, je passe jeudi ?"}
        )
    assert response.status_code == 302
    assert [m.to for m in mailoutbox] == [[owner.email]]
    assert "Pour ma fille" in text(browser(asker).get(item_page(item)))
    owner_page = text(browser(owner).get(item_page(item)))
    assert "Basile M." in owner_page and "Pour ma fille" in owner_page
    for other in (resident_of(place_a), make_manager(place_a), None):
        assert "Pour ma fille" not in text(browser(other).get(item_page(item)))
    assert asker.email not in browser(owner).get(item_page(item)).content.decode()


def test_replies_refused_on_a_gone_item_and_on_ones_own(place_a, owner, asker):
    item = item_at(place_a, author=owner)
    response = browser(owner).post(f"{item_page(item)}reply/", {"body": "Moi"})
    assert response.status_code == 400 and "your own item" in text(response)
    givebox.item_gone(item=item, actor=owner)
    response = browser(asker).post(f"{item_page(item)}reply/", {"body": "Encore là ?"})
    assert response.status_code == 400
    assert "This item is gone: replies are no longer possible." in text(response)
    assert not Reply.objects.exists()
    assert browser().post(f"{item_page(item)}reply/", {"body": "x"}).status_code == 302


def test_a_hidden_item_is_not_found_but_by_its_author_and_the_team(place_a, owner, asker):
    item = item_at(place_a, author=owner, title="Annonce")
    manager = make_manager(place_a)
    services.hide_post(post=item, actor=manager, reason="Doublon")
    assert browser(asker).get(item_page(item)).status_code == 404
    assert browser().get(item_page(item)).status_code == 404
    assert browser(asker).post(f"{item_page(item)}reply/", {"body": "?"}).status_code == 404
    assert "Doublon" in text(browser(owner).get(item_page(item)))
    assert browser(manager).get(item_page(item)).status_code == 200
    assert "Annonce" not in text(browser().get(LIST))


def test_the_owner_reserves_lends_and_gets_it_back_from_the_page(place_a, owner, asker):
    item = item_at(place_a, author=owner, mode="lend", title="Perceuse")
    givebox.reply_send(item=item, sender=asker, body="Samedi ?")
    client = browser(owner)
    page = client.get(item_page(item)).content.decode()
    assert f'<option value="{asker.pk}">Basile M.</option>' in page
    assert 'type="date" name="return_on"' in page
    status = f"{item_page(item)}status/"
    assert client.post(status, {"action": "reserve", "holder": asker.pk}).status_code == 302
    assert Item.objects.get().holder == asker
    assert "It is reserved for you." in text(browser(asker).get(item_page(item)))

    # Errors are shown on the page and nothing changes.
    response = client.post(
        status, {"action": "lend", "holder": asker.pk, "return_on": "2000-01-01"}
    )
    assert response.status_code == 400 and "cannot be in the past" in text(response)
    assert Item.objects.get().status == Item.Status.RESERVED
    response = client.post(status, {"action": "reserve"})
    assert response.status_code == 409 and "already reserved: release it first" in text(response)

    return_on = givebox.today_at(place_a) + dt.timedelta(days=30)
    response = client.post(
        status, {"action": "lend", "holder": asker.pk, "return_on": return_on.isoformat()}
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.status, item.return_on) == (Item.Status.LENT, return_on)
    assert "Lent to Basile M. until" in text(client.get(item_page(item)))
    assert "It is lent to you" in text(browser(asker).get(item_page(item)))
    assert client.post(status, {"action": "returned"}).status_code == 302
    assert Item.objects.get().status == Item.Status.AVAILABLE
    assert client.post(status, {"action": "gone"}).status_code == 302
    assert Item.objects.get().status == Item.Status.GONE


def test_status_buttons_are_for_the_owner_and_gone_for_the_team(place_a, place_b, owner, asker):
    item = item_at(place_a, author=owner)
    status = f"{item_page(item)}status/"
    assert "Mark as gone" not in text(browser(asker).get(item_page(item)))
    for outsider in (asker, make_manager(place_b)):
        assert browser(outsider).post(status, {"action": "gone"}).status_code == 404
    staff = resident_of(place_a)
    PlaceRole.objects.filter(user=staff).update(role=PlaceRole.Role.STAFF)
    assert browser(staff).post(status, {"action": "reserve"}).status_code == 404
    assert "Mark as gone" in text(browser(staff).get(item_page(item)))
    assert browser(staff).post(status, {"action": "gone"}).status_code == 302
    assert Item.objects.get().status == Item.Status.GONE
    assert browser(staff).get(status).status_code == 405
    anonymous = browser().post(status, {"action": "gone"})
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


def test_the_network_coordinator_may_clear_an_item_too(place_a, owner, network):
    item = item_at(place_a, author=owner)
    coordinator = make_coordinator(network)
    response = browser(coordinator).post(f"{item_page(item)}status/", {"action": "gone"})
    assert response.status_code == 302


def test_the_owner_changes_an_item_and_nobody_else_can(place_a, owner, asker):
    item = item_at(place_a, author=owner, title="Livres")
    edit = f"{item_page(item)}edit/"
    assert browser(asker).get(edit).status_code == 404
    assert browser(asker).post(edit, {"mode": "give", "title": "Volé"}).status_code == 404
    client = browser(owner)
    assert client.get(edit).status_code == 200
    response = client.post(edit, {"mode": "give", "title": "Livres et jeux", "body": "Complets"})
    assert response.status_code == 302
    assert Item.objects.get().title == "Livres et jeux"
    response = client.post(edit, {"mode": "give", "title": ""})
    assert response.status_code == 400 and Item.objects.get().title == "Livres et jeux"


# Rate limit -------------------------------------------------------------------------------------


def test_a_burst_of_posts_stops_at_the_limit(settings, place_a, owner, asker):
    settings.MAILLAGE_COMMUNITY_POSTS = "3/1h"
    item = item_at(place_a, author=owner)
    client = browser(asker)
    codes = [
        client.post(f"{item_page(item)}reply/", {"body": f"Message {n}"}).status_code
        for n in range(4)
    ]
    assert codes == [302, 302, 302, 429]
    assert Reply.objects.count() == 3
    refused = client.post(NEW, {"place": place_a.pk, "mode": "give", "title": "Encore"})
    assert refused.status_code == 429 and refused["Retry-After"]
    assert Item.objects.count() == 1
