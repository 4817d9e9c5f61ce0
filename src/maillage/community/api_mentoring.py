"""Mentoring in the API: asking (with or without a token), the mentor's queue and the team's,
one request with its answers, answering, the team's consent check, connection and closing, and
one's own mentor profile. Every write goes through community.mentoring, every "who may" through
community.permissions, so the rules are those of the pages.

A request exists only for its asker, the team of its place (and the coordinators of its networks)
and, once open, the active mentors of its fields in the place's networks: anyone else gets a 404.
Someone who sees it but may not do a team's step gets a 403. The asker's address is given only
to the team, to the asker and to the mentor they were put in touch with.
"""

import datetime as dt
import zoneinfo

from django.core.exceptions import ValidationError
from django.utils import translation
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
from maillage.places.models import Place
from maillage.places.permissions import place_access

from . import mentoring, permissions, selectors, throttle
from .models import BODY_MAX, MentoringAnswer, MentoringRequest

router = Router()
STATUSES = list(MentoringRequest.Status.values)
AGE_GROUPS = list(MentoringRequest.AgeGroup.values)
TOPICS = list(MentoringRequest.Topic.values)
REQUEST_ID = Path(ge=1, le=MAX_ID, description="Id of the mentoring request.")


# Answers --------------------------------------------------------------------------------------


class CreatedOut(Schema):
    id: int
    status: str = Field(
        description="unconfirmed (without a token: follow the link of the email), "
        "awaiting_consent (a minor's: the place's team checks it) or open."
    )


class AnswerOut(Schema):
    id: int
    mentor: str = Field(description='How the mentor is named to others ("Murielle B.").')
    body: str = Field(description="Plain text.")
    hidden: bool = Field(description="Hidden by the place's team.")
    created_at: dt.datetime


class MentoringRequestOut(Schema):
    id: int
    place: str = Field(description="Slug of the place whose team follows the request.")
    name: str = Field(description="The asker's first name (never a surname).")
    email: str | None = Field(
        description="The asker's address: only for the place's team, the asker and the mentor "
        "they were put in touch with; null for anyone else."
    )
    age_group: str = Field(description=f"One of {', '.join(AGE_GROUPS)}.")
    minor: bool
    guardian_consent: bool = Field(description="The asker stated a parent or guardian agrees.")
    consent_confirmed_at: dt.datetime | None = Field(
        description="When the place's team confirmed that consent (minors)."
    )
    topic: str = Field(description=f"One of {', '.join(TOPICS)}.")
    fields: list[str] = Field(description="Field codes (community vocabulary).")
    question: str = Field(description="Plain text.")
    status: str = Field(description=f"One of {', '.join(STATUSES)}.")
    mentor: str | None = Field(description="The mentor they were put in touch with, if any.")
    connected_at: dt.datetime | None
    hidden: bool = Field(description="Hidden by the place's team.")
    created_at: dt.datetime
    answers: list[AnswerOut] = Field(description="The answers the caller may read, oldest first.")
    url: str = Field(description="The request's page for mentors and the place's team.")


class MentoringRequestListOut(Schema):
    count: int
    results: list[MentoringRequestOut]


class MentoringRequestIn(ObjectIn):
    place: str = Field(max_length=100, description="Slug of a published place.")
    name: str = Field(
        "", max_length=mentoring.NAME_MAX, description="First name; with a token, optional."
    )
    email: str = Field(
        "", max_length=254, description="Required without a token (the answers go there)."
    )
    language: str = Field(
        "",
        max_length=8,
        description="Language of the emails without a token (fr, es, en, ca); by default the "
        "request's Accept-Language. With a token, the account's.",
    )
    age_group: str = Field(description=f"One of {', '.join(AGE_GROUPS)}.")
    guardian_consent: bool = Field(
        False, strict=True, description="Required (true) for a minor: a parent or guardian agrees."
    )
    topic: str = Field(description=f"One of {', '.join(TOPICS)}.")
    fields: list[str] = Field([], max_length=50, description="Field codes (may be empty).")
    question: str = Field(max_length=BODY_MAX * 2)


class MentoringAnswerIn(ObjectIn):
    body: str = Field(max_length=mentoring.ANSWER_MAX * 2, description="Plain text.")


class ConnectIn(ObjectIn):
    mentor: int = Field(ge=1, le=MAX_ID, strict=True, description="Id of the mentor's account.")


class MentorOut(Schema):
    is_mentor: bool = Field(description="Whether the caller is an active mentor now.")
    can_become_mentor: bool = Field(
        description="Mentors are people with a role in a place of the network."
    )
    fields: list[str]
    about: str
    is_active: bool


class MentorIn(ObjectIn):
    fields: list[str] = Field(max_length=100, description="Field codes: at least one if active.")
    about: str = Field("", max_length=mentoring.ABOUT_MAX * 2)
    is_active: bool = Field(True, strict=True, description="False: a break from mentoring.")


# Helpers --------------------------------------------------------------------------------------


def _caller(request):
    """The authenticated user, or None for an anonymous call of an OptionalBearer operation."""
    return request.auth if request.auth is not True else None


def _no_request(request_id: int) -> ApiError:
    return ApiError(404, _("There is no mentoring request #%(id)d.") % {"id": request_id})


def _no_place(slug: str) -> ApiError:
    return ApiError(404, _("There is no place “%(slug)s”.") % {"slug": slug})


def _visible(user, request_id: int) -> MentoringRequest:
    found = MentoringRequest.objects.select_related("place", "mentor").filter(pk=request_id).first()
    if found is None or not permissions.can_see_request(user, found):
        raise _no_request(request_id)
    return found


def _team_only(user, found: MentoringRequest) -> None:
    """The place's team goes on; someone who sees the request gets a 403 (they know it)."""
    if not permissions.can_moderate_request(user, found):
        raise ApiError(403, _("Only the team of this place may do this."))


def _local(moment: dt.datetime | None, place: Place) -> dt.datetime | None:
    return moment.astimezone(zoneinfo.ZoneInfo(place.time_zone)) if moment else None


def _answer_out(answer: MentoringAnswer, place: Place) -> dict:
    return {
        "id": answer.pk,
        "mentor": selectors.display_name(answer.mentor),
        "body": answer.body,
        "hidden": answer.is_hidden,
        "created_at": _local(answer.created_at, place),
    }


def _request_out(user, found: MentoringRequest) -> dict:
    place = found.place
    return {
        "id": found.pk,
        "place": place.slug,
        "name": str(mentoring.asker_first_name(found)),
        "email": found.email if permissions.sees_asker_email(user, found) else None,
        "age_group": found.age_group,
        "minor": found.is_minor,
        "guardian_consent": found.guardian_consent,
        "consent_confirmed_at": _local(found.consent_confirmed_at, place),
        "topic": found.topic,
        "fields": list(found.fields),
        "question": found.question,
        "status": found.status,
        "mentor": selectors.display_name(found.mentor) if found.mentor_id else None,
        "connected_at": _local(found.connected_at, place),
        "hidden": found.is_hidden,
        "created_at": _local(found.created_at, place),
        "answers": [
            _answer_out(answer, place) for answer in mentoring.answers_visible_to(user, found)
        ],
        "url": mentoring.detail_link(found),
    }


def _fresh(user, request_id: int) -> dict:
    found = MentoringRequest.objects.select_related("place", "mentor").get(pk=request_id)
    return _request_out(user, found)


def _conflict(error: ValidationError) -> ApiError:
    return ApiError(409, " ".join(error.messages))


def _choice(field: str, value: str, values: list[str]) -> None:
    if value not in values:
        raise invalid_value(field, _("Choose one of: %(values)s.") % {"values": ", ".join(values)})


# Requests -------------------------------------------------------------------------------------


@router.post(
    "/community/mentoring/requests",
    response={201: CreatedOut, **ERRORS},
    auth=OptionalBearer(),
    url_name="create_mentoring_request",
    summary="Ask a mentor a question",
    description=(
        "Anyone may ask, with a token or not. Without one, `email` is required and the request "
        "waits (`unconfirmed`) until the asker follows the link emailed to them; the id answered "
        "does not give access to it. With a token, the account's address and language are used. "
        "A minor (`age_group` under_15 or 15_17) must send `guardian_consent` true (else 400, "
        "nothing written); the place's team then checks it before mentors see the request "
        "(`awaiting_consent`). 400 naming each invalid field, 429 past the rate limit per "
        "connection."
    ),
)
def create_mentoring_request(request, payload: MentoringRequestIn):
    refuse_unstorable(
        place=payload.place,
        name=payload.name,
        email=payload.email,
        question=payload.question,
        language=payload.language,
    )
    user = _caller(request)
    _choice("age_group", payload.age_group, AGE_GROUPS)
    _choice("topic", payload.topic, TOPICS)
    place = (
        Place.objects.filter(slug=payload.place, is_published=True).first()
        if is_slug(payload.place)
        else None
    )
    if place is None:
        raise invalid_value("place", _("There is no place “%(slug)s”.") % {"slug": payload.place})
    throttle.api_refuse(throttle.asking(request))
    found = mentoring.request_ask(
        place=place,
        asker=user,
        name=payload.name,
        email=payload.email,
        language=payload.language or translation.get_language(),
        age_group=payload.age_group,
        guardian_consent=payload.guardian_consent,
        topic=payload.topic,
        fields=payload.fields,
        question=payload.question,
    )
    return Status(201, {"id": found.pk, "status": found.status})


@router.get(
    "/community/mentoring/requests",
    response={200: MentoringRequestListOut, **ERRORS},
    auth=BearerToken(),
    url_name="list_mentoring_requests",
    summary="A mentor's queue, or a place's requests for its team",
    description=(
        "Without `place`: the caller's queue as a mentor (open or connected requests of the "
        "places of their networks, in their fields), newest first; empty for someone who is not "
        "an active mentor. With `place`: the requests of that place for its team (managers, "
        "staff, coordinators of its networks), awaiting consent first, then open, connected and "
        "closed (unconfirmed ones left out); 403 for the place's other people, 404 for anyone "
        "else. Paginated with `page` and `page_size`."
    ),
)
def list_mentoring_requests(
    request,
    place: str = Query("", description="Slug of a place whose team the caller belongs to."),
    page: int = 1,
    page_size: int = 20,
):
    user = request.auth
    if place:
        found_place = Place.objects.filter(slug=place).first() if is_slug(place) else None
        if found_place is None:
            raise _no_place(place)
        if not permissions.can_moderate_place(user, found_place):
            if place_access(user, found_place) == "role":
                raise ApiError(403, _("Only the team of this place may do this."))
            raise _no_place(place)
        queryset = mentoring.requests_for_team(found_place)
    else:
        queryset = mentoring.requests_for_mentor(user)
    count, results = page_of(request, queryset)
    return {"count": count, "results": [_request_out(user, found) for found in results]}


@router.get(
    "/community/mentoring/requests/{request_id}",
    response={200: MentoringRequestOut, **ERRORS},
    auth=BearerToken(),
    url_name="get_mentoring_request",
    summary="One mentoring request with its answers",
    description=(
        "For its asker, the team of its place, and the mentors who see it (open or connected, "
        "in their fields and networks); 404 for anyone else. `email` is null but for the team, "
        "the asker and the mentor they were put in touch with. Hidden answers are listed only "
        "for the team and their authors."
    ),
)
def get_mentoring_request(request, request_id: int = REQUEST_ID):
    return _request_out(request.auth, _visible(request.auth, request_id))


@router.post(
    "/community/mentoring/requests/{request_id}/answers",
    response={201: AnswerOut, **ERRORS},
    auth=BearerToken(),
    url_name="answer_mentoring_request",
    summary="Answer a request as a mentor",
    description=(
        "For the active mentors who see the request: the answer (plain text) is emailed at once "
        "to the asker, in their language, with the link to their request. 403 for someone who "
        "sees it without being such a mentor (the place's team), 404 for anyone else, 409 for a "
        "closed request, 429 past the posting rate limit."
    ),
)
def answer_mentoring_request(request, payload: MentoringAnswerIn, request_id: int = REQUEST_ID):
    user = request.auth
    found = MentoringRequest.objects.select_related("place", "mentor").filter(pk=request_id).first()
    if found is None or not permissions.knew_request(user, found):
        raise _no_request(request_id)
    refuse_unstorable(body=payload.body)
    if found.status == MentoringRequest.Status.CLOSED:
        raise ApiError(409, _("This request is closed: answers are no longer possible."))
    if not permissions.can_answer_request(user, found):
        raise ApiError(403, _("Only the mentors of its fields answer this request."))
    throttle.api_refuse(throttle.posting(request))
    try:
        answer = mentoring.answer_send(request=found, mentor=user, body=payload.body)
    except mentoring.MentoringConflict as conflict:
        raise _conflict(conflict) from None
    except PermissionError:
        raise ApiError(403, _("Only the mentors of its fields answer this request.")) from None
    return Status(201, _answer_out(answer, found.place))


@router.post(
    "/community/mentoring/requests/{request_id}/consent",
    response={200: MentoringRequestOut, **ERRORS},
    auth=BearerToken(),
    url_name="confirm_mentoring_consent",
    summary="Confirm a minor's guardian consent",
    description=(
        "For the team of the request's place: they state that they checked the agreement of "
        "the minor's parent or guardian (for instance by phone). The request opens to mentors, "
        "who are told. Recorded in the audit log. 403 for someone else who sees the request, "
        "404 for anyone else, 409 when it is not a minor's request awaiting consent."
    ),
)
def confirm_mentoring_consent(request, request_id: int = REQUEST_ID):
    user = request.auth
    found = _visible(user, request_id)
    _team_only(user, found)
    try:
        mentoring.consent_confirm(request=found, actor=user)
    except mentoring.MentoringConflict as conflict:
        raise _conflict(conflict) from None
    return _fresh(user, request_id)


@router.post(
    "/community/mentoring/requests/{request_id}/connect",
    response={200: MentoringRequestOut, **ERRORS},
    auth=BearerToken(),
    url_name="connect_mentoring_request",
    summary="Put the asker in touch with a mentor",
    description=(
        "For the team of the request's place: `mentor` is the account id of an active mentor "
        "of the place's networks. Both are emailed: the asker the mentor's name and what they "
        "share, the mentor the asker's first name and address. Recorded in the audit log. 400 "
        "for a mentor who is not one, 403 for someone else who sees the request, 404 for anyone "
        "else, 409 when the request is not open (or hidden)."
    ),
)
def connect_mentoring_request(request, payload: ConnectIn, request_id: int = REQUEST_ID):
    user = request.auth
    found = _visible(user, request_id)
    _team_only(user, found)
    mentor = User.objects.filter(pk=payload.mentor).first()
    try:
        mentoring.connect(request=found, mentor=mentor, actor=user)
    except mentoring.MentoringConflict as conflict:
        raise _conflict(conflict) from None
    return _fresh(user, request_id)


@router.post(
    "/community/mentoring/requests/{request_id}/close",
    response={200: MentoringRequestOut, **ERRORS},
    auth=BearerToken(),
    url_name="close_mentoring_request",
    summary="Close a request",
    description=(
        "For its asker and the team of its place: mentors can no longer answer. 403 for a "
        "mentor who sees it, 404 for anyone else, 409 when it is already closed."
    ),
)
def close_mentoring_request(request, request_id: int = REQUEST_ID):
    user = request.auth
    found = _visible(user, request_id)
    if not permissions.can_close_request(user, found):
        raise ApiError(403, _("Only the asker and the team of this place may close it."))
    try:
        mentoring.request_close(request=found, actor=user)
    except mentoring.MentoringConflict as conflict:
        raise _conflict(conflict) from None
    return _fresh(user, request_id)


# One's mentor profile -------------------------------------------------------------------------


def _mentor_out(user) -> dict:
    record = mentoring.mentor_of(user)
    return {
        "is_mentor": permissions.is_mentor(user),
        "can_become_mentor": permissions.can_become_mentor(user),
        "fields": list(record.fields) if record else [],
        "about": record.about if record else "",
        "is_active": bool(record and record.is_active),
    }


@router.get(
    "/community/me/mentor",
    response={200: MentorOut, **ERRORS},
    auth=BearerToken(),
    url_name="get_my_mentor",
    summary="My mentor profile",
    description="Whether the caller is a mentor, may become one, and their fields and words.",
)
def get_my_mentor(request):
    return _mentor_out(request.auth)


@router.put(
    "/community/me/mentor",
    response={200: MentorOut, **ERRORS},
    auth=BearerToken(),
    url_name="update_my_mentor",
    summary="Opt in as a mentor, change one's fields, or take a break",
    description=(
        "For people with a role in a place (403 for anyone else). At least one known field code "
        "while active; `is_active` false stops the questions (the fields are kept). 400 naming "
        "each invalid field."
    ),
)
def update_my_mentor(request, payload: MentorIn):
    user = request.auth
    refuse_unstorable(about=payload.about)
    if not permissions.can_become_mentor(user):
        raise ApiError(
            403, _("Mentors are people of the places of the network: ask a place's team.")
        )
    mentoring.mentor_save(
        user=user, fields=payload.fields, about=payload.about, is_active=payload.is_active
    )
    return _mentor_out(user)
