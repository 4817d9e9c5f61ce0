"""Skills members can offer, shared by the whole network so that a search for "laser cutting"
finds the same people in every place (the community exchange matches on these codes too).

Members may add free tags as well; those are matched on their folded text.
"""

from collections.abc import Iterable

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from maillage.places.vocabulary import Term, choices

SKILLS: tuple[Term, ...] = (
    Term("web_development", _("Web development")),
    Term("software", _("Software development")),
    Term("data", _("Data analysis")),
    Term("graphic_design", _("Graphic design")),
    Term("photography", _("Photography")),
    Term("video", _("Video")),
    Term("writing", _("Writing")),
    Term("translation", _("Translation")),
    Term("communication", _("Communication and marketing")),
    Term("accounting", _("Accounting")),
    Term("legal", _("Legal advice")),
    Term("grant_writing", _("Funding applications")),
    Term("project_management", _("Project management")),
    Term("facilitation", _("Group facilitation")),
    Term("teaching", _("Teaching and training")),
    Term("digital_mediation", _("Digital mediation")),
    Term("electronics", _("Electronics")),
    Term("3d_printing", _("3D printing")),
    Term("laser_cutting", _("Laser cutting")),
    Term("woodworking", _("Woodworking")),
    Term("metalworking", _("Metalworking and welding")),
    Term("sewing", _("Sewing and textiles")),
    Term("repair", _("Repair")),
    Term("gardening", _("Gardening")),
    Term("cooking", _("Cooking")),
)

SKILL_CODES = frozenset(term.code for term in SKILLS)
_BY_CODE = {term.code: term for term in SKILLS}


def skill(code: str) -> Term | None:
    return _BY_CODE.get(code)


def skill_choices():
    return choices(SKILLS)


def skill_words(skills: Iterable[tuple[str, str]]) -> list[str]:
    """The words that find (code, label) skills: free tags (no code) as written, vocabulary
    skills in every interface language, so that a search for "woodworking" finds the one who
    chose "Menuiserie"."""
    words = []
    for code, label in skills:
        term = skill(code) if code else None
        if term is None:
            words.append(label)
            continue
        for language, _name in settings.LANGUAGES:
            with translation.override(language):
                words.append(str(term.label))
    return words
