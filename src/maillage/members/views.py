"""Members' own pages: editing their profile, a member's profile, "My plans" with their attendance
(and its CSV), the member directories of a place and of a network, "who is here now" and the
check-in from their phone (the kiosk's QR code points there). Thin: forms validate, selectors
read, services write, permissions decide."""

import csv
import datetime as dt
import io
import zoneinfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_safe

from maillage.accounts.models import User
from maillage.places import vocabulary as place_vocabulary
from maillage.places.exports import neutralise
from maillage.places.models import Network, Place

from . import member_queries, permissions, selectors, services, vocabulary
from .credits import hours_label
from .forms import DirectoryFilterForm, ProfileForm
from .models import CheckIn, MemberProfile, MemberSkill

DIRECTORY_PAGE_SIZE = 30
ATTENDANCE_PAGE_SIZE = 50
ATTENDANCE_DAYS = 365


def _profile(user: User) -> MemberProfile | None:
    """The member's profile, or None before they first saved one (read without writing)."""
    try:
        return user.profile
    except MemberProfile.DoesNotExist:
        return None


def _skill_labels(skills) -> list[str]:
    """Skills in the reader's language: vocabulary skills by their code, free ones as written."""
    labels = []
    for skill in skills:
        term = vocabulary.skill(skill.code) if skill.code else None
        labels.append(str(term.label) if term else skill.label)
    return labels


def _minutes(record: CheckIn) -> int | None:
    if record.checked_out_at is None:
        return None
    return int((record.checked_out_at - record.checked_in_at).total_seconds() // 60)


def _duration(record: CheckIn) -> str:
    minutes = _minutes(record)
    return "" if minutes is None else hours_label(minutes)


# My profile -----------------------------------------------------------------------------------


def _show_service_errors(form: ProfileForm, error: ValidationError) -> None:
    """Put the errors of profile_save next to the fields they are about."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.error_dict.items():
        form.add_error(name if name in form.fields else None, errors)


@login_required
@require_http_methods(["GET", "POST"])
def profile_edit(request):
    user = request.user
    profile = _profile(user)
    if request.method == "POST":
        form = ProfileForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.profile_save(
                    user=user,
                    full_name=data["full_name"],
                    bio=data["bio"],
                    links=data["links"],
                    languages=data["languages"],
                    visibility=data["visibility"],
                    show_presence=data["show_presence"],
                    skills=data["skills"],
                    free_skills=data["free_skills"],
                    photo=data["photo"] or None,
                    remove_photo=data["remove_photo"],
                )
            except ValidationError as error:
                _show_service_errors(form, error)
            else:
                messages.success(request, _("Your profile is saved."))
                return redirect("members:profile_edit")
    else:
        form = ProfileForm(initial=ProfileForm.initial_for(user, profile))
    context = {"form": form, "profile": profile, "visibility": form.visibility_choices()}
    return render(
        request,
        "members/profile_edit.html",
        context,
        status=400 if request.method == "POST" else 200,
    )


# A member's profile ---------------------------------------------------------------------------


@require_safe
def profile(request, pk):
    member = User.objects.filter(pk=pk, is_active=True).first()
    if member is None or not permissions.can_see_profile(request.user, member):
        raise Http404
    member_profile = _profile(member)
    codes = member_profile.languages if member_profile else []
    context = {
        "member": member,
        "profile": member_profile,
        "is_self": member == request.user,
        "skills": _skill_labels(member.skills.all()),
        "languages": [term for term in map(place_vocabulary.term, codes) if term],
        "places": member_queries.places_of(member),
    }
    return render(request, "members/profile.html", context)


# My plans and my attendance -------------------------------------------------------------------


@login_required
@require_safe
def mine(request):
    today = timezone.localdate()
    lines = member_queries.my_plans(request.user)
    since = today - dt.timedelta(days=ATTENDANCE_DAYS)
    attendance = Paginator(
        selectors.attendance(user=request.user, start=since, end=today), ATTENDANCE_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    context = {
        "current": [line for line in lines if not line.past],
        "past": [line for line in lines if line.past],
        "since": since,
        "attendance": attendance,
        "visits": [{"record": record, "duration": _duration(record)} for record in attendance],
        "places": member_queries.places_of(request.user),
    }
    return render(request, "members/mine.html", context)


@login_required
@require_safe
def my_attendance_csv(request):
    def local(moment, zone):
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            _("Day"),
            _("Place"),
            _("Arrival"),
            _("Departure"),
            _("Duration (minutes)"),
            _("Paid with"),
            _("Plan"),
            _("Pass from"),
            _("Left at closing time"),
        ]
    )
    records = selectors.attendance(user=request.user, start=dt.date.min, end=dt.date.max)
    for record in records.order_by("day", "checked_in_at"):
        zone = zoneinfo.ZoneInfo(record.place.time_zone)
        minutes = _minutes(record)
        writer.writerow(
            neutralise(value)
            for value in (
                record.day.isoformat(),
                record.place.name,
                local(record.checked_in_at, zone),
                local(record.checked_out_at, zone),
                "" if minutes is None else minutes,
                record.get_consumed_display(),
                record.membership.plan.name if record.membership else "",
                record.home_place.name if record.home_place else "",
                _("yes") if record.auto_checked_out else _("no"),
            )
        )
    name = f"attendance-{timezone.localdate():%Y-%m-%d}.csv"
    # The byte order mark makes spreadsheets read the file as UTF-8 (accents, not "Ã©").
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


# Member directories ---------------------------------------------------------------------------


def _directory(request, *, place: Place | None = None, network: Network | None = None):
    form = DirectoryFilterForm(request.GET)
    context = {"form": form, "place": place, "network": network}
    if not form.is_valid():
        return render(request, "members/directory.html", context, status=400)
    people = selectors.directory(
        request.user,
        place=place,
        network=network,
        q=form.cleaned_data["q"],
        skill=form.cleaned_data["skill"],
    )
    page = Paginator(people, DIRECTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context |= {
        "page": page,
        "cards": [
            {"member": member, "skills": _skill_labels(member.skills.all())} for member in page
        ],
        "page_query": query.urlencode(),
        "filtered": bool(form.cleaned_data["q"] or form.cleaned_data["skill"]),
    }
    return render(request, "members/directory.html", context)


@require_safe
def place_directory(request, slug):
    place = member_queries.visible_place(slug, request.user)
    if place is None:
        raise Http404
    return _directory(request, place=place)


@require_safe
def network_directory(request, slug):
    return _directory(request, network=get_object_or_404(Network, slug=slug))


# Who is here now ------------------------------------------------------------------------------


def _open_checkin(user: User, place: Place) -> CheckIn | None:
    return CheckIn.objects.filter(user=user, place=place, checked_out_at__isnull=True).first()


@login_required
@require_safe
def here(request, slug):
    place = member_queries.visible_place(slug, request.user)
    if place is None or not permissions.can_see_presence(request.user, place):
        raise Http404
    records = list(
        selectors.present(place, viewer=request.user).prefetch_related(
            Prefetch("user__skills", queryset=MemberSkill.objects.order_by("label"))
        )
    )
    readable = set(
        permissions.visible_members(request.user)
        .filter(pk__in=[record.user_id for record in records])
        .values_list("pk", flat=True)
    )
    own_profile = _profile(request.user)
    context = {
        "place": place,
        "people": [
            {
                "record": record,
                "member": record.user,
                "readable": record.user_id in readable,
                "skills": _skill_labels(record.user.skills.all())
                if record.user_id in readable
                else [],
            }
            for record in records
        ],
        "team": permissions.can_manage_members(request.user, place),
        "checked_in": _open_checkin(request.user, place) is not None,
        "opted_in": bool(own_profile and own_profile.show_presence),
    }
    return render(request, "members/here.html", context)


# My own check-in ------------------------------------------------------------------------------


def _checked_in_message(record: CheckIn, place: Place) -> str:
    if record.consumed == CheckIn.Consumed.TEAM:
        return _("You are checked in at %(place)s. As a member of its team, nothing is used.") % {
            "place": place.name
        }
    text = _("You are checked in at %(place)s, with: %(consumed)s “%(plan)s”.") % {
        "place": place.name,
        "consumed": record.get_consumed_display(),
        "plan": record.membership.plan.name,
    }
    if record.home_place_id:
        text += " " + _("Network pass from %(home)s.") % {"home": record.home_place.name}
    if record.tickets_left is not None:
        text += " " + ngettext(
            "%(count)d ticket left.", "%(count)d tickets left.", record.tickets_left
        ) % {"count": record.tickets_left}
    return text


def _checkin_page(request, place: Place, *, refusal: str = "", status: int = 200):
    today = services.today_at(place)
    record = (
        CheckIn.objects.filter(user=request.user, place=place, day=today)
        .select_related("membership__plan", "home_place")
        .first()
    )
    context = {
        "place": place,
        "record": record,
        "preview": None
        if record is not None
        else member_queries.checkin_preview(request.user, place, today),
        "refusal": refusal,
        "sees_presence": permissions.can_see_presence(request.user, place),
    }
    return render(request, "members/self_checkin.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def self_checkin(request, slug):
    place = member_queries.visible_place(slug, request.user)
    if place is None:
        raise Http404
    if request.method == "GET":
        return _checkin_page(request, place)
    action = request.POST.get("action")
    if action == "checkin":
        try:
            record = services.checkin(place=place, member=request.user, actor=request.user)
        except services.CheckInRefused as refusal:
            return _checkin_page(request, place, refusal=refusal.message, status=409)
        messages.success(request, _checked_in_message(record, place))
        return redirect("members:self_checkin", slug=place.slug)
    if action == "checkout":
        record = _open_checkin(request.user, place)
        if record is None:
            return _checkin_page(
                request, place, refusal=_("You are not checked in here now."), status=409
            )
        try:
            record = services.checkout(record=record, actor=request.user)
        except ValidationError as error:
            return _checkin_page(request, place, refusal=" ".join(error.messages), status=409)
        left = record.checked_out_at.astimezone(zoneinfo.ZoneInfo(place.time_zone))
        messages.success(
            request,
            _("You are checked out of %(place)s (at %(time)s). See you soon!")
            % {"place": place.name, "time": f"{left:%H:%M}"},
        )
        return redirect("members:self_checkin", slug=place.slug)
    return _checkin_page(
        request, place, refusal=_("Choose to check in or to check out."), status=400
    )
