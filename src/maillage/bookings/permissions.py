"""Who may do what with resources and bookings. Views, the API and templates ask only these."""

from django.db.models import Q, QuerySet

from maillage.accounts.models import PlaceRole
from maillage.places.models import Place
from maillage.places.permissions import can_edit_place

from .models import Booking, Resource


def _authenticated(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def can_manage_resources(user, place: Place) -> bool:
    """Create and edit resources, validate trainings, decide on pending bookings."""
    return can_edit_place(user, place)


def is_place_staff(user, place: Place) -> bool:
    """Managers and staff of the place (and whoever may edit it): they book on behalf of members,
    see every booking's details and cancel past the deadline."""
    if not _authenticated(user):
        return False
    if can_edit_place(user, place):
        return True
    return PlaceRole.objects.filter(
        user=user, place=place, role__in=[PlaceRole.Role.MANAGER, PlaceRole.Role.STAFF]
    ).exists()


def is_member(user, place: Place) -> bool:
    return _authenticated(user) and PlaceRole.objects.filter(user=user, place=place).exists()


def bookable_resources(user) -> QuerySet[Resource]:
    """Active resources of published places that this user may book (audience only: trainings and
    hours are checked per slot)."""
    resources = Resource.objects.filter(is_active=True, place__is_published=True)
    if not _authenticated(user):
        return resources.filter(audience=Resource.Audience.PUBLIC)
    if user.is_superuser:
        return resources
    # A subquery, not a join on the roles: no duplicate rows, hence no DISTINCT to sort away.
    their_places = PlaceRole.objects.filter(user=user).values("place_id")
    return resources.filter(Q(audience=Resource.Audience.PUBLIC) | Q(place_id__in=their_places))


def can_see_details(user, booking: Booking) -> bool:
    """The title and booker of a private booking are for its booker and the place's staff."""
    if not booking.private:
        return True
    return _authenticated(user) and (
        booking.booker_id == user.pk or is_place_staff(user, booking.resource.place)
    )


def details_visible(user, place: Place):
    """`can_see_details` for the many bookings of one place on a calendar or a week grid: whether
    the user is the place's staff is asked once, not once per private booking."""
    if is_place_staff(user, place):
        return lambda booking: True
    return lambda booking: (
        not booking.private or (_authenticated(user) and booking.booker_id == user.pk)
    )


def can_cancel(user, booking: Booking) -> bool:
    return _authenticated(user) and (
        booking.booker_id == user.pk or is_place_staff(user, booking.resource.place)
    )


def can_decide(user, booking: Booking) -> bool:
    return can_manage_resources(user, booking.resource.place)
