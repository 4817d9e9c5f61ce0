"""Who may do what in the community exchange. Views, the API and templates ask only these
functions.

- Posting an offer, a request, an opportunity or a give-box item at a place: people with a role
  there (its community and team). An idea: anyone with an account. A mentoring question: anyone.
- Moderating (hiding, showing again, resolving reports, confirming a minor's consent, connecting
  a mentor): the team of the post's place, and coordinators of its networks. Never the team of
  another place.
- Private replies: read by their sender and by the author of the post, nobody else.
"""

import copy

from django.db.models import Q, QuerySet

from maillage.accounts.models import NetworkRole, PlaceRole
from maillage.bookings.permissions import is_place_staff
from maillage.places.models import Place
from maillage.places.permissions import can_edit_place

from .models import Idea, Item, MentoringAnswer, MentoringRequest, Reply


def _authenticated(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def is_community_member(user, place: Place) -> bool:
    return _authenticated(user) and (
        user.is_superuser or PlaceRole.objects.filter(user=user, place=place).exists()
    )


def can_post_at(user, place: Place) -> bool:
    """Offers, requests, opportunities and give-box items are posted by the place's people."""
    return is_community_member(user, place) or is_place_staff(user, place)


def postable_places(user) -> QuerySet[Place]:
    """The places where `user` may post (for the place choice of the forms)."""
    if not _authenticated(user):
        return Place.objects.none()
    if user.is_superuser:
        return Place.objects.all()
    coordinated = NetworkRole.objects.filter(user=user, role=NetworkRole.Role.COORDINATOR).values(
        "network_id"
    )
    return Place.objects.filter(Q(roles__user=user) | Q(networks__in=coordinated)).distinct()


def can_post_idea(user) -> bool:
    return _authenticated(user)


def can_vote(user, idea: Idea) -> bool:
    """Members of the place vote on its ideas (the team too); once each."""
    return is_community_member(user, idea.place) or is_place_staff(user, idea.place)


def can_moderate_place(user, place: Place) -> bool:
    """The place's managers and staff, coordinators of its networks, superusers."""
    return is_place_staff(user, place)


def can_moderate(user, post) -> bool:
    return can_moderate_place(user, post.place)


def can_answer_idea(user, idea: Idea) -> bool:
    return can_moderate_place(user, idea.place)


def can_edit_post(user, post) -> bool:
    """Authors change and close their own posts (hidden ones stay hidden)."""
    return _authenticated(user) and post.author_id == user.pk


def can_read_post(user, post) -> bool:
    """A hidden post is gone for everyone but its author and its moderators."""
    if not post.is_hidden:
        return True
    return can_edit_post(user, post) or can_moderate(user, post)


def can_read_reply(user, reply: Reply) -> bool:
    return _authenticated(user) and user.pk in (reply.sender_id, reply.target.author_id)


def replies_visible_to(user, post) -> QuerySet[Reply]:
    """The private replies of a post `user` may read: all of them for its author, their own for
    anyone else (even a moderator)."""
    replies = post.replies.select_related("sender")
    if not _authenticated(user):
        return replies.none()
    if post.author_id == user.pk:
        return replies
    return replies.filter(sender=user)


def moderated_places(user) -> QuerySet[Place]:
    """The places whose reports and posts `user` moderates."""
    if not _authenticated(user):
        return Place.objects.none()
    if user.is_superuser:
        return Place.objects.all()
    coordinated = NetworkRole.objects.filter(user=user, role=NetworkRole.Role.COORDINATOR).values(
        "network_id"
    )
    return Place.objects.filter(
        Q(roles__user=user, roles__role__in=PlaceRole.TEAM) | Q(networks__in=coordinated)
    ).distinct()


# Mentoring ------------------------------------------------------------------------------------


def is_mentor(user) -> bool:
    return _authenticated(user) and hasattr(user, "mentor") and user.mentor.is_active


def can_become_mentor(user) -> bool:
    """Mentors are people of the network's places: someone the teams can reach."""
    return _authenticated(user) and (
        user.is_superuser or PlaceRole.objects.filter(user=user).exists()
    )


def mentor_places(user) -> QuerySet[Place]:
    """The places whose open requests a mentor sees: every place of the networks of the places
    where they have a role (a place in no network: that place only)."""
    if not _authenticated(user):
        return Place.objects.none()
    own = PlaceRole.objects.filter(user=user).values("place_id")
    own_networks = Place.networks.through.objects.filter(place_id__in=own).values("network_id")
    return Place.objects.filter(Q(pk__in=own) | Q(networks__in=own_networks)).distinct()


def can_see_request(user, request: MentoringRequest) -> bool:
    """The asker, the place's team, and active mentors of the request's fields once it is open
    (mentors never see the asker's email: the team connects them)."""
    if not _authenticated(user):
        return False
    if request.asker_id == user.pk or can_moderate_place(user, request.place):
        return True
    if request.is_hidden or request.status not in (
        MentoringRequest.Status.OPEN,
        MentoringRequest.Status.CONNECTED,
    ):
        return request.mentor_id == user.pk
    if request.mentor_id == user.pk:
        return True
    if not is_mentor(user):
        return False
    if not mentor_places(user).filter(pk=request.place_id).exists():
        return False
    wanted = set(request.fields)
    return not wanted or bool(wanted & set(user.mentor.fields))


def can_answer_request(user, request: MentoringRequest) -> bool:
    return (
        is_mentor(user)
        and request.status in (MentoringRequest.Status.OPEN, MentoringRequest.Status.CONNECTED)
        and not request.is_hidden
        and can_see_request(user, request)
    )


def can_moderate_request(user, request: MentoringRequest) -> bool:
    return can_moderate_place(user, request.place)


def can_read_any(user, post) -> bool:
    """Whether `user` may read a post of any part (reports and moderation ask this)."""
    if isinstance(post, MentoringAnswer):
        return can_see_request(user, post.request) and (
            not post.is_hidden or can_moderate_request(user, post.request)
        )
    if isinstance(post, MentoringRequest):
        return can_see_request(user, post)
    return can_read_post(user, post)


# The give-box ------------------------------------------------------------------------------

# What the owner of an item may do to its status (givebox.item_status).
ITEM_ACTIONS = ("reserve", "release", "lend", "returned", "gone")


def place_visible(user, place: Place) -> bool:
    """A published place, or an unpublished one for its people and those who manage it."""
    if place.is_published or can_edit_place(user, place):
        return True
    return bool(
        user and user.is_authenticated and PlaceRole.objects.filter(user=user, place=place).exists()
    )


def can_read_item(user, item: Item) -> bool:
    """The item's page: hidden items only for their author and moderators (can_read_post),
    items of an unpublished place only for the people who see that place."""
    return can_read_post(user, item) and place_visible(user, item.place)


def can_change_item_status(user, item: Item, action: str) -> bool:
    """The author changes the status of their item; the place's team may only mark it gone."""
    if can_edit_post(user, item):
        return action in ITEM_ACTIONS
    return action == "gone" and can_moderate_place(user, item.place)


# Mentoring, continued -------------------------------------------------------------------------


def can_close_request(user, mentoring: MentoringRequest) -> bool:
    """The asker (their account) and the place's team close a request."""
    return bool(
        user is not None
        and user.is_authenticated
        and (mentoring.asker_id == user.pk or can_moderate_request(user, mentoring))
    )


def sees_asker_email(user, mentoring: MentoringRequest) -> bool:
    """The asker's address: for the place's team, the mentor they were put in touch with and the
    asker; never for the other mentors."""
    if not (user and user.is_authenticated):
        return False
    if can_moderate_request(user, mentoring) or mentoring.asker_id == user.pk:
        return True
    return mentoring.status == MentoringRequest.Status.CONNECTED and mentoring.mentor_id == user.pk


def knew_request(user, mentoring: MentoringRequest) -> bool:
    """Whether `user` sees `mentoring`, or saw it before it was closed (a mentor answering from
    a page loaded earlier is told it is closed, not that it does not exist)."""
    if can_see_request(user, mentoring):
        return True
    if mentoring.status != MentoringRequest.Status.CLOSED:
        return False
    as_open = copy.copy(mentoring)
    as_open.status = MentoringRequest.Status.OPEN
    return can_see_request(user, as_open)


# The idea box ---------------------------------------------------------------------------------


def can_vote_at(user, place: Place) -> bool:
    """Whether `user` may vote on the ideas of `place` (for the buttons of a whole box):
    permissions.can_vote asks only the idea's place."""
    return can_vote(user, Idea(place=place))
