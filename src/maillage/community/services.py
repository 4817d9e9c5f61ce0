"""What every part of the community exchange shares: clean words, notifications (at once or in a
digest, always in the recipient's language), reports and moderation.

The rules of each part live next to it: exchange.py (skills offered and sought, matching,
thanks), board.py (projects and opportunities), mentoring.py, givebox.py, ideas.py.
"""

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from maillage.accounts.models import User
from maillage.core.audit import audit_record
from maillage.core.html import clean_html, html_to_text
from maillage.core.tasks import send_email
from maillage.places.models import Place

from . import permissions, selectors
from .models import (
    BODY_MAX,
    Idea,
    Item,
    MentoringAnswer,
    MentoringRequest,
    Notification,
    NotificationSettings,
    Opportunity,
    Report,
    SkillPost,
)

# The kinds of post a person may report and a team may hide, by the name used in URLs and in the
# API (`/community/report/<kind>/<id>/`).
MODERATED = {
    "skill": SkillPost,
    "opportunity": Opportunity,
    "item": Item,
    "idea": Idea,
    "mentoring": MentoringRequest,
    "answer": MentoringAnswer,
}
KIND_OF_MODEL = {model: kind for kind, model in MODERATED.items()}


# Words ----------------------------------------------------------------------------------------


def clean_title(title: str, *, field: str = "title") -> str:
    title = " ".join((title or "").split())
    if not title:
        raise ValidationError({field: _("Give it a title.")})
    if len(title) > 160:
        raise ValidationError({field: _("The title is too long: 160 characters at most.")})
    return title


def clean_body(text: str, *, field: str = "body", required: bool = False) -> str:
    """Sanitised HTML (scripts, styles and event handlers removed) within the size limit."""
    cleaned = clean_html(text or "")
    if required and not html_to_text(cleaned):
        raise ValidationError({field: _("Write a few words.")})
    if len(cleaned) > BODY_MAX:
        raise ValidationError(
            {field: _("The text is too long: %(max)d characters at most.") % {"max": BODY_MAX}}
        )
    return cleaned


def clean_message(text: str, *, field: str = "body", limit: int = 4000) -> str:
    """A plain-text message (private replies, answers by email): trimmed, never empty."""
    text = (text or "").strip()
    if not text:
        raise ValidationError({field: _("Write a few words.")})
    if len(text) > limit:
        raise ValidationError(
            {field: _("The message is too long: %(max)d characters at most.") % {"max": limit}}
        )
    return text


def absolute(path: str) -> str:
    return settings.MAILLAGE_BASE_URL + path


def _send_later(subject: str, body: str, recipient: str) -> None:
    transaction.on_commit(
        lambda: send_email.enqueue(subject=subject, body=body, recipients=[recipient]),
        robust=True,
    )


def email_person(*, email: str, language: str, subject: str, template: str, context: dict) -> None:
    """Email someone who may have no account (a mentoring asker), in their language, after
    commit. `subject` is a lazy string or a callable of no argument, resolved in that language."""
    with translation.override(language or settings.LANGUAGE_CODE):
        text = subject() if callable(subject) else str(subject)
        body = render_to_string(template, {**context, "site_name": settings.MAILLAGE_SITE_NAME})
        _send_later(f"[{settings.MAILLAGE_SITE_NAME}] {text}", body, email)


# Notifications --------------------------------------------------------------------------------


def notification_settings(user: User) -> NotificationSettings:
    found = NotificationSettings.objects.filter(user=user).first()
    return found or NotificationSettings(user=user)


def notification_settings_save(
    *, user: User, frequency: str, notify_matches: bool
) -> NotificationSettings:
    if frequency not in NotificationSettings.Frequency.values:
        raise ValidationError({"frequency": _("Choose how often you want emails.")})
    found, _created = NotificationSettings.objects.update_or_create(
        user=user, defaults={"frequency": frequency, "notify_matches": bool(notify_matches)}
    )
    return found


def notify(
    user: User,
    *,
    subject,
    template: str,
    context: dict,
    url: str = "",
    urgent: bool = False,
) -> Notification:
    """Tell `user` some news, written in their language now.

    Urgent news (a post hidden, a mentor's answer, a return date) is emailed at once whatever the
    person chose; other news follows their choice: at once, in a digest, or only on the site.
    `subject` is a lazy string (or a callable), resolved in the recipient's language.
    """
    with translation.override(user.language or settings.LANGUAGE_CODE):
        text = str(subject() if callable(subject) else subject)[:200]
        body = render_to_string(
            template, {**context, "user": user, "site_name": settings.MAILLAGE_SITE_NAME}
        )
    frequency = notification_settings(user).frequency
    immediate = urgent or frequency == NotificationSettings.Frequency.IMMEDIATE
    now = timezone.now()
    notification = Notification.objects.create(
        user=user,
        subject=text,
        body=body[:4000],
        url=url[:500],
        # "never": kept on the site only, so no digest picks it up.
        sent_at=now if immediate or frequency == NotificationSettings.Frequency.NEVER else None,
    )
    if immediate:
        _send_later(f"[{settings.MAILLAGE_SITE_NAME}] {text}", body, user.email)
    return notification


def notifications_of(user: User):
    return Notification.objects.filter(user=user)


def notifications_mark_read(user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )


DIGEST_PERIODS = {
    NotificationSettings.Frequency.DAILY: dt.timedelta(days=1),
    NotificationSettings.Frequency.WEEKLY: dt.timedelta(days=7),
}
# A digest is due a little before its full period has passed, so that an hourly job run at
# slightly different minutes still sends a daily digest every day.
DIGEST_SLACK = dt.timedelta(minutes=30)


def send_digests(*, now: dt.datetime | None = None) -> int:
    """Email each person who chose a digest the news gathered since their last one, once its
    period has passed. Returns how many digests were sent."""
    now = now or timezone.now()
    sent = 0
    pending_users = (
        Notification.objects.filter(sent_at__isnull=True).values_list("user_id", flat=True)
    ).distinct()
    for preferences in NotificationSettings.objects.filter(
        user_id__in=pending_users, frequency__in=list(DIGEST_PERIODS)
    ).select_related("user"):
        period = DIGEST_PERIODS[preferences.frequency]
        if preferences.last_digest_at and now - preferences.last_digest_at < period - DIGEST_SLACK:
            continue
        if _send_digest(preferences, now):
            sent += 1
    return sent


@transaction.atomic
def _send_digest(preferences: NotificationSettings, now: dt.datetime) -> bool:
    user = preferences.user
    news = list(
        Notification.objects.select_for_update()
        .filter(user=user, sent_at__isnull=True)
        .order_by("created_at", "id")
    )
    if not news:
        return False
    with translation.override(user.language or settings.LANGUAGE_CODE):
        subject = _("%(count)d news from the community exchange") % {"count": len(news)}
        body = render_to_string(
            "community/email/digest.txt",
            {
                "user": user,
                "news": news,
                "settings_url": absolute("/community/notifications/"),
                "site_name": settings.MAILLAGE_SITE_NAME,
            },
        )
    Notification.objects.filter(pk__in=[n.pk for n in news]).update(sent_at=now)
    preferences.last_digest_at = now
    preferences.save(update_fields=["last_digest_at"])
    _send_later(f"[{settings.MAILLAGE_SITE_NAME}] {subject}", body, user.email)
    return True


# Reports and moderation -----------------------------------------------------------------------


def post_path(post) -> str:
    """Where a post of any part is read (and where moderation sends the team back)."""
    if isinstance(post, MentoringAnswer):
        post = post.request
    name = {
        "skill": "community:exchange_post",
        "opportunity": "community:board_post",
        "item": "community:givebox_item",
        "idea": "community:idea",
        "mentoring": "community:mentoring_detail",
    }[KIND_OF_MODEL[type(post)]]
    return reverse(name, kwargs={"pk": post.pk})


def post_by_kind(kind: str, pk: int):
    model = MODERATED.get(kind)
    if model is None:
        return None
    return model.objects.filter(pk=pk).first()


def moderation_place(post) -> Place:
    if isinstance(post, MentoringAnswer):
        return post.request.place
    return post.place


def _author_of(post) -> User | None:
    if isinstance(post, MentoringAnswer):
        return post.mentor
    if isinstance(post, MentoringRequest):
        return post.asker
    return post.author


def _summary(post) -> str:
    if isinstance(post, MentoringAnswer):
        return html_to_text(post.body)[:80]
    return str(post)[:80]


def report_post(*, post, reporter: User, reason: str, comment: str = "") -> Report:
    """Tell the place's team that `post` breaks the rules. One report per person and post."""
    if reason not in Report.Reason.values:
        raise ValidationError({"reason": _("Choose why you report this.")})
    comment = (comment or "").strip()
    if len(comment) > 1000:
        raise ValidationError({"comment": _("The details are too long: 1000 characters at most.")})
    if post.is_hidden:
        raise ValidationError(_("This post is already hidden."))
    place = moderation_place(post)
    try:
        with transaction.atomic():
            report = Report.objects.create(
                content_type=ContentType.objects.get_for_model(post),
                object_id=post.pk,
                place=place,
                reporter=reporter,
                reason=reason,
                comment=comment,
            )
    except IntegrityError:
        raise ValidationError(_("You have already reported this post.")) from None
    for member in selectors.place_team(place):
        if member.pk == reporter.pk:
            continue
        notify(
            member,
            subject=lambda: _("A post was reported at %(place)s") % {"place": place.name},
            template="community/email/reported.txt",
            context={"post": post, "report": report, "place": place, "url": _queue_url(place)},
            url=_queue_url(place),
        )
    return report


def _queue_url(place: Place) -> str:
    return absolute(reverse("community:moderation", kwargs={"slug": place.slug}))


def _resolve_reports(post, *, actor: User, outcome: str, now) -> int:
    return Report.objects.filter(
        content_type=ContentType.objects.get_for_model(post),
        object_id=post.pk,
        resolved_at__isnull=True,
    ).update(resolved_at=now, resolved_by=actor, outcome=outcome)


@transaction.atomic
def hide_post(*, post, actor: User, reason: str):
    """Hide `post` from everyone but its author and its moderators, telling the author why."""
    place = moderation_place(post)
    if not permissions.can_moderate_place(actor, place):
        raise PermissionError
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Tell the author why the post is hidden.")})
    if len(reason) > 1000:
        raise ValidationError({"reason": _("The reason is too long: 1000 characters at most.")})
    post = type(post).objects.select_for_update().get(pk=post.pk)
    if post.is_hidden:
        raise ValidationError(_("This post is already hidden."))
    now = timezone.now()
    post.hidden_at, post.hidden_by, post.hidden_reason = now, actor, reason
    post.save(update_fields=["hidden_at", "hidden_by", "hidden_reason"])
    _resolve_reports(post, actor=actor, outcome=Report.Outcome.HIDDEN, now=now)
    audit_record(
        actor=actor,
        action="community.hide",
        target=post,
        place=place,
        details={"kind": KIND_OF_MODEL[type(post)], "reason": reason},
    )
    _tell_author_hidden(post, place, reason)
    return post


def _tell_author_hidden(post, place: Place, reason: str) -> None:
    context = {"post": post, "summary": _summary(post), "reason": reason, "place": place}

    def subject():
        return _("Your post was hidden: %(title)s") % {"title": _summary(post)}

    author = _author_of(post)
    if author is not None:
        notify(
            author,
            subject=subject,
            template="community/email/hidden.txt",
            context=context,
            urgent=True,
        )
    elif isinstance(post, MentoringRequest):
        email_person(
            email=post.email,
            language=post.language,
            subject=subject,
            template="community/email/hidden.txt",
            context=context,
        )


@transaction.atomic
def show_post(*, post, actor: User):
    """Show a hidden post again (a mistaken hiding)."""
    place = moderation_place(post)
    if not permissions.can_moderate_place(actor, place):
        raise PermissionError
    post = type(post).objects.select_for_update().get(pk=post.pk)
    if not post.is_hidden:
        raise ValidationError(_("This post is not hidden."))
    post.hidden_at, post.hidden_by, post.hidden_reason = None, None, ""
    post.save(update_fields=["hidden_at", "hidden_by", "hidden_reason"])
    audit_record(
        actor=actor,
        action="community.show",
        target=post,
        place=place,
        details={"kind": KIND_OF_MODEL[type(post)]},
    )
    return post


@transaction.atomic
def keep_post(*, post, actor: User) -> int:
    """Close the reports of a post the team decided to keep. Returns how many were closed."""
    place = moderation_place(post)
    if not permissions.can_moderate_place(actor, place):
        raise PermissionError
    closed = _resolve_reports(post, actor=actor, outcome=Report.Outcome.KEPT, now=timezone.now())
    if closed:
        audit_record(
            actor=actor,
            action="community.keep",
            target=post,
            place=place,
            details={"kind": KIND_OF_MODEL[type(post)], "reports": closed},
        )
    return closed


def open_reports(places: Iterable[Place]):
    return (
        Report.objects.filter(place__in=places, resolved_at__isnull=True)
        .select_related("reporter", "place", "content_type")
        .order_by("created_at", "id")
    )


def reported_posts(reports: Iterable[Report]) -> dict[tuple[int, int], object]:
    """The posts the reports are about, keyed by (content type id, object id): one query per
    kind of post, whatever the number of reports."""
    wanted: dict[int, set[int]] = {}
    for report in reports:
        wanted.setdefault(report.content_type_id, set()).add(report.object_id)
    found = {}
    for type_id, ids in wanted.items():
        model = ContentType.objects.get_for_id(type_id).model_class()
        for post in model.objects.filter(pk__in=ids):
            found[(type_id, post.pk)] = post
    return found


HIDDEN_SHOWN = 50


def hidden_posts(place: Place) -> list:
    """What the team has hidden at the place, most recent first (to show some again)."""
    posts = []
    for model in (SkillPost, Opportunity, Item, Idea, MentoringRequest):
        posts.extend(
            model.objects.filter(place=place, hidden_at__isnull=False).order_by("-hidden_at")[
                :HIDDEN_SHOWN
            ]
        )
    posts.extend(
        MentoringAnswer.objects.filter(request__place=place, hidden_at__isnull=False)
        .select_related("request")
        .order_by("-hidden_at")[:HIDDEN_SHOWN]
    )
    return sorted(posts, key=lambda post: post.hidden_at, reverse=True)[:HIDDEN_SHOWN]
