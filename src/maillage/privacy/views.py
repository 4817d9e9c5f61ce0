"""A person's own data: what we hold, the download, the erasure of the account."""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from maillage.core.ratelimit import hit

from . import services
from .forms import CONFIRMATION_WORD, EraseForm

# Wrong passwords on the erasure form, per account: a borrowed session cannot guess forever.
ERASE_FAILURES = 5
ERASE_FAILURES_WINDOW = 15 * 60


def zip_response(content: bytes) -> HttpResponse:
    response = HttpResponse(content, content_type="application/zip")
    name = f"maillage-my-data-{timezone.localdate():%Y-%m-%d}.zip"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_safe
def mine(request):
    person = services.person_of(request.user)
    return render(
        request,
        "privacy/mine.html",
        {
            "counts": services.counts(person),
            "blocking": services.places_left_without_manager(request.user),
        },
    )


@login_required
@require_safe
def export(request):
    return zip_response(services.export_person(request.user))


@login_required
@require_http_methods(["GET", "POST"])
def erase(request):
    user = request.user
    blocking = services.places_left_without_manager(user)
    form = EraseForm(request.POST or None, user=user)
    if request.method == "POST" and not blocking:
        allowed = hit(
            "privacy.erase",
            str(user.pk),
            limit=ERASE_FAILURES,
            window_seconds=ERASE_FAILURES_WINDOW,
        ).allowed
        if not allowed:
            form.add_error(None, _("Too many attempts. Try again in a quarter of an hour."))
        elif form.is_valid():
            services.erase_person(user, actor=user)
            logout(request)
            messages.success(
                request,
                _(
                    "Your account is erased. A last email confirms it; we will not write to you "
                    "again."
                ),
            )
            return redirect("/")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "privacy/erase.html",
        {"form": form, "blocking": blocking, "word": CONFIRMATION_WORD},
        status=409 if blocking and request.method == "POST" else status,
    )
