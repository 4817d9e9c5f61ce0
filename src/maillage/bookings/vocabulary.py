"""Vocabularies of bookable resources: what a resource offers, its character, machine types.

Services reuse the directory's shared vocabulary (places.vocabulary.SERVICES) so that "visio" means
the same on a place and on one of its rooms. Character tags feed the "charm" ranking of the
availability search; machine types name the training a member must hold to book a machine, and a
training validated in one place of a network counts in all of them.
"""

from django.utils.translation import gettext_lazy as _

from maillage.places.vocabulary import SERVICES, Term

CHARACTER: tuple[Term, ...] = (
    Term("view", _("Beautiful view")),
    Term("garden", _("Garden or terrace")),
    Term("historic_building", _("Historic building")),
    Term("natural_light", _("Natural light")),
    Term("quiet", _("Quiet")),
    Term("fireplace", _("Fireplace or stove")),
    Term("countryside", _("In the countryside")),
    Term("wood_and_stone", _("Wood and stone")),
    Term("art", _("Works of art")),
    Term("cosy", _("Cosy")),
)

MACHINE_TYPES: tuple[Term, ...] = (
    Term("laser_cutter", _("Laser cutter")),
    Term("printer_3d", _("3D printer")),
    Term("cnc_router", _("CNC router")),
    Term("vinyl_cutter", _("Vinyl cutter")),
    Term("embroidery_machine", _("Embroidery machine")),
    Term("sewing_machine", _("Sewing machine")),
    Term("heat_press", _("Heat press")),
    Term("soldering_station", _("Soldering station")),
    Term("wood_lathe", _("Wood lathe")),
    Term("table_saw", _("Table saw")),
    Term("thermoformer", _("Vacuum former")),
    Term("sound_studio", _("Sound recording studio")),
)

SERVICE_CODES = frozenset(term.code for term in SERVICES)
CHARACTER_CODES = frozenset(term.code for term in CHARACTER)
MACHINE_TYPE_CODES = frozenset(term.code for term in MACHINE_TYPES)

_LABELS = {term.code: term.label for term in (*CHARACTER, *MACHINE_TYPES)}


def character_label(code: str):
    return _LABELS.get(code, code)


def machine_type_label(code: str):
    return _LABELS.get(code, code)
