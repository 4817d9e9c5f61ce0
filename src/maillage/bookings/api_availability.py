"""The network availability search of the API (PRODUCT.md §2.2, §5): resources free for a whole
window, across every place of the network."""

from django.urls import reverse
from ninja import Field, Query, Router, Schema

from maillage.core.api import ErrorOut, OptionalBearer, invalid, page_params

from .search_forms import MAX_RESULTS, MAX_WINDOW, AvailabilityApiForm, book_url
from .selectors import AvailabilityQuery, Available, available_resources

router = Router(tags=["bookings"])
# 409 and 503 come from core.failures (a lock held too long, the database unreachable).
ERRORS = {400: ErrorOut, 401: ErrorOut, 409: ErrorOut, 429: ErrorOut, 503: ErrorOut}


class AvailabilityQueryIn(Schema):
    """The criteria, validated by AvailabilityApiForm like the search page so that every message
    is translated; hence numbers are declared as text here."""

    start: str = Field(description="Start of the window, ISO 8601 with its offset.")
    end: str = Field(
        description=f"End of the window, ISO 8601 with its offset; at most {MAX_WINDOW.days} "
        "days after the start."
    )
    kind: str = Field("", description="A kind of resource (meeting_room, visio_room...).")
    min_capacity: str = Field("", description="At least this many people (1 by default).")
    near: str = Field("", description="A position, LAT,LON in WGS84 degrees.")
    town: str = Field("", description="A town (or postcode) of our places, instead of `near`.")
    radius_km: str = Field("", description="Radius around `near`/`town`, 0 < r ≤ 1000; 30.")
    service: list[str] = Field(
        [], description="Service codes, repeated or comma-separated; all must be offered."
    )
    network: str = Field("", description="Slug of a network: only its places.")
    order: str = Field(
        "", description="`distance` (nearest first, the default) or `charm` (character first)."
    )


class AvailableResourceOut(Schema):
    id: int
    name: str
    kind: str
    capacity: int
    services: list[str]
    character: list[str]
    photo_url: str | None
    price_info: str
    requires_approval: bool
    url: str
    book_url: str


class AvailablePlaceOut(Schema):
    slug: str
    name: str
    town: str
    lat: float
    lon: float
    url: str


class AvailabilityOut(Schema):
    resource: AvailableResourceOut
    place: AvailablePlaceOut
    distance_km: float | None


class AvailabilityListOut(Schema):
    count: int
    results: list[AvailabilityOut]


def _available_out(available: Available, query: AvailabilityQuery) -> dict:
    resource, place = available.resource, available.resource.place
    return {
        "resource": {
            "id": resource.pk,
            "name": resource.name,
            "kind": resource.kind,
            "capacity": resource.capacity,
            "services": resource.services,
            "character": resource.character,
            "photo_url": resource.photo.url if resource.photo else None,
            "price_info": resource.price_info,
            "requires_approval": resource.requires_approval,
            "url": reverse("bookings:resource", args=[resource.pk]),
            "book_url": book_url(available, query),
        },
        "place": {
            "slug": place.slug,
            "name": place.name,
            "town": place.town,
            "lat": place.latitude,
            "lon": place.longitude,
            "url": place.get_absolute_url(),
        },
        "distance_km": None if available.distance_km is None else round(available.distance_km, 2),
    }


@router.get(
    "/availability",
    response={200: AvailabilityListOut, **ERRORS},
    auth=OptionalBearer(),
    summary="Resources free for a whole window, across the network",
    description=(
        "Resources that the caller may book for the whole window `start`–`end`: active, of a "
        "published place, within their opening hours and seasons, booking rules (durations, "
        "horizon, trainings) and free of any held slot and its buffer. Anonymous callers see "
        "resources open to anyone; a token holder also sees the members-only resources of their "
        "places. Ordered by `distance` (with `near` or `town`; by place name otherwise) or by "
        f"`charm` (character tags, then distance). At most {MAX_RESULTS} results are counted: "
        "narrow the search (radius, kind, services) to see others."
    ),
)
def availability(request, criteria: Query[AvailabilityQueryIn], page: int = 1, page_size: int = 20):
    page, size = page_params(request)
    form = AvailabilityApiForm(request.GET)
    if not form.is_valid():
        raise invalid(form)
    query = form.cleaned_data["query"]
    user = request.auth if request.auth is not True else None
    found = available_resources(query, user, limit=MAX_RESULTS)
    first = (page - 1) * size
    return {
        "count": len(found),
        "results": [_available_out(a, query) for a in found[first : first + size]],
    }
