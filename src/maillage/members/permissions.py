"""Who may do what with members, plans, passes and presence. Views, the API and templates ask
only these functions."""

from django.db.models import Exists, OuterRef, Q, QuerySet

from maillage.accounts.models import NetworkRole, PlaceRole, User
from maillage.bookings.permissions import is_place_staff
from maillage.places.models import Network, Place
from maillage.places.permissions import can_edit_place, is_coordinator

from .models import MemberProfile


def _authenticated(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def can_manage_plans(user, place: Place) -> bool:
    """Create, change and withdraw the plans of a place: its managers (and coordinators)."""
    return can_edit_place(user, place)


def can_manage_members(user, place: Place) -> bool:
    """Give plans, check people in and out, read attendance and usage, export: the team."""
    return is_place_staff(user, place)


def has_role(user, place: Place) -> bool:
    return _authenticated(user) and PlaceRole.objects.filter(user=user, place=place).exists()


def can_see_presence(user, place: Place) -> bool:
    """ "Who is here now" is for the members and the team of the place."""
    return can_manage_members(user, place) or has_role(user, place)


def ledger_places(user, network: Network) -> QuerySet[Place]:
    """The places of `network` whose pass ledger this user may read: all of them for its
    coordinators, otherwise those they manage (a place sees what it owes and is owed)."""
    places = Place.objects.filter(networks=network)
    if not _authenticated(user):
        return places.none()
    if user.is_superuser or is_coordinator(user, network):
        return places
    return places.filter(roles__user=user, roles__role=PlaceRole.Role.MANAGER)


def visible_members(viewer) -> QuerySet[User]:
    """The people whose profile `viewer` may read: public profiles; "members" profiles of people
    who share a place with the viewer; any profile of a member of a place the viewer runs; and
    the viewer's own."""
    public = Exists(
        MemberProfile.objects.filter(
            user=OuterRef("pk"), visibility=MemberProfile.Visibility.PUBLIC
        )
    )
    people = User.objects.filter(is_active=True)
    if not _authenticated(viewer):
        return people.filter(public)
    if viewer.is_superuser:
        return people
    their_places = PlaceRole.objects.filter(user=viewer).values("place_id")
    run_places = PlaceRole.objects.filter(user=viewer, role__in=PlaceRole.TEAM).values("place_id")
    coordinated = NetworkRole.objects.filter(user=viewer, role=NetworkRole.Role.COORDINATOR).values(
        "network_id"
    )
    shares_a_place = Exists(
        PlaceRole.objects.filter(user=OuterRef("pk"), place_id__in=their_places)
    ) & Exists(
        MemberProfile.objects.filter(
            user=OuterRef("pk"), visibility=MemberProfile.Visibility.MEMBERS
        )
    )
    in_their_care = Exists(
        PlaceRole.objects.filter(user=OuterRef("pk")).filter(
            Q(place_id__in=run_places) | Q(place__networks__in=coordinated)
        )
    )
    return people.filter(public | shares_a_place | in_their_care | Q(pk=viewer.pk))


def can_see_profile(viewer, member: User) -> bool:
    return visible_members(viewer).filter(pk=member.pk).exists()
