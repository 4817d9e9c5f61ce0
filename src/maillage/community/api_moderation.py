"""Reports, moderation and one's own news in the API: what every part of the exchange shares.

A post the caller may not read is answered as if it did not exist (404); so is a moderation
request from anyone but the team of the post's place (or its coordinators).
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema, Status

from maillage.core.api import (
    ERRORS,
    MAX_ID,
    ApiError,
    BearerToken,
    ObjectIn,
    is_slug,
    page_of,
    refuse_unstorable,
)
from maillage.places.models import Place
from maillage.places.permissions import place_access

from . import permissions, services, throttle
from .models import NotificationSettings, Report

router = Router(tags=["community"])
KINDS = list(services.MODERATED)
REASONS = list(Report.Reason.values)
FREQUENCIES = list(NotificationSettings.Frequency.values)


class ReportIn(ObjectIn):
    kind: str = Field(description=f"The kind of post: one of {', '.join(KINDS)}.")
    id: int = Field(ge=1, le=MAX_ID, description="The post's id.")
    reason: str = Field(description=f"One of {', '.join(REASONS)}.")
    comment: str = Field("", description="Details for the team (1000 characters at most).")


class ReportOut(Schema):
    id: int
    kind: str
    post: int
    place: str = Field(description="Slug of the place whose team moderates the post.")
    reason: str
    comment: str
    created_at: dt.datetime


class ReportListOut(Schema):
    count: int
    results: list[ReportOut]


class HideIn(ObjectIn):
    reason: str = Field(description="Why the post is hidden: told to its author.")


class ModerationOut(Schema):
    kind: str
    id: int
    hidden: bool
    hidden_reason: str
    reports_closed: int = 0


class SettingsIO(ObjectIn):
    frequency: str = Field(description=f"One of {', '.join(FREQUENCIES)}.")
    notify_matches: bool = Field(
        True, description="Hear about new offers and requests matching one's skills."
    )


class NotificationOut(Schema):
    id: int
    subject: str
    body: str
    url: str
    created_at: dt.datetime
    read: bool


class NotificationListOut(Schema):
    count: int
    results: list[NotificationOut]


def _no_post(kind: str, pk: int) -> ApiError:
    return ApiError(404, _("There is no such post (%(kind)s #%(id)d).") % {"kind": kind, "id": pk})


def _post(user, kind: str, pk: int):
    if kind not in services.MODERATED:
        raise ApiError(
            400,
            _("Some values are invalid."),
            {"kind": [_("Choose one of: %(kinds)s.") % {"kinds": ", ".join(KINDS)}]},
        )
    post = services.post_by_kind(kind, pk)
    if post is None or not permissions.can_read_any(user, post):
        raise _no_post(kind, pk)
    return post


def _moderated_post(user, kind: str, pk: int):
    """A post the caller moderates; one they may read but not moderate is a 403 (they know it
    exists), one they may not read a 404."""
    post = _post(user, kind, pk)
    if not permissions.can_moderate_place(user, services.moderation_place(post)):
        raise ApiError(403, _("Only the team of the post's place may moderate it."))
    return post


def _report_out(report: Report) -> dict:
    model = report.content_type.model_class()
    return {
        "id": report.pk,
        "kind": services.KIND_OF_MODEL[model],
        "post": report.object_id,
        "place": report.place.slug,
        "reason": report.reason,
        "comment": report.comment,
        "created_at": report.created_at,
    }


def _moderation_out(post, closed: int = 0) -> dict:
    return {
        "kind": services.KIND_OF_MODEL[type(post)],
        "id": post.pk,
        "hidden": post.is_hidden,
        "hidden_reason": post.hidden_reason,
        "reports_closed": closed,
    }


@router.post(
    "/community/reports",
    auth=BearerToken(),
    response={201: ReportOut, **ERRORS},
    summary="Report a post to its place's team",
    url_name="community_report",
)
def report_create(request, payload: ReportIn):
    refuse_unstorable(comment=payload.comment)
    post = _post(request.auth, payload.kind, payload.id)
    throttle.api_refuse(throttle.posting(request))
    try:
        report = services.report_post(
            post=post, reporter=request.auth, reason=payload.reason, comment=payload.comment
        )
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            raise
        raise ApiError(409, " ".join(error.messages)) from None
    return Status(201, _report_out(report))


@router.get(
    "/community/reports",
    auth=BearerToken(),
    response={200: ReportListOut, **ERRORS},
    summary="Reports waiting for a decision at a place (its team)",
    url_name="community_reports",
)
def report_list(request, place: str = Query(..., description="Slug of the place.")):
    found = Place.objects.filter(slug=place).first() if is_slug(place) else None
    if found is not None and not permissions.can_moderate_place(request.auth, found):
        if place_access(request.auth, found) == "role":
            raise ApiError(403, _("Only the team of this place reads its reports."))
        found = None
    if found is None:
        raise ApiError(404, _("There is no place %(slug)s.") % {"slug": place[:100]})
    count, reports = page_of(request, services.open_reports([found]))
    return {"count": count, "results": [_report_out(report) for report in reports]}


@router.post(
    "/community/moderation/{kind}/{post_id}/hide",
    auth=BearerToken(),
    response={200: ModerationOut, **ERRORS},
    summary="Hide a post, telling its author why (the place's team)",
    url_name="community_hide",
)
def hide(request, kind: str, payload: HideIn, post_id: int = Path(..., ge=1, le=MAX_ID)):
    refuse_unstorable(reason=payload.reason)
    post = _moderated_post(request.auth, kind, post_id)
    try:
        post = services.hide_post(post=post, actor=request.auth, reason=payload.reason)
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            raise
        raise ApiError(409, " ".join(error.messages)) from None
    return _moderation_out(post)


@router.post(
    "/community/moderation/{kind}/{post_id}/show",
    auth=BearerToken(),
    response={200: ModerationOut, **ERRORS},
    summary="Show a hidden post again (the place's team)",
    url_name="community_show",
)
def show(request, kind: str, post_id: int = Path(..., ge=1, le=MAX_ID)):
    post = _moderated_post(request.auth, kind, post_id)
    try:
        post = services.show_post(post=post, actor=request.auth)
    except ValidationError as error:
        raise ApiError(409, " ".join(error.messages)) from None
    return _moderation_out(post)


@router.post(
    "/community/moderation/{kind}/{post_id}/keep",
    auth=BearerToken(),
    response={200: ModerationOut, **ERRORS},
    summary="Close the reports of a post the team keeps",
    url_name="community_keep",
)
def keep(request, kind: str, post_id: int = Path(..., ge=1, le=MAX_ID)):
    post = _moderated_post(request.auth, kind, post_id)
    closed = services.keep_post(post=post, actor=request.auth)
    return _moderation_out(post, closed)


@router.get(
    "/community/me/notifications",
    auth=BearerToken(),
    response={200: NotificationListOut, **ERRORS},
    summary="My news from the community exchange, latest first",
    url_name="community_my_notifications",
)
def my_notifications(request):
    count, news = page_of(request, services.notifications_of(request.auth))
    return {
        "count": count,
        "results": [
            {
                "id": item.pk,
                "subject": item.subject,
                "body": item.body,
                "url": item.url,
                "created_at": item.created_at,
                "read": item.read_at is not None,
            }
            for item in news
        ],
    }


@router.get(
    "/community/me/notification-settings",
    auth=BearerToken(),
    response={200: SettingsIO, **ERRORS},
    summary="How often I get emails about the community exchange",
    url_name="community_my_settings",
)
def my_settings(request):
    found = services.notification_settings(request.auth)
    return {"frequency": found.frequency, "notify_matches": found.notify_matches}


@router.put(
    "/community/me/notification-settings",
    auth=BearerToken(),
    response={200: SettingsIO, **ERRORS},
    summary="Choose how often I get emails about the community exchange",
    url_name="community_my_settings_update",
)
def my_settings_update(request, payload: SettingsIO):
    found = services.notification_settings_save(
        user=request.auth, frequency=payload.frequency, notify_matches=payload.notify_matches
    )
    return {"frequency": found.frequency, "notify_matches": found.notify_matches}
