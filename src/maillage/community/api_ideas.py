"""The idea box in the API: the ideas of a place, posting one, voting (once each), and the
team's answer. Every write goes through community.ideas, every "who may" through
community.permissions, so the rules are those of the pages.

Ideas of a published place are public, so someone who may not vote there is told so (403).
Answering is the place's team's: its other people get a 403, anyone else a 404, as for any
managing of a place. A hidden idea, or one of an unpublished place, does not exist for anyone
but its author and the place's team (and nobody votes on it).
"""

import datetime as dt
import zoneinfo

from django.core.exceptions import ValidationError
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
from maillage.places.models import Place
from maillage.places.permissions import place_access

from . import ideas, permissions, selectors, throttle
from .models import BODY_MAX, Idea

router = Router()
STATUSES = list(Idea.Status.values)
IDEA_ID = Path(ge=1, le=MAX_ID, description="Id of the idea.")


# Answers --------------------------------------------------------------------------------------


class IdeaOut(Schema):
    id: int
    place: str = Field(description="Slug of the place the idea is for.")
    title: str
    body: str = Field(description="Sanitised HTML.")
    author: str = Field(description='How the author is named to others ("Catherine V.").')
    status: str = Field(description=f"One of {', '.join(STATUSES)}.")
    votes: int = Field(description="How many people voted for it.")
    voted: bool = Field(description="Whether the caller voted for it (false without a token).")
    can_vote: bool = Field(
        description="Whether the caller may vote or take back their vote now (a person of the "
        "place, an idea that is new or planned)."
    )
    answer: str = Field(description="The team's answer, sanitised HTML; empty until answered.")
    answered_at: dt.datetime | None
    hidden: bool = Field(
        description="Hidden by the place's team: only its author and the team see it."
    )
    created_at: dt.datetime
    url: str = Field(description="The idea's page.")


class IdeaListOut(Schema):
    count: int
    results: list[IdeaOut]


class IdeaIn(ObjectIn):
    place: str = Field(max_length=100, description="Slug of a published place.")
    title: str = Field(max_length=160)
    body: str = Field(
        max_length=BODY_MAX * 2, description="HTML (sanitised: paragraphs, emphasis, lists, links)."
    )


class IdeaAnswerIn(ObjectIn):
    status: str = Field(description=f"One of {', '.join(STATUSES)}.")
    answer: str = Field(
        "",
        max_length=BODY_MAX * 2,
        description="HTML (sanitised); required when the status is declined: say why.",
    )


# Helpers --------------------------------------------------------------------------------------


def _caller(request):
    """The authenticated user, or None for an anonymous call of an OptionalBearer operation."""
    return request.auth if request.auth is not True else None


def _no_place(slug: str) -> ApiError:
    return ApiError(404, _("There is no place “%(slug)s”.") % {"slug": slug})


def _published_place(slug: str) -> Place:
    place = Place.objects.filter(slug=slug, is_published=True).first() if is_slug(slug) else None
    if place is None:
        raise _no_place(slug)
    return place


def _no_idea(idea_id: int) -> ApiError:
    return ApiError(404, _("There is no idea #%(id)d.") % {"id": idea_id})


def _readable(user, idea_id: int) -> Idea:
    idea = ideas.readable_idea(user, idea_id)
    if idea is None:
        raise _no_idea(idea_id)
    return idea


def _local(moment: dt.datetime | None, place: Place) -> dt.datetime | None:
    return moment.astimezone(zoneinfo.ZoneInfo(place.time_zone)) if moment else None


def _ideas_out(user, found: list[Idea]) -> list[dict]:
    voted = ideas.voted_ids(user, found)
    may_vote: dict[int, bool] = {}
    results = []
    for idea in found:
        if idea.place_id not in may_vote:
            may_vote[idea.place_id] = permissions.can_vote_at(user, idea.place)
        results.append(
            {
                "id": idea.pk,
                "place": idea.place.slug,
                "title": idea.title,
                "body": idea.body,
                "author": selectors.display_name(idea.author),
                "status": idea.status,
                "votes": idea.votes,
                "voted": idea.pk in voted,
                "can_vote": may_vote[idea.place_id]
                and idea.status in ideas.VOTABLE
                and not idea.is_hidden,
                "answer": idea.answer,
                "answered_at": _local(idea.answered_at, idea.place),
                "hidden": idea.is_hidden,
                "created_at": _local(idea.created_at, idea.place),
                "url": ideas.idea_url(idea),
            }
        )
    return results


def _idea_out(user, idea_id: int) -> dict:
    """The idea as it is now in the database (after a vote, its new count)."""
    return _ideas_out(user, [_readable(user, idea_id)])[0]


# Operations -----------------------------------------------------------------------------------


@router.get(
    "/community/ideas",
    response={200: IdeaListOut, **ERRORS},
    auth=OptionalBearer(),
    url_name="list_ideas",
    summary="The idea box of a place",
    description=(
        "The ideas of a published place, most voted first (`order=votes`, the default) or "
        "newest first (`order=recent`); `status` keeps one status "
        f"({', '.join(STATUSES)}). Hidden ideas are listed only for the place's team and "
        "their authors. 404 for an unknown or unpublished place. Paginated with `page` and "
        "`page_size`."
    ),
)
def list_ideas(
    request,
    place: str = Query(..., max_length=100, description="Slug of the place."),
    status: str = Query("", description=f"One of {', '.join(STATUSES)}; empty: all."),
    order: str = Query("votes", description="votes (most voted first) or recent."),
    page: int = 1,
    page_size: int = 20,
):
    user = _caller(request)
    if status and status not in STATUSES:
        raise invalid_value(
            "status", _("Choose one of: %(values)s.") % {"values": ", ".join(STATUSES)}
        )
    if order not in ideas.ORDERS:
        raise invalid_value(
            "order", _("Choose one of: %(values)s.") % {"values": ", ".join(ideas.ORDERS)}
        )
    found = ideas.ideas_for(_published_place(place), user=user, status=status or None, order=order)
    count, results = page_of(request, found)
    return {"count": count, "results": _ideas_out(user, results)}


@router.post(
    "/community/ideas",
    response={201: IdeaOut, **ERRORS},
    auth=BearerToken(),
    url_name="create_idea",
    summary="Post an idea for a place",
    description=(
        "Anyone with a token may post an idea for a published place (no role there needed); "
        "the place's team is told. The body is sanitised HTML. 404 for an unknown or "
        "unpublished place, 400 naming each invalid field, 429 past the posting rate limit."
    ),
)
def create_idea(request, payload: IdeaIn):
    refuse_unstorable(place=payload.place, title=payload.title, body=payload.body)
    place = _published_place(payload.place)
    throttle.api_refuse(throttle.posting(request))
    try:
        idea = ideas.idea_post(
            author=request.auth, place=place, title=payload.title, body=payload.body
        )
    except PermissionError:  # an inactive account: its token no longer authenticates anyway
        raise ApiError(403, _("You are not allowed to do this.")) from None
    return Status(201, _idea_out(request.auth, idea.pk))


@router.get(
    "/community/ideas/{idea_id}",
    response={200: IdeaOut, **ERRORS},
    auth=OptionalBearer(),
    url_name="get_idea",
    summary="One idea",
    description=(
        "An idea of a published place with its votes and the team's answer. A hidden idea "
        "only for its author and the place's team; 404 for anyone else."
    ),
)
def get_idea(request, idea_id: int = IDEA_ID):
    return _idea_out(_caller(request), idea_id)


def _vote_refusal(error: ValidationError) -> ApiError:
    return ApiError(409, " ".join(error.messages))


@router.post(
    "/community/ideas/{idea_id}/vote",
    response={201: IdeaOut, **ERRORS},
    auth=BearerToken(),
    url_name="vote_idea",
    summary="Vote for an idea",
    description=(
        "For the people of the idea's place (its members and its team; the author too): one "
        "vote each. Answers the idea with its new count. 403 for anyone else, 409 when the "
        "caller already voted or when the idea is done or declined (its votes are closed), "
        "404 for a hidden idea, 429 past the rate limit."
    ),
)
def vote_idea(request, idea_id: int = IDEA_ID):
    idea = _readable(request.auth, idea_id)
    throttle.api_refuse(throttle.posting(request))
    try:
        ideas.idea_vote(idea=idea, user=request.auth)
    except Idea.DoesNotExist:
        raise _no_idea(idea_id) from None
    except PermissionError:
        raise ApiError(403, _("Only the people of this place vote on its ideas.")) from None
    except ValidationError as error:
        raise _vote_refusal(error) from None
    return Status(201, _idea_out(request.auth, idea_id))


@router.delete(
    "/community/ideas/{idea_id}/vote",
    response={204: None, **ERRORS},
    auth=BearerToken(),
    url_name="unvote_idea",
    summary="Take back one's vote",
    description=(
        "404 when the caller had not voted for it (or for a hidden idea), 403 for someone "
        "who may not vote at its place, 409 when the idea is done or declined (its votes are "
        "kept as they were)."
    ),
)
def unvote_idea(request, idea_id: int = IDEA_ID):
    idea = _readable(request.auth, idea_id)
    throttle.api_refuse(throttle.posting(request))
    try:
        removed = ideas.idea_unvote(idea=idea, user=request.auth)
    except Idea.DoesNotExist:
        raise _no_idea(idea_id) from None
    except PermissionError:
        raise ApiError(403, _("Only the people of this place vote on its ideas.")) from None
    except ValidationError as error:
        raise _vote_refusal(error) from None
    if not removed:
        raise ApiError(404, _("You have not voted for this idea."))
    return Status(204, None)


@router.post(
    "/community/ideas/{idea_id}/answer",
    response={200: IdeaOut, **ERRORS},
    auth=BearerToken(),
    url_name="answer_idea",
    summary="Answer an idea as the place's team",
    description=(
        "For the team of the idea's place (managers, staff) and the coordinators of its "
        "networks: sets the status (planned, done, declined, or back to new) and the answer "
        "(sanitised HTML; required to decline). The author and the voters are told. 403 for "
        "the place's other people, 404 for anyone else; 409 for a hidden idea (show it "
        "again first); 400 naming each invalid field."
    ),
)
def answer_idea(request, payload: IdeaAnswerIn, idea_id: int = IDEA_ID):
    idea = _readable(request.auth, idea_id)
    if not permissions.can_answer_idea(request.auth, idea):
        if place_access(request.auth, idea.place) == "role":
            raise ApiError(403, _("Only the team of this place may answer its ideas."))
        raise _no_idea(idea_id)
    refuse_unstorable(status=payload.status, answer=payload.answer)
    if payload.status not in STATUSES:
        raise invalid_value(
            "status", _("Choose one of: %(values)s.") % {"values": ", ".join(STATUSES)}
        )
    if idea.is_hidden:
        raise ApiError(409, _("This idea is hidden: show it again before answering it."))
    throttle.api_refuse(throttle.posting(request))
    ideas.idea_answer(idea=idea, actor=request.auth, status=payload.status, answer=payload.answer)
    return _idea_out(request.auth, idea_id)
