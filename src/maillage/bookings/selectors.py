"""Reads on resources and bookings: rules a booking is checked against, trainings, lists."""

import datetime as dt

from django.db.models import Q, QuerySet

from maillage.accounts.models import PlaceRole, User
from maillage.places.hours import HoursRule, SeasonRule
from maillage.places.models import Place
from maillage.places.selectors import place_hours

from .models import Resource, TrainingValidation


def place_rules(place: Place) -> tuple[list[HoursRule], list[SeasonRule]]:
    """The opening hours and seasons of a place as rules (uses prefetched rows when present)."""
    return place_hours(place)


def place_managers(place: Place) -> QuerySet[User]:
    return User.objects.filter(
        place_roles__place=place, place_roles__role=PlaceRole.Role.MANAGER, is_active=True
    )


def valid_trainings(user: User, on: dt.date) -> QuerySet[TrainingValidation]:
    return TrainingValidation.objects.filter(user=user).filter(
        Q(expires_on__isnull=True) | Q(expires_on__gte=on)
    )


def holds_training(user: User, resource: Resource, *, on: dt.date) -> bool:
    """Whether `user` may use `resource`'s machine on `on`: a validation for its machine type, still
    valid that day, given by the resource's place or by any place sharing a network with it."""
    if not resource.training:
        return True
    if not (user and user.is_authenticated):
        return False
    place = resource.place
    return (
        valid_trainings(user, on)
        .filter(machine_type=resource.training)
        .filter(Q(place=place) | Q(place__networks__places=place))
        .exists()
    )
