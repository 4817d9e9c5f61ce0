"""The give-box (ressourcerie) of the places: things given away or lent, picked up at a place.

Who does what:
- The people of a place (`permissions.can_post_at`) put items in its give-box; the author alone
  changes the words, the photo and the status of their item.
- Anyone signed in says "I'd like it" with a private message to the author (`Reply`): never on
  their own item, never on a gone one, never on a hidden one (answered as not found).
- Status: available → reserved (optionally for one of the people who replied) → available
  again (released); a lent item (mode "lend") goes from available or reserved to lent, to
  someone who replied, with a return date between today and a year ahead in the place's
  calendar, and comes back to available when the author marks it returned; any item but a lent
  one can be marked gone (final). The place's team (`permissions.can_moderate_place`) may also
  mark an available or reserved item gone, to clear a give-box of things no longer there: an
  audited write, and the author is told. A lent item must come back (or be marked returned by
  its author) before it can go: the team cannot end a loan.
- Return reminders (`send_return_reminders`, run daily): see its docstring.

Refusals raise `ValidationError` (400: a value is wrong) or `Conflict` (409: the item's state
does not allow it); `PermissionError` when the person may not act at all (views and the API
answer 404, so that nobody learns more than the public give-box shows).
"""

import datetime as dt
import zoneinfo
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from maillage.accounts.models import User
from maillage.core.audit import audit_record
from maillage.core.html import html_to_text
from maillage.core.text import fold
from maillage.members.periods import local_day
from maillage.places.models import Network, Place

from . import permissions, selectors, services
from .models import REPLY_MAX, Item, Reply

LEND_MAX_DAYS = 365
# What the give-box shows unless asked for more: what can still be asked for.
SHOWN_STATUSES = (Item.Status.AVAILABLE, Item.Status.RESERVED)
ACTIONS = permissions.ITEM_ACTIONS


CONFLICT = "conflict"


class Conflict(ValidationError):
    """A refusal due to the item's state (gone, lent, already reserved...): a 409 in the API,
    whose code is CONFLICT."""

    def __init__(self, message):
        super().__init__(message, code=CONFLICT)


# Dates ----------------------------------------------------------------------------------------


def today_at(place: Place, now: dt.datetime | None = None) -> dt.date:
    """Today's date in the place's calendar."""
    return local_day(now or timezone.now(), zoneinfo.ZoneInfo(place.time_zone))


def _date_label(day: dt.date) -> str:
    """A date in the language active now (each recipient's, inside notify)."""
    return formats.date_format(day, "DATE_FORMAT")


# Reading --------------------------------------------------------------------------------------


def item_path(item: Item) -> str:
    return reverse("community:givebox_item", kwargs={"pk": item.pk})


def can_reply(user, item: Item) -> bool:
    """Whether the "I'd like it" form is offered (reply_send decides and explains)."""
    return (
        bool(user and user.is_authenticated and user.is_active)
        and item.author_id != user.pk
        and not item.is_hidden
        and item.status != Item.Status.GONE
    )


def status_actions(user, item: Item) -> list[str]:
    """The status changes `user` may try on `item` now (the buttons of its page)."""
    status = item.status
    possible = {
        Item.Status.AVAILABLE: ["reserve", "lend", "gone"],
        Item.Status.RESERVED: ["release", "lend", "gone"],
        Item.Status.LENT: ["returned"],
        Item.Status.GONE: [],
    }[status]
    if item.mode != Item.Mode.LEND:
        possible = [action for action in possible if action != "lend"]
    if item.is_hidden:
        possible = [action for action in possible if action not in ("reserve", "lend")]
    return [action for action in possible if permissions.can_change_item_status(user, item, action)]


def repliers(item: Item) -> QuerySet[User]:
    """The people who said "I'd like it": whom the item may be reserved for or lent to."""
    return (
        User.objects.filter(is_active=True, community_replies__item=item)
        .exclude(pk=item.author_id)
        .distinct()
        .order_by("full_name", "pk")
    )


def _statuses(status) -> list[str]:
    if not status:
        return list(SHOWN_STATUSES)
    wanted = [status] if isinstance(status, str) else list(status)
    return [value for value in wanted if value in Item.Status.values]


def givebox_for(
    place: Place | None = None,
    network: Network | None = None,
    mode: str | None = None,
    status: str | Iterable[str] | None = None,
    q: str = "",
    *,
    viewer=None,
) -> QuerySet[Item]:
    """The give-box, newest first: by default the available and reserved items of the published
    places, never a hidden one. `status` is one status or several; `q` words of the title or
    description (accents and case ignored). With `viewer`, also the hidden items they may read
    (their own, those of the places they moderate) and the items of unpublished places they see.
    """
    items = Item.objects.select_related("place", "author", "holder").filter(
        status__in=_statuses(status)
    )
    public = Q(hidden_at__isnull=True, place__is_published=True)
    if viewer is not None and viewer.is_authenticated:
        mine = Q(author=viewer)
        moderated = Q(place__in=permissions.moderated_places(viewer))
        their_places = Q(place__in=permissions.postable_places(viewer))
        public = public | mine | moderated | (Q(hidden_at__isnull=True) & their_places)
    items = items.filter(public)
    if place is not None:
        items = items.filter(place=place)
    if network is not None:
        items = items.filter(place__networks=network)
    if mode:
        items = items.filter(mode=mode)
    for word in fold(q).split()[:10]:
        items = items.filter(search_text__contains=word)
    return items.order_by("-created_at", "-id")


def for_place(place: Place, *, limit: int = 5) -> list[Item]:
    """The latest items of a place's give-box that can still be asked for (the place's hub)."""
    return list(givebox_for(place=place)[:limit])


def for_network(network: Network, *, limit: int = 5) -> list[Item]:
    """The latest items of the give-boxes of a network's places (the network's hub)."""
    return list(givebox_for(network=network)[:limit])


# Writing items --------------------------------------------------------------------------------


def _search_text(title: str, body: str) -> str:
    return fold(f"{title} {html_to_text(body)}")


def _clean_mode(mode: str) -> str:
    if mode not in Item.Mode.values:
        raise ValidationError({"mode": _("Choose whether you give it or lend it.")})
    return mode


def _delete_after_commit(photo_field, name: str) -> None:
    """Remove a replaced photo once the new state is committed (a rollback keeps it)."""
    storage = photo_field.storage
    transaction.on_commit(lambda: storage.delete(name), robust=True)


@transaction.atomic
def item_create(*, author, place: Place, mode: str, title: str, body: str = "", photo=None) -> Item:
    """Put something in the give-box of `place`. `photo` is a file already made safe by
    core.images (NormalisedImageField); the API gives none."""
    if not permissions.can_post_at(author, place):
        raise PermissionError
    title = services.clean_title(title)
    body = services.clean_body(body)
    mode = _clean_mode(mode)
    item = Item(
        author=author,
        place=place,
        mode=mode,
        title=title,
        body=body,
        search_text=_search_text(title, body),
    )
    if photo is not None:
        item.photo = photo
    item.save()
    return item


@transaction.atomic
def item_update(
    *,
    item: Item,
    actor,
    title: str | None = None,
    body: str | None = None,
    mode: str | None = None,
    photo=None,
    remove_photo: bool = False,
) -> Item:
    """The author changes the words, the mode or the photo of their item (None: unchanged).
    A replaced or removed photo is deleted once the change is committed."""
    if not permissions.can_edit_post(actor, item):
        raise PermissionError
    item = Item.objects.select_for_update().get(pk=item.pk)
    if item.status == Item.Status.GONE:
        raise Conflict(_("This item is gone: it can no longer be changed."))
    if title is not None:
        item.title = services.clean_title(title)
    if body is not None:
        item.body = services.clean_body(body)
    if mode is not None and mode != item.mode:
        mode = _clean_mode(mode)
        if item.status == Item.Status.LENT:
            raise Conflict(_("This item is lent: mark it returned first."))
        item.mode = mode
    old_photo = item.photo.name
    if remove_photo:
        item.photo = None
    if photo is not None:
        item.photo = photo
    item.search_text = _search_text(item.title, item.body)
    item.save()
    if old_photo and old_photo != item.photo.name:
        _delete_after_commit(item.photo, old_photo)
    return item


# "I'd like it" --------------------------------------------------------------------------------


@transaction.atomic
def reply_send(*, item: Item, sender, body: str) -> Reply:
    """A private message to the item's author ("I'd like it"), who is told (not urgent)."""
    if not (sender and sender.is_authenticated and sender.is_active):
        raise PermissionError
    item = (
        Item.objects.select_for_update(of=("self",))
        .select_related("author", "place")
        .get(pk=item.pk)
    )
    if item.is_hidden or not permissions.place_visible(sender, item.place):
        raise PermissionError
    if item.author_id == sender.pk:
        raise ValidationError(_("This is your own item: you cannot ask for it."))
    if item.status == Item.Status.GONE:
        raise Conflict(_("This item is gone: replies are no longer possible."))
    body = services.clean_message(body, limit=REPLY_MAX)
    reply = Reply.objects.create(item=item, sender=sender, body=body)
    name = selectors.display_name(sender)
    url = services.absolute(item_path(item))
    services.notify(
        item.author,
        subject=lambda: _("%(name)s would like “%(title)s”") % {"name": name, "title": item.title},
        template="community/email/givebox_reply.txt",
        context={"item": item, "name": name, "message": body, "url": url},
        url=url,
    )
    return reply


# Status ---------------------------------------------------------------------------------------


def _locked(item: Item) -> Item:
    return (
        Item.objects.select_for_update(of=("self",))
        .select_related("place", "author", "holder")
        .get(pk=item.pk)
    )


def _refuse_gone(item: Item) -> None:
    if item.status == Item.Status.GONE:
        raise Conflict(_("This item is gone: its status can no longer change."))


def _refuse_lent(item: Item) -> None:
    if item.status == Item.Status.LENT:
        raise Conflict(_("This item is lent: mark it returned first."))


def _refuse_hidden(item: Item) -> None:
    if item.is_hidden:
        raise Conflict(_("This item is hidden by the place's team: it cannot be reserved or lent."))


def _check_holder(item: Item, holder) -> None:
    if holder is None or not Reply.objects.filter(item=item, sender_id=holder.pk).exists():
        raise ValidationError({"holder": _("Choose someone who asked for this item.")})


def _act(item: Item, actor, action: str) -> Item:
    if not permissions.can_change_item_status(actor, item, action):
        raise PermissionError
    item = _locked(item)
    _refuse_gone(item)
    return item


@transaction.atomic
def item_reserve(*, item: Item, actor, holder=None) -> Item:
    """Available → reserved, for one of the people who asked for it (told, not urgent) or for
    nobody in particular."""
    item = _act(item, actor, "reserve")
    _refuse_lent(item)
    if item.status == Item.Status.RESERVED:
        raise Conflict(_("This item is already reserved: release it first."))
    _refuse_hidden(item)
    if holder is not None:
        _check_holder(item, holder)
    item.status, item.holder = Item.Status.RESERVED, holder
    item.save(update_fields=["status", "holder", "updated_at"])
    if holder is not None:
        url = services.absolute(item_path(item))
        services.notify(
            holder,
            subject=lambda: _("“%(title)s” is reserved for you") % {"title": item.title},
            template="community/email/givebox_reserved.txt",
            context={
                "item": item,
                "owner": selectors.display_name(item.author),
                "place": item.place,
                "url": url,
            },
            url=url,
        )
    return item


@transaction.atomic
def item_release(*, item: Item, actor) -> Item:
    """Reserved → available again (whoever it was reserved for no longer is)."""
    item = _act(item, actor, "release")
    _refuse_lent(item)
    if item.status != Item.Status.RESERVED:
        raise Conflict(_("This item is not reserved."))
    item.status, item.holder = Item.Status.AVAILABLE, None
    item.save(update_fields=["status", "holder", "updated_at"])
    return item


def _clean_return_on(item: Item, return_on: dt.date | None) -> dt.date:
    if return_on is None:
        raise ValidationError({"return_on": _("Give the date it must come back.")})
    today = today_at(item.place)
    if return_on < today:
        raise ValidationError({"return_on": _("The return date cannot be in the past.")})
    if return_on > today + dt.timedelta(days=LEND_MAX_DAYS):
        raise ValidationError(
            {
                "return_on": _("The return date must be within %(days)d days.")
                % {"days": LEND_MAX_DAYS}
            }
        )
    return return_on


@transaction.atomic
def item_lend(*, item: Item, actor, holder=None, return_on: dt.date | None = None) -> Item:
    """Available or reserved → lent, to someone who asked for it (a reserved item: its holder
    unless another is given), until `return_on` (today at the earliest, at most a year ahead,
    in the place's calendar). The borrower is told at once, with the return date."""
    item = _act(item, actor, "lend")
    _refuse_lent(item)
    if item.mode != Item.Mode.LEND:
        raise Conflict(_("This item is given, not lent: it has no return date."))
    _refuse_hidden(item)
    if holder is None and item.status == Item.Status.RESERVED:
        holder = item.holder
    if holder is None:
        raise ValidationError({"holder": _("Choose who borrows it.")})
    _check_holder(item, holder)
    return_on = _clean_return_on(item, return_on)
    item.status, item.holder, item.return_on, item.reminded_on = (
        Item.Status.LENT,
        holder,
        return_on,
        None,
    )
    item.save(update_fields=["status", "holder", "return_on", "reminded_on", "updated_at"])
    url = services.absolute(item_path(item))
    services.notify(
        holder,
        subject=lambda: (
            _("“%(title)s” is lent to you until %(date)s")
            % {"title": item.title, "date": _date_label(return_on)}
        ),
        template="community/email/givebox_lent.txt",
        context={
            "item": item,
            "owner": selectors.display_name(item.author),
            "place": item.place,
            "return_on": return_on,
            "url": url,
        },
        url=url,
        urgent=True,
    )
    return item


@transaction.atomic
def item_returned(*, item: Item, actor) -> Item:
    """Lent → available: the author has it back."""
    item = _act(item, actor, "returned")
    if item.status != Item.Status.LENT:
        raise Conflict(_("This item is not lent."))
    item.status, item.holder, item.return_on, item.reminded_on = (
        Item.Status.AVAILABLE,
        None,
        None,
        None,
    )
    item.save(update_fields=["status", "holder", "return_on", "reminded_on", "updated_at"])
    return item


@transaction.atomic
def item_gone(*, item: Item, actor) -> Item:
    """Available or reserved → gone, for good (given away, or no longer there). By its author,
    or by the place's team to clear the give-box: then audited, and the author is told."""
    item = _act(item, actor, "gone")
    _refuse_lent(item)
    item.status, item.gone_at = Item.Status.GONE, timezone.now()
    item.return_on = item.reminded_on = None
    item.save(update_fields=["status", "gone_at", "return_on", "reminded_on", "updated_at"])
    if not permissions.can_edit_post(actor, item):
        audit_record(
            actor=actor,
            action="community.item_gone",
            target=item,
            place=item.place,
            details={"kind": "item"},
        )
        url = services.absolute(item_path(item))
        services.notify(
            item.author,
            subject=lambda: _("“%(title)s” was taken out of the give-box") % {"title": item.title},
            template="community/email/givebox_gone.txt",
            context={"item": item, "place": item.place, "url": url},
            url=url,
        )
    return item


def item_status(
    *, item: Item, actor, action: str, holder=None, return_on: dt.date | None = None
) -> Item:
    """One entry for the status forms and the API: `action` is one of ACTIONS."""
    if action == "reserve":
        return item_reserve(item=item, actor=actor, holder=holder)
    if action == "release":
        return item_release(item=item, actor=actor)
    if action == "lend":
        return item_lend(item=item, actor=actor, holder=holder, return_on=return_on)
    if action == "returned":
        return item_returned(item=item, actor=actor)
    if action == "gone":
        return item_gone(item=item, actor=actor)
    raise ValidationError(
        {"action": _("Choose one of: %(actions)s.") % {"actions": ", ".join(ACTIONS)}}
    )


# Return reminders -----------------------------------------------------------------------------

DUE, OVERDUE = 1, 2


def reminder_step(item: Item, today: dt.date) -> int | None:
    """Which reminder a lent item is owed on `today` (the place's date), if any.

    `reminded_on` holds the place's date of the last reminder sent for the current loan (lending
    and returning clear it), so each step goes out once:
    - step 1, "due back tomorrow" (or today), from the day before `return_on`: owed while no
      reminder was sent on or after that day (`reminded_on` empty or < return_on - 1);
    - step 2, "overdue", from the day after `return_on`: owed while no reminder was sent after
      the return date (`reminded_on` empty or ≤ return_on); the holder and the author are told.
    A job that missed days sends only the latest step owed (never step 1 once overdue).
    """
    if item.status != Item.Status.LENT or item.return_on is None:
        return None
    sent = item.reminded_on
    if today > item.return_on:
        return OVERDUE if sent is None or sent <= item.return_on else None
    if today >= item.return_on - dt.timedelta(days=1):
        return DUE if sent is None or sent < item.return_on - dt.timedelta(days=1) else None
    return None


def send_return_reminders(*, today: dt.date | None = None, now: dt.datetime | None = None) -> int:
    """Remind borrowers of lent items due back tomorrow or today (step 1) and, once overdue,
    remind them again and tell the author (step 2); see `reminder_step`. Every email is urgent
    (sent at once whatever the person chose) and in its recipient's language.

    Each item's date is its place's local date at `now` (the current instant by default); `today`
    forces one date for every place (tests, a manual run). Run daily by `maillage
    community_jobs`; running it twice the same day sends nothing more. Returns how many emails
    (notifications) were sent.
    """
    now = now or timezone.now()
    # No place's date is more than a day ahead of UTC's: items due up to the day after that.
    horizon = (today or now.astimezone(dt.UTC).date() + dt.timedelta(days=1)) + dt.timedelta(days=1)
    candidates = Item.objects.filter(status=Item.Status.LENT, return_on__lte=horizon).values_list(
        "pk", flat=True
    )
    sent = 0
    for pk in list(candidates):
        sent += _remind(pk, today, now)
    return sent


@transaction.atomic
def _remind(pk: int, today: dt.date | None, now: dt.datetime) -> int:
    item = (
        Item.objects.select_for_update(of=("self",))
        .select_related("place", "author", "holder")
        .filter(pk=pk)
        .first()
    )
    if item is None:
        return 0
    day = today or today_at(item.place, now)
    step = reminder_step(item, day)
    if step is None:
        return 0
    item.reminded_on = day
    item.save(update_fields=["reminded_on"])
    url = services.absolute(item_path(item))
    context = {
        "item": item,
        "place": item.place,
        "return_on": item.return_on,
        "owner": selectors.display_name(item.author),
        "holder": selectors.display_name(item.holder),
        "url": url,
    }
    sent = 0
    if item.holder is not None and item.holder.is_active:
        services.notify(
            item.holder,
            subject=_holder_subject(item, day, step),
            template="community/email/givebox_due.txt"
            if step == DUE
            else "community/email/givebox_overdue.txt",
            context={**context, "due_today": day >= item.return_on},
            url=url,
            urgent=True,
        )
        sent += 1
    if step == OVERDUE and item.author.is_active:
        services.notify(
            item.author,
            subject=lambda: _("“%(title)s” has not come back yet") % {"title": item.title},
            template="community/email/givebox_overdue_owner.txt",
            context=context,
            url=url,
            urgent=True,
        )
        sent += 1
    return sent


def _holder_subject(item: Item, day: dt.date, step: int):
    """The subject of the borrower's reminder, written later in their language."""

    def subject() -> str:
        if step == OVERDUE:
            return _("“%(title)s” should have come back on %(date)s") % {
                "title": item.title,
                "date": _date_label(item.return_on),
            }
        if day >= item.return_on:
            return _("Reminder: “%(title)s” is due back today") % {"title": item.title}
        return _("Reminder: “%(title)s” is due back tomorrow") % {"title": item.title}

    return subject
