"""The skills exchange's rules (community.exchange): posting an offer or a request (skills,
sanitised words, search in every language, who may post where), the authors of matching posts
told in their language, private replies, closing and thanks. Every refusal writes nothing."""

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from maillage.accounts.models import PlaceRole
from maillage.community import exchange, services
from maillage.community.models import Notification, Reply, SkillPost, SkillPostSkill, Thanks
from tests.community.factories import resident_of, skill_post_at
from tests.factories import PlaceFactory, UserFactory, make_manager

pytestmark = pytest.mark.django_db


@pytest.fixture
def place():
    return PlaceFactory(name="POLeN", latitude=44.5281, longitude=3.4667)


def _create(author, place, **fields):
    fields.setdefault("kind", "offer")
    fields.setdefault("title", "Je peux aider à monter un dossier de financement")
    fields.setdefault("skills", ["grant_writing"])
    return exchange.skillpost_create(author=author, place=place, **fields)


# Posting ----------------------------------------------------------------------------------------


def test_an_offer_keeps_its_skills_by_key_and_is_searchable_in_every_language(place):
    author = resident_of(place)
    post = _create(
        author,
        place,
        body="<p>Le <strong>soir</strong> après 18 h.</p>",
        skills=["grant_writing", "accounting"],
        free_tags=["Mécénat  d'entreprise", "mecenat d'entreprise", ""],
    )
    rows = {(row.code, row.key) for row in post.skills.all()}
    assert rows == {
        ("grant_writing", "grant_writing"),
        ("accounting", "accounting"),
        ("", "mecenat d entreprise"),
    }
    assert post.body == "<p>Le <strong>soir</strong> après 18 h.</p>"
    # The skills of the list in every interface language; the words folded.
    for words in ("funding applications", "demandes de financement", "comptabilite", "soir"):
        assert words in post.search_text
    found = exchange.search(exchange.ExchangeFilters(q="Comptabilité"))
    assert list(found) == [post]
    assert list(exchange.search(exchange.ExchangeFilters(q="accounting"))) == [post]


def test_scripts_are_removed_from_the_words_of_a_post(place):
    post = _create(
        resident_of(place),
        place,
        title="Aide <b>compta</b>",
        body='<p onclick="steal()">Bonjour</p><script>alert("x")</script>',
    )
    assert "<script" not in post.body and "onclick" not in post.body
    assert "alert" not in post.body
    assert post.body == "<p>Bonjour</p>"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"skills": [], "free_tags": []}, "skills"),
        ({"skills": ["basket_weaving"]}, "skills"),
        ({"skills": [], "free_tags": [f"tag {n}" for n in range(11)]}, "skills"),
        ({"title": "   "}, "title"),
        ({"body": "x" * 6000}, "body"),
        ({"kind": "swap"}, "kind"),
    ],
)
def test_invalid_posts_are_refused_with_the_field_and_nothing_is_written(place, fields, field):
    author = resident_of(place)
    with pytest.raises(ValidationError) as refused:
        _create(author, place, **fields)
    assert field in refused.value.message_dict
    assert not SkillPost.objects.exists() and not SkillPostSkill.objects.exists()


def test_ten_skills_are_accepted(place):
    post = _create(
        resident_of(place),
        place,
        skills=["grant_writing", "accounting"],
        free_tags=[f"tag {n}" for n in range(8)],
    )
    assert post.skills.count() == 10


def test_a_member_of_place_a_cannot_post_at_place_b(place):
    other = PlaceFactory()
    member = resident_of(place)
    with pytest.raises(PermissionError):
        _create(member, other)
    with pytest.raises(PermissionError):
        _create(UserFactory(), place)
    assert not SkillPost.objects.exists()
    # The team of a place posts there too.
    assert _create(make_manager(other), other).place == other


def test_the_author_changes_and_closes_their_post_and_nobody_else(place):
    author = resident_of(place)
    post = _create(author, place)
    with pytest.raises(PermissionError):
        exchange.skillpost_update(post=post, actor=resident_of(place), title="Pirate")
    with pytest.raises(PermissionError):
        exchange.skillpost_close(post=post, actor=make_manager(place))
    exchange.skillpost_update(
        post=post, actor=author, title="Aide à la comptabilité", skills=["accounting"]
    )
    post.refresh_from_db()
    assert post.title == "Aide à la comptabilité"
    assert set(post.skills.values_list("key", flat=True)) == {"accounting"}
    assert "comptabilite" in post.search_text and "financement" not in post.search_text
    with pytest.raises(ValidationError):
        exchange.skillpost_update(post=post, actor=author, skills=[], free_tags=[])
    assert set(post.skills.values_list("key", flat=True)) == {"accounting"}
    exchange.skillpost_close(post=post, actor=author)
    post.refresh_from_db()
    assert post.closed_at is not None
    with pytest.raises(exchange.PostClosed):
        exchange.skillpost_close(post=post, actor=author)
    assert not exchange.search(exchange.ExchangeFilters()).exists()


# Matching posts are told ------------------------------------------------------------------------


def test_the_authors_of_matching_posts_hear_of_a_new_one_in_their_language(
    place, django_capture_on_commit_callbacks
):
    english = resident_of(place, language="en", email="en@example.org")
    french = resident_of(place, language="fr", email="fr@example.org")
    muted = resident_of(place, email="muted@example.org")
    services.notification_settings_save(user=muted, frequency="immediate", notify_matches=False)
    other_skill = resident_of(place, email="other@example.org")
    for person in (english, french, muted):
        _create(person, place, kind="request", title="Besoin d'aide", skills=["grant_writing"])
    _create(other_skill, place, kind="request", title="Compta", skills=["accounting"])
    # An offer of the same kind is no match.
    _create(resident_of(place, email="offer@example.org"), place)
    author = resident_of(place, email="author@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        post = _create(author, place, title="Dossiers de financement")
    by_address = {message.to[0]: message for message in mail.outbox}
    assert set(by_address) == {"en@example.org", "fr@example.org"}
    assert "Someone offers what you are looking for" in by_address["en@example.org"].subject
    assert "Shared skills: Funding applications\n" in by_address["en@example.org"].body
    assert "Demandes de financement" in by_address["fr@example.org"].body
    assert f"/community/skills/{post.pk}/" in by_address["fr@example.org"].body
    assert not Notification.objects.filter(user__in=[author, muted, other_skill]).exists()


def test_at_most_twenty_authors_hear_of_a_new_post(place, django_capture_on_commit_callbacks):
    for n in range(23):
        _create(resident_of(place), place, kind="request", title=f"Demande {n}")
    with django_capture_on_commit_callbacks(execute=True):
        _create(resident_of(place), place)
    assert len(mail.outbox) == exchange.MAX_MATCH_NOTICES == 20


def test_an_author_with_several_matching_posts_hears_once(
    place, django_capture_on_commit_callbacks
):
    seeker = resident_of(place)
    _create(seeker, place, kind="request", title="Une")
    _create(seeker, place, kind="request", title="Deux")
    with django_capture_on_commit_callbacks(execute=True):
        _create(resident_of(place), place)
    assert len(mail.outbox) == 1


def test_matching_authors_are_told_after_commit_unless_the_post_is_gone_by_then(
    place, django_capture_on_commit_callbacks
):
    _create(resident_of(place), place, kind="request", title="Besoin")
    with django_capture_on_commit_callbacks() as pending:
        post = _create(resident_of(place), place)
    assert len(pending) == 1 and not mail.outbox  # nothing is told inside the transaction
    SkillPost.objects.filter(pk=post.pk).update(hidden_at=timezone.now())
    pending[0]()
    assert not mail.outbox and not Notification.objects.exists()
    assert exchange.matching_authors_told(post.pk) == 0
    SkillPost.objects.filter(pk=post.pk).update(hidden_at=None)
    assert exchange.matching_authors_told(post.pk) == 1


# Private replies --------------------------------------------------------------------------------


def test_a_reply_is_plain_text_and_its_author_is_told_with_a_link(
    place, django_capture_on_commit_callbacks
):
    author = resident_of(place, language="en", full_name="Roald Martin")
    post = _create(author, place)
    sender = resident_of(place, full_name="Catherine Vidal")
    with django_capture_on_commit_callbacks(execute=True):
        reply = exchange.reply_send(post=post, sender=sender, body="  <b>Bonjour</b> Roald !  ")
    assert reply.body == "<b>Bonjour</b> Roald !"
    (message,) = mail.outbox
    assert message.to == [author.email]
    assert "Catherine V." in message.subject
    assert sender.email not in message.body
    assert f"/community/skills/{post.pk}/" in message.body


def test_replies_are_refused_on_ones_own_closed_or_hidden_post(place):
    author = resident_of(place)
    post = _create(author, place)
    sender = resident_of(place)
    with pytest.raises(ValidationError):
        exchange.reply_send(post=post, sender=author, body="Moi-même")
    with pytest.raises(ValidationError):
        exchange.reply_send(post=post, sender=sender, body="   ")
    exchange.skillpost_close(post=post, actor=author)
    with pytest.raises(exchange.PostClosed) as closed, translation.override("en"):
        exchange.reply_send(post=post, sender=sender, body="Trop tard ?")
    assert closed.value.messages == ["This post is closed: replies are no longer possible."]
    hidden = _create(author, place, title="Autre")
    services.hide_post(post=hidden, actor=make_manager(place), reason="Publicité")
    with pytest.raises(SkillPost.DoesNotExist):
        exchange.reply_send(post=hidden, sender=sender, body="Bonjour")
    assert not Reply.objects.exists()


def test_replies_are_read_by_their_sender_and_the_author_only(place):
    author = resident_of(place)
    post = _create(author, place)
    first, second = resident_of(place), resident_of(place)
    mine = exchange.reply_send(post=post, sender=first, body="Première")
    theirs = exchange.reply_send(post=post, sender=second, body="Seconde")
    assert list(exchange.replies_for(author, post)) == [mine, theirs]
    assert list(exchange.replies_for(first, post)) == [mine]
    assert list(exchange.replies_for(make_manager(place), post)) == []


# Thanks -----------------------------------------------------------------------------------------


def test_thanks_close_the_post_once_per_person_and_tell_the_receiver(
    place, django_capture_on_commit_callbacks
):
    author = resident_of(place, full_name="Roald Martin")
    post = _create(author, place)
    helper = resident_of(place, language="fr")
    exchange.reply_send(post=post, sender=helper, body="Je peux vous aider")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        thanks = exchange.thanks_give(post=post, giver=author, receiver=helper, message="Merci !")
    post.refresh_from_db()
    assert post.closed_at is not None
    assert (thanks.place, thanks.giver, thanks.receiver) == (place, author, helper)
    (message,) = mail.outbox
    assert message.to == [helper.email]
    assert "Roald M." in message.subject and "Merci !" in message.body
    with pytest.raises(exchange.AlreadyThanked):
        exchange.thanks_give(post=post, giver=author, receiver=helper)
    # A second helper may still be thanked once the post is closed.
    other = resident_of(place)
    Reply.objects.create(skill_post=post, sender=other, body="Moi aussi")
    exchange.thanks_give(post=post, giver=author, receiver=other)
    assert Thanks.objects.filter(post=post).count() == 2


def test_only_the_author_thanks_and_only_someone_who_replied(place):
    author = resident_of(place)
    post = _create(author, place)
    helper, stranger = resident_of(place), resident_of(place)
    exchange.reply_send(post=post, sender=helper, body="Je peux aider")
    with pytest.raises(PermissionError):
        exchange.thanks_give(post=post, giver=helper, receiver=author)
    with pytest.raises(ValidationError) as refused:
        exchange.thanks_give(post=post, giver=author, receiver=stranger)
    assert "receiver" in refused.value.message_dict
    with pytest.raises(ValidationError):
        exchange.thanks_give(post=post, giver=author, receiver=author)
    with pytest.raises(ValidationError):
        exchange.thanks_give(post=post, giver=author, receiver=helper, message="x" * 1001)
    assert not Thanks.objects.exists()
    post.refresh_from_db()
    assert post.closed_at is None


def test_thanks_count_for_the_statistics_of_the_place(place):
    author = resident_of(place)
    other_place = PlaceFactory()
    for title in ("Une", "Deux"):
        post = _create(author, place, title=title)
        helper = resident_of(place)
        exchange.reply_send(post=post, sender=helper, body="Avec plaisir")
        exchange.thanks_give(post=post, giver=author, receiver=helper)
    elsewhere = skill_post_at(other_place)
    helper = resident_of(other_place)
    exchange.reply_send(post=elsewhere, sender=helper, body="Oui")
    exchange.thanks_give(post=elsewhere, giver=elsewhere.author, receiver=helper)
    now = timezone.now()
    assert (
        exchange.thanks_count(place, now - dt.timedelta(hours=1), now + dt.timedelta(hours=1)) == 2
    )
    assert (
        exchange.thanks_count(place, now + dt.timedelta(hours=1), now + dt.timedelta(days=1)) == 0
    )
    today = timezone.localdate()
    assert exchange.thanks_count(place, today, today + dt.timedelta(days=1)) == 2


# Lists ------------------------------------------------------------------------------------------


def test_lists_show_open_visible_posts_of_published_places(place):
    from tests.factories import NetworkFactory

    network = NetworkFactory()
    place.networks.add(network)
    author = resident_of(place)
    shown = _create(author, place, title="Visible")
    closed = _create(author, place, title="Fermée")
    exchange.skillpost_close(post=closed, actor=author)
    hidden = _create(author, place, title="Cachée")
    services.hide_post(post=hidden, actor=make_manager(place), reason="Hors sujet")
    unpublished = PlaceFactory(is_published=False)
    unpublished.networks.add(network)
    secret = skill_post_at(unpublished)
    assert exchange.for_place(place) == [shown]
    assert exchange.for_place(unpublished) == [secret]  # its hub is for its people
    assert exchange.for_network(network) == [shown]
    assert list(exchange.search(exchange.ExchangeFilters())) == [shown]
    request = _create(author, place, kind="request", title="Demande", skills=["accounting"])
    assert list(exchange.search(exchange.ExchangeFilters(kind="request"))) == [request]
    assert list(exchange.search(exchange.ExchangeFilters(skill="accounting"))) == [request]
    assert list(exchange.search(exchange.ExchangeFilters(network=network.slug, kind="offer"))) == [
        shown
    ]
    assert list(exchange.search(exchange.ExchangeFilters(place="nowhere"))) == []


def test_a_post_is_seen_by_whom_it_may_be(place):
    author = resident_of(place)
    post = _create(author, place)
    manager = make_manager(place)
    stranger = UserFactory()
    assert exchange.can_see(None, post) or exchange.can_see(stranger, post)
    services.hide_post(post=post, actor=manager, reason="Spam")
    post.refresh_from_db()
    assert exchange.can_see(author, post) and exchange.can_see(manager, post)
    assert not exchange.can_see(stranger, post)
    unpublished = PlaceFactory(is_published=False)
    secret = skill_post_at(unpublished)
    assert not exchange.can_see(stranger, secret)
    assert exchange.can_see(secret.author, secret)
    member = UserFactory()
    PlaceRole.objects.create(user=member, place=unpublished, role=PlaceRole.Role.VISITOR)
    assert exchange.can_see(member, secret)
