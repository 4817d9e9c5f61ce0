"""The network availability search page: a room for 8 people, with visio, free Thursday from
14:00 to 17:00, within 30 km of Mende. Thin: the form validates, the selector searches."""

from django.core.paginator import Paginator
from django.shortcuts import render

from maillage.places.models import Network
from maillage.places.selectors import MAX_RADIUS_KM

from .search_forms import MAX_RESULTS, AvailabilitySearchForm, book_url
from .selectors import AvailabilityQuery, Available, available_resources
from .vocabulary import character_label

PAGE_SIZE = 20


def _card(available: Available, query: AvailabilityQuery) -> dict:
    resource = available.resource
    return {
        "resource": resource,
        "place": resource.place,
        "distance_km": available.distance_km,
        "character": [character_label(code) for code in resource.character],
        "book_url": book_url(available, query),
    }


def _wider(request, query: AvailabilityQuery) -> str:
    """The same search over twice the radius, when there is a radius to widen."""
    if query.near is None or query.radius_km >= MAX_RADIUS_KM:
        return ""
    wider = request.GET.copy()
    wider.pop("page", None)
    wider["radius_km"] = f"{min(query.radius_km * 2, MAX_RADIUS_KM):g}"
    return wider.urlencode()


def availability(request):
    form = AvailabilitySearchForm(request.GET or None)
    context = {
        "form": form,
        "networks": Network.objects.order_by("name"),
        "max_results": MAX_RESULTS,
    }
    if form.is_bound and form.is_valid():
        query = form.cleaned_data["query"]
        found = available_resources(query, request.user, limit=MAX_RESULTS)
        page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
        page.object_list = [_card(available, query) for available in page.object_list]
        others = request.GET.copy()
        others.pop("page", None)
        context |= {
            "search": query,
            "page": page,
            "capped": len(found) == MAX_RESULTS,
            "query": others.urlencode(),
            "wider": _wider(request, query),
        }
    return render(request, "bookings/availability.html", context)
