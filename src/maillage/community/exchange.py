"""The skills exchange ("troc de compétences", seed 004): members offer a skill ("I can teach
soldering") or look for one ("I need help with my accounts"); replies go privately to the author;
the author's "thank you" to someone who replied closes the exchange and counts in the place's
statistics. No money involved.

Skills are codes of the shared vocabulary (members.vocabulary.SKILLS) or free tags; matching
compares their `key` (the code, or the folded tag), as for the skills of member profiles.

Matching (`matches_for`)
------------------------
For a post P at place X, the candidates are:
- the open, visible (not hidden) posts of the opposite kind sharing at least one skill key with P,
  not written by P's author;
- for a request only, also the people whose member profile lists one of P's skills, whose profile
  the viewer may read (members.permissions.visible_members), other than P's author, and who have a
  role (PlaceRole) at a place in reach; each is placed at the nearest such place. Someone already
  suggested through one of their posts is not suggested a second time as a person.

Places in reach: X itself (tier 0), and the published places within MATCH_RADIUS_KM of X
(tier 1); farther places are never suggested. Suggestions are ordered by tier, then by the number
of shared skills (most first), then by distance (nearest first), then newest first (a post's
creation, a profile's last change), posts before people at a tie. Only the author of P sees them.

The same rule tells the authors of matching posts about a new post (`skillpost_create` queues the
job community.tasks.tell_matching_authors once the post is committed): at most MAX_MATCH_NOTICES
of them, those who did not turn off `notify_matches`.

Every read of the matching takes a bounded number of queries, whatever the number of candidates.
"""

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import lazy
from django.utils.translation import gettext as _

from maillage.accounts.models import PlaceRole, User
from maillage.core.html import html_to_text
from maillage.core.text import fold
from maillage.members import vocabulary
from maillage.members.models import MemberSkill
from maillage.members.permissions import visible_members
from maillage.members.vocabulary import skill_words
from maillage.places.models import Network, Place
from maillage.places.selectors import Point, with_distance

from . import permissions, selectors, services
from .models import NotificationSettings, Reply, SkillPost, SkillPostSkill, Thanks
from .tasks import tell_matching_authors

MATCH_RADIUS_KM = 50
MAX_SKILLS = 10
MAX_MATCH_NOTICES = 20
THANKS_MAX = 1000

SAME_PLACE, NEARBY = 0, 1


class PostClosed(ValidationError):
    """A reply to a closed post, or closing it again: a state conflict (409 in the API)."""


class AlreadyThanked(ValidationError):
    """The author already thanked this person for this post (409 in the API)."""


# Reading --------------------------------------------------------------------------------------


def skill_label(code: str, label: str) -> str:
    """A skill in the reader's language: vocabulary skills by their code, free tags as written."""
    term = vocabulary.skill(code) if code else None
    return str(term.label) if term else label


def skill_labels(post: SkillPost) -> list[str]:
    """The skills of a post in the reader's language (uses prefetched skills)."""
    return sorted((skill_label(s.code, s.label) for s in post.skills.all()), key=str.casefold)


def post_path(post: SkillPost) -> str:
    return reverse("community:exchange_post", kwargs={"pk": post.pk})


def visible_posts() -> QuerySet[SkillPost]:
    """Posts anyone may see in a list: not hidden, at a published place."""
    return SkillPost.objects.filter(hidden_at__isnull=True, place__is_published=True)


def _listed(queryset: QuerySet[SkillPost]) -> QuerySet[SkillPost]:
    return queryset.select_related("place", "author").prefetch_related("skills")


def can_see(user, post: SkillPost) -> bool:
    """Whether `user` may open `post`: hidden posts for their author and moderators only; posts of
    an unpublished place for its people (and the author)."""
    if not permissions.can_read_post(user, post):
        return False
    return (
        post.place.is_published
        or permissions.can_edit_post(user, post)
        or permissions.can_post_at(user, post.place)
    )


def for_place(place: Place, *, limit: int = 5) -> list[SkillPost]:
    """The latest open, visible offers and requests of a place (its hub page)."""
    posts = SkillPost.objects.filter(place=place, hidden_at__isnull=True, closed_at__isnull=True)
    return list(_listed(posts).order_by("-created_at", "-id")[:limit])


def for_network(network: Network, *, limit: int = 5) -> list[SkillPost]:
    """The latest open, visible offers and requests of the published places of a network."""
    posts = visible_posts().filter(
        closed_at__isnull=True, place__in=Place.objects.filter(networks=network)
    )
    return list(_listed(posts).order_by("-created_at", "-id")[:limit])


@dataclass
class ExchangeFilters:
    """Criteria of the exchange's list (forms.ExchangeFilterForm and the API parse them)."""

    kind: str = ""
    skill: str = ""
    place: str = ""
    network: str = ""
    q: str = ""


def search(filters: ExchangeFilters) -> QuerySet[SkillPost]:
    """The open, visible posts matching every criterion, newest first."""
    posts = visible_posts().filter(closed_at__isnull=True)
    if filters.kind:
        posts = posts.filter(kind=filters.kind)
    if filters.skill:
        key = filters.skill if vocabulary.skill(filters.skill) else fold(filters.skill)[:60]
        posts = posts.filter(id__in=SkillPostSkill.objects.filter(key=key).values("post_id"))
    if filters.place:
        posts = posts.filter(place__slug=filters.place)
    if filters.network:
        posts = posts.filter(place__networks__slug=filters.network)
    for word in fold(filters.q).split():
        posts = posts.filter(search_text__contains=word)
    return _listed(posts).order_by("-created_at", "-id")


def replies_for(user, post: SkillPost) -> QuerySet[Reply]:
    return permissions.replies_visible_to(user, post).order_by("created_at", "id")


def repliers(post: SkillPost) -> list[User]:
    """The people who replied privately to `post` (whom its author may thank), by name."""
    people = User.objects.filter(pk__in=post.replies.values("sender_id"))
    return sorted(people, key=lambda person: (selectors.display_name(person), person.pk))


def thanked_ids(post: SkillPost) -> set[int]:
    return set(post.thanks.values_list("receiver_id", flat=True))


def thanks_count(place: Place, start, end) -> int:
    """How many thanks were given for posts of `place` from `start` (included) to `end`
    (excluded): datetimes, or dates in the place's calendar."""
    zone = zoneinfo.ZoneInfo(place.time_zone)

    def instant(value):
        if isinstance(value, dt.datetime):
            return value
        return dt.datetime.combine(value, dt.time(), tzinfo=zone)

    return Thanks.objects.filter(
        place=place, created_at__gte=instant(start), created_at__lt=instant(end)
    ).count()


# Writing --------------------------------------------------------------------------------------


def _skill_rows(codes: Iterable[str], tags: Iterable[str]) -> list[SkillPostSkill]:
    """The skills of a post, by key (members.services._skill_rows's rule): unknown codes are
    refused, free tags are folded into their key, duplicates dropped; one to MAX_SKILLS."""
    rows: dict[str, SkillPostSkill] = {}
    for code in codes:
        term = vocabulary.skill(code)
        if term is None:
            raise ValidationError({"skills": _("Unknown skill: %(code)s.") % {"code": code}})
        with translation.override(settings.LANGUAGE_CODE):
            rows[code] = SkillPostSkill(code=code, label=str(term.label)[:60], key=code)
    for tag in tags:
        tag = " ".join((tag or "").split())[:60]
        key = fold(tag)[:60]
        if key and key not in rows:
            rows[key] = SkillPostSkill(code="", label=tag, key=key)
    if not rows:
        raise ValidationError({"skills": _("Choose at least one skill, or write your own.")})
    if len(rows) > MAX_SKILLS:
        raise ValidationError({"skills": _("At most %(n)d skills.") % {"n": MAX_SKILLS}})
    return list(rows.values())


def _search_text(title: str, body: str, rows: Iterable[SkillPostSkill]) -> str:
    return fold(
        " ".join([title, html_to_text(body), *skill_words((row.code, row.label) for row in rows)])
    )


def _check_kind(kind: str) -> None:
    if kind not in SkillPost.Kind.values:
        raise ValidationError({"kind": _("Say whether you offer or look for a skill.")})


def _save_skills(post: SkillPost, rows: list[SkillPostSkill]) -> None:
    SkillPostSkill.objects.filter(post=post).delete()
    for row in rows:
        row.post = post
    SkillPostSkill.objects.bulk_create(rows)


@transaction.atomic
def skillpost_create(
    *,
    author: User,
    place: Place,
    kind: str,
    title: str,
    body: str = "",
    skills: Sequence[str] = (),
    free_tags: Sequence[str] = (),
) -> SkillPost:
    """Post an offer or a request at `place` (where the author has a role or is on the team),
    then tell the authors of the matching posts around."""
    if not permissions.can_post_at(author, place):
        raise PermissionError
    _check_kind(kind)
    errors = {}
    cleaned = {}
    for name, clean in (
        ("title", lambda: services.clean_title(title)),
        ("body", lambda: services.clean_body(body)),
        ("skills", lambda: _skill_rows(skills, free_tags)),
    ):
        try:
            cleaned[name] = clean()
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    rows = cleaned["skills"]
    post = SkillPost.objects.create(
        author=author,
        place=place,
        kind=kind,
        title=cleaned["title"],
        body=cleaned["body"],
        search_text=_search_text(cleaned["title"], cleaned["body"], rows),
    )
    _save_skills(post, rows)
    # Ranking the matches and writing their notices would double the time of the request: a job
    # does it once the post is committed (at once, in process, without a job queue).
    transaction.on_commit(lambda: tell_matching_authors.enqueue(post.pk), robust=True)
    return post


@transaction.atomic
def skillpost_update(
    *,
    post: SkillPost,
    actor: User,
    title: str | None = None,
    body: str | None = None,
    skills: Sequence[str] | None = None,
    free_tags: Sequence[str] | None = None,
) -> SkillPost:
    """The author changes their post; what is None stays as it is (skills and free tags are
    replaced together when either is given)."""
    if not permissions.can_edit_post(actor, post):
        raise PermissionError
    post = SkillPost.objects.select_for_update().get(pk=post.pk)
    current = list(post.skills.all())
    errors, rows = {}, current
    try:
        if title is not None:
            post.title = services.clean_title(title)
    except ValidationError as error:
        errors.update(error.message_dict)
    try:
        if body is not None:
            post.body = services.clean_body(body)
    except ValidationError as error:
        errors.update(error.message_dict)
    if skills is not None or free_tags is not None:
        if skills is None:
            skills = [row.code for row in current if row.code]
        if free_tags is None:
            free_tags = [row.label for row in current if not row.code]
        try:
            rows = _skill_rows(skills, free_tags)
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    post.search_text = _search_text(post.title, post.body, rows)
    post.save(update_fields=["title", "body", "search_text", "updated_at"])
    if rows is not current:
        _save_skills(post, rows)
    return post


@transaction.atomic
def skillpost_close(*, post: SkillPost, actor: User) -> SkillPost:
    """The author closes their post: no more replies, no more matches."""
    if not permissions.can_edit_post(actor, post):
        raise PermissionError
    post = SkillPost.objects.select_for_update().get(pk=post.pk)
    if post.closed_at is not None:
        raise PostClosed(_("This post is already closed."))
    post.closed_at = timezone.now()
    post.save(update_fields=["closed_at", "updated_at"])
    return post


@transaction.atomic
def reply_send(*, post: SkillPost, sender: User, body: str) -> Reply:
    """A private message to the author of `post`, who is told by email (or digest)."""
    post = SkillPost.objects.select_for_update().select_related("place", "author").get(pk=post.pk)
    if post.is_hidden:
        raise SkillPost.DoesNotExist
    if post.author_id == sender.pk:
        raise ValidationError(_("This is your own post: you cannot reply to it."))
    if post.closed_at is not None:
        raise PostClosed(_("This post is closed: replies are no longer possible."))
    reply = Reply.objects.create(skill_post=post, sender=sender, body=services.clean_message(body))
    url = services.absolute(post_path(post))
    name = selectors.display_name(sender)
    services.notify(
        post.author,
        subject=lambda: _("%(name)s replied to “%(title)s”") % {"name": name, "title": post.title},
        template="community/email/exchange_reply.txt",
        context={"post": post, "reply": reply, "sender_name": name, "url": url},
        url=url,
    )
    return reply


@transaction.atomic
def thanks_give(*, post: SkillPost, giver: User, receiver: User, message: str = "") -> Thanks:
    """The author of `post` thanks someone who replied to it; the post is closed if it was open.
    Once per post and person."""
    post = SkillPost.objects.select_for_update().select_related("place").get(pk=post.pk)
    if post.is_hidden:
        raise SkillPost.DoesNotExist
    if not permissions.can_edit_post(giver, post):
        raise PermissionError
    message = (message or "").strip()
    if len(message) > THANKS_MAX:
        raise ValidationError(
            {
                "message": _("The message is too long: %(max)d characters at most.")
                % {"max": THANKS_MAX}
            }
        )
    if receiver.pk == giver.pk or not post.replies.filter(sender=receiver).exists():
        raise ValidationError(
            {"receiver": _("You can thank only someone who replied to this post.")}
        )
    try:
        with transaction.atomic():
            thanks = Thanks.objects.create(
                post=post, giver=giver, receiver=receiver, place=post.place, message=message
            )
    except IntegrityError:
        raise AlreadyThanked(
            {"receiver": _("You have already thanked this person for this post.")}
        ) from None
    if post.closed_at is None:
        post.closed_at = timezone.now()
        post.save(update_fields=["closed_at", "updated_at"])
    url = services.absolute(post_path(post))
    name = selectors.display_name(giver)
    services.notify(
        receiver,
        subject=lambda: _("%(name)s thanks you") % {"name": name},
        template="community/email/exchange_thanks.txt",
        context={"post": post, "thanks": thanks, "giver_name": name, "url": url},
        url=url,
    )
    return thanks


# Matching -------------------------------------------------------------------------------------


@dataclass
class Match:
    """A suggestion for a post: another post, or a person (requests only), with where they are,
    how far, and the skills they share with it (in the reader's language)."""

    place: Place
    distance_km: float
    skills: list[str]
    tier: int
    post: SkillPost | None = None
    person: User | None = None
    when: dt.datetime | None = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        return "post" if self.post is not None else "person"

    @property
    def shared(self) -> int:
        return len(self.skills)


def _opposite(kind: str) -> str:
    return SkillPost.Kind.REQUEST if kind == SkillPost.Kind.OFFER else SkillPost.Kind.OFFER


def places_in_reach(place: Place) -> dict[int, float]:
    """Place id → distance in km: `place` itself (0) and the published places within
    MATCH_RADIUS_KM of it."""
    point = Point(place.latitude, place.longitude)
    nearby = with_distance(Place.objects.filter(is_published=True), point, MATCH_RADIUS_KM)
    distances = dict(nearby.values_list("id", "distance_km"))
    distances[place.pk] = 0.0
    return distances


LITERAL_REACH = 300


def _reach_ids(place: Place) -> QuerySet:
    """The ids of the places in reach as a subquery: near a city they are over a thousand, and
    sending them as literal parameters to each query costs more than finding them again."""
    point = Point(place.latitude, place.longitude)
    nearby = with_distance(Place.objects.filter(is_published=True), point, MATCH_RADIUS_KM)
    return Place.objects.filter(Q(pk=place.pk) | Q(pk__in=nearby.values("id"))).values("id")


def _sort_key(candidate: dict):
    when = candidate["when"]
    return (
        candidate["tier"],
        -len(candidate["labels"]),
        round(candidate["distance"], 6),
        -(when.timestamp() if when else 0),
        0 if candidate["kind"] == "post" else 1,
        candidate["id"],
    )


def _post_candidates(
    post: SkillPost, keys: set[str], distances: dict[int, float], reach: list[int] | QuerySet
) -> list[dict]:
    """The open, visible posts of the opposite kind in reach sharing a skill: one query."""
    rows = (
        SkillPostSkill.objects.filter(
            key__in=keys,
            post__kind=_opposite(post.kind),
            post__closed_at__isnull=True,
            post__hidden_at__isnull=True,
            post__place_id__in=reach,
            post__author__is_active=True,
        )
        .exclude(post__author_id=post.author_id)
        .values_list(
            "post_id",
            "key",
            "code",
            "label",
            "post__place_id",
            "post__created_at",
            "post__author_id",
        )
    )
    found: dict[int, dict] = {}
    for post_id, key, code, label, place_id, created_at, author_id in rows:
        candidate = found.setdefault(
            post_id,
            {
                "kind": "post",
                "id": post_id,
                "place_id": place_id,
                "distance": distances[place_id],
                "tier": SAME_PLACE if place_id == post.place_id else NEARBY,
                "when": created_at,
                "author_id": author_id,
                "labels": [],
                "keys": set(),
            },
        )
        candidate["labels"].append(skill_label(code, label))
        candidate["keys"].add(key)
    return list(found.values())


def _person_candidates(
    post: SkillPost,
    keys: set[str],
    distances: dict[int, float],
    reach: list[int] | QuerySet,
    viewer,
    exclude: set[int],
) -> list[dict]:
    """People with one of the skills on their profile, visible to `viewer`, with a role at a
    place in reach (their nearest one): two queries."""
    in_reach = PlaceRole.objects.filter(user=OuterRef("user_id"), place_id__in=reach)
    rows = (
        MemberSkill.objects.filter(key__in=keys, user__in=visible_members(viewer).values("pk"))
        .filter(Exists(in_reach))
        .exclude(user_id=post.author_id)
        .values_list("user_id", "code", "label", "user__profile__updated_at")
    )
    found: dict[int, dict] = {}
    for user_id, code, label, updated_at in rows:
        if user_id in exclude:  # already suggested through one of their posts
            continue
        candidate = found.setdefault(
            user_id, {"kind": "person", "id": user_id, "when": updated_at, "labels": []}
        )
        candidate["labels"].append(skill_label(code, label))
    if not found:
        return []
    nearest: dict[int, int] = {}
    for user_id, place_id in PlaceRole.objects.filter(
        user_id__in=list(found), place_id__in=reach
    ).values_list("user_id", "place_id"):
        best = nearest.get(user_id)
        if best is None or (distances[place_id], place_id) < (distances[best], best):
            nearest[user_id] = place_id
    for user_id, candidate in found.items():
        place_id = nearest[user_id]
        candidate |= {
            "place_id": place_id,
            "distance": distances[place_id],
            "tier": SAME_PLACE if place_id == post.place_id else NEARBY,
        }
    return list(found.values())


def _ranked(post: SkillPost, *, viewer=None, people: bool = False) -> list[dict]:
    keys = set(post.skills.values_list("key", flat=True))
    if not keys:
        return []
    distances = places_in_reach(post.place)
    # A few hundred ids travel well as parameters; beyond, finding them again in SQL is cheaper.
    reach = list(distances) if len(distances) <= LITERAL_REACH else _reach_ids(post.place)
    candidates = _post_candidates(post, keys, distances, reach)
    if people and post.kind == SkillPost.Kind.REQUEST:
        authors = {candidate["author_id"] for candidate in candidates}
        candidates += _person_candidates(post, keys, distances, reach, viewer, authors)
    for candidate in candidates:
        candidate["labels"].sort(key=str.casefold)
    return sorted(candidates, key=_sort_key)


def matches_for(post: SkillPost, *, viewer, limit: int = 10) -> list[Match]:
    """The best suggestions for `post`, best first (see the module's docstring for the rule)."""
    chosen = _ranked(post, viewer=viewer, people=True)[:limit]
    post_ids = [c["id"] for c in chosen if c["kind"] == "post"]
    person_ids = [c["id"] for c in chosen if c["kind"] == "person"]
    posts = (
        SkillPost.objects.select_related("author").prefetch_related("skills").in_bulk(post_ids)
        if post_ids
        else {}
    )
    people = User.objects.in_bulk(person_ids) if person_ids else {}
    places = Place.objects.in_bulk({c["place_id"] for c in chosen}) if chosen else {}
    matches = []
    for candidate in chosen:
        place = places[candidate["place_id"]]
        found = posts.get(candidate["id"]) if candidate["kind"] == "post" else None
        if found is not None:
            found.place = place
        matches.append(
            Match(
                place=place,
                distance_km=candidate["distance"],
                skills=candidate["labels"],
                tier=candidate["tier"],
                post=found,
                person=people.get(candidate["id"]) if candidate["kind"] == "person" else None,
                when=candidate["when"],
            )
        )
    return matches


def matching_authors_told(post_id: int) -> int:
    """Tell the authors of the open posts matching a new one (at most MAX_MATCH_NOTICES people,
    best matches first, never its author, only those who want to hear about matches), unless
    the post was closed or hidden before this ran. Returns how many people were told."""
    post = (
        SkillPost.objects.filter(pk=post_id, closed_at__isnull=True, hidden_at__isnull=True)
        .select_related("place", "author")
        .first()
    )
    if post is None:
        return 0
    rows = list(post.skills.all())
    candidates = _ranked(post)
    authors: list[int] = []
    best: dict[int, dict] = {}
    for candidate in candidates:
        author_id = candidate["author_id"]
        if author_id not in best:
            best[author_id] = candidate
            authors.append(author_id)
    if not authors:
        return 0
    muted = set(
        NotificationSettings.objects.filter(user_id__in=authors, notify_matches=False).values_list(
            "user_id", flat=True
        )
    )
    chosen = [author_id for author_id in authors if author_id not in muted][:MAX_MATCH_NOTICES]
    people = User.objects.filter(pk__in=chosen, is_active=True).in_bulk()
    theirs = SkillPost.objects.in_bulk([best[author_id]["id"] for author_id in chosen])
    url = services.absolute(post_path(post))
    told = 0
    for author_id in chosen:
        person = people.get(author_id)
        if person is None:
            continue
        told += 1
        candidate = best[author_id]
        their_post = theirs[candidate["id"]]
        # Lazy: the email names the skills in its recipient's language.
        shared = _lazy_join([_lazy_label(row) for row in rows if row.key in candidate["keys"]])
        services.notify(
            person,
            subject=_match_subject(post),
            template="community/email/exchange_match.txt",
            context={
                "post": post,
                "their_post": their_post,
                "shared": shared,
                "distance_km": candidate["distance"],
                "same_place": candidate["tier"] == SAME_PLACE,
                "url": url,
            },
            url=url,
        )
    return told


def _join(labels) -> str:
    return ", ".join(str(label) for label in labels)


_lazy_join = lazy(_join, str)


def _lazy_label(row: SkillPostSkill):
    term = vocabulary.skill(row.code) if row.code else None
    return term.label if term else row.label


def _match_subject(post: SkillPost):
    if post.kind == SkillPost.Kind.OFFER:
        return lambda: (
            _("Someone offers what you are looking for: %(title)s") % {"title": post.title}
        )
    return lambda: _("Someone is looking for what you offer: %(title)s") % {"title": post.title}
