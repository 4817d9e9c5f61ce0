"""Who may export a place's archive and download it: the managers of the place and the
coordinators of its networks (and superusers), as for every other management page. Anybody else
is answered as if the place did not exist."""

from maillage.places.models import Place
from maillage.places.permissions import can_edit_place


def can_export_place(user, place: Place) -> bool:
    return can_edit_place(user, place)
