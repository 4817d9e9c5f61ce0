"""Directory pages. Thin: forms validate, selectors read, services write, permissions decide."""

import datetime as dt
import zoneinfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from maillage.accounts.models import PlaceRole
from maillage.core.ratelimit import hit_request
from maillage.members import permissions as member_permissions
from maillage.members import selectors as member_selectors

from . import permissions, selectors, services, vocabulary
from .forms import (
    AnimatorFormSet,
    CoordinationForm,
    DirectoryFilterForm,
    EquipmentFormSet,
    PhotoFormSet,
    PlaceForm,
    PlaceRoleForm,
    ProposalForm,
    ProposalStatusFilter,
    RejectForm,
    SeasonForm,
    WeekHoursForm,
)
from .hours import intervals_on, is_open_at, next_change
from .jsonld import place_jsonld_script
from .models import Network, Place, PlaceProposal, Season

PAGE_SIZE = 20
MAP_LIST_SIZE = 50


def _search(request):
    """Validate the directory criteria of the query string; errors are shown, not raised."""
    form = DirectoryFilterForm(request.GET or None)
    if form.is_bound and form.is_valid():
        return form, selectors.search_places(form.cleaned_data["filters"])
    if form.is_bound:
        return form, Place.objects.none()
    return form, selectors.search_places(selectors.DirectoryFilters())


def home(request):
    stats = {
        "places": Place.objects.filter(is_published=True).count(),
        "towns": Place.objects.filter(is_published=True)
        .exclude(town_key="")
        .values("town_key")
        .distinct()
        .count(),
    }
    return render(
        request,
        "places/home.html",
        {
            "form": DirectoryFilterForm(),
            "stats": stats,
            "networks": Network.objects.annotate(place_count=Count("places")).order_by("name"),
            "functions": vocabulary.FUNCTIONS,
        },
    )


def directory(request):
    form, places = _search(request)
    page = Paginator(places, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "places/directory.html",
        {"form": form, "page": page, "query": query.urlencode(), "view": "list"},
    )


def map_view(request):
    form, places = _search(request)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "places/map.html",
        {
            "form": form,
            "places": places[:MAP_LIST_SIZE],
            "total": places.count(),
            "query": query.urlencode(),
            "view": "map",
        },
    )


def _week(place, rules, seasons):
    """This week's days with their intervals, seasons applied, in the place's time zone."""
    today = timezone.now().astimezone(zoneinfo.ZoneInfo(place.time_zone)).date()
    monday = today - dt.timedelta(days=today.weekday())
    days = []
    for offset in range(7):
        day = monday + dt.timedelta(days=offset)
        days.append(
            {"date": day, "today": day == today, "intervals": intervals_on(day, rules, seasons)}
        )
    return days


def place_detail(request, slug):
    place = selectors.place_detail(slug, published_only=False)
    can_edit = place is not None and permissions.can_edit_place(request.user, place)
    if place is None or not (place.is_published or can_edit):
        raise Http404
    rules, seasons = selectors.place_hours(place)
    now = timezone.now()
    is_open = is_open_at(now, place.time_zone, rules, seasons)
    upcoming = next_change(now, place.time_zone, rules, seasons) if rules else None
    context = {
        "place": place,
        "is_open": is_open,
        "has_hours": bool(rules),
        "next_change": upcoming,
        "next_change_today": upcoming is not None
        and upcoming.date() == now.astimezone(upcoming.tzinfo).date(),
        "week": _week(place, rules, seasons),
        "seasons": place.seasons.all(),
        "nearby": selectors.nearby_places(place),
        "jsonld": place_jsonld_script(place, request),
        "can_edit": can_edit,
        "runs_place": can_edit or member_permissions.can_manage_members(request.user, place),
        "in_place": member_permissions.has_role(request.user, place),
        "plans": member_selectors.plans_of(place),
        "terms": {
            "functions": [vocabulary.term(c) for c in place.functions],
            "services": [vocabulary.term(c) for c in place.services],
            "languages": [vocabulary.term(c) for c in place.languages],
            "accessibility": [vocabulary.term(c) for c in place.accessibility],
        },
    }
    return render(request, "places/detail.html", context)


def _editable_place(request, slug) -> Place:
    """The place, if this user may edit it; 404 otherwise, so nothing leaks about permissions."""
    place = get_object_or_404(Place, slug=slug)
    if not permissions.can_edit_place(request.user, place):
        raise Http404
    return place


@login_required
@require_http_methods(["GET", "POST"])
def place_edit(request, slug):
    place = _editable_place(request, slug)
    form = PlaceForm(request.POST or None, instance=place)
    scope = permissions.coordinated_networks(request.user)
    coordination = (
        CoordinationForm(request.POST or None, place=place, networks=scope, prefix="coord")
        if scope.exists()
        else None
    )
    forms_valid = form.is_valid() and (coordination is None or coordination.is_valid())
    if request.method == "POST" and forms_valid:
        try:
            with transaction.atomic():
                services.place_update(place=place, data=form.place_data(), author=request.user)
                if coordination is not None:
                    services.place_coordination_set(
                        place=place,
                        networks_in_scope=scope,
                        chosen=coordination.cleaned_data["networks"],
                        published=coordination.cleaned_data["is_published"],
                        author=request.user,
                    )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The place was saved."))
            return redirect(place.get_absolute_url())
    return render(
        request,
        "places/edit.html",
        {"place": place, "form": form, "coordination": coordination},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def place_hours_edit(request, slug):
    place = _editable_place(request, slug)
    rules = place.hours.filter(season__isnull=True)
    form = WeekHoursForm(request.POST or None, rules=rules)
    if request.method == "POST" and form.is_valid():
        try:
            services.place_week_hours_set(
                place=place, intervals=form.cleaned_data["intervals"], author=request.user
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The opening hours were saved."))
            return redirect(place.get_absolute_url())
    return render(
        request,
        "places/hours_edit.html",
        {"place": place, "form": form, "seasons": place.seasons.all()},
    )


@login_required
@require_http_methods(["GET", "POST"])
def season_edit(request, slug, season_id=None):
    place = _editable_place(request, slug)
    season = get_object_or_404(Season, pk=season_id, place=place) if season_id else None
    form = SeasonForm(request.POST or None, instance=season, prefix="season")
    hours_form = WeekHoursForm(
        request.POST or None, rules=season.hours.all() if season else (), prefix="hours"
    )
    if request.method == "POST" and form.is_valid() and hours_form.is_valid():
        try:
            with transaction.atomic():
                saved = services.season_save(
                    place=place,
                    season=season,
                    author=request.user,
                    **{k: form.cleaned_data[k] for k in SeasonForm.Meta.fields},
                )
                services.place_week_hours_set(
                    place=place,
                    season=saved,
                    intervals=[] if saved.closed else hours_form.cleaned_data["intervals"],
                    author=request.user,
                )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The season was saved."))
            return redirect("places:hours", slug=place.slug)
    return render(
        request,
        "places/season_edit.html",
        {"place": place, "season": season, "form": form, "hours_form": hours_form},
    )


@login_required
@require_POST
def season_delete(request, slug, season_id):
    place = _editable_place(request, slug)
    season = get_object_or_404(Season, pk=season_id, place=place)
    services.season_delete(season=season, author=request.user)
    messages.success(request, _("The season was deleted."))
    return redirect("places:hours", slug=place.slug)


def _change_label(key: str) -> str:
    """A readable, translated name for a key of PlaceRevision.changes."""
    kind, _sep, detail = key.partition(":")
    labels = {
        "hours": _("Opening hours"),
        "season": _("Season"),
        "team": _("Role"),
        "photos": _("Photos"),
        "animators": _("The team"),
        "equipment": _("Equipment"),
        "networks": _("Networks"),
        "functions": _("Functions"),
        "services": _("Services"),
        "languages": _("Languages spoken"),
        "accessibility": _("Accessibility"),
        "translations": _("Presentation in other languages"),
    }
    if kind in labels:
        label = str(labels[kind])
    else:
        try:
            label = str(Place._meta.get_field(kind).verbose_name).capitalize()
        except FieldDoesNotExist:
            label = kind
    return f"{label} ({detail})" if detail else label


@login_required
def place_history(request, slug):
    place = _editable_place(request, slug)
    revisions = place.revisions.select_related("author", "proposal")
    page = Paginator(revisions, 30).get_page(request.GET.get("page"))
    for revision in page:
        revision.rows = [
            (_change_label(key), values[0], values[1])
            for key, values in (revision.changes or {}).items()
        ]
    return render(request, "places/history.html", {"place": place, "page": page})


def _proposal_rate_limit(request):
    return hit_request(
        request, "proposal", limit=settings.MAILLAGE_PROPOSALS_PER_HOUR, window_seconds=3600
    )


def _propose(request, place=None):
    form = ProposalForm(request.POST or None, instance=place or Place(), user=request.user)
    status, retry_after = 200, None
    if request.method == "POST" and form.is_valid():
        limit = _proposal_rate_limit(request)
        if not limit.allowed:
            form.add_error(None, _("Too many proposals from your connection. Try again later."))
            status, retry_after = 429, limit.retry_after
        else:
            user = request.user if request.user.is_authenticated else None
            with transaction.atomic():
                proposal = form.submit()
                # A coordinator's own proposal needs no second pair of eyes: it is applied now,
                # and still recorded as a moderated proposal in the history.
                if permissions.can_moderate(user, proposal):
                    applied = services.proposal_approve(proposal=proposal, reviewer=user)
                    messages.success(request, _("Saved: the directory was updated."))
                    return redirect(applied.get_absolute_url())
            return render(request, "places/proposal_thanks.html", {"place": place})
    elif request.method == "POST":
        status = 400
    response = render(request, "places/propose.html", {"form": form, "place": place}, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


@require_http_methods(["GET", "POST"])
def propose_place(request):
    return _propose(request)


@require_http_methods(["GET", "POST"])
def propose_correction(request, slug):
    return _propose(request, get_object_or_404(Place, slug=slug, is_published=True))


@login_required
def moderation_queue(request):
    proposals = permissions.moderatable_proposals(request.user)
    if not permissions.is_coordinator(request.user):
        raise Http404
    status_form = ProposalStatusFilter(request.GET or {"status": "pending"})
    status = status_form.cleaned_data["status"] if status_form.is_valid() else "pending"
    if status:
        proposals = proposals.filter(status=status)
    page = Paginator(proposals.order_by("-created_at"), 30).get_page(request.GET.get("page"))
    return render(request, "places/moderation.html", {"page": page, "status_form": status_form})


def _differences(proposal: PlaceProposal) -> list[dict]:
    """Field by field: the current value and the proposed one (for a new place, only proposed)."""
    place = proposal.place if proposal.kind == PlaceProposal.Kind.CORRECTION else None
    labels = {name: PlaceForm.base_fields[name].label for name in PlaceForm.base_fields}
    rows = []
    for name, proposed in proposal.payload.items():
        current = getattr(place, name, None) if place else None
        if isinstance(current, float) and proposed is not None:
            changed = abs(current - float(proposed)) > 1e-9
        else:
            changed = current != proposed
        rows.append(
            {
                "label": labels.get(name, name),
                "current": current,
                "proposed": proposed,
                "changed": changed if place else bool(proposed),
            }
        )
    return rows


@login_required
@require_http_methods(["GET", "POST"])
def moderation_detail(request, pk):
    proposal = get_object_or_404(permissions.moderatable_proposals(request.user), pk=pk)
    reject_form = RejectForm(request.POST if request.POST.get("decision") == "reject" else None)
    if request.method == "POST" and proposal.status == PlaceProposal.Status.PENDING:
        try:
            if request.POST.get("decision") == "approve":
                place = services.proposal_approve(proposal=proposal, reviewer=request.user)
                messages.success(request, _("Approved: the directory was updated."))
                return redirect(place.get_absolute_url())
            if reject_form.is_valid():
                services.proposal_reject(
                    proposal=proposal,
                    reviewer=request.user,
                    reason=reject_form.cleaned_data["reason"],
                )
                messages.success(request, _("Rejected: the proposer will be told why."))
                return redirect("places:moderation")
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
    return render(
        request,
        "places/moderation_detail.html",
        {"proposal": proposal, "rows": _differences(proposal), "reject_form": reject_form},
    )


@login_required
@require_http_methods(["GET", "POST"])
def place_gallery_edit(request, slug):
    place = _editable_place(request, slug)
    data = request.POST if request.method == "POST" else None
    files = request.FILES if request.method == "POST" else None
    formsets = {
        "photos": PhotoFormSet(data, files, instance=place, prefix="photos"),
        "animators": AnimatorFormSet(data, files, instance=place, prefix="animators"),
        "equipment": EquipmentFormSet(data, files, instance=place, prefix="equipment"),
    }
    if request.method == "POST" and all(f.is_valid() for f in formsets.values()):
        services.place_gallery_save(place=place, formsets=formsets, author=request.user)
        messages.success(request, _("Photos, team and equipment were saved."))
        return redirect(place.get_absolute_url())
    status = 400 if request.method == "POST" else 200
    return render(request, "places/gallery_edit.html", {"place": place, **formsets}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def place_team(request, slug):
    place = get_object_or_404(Place, slug=slug)
    grantable = permissions.team_roles_grantable(request.user, place)
    if not grantable:
        raise Http404
    form = PlaceRoleForm(
        request.POST if request.POST.get("action") == "grant" else None,
        allowed_roles=grantable,
        place=place,
        actor=request.user,
    )
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            role = get_object_or_404(PlaceRole, place=place, pk=request.POST.get("role_id"))
            if role.role not in grantable or role.user_id == request.user.pk:
                raise Http404
            services.place_team_set(place=place, user=role.user, role=None, author=request.user)
            messages.success(request, _("The role was removed."))
            return redirect("places:team", slug=place.slug)
        if form.is_valid():
            _user, invited = services.place_team_invite(
                place=place,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                author=request.user,
            )
            messages.success(
                request,
                _("The role was given and an invitation was sent.")
                if invited
                else _("The role was given."),
            )
            return redirect("places:team", slug=place.slug)
    roles = place.roles.select_related("user").order_by("role", "user__email")
    return render(
        request,
        "places/team.html",
        {"place": place, "roles": roles, "form": form, "grantable": grantable},
        status=400 if form.is_bound and form.errors else 200,
    )
