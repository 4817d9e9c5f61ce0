"""The team's pages of members: the place's people and their plans, the plans themselves, giving
a plan, one membership (ending it, adjusting its credits), attendance with its CSV exports, and
the network pass ledger.

Thin: forms validate, selectors and manage_queries read, services write, permissions decide.
Whoever may not run the place (or read the network's ledger) gets a 404, as on every team page.
"""

import datetime as dt
import zoneinfo
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from maillage.places.models import Network, Place

from . import exports, manage_queries, periods, permissions, selectors, services
from .credits import hours_label
from .manage_forms import (
    AdjustForm,
    EndForm,
    MembershipForm,
    MonthForm,
    PeriodForm,
    PlanForm,
    add_service_errors,
)
from .models import Membership, Plan
from .selectors import Holding

PAGE_SIZE = 50
DETAIL_PAGE_SIZE = 20
EXPORTS = ("attendance", "receipts", "credits", "ledger")


def _team_place(request, slug) -> Place:
    """The place, if this person is on its team; 404 otherwise, so that nothing leaks."""
    place = get_object_or_404(Place, slug=slug)
    if not permissions.can_manage_members(request.user, place):
        raise Http404
    return place


def _zone(place: Place) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(place.time_zone)


def _summary(holding: Holding) -> str:
    """What is left of a plan, as the team says it: tickets, or this month's credits and days."""
    membership, month = holding.membership, holding.month
    if membership.tickets_left is not None:
        return ngettext(
            "%(count)d ticket left", "%(count)d tickets left", membership.tickets_left
        ) % {"count": membership.tickets_left}
    if month is None:
        return ""
    parts = []
    if month.credit_minutes:
        parts.append(
            _("%(left)s left of %(total)s of credits this month")
            % {
                "left": hours_label(month.credit_minutes_left),
                "total": hours_label(month.credit_minutes),
            }
        )
    if month.days is None:
        parts.append(_("unlimited days"))
    else:
        left = month.days - month.days_used
        parts.append(
            ngettext(
                "%(left)d left of %(count)d day this month",
                "%(left)d left of %(count)d days this month",
                month.days,
            )
            % {"left": left, "count": month.days}
        )
    return ", ".join(parts)


# The place's people ----------------------------------------------------------------------------


@login_required
@require_GET
def members(request, slug):
    place = _team_place(request, slug)
    q = request.GET.get("q", "").strip()[:100]
    page = Paginator(selectors.members_of(place, q=q), PAGE_SIZE).get_page(request.GET.get("page"))
    today = services.today_at(place)
    held = manage_queries.current_holdings(place, [role.user_id for role in page], today=today)
    people = [
        {
            "role": role,
            "plans": [(h.membership, _summary(h)) for h in held.get(role.user_id, [])],
        }
        for role in page
    ]
    return render(
        request,
        "members/manage/members.html",
        {
            "place": place,
            "section": "members",
            "page": page,
            "people": people,
            "q": q,
            "query": urlencode({"q": q}) if q else "",
        },
    )


# Plans -----------------------------------------------------------------------------------------


@login_required
@require_GET
def plans(request, slug):
    place = _team_place(request, slug)
    return render(
        request,
        "members/manage/plans.html",
        {
            "place": place,
            "section": "plans",
            "plans": manage_queries.plans_with_holders(place, today=services.today_at(place)),
            "can_edit": permissions.can_manage_plans(request.user, place),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def plan_edit(request, slug, pk=None):
    place = get_object_or_404(Place, slug=slug)
    if not permissions.can_manage_plans(request.user, place):
        raise Http404
    plan = None
    if pk is not None:
        plan = get_object_or_404(Plan.objects.prefetch_related("valid_places"), pk=pk, place=place)
    # Taken before saving, which changes the instance even when the service refuses.
    saved_name = plan.name if plan else ""
    posted = request.method == "POST"
    form = PlanForm(request.POST if posted else None, place=place, plan=plan)
    if posted and form.is_valid():
        try:
            saved = services.plan_save(
                place=place,
                actor=request.user,
                data=form.values(),
                valid_places=form.chosen_places(),
                plan=plan,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("The plan “%(name)s” was saved.") % {"name": saved.name})
            return redirect("members:plans", slug=place.slug)
    return render(
        request,
        "members/manage/plan_form.html",
        {
            "place": place,
            "section": "plans",
            "plan": plan,
            "saved_name": saved_name,
            "form": form,
        },
        status=400 if posted else 200,
    )


# Memberships -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def membership_new(request, slug):
    place = _team_place(request, slug)
    posted = request.method == "POST"
    if posted:
        form = MembershipForm(request.POST, place=place)
    else:
        form = MembershipForm(
            place=place,
            initial={
                "starts_on": services.today_at(place),
                "plan": request.GET.get("plan", "")[:12],
                "email": request.GET.get("email", "")[:254],
            },
        )
    if posted and form.is_valid():
        email, plan = form.cleaned_data["email"], form.cleaned_data["plan"]
        known = manage_queries.has_account(email)
        try:
            membership = services.membership_grant(
                plan=plan,
                member=email,
                actor=request.user,
                starts_on=form.cleaned_data["starts_on"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if known:
                done = _("%(person)s now holds “%(plan)s” and was told by email.")
            else:
                done = _(
                    "An account was created for %(person)s, with an email inviting them to "
                    "choose a password; they now hold “%(plan)s”."
                )
            messages.success(request, done % {"person": membership.user, "plan": plan.name})
            return redirect("members:membership", slug=place.slug, pk=membership.pk)
    return render(
        request,
        "members/manage/membership_new.html",
        {"place": place, "section": "give", "form": form},
        status=400 if posted else 200,
    )


def _months(membership: Membership) -> list[dict]:
    return [
        {
            "row": row,
            "credits": hours_label(row.credit_minutes),
            "used": hours_label(row.credit_minutes_used),
            "left": hours_label(row.credit_minutes_left),
        }
        for row in membership.months.all()
    ]


@login_required
@require_http_methods(["GET", "POST"])
def membership_detail(request, slug, pk):
    place = _team_place(request, slug)
    membership = get_object_or_404(
        Membership.objects.select_related("user", "plan", "place", "granted_by"),
        pk=pk,
        place=place,
    )
    today = services.today_at(place)
    end_form = EndForm(initial={"on": today}, prefix="end")
    adjust_form = AdjustForm(membership=membership, today=today, prefix="adjust")
    action_error = ""
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "end":
            end_form = EndForm(request.POST, prefix="end")
            if end_form.is_valid():
                try:
                    services.membership_end(
                        membership=membership, actor=request.user, on=end_form.cleaned_data["on"]
                    )
                except ValidationError as error:
                    add_service_errors(end_form, error)
                else:
                    messages.success(
                        request,
                        _("The plan ends on %(date)s.")
                        % {"date": formats.date_format(membership.ends_on)},
                    )
                    return redirect("members:membership", slug=place.slug, pk=membership.pk)
        elif action == "adjust":
            adjust_form = AdjustForm(
                request.POST, membership=membership, today=today, prefix="adjust"
            )
            if adjust_form.is_valid():
                data = adjust_form.cleaned_data
                try:
                    row = services.credits_adjust(
                        membership=membership,
                        month=data["month"],
                        hours_delta=data["hours"],
                        actor=request.user,
                        reason=data["reason"],
                    )
                except ValidationError as error:
                    add_service_errors(adjust_form, error)
                else:
                    messages.success(
                        request,
                        _("%(month)s now holds %(credits)s of credits.")
                        % {
                            "month": formats.date_format(row.month, "YEAR_MONTH_FORMAT"),
                            "credits": hours_label(row.credit_minutes),
                        },
                    )
                    return redirect("members:membership", slug=place.slug, pk=membership.pk)
        else:
            action_error = _("Choose what to do with this plan.")
    months = _months(membership)
    current = next((r["row"] for r in months if r["row"].month == periods.month_of(today)), None)
    this_month = manage_queries.this_month(membership, current, today)
    valid = periods.valid_on(membership.starts_on, membership.ends_on, today)
    uses = Paginator(selectors.credit_uses(membership), DETAIL_PAGE_SIZE).get_page(
        request.GET.get("uses")
    )
    for use in uses:
        use.label = hours_label(use.minutes)
    days = Paginator(manage_queries.membership_checkins(membership), DETAIL_PAGE_SIZE).get_page(
        request.GET.get("days")
    )
    return render(
        request,
        "members/manage/membership.html",
        {
            "place": place,
            "section": "members",
            "membership": membership,
            "plan": membership.plan,
            "valid": valid,
            "summary": _summary(Holding(membership, valid, this_month)) if valid else "",
            "can_end": membership.ends_on is None or membership.ends_on > today,
            "is_subscription": membership.plan.kind == Plan.Kind.SUBSCRIPTION,
            "months": months,
            "uses": uses,
            "days": days,
            "end_form": end_form,
            "adjust_form": adjust_form,
            "action_error": action_error,
        },
        status=400 if request.method == "POST" else 200,
    )


# Attendance and exports ------------------------------------------------------------------------


def _period_form(request, place: Place) -> PeriodForm:
    """The period asked for, this month of the place by default."""
    first = periods.month_of(services.today_at(place))
    last = periods.next_month(first) - dt.timedelta(days=1)
    return PeriodForm(
        {
            "from": request.GET.get("from") or first.isoformat(),
            "to": request.GET.get("to") or last.isoformat(),
        }
    )


def _duration(record) -> str:
    if record.checked_out_at is None:
        return ""
    minutes = int((record.checked_out_at - record.checked_in_at).total_seconds() // 60)
    return hours_label(minutes)


@login_required
@require_GET
def attendance(request, slug):
    place = _team_place(request, slug)
    form = _period_form(request, place)
    context = {"place": place, "section": "attendance", "form": form, "exports": EXPORTS}
    if not form.is_valid():
        return render(request, "members/manage/attendance.html", context, status=400)
    start, end = form.period
    page = Paginator(selectors.attendance(place=place, start=start, end=end), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    for record in page:
        record.duration = _duration(record)
    context.update(
        start=start,
        end=end,
        page=page,
        summary=selectors.attendance_summary(place, start=start, end=end),
        monthly=selectors.monthly_attendance(place, start=start, end=end),
        query=urlencode({"from": start.isoformat(), "to": end.isoformat()}),
    )
    return render(request, "members/manage/attendance.html", context)


def _csv_response(lines, name: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _bad_request(form) -> HttpResponse:
    text = " ".join(str(message) for errors in form.errors.values() for message in errors)
    return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")


@login_required
@require_GET
def export(request, slug, what):
    place = _team_place(request, slug)
    if what not in EXPORTS:
        raise Http404
    form = _period_form(request, place)
    if not form.is_valid():
        return _bad_request(form)
    start, end = form.period
    zone = _zone(place)
    if what == "attendance":
        checkins = selectors.attendance(place=place, start=start, end=end).order_by(
            "day", "checked_in_at"
        )
        lines = exports.attendance_csv(checkins.iterator(chunk_size=2000), zone=zone)
    elif what == "receipts":
        memberships = selectors.receipts(place, start=start, end=end)
        lines = exports.receipts_csv(memberships.iterator(chunk_size=2000), zone=zone)
    elif what == "credits":
        uses = manage_queries.place_credit_uses(place, start=start, end=end)
        lines = exports.credits_csv(uses.iterator(chunk_size=2000), zone=zone)
    else:
        lines = exports.ledger_csv(manage_queries.period_ledger_lines(place, start=start, end=end))
    return _csv_response(lines, f"{place.slug}-{what}-{start:%Y-%m-%d}-{end:%Y-%m-%d}.csv")


# The network pass ledger -----------------------------------------------------------------------


@login_required
@require_GET
def network_ledger(request, slug):
    network = get_object_or_404(Network, slug=slug)
    places = permissions.ledger_places(request.user, network)
    if not places.exists():
        raise Http404
    this_month = periods.month_of(timezone.localdate())
    form = MonthForm({"month": request.GET.get("month") or f"{this_month:%Y-%m}"})
    context = {"network": network, "form": form}
    if not form.is_valid():
        return render(request, "members/manage/ledger.html", context, status=400)
    month = form.cleaned_data["month"]
    if request.GET.get("format") == "csv":
        lines = selectors.ledger_lines(places=places, month=month, network=network).iterator(
            chunk_size=2000
        )
        return _csv_response(exports.ledger_csv(lines), f"{network.slug}-ledger-{month:%Y-%m}.csv")
    rows = selectors.ledger(places=places, month=month, network=network)
    context.update(
        month=month,
        previous=f"{periods.month_of(month - dt.timedelta(days=1)):%Y-%m}",
        next=f"{periods.next_month(month):%Y-%m}",
        rows=rows,
        totals=manage_queries.ledger_totals(rows),
        balances=manage_queries.ledger_balances(rows),
        places=places.order_by("name"),
    )
    return render(request, "members/manage/ledger.html", context)
