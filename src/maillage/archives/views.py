"""The place archive page (/archives/places/<slug>/): start an export, follow its progress, and
download the file when it is ready. Only the managers of the place and the coordinators of its
networks see it; anybody else gets a 404, as on every management page."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from maillage.places.models import Place

from . import permissions, services
from .models import PlaceArchive

SHOWN = 10
REFRESH_SECONDS = 3


def _place_for(user, slug: str) -> Place:
    place = get_object_or_404(Place, slug=slug)
    if not permissions.can_export_place(user, place):
        raise Http404
    return place


@login_required
@require_http_methods(["GET", "POST"])
def place_archives(request, slug):
    place = _place_for(request.user, slug)
    if request.method == "POST":
        try:
            services.archive_request(place=place, actor=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                _("The export has started. This page shows its progress; it may take a while."),
            )
        return redirect("archives:place", slug=place.slug)
    archives = list(PlaceArchive.objects.filter(place=place).select_related("requested_by")[:SHOWN])
    running = any(archive.is_active for archive in archives)
    return render(
        request,
        "archives/place.html",
        {
            "place": place,
            "archives": archives,
            "running": running,
            "refresh_seconds": REFRESH_SECONDS,
            "keep_days": settings.MAILLAGE_ARCHIVE_KEEP_DAYS,
        },
    )


@login_required
@require_GET
def download(request, slug, pk):
    place = _place_for(request.user, slug)
    archive = get_object_or_404(PlaceArchive, place=place, pk=pk)
    if not archive.is_ready:
        raise Http404
    try:
        file = services.archive_path(archive).open("rb")
    except FileNotFoundError:
        raise Http404 from None
    services.archive_downloaded(archive=archive, actor=request.user)
    return FileResponse(
        file,
        as_attachment=True,
        filename=f"{place.slug}-{archive.created_at:%Y-%m-%d}.zip",
        content_type="application/zip",
    )
