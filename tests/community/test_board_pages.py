"""Pages of the projects and opportunities board: the boards and their filters, a post with its
private replies, posting, changing and closing; refusals write nothing. Runs on SQLite and,
with DATABASE_URL, on PostgreSQL."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from maillage.accounts.models import PlaceRole
from maillage.community import board, services
from maillage.community.models import Opportunity, Reply
from tests.community.factories import opportunity_at, resident_of
from tests.factories import (
    NetworkFactory,
    PlaceFactory,
    UserFactory,
    make_coordinator,
    make_manager,
)

pytestmark = pytest.mark.django_db

BOARD = reverse("community:board")
NEW = reverse("community:board_new")


@pytest.fixture
def client():
    """In English: a signed-in person's account language (French) would win over the header."""
    client = Client(headers={"accept-language": "en"})
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def network():
    return NetworkFactory(slug="solozere", name="Solozère")


@pytest.fixture
def place(network):
    place = PlaceFactory(slug="polen", name="POLeN")
    place.networks.add(network)
    return place


@pytest.fixture
def author(place):
    return resident_of(place, full_name="Catherine Vidal")


@pytest.fixture
def post(place, author):
    return opportunity_at(
        place,
        author=author,
        kind="internship",
        title="Stage en communication",
        body="<p>Six mois <em>à Mende</em></p><script>alert(1)</script>",
        skills=["communication"],
    )


def url(name, post):
    return reverse(f"community:{name}", kwargs={"pk": post.pk})


def text(response) -> str:
    return response.content.decode()


# Boards -----------------------------------------------------------------------------------------


def test_the_boards_are_public_and_link_their_feed(client, place, network, post):
    for path, feed in (
        (BOARD, reverse("community:board_feed")),
        (
            reverse("community:board_place", kwargs={"slug": place.slug}),
            reverse("community:board_feed") + "?place=polen",
        ),
        (
            reverse("community:board_network", kwargs={"slug": network.slug}),
            reverse("community:board_feed") + "?network=solozere",
        ),
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        page = text(response)
        assert "Stage en communication" in page
        assert "Catherine V." in page and post.author.email not in page
        assert re.search(
            r'<link rel="alternate" type="application/rss\+xml"[^>]*href="'
            + re.escape(feed.replace("&", "&amp;"))
            + '"',
            page,
        ), path
        assert page.count("<h1") == 1


def test_the_feed_link_follows_the_filter(client, post):
    page = text(client.get(BOARD, {"kind": "internship", "skill": "communication", "q": "stage"}))
    assert "feed.rss?kind=internship&amp;skill=communication&amp;q=stage" in page
    assert "Stage en communication" in page
    assert "Stage en communication" not in text(client.get(BOARD, {"kind": "job"}))


def test_invalid_filters_answer_400(client, post):
    assert client.get(BOARD, {"kind": "lottery"}).status_code == 400
    assert client.get(BOARD, {"network": "nowhere"}).status_code == 400
    assert client.get(BOARD, {"place": "nowhere"}).status_code == 400
    assert client.get(BOARD, {"place": "polen"}).status_code == 200


def test_unknown_and_unpublished_places_are_not_found(client, place):
    assert client.get("/community/places/nowhere/board/").status_code == 404
    assert client.get("/community/networks/nowhere/board/").status_code == 404
    hidden = PlaceFactory(slug="brouillon", is_published=False)
    path = reverse("community:board_place", kwargs={"slug": hidden.slug})
    assert client.get(path).status_code == 404
    client.force_login(resident_of(hidden))
    assert client.get(path).status_code == 200


def test_the_board_is_paginated(client, place, author):
    for i in range(23):
        opportunity_at(place, author=author, title=f"Annonce {i:02d}")
    first = text(client.get(BOARD))
    assert "Annonce 22" in first and "Annonce 02" not in first
    assert "23 opportunities" in first
    second = text(client.get(BOARD, {"page": 2}))
    assert "Annonce 02" in second and "Annonce 00" in second and "Annonce 22" not in second


# A post -----------------------------------------------------------------------------------------


def test_a_post_page_shows_the_facts_and_sanitised_text(client, post):
    page = text(client.get(url("board_post", post)))
    assert "<h1>Stage en communication</h1>" in page
    assert "<p>Six mois <em>à Mende</em></p>" in page
    assert "alert(1)" not in page
    assert "Internship" in page and "POLeN" in page and "Communication" in page
    assert "Log in to reply to the author" in page


def test_titles_are_escaped(client, place):
    post = opportunity_at(place, title="<script>alert('x')</script>")
    for path in (url("board_post", post), BOARD):
        page = text(client.get(path))
        assert "<script>alert(" not in page
        assert "&lt;script&gt;" in page


def test_a_hidden_post_is_not_found_but_for_its_author_and_the_team(client, place, post):
    manager = make_manager(place)
    services.hide_post(post=post, actor=manager, reason="Doublon")
    path = url("board_post", post)
    assert client.get(path).status_code == 404
    client.force_login(resident_of(place))
    assert client.get(path).status_code == 404
    client.force_login(post.author)
    page = text(client.get(path))
    assert "Doublon" in page
    client.force_login(manager)
    assert "Show it again" in text(client.get(path))


def test_replies_are_private(client, place, network, post, django_capture_on_commit_callbacks):
    sender = resident_of(place, full_name="Roald Amundsen")
    client.force_login(sender)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("board_reply", post), {"body": "Je suis intéressé, 06 11"})
    assert response.status_code == 302
    assert response["Location"] == url("board_post", post)
    (message,) = mail.outbox
    assert message.to == [post.author.email]
    assert "Je suis intéressé, 06 11" in text(client.get(url("board_post", post)))
    client.force_login(post.author)
    page = text(client.get(url("board_post", post)))
    assert "Je suis intéressé, 06 11" in page and "Roald A." in page
    assert sender.email not in page
    for outsider in (resident_of(place), make_manager(place), make_coordinator(network)):
        client.force_login(outsider)
        assert "06 11" not in text(client.get(url("board_post", post)))
    client.logout()
    assert "06 11" not in text(client.get(url("board_post", post)))


def test_a_reply_to_a_closed_post_is_refused_and_nothing_written(client, place, post):
    board.opportunity_close(post=post, actor=post.author)
    client.force_login(resident_of(place))
    page = client.get(url("board_post", post))
    assert "replies are no longer possible" in text(page)
    assert "Send privately" not in text(page)
    response = client.post(url("board_reply", post), {"body": "Trop tard ?"})
    assert response.status_code == 409
    assert "This post is closed: replies are no longer possible." in text(response)
    assert not Reply.objects.exists()


def test_invalid_replies_write_nothing(client, place, post):
    client.force_login(resident_of(place))
    response = client.post(url("board_reply", post), {"body": "   "})
    assert response.status_code == 400
    client.force_login(post.author)
    assert client.post(url("board_reply", post), {"body": "Moi"}).status_code == 400
    client.logout()
    response = client.post(url("board_reply", post), {"body": "Anonyme"})
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert not Reply.objects.exists()


# Posting ----------------------------------------------------------------------------------------


def _form(place, **extra):
    deadline = (timezone.now() + dt.timedelta(days=10)).date().isoformat()
    return {
        "place": place.slug,
        "kind": "project",
        "title": "Un site pour la ressourcerie",
        "body": "<p>On cherche une développeuse <b>bénévole</b>.</p>",
        "skills": ["web_development", "graphic_design"],
        "free_tags": "Accessibilité, WordPress",
        "deadline": deadline,
        "network_wide": "on",
        **extra,
    }


def test_posting_needs_an_account(client):
    response = client.get(NEW)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_member_posts_from_the_form(client, place, author):
    client.force_login(author)
    page = client.get(NEW)
    assert page.status_code == 200
    assert 'value="polen"' in text(page)
    response = client.post(NEW, _form(place))
    assert response.status_code == 302
    post = Opportunity.objects.get()
    assert response["Location"] == url("board_post", post)
    assert post.author == author and post.place == place and post.network_wide
    assert [s["label"] for s in post.skills][2:] == ["Accessibilité", "WordPress"]
    assert post.body == "<p>On cherche une développeuse <b>bénévole</b>.</p>"


def test_a_member_of_a_cannot_post_at_b(client, place, author):
    other = PlaceFactory(slug="ailleurs")
    client.force_login(author)
    assert 'value="ailleurs"' not in text(client.get(NEW))
    response = client.post(NEW, _form(other))
    assert response.status_code == 400
    assert not Opportunity.objects.exists()


def test_someone_without_a_place_is_told_how_to_post(client):
    client.force_login(UserFactory())
    response = client.get(NEW)
    assert response.status_code == 200
    assert "where you have a role" in text(response)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"title": ""}, "title"),
        ({"kind": "lottery"}, "kind"),
        ({"deadline": "2020-01-01"}, "deadline"),
        ({"skills": ["juggling"]}, "skills"),
        ({"free_tags": ", ".join(f"t{i}" for i in range(11))}, "free_tags"),
        ({"body": "<script>x</script>"}, "body"),
    ],
)
def test_errors_are_shown_next_to_the_fields_and_nothing_written(
    client, place, author, extra, field
):
    client.force_login(author)
    response = client.post(NEW, _form(place, **extra))
    assert response.status_code == 400
    assert "form-errors" in text(response)
    assert response.context["form"].errors
    assert not Opportunity.objects.exists()


def test_only_the_author_edits_and_closes(client, place, network, post):
    for other in (resident_of(place), make_manager(place), make_coordinator(network)):
        client.force_login(other)
        assert client.get(url("board_edit", post)).status_code == 404
        assert client.post(url("board_edit", post), _form(place)).status_code == 404
        assert client.post(url("board_close", post)).status_code == 404
    post.refresh_from_db()
    assert post.closed_at is None and post.title == "Stage en communication"
    client.force_login(post.author)
    assert client.get(url("board_edit", post)).status_code == 200
    response = client.post(url("board_edit", post), _form(place, title="Stage (6 mois)"))
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.title == "Stage (6 mois)" and post.place == place
    assert client.post(url("board_close", post)).status_code == 302
    post.refresh_from_db()
    assert post.closed_at is not None
    # Closed: no more changes.
    response = client.get(url("board_edit", post))
    assert response.status_code == 302
    assert client.get(url("board_close", post)).status_code == 405


def test_a_burst_of_posts_gets_429(client, place, author, settings):
    settings.MAILLAGE_COMMUNITY_POSTS = "3/1h"
    client.force_login(author)
    codes = [client.post(NEW, _form(place, title=f"Annonce {i}")).status_code for i in range(5)]
    assert codes == [302, 302, 302, 429, 429]
    assert Opportunity.objects.count() == 3


def test_every_role_sees_the_moderation_include(client, place, post):
    staff = UserFactory()
    PlaceRole.objects.create(user=staff, place=place, role=PlaceRole.Role.STAFF)
    client.force_login(staff)
    page = text(client.get(url("board_post", post)))
    assert reverse("community:moderate", args=["opportunity", post.pk]) in page
    assert reverse("community:report", args=["opportunity", post.pk]) in page


def test_huge_ids_are_not_found(client):
    assert client.get("/community/board/99999999999999999999/").status_code == 404
    assert client.get(f"/community/board/{2**63}/reply/").status_code in (302, 404, 405)
