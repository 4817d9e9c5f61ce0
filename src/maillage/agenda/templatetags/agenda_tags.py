"""The agenda on other apps' pages: a place's coming events and the widget's code to copy."""

from django import template

from maillage.agenda import selectors, views

register = template.Library()


@register.simple_tag(takes_context=True)
def place_events(context, place) -> list[dict]:
    """The next events of a place that this visitor may see, as cards (places/views.py need not
    know them)."""
    filters = selectors.AgendaFilters(place=place.slug)
    return views.upcoming_cards(context["request"].user, filters, views.PLACE_PAGE_EVENTS)


@register.simple_tag(takes_context=True)
def widget_snippet(context, place="", network="") -> str:
    """The HTML of the widget's frame, to paste in another website."""
    return views.widget_snippet(context["request"], place=place, network=network)
