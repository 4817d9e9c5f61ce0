"""The statistics pages of a place and of a network, and their CSV. Thin: the form reads the
period, the selectors read the rollups, charts.py draws. Who may read them: impact.permissions."""

import zoneinfo
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from maillage.places.models import Network, Place
from maillage.places.permissions import is_coordinator

from . import charts, exports, permissions, selectors
from .forms import PeriodForm
from .rollup import local_date


def readable(model):
    """Views of the statistics of a Place or a Network (by its slug), called with the object
    itself when the reader may see them. Anonymous visitors who may not are sent to log in
    (whether or not the slug exists: nothing is learnt); signed-in people get a 404."""
    allowed = permissions.can_see_place if model is Place else permissions.can_see_network

    def decorate(view):
        @wraps(view)
        def wrapper(request, slug):
            subject = model.objects.filter(slug=slug).first()
            if subject is not None and allowed(request.user, subject):
                return view(request, subject)
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            raise Http404

        return wrapper

    return decorate


def _form(request, zone_name: str) -> PeriodForm:
    today = local_date(timezone.now(), zoneinfo.ZoneInfo(zone_name))
    return PeriodForm(request.GET, today=today)


def _render(request, template_context: dict, form: PeriodForm, figures_of, obj) -> HttpResponse:
    if not form.is_valid():
        return render(request, "impact/statistics.html", template_context, status=400)
    figures = figures_of(obj, form.result)
    charts.format_figures(figures)
    template_context.update(
        figures=figures,
        charts=charts.figures_charts(figures),
        query=urlencode(
            {
                "period": form.result.kind,
                "date": form.result.first.isoformat(),
                "from": form.result.first.isoformat(),
                "to": form.result.last.isoformat(),
            }
        ),
    )
    return render(request, "impact/statistics.html", template_context)


@require_GET
@readable(Place)
def place_statistics(request, place):
    form = _form(request, place.time_zone)
    context = {
        "place": place,
        "subject": place,
        "form": form,
        "csv_url_name": "impact:place_csv",
        "report_url_name": "impact:place_report",
        "networks": permissions.networks_of(request.user, place),
    }
    return _render(request, context, form, selectors.place_figures, place)


@require_GET
@readable(Network)
def network_statistics(request, network):
    form = _form(request, settings.TIME_ZONE)
    context = {
        "network": network,
        "subject": network,
        "form": form,
        "csv_url_name": "impact:network_csv",
        "report_url_name": "impact:network_report",
        "places": network.places.filter(
            **({} if is_coordinator(request.user, network) else {"is_published": True})
        ).order_by("name"),
    }
    return _render(request, context, form, selectors.network_figures, network)


def _csv(request, form: PeriodForm, figures_of, obj) -> HttpResponse:
    if not form.is_valid():
        text = " ".join(str(m) for errors in form.errors.values() for m in errors)
        return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")
    figures = figures_of(obj, form.result)
    response = StreamingHttpResponse(
        exports.figures_csv(figures), content_type="text/csv; charset=utf-8"
    )
    name = f"{obj.slug}-statistics-{form.result.first:%Y-%m-%d}-{form.result.last:%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@readable(Place)
def place_csv(request, place):
    return _csv(request, _form(request, place.time_zone), selectors.place_figures, place)


@require_GET
@readable(Network)
def network_csv(request, network):
    return _csv(request, _form(request, settings.TIME_ZONE), selectors.network_figures, network)
