"""The give-box's rules (community.givebox): who puts items in where, sanitised words, the
private "I'd like it" messages, every status change and its refusals (nothing written on a
refusal), the lists, and the return reminders in each recipient's language, across a change of
clocks. Runs on SQLite and, with DATABASE_URL, on PostgreSQL."""

import datetime as dt
import io
import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import formats, translation
from PIL import Image

from maillage.accounts.models import PlaceRole
from maillage.community import givebox, permissions, services
from maillage.community.models import Item, Notification, NotificationSettings, Reply
from maillage.core.images import normalise_image
from maillage.core.models import AuditEntry
from tests.community.factories import item_at, resident_of
from tests.factories import NetworkFactory, PlaceFactory, UserFactory, make_manager

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


@pytest.fixture(autouse=True)
def _messages_in_english():
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
    place = PlaceFactory(slug="polen", name="POLeN", time_zone="Europe/Paris")
    place.networks.add(network)
    return place


@pytest.fixture
def place_b():
    place = PlaceFactory(slug="ailleurs", name="Ailleurs")
    place.networks.add(NetworkFactory(slug="autre-reseau"))
    return place


@pytest.fixture
def owner(place_a):
    return resident_of(place_a, full_name="Catherine Vidal", language="en")


@pytest.fixture
def asker(place_a):
    return resident_of(place_a, full_name="Basile Martin", language="en")


def today(place):
    return givebox.today_at(place)


def rows() -> dict:
    """What a refusal must leave untouched."""
    return {
        "items": list(Item.objects.order_by("pk").values()),
        "replies": Reply.objects.count(),
        "notifications": Notification.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


def lend_item(owner, asker, *, return_on=None, **fields):
    """A drill to lend, asked for by `asker` and lent to them until `return_on`."""
    item = item_at(owner_place(owner), author=owner, mode="lend", title="Perceuse", **fields)
    givebox.reply_send(item=item, sender=asker, body="Je peux la prendre samedi ?")
    return givebox.item_lend(
        item=item,
        actor=owner,
        holder=asker,
        return_on=return_on or today(item.place) + dt.timedelta(days=7),
    )


def owner_place(user):
    return PlaceRole.objects.filter(user=user).first().place


def png(width=1800, height=1200, name="drill.png") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 20)).save(out, "PNG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


# Putting items in -------------------------------------------------------------------------------


def test_a_member_puts_an_item_in_with_sanitised_words_and_folded_search_text(place_a, owner):
    item = givebox.item_create(
        author=owner,
        place=place_a,
        mode="give",
        title="  Machine à   coudre ",
        body='<p onclick="x()">Très <strong>bon</strong> état<script>alert(1)</script></p>',
    )
    assert item.title == "Machine à coudre"
    assert item.body == "<p>Très <strong>bon</strong> état</p>"
    assert item.status == Item.Status.AVAILABLE
    assert "machine a coudre" in item.search_text and "tres bon etat" in item.search_text


def test_the_team_and_coordinators_post_too_but_a_member_of_a_cannot_post_at_b(
    place_a, place_b, owner, network
):
    staff = resident_of(place_a)
    PlaceRole.objects.filter(user=staff).update(role=PlaceRole.Role.STAFF)
    assert givebox.item_create(author=staff, place=place_a, mode="give", title="Chaises")
    before = rows()
    with pytest.raises(PermissionError):
        givebox.item_create(author=owner, place=place_b, mode="give", title="Vélo")
    with pytest.raises(PermissionError):
        givebox.item_create(author=UserFactory(), place=place_a, mode="give", title="Vélo")
    assert rows() == before


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": "   "}, "title"),
        ({"title": "x" * 161}, "title"),
        ({"mode": "sell"}, "mode"),
        ({"body": "<p>" + "a" * 6000 + "</p>"}, "body"),
    ],
)
def test_invalid_items_are_refused_and_nothing_is_written(place_a, owner, fields, field):
    data = {"mode": "give", "title": "Livres", "body": "", **fields}
    before = rows()
    with pytest.raises(ValidationError) as refused:
        givebox.item_create(author=owner, place=place_a, **data)
    assert field in refused.value.message_dict
    assert rows() == before


def test_the_author_changes_the_words_and_a_replaced_photo_is_deleted_after_commit(
    place_a, owner, django_capture_on_commit_callbacks
):
    first = normalise_image(png(), max_side=1000)
    item = givebox.item_create(
        author=owner, place=place_a, mode="lend", title="Perceuse", photo=first
    )
    old = item.photo.name
    storage = item.photo.storage
    assert storage.exists(old)
    with Image.open(item.photo.path) as stored:
        assert stored.format == "WEBP" and max(stored.size) == 1000
    with django_capture_on_commit_callbacks(execute=True):
        item = givebox.item_update(
            item=item,
            actor=owner,
            title="Perceuse sans fil",
            body="<p>Avec deux batteries</p>",
            photo=normalise_image(png(), max_side=1000),
        )
    assert item.title == "Perceuse sans fil" and "deux batteries" in item.search_text
    assert item.photo.name != old and storage.exists(item.photo.name)
    assert not storage.exists(old)
    with django_capture_on_commit_callbacks(execute=True):
        givebox.item_update(item=item, actor=owner, remove_photo=True)
    assert not Item.objects.get(pk=item.pk).photo


def test_only_the_author_changes_an_item_and_a_lent_item_stays_lent(place_a, owner, asker):
    item = lend_item(owner, asker)
    before = rows()
    with pytest.raises(PermissionError):
        givebox.item_update(item=item, actor=asker, title="Mine now")
    with pytest.raises(givebox.Conflict, match="mark it returned first"):
        givebox.item_update(item=item, actor=owner, mode="give")
    assert rows() == before


# "I'd like it" ----------------------------------------------------------------------------------


def test_a_reply_reaches_the_owner_only(
    place_a, owner, asker, django_capture_on_commit_callbacks, mailoutbox
):
    item = item_at(place_a, author=owner, title="Livres pour enfants")
    with django_capture_on_commit_callbacks(execute=True):
        reply = givebox.reply_send(item=item, sender=asker, body="  Pour ma fille de 4 ans  ")
    assert reply.body == "Pour ma fille de 4 ans"
    (email,) = mailoutbox
    assert email.to == [owner.email]
    assert "Basile M. would like “Livres pour enfants”" in email.subject
    assert "Pour ma fille de 4 ans" in email.body and f"/community/givebox/{item.pk}/" in email.body
    assert asker.email not in email.body
    # Private: the owner reads all, the sender their own, nobody else anything (the team neither).
    third = resident_of(place_a)
    team = make_manager(place_a)
    assert list(permissions.replies_visible_to(owner, item)) == [reply]
    assert list(permissions.replies_visible_to(asker, item)) == [reply]
    assert not permissions.replies_visible_to(third, item).exists()
    assert not permissions.replies_visible_to(team, item).exists()


def test_a_reply_is_news_not_urgent_it_follows_the_owners_digest_choice(
    place_a, owner, asker, django_capture_on_commit_callbacks, mailoutbox
):
    NotificationSettings.objects.create(user=owner, frequency="weekly")
    item = item_at(place_a, author=owner)
    with django_capture_on_commit_callbacks(execute=True):
        givebox.reply_send(item=item, sender=asker, body="Intéressé !")
    assert mailoutbox == []
    assert Notification.objects.get(user=owner).sent_at is None


def test_replies_are_refused_on_gone_own_and_hidden_items(place_a, owner, asker):
    gone = item_at(place_a, author=owner)
    givebox.item_gone(item=gone, actor=owner)
    hidden = item_at(place_a, author=owner)
    services.hide_post(post=hidden, actor=make_manager(place_a), reason="Doublon")
    mine = item_at(place_a, author=owner)
    before = rows()
    with pytest.raises(givebox.Conflict, match="This item is gone"):
        givebox.reply_send(item=gone, sender=asker, body="Encore là ?")
    with pytest.raises(ValidationError, match="your own item"):
        givebox.reply_send(item=mine, sender=owner, body="Moi")
    with pytest.raises(PermissionError):
        givebox.reply_send(item=hidden, sender=asker, body="Caché ?")
    with pytest.raises(ValidationError):
        givebox.reply_send(item=mine, sender=asker, body="   ")
    assert rows() == before


# Status -----------------------------------------------------------------------------------------


def test_reserve_for_someone_who_asked_then_release(
    place_a, owner, asker, django_capture_on_commit_callbacks, mailoutbox
):
    item = item_at(place_a, author=owner, title="Livres")
    stranger = resident_of(place_a)
    givebox.reply_send(item=item, sender=asker, body="Je veux bien")
    mailoutbox.clear()
    before = rows()
    with pytest.raises(ValidationError) as refused:
        givebox.item_reserve(item=item, actor=owner, holder=stranger)
    assert "holder" in refused.value.message_dict
    assert rows() == before
    with django_capture_on_commit_callbacks(execute=True):
        item = givebox.item_reserve(item=item, actor=owner, holder=asker)
    assert (item.status, item.holder) == (Item.Status.RESERVED, asker)
    assert [m.to for m in mailoutbox] == [[asker.email]]
    assert "“Livres” is reserved for you" in mailoutbox[0].subject
    before = rows()
    with pytest.raises(givebox.Conflict, match="already reserved"):
        givebox.item_reserve(item=item, actor=owner)
    assert rows() == before
    item = givebox.item_release(item=item, actor=owner)
    assert (item.status, item.holder) == (Item.Status.AVAILABLE, None)
    with pytest.raises(givebox.Conflict, match="not reserved"):
        givebox.item_release(item=item, actor=owner)
    # Reserved for nobody in particular.
    assert givebox.item_reserve(item=item, actor=owner).holder is None


def test_lend_tells_the_borrower_at_once_with_the_return_date(
    place_a, owner, asker, django_capture_on_commit_callbacks, mailoutbox
):
    NotificationSettings.objects.create(user=asker, frequency="never")
    item = item_at(place_a, author=owner, mode="lend", title="Perceuse")
    givebox.reply_send(item=item, sender=asker, body="Pour samedi ?")
    givebox.item_reserve(item=item, actor=owner, holder=asker)
    mailoutbox.clear()
    return_on = today(place_a) + dt.timedelta(days=10)
    with django_capture_on_commit_callbacks(execute=True):
        # A reserved item goes to whom it is reserved for when no one else is named.
        item = givebox.item_lend(item=item, actor=owner, return_on=return_on)
    assert (item.status, item.holder, item.return_on) == (Item.Status.LENT, asker, return_on)
    (email,) = mailoutbox  # urgent: sent although the borrower chose "never"
    assert email.to == [asker.email]
    label = formats.date_format(return_on, "DATE_FORMAT")
    assert "“Perceuse” is lent to you until" in email.subject and label in email.subject
    assert label in email.body and "POLeN" in email.body


@pytest.mark.parametrize(
    ("days", "message"),
    [(-1, "cannot be in the past"), (366, "within 365 days"), (None, "Give the date")],
)
def test_lend_refuses_a_return_date_out_of_bounds(place_a, owner, asker, days, message):
    item = item_at(place_a, author=owner, mode="lend")
    givebox.reply_send(item=item, sender=asker, body="Oui")
    return_on = None if days is None else today(place_a) + dt.timedelta(days=days)
    before = rows()
    with pytest.raises(ValidationError, match=message) as refused:
        givebox.item_lend(item=item, actor=owner, holder=asker, return_on=return_on)
    assert "return_on" in refused.value.message_dict
    assert rows() == before


def test_lend_accepts_today_and_a_year_ahead_in_the_places_calendar(place_a, owner, asker):
    for days in (0, 365):
        item = lend_item(owner, asker, return_on=today(place_a) + dt.timedelta(days=days))
        assert item.status == Item.Status.LENT


def test_lend_needs_an_item_to_lend_and_a_borrower_who_asked(place_a, owner, asker):
    given = item_at(place_a, author=owner, mode="give")
    givebox.reply_send(item=given, sender=asker, body="Oui")
    to_lend = item_at(place_a, author=owner, mode="lend")
    later = today(place_a) + dt.timedelta(days=3)
    before = rows()
    with pytest.raises(givebox.Conflict, match="given, not lent"):
        givebox.item_lend(item=given, actor=owner, holder=asker, return_on=later)
    with pytest.raises(ValidationError, match="Choose who borrows it"):
        givebox.item_lend(item=to_lend, actor=owner, return_on=later)
    with pytest.raises(ValidationError, match="asked for this item"):
        givebox.item_lend(item=to_lend, actor=owner, holder=asker, return_on=later)
    assert rows() == before


def test_a_lent_item_must_be_returned_before_anything_else(place_a, owner, asker):
    item = lend_item(owner, asker)
    before = rows()
    for action in (givebox.item_reserve, givebox.item_release, givebox.item_gone):
        with pytest.raises(givebox.Conflict, match=r"This item is lent: mark it returned first\."):
            action(item=item, actor=owner)
    with pytest.raises(givebox.Conflict, match="mark it returned first"):
        givebox.item_lend(item=item, actor=owner, holder=asker, return_on=today(place_a))
    assert rows() == before
    item = givebox.item_returned(item=item, actor=owner)
    assert (item.status, item.holder, item.return_on, item.reminded_on) == (
        Item.Status.AVAILABLE,
        None,
        None,
        None,
    )
    with pytest.raises(givebox.Conflict, match="not lent"):
        givebox.item_returned(item=item, actor=owner)


def test_gone_is_final(place_a, owner, asker):
    item = item_at(place_a, author=owner, mode="lend")
    givebox.reply_send(item=item, sender=asker, body="Oui")
    item = givebox.item_gone(item=item, actor=owner)
    assert item.status == Item.Status.GONE and item.gone_at is not None
    before = rows()
    later = today(place_a) + dt.timedelta(days=3)
    for call in (
        lambda: givebox.item_reserve(item=item, actor=owner),
        lambda: givebox.item_release(item=item, actor=owner),
        lambda: givebox.item_lend(item=item, actor=owner, holder=asker, return_on=later),
        lambda: givebox.item_returned(item=item, actor=owner),
        lambda: givebox.item_gone(item=item, actor=owner),
        lambda: givebox.item_update(item=item, actor=owner, title="Encore"),
    ):
        with pytest.raises(givebox.Conflict, match="gone"):
            call()
    assert rows() == before


def test_the_places_team_may_only_mark_an_item_gone_audited_and_the_author_is_told(
    place_a, place_b, owner, asker, network, django_capture_on_commit_callbacks, mailoutbox
):
    item = item_at(place_a, author=owner, title="Cartons")
    staff = resident_of(place_a)
    PlaceRole.objects.filter(user=staff).update(role=PlaceRole.Role.STAFF)
    before = rows()
    for outsider in (asker, make_manager(place_b), UserFactory()):
        with pytest.raises(PermissionError):
            givebox.item_gone(item=item, actor=outsider)
    for action in (givebox.item_reserve, givebox.item_release, givebox.item_returned):
        with pytest.raises(PermissionError):
            action(item=item, actor=staff)
    assert rows() == before
    with django_capture_on_commit_callbacks(execute=True):
        givebox.item_gone(item=item, actor=staff)
    assert Item.objects.get(pk=item.pk).status == Item.Status.GONE
    entry = AuditEntry.objects.get(action="community.item_gone")
    assert (entry.actor, entry.place, entry.target_id) == (staff, place_a, str(item.pk))
    assert [m.to for m in mailoutbox] == [[owner.email]]
    assert "taken out of the give-box" in mailoutbox[0].subject


def test_the_team_cannot_end_a_loan(place_a, owner, asker):
    item = lend_item(owner, asker)
    with pytest.raises(givebox.Conflict, match="mark it returned first"):
        givebox.item_gone(item=item, actor=make_manager(place_a))


def test_a_hidden_item_cannot_be_reserved_or_lent_but_can_be_released_or_returned(
    place_a, owner, asker
):
    item = item_at(place_a, author=owner, mode="lend")
    givebox.reply_send(item=item, sender=asker, body="Oui")
    givebox.item_reserve(item=item, actor=owner, holder=asker)
    services.hide_post(post=item, actor=make_manager(place_a), reason="Annonce en double")
    item.refresh_from_db()
    with pytest.raises(givebox.Conflict, match="hidden"):
        givebox.item_lend(item=item, actor=owner, return_on=today(place_a))
    item = givebox.item_release(item=item, actor=owner)
    assert item.status == Item.Status.AVAILABLE
    with pytest.raises(givebox.Conflict, match="hidden"):
        givebox.item_reserve(item=item, actor=owner)
    assert givebox.status_actions(owner, item) == ["gone"]


def test_status_actions_offered_to_each_person(place_a, owner, asker):
    item = item_at(place_a, author=owner, mode="lend")
    manager = make_manager(place_a)
    assert givebox.status_actions(owner, item) == ["reserve", "lend", "gone"]
    assert givebox.status_actions(manager, item) == ["gone"]
    assert givebox.status_actions(asker, item) == []
    given = item_at(place_a, author=owner, mode="give")
    assert givebox.status_actions(owner, given) == ["reserve", "gone"]
    lent = lend_item(owner, asker)
    assert givebox.status_actions(owner, lent) == ["returned"]
    assert givebox.status_actions(manager, lent) == []


# Lists ------------------------------------------------------------------------------------------


def test_the_give_box_lists_what_can_still_be_asked_for(place_a, place_b, owner, asker, network):
    books = item_at(place_a, author=owner, title="Livres d'enfants", body="<p>Albums illustrés</p>")
    drill = lend_item(owner, asker)
    reserved = item_at(place_a, author=owner, title="Chaise haute")
    givebox.item_reserve(item=reserved, actor=owner)
    gone = item_at(place_a, author=owner, title="Cartons")
    givebox.item_gone(item=gone, actor=owner)
    hidden = item_at(place_a, author=owner, title="Annonce cachée")
    services.hide_post(post=hidden, actor=make_manager(place_a), reason="Spam")
    elsewhere = item_at(place_b, title="Vélo")
    closed = PlaceFactory(is_published=False)
    unpublished = item_at(closed, title="Table")

    assert list(givebox.givebox_for()) == [elsewhere, reserved, books]
    assert list(givebox.givebox_for(place=place_a)) == [reserved, books]
    assert list(givebox.givebox_for(network=network)) == [reserved, books]
    assert list(givebox.givebox_for(status=["lent", "gone"])) == [gone, drill]
    assert list(givebox.givebox_for(mode="lend", status="lent")) == [drill]
    assert list(givebox.givebox_for(q="LIVRES ENFANTS")) == [books]
    assert list(givebox.givebox_for(q="illustres")) == [books]
    assert list(givebox.givebox_for(q="velo")) == [elsewhere]
    # Their author and the place's team see hidden items; the people of a closed place its items.
    assert hidden in givebox.givebox_for(viewer=owner)
    assert hidden in givebox.givebox_for(viewer=make_manager(place_a))
    assert hidden not in givebox.givebox_for(viewer=asker)
    assert unpublished in givebox.givebox_for(viewer=unpublished.author)
    assert unpublished not in givebox.givebox_for(viewer=asker)
    # The hubs of the lead's pages.
    assert givebox.for_place(place_a, limit=1) == [reserved]
    assert givebox.for_network(network) == [reserved, books]


# Return reminders -------------------------------------------------------------------------------


@pytest.fixture
def lent_until(owner, asker, monkeypatch):
    def lend(return_on, *, lent_on):
        """An item lent on `lent_on` (whose date the return date is checked against) until
        `return_on`."""
        item = item_at(owner_place(owner), author=owner, mode="lend", title="Machine à coudre")
        givebox.reply_send(item=item, sender=asker, body="Pour un ourlet")
        with monkeypatch.context() as patch:
            patch.setattr(givebox, "today_at", lambda place, now=None: lent_on)
            return givebox.item_lend(item=item, actor=owner, holder=asker, return_on=return_on)

    return lend


def _sent(capture, mailoutbox, **kwargs):
    mailoutbox.clear()
    with capture(execute=True):
        count = givebox.send_return_reminders(**kwargs)
    return count, [(m.to[0], m.subject) for m in mailoutbox]


def test_due_tomorrow_once_then_overdue_once_to_the_borrower_and_the_owner(
    owner, asker, lent_until, django_capture_on_commit_callbacks, mailoutbox
):
    capture = django_capture_on_commit_callbacks
    return_on = dt.date(2027, 5, 20)
    item = lent_until(return_on, lent_on=dt.date(2027, 5, 10))
    assert _sent(capture, mailoutbox, today=dt.date(2027, 5, 18)) == (0, [])
    count, emails = _sent(capture, mailoutbox, today=dt.date(2027, 5, 19))
    assert count == 1
    assert emails == [(asker.email, "[Maillage] Reminder: “Machine à coudre” is due back tomorrow")]
    assert Item.objects.get(pk=item.pk).reminded_on == dt.date(2027, 5, 19)
    # Once: not again that day, nor on the return day.
    assert _sent(capture, mailoutbox, today=dt.date(2027, 5, 19)) == (0, [])
    assert _sent(capture, mailoutbox, today=dt.date(2027, 5, 20)) == (0, [])
    count, emails = _sent(capture, mailoutbox, today=dt.date(2027, 5, 21))
    assert count == 2
    assert {to for to, _subject in emails} == {asker.email, owner.email}
    holder_subject = dict(emails)[asker.email]
    assert "should have come back on May 20, 2027" in holder_subject
    assert "has not come back yet" in dict(emails)[owner.email]
    assert _sent(capture, mailoutbox, today=dt.date(2027, 5, 22)) == (0, [])
    assert _sent(capture, mailoutbox, today=dt.date(2027, 6, 30)) == (0, [])


def test_a_loan_due_today_gets_the_due_reminder_and_a_late_job_only_the_latest_step(
    lent_until, django_capture_on_commit_callbacks, mailoutbox
):
    capture = django_capture_on_commit_callbacks
    same_day = lent_until(dt.date(2027, 5, 20), lent_on=dt.date(2027, 5, 20))
    count, emails = _sent(capture, mailoutbox, today=dt.date(2027, 5, 20))
    assert (count, emails[0][1]) == (1, "[Maillage] Reminder: “Machine à coudre” is due back today")
    # A job that did not run for days: only "overdue".
    Item.objects.filter(pk=same_day.pk).update(reminded_on=None)
    count, emails = _sent(capture, mailoutbox, today=dt.date(2027, 5, 25))
    assert count == 2 and all("due back" not in subject for _to, subject in emails)


def test_returned_items_are_never_reminded(
    owner, lent_until, django_capture_on_commit_callbacks, mailoutbox
):
    item = lent_until(dt.date(2027, 5, 20), lent_on=dt.date(2027, 5, 10))
    givebox.item_returned(item=item, actor=owner)
    for day in (19, 20, 21, 28):
        assert _sent(
            django_capture_on_commit_callbacks, mailoutbox, today=dt.date(2027, 5, day)
        ) == (0, [])


def test_reminders_are_written_in_each_recipients_language(
    owner, asker, lent_until, django_capture_on_commit_callbacks, mailoutbox
):
    asker.language = "fr"
    asker.save(update_fields=["language"])
    lent_until(dt.date(2027, 5, 20), lent_on=dt.date(2027, 5, 10))
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        givebox.send_return_reminders(today=dt.date(2027, 5, 21))
    by_recipient = {m.to[0]: m for m in mailoutbox}
    assert "20 mai 2027" in by_recipient[asker.email].body
    assert "May 20, 2027" in by_recipient[owner.email].body


@pytest.mark.parametrize(
    ("return_on", "before", "after"),
    [
        # Spring forward (Sunday 28 March 2027, 02:00 → 03:00): Paris is UTC+1 before.
        (
            dt.date(2027, 3, 29),
            dt.datetime(2027, 3, 27, 22, 59, tzinfo=dt.UTC),  # 23:59 on the 27th in Paris
            dt.datetime(2027, 3, 27, 23, 1, tzinfo=dt.UTC),  # 00:01 on the 28th in Paris
        ),
        # Fall back (Sunday 31 October 2027, 03:00 → 02:00): Paris is UTC+2 before.
        (
            dt.date(2027, 11, 1),
            dt.datetime(2027, 10, 30, 21, 59, tzinfo=dt.UTC),  # 23:59 on the 30th in Paris
            dt.datetime(2027, 10, 30, 22, 1, tzinfo=dt.UTC),  # 00:01 on the 31st in Paris
        ),
    ],
)
def test_the_due_reminder_follows_the_places_date_across_a_change_of_clocks(
    lent_until, django_capture_on_commit_callbacks, mailoutbox, return_on, before, after
):
    capture = django_capture_on_commit_callbacks
    lent_until(return_on, lent_on=return_on - dt.timedelta(days=5))
    assert before.astimezone(PARIS).date() == return_on - dt.timedelta(days=2)
    assert _sent(capture, mailoutbox, now=before) == (0, [])
    count, emails = _sent(capture, mailoutbox, now=after)
    assert count == 1 and "due back tomorrow" in emails[0][1]
    assert Item.objects.get().reminded_on == return_on - dt.timedelta(days=1)
    # The overdue step at the place's midnight after the return day, not UTC's.
    overdue_paris = dt.datetime.combine(return_on + dt.timedelta(days=1), dt.time(0, 1), PARIS)
    assert _sent(capture, mailoutbox, now=overdue_paris - dt.timedelta(minutes=2)) == (0, [])
    count, _emails = _sent(capture, mailoutbox, now=overdue_paris)
    assert count == 2


def test_reminders_use_each_places_own_date(owner, asker, django_capture_on_commit_callbacks):
    """Noon UTC is already the next day in Kiritimati (UTC+14): its loan is due tomorrow there."""
    far = PlaceFactory(time_zone="Pacific/Kiritimati")
    lender = resident_of(far)
    borrower = UserFactory()
    item = item_at(far, author=lender, mode="lend")
    givebox.reply_send(item=item, sender=borrower, body="Oui")
    noon = dt.datetime(2027, 5, 18, 12, tzinfo=dt.UTC)
    Item.objects.filter(pk=item.pk).update(
        status="lent", holder=borrower, return_on=dt.date(2027, 5, 20)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert givebox.send_return_reminders(now=noon) == 1
    assert Item.objects.get(pk=item.pk).reminded_on == dt.date(2027, 5, 19)


def test_the_reminder_job_reads_the_current_time_by_default(
    place_a, owner, asker, django_capture_on_commit_callbacks
):
    tomorrow = today(place_a) + dt.timedelta(days=1)
    lend_item(owner, asker, return_on=tomorrow)
    with django_capture_on_commit_callbacks(execute=True):
        assert givebox.send_return_reminders() == 1
        assert givebox.send_return_reminders() == 0
