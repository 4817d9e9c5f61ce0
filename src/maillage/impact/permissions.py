"""Who may read the statistics (pages, CSV, API, funders' reports): a place's team (its managers
and staff) and the coordinators of its networks for a place; the coordinators of a network for
the network. A network that publishes its statistics (`Network.publishes_statistics`) makes them
open data: its figures, and those of its published places, are then public. Others: 404 (or the
log-in page for anonymous visitors)."""

from maillage.bookings.permissions import is_place_staff
from maillage.places.models import Network, Place
from maillage.places.permissions import coordinated_networks, is_coordinator


def is_published(place: Place) -> bool:
    return place.is_published and place.networks.filter(publishes_statistics=True).exists()


def can_see_place(user, place: Place) -> bool:
    return is_published(place) or is_place_staff(user, place)


def can_see_network(user, network: Network) -> bool:
    return network.publishes_statistics or is_coordinator(user, network)


def networks_of(user, place: Place):
    """The networks of `place` whose statistics this user may read too."""
    return coordinated_networks(user).filter(places=place).order_by("name")
