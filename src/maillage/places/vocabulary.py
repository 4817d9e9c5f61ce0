"""The shared vocabulary of the network: function families, services, accessibility features.

Codes are stable identifiers used in URLs, the API and CSV files; labels are translated. Each
service has one pictogram, `static/places/icons/<code>.svg`, used on map markers, filters and
place pages alike (seed 003 §4.2.4: common pictograms for the whole network).
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Term:
    code: str
    label: Promise

    @property
    def icon(self) -> str:
        return f"places/icons/{self.code}.svg"


# The five families of seed 003 §2.1.
FUNCTIONS: tuple[Term, ...] = (
    Term("social_bond", _("Social bond")),
    Term("infrastructure", _("Infrastructure")),
    Term("business_services", _("Business services")),
    Term("public_services", _("Public services")),
    Term("makers", _("Makers")),
)

SERVICES: tuple[Term, ...] = (
    Term("wifi", _("Wi-Fi")),
    Term("fibre", _("Very-high-speed internet")),
    Term("private_office", _("Private office on booking")),
    Term("open_desk", _("Open desks")),
    Term("meeting_room", _("Meeting room")),
    Term("visio_room", _("Video-conference room")),
    Term("training_room", _("Training room")),
    Term("fablab", _("Fablab")),
    Term("printer_3d", _("3D printer")),
    Term("laser_cutter", _("Laser cutter")),
    Term("repair_cafe", _("Repair café")),
    Term("cafe_kitchen", _("Café and kitchen")),
    Term("childcare", _("Childcare")),
    Term("domiciliation", _("Mail handling and business address")),
    Term("public_service_desk", _("Public-service desk (France Services)")),
    Term("digital_mediation", _("Digital mediation")),
    Term("music_studio", _("Music studio")),
    Term("photo_lab", _("Photo lab")),
    Term("library", _("Library and resource centre")),
    Term("give_box", _("Give-box and reuse centre")),
    Term("garden", _("Shared garden")),
    Term("accommodation", _("Accommodation nearby")),
)

ACCESSIBILITY: tuple[Term, ...] = (
    Term("wheelchair", _("Wheelchair access")),
    Term("accessible_toilets", _("Accessible toilets")),
    Term("hearing_loop", _("Hearing loop")),
    Term("sign_language", _("Sign language spoken")),
    Term("reserved_parking", _("Reserved parking")),
    Term("large_print", _("Large-print documents")),
)

# Languages a place can declare (ISO 639-1); regional languages matter in our territories.
LANGUAGES: tuple[Term, ...] = (
    Term("fr", _("French")),
    Term("en", _("English")),
    Term("es", _("Spanish")),
    Term("ca", _("Catalan")),
    Term("oc", _("Occitan")),
    Term("de", _("German")),
    Term("it", _("Italian")),
    Term("pt", _("Portuguese")),
    Term("eu", _("Basque")),
    Term("br", _("Breton")),
    Term("ar", _("Arabic")),
    Term("fsl", _("French Sign Language")),
)

FUNCTION_CODES = frozenset(term.code for term in FUNCTIONS)
SERVICE_CODES = frozenset(term.code for term in SERVICES)
ACCESSIBILITY_CODES = frozenset(term.code for term in ACCESSIBILITY)
LANGUAGE_CODES = frozenset(term.code for term in LANGUAGES)

_BY_CODE = {term.code: term for term in (*FUNCTIONS, *SERVICES, *ACCESSIBILITY, *LANGUAGES)}


def term(code: str) -> Term | None:
    return _BY_CODE.get(code)


def choices(terms: tuple[Term, ...]) -> list[tuple[str, Promise]]:
    return [(t.code, t.label) for t in terms]
