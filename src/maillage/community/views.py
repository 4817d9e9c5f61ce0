"""The pages every part of the community exchange shares: the hubs of the exchange, of a place and
of a network; reporting a post; the team's moderation (hide with a reason, show again, keep) and
its queue; each person's news and how often they want emails. Thin: forms validate, services
write, permissions decide."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from maillage.members.member_queries import visible_place
from maillage.places.models import Network, Place

from . import (
    board,
    exchange,
    givebox,
    ideas,
    permissions,
    services,
    throttle,
)
from .forms import NotificationSettingsForm, ReportForm

NEWS_PAGE_SIZE = 30
HUB_ITEMS = 5


def _post_or_404(user, kind: str, pk: int):
    post = services.post_by_kind(kind, pk)
    if post is None or not permissions.can_read_any(user, post):
        raise Http404
    return post


# Hubs -----------------------------------------------------------------------------------------


@require_safe
def home(request):
    """The exchange's entrance: its parts, the networks, and the places of the signed-in person."""
    return render(
        request,
        "community/home.html",
        {
            "networks": Network.objects.filter(places__is_published=True)
            .distinct()
            .order_by("name"),
            "my_places": permissions.postable_places(request.user)
            .filter(is_published=True)
            .order_by("name"),
            "is_mentor": permissions.is_mentor(request.user),
        },
    )


@require_safe
def place_hub(request, slug):
    place = visible_place(slug, request.user)
    if place is None:
        raise Http404
    now = timezone.now()
    return render(
        request,
        "community/place.html",
        {
            "place": place,
            "skills": exchange.for_place(place, limit=HUB_ITEMS),
            "opportunities": board.for_place(place, limit=HUB_ITEMS),
            "items": givebox.for_place(place, limit=HUB_ITEMS),
            "ideas": ideas.for_place(place, limit=HUB_ITEMS),
            "can_post": permissions.can_post_at(request.user, place),
            "thanked": exchange.thanks_count(place, now - dt.timedelta(days=365), now),
            "moderator": permissions.can_moderate_place(request.user, place),
            "open_reports": services.open_reports([place]).count()
            if permissions.can_moderate_place(request.user, place)
            else 0,
        },
    )


@require_safe
def network_hub(request, slug):
    network = get_object_or_404(Network, slug=slug)
    return render(
        request,
        "community/network.html",
        {
            "network": network,
            "places": network.places.filter(is_published=True).order_by("name"),
            "skills": exchange.for_network(network, limit=HUB_ITEMS),
            "opportunities": board.for_network(network, limit=HUB_ITEMS),
            "items": givebox.for_network(network, limit=HUB_ITEMS),
        },
    )


# Reports and moderation -----------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def report(request, kind, pk):
    post = _post_or_404(request.user, kind, pk)
    form = ReportForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if refusal := throttle.page_refusal(request, throttle.posting(request)):
            return refusal
        if form.is_valid():
            try:
                services.report_post(
                    post=post,
                    reporter=request.user,
                    reason=form.cleaned_data["reason"],
                    comment=form.cleaned_data["comment"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Thank you: the place's team will look at this post."))
                return redirect(services.post_path(post))
    return render(
        request,
        "community/report.html",
        {"form": form, "post": post, "post_url": services.post_path(post)},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def moderate(request, kind, pk):
    post = services.post_by_kind(kind, pk)
    if post is None or not permissions.can_moderate_place(
        request.user, services.moderation_place(post)
    ):
        raise Http404
    action = request.POST.get("action", "")
    try:
        if action == "hide":
            services.hide_post(post=post, actor=request.user, reason=request.POST.get("reason", ""))
            messages.success(request, _("The post is hidden; its author has been told why."))
        elif action == "show":
            services.show_post(post=post, actor=request.user)
            messages.success(request, _("The post is shown again."))
        elif action == "keep":
            services.keep_post(post=post, actor=request.user)
            messages.success(request, _("The reports are closed; the post stays."))
        else:
            messages.error(request, _("Choose hide, show or keep."))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    back = request.POST.get("next", "")
    if back == "queue":
        return redirect("community:moderation", slug=services.moderation_place(post).slug)
    return redirect(services.post_path(post))


@login_required
@require_safe
def moderation(request, slug):
    """The team's queue: reports waiting for a decision, and what is hidden at the place."""
    place = get_object_or_404(Place, slug=slug)
    if not permissions.can_moderate_place(request.user, place):
        raise Http404
    reports = list(services.open_reports([place]))
    posts = services.reported_posts(reports)
    waiting = []
    for item in reports:
        post = posts.get((item.content_type_id, item.object_id))
        if post is not None:
            waiting.append({"report": item, "post": post, "url": services.post_path(post)})
    return render(
        request,
        "community/moderation.html",
        {
            "place": place,
            "waiting": waiting,
            "hidden": [
                {"post": post, "url": services.post_path(post)}
                for post in services.hidden_posts(place)
            ],
        },
    )


# News and notification settings ---------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def notifications(request):
    preferences = services.notification_settings(request.user)
    form = NotificationSettingsForm(
        request.POST if request.method == "POST" else None,
        initial={
            "frequency": preferences.frequency,
            "notify_matches": preferences.notify_matches,
        },
    )
    if request.method == "POST" and form.is_valid():
        services.notification_settings_save(user=request.user, **form.cleaned_data)
        messages.success(request, _("Your choice is saved."))
        return redirect("community:notifications")
    page = Paginator(services.notifications_of(request.user), NEWS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    unread = {n.pk for n in page if n.read_at is None}
    response = render(
        request,
        "community/notifications.html",
        {"form": form, "page": page, "unread": unread},
        status=400 if form.errors else 200,
    )
    services.notifications_mark_read(request.user)
    return response


urlpatterns = [
    path("", home, name="home"),
    path("places/<slug:slug>/", place_hub, name="place"),
    path("networks/<slug:slug>/", network_hub, name="network"),
    path("report/<str:kind>/<int:pk>/", report, name="report"),
    path("moderate/<str:kind>/<int:pk>/", moderate, name="moderate"),
    path("places/<slug:slug>/moderation/", moderation, name="moderation"),
    path("notifications/", notifications, name="notifications"),
]
