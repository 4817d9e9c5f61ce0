"""The give-box in the API: items to give or lend, their status and the private "I'd like it"
messages to their owners.

Every write goes through community.givebox, so the rules are those of the pages. The API takes
no photo: photos are added or changed on the item's page (they are checked and re-encoded by
core.images there); answers give the photo's address when there is one. An item the caller may
not read (hidden, of an unpublished place) answers 404, as does a status change or a change of
words by anyone but its owner (the place's team may only mark an item gone).
"""

import datetime as dt
import re
import zoneinfo

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema, Status

from maillage.accounts.models import User
from maillage.core.api import (
    ERRORS,
    MAX_ID,
    ApiError,
    BearerToken,
    ObjectIn,
    OptionalBearer,
    invalid_value,
    is_slug,
    page_of,
    refuse_unstorable,
)
from maillage.members.member_queries import visible_place
from maillage.places.models import Network

from . import givebox, permissions, selectors, services, throttle
from .models import BODY_MAX, REPLY_MAX, Item, Reply

router = Router(tags=["community"])

MODES = list(Item.Mode.values)
STATUSES = list(Item.Status.values)
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


# Answers --------------------------------------------------------------------------------------


class PersonRef(Schema):
    id: int
    name: str = Field(description='As shown to others: "Catherine V." (never an email).')


class ItemPlaceOut(Schema):
    slug: str
    name: str


class ItemOut(Schema):
    id: int
    url: str = Field(description="The item's page.")
    place: ItemPlaceOut = Field(description="Where it is picked up.")
    mode: str = Field(description=f"One of {', '.join(MODES)}.")
    status: str = Field(description=f"One of {', '.join(STATUSES)}.")
    title: str
    body: str = Field(description="Sanitised HTML.")
    author: PersonRef
    photo: str | None = Field(description="Address of the photo; photos are sent on the page.")
    holder: PersonRef | None = Field(
        description="Whom it is reserved for or lent to: shown to the owner and to that person "
        "only; null for anyone else."
    )
    return_on: dt.date | None = Field(description="Lent items: the day it must come back.")
    gone_at: dt.datetime | None
    hidden: bool = Field(
        description="Hidden by the place's team (seen only by its author and the team)."
    )
    created_at: dt.datetime
    updated_at: dt.datetime


class ItemListOut(Schema):
    count: int
    results: list[ItemOut]


class ItemReplyOut(Schema):
    id: int
    item: int
    sender: PersonRef
    body: str = Field(description="Plain text.")
    created_at: dt.datetime


class ItemReplyListOut(Schema):
    count: int
    results: list[ItemReplyOut]


# Requests -------------------------------------------------------------------------------------


class ItemQuery(Schema):
    place: str = Field("", max_length=100, description="Slug of a place.")
    network: str = Field("", max_length=100, description="Slug of a network: its places' items.")
    mode: str = Field("", description=f"One of {', '.join(MODES)}; both when not given.")
    status: list[str] = Field(
        [],
        description=f"Statuses among {', '.join(STATUSES)}, repeated or separated by commas; "
        "available and reserved when not given.",
    )
    q: str = Field("", max_length=200, description="Words of the title or description.")


class ItemPatch(ObjectIn):
    title: str = Field(None, max_length=160)
    body: str = Field(
        None,
        max_length=BODY_MAX,
        description="HTML; only paragraphs, emphasis, lists and links are kept.",
    )
    mode: str = Field(None, description=f"One of {', '.join(MODES)}.")


class ItemIn(ObjectIn):
    place: str = Field(max_length=100, description="Slug of the place where it is picked up.")
    mode: str = Field(description=f"One of {', '.join(MODES)}.")
    title: str = Field(max_length=160)
    body: str = Field(
        "",
        max_length=BODY_MAX,
        description="HTML; only paragraphs, emphasis, lists and links are kept.",
    )


class StatusIn(ObjectIn):
    action: str = Field(description=f"One of {', '.join(givebox.ACTIONS)}.")
    holder: int | None = Field(
        None,
        ge=1,
        le=MAX_ID,
        strict=True,
        description="reserve (optional) and lend (required unless the item is reserved for "
        "someone): id of an account that sent a message about the item.",
    )
    return_on: str | None = Field(
        None,
        max_length=10,
        description="lend: YYYY-MM-DD, from today to a year ahead in the place's calendar.",
    )


class ItemReplyIn(ObjectIn):
    body: str = Field(max_length=REPLY_MAX, description="Plain text, read only by the owner.")


# Helpers --------------------------------------------------------------------------------------


def _caller(request):
    return request.auth if request.auth is not True else None


def _person(user: User | None) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "name": selectors.display_name(user)}


def _local(moment: dt.datetime | None, zone: zoneinfo.ZoneInfo) -> dt.datetime | None:
    return timezone.localtime(moment, zone) if moment else None


def _item_out(item: Item, user) -> dict:
    zone = zoneinfo.ZoneInfo(item.place.time_zone)
    sees_holder = user is not None and user.pk in (item.author_id, item.holder_id)
    return {
        "id": item.pk,
        "url": services.absolute(givebox.item_path(item)),
        "place": {"slug": item.place.slug, "name": item.place.name},
        "mode": item.mode,
        "status": item.status,
        "title": item.title,
        "body": item.body,
        "author": _person(item.author),
        "photo": services.absolute(item.photo.url) if item.photo else None,
        "holder": _person(item.holder) if sees_holder else None,
        "return_on": item.return_on,
        "gone_at": _local(item.gone_at, zone),
        "hidden": item.is_hidden,
        "created_at": _local(item.created_at, zone),
        "updated_at": _local(item.updated_at, zone),
    }


def _reply_out(reply: Reply, zone: zoneinfo.ZoneInfo) -> dict:
    return {
        "id": reply.pk,
        "item": reply.item_id,
        "sender": _person(reply.sender),
        "body": reply.body,
        "created_at": _local(reply.created_at, zone),
    }


def _no_item() -> ApiError:
    return ApiError(404, _("No such item."))


def _readable_item(user, item_id: int) -> Item:
    item = Item.objects.select_related("place", "author", "holder").filter(pk=item_id).first()
    if item is None or not permissions.can_read_item(user, item):
        raise _no_item()
    return item


def _choice(field: str, value: str, choices: list[str]) -> None:
    if value not in choices:
        raise invalid_value(
            field,
            _("Unknown value “%(value)s”: use one of %(choices)s.")
            % {"value": value, "choices": ", ".join(choices)},
        )


def _conflict(error: ValidationError) -> ApiError:
    return ApiError(409, " ".join(error.messages))


def _page(request, rows, out) -> dict:
    count, results = page_of(request, rows)
    return {"count": count, "results": [out(row) for row in results]}


def _parse_date(value: str | None, field: str) -> dt.date | None:
    if value is None:
        return None
    try:
        if not DATE_RE.fullmatch(value):
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise invalid_value(field, _("Give a date as YYYY-MM-DD.")) from None


ITEM_ID = Path(ge=1, le=MAX_ID, description="Id of the item.")


# Items ----------------------------------------------------------------------------------------


@router.get(
    "/community/items",
    response={200: ItemListOut, **ERRORS},
    auth=OptionalBearer(),
    url_name="list_items",
    summary="The give-box",
    description=(
        "Items of the published places' give-boxes, newest first: available and reserved ones "
        "unless `status` asks for others (lent, gone). Filters: `place`, `network` (slugs; 404 "
        "for an unknown one), `mode` (give or lend), `q` (words). Hidden items are left out, "
        "but for their author and the place's team. Paginated with `page` and `page_size`."
    ),
)
def list_items(request, filters: Query[ItemQuery], page: int = 1, page_size: int = 20):
    user = _caller(request)
    refuse_unstorable(place=filters.place, network=filters.network, q=filters.q)
    place = network = None
    if filters.place:
        place = visible_place(filters.place, user) if is_slug(filters.place) else None
        if place is None:
            raise ApiError(404, _("No such place."))
    if filters.network:
        found = Network.objects.filter(slug=filters.network) if is_slug(filters.network) else None
        network = found.first() if found is not None else None
        if network is None:
            raise ApiError(404, _("No such network."))
    if filters.mode:
        _choice("mode", filters.mode, MODES)
    statuses = [part.strip() for value in filters.status for part in value.split(",")]
    statuses = [value for value in statuses if value]
    for value in statuses:
        _choice("status", value, STATUSES)
    items = givebox.givebox_for(
        place=place,
        network=network,
        mode=filters.mode or None,
        status=statuses or None,
        q=filters.q,
        viewer=user,
    )
    return _page(request, items, lambda item: _item_out(item, user))


@router.post(
    "/community/items",
    response={201: ItemOut, **ERRORS},
    auth=BearerToken(),
    url_name="create_item",
    summary="Give or lend something",
    description=(
        "For the people of the place (a role there) and its team: puts an item in its give-box, "
        "available. No photo through the API: add it on the item's page. The description's HTML "
        "is sanitised. 400 for invalid values, 403 for a place where the caller may not post, "
        "404 for an unknown place, 429 past the posting rate limit."
    ),
)
def create_item(request, payload: ItemIn):
    throttle.api_refuse(throttle.posting(request))
    refuse_unstorable(place=payload.place, title=payload.title, body=payload.body)
    place = visible_place(payload.place, request.auth) if is_slug(payload.place) else None
    if place is None:
        raise ApiError(404, _("No such place."))
    _choice("mode", payload.mode, MODES)
    try:
        item = givebox.item_create(
            author=request.auth,
            place=place,
            mode=payload.mode,
            title=payload.title,
            body=payload.body,
        )
    except PermissionError:
        raise ApiError(
            403, _("Only the people of this place may put things in its give-box.")
        ) from None
    return Status(201, _item_out(_readable_item(request.auth, item.pk), request.auth))


@router.get(
    "/community/items/{item_id}",
    response={200: ItemOut, **ERRORS},
    auth=OptionalBearer(),
    url_name="get_item",
    summary="One give-box item",
    description="404 for an unknown item, or a hidden one (but for its author and the team).",
)
def get_item(request, item_id: int = ITEM_ID):
    user = _caller(request)
    return _item_out(_readable_item(user, item_id), user)


@router.patch(
    "/community/items/{item_id}",
    response={200: ItemOut, **ERRORS},
    auth=BearerToken(),
    url_name="update_item",
    summary="Change one's give-box item",
    description=(
        "For its author only (404 for anyone else). Only the given fields change. 409 for a "
        "gone item, or to make a lent item a given one."
    ),
)
def update_item(request, payload: ItemPatch, item_id: int = ITEM_ID):
    throttle.api_refuse(throttle.posting(request))
    item = _readable_item(request.auth, item_id)
    if not permissions.can_edit_post(request.auth, item):
        raise _no_item()
    given = payload.dict(exclude_unset=True)
    refuse_unstorable(**{key: value for key, value in given.items() if isinstance(value, str)})
    for field in ("title", "body", "mode"):
        if field in given and given[field] is None:
            raise invalid_value(field, _("This field cannot be null."))
    if "mode" in given:
        _choice("mode", given["mode"], MODES)
    try:
        givebox.item_update(item=item, actor=request.auth, **given)
    except givebox.Conflict as error:
        raise _conflict(error) from None
    return _item_out(_readable_item(request.auth, item.pk), request.auth)


@router.post(
    "/community/items/{item_id}/status",
    response={200: ItemOut, **ERRORS},
    auth=BearerToken(),
    url_name="change_item_status",
    summary="Reserve, release, lend, mark returned or gone",
    description=(
        "For the item's author; the place's team may only mark it `gone`; 404 for anyone else. "
        "`reserve`: available → reserved, optionally for `holder`; `release`: back to "
        "available; `lend` (items to lend): available or reserved → lent to `holder` until "
        "`return_on`, the borrower is emailed at once; `returned`: lent → available; `gone`: "
        "available or reserved → gone, for good. `holder` must have sent a message about the "
        "item. 409 when the item's status does not allow the action (e.g. lent: mark it returned "
        "first; gone), 400 for invalid values."
    ),
)
def change_item_status(request, payload: StatusIn, item_id: int = ITEM_ID):
    throttle.api_refuse(throttle.posting(request))
    _choice("action", payload.action, list(givebox.ACTIONS))
    item = _readable_item(request.auth, item_id)
    if not permissions.can_change_item_status(request.auth, item, payload.action):
        raise _no_item()
    refuse_unstorable(return_on=payload.return_on)
    return_on = _parse_date(payload.return_on, "return_on")
    holder = None
    if payload.holder is not None:
        holder = User.objects.filter(pk=payload.holder, is_active=True).first()
        if holder is None:
            raise invalid_value("holder", _("Choose someone who asked for this item."))
    try:
        givebox.item_status(
            item=item,
            actor=request.auth,
            action=payload.action,
            holder=holder,
            return_on=return_on,
        )
    except PermissionError:
        raise _no_item() from None
    except givebox.Conflict as error:
        raise _conflict(error) from None
    return _item_out(_readable_item(request.auth, item.pk), request.auth)


# Private messages -----------------------------------------------------------------------------


@router.get(
    "/community/items/{item_id}/replies",
    response={200: ItemReplyListOut, **ERRORS},
    auth=BearerToken(),
    url_name="list_item_replies",
    summary="Messages about one's item, or one's own messages about an item",
    description=(
        "The item's author reads every message; anyone else only the ones they sent (nobody "
        "else's, not even the place's team). Oldest first, paginated."
    ),
)
def list_item_replies(request, item_id: int = ITEM_ID, page: int = 1, page_size: int = 20):
    item = _readable_item(request.auth, item_id)
    zone = zoneinfo.ZoneInfo(item.place.time_zone)
    replies = permissions.replies_visible_to(request.auth, item).order_by("created_at", "id")
    return _page(request, replies, lambda reply: _reply_out(reply, zone))


@router.post(
    "/community/items/{item_id}/replies",
    response={201: ItemReplyOut, **ERRORS},
    auth=BearerToken(),
    url_name="create_item_reply",
    summary="I'd like it: a private message to the item's owner",
    description=(
        "Read only by the owner, who is told. 400 on one's own item or for an empty message, "
        "409 when the item is gone, 404 for a hidden or unknown item, 429 past the posting rate "
        "limit."
    ),
)
def create_item_reply(request, payload: ItemReplyIn, item_id: int = ITEM_ID):
    throttle.api_refuse(throttle.posting(request))
    refuse_unstorable(body=payload.body)
    item = _readable_item(request.auth, item_id)
    try:
        reply = givebox.reply_send(item=item, sender=request.auth, body=payload.body)
    except PermissionError:
        raise _no_item() from None
    except givebox.Conflict as error:
        raise _conflict(error) from None
    reply = Reply.objects.select_related("sender").get(pk=reply.pk)
    return Status(201, _reply_out(reply, zoneinfo.ZoneInfo(item.place.time_zone)))
