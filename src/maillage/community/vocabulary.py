"""Fields a young person or a newcomer may ask a mentor about, next to the skills of the shared
vocabulary (members.vocabulary.SKILLS): mentors choose among both, requests name one or more."""

from django.utils.translation import gettext_lazy as _

from maillage.members.vocabulary import SKILLS
from maillage.places.vocabulary import Term, choices

MENTORING_FIELDS: tuple[Term, ...] = (
    Term("building_trades", _("Building trades")),
    Term("crafts", _("Crafts and artisan trades")),
    Term("agriculture", _("Farming and forestry")),
    Term("health_care", _("Health and care")),
    Term("social_work", _("Social work and education")),
    Term("digital_jobs", _("Digital jobs")),
    Term("arts_culture", _("Arts and culture")),
    Term("hospitality_tourism", _("Hospitality and tourism")),
    Term("commerce", _("Shops and commerce")),
    Term("entrepreneurship", _("Starting a business")),
    Term("environment", _("Environment and energy")),
    Term("public_service", _("Public service")),
    Term("transport_logistics", _("Transport and logistics")),
    Term("studies", _("Studies and apprenticeships")),
)

FIELDS: tuple[Term, ...] = MENTORING_FIELDS + SKILLS
FIELD_CODES = frozenset(term.code for term in FIELDS)
_BY_CODE = {term.code: term for term in FIELDS}


def field(code: str) -> Term | None:
    return _BY_CODE.get(code)


def field_choices():
    return choices(FIELDS)
