"""The projects and opportunities board's rules (community.board) and its RSS feed: who posts
where, deadlines in the place's calendar, skills, sanitised text, private replies that reach
only the author, closed posts, the place and network boards. Runs on SQLite and, with
DATABASE_URL, on PostgreSQL."""

import datetime as dt
import xml.etree.ElementTree as ET
import zoneinfo

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from maillage.accounts.models import PlaceRole
from maillage.community import board, permissions, services
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

FEED = reverse("community:board_feed")


@pytest.fixture(autouse=True)
def _messages_in_english():
    with translation.override("en"):
        yield


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
    place = PlaceFactory(slug="ailleurs", name="Ailleurs")
    place.networks.add(NetworkFactory(slug="autre-reseau"))
    return place


def today(place):
    return timezone.now().astimezone(zoneinfo.ZoneInfo(place.time_zone)).date()


# Posting ----------------------------------------------------------------------------------------


def test_a_member_posts_with_skills_deadline_and_folded_search_text(place_a):
    author = resident_of(place_a, full_name="Catherine Vidal")
    post = board.opportunity_create(
        author=author,
        place=place_a,
        kind="project",
        title="Une carte des jardins partagés",
        body="<p>Cherche <strong>développeuse</strong> web</p>",
        skills=["web_development", "graphic_design"],
        free_tags=["Cartographie", " cartographie ", "QGIS"],
        deadline=today(place_a) + dt.timedelta(days=30),
    )
    assert [item["code"] for item in post.skills] == ["web_development", "graphic_design", "", ""]
    assert [item["label"] for item in post.skills][2:] == ["Cartographie", "QGIS"]
    # Folded title and text, vocabulary skills in every interface language, then the keys.
    assert "jardins partages" in post.search_text
    assert "developpeuse" in post.search_text
    assert "desarrollo web" in post.search_text  # Spanish label of web_development
    assert "web development" in post.search_text
    assert "|web_development|graphic_design|cartographie|qgis|" in post.search_text
    assert post.network_wide is True


def test_a_member_of_a_cannot_post_at_b(place_a, place_b):
    author = resident_of(place_a)
    with pytest.raises(PermissionError):
        opportunity_at(place_b, author=author)
    assert not Opportunity.objects.exists()


def test_the_team_and_coordinators_post_but_not_strangers(place_a, network):
    opportunity_at(place_a, author=make_manager(place_a))
    opportunity_at(place_a, author=make_coordinator(network))
    with pytest.raises(PermissionError):
        opportunity_at(place_a, author=UserFactory())
    assert Opportunity.objects.count() == 2


def test_html_is_sanitised(place_a):
    post = opportunity_at(
        place_a,
        title="  Un   titre  ",
        body='<p onclick="x()">Bonjour<script>alert(1)</script></p><a href="javascript:x">l</a>',
    )
    assert post.title == "Un titre"
    assert "<script" not in post.body and "onclick" not in post.body
    assert "javascript" not in post.body
    assert post.body.startswith("<p>Bonjour")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "lottery"}, "kind"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 161}, "title"),
        ({"body": "<script>only a script</script>"}, "body"),
        ({"skills": ["juggling"]}, "skills"),
        ({"free_tags": [f"tag {i}" for i in range(11)]}, "skills"),
        ({"skills": ["web_development"], "free_tags": [f"t{i}" for i in range(10)]}, "skills"),
        ({"free_tags": ["x" * 61]}, "skills"),
    ],
)
def test_invalid_posts_are_refused_and_nothing_is_written(place_a, fields, field):
    with pytest.raises(ValidationError) as caught:
        opportunity_at(place_a, **fields)
    assert field in caught.value.message_dict
    assert not Opportunity.objects.exists()


def test_the_deadline_is_a_day_of_the_place_calendar(place_a, monkeypatch):
    # 23:30 UTC on 1 March is already 2 March in Paris, still 1 March in Cayenne.
    moment = dt.datetime(2027, 3, 1, 23, 30, tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    cayenne = PlaceFactory(time_zone="America/Cayenne")
    with pytest.raises(ValidationError) as caught:
        opportunity_at(place_a, deadline=dt.date(2027, 3, 1))
    assert "deadline" in caught.value.message_dict
    assert opportunity_at(place_a, deadline=dt.date(2027, 3, 2)).deadline == dt.date(2027, 3, 2)
    assert opportunity_at(cayenne, deadline=dt.date(2027, 3, 1)).deadline == dt.date(2027, 3, 1)


def test_only_the_author_changes_and_closes(place_a, network):
    post = opportunity_at(place_a)
    for other in (make_manager(place_a), make_coordinator(network), UserFactory()):
        with pytest.raises(PermissionError):
            board.opportunity_update(post=post, actor=other, title="Pris")
        with pytest.raises(PermissionError):
            board.opportunity_close(post=post, actor=other)
    post.refresh_from_db()
    assert post.closed_at is None and post.title != "Pris"
    changed = board.opportunity_update(
        post=post, actor=post.author, title="Nouveau titre", skills=["repair"], deadline=None
    )
    assert changed.title == "Nouveau titre"
    assert changed.skills == [{"code": "repair", "label": "Réparation"}]
    assert "|repair|" in changed.search_text and "nouveau titre" in changed.search_text
    closed = board.opportunity_close(post=post, actor=post.author)
    assert closed.closed_at is not None
    with pytest.raises(board.BoardConflict):
        board.opportunity_close(post=post, actor=post.author)
    with pytest.raises(board.BoardConflict):
        board.opportunity_update(post=post, actor=post.author, title="Encore")


def test_an_expired_deadline_can_stay_while_the_text_changes(place_a, monkeypatch):
    post = opportunity_at(place_a, deadline=today(place_a) + dt.timedelta(days=1))
    later = timezone.now() + dt.timedelta(days=5)
    monkeypatch.setattr(timezone, "now", lambda: later)
    changed = board.opportunity_update(post=post, actor=post.author, title="Toujours là")
    assert changed.deadline == post.deadline
    with pytest.raises(ValidationError):
        board.opportunity_update(
            post=post, actor=post.author, deadline=post.deadline + dt.timedelta(days=1)
        )


# Replies ----------------------------------------------------------------------------------------


def test_a_reply_reaches_only_the_author(place_a, network, django_capture_on_commit_callbacks):
    author = resident_of(place_a, language="en", full_name="Catherine Vidal")
    post = opportunity_at(place_a, author=author, title="Repair café")
    sender = resident_of(place_a, full_name="Roald Amundsen")
    other = resident_of(place_a)
    with django_capture_on_commit_callbacks(execute=True):
        reply = board.reply_send(post=post, sender=sender, body="  Je peux aider : 06 00 00  ")
    assert reply.body == "Je peux aider : 06 00 00"
    (message,) = mail.outbox
    assert message.to == [author.email]
    assert "Roald A. replied to “Repair café”" in message.subject
    assert "Je peux aider" in message.body
    assert board.post_url(post) in message.body
    assert sender.email not in message.body
    notification = Notification.objects.get(user=author)
    assert notification.url.endswith(board.post_url(post))
    # Who reads it: the author and the sender; not another member, the team or coordinators.
    assert list(board.replies_for(author, post)) == [reply]
    assert list(board.replies_for(sender, post)) == [reply]
    for outsider in (other, make_manager(place_a), make_coordinator(network), UserFactory()):
        assert not board.replies_for(outsider, post).exists()
        assert not permissions.can_read_reply(outsider, reply)


def test_replies_to_closed_or_expired_posts_are_refused_and_nothing_is_written(
    place_a, monkeypatch, django_capture_on_commit_callbacks
):
    sender = resident_of(place_a)
    closed = opportunity_at(place_a)
    board.opportunity_close(post=closed, actor=closed.author)
    expiring = opportunity_at(place_a, deadline=today(place_a))
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(board.BoardConflict) as caught:
            board.reply_send(post=closed, sender=sender, body="Bonjour")
        assert caught.value.messages == ["This post is closed: replies are no longer possible."]
        later = timezone.now() + dt.timedelta(days=2)
        monkeypatch.setattr(timezone, "now", lambda: later)
        with pytest.raises(board.BoardConflict) as caught:
            board.reply_send(post=expiring, sender=sender, body="Bonjour")
        assert "deadline" in caught.value.messages[0]
    assert not Reply.objects.exists()
    assert not Notification.objects.exists()
    assert mail.outbox == []


def test_no_reply_to_ones_own_or_a_hidden_post(place_a):
    post = opportunity_at(place_a)
    with pytest.raises(ValidationError):
        board.reply_send(post=post, sender=post.author, body="Moi")
    services.hide_post(post=post, actor=make_manager(place_a), reason="Publicité")
    with pytest.raises(Opportunity.DoesNotExist):
        board.reply_send(post=post, sender=resident_of(place_a), body="Bonjour")
    with pytest.raises(ValidationError):
        board.reply_send(post=opportunity_at(place_a), sender=resident_of(place_a), body="  ")
    assert not Reply.objects.exists()


# Boards -----------------------------------------------------------------------------------------


def test_the_network_board_lists_network_wide_posts_of_its_places_only(place_a, place_b, network):
    sister = PlaceFactory()
    sister.networks.add(network)
    wide = opportunity_at(place_a, title="Partout")
    local = opportunity_at(place_a, title="Ici seulement", network_wide=False)
    at_sister = opportunity_at(sister, title="Chez la voisine")
    elsewhere = opportunity_at(place_b, title="Autre réseau")
    assert list(board.board_for(network=network)) == [at_sister, wide]
    assert list(board.board_for(place=place_a)) == [local, wide]
    assert list(board.board_for()) == [elsewhere, at_sister, wide]
    assert board.for_network(network, limit=1) == [at_sister]
    assert board.for_place(place_a) == [local, wide]


def test_closed_expired_hidden_and_unpublished_leave_the_boards(place_a, network, monkeypatch):
    keep = opportunity_at(place_a, title="Ouvert")
    closed = opportunity_at(place_a, title="Fermé")
    board.opportunity_close(post=closed, actor=closed.author)
    expiring = opportunity_at(place_a, title="Bientôt fini", deadline=today(place_a))
    hidden = opportunity_at(place_a, title="Caché")
    services.hide_post(post=hidden, actor=make_manager(place_a), reason="Spam")
    unpublished = PlaceFactory(is_published=False)
    unpublished.networks.add(network)
    draft = opportunity_at(unpublished, title="Lieu en préparation")
    assert set(board.board_for(network=network)) == {keep, expiring}
    later = timezone.now() + dt.timedelta(days=2)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert list(board.board_for(network=network)) == [keep]
    assert set(board.board_for(network=network, include_closed=True)) == {keep, closed, expiring}
    # Its author still finds the hidden post; nobody else.
    assert hidden in board.board_for(place=place_a, viewer=hidden.author)
    assert hidden not in board.board_for(place=place_a, viewer=resident_of(place_a))
    # An unpublished place's posts stay on its own board only.
    assert list(board.board_for(place=unpublished)) == [draft]


def test_filters_kind_skill_and_words(place_a):
    web = opportunity_at(place_a, kind="job", title="Développeur", skills=["web_development"])
    repair = opportunity_at(
        place_a, kind="volunteer", title="Repair café", free_tags=["Petite électronique"]
    )
    assert list(board.board_for(kind="job")) == [web]
    assert list(board.board_for(skill="web_development")) == [web]
    assert list(board.board_for(skill="petite ELECTRONIQUE")) == [repair]
    assert list(board.board_for(skill="electronique")) == []  # a key, not a word
    assert list(board.board_for(q="developpeur")) == [web]
    assert list(board.board_for(q="Web development")) == [web]  # the skill's English label
    assert list(board.board_for(q="café repair")) == [repair]  # every word, in any order


def test_visibility_of_one_post(place_a, network):
    post = opportunity_at(place_a)
    manager = make_manager(place_a)
    assert board.visible_post(None, post.pk) == post
    services.hide_post(post=post, actor=manager, reason="Spam")
    assert board.visible_post(UserFactory(), post.pk) is None
    assert board.visible_post(post.author, post.pk) == post
    assert board.visible_post(manager, post.pk) == post
    assert board.visible_post(make_coordinator(network), post.pk) == post
    assert board.own_post(manager, post.pk) is None
    assert board.own_post(post.author, post.pk) == post


# RSS --------------------------------------------------------------------------------------------


def _items(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/rss+xml")
    root = ET.fromstring(response.content)  # noqa: S314 - our own output
    assert root.tag == "rss" and root.get("version") == "2.0"
    return root.find("channel").findall("item")


def test_the_feed_lists_exactly_the_open_visible_posts_of_a_filter(place_a, place_b, network):
    client = Client(headers={"accept-language": "en"})
    job = opportunity_at(place_a, kind="job", title="Poste", skills=["accounting"])
    volunteer = opportunity_at(place_a, kind="volunteer", title="Bénévoles")
    opportunity_at(place_a, kind="job", title="Local", network_wide=False)
    closed = opportunity_at(place_a, kind="job", title="Fermé")
    board.opportunity_close(post=closed, actor=closed.author)
    hidden = opportunity_at(place_a, kind="job", title="Caché")
    services.hide_post(post=hidden, actor=make_manager(place_a), reason="Spam")
    opportunity_at(place_b, kind="job", title="Ailleurs")

    items = _items(client.get(FEED, {"network": network.slug, "kind": "job"}))
    assert [item.findtext("title") for item in items] == ["Poste"]
    (item,) = items
    assert item.findtext("link").endswith(board.post_url(job))
    assert "Accounting" in item.findtext("description")
    assert "POLeN" in item.findtext("description")

    titles = [i.findtext("title") for i in _items(client.get(FEED, {"place": place_a.slug}))]
    assert titles == ["Local", "Bénévoles", "Poste"]
    titles = [i.findtext("title") for i in _items(client.get(FEED, {"skill": "accounting"}))]
    assert titles == ["Poste"]
    # An unknown kind is ignored; unknown places and networks are not found.
    assert len(_items(client.get(FEED, {"network": network.slug, "kind": "nope"}))) == 2
    assert client.get(FEED, {"place": "no-such-place"}).status_code == 404
    assert client.get(FEED, {"network": "no-such-network"}).status_code == 404
    assert client.get(FEED, {"network": "bad\x00slug"}).status_code == 404
    assert volunteer


def test_the_feed_escapes_titles_and_bodies(place_a):
    opportunity_at(
        place_a,
        title="<script>alert('x')</script> & co",
        body="<p>Du <em>texte</em> &amp; <b>gras</b></p><script>alert(2)</script>",
    )
    response = Client().get(FEED)
    assert b"<script>" not in response.content
    (item,) = _items(response)
    assert item.findtext("title") == "<script>alert('x')</script> & co"
    description = item.findtext("description")
    assert "Du texte & gras" in description
    assert "<em>" not in description and "alert(2)" not in description


def test_the_feed_of_an_unpublished_place_is_not_found(place_a):
    PlaceFactory(slug="brouillon", is_published=False)
    assert Client().get(FEED, {"place": "brouillon"}).status_code == 404


def test_the_role_is_enough_to_post_whatever_it_is(place_a):
    for role in PlaceRole.Role:
        user = UserFactory()
        PlaceRole.objects.create(user=user, place=place_a, role=role)
        assert permissions.can_post_at(user, place_a)


def test_bars_in_words_never_pass_for_a_skill(place_a):
    opportunity_at(place_a, title="Titre |repair| piégé", free_tags=["a|b"])
    assert not board.board_for(skill="repair").exists()
    assert not board.board_for(skill="b").exists()
    assert board.board_for(skill="a b").exists()
