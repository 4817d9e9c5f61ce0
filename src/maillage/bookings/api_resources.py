"""Resources endpoints of the API (PRODUCT.md §5): list, read, create and edit bookable resources.

Values are validated by the forms of the manager pages (manage_forms.py), so that the API and
the pages accept the same things and answer with the same translated messages.
"""

from django.db.models import Prefetch, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from maillage.core.api import (
    ERRORS,
    ApiError,
    BearerToken,
    OptionalBearer,
    form_errors,
    is_slug,
    page_params,
)
from maillage.places.models import Place
from maillage.places.permissions import place_access

from . import permissions
from .manage_forms import ResourceForm, clean_intervals
from .models import Resource

router = Router(tags=["bookings"])

KINDS = ", ".join(Resource.Kind.values)


class HoursIn(Schema):
    weekday: int = Field(description="0 = Monday … 6 = Sunday.")
    opens: str = Field(description="Local time of the place, HH:MM.")
    closes: str = Field(description="Local time of the place, HH:MM, after `opens`.")


class HoursOut(Schema):
    weekday: int
    opens: str
    closes: str


class ResourceOptions(Schema):
    description: str | None = None
    min_minutes: int | None = Field(None, description="Shortest booking, in minutes (30).")
    max_minutes: int | None = Field(None, description="Longest booking, in minutes (600).")
    horizon_days: int | None = Field(None, description="Bookable up to this many days ahead.")
    buffer_minutes: int | None = Field(None, description="Free time after each booking.")
    audience: str | None = Field(None, description="`public` (default) or `members`.")
    requires_approval: bool | None = None
    cancel_deadline_hours: int | None = Field(
        None, description="Bookers may cancel until this many hours before the start."
    )
    training: str | None = Field(
        None, description="Machine type whose training is required (machines only); '' for none."
    )
    price_info: str | None = None
    is_active: bool | None = Field(None, description="Bookable; false keeps existing bookings.")
    services: list[str] | None = Field(None, description="Service codes of the shared vocabulary.")
    character: list[str] | None = Field(None, description="Character tags.")
    hours: list[HoursIn] | None = Field(
        None,
        description="The resource's own bookable hours, at most 3 intervals a day; [] (or none "
        "given at creation) = the opening hours of the place.",
    )


class ResourceIn(ResourceOptions):
    place: str = Field(description="Slug of the place.")
    name: str
    kind: str = Field(description=f"One of {KINDS}.")
    capacity: int = Field(description="How many people, at least 1.")


class ResourcePatch(ResourceOptions):
    name: str | None = None
    kind: str | None = Field(None, description=f"One of {KINDS}.")
    capacity: int | None = None


class ResourceOut(Schema):
    id: int
    place: str
    name: str
    kind: str
    description: str
    capacity: int
    min_minutes: int
    max_minutes: int
    horizon_days: int
    buffer_minutes: int
    audience: str
    requires_approval: bool
    cancel_deadline_hours: int
    training: str
    price_info: str
    is_active: bool
    services: list[str]
    character: list[str]
    hours: list[HoursOut]
    photo: str | None
    url: str


class ResourceListOut(Schema):
    count: int
    results: list[ResourceOut]


def _with_details(resources: QuerySet[Resource]) -> QuerySet[Resource]:
    return resources.select_related("place").prefetch_related(
        Prefetch("terms", to_attr="prefetched_terms"), "hours"
    )


def _resource_out(resource: Resource) -> dict:
    return {
        "id": resource.pk,
        "place": resource.place.slug,
        **{name: getattr(resource, name) for name in ResourceForm.Meta.fields},
        "services": resource.services,
        "character": resource.character,
        "hours": [
            {
                "weekday": row.weekday,
                "opens": row.opens.isoformat(),
                "closes": row.closes.isoformat(),
            }
            for row in resource.hours.all()
        ],
        "photo": resource.photo.url if resource.photo else None,
        "url": reverse("bookings:resource", kwargs={"pk": resource.pk}),
    }


def _caller(request):
    return request.auth if request.auth is not True else None


def _no_place(slug: str) -> ApiError:
    return ApiError(404, _("There is no place “%(slug)s”.") % {"slug": slug})


def _no_resource(resource_id: int) -> ApiError:
    return ApiError(404, _("There is no resource %(id)d.") % {"id": resource_id})


def _check_manager(user, place: Place, not_found: ApiError) -> None:
    """Managers of the place go on. People with another role in it know it exists: 403. Anybody
    else is answered as if it did not exist (404), so that nothing leaks."""
    if permissions.can_manage_resources(user, place):
        return
    if place_access(user, place) == "role":
        raise ApiError(
            403, _("Only the managers of this place and its coordinators may manage its resources.")
        )
    raise not_found


def _visible_to(user, resource: Resource) -> bool:
    public = resource.is_active and resource.place.is_published
    return public or permissions.can_manage_resources(user, resource.place)


def _form_data(resource: Resource, given: dict) -> dict:
    """Form data: the resource's current values (defaults for a new one), then the given ones."""
    data = {name: getattr(resource, name) for name in ResourceForm.Meta.fields}
    data["services"] = resource.services if resource.pk else []
    data["character"] = resource.character if resource.pk else []
    data.update({key: value for key, value in given.items() if value is not None})
    return data


def _save(user, resource: Resource, given: dict) -> Resource:
    """Validate and write, all or nothing; 400 naming the fields of any bad value."""
    hours = given.pop("hours", None)
    form = ResourceForm(_form_data(resource, given), instance=resource)
    intervals, hour_errors = clean_intervals(hours) if hours is not None else (None, [])
    if not form.is_valid() or hour_errors:
        details = form_errors(form)
        if hour_errors:
            details["hours"] = [str(message) for message in hour_errors]
        raise ApiError(400, _("Some values are invalid."), details)
    saved = form.save(author=user, intervals=intervals)
    if saved is None:
        raise ApiError(400, _("Some values are invalid."), form_errors(form))
    return _with_details(Resource.objects).get(pk=saved.pk)


@router.get(
    "/resources",
    response={200: ResourceListOut, **ERRORS},
    auth=OptionalBearer(),
    summary="Bookable resources",
    description="Active resources of published places, by place and name. With `place` (a slug): "
    "that place's resources only, and for its managers the inactive ones too. `kind` filters "
    f"by kind ({KINDS}).",
)
def list_resources(request, place: str = "", kind: str = "", page: int = 1, page_size: int = 20):
    page, size = page_params(request)
    user = _caller(request)
    if kind and kind not in Resource.Kind.values:
        raise ApiError(
            400,
            _("Some values are invalid."),
            {
                "kind": [
                    _("Unknown kind “%(kind)s”: use one of %(kinds)s.")
                    % {"kind": kind, "kinds": KINDS}
                ]
            },
        )
    resources = Resource.objects.filter(is_active=True, place__is_published=True)
    if place:
        found = Place.objects.filter(slug=place).first() if is_slug(place) else None
        if found is not None and permissions.can_manage_resources(user, found):
            resources = Resource.objects.filter(place=found)
        elif found is not None and found.is_published:
            resources = resources.filter(place=found)
        else:
            raise _no_place(place)
    if kind:
        resources = resources.filter(kind=kind)
    count = resources.count()
    start = (page - 1) * size
    # Past the last page there is nothing to fetch (and a huge offset would overflow in SQL).
    chosen = (
        _with_details(resources.order_by("place__name", "name", "pk"))[start : start + size]
        if start < count
        else []
    )
    return {"count": count, "results": [_resource_out(resource) for resource in chosen]}


@router.get(
    "/resources/{resource_id}",
    response={200: ResourceOut, **ERRORS},
    auth=OptionalBearer(),
    summary="One bookable resource",
)
def get_resource(request, resource_id: int):
    resource = _with_details(Resource.objects).filter(pk=resource_id).first()
    if resource is None or not _visible_to(_caller(request), resource):
        raise _no_resource(resource_id)
    return _resource_out(resource)


@router.post(
    "/resources",
    response={201: ResourceOut, **ERRORS},
    auth=BearerToken(),
    summary="Add a bookable resource to a place (its managers)",
)
def create_resource(request, payload: ResourceIn):
    given = payload.dict(exclude_unset=True)
    slug = given.pop("place")
    place = Place.objects.filter(slug=slug).first() if is_slug(slug) else None
    if place is None:
        raise _no_place(slug)
    _check_manager(request.auth, place, _no_place(slug))
    resource = _save(request.auth, Resource(place=place), given)
    return Status(201, _resource_out(resource))


@router.patch(
    "/resources/{resource_id}",
    response={200: ResourceOut, **ERRORS},
    auth=BearerToken(),
    summary="Change a bookable resource (managers of its place)",
    description="Only the given fields change; `hours` replaces the resource's own hours.",
)
def update_resource(request, resource_id: int, payload: ResourcePatch):
    resource = _with_details(Resource.objects).filter(pk=resource_id).first()
    if resource is None:
        raise _no_resource(resource_id)
    _check_manager(request.auth, resource.place, _no_resource(resource_id))
    return _resource_out(_save(request.auth, resource, payload.dict(exclude_unset=True)))
