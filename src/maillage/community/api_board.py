"""The projects and opportunities board in the API: /community/opportunities and their private
replies. Every rule is community.board's (the pages use the same functions).

Answers: 201 on creation; 400 naming each invalid field; 401 for a write without a valid token;
403 for posting at a place the caller can see but has no role in; 404 for a post that is
unknown, hidden (but for its author and moderators) or of an unpublished place they cannot see,
and — for changing or closing — for anyone but its author, even when they can read it (only the
author may, so nobody else needs to tell "not mine" from "not there"); 409 when the post's state
forbids it (replying to a closed or expired post, changing or closing a closed one); 429 past
the community posting rate (posts, replies, changes, closing).
"""

import datetime as dt
import zoneinfo

from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema, Status

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
from maillage.places.models import Network, Place

from . import board, permissions, services, throttle
from .models import BODY_MAX, REPLY_MAX, Opportunity, Reply
from .selectors import display_name

router = Router(tags=["community"])
KINDS = list(board.KINDS)
DATE_EXAMPLE = "2027-03-04"
POST_ID = Path(ge=1, le=MAX_ID, description="Id of the opportunity.")


# Schemas ----------------------------------------------------------------------------------------


class BoardSkillOut(Schema):
    code: str = Field(description="Code of the shared vocabulary; empty for the author's words.")
    label: str = Field(description="In the caller's language for vocabulary skills.")


class BoardPlaceRef(Schema):
    slug: str
    name: str


class OpportunityOut(Schema):
    id: int
    kind: str = Field(description=f"One of {', '.join(KINDS)}.")
    kind_label: str
    place: BoardPlaceRef
    author: str = Field(description="The author's display name (first name and initial).")
    is_mine: bool = Field(description="The caller wrote it.")
    title: str
    body: str = Field(description="Sanitised HTML (paragraphs, emphasis, lists, links).")
    skills: list[BoardSkillOut] = Field(description="Skills wanted.")
    deadline: dt.date | None = Field(description="Last day to reply, in the place's calendar.")
    network_wide: bool = Field(description="Also on the boards of the place's networks.")
    is_open: bool = Field(description="Not closed and its deadline not passed: takes replies.")
    closed_at: dt.datetime | None
    hidden: bool = Field(description="Hidden by the place's team (seen by its author only).")
    hidden_reason: str = Field(description="Why, for its author and moderators; else empty.")
    created_at: dt.datetime
    updated_at: dt.datetime
    url: str = Field(description="Its page.")


class OpportunityListOut(Schema):
    count: int
    results: list[OpportunityOut]


class OpportunityQuery(Schema):
    place: str = Field("", description="Slug of a place: every post of that place.")
    network: str = Field("", description="Slug of a network: the network-wide posts of its places.")
    kind: str = Field("", description=f"One of {', '.join(KINDS)}.")
    skill: str = Field(
        "", max_length=60, description="A skill wanted: a code of the shared vocabulary or words."
    )
    q: str = Field("", max_length=200, description="Words of the title, text or skills.")
    include_closed: bool = Field(False, description="Closed and expired posts too.")


class OpportunityFields(ObjectIn):
    kind: str = Field(None, description=f"One of {', '.join(KINDS)}.")
    title: str = Field(None, max_length=500, description="At most 160 characters.")
    body: str = Field(
        None, max_length=4 * BODY_MAX, description="HTML; sanitised (scripts and styles removed)."
    )
    skills: list[str] = Field(
        None, max_length=50, description="Codes of the shared vocabulary (at most 10 in all)."
    )
    free_tags: list[str] = Field(
        None, max_length=50, description="Skills in the author's words (at most 10 in all)."
    )
    deadline: str | None = Field(
        None,
        description=f"Last day to reply, YYYY-MM-DD (e.g. {DATE_EXAMPLE}), not in the past; "
        "null: none.",
    )
    network_wide: bool = Field(
        None, strict=True, description="Also on the boards of the place's networks."
    )


class OpportunityIn(OpportunityFields):
    place: str = Field(max_length=120, description="Slug of a place where the caller has a role.")
    kind: str = Field(description=f"One of {', '.join(KINDS)}.")
    title: str = Field(max_length=500, description="At most 160 characters.")
    body: str = Field(max_length=4 * BODY_MAX, description="HTML; sanitised.")
    network_wide: bool = Field(True, strict=True)


class OpportunityReplyIn(ObjectIn):
    body: str = Field(
        max_length=2 * REPLY_MAX,
        description=f"Plain text, at most {REPLY_MAX} characters. Only the author reads it: say "
        "how to reach you.",
    )


class OpportunityReplyOut(Schema):
    id: int
    sender: str = Field(description="The sender's display name.")
    is_mine: bool
    body: str
    created_at: dt.datetime


class OpportunityReplyListOut(Schema):
    count: int
    results: list[OpportunityReplyOut]


# Helpers ----------------------------------------------------------------------------------------


def _caller(request):
    return request.auth if request.auth is not True else None


def _zone(place: Place) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(place.time_zone)


def _no_post(post_id: int) -> ApiError:
    return ApiError(404, _("There is no opportunity #%(id)d.") % {"id": post_id})


def _no_place(slug: str) -> ApiError:
    return ApiError(404, _("There is no place “%(slug)s”.") % {"slug": slug})


def _kind(value: str) -> str:
    if value not in KINDS:
        raise invalid_value(
            "kind",
            _("Unknown value “%(value)s”: use one of %(choices)s.")
            % {"value": value, "choices": ", ".join(KINDS)},
        )
    return value


def _day(value: str | None) -> dt.date | None:
    if value is None or value == "":
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise invalid_value(
            "deadline",
            _("Give a date as YYYY-MM-DD, e.g. %(example)s.") % {"example": DATE_EXAMPLE},
        ) from None


def _seen_place(user, slug: str) -> Place:
    place = Place.objects.filter(slug=slug).first() if is_slug(slug) else None
    if place is None or not board.can_see_place(user, place):
        raise _no_place(slug)
    return place


def _post_out(post: Opportunity, user) -> dict:
    zone = _zone(post.place)
    reason_visible = post.is_hidden and permissions.can_read_post(user, post)
    return {
        "id": post.pk,
        "kind": post.kind,
        "kind_label": str(post.get_kind_display()),
        "place": {"slug": post.place.slug, "name": post.place.name},
        "author": display_name(post.author),
        "is_mine": bool(user and post.author_id == user.pk),
        "title": post.title,
        "body": post.body,
        "skills": board.skill_labels(post),
        "deadline": post.deadline,
        "network_wide": post.network_wide,
        "is_open": board.is_open(post),
        "closed_at": post.closed_at.astimezone(zone) if post.closed_at else None,
        "hidden": post.is_hidden,
        "hidden_reason": post.hidden_reason if reason_visible else "",
        "created_at": post.created_at.astimezone(zone),
        "updated_at": post.updated_at.astimezone(zone),
        "url": services.absolute(board.post_url(post)),
    }


def _reply_out(reply: Reply, user, zone) -> dict:
    return {
        "id": reply.pk,
        "sender": display_name(reply.sender),
        "is_mine": reply.sender_id == user.pk,
        "body": reply.body,
        "created_at": reply.created_at.astimezone(zone),
    }


def _visible(user, post_id: int) -> Opportunity:
    post = board.visible_post(user, post_id)
    if post is None:
        raise _no_post(post_id)
    return post


def _own(user, post_id: int) -> Opportunity:
    post = board.own_post(user, post_id)
    if post is None:
        raise _no_post(post_id)
    return post


def _refuse_texts(given: dict) -> None:
    refuse_unstorable(
        **{key: value for key, value in given.items() if isinstance(value, str)},
        **{
            f"{key}.{i}": text
            for key in ("skills", "free_tags")
            for i, text in enumerate(given.get(key) or [])
        },
    )


# Endpoints --------------------------------------------------------------------------------------


@router.get(
    "/community/opportunities",
    response={200: OpportunityListOut, **ERRORS},
    auth=OptionalBearer(),
    url_name="list_opportunities",
    summary="Projects and opportunities",
    description=(
        "The board, newest first: with `place`, every post of that place; with `network`, the "
        "network-wide posts of its places; with neither, the network-wide posts of every "
        "place. Open posts only (not closed, deadline not passed) unless `include_closed`. "
        "Hidden posts are left out (their author still gets theirs). `kind`, `skill` (a code "
        "or words) and `q` narrow the list. 404 for an unknown place or network. Paginated "
        "with `page` and `page_size`."
    ),
)
def list_opportunities(
    request, filters: Query[OpportunityQuery], page: int = 1, page_size: int = 20
):
    user = _caller(request)
    refuse_unstorable(
        place=filters.place,
        network=filters.network,
        kind=filters.kind,
        skill=filters.skill,
        q=filters.q,
    )
    if filters.place and filters.network:
        raise invalid_value("place", _("Give a place or a network, not both."))
    place = _seen_place(user, filters.place) if filters.place else None
    network = None
    if filters.network:
        network = (
            Network.objects.filter(slug=filters.network).first()
            if is_slug(filters.network)
            else None
        )
        if network is None:
            raise ApiError(404, _("There is no network “%(slug)s”.") % {"slug": filters.network})
    kind = _kind(filters.kind) if filters.kind else None
    posts = board.board_for(
        place=place,
        network=network,
        kind=kind,
        skill=filters.skill or None,
        q=filters.q,
        include_closed=filters.include_closed,
        viewer=user,
    )
    count, results = page_of(request, posts)
    return {"count": count, "results": [_post_out(post, user) for post in results]}


@router.post(
    "/community/opportunities",
    response={201: OpportunityOut, **ERRORS},
    auth=BearerToken(),
    url_name="create_opportunity",
    summary="Post an opportunity",
    description=(
        "At a place where the caller has a role (its members and team, the coordinators of "
        "its networks): 403 for a place they can see but have no role in, 404 for a place "
        "they cannot see. `kind` is one of "
        f"{', '.join(KINDS)}; `skills` are codes of the shared vocabulary and `free_tags` "
        "the author's words (at most 10 in all); `deadline` is a day not in the past in the "
        "place's calendar. The body is sanitised HTML. 400 naming each invalid field; 429 "
        "past the posting rate."
    ),
)
def create_opportunity(request, payload: OpportunityIn):
    throttle.api_refuse(throttle.posting(request))
    given = payload.dict()
    _refuse_texts(given)
    place = _seen_place(request.auth, payload.place)
    if not permissions.can_post_at(request.auth, place):
        raise ApiError(403, _("You may post only at the places where you have a role."))
    post = board.opportunity_create(
        author=request.auth,
        place=place,
        kind=_kind(payload.kind),
        title=payload.title,
        body=payload.body,
        skills=payload.skills or [],
        free_tags=payload.free_tags or [],
        deadline=_day(payload.deadline),
        network_wide=payload.network_wide,
    )
    return Status(201, _post_out(post, request.auth))


@router.get(
    "/community/opportunities/{post_id}",
    response={200: OpportunityOut, **ERRORS},
    auth=OptionalBearer(),
    url_name="get_opportunity",
    summary="One opportunity",
    description=(
        "Open or closed. 404 when hidden (but for its author and the place's moderators) or "
        "at an unpublished place the caller has no role in."
    ),
)
def get_opportunity(request, post_id: int = POST_ID):
    user = _caller(request)
    return _post_out(_visible(user, post_id), user)


@router.patch(
    "/community/opportunities/{post_id}",
    response={200: OpportunityOut, **ERRORS},
    auth=BearerToken(),
    url_name="update_opportunity",
    summary="Change an opportunity",
    description=(
        "For its author only: anyone else gets 404, as for an unknown post. Only the given "
        "fields change; `deadline` null removes it; giving `skills` or `free_tags` replaces "
        "that list. A closed post cannot change (409). 400 naming each invalid field."
    ),
)
def update_opportunity(request, payload: OpportunityFields, post_id: int = POST_ID):
    post = _own(request.auth, post_id)
    throttle.api_refuse(throttle.posting(request))
    given = payload.dict(exclude_unset=True)
    _refuse_texts(given)
    for field in ("kind", "title", "body", "network_wide"):
        if field in given and given[field] is None:
            raise invalid_value(field, _("This field cannot be null."))
    changes = {key: given[key] for key in ("title", "body", "network_wide") if key in given}
    if "kind" in given:
        changes["kind"] = _kind(given["kind"])
    for key in ("skills", "free_tags"):
        if key in given:
            changes[key] = given[key] or []
    if "deadline" in given:
        changes["deadline"] = _day(given["deadline"])
    try:
        post = board.opportunity_update(post=post, actor=request.auth, **changes)
    except board.BoardConflict as error:
        raise ApiError(409, " ".join(error.messages)) from None
    return _post_out(post, request.auth)


@router.post(
    "/community/opportunities/{post_id}/close",
    response={200: OpportunityOut, **ERRORS},
    auth=BearerToken(),
    url_name="close_opportunity",
    summary="Close an opportunity",
    description=(
        "The author closes their post: it leaves the boards and takes no more replies. 404 "
        "for anyone else; 409 when it is already closed."
    ),
)
def close_opportunity(request, post_id: int = POST_ID):
    post = _own(request.auth, post_id)
    throttle.api_refuse(throttle.posting(request))
    try:
        post = board.opportunity_close(post=post, actor=request.auth)
    except board.BoardConflict as error:
        raise ApiError(409, " ".join(error.messages)) from None
    return _post_out(post, request.auth)


@router.get(
    "/community/opportunities/{post_id}/replies",
    response={200: OpportunityReplyListOut, **ERRORS},
    auth=BearerToken(),
    url_name="list_opportunity_replies",
    summary="Private replies to an opportunity",
    description=(
        "Every reply for the post's author; their own replies for anyone else (the place's "
        "team too). Oldest first. 404 for a post the caller cannot read. Paginated with "
        "`page` and `page_size`."
    ),
)
def list_opportunity_replies(request, post_id: int = POST_ID, page: int = 1, page_size: int = 20):
    post = _visible(request.auth, post_id)
    count, results = page_of(request, board.replies_for(request.auth, post))
    zone = _zone(post.place)
    return {"count": count, "results": [_reply_out(r, request.auth, zone) for r in results]}


@router.post(
    "/community/opportunities/{post_id}/replies",
    response={201: OpportunityReplyOut, **ERRORS},
    auth=BearerToken(),
    url_name="create_opportunity_reply",
    summary="Reply privately to the author",
    description=(
        "Only the author (and the sender) will read it; the author is told by email or in "
        "their digest, without the sender's email address: say in the message how to reach "
        "you. 409 when the post is closed or its deadline has passed; 400 on one's own post "
        "or an empty message; 404 for a hidden or unknown post; 429 past the posting rate."
    ),
)
def create_opportunity_reply(request, payload: OpportunityReplyIn, post_id: int = POST_ID):
    post = _visible(request.auth, post_id)
    if post.is_hidden:
        raise _no_post(post_id)
    throttle.api_refuse(throttle.posting(request))
    refuse_unstorable(body=payload.body)
    try:
        reply = board.reply_send(post=post, sender=request.auth, body=payload.body)
    except Opportunity.DoesNotExist:
        raise _no_post(post_id) from None
    except board.BoardConflict as error:
        raise ApiError(409, " ".join(error.messages)) from None
    return Status(201, _reply_out(reply, request.auth, _zone(post.place)))
