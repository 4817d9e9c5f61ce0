"""Who may do what in the agenda. Views, the API and templates ask only these functions."""

from django.db.models import Q, QuerySet

from maillage.accounts.models import NetworkRole, PlaceRole
from maillage.bookings.permissions import is_place_staff
from maillage.places.models import Network, Place
from maillage.places.permissions import is_coordinator

from .models import Event, Registration


def _authenticated(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def can_manage_events(user, *, place: Place | None = None, network: Network | None = None) -> bool:
    """Publish and run events: the staff of the place (managers and staff, coordinators of its
    networks), or for a network's own events, its coordinators."""
    if place is not None:
        return is_place_staff(user, place)
    return network is not None and is_coordinator(user, network)


def can_manage_event(user, event: Event) -> bool:
    """Edit, cancel, see the participants, message them, check them in, export the list."""
    if event.place_id:
        return is_place_staff(user, event.place)
    return is_coordinator(user, event.network)


def visible_events(user) -> QuerySet[Event]:
    """Published and cancelled events of published places and of networks, for everyone; drafts
    for those who manage them too (a draft is answered as if it did not exist to others)."""
    public = Q(place__isnull=True) | Q(place__is_published=True)
    public &= Q(status__in=[Event.Status.PUBLISHED, Event.Status.CANCELLED])
    if not _authenticated(user):
        return Event.objects.filter(public)
    if user.is_superuser:
        return Event.objects.all()
    staff_places = PlaceRole.objects.filter(
        user=user, role__in=[PlaceRole.Role.MANAGER, PlaceRole.Role.STAFF]
    ).values("place_id")
    coordinated = NetworkRole.objects.filter(user=user, role=NetworkRole.Role.COORDINATOR).values(
        "network_id"
    )
    # Subqueries, not joins: no duplicate rows to remove.
    their_places = Place.objects.filter(
        Q(pk__in=staff_places) | Q(networks__in=coordinated)
    ).values("pk")
    managed = Q(place_id__in=their_places) | Q(network_id__in=coordinated)
    return Event.objects.filter(public | managed)


def can_see_event(user, event: Event) -> bool:
    if event.status != Event.Status.DRAFT and (event.place_id is None or event.place.is_published):
        return True
    return _authenticated(user) and can_manage_event(user, event)


def can_cancel_registration(user, registration: Registration) -> bool:
    """Its owner and the event's managers (anyone else needs the secret link of its emails)."""
    if not _authenticated(user):
        return False
    return registration.user_id == user.pk or can_manage_event(user, registration.event)
