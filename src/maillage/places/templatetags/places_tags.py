from django import template
from django.templatetags.static import static
from django.utils.translation import get_language

from maillage.places import vocabulary

register = template.Library()


@register.filter
def term_label(code: str) -> str:
    """The translated label of a vocabulary code (function, service, language, accessibility)."""
    term = vocabulary.term(code)
    return str(term.label) if term else code


@register.simple_tag
def icon_url(code: str) -> str:
    """URL of the pictogram of a vocabulary code; the generic place pictogram otherwise."""
    return static(f"places/icons/{code if vocabulary.term(code) else 'place'}.svg")


@register.simple_tag
def icon_urls() -> dict[str, str]:
    """Every pictogram URL by code, for the map script (hashed file names in production)."""
    codes = [t.code for t in (*vocabulary.FUNCTIONS, *vocabulary.SERVICES)]
    return {code: static(f"places/icons/{code}.svg") for code in [*codes, "place"]}


@register.filter
def localized(place, field: str) -> str:
    """A place's summary or description in the visitor's language, when the place gave one."""
    return place.localized(field, get_language())
