"""The idea box of a place: anyone with an account posts an idea for the place, the people of
the place vote for it (once each), its team answers and marks it planned, done or declined.

The `votes` counter of an idea always equals its number of `IdeaVote` rows: a vote inserts its
row (the unique constraint refuses a second one) and moves the counter by a conditional UPDATE
with F() in the same transaction, so simultaneous votes never lose or double a count.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from maillage.accounts.models import User
from maillage.core.audit import audit_record
from maillage.core.html import html_to_text
from maillage.places.models import Place

from . import permissions, selectors, services
from .models import Idea, IdeaVote

# Statuses whose votes are still open: a done or declined idea keeps its count as it was.
VOTABLE = (Idea.Status.NEW, Idea.Status.PLANNED)
ORDERS = ("votes", "recent")
# With a context: "new" and "done" are short words used elsewhere with other meanings.
STATUS_LABELS = {
    Idea.Status.NEW: pgettext_lazy("idea status", "new"),
    Idea.Status.PLANNED: pgettext_lazy("idea status", "planned"),
    Idea.Status.DONE: pgettext_lazy("idea status", "done"),
    Idea.Status.DECLINED: pgettext_lazy("idea status", "declined"),
}


def idea_url(idea: Idea) -> str:
    """The absolute address of the idea's page (emails, the API)."""
    return services.absolute(reverse("community:idea", kwargs={"pk": idea.pk}))


def _closed_message(idea: Idea) -> str:
    if idea.status == Idea.Status.DONE:
        return _("This idea is done: votes are closed.")
    return _("This idea was declined: votes are closed.")


# Posting ---------------------------------------------------------------------------------------


@transaction.atomic
def idea_post(*, author: User, place: Place, title: str, body: str) -> Idea:
    """Post an idea for `place`. Anyone with an account may (they need no role there); the
    place must be in the directory. The place's team hears of it (not urgently)."""
    if not permissions.can_post_idea(author):
        raise PermissionError
    if not place.is_published:
        raise ValidationError({"place": _("This place does not take ideas.")})
    errors = {}
    try:
        title = services.clean_title(title)
    except ValidationError as error:
        errors.update(error.message_dict)
    try:
        body = services.clean_body(body, required=True)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    idea = Idea.objects.create(author=author, place=place, title=title, body=body)
    url = idea_url(idea)
    for member in selectors.place_team(place):
        if member.pk == author.pk:
            continue
        services.notify(
            member,
            subject=lambda: (
                _("A new idea for %(place)s: %(title)s")
                % {"place": place.name, "title": idea.title}
            ),
            template="community/email/ideas_new.txt",
            context={
                "idea": idea,
                "place": place,
                "author_name": selectors.display_name(author),
                "body_text": html_to_text(idea.body),
                "url": url,
            },
            url=url,
        )
    return idea


# Votes -----------------------------------------------------------------------------------------


@transaction.atomic
def idea_vote(*, idea: Idea, user: User) -> IdeaVote:
    """`user` votes for `idea`, once. The people of the idea's place vote (its community and
    its team, coordinators too); the author may vote for their own idea like anyone of the
    place (posting is not voting: an idea starts at 0 votes).

    Raises Idea.DoesNotExist for a hidden idea (nobody votes on what the team took down),
    PermissionError for someone who may not vote there, ValidationError (code "closed") for a
    done or declined idea and (code "already_voted") for a second vote.
    """
    if idea.is_hidden:
        raise Idea.DoesNotExist
    if not permissions.can_vote(user, idea):
        raise PermissionError
    if idea.status not in VOTABLE:
        raise ValidationError(_closed_message(idea), code="closed")
    try:
        with transaction.atomic():
            vote = IdeaVote.objects.create(idea=idea, user=user)
    except IntegrityError:
        raise ValidationError(
            _("You have already voted for this idea."), code="already_voted"
        ) from None
    # Counted only while the idea is still open and shown: an answer or a hiding that committed
    # since `idea` was read makes this update touch nothing, and the vote is rolled back.
    counted = Idea.objects.filter(pk=idea.pk, status__in=VOTABLE, hidden_at__isnull=True).update(
        votes=F("votes") + 1
    )
    if not counted:
        _refuse_changed(idea)
    return vote


@transaction.atomic
def idea_unvote(*, idea: Idea, user: User) -> bool:
    """Take back `user`'s vote for `idea`. Returns False when they had not voted.

    Same refusals as idea_vote: a hidden idea does not exist, only the people of the place
    vote, and the votes of a done or declined idea stay as they were.
    """
    if idea.is_hidden:
        raise Idea.DoesNotExist
    if not permissions.can_vote(user, idea):
        raise PermissionError
    if idea.status not in VOTABLE:
        raise ValidationError(_closed_message(idea), code="closed")
    deleted, _rows = IdeaVote.objects.filter(idea=idea, user=user).delete()
    if not deleted:
        return False
    counted = Idea.objects.filter(pk=idea.pk, status__in=VOTABLE, hidden_at__isnull=True).update(
        votes=F("votes") - 1
    )
    if not counted:
        _refuse_changed(idea)
    return True


def _refuse_changed(idea: Idea) -> None:
    """The idea was answered or hidden between reading it and counting: refuse (the caller's
    transaction rolls the vote back)."""
    fresh = Idea.objects.get(pk=idea.pk)
    if fresh.is_hidden:
        raise Idea.DoesNotExist
    raise ValidationError(_closed_message(fresh), code="closed")


def has_voted(user, idea: Idea) -> bool:
    return bool(
        user and user.is_authenticated and IdeaVote.objects.filter(idea=idea, user=user).exists()
    )


def voted_ids(user, ideas) -> set[int]:
    """Which of `ideas` `user` voted for (one query for a whole page of ideas)."""
    if not (user and user.is_authenticated):
        return set()
    return set(
        IdeaVote.objects.filter(user=user, idea__in=[idea.pk for idea in ideas]).values_list(
            "idea_id", flat=True
        )
    )


# The team's answer ------------------------------------------------------------------------------


@transaction.atomic
def idea_answer(*, idea: Idea, actor: User, status: str, answer: str) -> Idea:
    """The place's team answers an idea and marks it planned, done or declined (or back to new).

    A declined idea needs an answer saying why. The author and the voters are told (not
    urgently), each in their language; the answer is audited.
    """
    if not permissions.can_answer_idea(actor, idea):
        raise PermissionError
    if status not in Idea.Status.values:
        raise ValidationError({"status": _("Choose planned, done, declined or new.")})
    answer = services.clean_body(answer, field="answer")
    if status == Idea.Status.DECLINED and not html_to_text(answer):
        raise ValidationError({"answer": _("Explain why the idea is declined.")})
    idea = Idea.objects.select_for_update().select_related("place").get(pk=idea.pk)
    if idea.is_hidden:
        raise ValidationError(_("This idea is hidden: show it again before answering it."))
    previous = idea.status
    idea.status = status
    idea.answer = answer
    answered = bool(html_to_text(answer)) or status != Idea.Status.NEW
    idea.answered_at = timezone.now() if answered else None
    idea.answered_by = actor if answered else None
    idea.save(update_fields=["status", "answer", "answered_at", "answered_by", "updated_at"])
    audit_record(
        actor=actor,
        action="community.idea_answer",
        target=idea,
        place=idea.place,
        details={"from": previous, "to": status},
    )
    if answered:
        _tell_answer(idea, actor)
    return idea


def _tell_answer(idea: Idea, actor: User) -> None:
    url = idea_url(idea)
    context = {
        "idea": idea,
        "place": idea.place,
        "url": url,
        "answer_text": html_to_text(idea.answer),
    }
    voters = User.objects.filter(
        is_active=True, pk__in=IdeaVote.objects.filter(idea=idea).values("user_id")
    ).exclude(pk__in=[actor.pk, idea.author_id])
    author = idea.author if idea.author.is_active and idea.author_id != actor.pk else None
    if author is not None:
        services.notify(
            author,
            subject=lambda: _("Your idea got an answer: %(title)s") % {"title": idea.title},
            template="community/email/ideas_answer.txt",
            context={**context, "is_author": True},
            url=url,
        )
    for voter in voters:
        services.notify(
            voter,
            subject=lambda: (
                _("An idea you voted for got an answer: %(title)s") % {"title": idea.title}
            ),
            template="community/email/ideas_answer.txt",
            context={**context, "is_author": False},
            url=url,
        )


# Reads -----------------------------------------------------------------------------------------


def status_label(status: str) -> str:
    """The status as a badge says it ("planned"...)."""
    return str(STATUS_LABELS.get(status, status))


def visible_to(user, place: Place) -> Q:
    """Ideas of `place` `user` may read: every one for its team, shown ones and their own
    hidden ones for anybody else."""
    if permissions.can_moderate_place(user, place):
        return Q()
    if user is not None and user.is_authenticated:
        return Q(hidden_at__isnull=True) | Q(author=user)
    return Q(hidden_at__isnull=True)


def ideas_for(
    place: Place, *, user=None, status: str | None = None, order: str = "votes"
) -> QuerySet[Idea]:
    """The idea box of `place`: most voted first (then newest), or newest first with
    order="recent"; `status` keeps only one status. Hidden ideas are left out but for the
    place's team and their authors."""
    ideas = (
        Idea.objects.filter(place=place)
        .filter(visible_to(user, place))
        .select_related("author", "answered_by", "place")
    )
    if status:
        ideas = ideas.filter(status=status)
    if order == "recent":
        return ideas.order_by("-created_at", "-id")
    return ideas.order_by("-votes", "-created_at", "-id")


def for_place(place: Place, *, limit: int = 5) -> list[Idea]:
    """The most supported open ideas (new or planned, shown) of a place, for its hub page."""
    return list(
        Idea.objects.filter(place=place, hidden_at__isnull=True, status__in=VOTABLE)
        .select_related("author")
        .order_by("-votes", "-created_at", "-id")[:limit]
    )


def readable_idea(user, pk: int) -> Idea | None:
    """The idea `pk` if `user` may read it: its place is published and it is shown, or hidden
    but theirs or their place's. None otherwise (answered as "not found")."""
    idea = (
        Idea.objects.select_related("place", "author", "answered_by", "hidden_by")
        .filter(pk=pk, place__is_published=True)
        .first()
    )
    if idea is None or not permissions.can_read_post(user, idea):
        return None
    return idea
