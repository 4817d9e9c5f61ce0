"""The projects and opportunities board (Cowopy): projects seeking collaborators, calls for
tenders, jobs, internships and calls for volunteers, posted at a place by its people.

- A post belongs to a place; `network_wide` also shows it on the board of each network of that
  place (and on the board of every network, /community/board/). Without it, only the place's
  own board lists it.
- Open = not closed by its author and its deadline (a day, in the place's calendar) not passed.
  Lists show open posts unless asked for closed ones too; replies need an open post.
- Replies are private: only their sender and the post's author read them
  (permissions.replies_visible_to); the author hears of each one (services.notify, not urgent).
- Hidden posts (moderation) disappear from every list and feed, take no reply and can be read
  only by their author and the place's moderators (permissions.can_read_post).
- Posts of an unpublished place are listed only on that place's own board (for its people,
  the pages check it) and left out of the network boards and feeds.

Skill filters compare keys, as the skills exchange does: a vocabulary code
(members.vocabulary.SKILLS) or the folded words of a free tag. `search_text` holds the folded
title, text and skill labels in every interface language, then the keys between bars
("… |web_development|graphic design|"), so that one LIKE finds a skill on SQLite and PostgreSQL.
"""

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from maillage.accounts.models import User
from maillage.core.html import html_to_text
from maillage.core.text import fold
from maillage.members import vocabulary
from maillage.members.permissions import has_role
from maillage.members.vocabulary import skill_words
from maillage.places.models import Network, Place
from maillage.places.permissions import can_edit_place

from . import permissions, services
from .models import REPLY_MAX, Opportunity, Reply
from .selectors import display_name

MAX_SKILLS = 10
TAG_MAX = 60
KINDS = tuple(Opportunity.Kind.values)
UPDATABLE = ("kind", "title", "body", "skills", "deadline", "network_wide")


class BoardConflict(ValidationError):
    """A refusal due to the post's state (closed, past its deadline): the API answers 409."""


# Reading ----------------------------------------------------------------------------------------


def today_at(place: Place, now: dt.datetime | None = None) -> dt.date:
    """Today's date in the place's calendar (a deadline is a day there)."""
    return (now or timezone.now()).astimezone(zoneinfo.ZoneInfo(place.time_zone)).date()


def is_expired(post: Opportunity, now: dt.datetime | None = None) -> bool:
    return post.deadline is not None and post.deadline < today_at(post.place, now)


def is_open(post: Opportunity, now: dt.datetime | None = None) -> bool:
    return post.closed_at is None and not is_expired(post, now)


def _open_filter(posts: QuerySet[Opportunity], now: dt.datetime | None = None) -> Q:
    """Not closed, and no deadline or a deadline not passed in its place's calendar: one
    condition per time zone of the places concerned (a handful), exact on every engine."""
    now = now or timezone.now()
    zones = set(posts.order_by().values_list("place__time_zone", flat=True).distinct())
    dated = Q(pk__in=[])
    for zone in zones:
        local = now.astimezone(zoneinfo.ZoneInfo(zone)).date()
        dated |= Q(place__time_zone=zone, deadline__gte=local)
    return Q(closed_at__isnull=True) & (Q(deadline__isnull=True) | dated)


def _tag_key(words: str) -> str:
    """The key of a free tag: its folded words (never a bar, which separates keys)."""
    return " ".join(fold(words).replace("|", " ").split())[:TAG_MAX]


def skill_key(skill: str) -> str:
    """What a skill filter compares: a vocabulary code as is, other words folded."""
    skill = (skill or "").strip()
    return skill if skill in vocabulary.SKILL_CODES else _tag_key(skill)


def _words(q: str) -> list[str]:
    return [word for word in fold(q).split() if word]


def board_for(
    place: Place | None = None,
    network: Network | None = None,
    kind: str | None = None,
    skill: str | None = None,
    q: str = "",
    include_closed: bool = False,
    *,
    viewer: User | None = None,
    now: dt.datetime | None = None,
) -> QuerySet[Opportunity]:
    """The posts of a board, newest first.

    `place`: every post of that place (the caller checks that the viewer may see the place).
    `network`: the network-wide posts of its published places. Neither: the network-wide posts
    of every published place. Hidden posts are left out, but for their author (`viewer`), who
    still sees theirs marked hidden. Closed and expired posts only with `include_closed`.
    """
    posts = Opportunity.objects.select_related("place", "author")
    if place is not None:
        posts = posts.filter(place=place)
    else:
        posts = posts.filter(network_wide=True, place__is_published=True)
        if network is not None:
            posts = posts.filter(place__networks=network)
    if viewer is not None and viewer.is_authenticated:
        posts = posts.filter(Q(hidden_at__isnull=True) | Q(author=viewer))
    else:
        posts = posts.filter(hidden_at__isnull=True)
    if kind:
        posts = posts.filter(kind=kind)
    if skill and (key := skill_key(skill)):
        posts = posts.filter(search_text__contains=f"|{key}|")
    for word in _words(q):
        posts = posts.filter(search_text__contains=word)
    if not include_closed:
        posts = posts.filter(_open_filter(posts, now))
    return posts.order_by("-created_at", "-id")


def for_place(place: Place, *, limit: int = 5) -> list[Opportunity]:
    """The latest open posts of a place, for its hub page."""
    return list(board_for(place=place)[:limit])


def for_network(network: Network, *, limit: int = 5) -> list[Opportunity]:
    """The latest open network-wide posts of a network's places, for its hub page."""
    return list(board_for(network=network)[:limit])


def can_see_place(user, place: Place) -> bool:
    """A published place, or an unpublished one for its people (a role, or editing it)."""
    return place.is_published or can_edit_place(user, place) or has_role(user, place)


def visible_post(user, pk: int) -> Opportunity | None:
    """The post if `user` may read it: hidden ones for their author and moderators only, those
    of an unpublished place for that place's people only."""
    post = Opportunity.objects.select_related("place", "author").filter(pk=pk).first()
    if post is None or not permissions.can_read_post(user, post):
        return None
    if not can_see_place(user, post.place) and post.author_id != getattr(user, "pk", None):
        return None
    return post


def own_post(user, pk: int) -> Opportunity | None:
    """The post, for its author only (anyone else is answered as if it did not exist)."""
    post = Opportunity.objects.select_related("place", "author").filter(pk=pk).first()
    if post is None or not permissions.can_edit_post(user, post):
        return None
    return post


def skill_labels(post: Opportunity) -> list[dict]:
    """The skills wanted, vocabulary ones in the reader's language, free tags as written."""
    labels = []
    for item in post.skills or []:
        term = vocabulary.skill(item.get("code", "")) if item.get("code") else None
        labels.append(
            {"code": item.get("code", ""), "label": str(term.label) if term else item["label"]}
        )
    return labels


def post_url(post: Opportunity) -> str:
    return reverse("community:board_post", kwargs={"pk": post.pk})


# Writing ----------------------------------------------------------------------------------------


def _clean_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValidationError({"kind": _("Choose what kind of opportunity it is.")})
    return kind


def _clean_skills(codes: Iterable[str], free_tags: Iterable[str]) -> list[dict]:
    """[{"code", "label"}]: vocabulary codes (unknown ones refused), then free tags (folded
    duplicates dropped), at most MAX_SKILLS in all."""
    rows: dict[str, dict] = {}
    for code in codes or ():
        term = vocabulary.skill(code)
        if term is None:
            raise ValidationError({"skills": _("Unknown skill: %(code)s.") % {"code": code}})
        with translation.override(settings.LANGUAGE_CODE):
            rows[code] = {"code": code, "label": str(term.label)}
    for tag in free_tags or ():
        tag = " ".join(str(tag).split())
        if len(tag) > TAG_MAX:
            raise ValidationError(
                {"skills": _("A skill is at most %(max)d characters long.") % {"max": TAG_MAX}}
            )
        key = _tag_key(tag)
        if key and key not in rows and key not in vocabulary.SKILL_CODES:
            rows[key] = {"code": "", "label": tag}
    if len(rows) > MAX_SKILLS:
        raise ValidationError({"skills": _("At most %(n)d skills wanted.") % {"n": MAX_SKILLS}})
    return list(rows.values())


def _clean_deadline(deadline: dt.date | None, place: Place) -> dt.date | None:
    if deadline is None:
        return None
    if deadline < today_at(place):
        raise ValidationError({"deadline": _("The deadline cannot be in the past.")})
    if deadline.year > today_at(place).year + 10:
        raise ValidationError({"deadline": _("The deadline is too far away.")})
    return deadline


def _keys(skills: Sequence[dict]) -> list[str]:
    return [item["code"] or _tag_key(item["label"]) for item in skills]


def search_text_of(post: Opportunity) -> str:
    """Folded title, text and skills (vocabulary skills in every interface language), then the
    skill keys between bars for the skill filter."""
    words = [post.title, html_to_text(post.body)]
    words += skill_words((item.get("code", ""), item["label"]) for item in post.skills or [])
    keys = _keys(post.skills or [])
    text = " ".join(fold(" ".join(words)).replace("|", " ").split())
    return text + (" |" + "|".join(keys) + "|" if keys else "")


@transaction.atomic
def opportunity_create(
    *,
    author: User,
    place: Place,
    kind: str,
    title: str,
    body: str = "",
    skills: Sequence[str] = (),
    free_tags: Sequence[str] = (),
    deadline: dt.date | None = None,
    network_wide: bool = True,
) -> Opportunity:
    """Post an opportunity at `place`: for the place's people (permissions.can_post_at)."""
    if not permissions.can_post_at(author, place):
        raise PermissionError
    post = Opportunity(
        author=author,
        place=place,
        kind=_clean_kind(kind),
        title=services.clean_title(title),
        body=services.clean_body(body, required=True),
        skills=_clean_skills(skills, free_tags),
        deadline=_clean_deadline(deadline, place),
        network_wide=bool(network_wide),
    )
    post.search_text = search_text_of(post)
    post.save()
    return post


_UNSET = object()


@transaction.atomic
def opportunity_update(
    *,
    post: Opportunity,
    actor: User,
    kind: str | None = None,
    title: str | None = None,
    body: str | None = None,
    skills: Sequence[str] | None = None,
    free_tags: Sequence[str] | None = None,
    deadline=_UNSET,
    network_wide: bool | None = None,
) -> Opportunity:
    """Change what is given (None: unchanged; `deadline=None` removes the deadline). The author
    only; a closed post cannot change any more; a hidden one stays hidden."""
    post = Opportunity.objects.select_for_update().select_related("place").get(pk=post.pk)
    if not permissions.can_edit_post(actor, post):
        raise PermissionError
    if post.closed_at is not None:
        raise BoardConflict(_("This post is closed: it can no longer be changed."))
    if kind is not None:
        post.kind = _clean_kind(kind)
    if title is not None:
        post.title = services.clean_title(title)
    if body is not None:
        post.body = services.clean_body(body, required=True)
    if skills is not None or free_tags is not None:
        current = post.skills or []
        if skills is None:
            skills = [item["code"] for item in current if item.get("code")]
        if free_tags is None:
            free_tags = [item["label"] for item in current if not item.get("code")]
        post.skills = _clean_skills(skills, free_tags)
    if deadline is not _UNSET and deadline != post.deadline:
        post.deadline = _clean_deadline(deadline, post.place)
    if network_wide is not None:
        post.network_wide = bool(network_wide)
    post.search_text = search_text_of(post)
    post.save()
    return post


@transaction.atomic
def opportunity_close(*, post: Opportunity, actor: User) -> Opportunity:
    """The author closes their post: it leaves the boards and takes no more replies."""
    post = Opportunity.objects.select_for_update().select_related("place").get(pk=post.pk)
    if not permissions.can_edit_post(actor, post):
        raise PermissionError
    if post.closed_at is not None:
        raise BoardConflict(_("This post is already closed."))
    post.closed_at = timezone.now()
    post.save(update_fields=["closed_at", "updated_at"])
    return post


def _refuse_reply(post: Opportunity) -> None:
    if post.closed_at is not None:
        raise BoardConflict(_("This post is closed: replies are no longer possible."))
    if is_expired(post):
        raise BoardConflict(
            _("The deadline of this post has passed: replies are no longer possible.")
        )


def can_reply(user, post: Opportunity) -> bool:
    """Whether to offer the reply form: someone signed in, not the author, on an open post."""
    return (
        bool(user and user.is_authenticated and user.is_active)
        and post.author_id != user.pk
        and not post.is_hidden
        and is_open(post)
    )


@transaction.atomic
def reply_send(*, post: Opportunity, sender: User, body: str) -> Reply:
    """A private reply to the author of `post`, who is told of it (with a link to the post)."""
    if not (sender and sender.is_authenticated and sender.is_active):
        raise PermissionError
    post = Opportunity.objects.select_for_update().select_related("place", "author").get(pk=post.pk)
    if post.is_hidden:
        raise Opportunity.DoesNotExist
    if post.author_id == sender.pk:
        raise ValidationError(_("This is your own post: replies are for the others."))
    _refuse_reply(post)
    text = services.clean_message(body, limit=REPLY_MAX)
    reply = Reply.objects.create(opportunity=post, sender=sender, body=text)
    url = services.absolute(post_url(post))
    services.notify(
        post.author,
        # Resolved in the author's language (a nameless sender is "a member" in it).
        subject=lambda: (
            _("%(name)s replied to “%(title)s”")
            % {"name": display_name(sender), "title": post.title}
        ),
        template="community/email/board_reply.txt",
        context={"post": post, "reply": reply, "sender": sender, "url": url},
        url=url,
    )
    return reply


def replies_for(user, post: Opportunity) -> QuerySet[Reply]:
    """The replies `user` may read: all for the author, their own for anyone else."""
    return permissions.replies_visible_to(user, post).order_by("created_at", "id")


def posting_places(user) -> QuerySet[Place]:
    """Where `user` may post, by name (for the place choice)."""
    return permissions.postable_places(user).order_by("name", "pk")
