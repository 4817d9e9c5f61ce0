"""Pages of the skills exchange: the public list and its filters, posting (only at one's places),
a post with its matches, replies and thanks for its author and the reply form for others,
editing and closing by the author only, rate limits. Refusals write nothing."""

import pytest
from django.core import mail

from maillage.community import exchange, services
from maillage.community.models import Reply, SkillPost, Thanks
from tests.community.factories import resident_of, skill_post_at
from tests.factories import PlaceFactory, UserFactory, make_manager

pytestmark = pytest.mark.django_db

NEW = "/community/skills/new/"


@pytest.fixture(autouse=True)
def _pages_in_english(client, settings):
    """The assertions read the English words (whatever each account's language)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def place():
    return PlaceFactory(name="POLeN", slug="polen")


@pytest.fixture
def post(place):
    author = resident_of(place, full_name="Roald Martin", email="roald@example.org")
    return skill_post_at(place, author=author, body="<p>Le <em>soir</em></p>")


def _page(client, url, user=None):
    if user is not None:
        client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode().replace("\xa0", " ")


def test_the_list_is_public_filtered_and_paginated(client, place, post):
    request = skill_post_at(
        place, kind="request", title="Qui fait de la compta ?", skills=["accounting"]
    )
    hidden = skill_post_at(place, title="Publicité cachée")
    services.hide_post(post=hidden, actor=make_manager(place), reason="Spam")
    html = _page(client, "/community/skills/")
    assert post.title in html and request.title in html
    assert "Publicité cachée" not in html
    assert "Roald M." in html and "roald@example.org" not in html
    html = _page(client, "/community/skills/?kind=request")
    assert request.title in html and post.title not in html
    html = _page(client, "/community/skills/?q=comptabilite")
    assert request.title in html and post.title not in html
    html = _page(client, "/community/skills/?place=polen&skill=grant_writing")
    assert post.title in html and request.title not in html
    assert "Only the posts of POLeN." in html
    for n in range(21):
        skill_post_at(place, author=post.author, title=f"Offre numéro {n}")
    first = _page(client, "/community/skills/?kind=offer")
    assert 'rel="next"' in first and "page=2" in first
    second = _page(client, "/community/skills/?kind=offer&page=2")
    assert post.title in second
    # Nonsense filters are ignored, never an error.
    assert _page(client, "/community/skills/?kind=swap&page=zz")


def test_posting_needs_an_account_and_a_place(client, place):
    response = client.get(NEW)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    html = _page(client, NEW, UserFactory())
    assert "must be a member of a place" in html and 'name="title"' not in html


def test_posting_an_offer_at_ones_place(client, place, django_capture_on_commit_callbacks):
    author = resident_of(place)
    html = _page(client, NEW, author)
    assert "POLeN" in html
    data = {
        "kind": "offer",
        "place": place.pk,
        "title": "Je peux aider à monter un dossier",
        "body": "<p>Le soir</p><script>x()</script>",
        "skills": ["grant_writing"],
        "free_tags": "Mécénat, LEADER",
    }
    response = client.post(NEW, data)
    assert response.status_code == 302
    created = SkillPost.objects.get()
    assert response["Location"] == f"/community/skills/{created.pk}/"
    assert created.body == "<p>Le soir</p>" and created.author == author
    assert set(created.skills.values_list("key", flat=True)) == {
        "grant_writing",
        "mecenat",
        "leader",
    }


def test_a_member_of_place_a_cannot_post_at_place_b(client, place):
    other = PlaceFactory(name="Ailleurs")
    author = resident_of(place)
    client.force_login(author)
    html = _page(client, NEW)
    assert "Ailleurs" not in html
    data = {"kind": "offer", "place": other.pk, "title": "Aide", "skills": ["accounting"]}
    response = client.post(NEW, data)
    assert response.status_code == 200
    assert 'class="field has-error"' in response.content.decode()
    assert not SkillPost.objects.exists()


def test_errors_are_shown_next_to_the_fields_and_nothing_is_written(client, place):
    client.force_login(resident_of(place))
    response = client.post(NEW, {"kind": "offer", "place": place.pk, "title": "Aide"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Nothing was saved" in html
    assert "Choose at least one skill" in html
    tags = ", ".join(f"tag {n}" for n in range(11))
    response = client.post(
        NEW, {"kind": "offer", "place": place.pk, "title": "Aide", "free_tags": tags}
    )
    assert response.status_code == 200
    assert not SkillPost.objects.exists()


def test_the_author_sees_matches_replies_and_thanks(client, place, post):
    florac = PlaceFactory(name="MSAP Florac", latitude=44.3247, longitude=3.5961)
    request = skill_post_at(florac, kind="request", title="Cherche aide pour un dossier LEADER")
    helper = resident_of(place, full_name="Basile Martin", email="basile@example.org")
    exchange.reply_send(post=post, sender=helper, body="Je connais bien le FEADER")
    html = _page(client, f"/community/skills/{post.pk}/", post.author)
    assert request.title in html
    km = round(exchange.places_in_reach(place)[florac.pk])
    assert f"{km} km" in html and "MSAP Florac" in html
    assert "Je connais bien le FEADER" in html and "Basile M." in html
    assert "basile@example.org" not in html
    assert 'name="thanks-receiver"' in html
    assert 'name="reply-body"' not in html
    response = client.post(
        f"/community/skills/{post.pk}/",
        {"action": "thanks", "thanks-receiver": helper.pk, "thanks-message": "Merci !"},
    )
    assert response.status_code == 302
    assert Thanks.objects.get().receiver == helper
    post.refresh_from_db()
    assert post.closed_at is not None


def test_others_reply_privately_and_see_only_their_own_replies(
    client, place, post, django_capture_on_commit_callbacks
):
    exchange.reply_send(post=post, sender=resident_of(place), body="Message d'un autre")
    reader = resident_of(place)
    html = _page(client, f"/community/skills/{post.pk}/", reader)
    assert 'name="reply-body"' in html and "Message d'un autre" not in html
    assert "thanks-receiver" not in html
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/community/skills/{post.pk}/",
            {"action": "reply", "reply-body": "Disponible jeudi soir"},
        )
    assert response.status_code == 302
    assert Reply.objects.filter(sender=reader).get().body == "Disponible jeudi soir"
    assert [message.to for message in mail.outbox] == [["roald@example.org"]]
    html = _page(client, f"/community/skills/{post.pk}/")
    assert "Disponible jeudi soir" in html and "Message d'un autre" not in html
    # The team of the place reads no reply either, but gets the moderation tools.
    html = _page(client, f"/community/skills/{post.pk}/", make_manager(place))
    assert "Disponible jeudi soir" not in html and "Message d'un autre" not in html
    assert f"/community/moderate/skill/{post.pk}/" in html


def test_a_closed_post_refuses_replies_with_a_clear_message(client, place, post):
    exchange.skillpost_close(post=post, actor=post.author)
    client.force_login(resident_of(place))
    html = _page(client, f"/community/skills/{post.pk}/")
    assert "reply-body" not in html
    response = client.post(f"/community/skills/{post.pk}/", {"action": "reply", "reply-body": "Hé"})
    assert response.status_code == 200
    assert "This post is closed: replies are no longer possible." in response.content.decode()
    assert not Reply.objects.exists()


def test_anonymous_visitors_read_but_must_log_in_to_reply(client, post):
    html = _page(client, f"/community/skills/{post.pk}/")
    assert post.title in html and "<em>soir</em>" in html and "reply-body" not in html
    response = client.post(f"/community/skills/{post.pk}/", {"action": "reply", "reply-body": "x"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Reply.objects.exists()


def test_a_hidden_post_is_gone_for_others(client, place, post):
    services.hide_post(post=post, actor=make_manager(place), reason="Publicité")
    assert client.get(f"/community/skills/{post.pk}/").status_code == 404
    client.force_login(resident_of(place))
    assert client.get(f"/community/skills/{post.pk}/").status_code == 404
    html = _page(client, f"/community/skills/{post.pk}/", post.author)
    assert "Publicité" in html
    assert client.get("/community/skills/987654/").status_code == 404


def test_editing_and_closing_by_the_author_only(client, place, post):
    edit, close = f"/community/skills/{post.pk}/edit/", f"/community/skills/{post.pk}/close/"
    client.force_login(resident_of(place))
    assert client.get(edit).status_code == 404
    assert client.post(close).status_code == 404
    client.force_login(make_manager(place))
    assert client.get(edit).status_code == 404
    client.force_login(post.author)
    html = _page(client, edit)
    assert post.title in html and 'name="place"' not in html
    response = client.post(
        edit, {"title": "Dossiers LEADER", "body": "", "skills": ["grant_writing"], "free_tags": ""}
    )
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.title == "Dossiers LEADER"
    assert client.get(close).status_code == 405
    assert client.post(close).status_code == 302
    post.refresh_from_db()
    assert post.closed_at is not None
    assert client.post(close).status_code == 302  # already closed: told, nothing changes


def test_a_burst_of_posts_gets_the_429_page_and_writes_nothing(client, place, settings):
    settings.MAILLAGE_COMMUNITY_POSTS = "2/1h"
    client.force_login(resident_of(place))
    data = {"kind": "offer", "place": place.pk, "title": "Aide", "skills": ["accounting"]}
    codes = [client.post(NEW, data).status_code for _ in range(4)]
    assert codes == [302, 302, 429, 429]
    assert SkillPost.objects.count() == 2
