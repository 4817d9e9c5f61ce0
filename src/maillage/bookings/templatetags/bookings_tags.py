from django import template
from django.utils.translation import gettext as _

from maillage.bookings import queries

register = template.Library()


@register.simple_tag(takes_context=True)
def place_resources(context, place):
    """The bookable resources of a place, for its page (places/views.py need not know them)."""
    return queries.place_resources(place, context["request"].user)


@register.filter
def duration(minutes: int) -> str:
    """A number of minutes as people say it: "45 min", "2 h", "1 h 30"."""
    hours, rest = divmod(int(minutes), 60)
    if not hours:
        return _("%(minutes)d min") % {"minutes": rest}
    if not rest:
        return _("%(hours)d h") % {"hours": hours}
    return _("%(hours)d h %(minutes)02d") % {"hours": hours, "minutes": rest}
