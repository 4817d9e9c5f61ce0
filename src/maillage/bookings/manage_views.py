"""Manager pages of bookings: a place's resources, its booking requests and machine trainings.

Thin: forms validate, manage_queries read, services write, permissions decide. Whoever may not
manage the place gets a 404, as on the place's other manager pages.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from maillage.places.models import Place

from . import manage_queries, permissions, services
from .manage_forms import (
    DecisionForm,
    ResourceForm,
    ResourceHoursForm,
    TrainingForm,
    add_service_errors,
)
from .models import Booking, Resource, TrainingValidation

RECOGNISED_PAGE_SIZE = 50


def _managed_place(request, slug) -> Place:
    """The place, if this user may manage its bookings; 404 otherwise, so nothing leaks."""
    place = get_object_or_404(Place, slug=slug)
    if not permissions.can_manage_resources(request.user, place):
        raise Http404
    return place


@login_required
def manage_resources(request, slug):
    place = _managed_place(request, slug)
    return render(
        request,
        "bookings/manage_resources.html",
        {
            "place": place,
            "resources": manage_queries.place_resources(place),
            "pending": manage_queries.pending_count(place),
            "section": "resources",
        },
    )


def _resource_form(request, place: Place, resource: Resource):
    # Taken before validation, which writes the submitted values onto the instance.
    saved_name = resource.name
    data = request.POST if request.method == "POST" else None
    form = ResourceForm(data, request.FILES or None, instance=resource)
    hours = ResourceHoursForm(
        data, rules=resource.hours.all() if resource.pk else (), prefix="hours"
    )
    if request.method == "POST" and all([form.is_valid(), hours.is_valid()]):
        saved = form.save(author=request.user, intervals=hours.cleaned_data["intervals"])
        if saved is not None:
            messages.success(
                request, _("The resource “%(name)s” was saved.") % {"name": saved.name}
            )
            return redirect("bookings:manage_resources", slug=place.slug)
    return render(
        request,
        "bookings/manage_resource_form.html",
        {
            "place": place,
            "resource": resource if resource.pk else None,
            "saved_name": saved_name,
            "form": form,
            "hours": hours,
            "section": "resources",
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def resource_new(request, slug):
    place = _managed_place(request, slug)
    return _resource_form(request, place, Resource(place=place))


@login_required
@require_http_methods(["GET", "POST"])
def resource_edit(request, slug, pk):
    place = _managed_place(request, slug)
    resource = get_object_or_404(Resource.objects.prefetch_related("terms"), pk=pk, place=place)
    return _resource_form(request, place, resource)


@login_required
def booking_requests(request, slug):
    place = _managed_place(request, slug)
    return render(
        request,
        "bookings/manage_requests.html",
        {
            "place": place,
            "pending": manage_queries.pending_requests(place),
            "decided": manage_queries.recent_decisions(place),
            "days": manage_queries.RECENT_DECISIONS_DAYS,
            "section": "requests",
        },
    )


@login_required
@require_POST
def decide(request, slug, pk):
    place = _managed_place(request, slug)
    booking = get_object_or_404(
        Booking.objects.select_related("resource__place", "booker"), pk=pk, resource__place=place
    )
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(
            request,
            " ".join(
                f"{form.fields[name].label}: {message}"
                for name, errors in form.errors.items()
                for message in errors
            ),
        )
        return redirect("bookings:requests", slug=place.slug)
    try:
        services.booking_decide(
            booking=booking,
            actor=request.user,
            approve=form.approve,
            note=form.cleaned_data["note"],
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        done = (
            _("The booking of %(person)s was approved; they were told by email.")
            if form.approve
            else _("The booking of %(person)s was refused; they were told by email.")
        )
        messages.success(request, done % {"person": booking.booker})
    return redirect("bookings:requests", slug=place.slug)


@login_required
@require_http_methods(["GET", "POST"])
def trainings(request, slug):
    place = _managed_place(request, slug)
    form = TrainingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.training_validate(
                user=form.member,
                machine_type=form.cleaned_data["machine_type"],
                place=place,
                validator=request.user,
                expires_on=form.cleaned_data["expires_on"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("The training of %(person)s was validated.") % {"person": form.member},
            )
            return redirect("bookings:trainings", slug=place.slug)
    today = manage_queries.place_today(place)
    recognised = Paginator(
        manage_queries.trainings_recognised(place, on=today), RECOGNISED_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "bookings/manage_trainings.html",
        {
            "place": place,
            "form": form,
            "given": manage_queries.trainings_given(place),
            "recognised": recognised,
            "today": today,
            "section": "trainings",
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
@require_POST
def training_revoke(request, slug, pk):
    place = _managed_place(request, slug)
    validation = get_object_or_404(
        TrainingValidation.objects.select_related("user", "place"), pk=pk, place=place
    )
    services.training_revoke(validation=validation, actor=request.user)
    messages.success(
        request,
        _("The training of %(person)s (%(type)s) was revoked.")
        % {"person": validation.user, "type": validation.get_machine_type_display()},
    )
    return redirect("bookings:trainings", slug=place.slug)
