"""Reads shared by the parts of the community exchange."""

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from maillage.accounts.models import NetworkRole, PlaceRole, User
from maillage.members.kiosk_queries import short_name
from maillage.places.models import Place


def place_team(place: Place) -> QuerySet[User]:
    """Who moderates a place's posts and hears about its reports: its managers and staff, or,
    when it has none, the coordinators of its networks."""
    team = User.objects.filter(
        is_active=True, place_roles__place=place, place_roles__role__in=PlaceRole.TEAM
    ).distinct()
    if team.exists():
        return team
    return User.objects.filter(
        is_active=True,
        network_roles__role=NetworkRole.Role.COORDINATOR,
        network_roles__network__places=place,
    ).distinct()


def display_name(user: User | None) -> str:
    """How a person is named to others: first name and initial ("Catherine V."), never their
    email address."""
    if user is None or not user.full_name.strip():
        return _("a member")
    return short_name(user.full_name)
