"""Directory endpoints of the API (PRODUCT.md §5): places, their GeoJSON and CSV, proposals."""

from django.conf import settings
from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from maillage.core.api import (
    ERRORS,
    ApiError,
    BearerToken,
    OptionalBearer,
    invalid,
    is_slug,
    page_params,
)
from maillage.core.ratelimit import hit_request

from . import exports, jsonld, permissions, selectors, services
from .forms import DirectoryFilterForm, PlaceForm, ProposalForm
from .models import Network, Place

router = Router(tags=["places"])


class PlaceOut(Schema):
    slug: str
    name: str
    summary: str
    town: str
    postcode: str
    lat: float
    lon: float
    functions: list[str]
    services: list[str]
    url: str
    distance_km: float | None = None


class PlaceDetailOut(PlaceOut):
    description: str
    address: str
    insee_code: str
    department: str
    email: str
    phone: str
    website: str
    time_zone: str
    languages: list[str]
    accessibility: list[str]
    networks: list[str]
    open_now: bool


class PlaceListOut(Schema):
    count: int
    results: list[PlaceOut]


class GeoJsonOut(Schema):
    type: str
    features: list[dict]


class JsonLdOut(Schema):
    context: str = Field(alias="@context")
    graph: list[dict] = Field(alias="@graph")


class PlaceIn(Schema):
    name: str | None = None
    summary: str | None = None
    description: str | None = None
    address: str | None = None
    postcode: str | None = None
    town: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    time_zone: str | None = None
    functions: list[str] | None = None
    services: list[str] | None = None
    languages: list[str] | None = None
    accessibility: list[str] | None = None
    translations: dict[str, dict[str, str]] | None = None


class ProposalIn(PlaceIn):
    place: str | None = None
    network: str | None = None
    proposer_name: str = ""
    proposer_email: str = ""
    message: str = ""


class ProposalOut(Schema):
    id: int
    kind: str
    status: str
    place: str | None = None


class TownOut(Schema):
    name: str
    places: int


def _place_out(place: Place) -> dict:
    return {
        "slug": place.slug,
        "name": place.name,
        "summary": place.summary,
        "town": place.town,
        "postcode": place.postcode,
        "lat": place.latitude,
        "lon": place.longitude,
        "functions": place.functions,
        "services": place.services,
        "url": place.get_absolute_url(),
        "distance_km": round(place.distance_km, 2) if hasattr(place, "distance_km") else None,
    }


class DirectoryQuery(Schema):
    """The directory criteria. The values are validated by DirectoryFilterForm, like the pages,
    so that every message is translated; hence numbers are declared as text here."""

    q: str = Field("", description="Words to find in the name, town, postcode or summary.")
    near: str = Field("", description="A position, LAT,LON in WGS84 degrees.")
    town: str = Field("", description="A town (or postcode) of our places, instead of `near`.")
    radius_km: str = Field("", description="Radius around `near`/`town`, 0 < r ≤ 1000; 30.")
    function: list[str] = Field([], description="Function codes; all must match.")
    service: list[str] = Field([], description="Service codes; all must match.")
    language: list[str] = Field([], description="Language codes; all must match.")
    accessibility: list[str] = Field([], description="Accessibility codes; all must match.")
    network: str = Field("", description="Slug of a network.")
    open_at: str = Field("", description="Open at this ISO 8601 instant.")


def _filtered(request: HttpRequest):
    form = DirectoryFilterForm(request.GET)
    if not form.is_valid():
        raise invalid(form)
    return selectors.search_places(form.cleaned_data["filters"])


FILTER_DOC = (
    "Filters: `q`, `near=LAT,LON`, `radius_km` (default 30 with `near` or `town`), `town`, "
    "`function`, `service`, `language`, `accessibility` (repeatable), `network`, "
    "`open_at` (ISO 8601)."
)


@router.get(
    "/places",
    response={200: PlaceListOut, **ERRORS},
    auth=OptionalBearer(),
    summary="Search the directory",
    description=FILTER_DOC,
)
def list_places(request, filters: Query[DirectoryQuery], page: int = 1, page_size: int = 20):
    page, size = page_params(request)
    queryset = _filtered(request)
    count = queryset.count()
    start = (page - 1) * size
    # Past the last page there is nothing to fetch (and a huge offset would overflow in SQL).
    places = queryset[start : start + size] if start < count else []
    return {"count": count, "results": [_place_out(p) for p in places]}


@router.get(
    "/places.geojson",
    response={200: GeoJsonOut, **ERRORS},
    auth=OptionalBearer(),
    summary="The directory as a GeoJSON FeatureCollection",
    description=FILTER_DOC,
)
def places_geojson(request, filters: Query[DirectoryQuery]):
    return exports.places_geojson(_filtered(request).prefetch_related("networks"))


@router.get(
    "/places.jsonld",
    response={200: JsonLdOut, **ERRORS},
    auth=OptionalBearer(),
    openapi_extra={"responses": {200: {"content": {"application/ld+json": {}}}}},
    summary="The directory as JSON-LD (a graph of schema.org Places)",
    description=FILTER_DOC,
)
def places_jsonld(request, filters: Query[DirectoryQuery]):
    places = _filtered(request).prefetch_related("hours", "seasons", "photos")
    response = JsonResponse(
        jsonld.directory_jsonld(places, request), json_dumps_params={"ensure_ascii": False}
    )
    response["Content-Type"] = "application/ld+json"
    return response


@router.get(
    "/places.csv",
    auth=OptionalBearer(),
    response={200: None, **ERRORS},
    openapi_extra={"responses": {200: {"content": {"text/csv": {"schema": {"type": "string"}}}}}},
    summary="The directory as CSV (our import layout)",
    description=FILTER_DOC,
)
def places_csv(request, filters: Query[DirectoryQuery]):
    rows = exports.places_csv(_filtered(request).prefetch_related("networks").iterator(2000))
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="places.csv"'
    return response


@router.get("/places/{slug}", response={200: PlaceDetailOut, **ERRORS}, auth=OptionalBearer())
def get_place(request, slug: str):
    place = selectors.place_detail(slug) if is_slug(slug) else None
    if place is None:
        raise ApiError(404, _("There is no place “%(slug)s”.") % {"slug": slug})
    return _place_detail_out(place)


def _place_detail_out(place: Place) -> dict:
    return {
        **_place_out(place),
        "description": place.description,
        "address": place.address,
        "insee_code": place.insee_code,
        "department": place.department,
        "email": place.email,
        "phone": place.phone,
        "website": place.website,
        "time_zone": place.time_zone,
        "languages": place.languages,
        "accessibility": place.accessibility,
        "networks": [n.slug for n in place.networks.all()],
        "open_now": selectors.is_place_open(place, timezone.now()),
    }


@router.patch("/places/{slug}", response={200: PlaceDetailOut, **ERRORS}, auth=BearerToken())
def update_place(request, slug: str, payload: PlaceIn):
    place = Place.objects.filter(slug=slug).first() if is_slug(slug) else None
    access = permissions.place_access(request.auth, place) if place else None
    if access is None:  # unknown, or unrelated to the caller: the same answer, nothing leaks
        raise ApiError(404, _("There is no place “%(slug)s”.") % {"slug": slug})
    if access != "edit":
        raise ApiError(403, _("Only the managers of this place and its coordinators may edit it."))
    given = payload.dict(exclude_unset=True)
    form = PlaceForm(_merged(place, given), instance=place)
    if not form.is_valid():
        raise invalid(form)
    data = {key: value for key, value in form.place_data().items() if key in given}
    services.place_update(place=place, data=data, author=request.auth)
    # Not place_detail(): a manager may edit a place that is not published.
    return _place_detail_out(selectors.place_detail(place.slug, published_only=False))


def _form_data(values: dict) -> dict:
    """API values in the shape of PlaceForm data: translations become `summary_es` fields."""
    data = {key: value for key, value in values.items() if key != "translations"}
    for code, texts in (values.get("translations") or {}).items():
        for field, text in (texts or {}).items():
            data[f"{field}_{code}"] = text
    return data


def _merged(place: Place, given: dict) -> dict:
    """Form data for a partial update: current values, overwritten by the given ones."""
    data = {name: getattr(place, name) for name in PlaceForm.Meta.fields}
    for name in ("functions", "services", "languages", "accessibility"):
        data[name] = getattr(place, name)
    data.update(_form_data({"translations": place.translations}))
    data.update(_form_data({key: value for key, value in given.items() if value is not None}))
    return {key: ("" if value is None else value) for key, value in data.items()}


@router.post(
    "/proposals",
    response={201: ProposalOut, **ERRORS},
    auth=OptionalBearer(),
    summary="Propose a new place, or a correction when `place` is given",
)
def create_proposal(request, payload: ProposalIn):
    limit = hit_request(request, "proposal", limit=_proposal_limit(), window_seconds=3600)
    if not limit.allowed:
        raise ApiError(
            429,
            _("Too many proposals from your connection. Try again later."),
            retry_after=limit.retry_after,
        )
    given = payload.dict(exclude_unset=True)
    place = None
    if given.get("place"):
        if is_slug(given["place"]):
            place = Place.objects.filter(slug=given["place"], is_published=True).first()
        if place is None:
            raise ApiError(404, _("There is no place “%(slug)s”.") % {"slug": given["place"]})
    user = request.auth if request.auth is not True else None
    data = (
        _merged(place, given)
        if place
        else _form_data({k: v for k, v in given.items() if v is not None})
    )
    network = given.get("network")
    if network:
        found = Network.objects.filter(slug=network).first() if is_slug(network) else None
        if found is None:
            raise ApiError(
                400,
                _("Some values are invalid."),
                {"network": [_("There is no network “%(slug)s”.") % {"slug": network}]},
            )
        data["network"] = found.pk
    form = ProposalForm(data, instance=place or Place(), user=user, anti_spam=False)
    if not form.is_valid():
        raise invalid(form)
    proposal = form.submit()
    return Status(
        201,
        {
            "id": proposal.pk,
            "kind": proposal.kind,
            "status": proposal.status,
            "place": place.slug if place else None,
        },
    )


def _proposal_limit() -> int:
    return settings.MAILLAGE_PROPOSALS_PER_HOUR


@router.get("/towns", response={200: list[TownOut]}, summary="Towns of our places, by prefix")
def towns(request, q: str = ""):
    return selectors.town_suggestions(q)
