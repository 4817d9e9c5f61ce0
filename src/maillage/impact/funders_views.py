"""The funders' report of a network or a place: a printable page and its PDF, in the language the
reader picks; for whoever may read the statistics (impact.permissions), anyone when the network
publishes them. And the open-data page, which lists what anyone may download."""

import zoneinfo

from django.conf import settings
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.http import require_GET

from maillage.core.middleware import too_many_requests
from maillage.core.ratelimit import hit_request, parse_rate
from maillage.places.models import Network, Place

from . import charts, funders
from .forms import ReportForm
from .rollup import local_date
from .views import readable


def _today(zone_name: str):
    return local_date(timezone.now(), zoneinfo.ZoneInfo(zone_name))


def _respond(request, subject: Place | Network, *, pdf: bool):
    if isinstance(subject, Place):
        scope, build, zone_name = "place", funders.place_report, subject.time_zone
    else:
        scope, build, zone_name = "network", funders.network_report, settings.TIME_ZONE
    today = _today(zone_name)
    form = ReportForm(request.GET, today=today)
    if not form.is_valid():
        if pdf:
            text = " ".join(str(m) for errors in form.errors.values() for m in errors)
            return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")
        return render(request, "impact/funders/page.html", {"form": form}, status=400)
    if pdf:
        limit, window = parse_rate(settings.MAILLAGE_RATE_REPORTS_PER_IP)
        result = hit_request(request, "impact.report", limit=limit, window_seconds=window)
        if not result.allowed:
            return too_many_requests(request, result.retry_after)
    language = form.cleaned_data["language"]
    query = request.GET.urlencode()
    with translation.override(language):
        report = build(subject, form.result, today=today)
        charts.format_figures(report.figures)
        context = {
            "form": form,
            "report": report,
            "report_language": language,
            "tiles": funders.tiles(report.figures),
            "charts": charts.figures_charts(report.figures),
            "pdf_url": f"{reverse(f'impact:{scope}_report_pdf', args=[subject.slug])}?{query}",
            "csv_url": f"{reverse(f'impact:{scope}_csv', args=[subject.slug])}?{query}",
        }
        if not pdf:
            return render(request, "impact/funders/page.html", context)
        document = funders.report_pdf(render_to_string("impact/funders/pdf.html", context))
    name = f"{subject.slug}-report-{form.result.first:%Y-%m-%d}-{form.result.last:%Y-%m-%d}.pdf"
    response = HttpResponse(document, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_GET
@readable(Network)
def network_report(request, network):
    return _respond(request, network, pdf=False)


@require_GET
@readable(Network)
def network_report_pdf(request, network):
    return _respond(request, network, pdf=True)


@require_GET
@readable(Place)
def place_report(request, place):
    return _respond(request, place, pdf=False)


@require_GET
@readable(Place)
def place_report_pdf(request, place):
    return _respond(request, place, pdf=True)


@require_GET
def open_data(request):
    """What anyone may download, network by network: the directory, the agenda, and the
    aggregate statistics of the networks that publish them."""
    networks = Network.objects.annotate(
        place_count=Count("places", filter=Q(places__is_published=True))
    ).order_by("name")
    return render(request, "impact/open_data.html", {"networks": networks})
