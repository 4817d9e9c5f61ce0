"""The skills exchange in the API: offers and requests, their matches (for their author only),
private replies and thanks.

Every write goes through community.exchange and every "who may" through community.permissions,
so the rules are those of the pages. A hidden post is answered 404 to everyone but its author and
its moderators; a closed post refuses replies with 409; a second thank you to the same person 409.
"""

import zoneinfo

from django.db.models import QuerySet
from django.urls import reverse
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
from maillage.places.models import Place

from . import exchange, permissions, selectors, services, throttle
from .models import BODY_MAX, REPLY_MAX, Reply, SkillPost, Thanks

router = Router(tags=["community"])
KINDS = list(SkillPost.Kind.values)


# Answers --------------------------------------------------------------------------------------


class ExchangeSkillOut(Schema):
    code: str = Field(description="Code of the shared vocabulary; empty for the author's words.")
    label: str = Field(description="In the caller's language for vocabulary skills.")


class ExchangePlaceRef(Schema):
    slug: str
    name: str


class ExchangePersonRef(Schema):
    id: int
    name: str = Field(description='First name and initial ("Catherine V."), never an email.')


class SkillPostOut(Schema):
    id: int
    kind: str = Field(description="offer or request.")
    title: str
    body: str = Field(description="Sanitised HTML.")
    place: ExchangePlaceRef
    author: ExchangePersonRef
    skills: list[ExchangeSkillOut]
    created_at: str = Field(description="ISO 8601 with the offset of the place's time zone.")
    closed_at: str | None = Field(description="When it was closed (by its author or a thanks).")
    is_open: bool
    hidden: bool = Field(
        description="Hidden by the place's team (only its author and the team see it)."
    )
    url: str = Field(description="The post's page.")


class SkillPostListOut(Schema):
    count: int
    results: list[SkillPostOut]


class SkillMatchOut(Schema):
    kind: str = Field(description="post (an open post of the opposite kind) or person (requests).")
    post: SkillPostOut | None
    person: ExchangePersonRef | None
    person_url: str | None = Field(description="The person's profile page.")
    place: ExchangePlaceRef = Field(description="Where the post is, or the person's nearest place.")
    distance_km: float = Field(description="From the post's place, in km (0: the same place).")
    tier: int = Field(description="0: the same place; 1: a place within the radius.")
    skills: list[str] = Field(description="The skills shared with the post.")


class SkillMatchListOut(Schema):
    count: int
    radius_km: int
    results: list[SkillMatchOut]


class SkillReplyOut(Schema):
    id: int
    sender: ExchangePersonRef
    body: str = Field(description="Plain text.")
    created_at: str
    mine: bool = Field(description="Written by the caller.")


class SkillReplyListOut(Schema):
    count: int
    results: list[SkillReplyOut]


class SkillThanksOut(Schema):
    id: int
    post: int
    receiver: ExchangePersonRef
    message: str
    created_at: str
    post_closed: bool = Field(description="The post is now closed.")


# Requests -------------------------------------------------------------------------------------


class SkillPostFields(ObjectIn):
    body: str = Field(None, max_length=BODY_MAX * 2, description="HTML; sanitised.")
    skills: list[str] = Field(
        None, max_length=50, description="Codes of the shared vocabulary of skills."
    )
    free_tags: list[str] = Field(
        None, max_length=50, description="Skills in one's own words (at most 10 skills in all)."
    )


class SkillPostIn(SkillPostFields):
    place: str = Field(max_length=200, description="Slug of a place where the caller may post.")
    kind: str = Field(description="offer or request.")
    title: str = Field(max_length=400)


class SkillPostPatch(SkillPostFields):
    title: str = Field(None, max_length=400)


class SkillReplyIn(ObjectIn):
    body: str = Field(max_length=REPLY_MAX * 2, description="Plain text.")


class SkillThanksIn(ObjectIn):
    receiver: int = Field(
        ge=1, le=MAX_ID, strict=True, description="Id of someone who replied to the post."
    )
    message: str = Field("", max_length=2000)


# Helpers --------------------------------------------------------------------------------------


def _caller(request):
    return request.auth if request.auth is not True else None


def _time(value, place: Place) -> str | None:
    if value is None:
        return None
    return value.astimezone(zoneinfo.ZoneInfo(place.time_zone)).isoformat()


def _person(user: User) -> dict:
    return {"id": user.pk, "name": selectors.display_name(user)}


def _post_out(post: SkillPost) -> dict:
    return {
        "id": post.pk,
        "kind": post.kind,
        "title": post.title,
        "body": post.body,
        "place": {"slug": post.place.slug, "name": post.place.name},
        "author": _person(post.author),
        "skills": sorted(
            (
                {"code": skill.code, "label": exchange.skill_label(skill.code, skill.label)}
                for skill in post.skills.all()
            ),
            key=lambda skill: skill["label"].casefold(),
        ),
        "created_at": _time(post.created_at, post.place),
        "closed_at": _time(post.closed_at, post.place),
        "is_open": post.closed_at is None,
        "hidden": post.is_hidden,
        "url": services.absolute(exchange.post_path(post)),
    }


def _reply_out(reply: Reply, caller: User, place: Place) -> dict:
    return {
        "id": reply.pk,
        "sender": _person(reply.sender),
        "body": reply.body,
        "created_at": _time(reply.created_at, place),
        "mine": reply.sender_id == caller.pk,
    }


def _no_post(post_id: int) -> ApiError:
    return ApiError(404, _("There is no post #%(id)d.") % {"id": post_id})


def _posts() -> QuerySet[SkillPost]:
    return SkillPost.objects.select_related("place", "author").prefetch_related("skills")


def _visible_post(user, post_id: int) -> SkillPost:
    """The post, if `user` may read it; anyone else is answered as if it did not exist."""
    post = _posts().filter(pk=post_id).first()
    if post is None or not exchange.can_see(user, post):
        raise _no_post(post_id)
    return post


def _own_post(user, post_id: int) -> SkillPost:
    """A post of the caller's; 403 to those who may read it, 404 to anyone else."""
    post = _visible_post(user, post_id)
    if not permissions.can_edit_post(user, post):
        raise ApiError(403, _("Only the author of this post may do this."))
    return post


def _refuse_unstorable_lists(**lists: list[str] | None) -> None:
    texts = {}
    for name, values in lists.items():
        for index, value in enumerate(values or []):
            texts[f"{name}.{index}"] = value
    refuse_unstorable(**texts)


POST_ID = Path(ge=1, le=MAX_ID, description="Id of the offer or request.")


# Posts ----------------------------------------------------------------------------------------


@router.get(
    "/community/skills",
    response={200: SkillPostListOut, **ERRORS},
    auth=OptionalBearer(),
    url_name="list_skill_posts",
    summary="Offers and requests of the skills exchange",
    description=(
        "The open, visible posts of published places, newest first. Filters: `kind` (offer, "
        "request), `skill` (a code of the shared vocabulary, or words of a free tag), `place` "
        "and `network` (slugs), `q` (words of the title, text or skills, in any language). "
        "Paginated with `page` and `page_size`."
    ),
)
def list_skill_posts(
    request,
    kind: str = Query("", description="offer or request."),
    skill: str = Query("", max_length=60),
    place: str = Query("", max_length=200),
    network: str = Query("", max_length=200),
    q: str = Query("", max_length=200),
    page: int = 1,
    page_size: int = 20,
):
    refuse_unstorable(kind=kind, skill=skill, place=place, network=network, q=q)
    if kind and kind not in KINDS:
        raise invalid_value("kind", _("Use offer or request."))
    filters = exchange.ExchangeFilters(
        kind=kind,
        skill=skill,
        place=place,
        network=network,
        q=q,
    )
    count, results = page_of(request, exchange.search(filters))
    return {"count": count, "results": [_post_out(post) for post in results]}


@router.post(
    "/community/skills",
    response={201: SkillPostOut, **ERRORS},
    auth=BearerToken(),
    url_name="create_skill_post",
    summary="Offer or ask for a skill",
    description=(
        "At a place where the caller has a role or is on the team (403 for another published "
        "place, 404 for a place they cannot know). `kind`: offer or request. At least one skill "
        "(`skills`: codes of the shared vocabulary; `free_tags`: own words), at most 10. The "
        "body is sanitised HTML. The authors of matching posts around are told. Rate limited "
        "(429)."
    ),
)
def create_skill_post(request, payload: SkillPostIn):
    throttle.api_refuse(throttle.posting(request))
    user = request.auth
    refuse_unstorable(
        place=payload.place, kind=payload.kind, title=payload.title, body=payload.body
    )
    _refuse_unstorable_lists(skills=payload.skills, free_tags=payload.free_tags)
    place = visible_place(payload.place, user) if is_slug(payload.place) else None
    if place is None:
        raise ApiError(404, _("There is no place “%(slug)s”.") % {"slug": payload.place})
    if not permissions.can_post_at(user, place):
        raise ApiError(403, _("You can post only at the places where you are a member."))
    if payload.kind not in KINDS:
        raise invalid_value("kind", _("Use offer or request."))
    post = exchange.skillpost_create(
        author=user,
        place=place,
        kind=payload.kind,
        title=payload.title,
        body=payload.body or "",
        skills=payload.skills or [],
        free_tags=payload.free_tags or [],
    )
    return Status(201, _post_out(_posts().get(pk=post.pk)))


@router.get(
    "/community/skills/{post_id}",
    response={200: SkillPostOut, **ERRORS},
    auth=OptionalBearer(),
    url_name="get_skill_post",
    summary="One offer or request",
    description="404 for a hidden post (but for its author and the place's team).",
)
def get_skill_post(request, post_id: int = POST_ID):
    return _post_out(_visible_post(_caller(request), post_id))


@router.patch(
    "/community/skills/{post_id}",
    response={200: SkillPostOut, **ERRORS},
    auth=BearerToken(),
    url_name="update_skill_post",
    summary="Change one's offer or request",
    description=(
        "For its author (403 for others, 404 when the post is hidden from them). Only the given "
        "fields change; `skills` and `free_tags` replace the skills (the one not given is kept)."
    ),
)
def update_skill_post(request, payload: SkillPostPatch, post_id: int = POST_ID):
    throttle.api_refuse(throttle.posting(request))
    post = _own_post(request.auth, post_id)
    given = payload.dict(exclude_unset=True)
    refuse_unstorable(title=given.get("title"), body=given.get("body"))
    _refuse_unstorable_lists(skills=given.get("skills"), free_tags=given.get("free_tags"))
    exchange.skillpost_update(
        post=post,
        actor=request.auth,
        title=given.get("title"),
        body=given.get("body"),
        skills=given["skills"] or [] if "skills" in given else None,
        free_tags=given["free_tags"] or [] if "free_tags" in given else None,
    )
    return _post_out(_posts().get(pk=post.pk))


@router.post(
    "/community/skills/{post_id}/close",
    response={200: SkillPostOut, **ERRORS},
    auth=BearerToken(),
    url_name="close_skill_post",
    summary="Close one's offer or request",
    description="For its author (403 for others); 409 when it is already closed.",
)
def close_skill_post(request, post_id: int = POST_ID):
    throttle.api_refuse(throttle.posting(request))
    post = _own_post(request.auth, post_id)
    try:
        exchange.skillpost_close(post=post, actor=request.auth)
    except exchange.PostClosed as error:
        raise ApiError(409, " ".join(error.messages)) from None
    return _post_out(_posts().get(pk=post.pk))


# Matches --------------------------------------------------------------------------------------


def _match_out(match: exchange.Match) -> dict:
    return {
        "kind": match.kind,
        "post": _post_out(match.post) if match.post is not None else None,
        "person": _person(match.person) if match.person is not None else None,
        "person_url": services.absolute(reverse("members:profile", args=[match.person.pk]))
        if match.person is not None
        else None,
        "place": {"slug": match.place.slug, "name": match.place.name},
        "distance_km": round(match.distance_km, 1),
        "tier": match.tier,
        "skills": match.skills,
    }


@router.get(
    "/community/skills/{post_id}/matches",
    response={200: SkillMatchListOut, **ERRORS},
    auth=BearerToken(),
    url_name="skill_post_matches",
    summary="Who could help, or who needs this",
    description=(
        "For the author of the post only (404 for anyone else). Open posts of the opposite kind "
        "sharing a skill and, for a request, people whose profile lists one of its skills and "
        "that the caller may see; at the post's place first (tier 0), then at the published "
        "places within `radius_km` (tier 1); by tier, shared skills (most first), distance "
        "(nearest first), newest. At most `limit` (10 by default, 50 at most); empty for a "
        "closed or hidden post."
    ),
)
def skill_post_matches(request, post_id: int = POST_ID, limit: int = Query(10, ge=1, le=50)):
    post = _posts().filter(pk=post_id).first()
    if post is None or not permissions.can_edit_post(request.auth, post):
        raise _no_post(post_id)
    if post.closed_at is not None or post.is_hidden:
        matches = []
    else:
        matches = exchange.matches_for(post, viewer=request.auth, limit=limit)
    return {
        "count": len(matches),
        "radius_km": exchange.MATCH_RADIUS_KM,
        "results": [_match_out(match) for match in matches],
    }


# Replies and thanks ---------------------------------------------------------------------------


@router.get(
    "/community/skills/{post_id}/replies",
    response={200: SkillReplyListOut, **ERRORS},
    auth=BearerToken(),
    url_name="list_skill_post_replies",
    summary="Private replies to a post",
    description=(
        "All of them for the post's author; one's own for anyone else (never the others', not "
        "even for the place's team). Oldest first; paginated with `page` and `page_size`."
    ),
)
def list_skill_post_replies(request, post_id: int = POST_ID, page: int = 1, page_size: int = 20):
    post = _visible_post(request.auth, post_id)
    count, results = page_of(request, exchange.replies_for(request.auth, post))
    return {
        "count": count,
        "results": [_reply_out(reply, request.auth, post.place) for reply in results],
    }


@router.post(
    "/community/skills/{post_id}/replies",
    response={201: SkillReplyOut, **ERRORS},
    auth=BearerToken(),
    url_name="create_skill_post_reply",
    summary="Reply privately to the author",
    description=(
        "Plain text, read only by the author (told by email) and the sender. 400 on one's own "
        "post or for an empty message; 409 on a closed post; 404 on a hidden one. Rate limited "
        "(429)."
    ),
)
def create_skill_post_reply(request, payload: SkillReplyIn, post_id: int = POST_ID):
    throttle.api_refuse(throttle.posting(request))
    post = _visible_post(request.auth, post_id)
    refuse_unstorable(body=payload.body)
    try:
        reply = exchange.reply_send(post=post, sender=request.auth, body=payload.body)
    except SkillPost.DoesNotExist:
        raise _no_post(post_id) from None
    except exchange.PostClosed as error:
        raise ApiError(409, " ".join(error.messages)) from None
    reply = Reply.objects.select_related("sender").get(pk=reply.pk)
    return Status(201, _reply_out(reply, request.auth, post.place))


@router.post(
    "/community/skills/{post_id}/thanks",
    response={201: SkillThanksOut, **ERRORS},
    auth=BearerToken(),
    url_name="thank_for_skill_post",
    summary="Thank someone who replied",
    description=(
        "For the post's author (403 for others): `receiver` must have replied privately to the "
        "post (400 otherwise). The post is closed if it was open; the thanks count in the "
        "place's statistics. 409 when that person was already thanked for this post. Rate "
        "limited (429)."
    ),
)
def thank_for_skill_post(request, payload: SkillThanksIn, post_id: int = POST_ID):
    throttle.api_refuse(throttle.posting(request))
    post = _own_post(request.auth, post_id)
    refuse_unstorable(message=payload.message)
    receiver = User.objects.filter(pk=payload.receiver).first()
    if receiver is None:
        raise invalid_value("receiver", _("You can thank only someone who replied to this post."))
    try:
        thanks = exchange.thanks_give(
            post=post, giver=request.auth, receiver=receiver, message=payload.message
        )
    except SkillPost.DoesNotExist:
        raise _no_post(post_id) from None
    except exchange.AlreadyThanked as error:
        raise ApiError(409, " ".join(error.messages), error.message_dict) from None
    post.refresh_from_db(fields=["closed_at"])
    return Status(201, _thanks_out(thanks, post))


def _thanks_out(thanks: Thanks, post: SkillPost) -> dict:
    return {
        "id": thanks.pk,
        "post": post.pk,
        "receiver": _person(thanks.receiver),
        "message": thanks.message,
        "created_at": _time(thanks.created_at, post.place),
        "post_closed": post.closed_at is not None,
    }
