"""Presence at the door: the team's check-in desk, the set-up of the place's kiosk, and the kiosk
itself — a tablet at the entrance, opened at a secret address without signing in, where members
find their name and check in or out, or scan a QR code to do it from their phone.

Thin: forms validate, kiosk_queries and selectors read, services write, permissions decide.
The team's pages answer 404 to whoever is not in the place's team; the kiosk answers 404 to any
address but the current one.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from maillage.accounts.models import User
from maillage.core.ratelimit import hit_request, parse_rate
from maillage.places.models import Place

from . import permissions, selectors, services
from .kiosk import (
    kiosk_address,
    kiosk_for_token,
    kiosk_renew,
    kiosk_revoke,
    qr_svg,
    self_checkin_address,
)
from .kiosk_forms import (
    CHECKIN,
    CHECKOUT,
    RENEW,
    DeskActionForm,
    DeskSearchForm,
    KioskActionForm,
    KioskSearchForm,
    KioskSetupForm,
)
from .kiosk_queries import (
    desk_search,
    first_name,
    kiosk_member,
    kiosk_search,
    open_checkin,
    present_count,
    short_name,
)
from .models import CheckIn, Kiosk

# The kiosk reloads itself to keep its list and QR code fresh; it goes back to its first screen
# soon after showing someone's result, and a while after a search left on screen.
REFRESH_SECONDS = 180
AFTER_RESULT_SECONDS = 15
BACK_HOME_SECONDS = 60


def _team_place(request, slug) -> Place:
    place = get_object_or_404(Place, slug=slug)
    if permissions.can_manage_members(request.user, place):
        return place
    raise Http404


def consumed_text(record: CheckIn) -> str:
    """What paid for a check-in, as a phrase ("ticket used, 9 left")."""
    consumed = record.consumed
    if consumed == CheckIn.Consumed.TICKET:
        left = record.tickets_left or 0
        text = ngettext("ticket used, %(left)d left", "ticket used, %(left)d left", left) % {
            "left": left
        }
    elif consumed == CheckIn.Consumed.DAY_PASS:
        text = _("day pass used")
    elif consumed == CheckIn.Consumed.SUBSCRIPTION:
        text = _("included in the subscription “%(plan)s”") % {"plan": record.membership.plan.name}
    elif consumed == CheckIn.Consumed.FREE:
        text = _("free membership")
    else:
        text = _("team of the place")
    if record.home_place_id:
        text = _("%(what)s (pass from %(home)s)") % {"what": text, "home": record.home_place.name}
    return text


# The team's check-in desk ------------------------------------------------------------------


def _desk_member(place: Place, data: dict) -> User:
    if data.get("member"):
        member = kiosk_member(place, data["member"])
    else:
        member = User.objects.filter(email__iexact=data["email"], is_active=True).first()
    if member is None:
        raise Http404
    return member


def _desk_action(request, place: Place, data: dict) -> str:
    """Do what the desk's button asks; the success message. Raises CheckInRefused or
    ValidationError when it cannot be done."""
    if data["action"] == CHECKIN:
        member = _desk_member(place, data)
        record = services.checkin(place=place, member=member, actor=request.user)
        return _("%(name)s is checked in: %(what)s.") % {
            "name": member.get_full_name(),
            "what": consumed_text(record),
        }
    record = get_object_or_404(
        CheckIn.objects.select_related("user", "place"), pk=data["checkin"], place=place
    )
    name = record.user.get_full_name()
    if data["action"] == CHECKOUT:
        services.checkout(record=record, actor=request.user)
        return _("%(name)s is checked out.") % {"name": name}
    services.checkin_undo(record=record, actor=request.user)
    return _("%(name)s's check-in was undone and what it used was given back.") % {"name": name}


@login_required
@require_http_methods(["GET", "POST"])
def presence(request, slug):
    place = _team_place(request, slug)
    problem, status = "", 200
    if request.method == "POST":
        form = DeskActionForm(request.POST)
        q = request.POST.get("q", "")
        if not form.is_valid():
            problem, status = " ".join(form.non_field_errors()) or _("Choose a person."), 400
        else:
            try:
                done = _desk_action(request, place, form.cleaned_data)
            except services.CheckInRefused as refusal:
                problem, status = refusal.message, 409
            except ValidationError as error:
                problem, status = " ".join(error.messages), 409
            else:
                messages.success(request, done)
                return redirect("members:presence", slug=place.slug)
    else:
        q = request.GET.get("q", "")
    today = services.today_at(place)
    search = DeskSearchForm({"q": q} if q.strip() else None)
    results = desk_search(place, search.cleaned_data["q"], day=today) if search.is_valid() else []
    if search.is_bound and not search.is_valid() and status == 200:
        status = 400
    here = selectors.present(place, viewer=request.user).select_related(
        "membership__plan", "home_place"
    )
    context = {
        "place": place,
        "section": "presence",
        "here": here,
        "today": today,
        "today_count": selectors.attendance_summary(place, start=today, end=today)["days"],
        "search": search,
        "q": q.strip(),
        "results": results,
        "problem": problem,
        "zone": place.time_zone,
    }
    return render(request, "members/kiosk/presence.html", context, status=status)


# The kiosk's set-up --------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def kiosk_setup(request, slug):
    place = _team_place(request, slug)
    can_change = permissions.can_manage_plans(request.user, place)
    status = 200
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied
        form = KioskSetupForm(request.POST)
        if form.is_valid():
            if form.cleaned_data["action"] == RENEW:
                kiosk_renew(place=place, actor=request.user)
                messages.success(
                    request,
                    _(
                        "The kiosk has a new address: open it on the tablet. Any previous "
                        "address no longer works."
                    ),
                )
            elif kiosk_revoke(place=place, actor=request.user):
                messages.success(
                    request, _("The kiosk is switched off: its address no longer works.")
                )
            else:
                messages.info(request, _("The kiosk was already switched off."))
            return redirect("members:kiosk_setup", slug=place.slug)
        status = 400
    kiosk = Kiosk.objects.filter(place=place).first()
    context = {
        "place": place,
        "section": "kiosk",
        "kiosk": kiosk,
        "address": kiosk_address(kiosk) if kiosk else "",
        "can_change": can_change,
        "invalid": status == 400,
    }
    response = render(request, "members/kiosk/setup.html", context, status=status)
    response["Cache-Control"] = "private, no-store"
    return response


# The kiosk ----------------------------------------------------------------------------------


def _kiosk_of(token: str) -> Kiosk:
    kiosk = kiosk_for_token(token)
    if kiosk is None:
        raise Http404
    return kiosk


def _secret_page(response: HttpResponse) -> HttpResponse:
    """The kiosk's address is a secret: not for search engines, shared caches or other sites."""
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex"
    return response


def _kiosk_page(
    request, kiosk: Kiosk, *, search=None, results=None, problem="", status=200
) -> HttpResponse:
    place = kiosk.place
    home = reverse("members:kiosk", kwargs={"token": kiosk.token})
    first_screen = request.method == "GET" and search is None
    if first_screen:
        showing_result = bool(len(messages.get_messages(request)))
        refresh = AFTER_RESULT_SECONDS if showing_result else REFRESH_SECONDS
    else:
        refresh = BACK_HOME_SECONDS
    here = [
        (record.user_id, short_name(record.user.full_name))
        for record in selectors.present(place, viewer=None)
        if record.user.full_name.strip()
    ]
    context = {
        "place": place,
        "kiosk": kiosk,
        "home": home,
        "refresh": refresh,
        "refresh_to": "" if first_screen else home,
        "search": search or KioskSearchForm(),
        "searched": search is not None,
        "results": results or [],
        "problem": problem,
        "here": here,
        "present_count": present_count(place),
        "qr_url": reverse("members:kiosk_qr", kwargs={"token": kiosk.token}),
        "self_checkin_url": self_checkin_address(place),
    }
    return render(request, "members/kiosk/kiosk.html", context, status=status)


def _kiosk_limit(request):
    limit, window = parse_rate(settings.MAILLAGE_KIOSK_PER_IP)
    return hit_request(request, "members.kiosk", limit=limit, window_seconds=window)


def _too_many(request, kiosk: Kiosk, retry_after: int, search=None) -> HttpResponse:
    response = _kiosk_page(
        request,
        kiosk,
        search=search,
        problem=_("Too many tries from this connection. Please try again in a few minutes."),
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


def _kiosk_search(request, kiosk: Kiosk) -> HttpResponse:
    search = KioskSearchForm(request.GET)
    limit = _kiosk_limit(request)
    if not limit.allowed:
        return _too_many(request, kiosk, limit.retry_after, search)
    if not search.is_valid():
        return _kiosk_page(request, kiosk, search=search, status=400)
    results = kiosk_search(kiosk.place, search.cleaned_data["q"])
    return _kiosk_page(request, kiosk, search=search, results=results)


def _welcome(member: User, record: CheckIn) -> str:
    name, what = first_name(member.full_name), consumed_text(record)
    if name:
        return _("Welcome %(name)s — %(what)s.") % {"name": name, "what": what}
    return _("Welcome — %(what)s.") % {"what": what}


def _goodbye(member: User) -> str:
    name = first_name(member.full_name)
    if name:
        return _("Goodbye %(name)s, see you soon!") % {"name": name}
    return _("Goodbye, see you soon!")


def _kiosk_action(request, kiosk: Kiosk) -> HttpResponse:
    limit = _kiosk_limit(request)
    if not limit.allowed:
        return _too_many(request, kiosk, limit.retry_after)
    form = KioskActionForm(request.POST)
    if not form.is_valid():
        return _kiosk_page(request, kiosk, problem=_("Choose your name in the list."), status=400)
    place = kiosk.place
    member = kiosk_member(place, form.cleaned_data["member"])
    if member is None:
        raise Http404
    if form.cleaned_data["action"] == CHECKIN:
        try:
            record = services.checkin(place=place, member=member, actor=None)
        except services.CheckInRefused as refusal:
            return _kiosk_page(request, kiosk, problem=refusal.message, status=409)
        messages.success(request, _welcome(member, record))
        return redirect(reverse("members:kiosk", kwargs={"token": kiosk.token}))
    record = open_checkin(place, member)
    try:
        if record is None:
            raise ValidationError(_("You are not checked in here."))
        services.checkout(record=record, actor=None)
    except ValidationError as error:
        return _kiosk_page(request, kiosk, problem=" ".join(error.messages), status=409)
    messages.success(request, _goodbye(member))
    return redirect(reverse("members:kiosk", kwargs={"token": kiosk.token}))


@require_http_methods(["GET", "POST"])
def kiosk(request, token):
    kiosk = _kiosk_of(token)
    if request.method == "POST":
        response = _kiosk_action(request, kiosk)
    elif request.GET.get("q", "").strip():
        response = _kiosk_search(request, kiosk)
    else:
        response = _kiosk_page(request, kiosk)
    return _secret_page(response)


@require_GET
def kiosk_qr(request, token):
    kiosk = _kiosk_of(token)
    response = HttpResponse(qr_svg(self_checkin_address(kiosk.place)), content_type="image/svg+xml")
    patch_cache_control(response, private=True, max_age=3600)
    response["X-Robots-Tag"] = "noindex"
    return response
