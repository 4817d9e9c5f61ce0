"""Member pages of bookings: a resource and its coming week, the booking form (and the waiting
list of a taken slot), "My bookings" with the personal feed, a place's calendar. Thin: forms
validate, queries read, services write, permissions decide."""

import datetime as dt
import zoneinfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from maillage.places import vocabulary as place_vocabulary

from . import permissions, queries, selectors, services, vocabulary
from .forms import BookingForm, CalendarForm, FeedForm
from .models import Booking, Occurrence, Resource, WaitlistEntry

PAGE_SIZE = 10
SLOTS_SHOWN = 5
# The fields that say which slot a waiting-list entry is for, carried by the conflict page.
WAITLIST_FIELDS = ("date", "start_time", "end_time", "title", "private")


def _visible_resource(request, pk: int) -> Resource:
    resource = queries.visible_resource(pk, request.user)
    if resource is None:
        raise Http404
    return resource


def _zone(resource: Resource) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(resource.place.time_zone)


def _when(moment: dt.datetime, zone: zoneinfo.ZoneInfo) -> str:
    return date_format(moment.astimezone(zone), "l j F Y, H:i")


def resource_detail(request, pk):
    resource = _visible_resource(request, pk)
    now = timezone.now()
    today = now.astimezone(_zone(resource)).date()
    weekly = queries.weekly_hours(resource)
    is_staff = permissions.is_place_staff(request.user, resource.place)
    trained = selectors.holds_training(request.user, resource, on=today)
    context = {
        "resource": resource,
        "place": resource.place,
        "services": [term for term in map(place_vocabulary.term, resource.services) if term],
        "character": [vocabulary.character_label(code) for code in resource.character],
        "weekly_hours": [(WEEKDAYS[day], spans) for day, spans in weekly],
        "weekly_hours_given": any(spans for _day, spans in weekly),
        "own_hours": bool(resource.hours.all()),
        "week": queries.resource_week(resource, request.user, now=now),
        "obstacle": queries.booking_obstacle(
            resource, request.user, is_staff=is_staff, trained=trained
        ),
        "holds_training": trained,
        "is_staff": is_staff,
        "feed_url": request.build_absolute_uri(reverse("bookings:resource_feed", args=[pk])),
    }
    return render(request, "bookings/resource.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def book(request, pk):
    resource = _visible_resource(request, pk)
    zone = _zone(resource)
    staff = permissions.is_place_staff(request.user, resource.place)
    if request.POST.get("on_behalf") and not staff:
        # The field is offered to the place's staff only: a forged one is refused, not ignored.
        raise PermissionDenied
    form = BookingForm(
        request.POST or None,
        resource=resource,
        on_behalf=staff,
        initial=BookingForm.initial_from(request.GET, zone),
    )
    if request.method == "POST" and form.is_valid():
        if request.POST.get("waitlist"):
            response = _join_waitlist(request, resource, form)
        else:
            response = _book(request, resource, form)
        if response is not None:
            return response
    today = timezone.now().astimezone(zone).date()
    trained = selectors.holds_training(request.user, resource, on=today)
    context = {
        "resource": resource,
        "place": resource.place,
        "form": form,
        "obstacle": queries.booking_obstacle(
            resource, request.user, is_staff=staff, trained=trained
        ),
        "holds_training": trained,
        "is_staff": staff,
    }
    return render(
        request, "bookings/book.html", context, status=400 if request.method == "POST" else 200
    )


def _show_service_errors(form: BookingForm, error: ValidationError) -> None:
    """Put the errors of a service next to the fields they are about."""
    rule_field = "rrule" if form.data.get("rrule", "").strip() else "repeat"
    fields = {"start": "start_time", "end": "end_time", "rrule": rule_field}
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.error_dict.items():
        form.add_error(fields.get(name), errors)


def _book(request, resource: Resource, form: BookingForm):
    data = form.cleaned_data
    member = data.get("on_behalf")
    try:
        booking = services.booking_create(
            resource=resource,
            booker=member or request.user,
            start=data["start"],
            end=data["end"],
            title=data["title"],
            private=data["private"],
            rrule=data["rrule"],
            created_by=request.user if member else None,
        )
    except services.BookingConflict as conflict:
        return _conflict(request, resource, form, conflict.slot)
    except ValidationError as error:
        _show_service_errors(form, error)
        return None
    except PermissionError:
        raise PermissionDenied from None
    dates = booking.occurrences.count()
    pending = booking.occurrences.filter(status=Occurrence.Status.PENDING).exists()
    if member and member != request.user:
        messages.success(request, _booked_for_member(resource, member, dates, pending))
        # The booking is the member's: it is not on our own page, the resource's week shows it.
        return redirect("bookings:resource", pk=resource.pk)
    messages.success(request, _booked(resource, dates, pending))
    return redirect("bookings:mine")


def _booked(resource: Resource, dates: int, pending: bool) -> str:
    names = {"resource": resource.name, "count": dates}
    if pending:
        return (
            ngettext(
                "Your request for %(resource)s is sent: it waits for the approval of the place's "
                "team, who will answer you by email.",
                "Your request for %(resource)s (%(count)d dates) is sent: it waits for the "
                "approval of the place's team, who will answer you by email.",
                dates,
            )
            % names
        )
    return (
        ngettext(
            "Your booking of %(resource)s is confirmed.",
            "Your booking of %(resource)s is confirmed (%(count)d dates).",
            dates,
        )
        % names
    )


def _booked_for_member(resource: Resource, member, dates: int, pending: bool) -> str:
    names = {"resource": resource.name, "count": dates, "member": member.get_full_name()}
    if pending:
        return (
            ngettext(
                "The booking of %(resource)s for %(member)s waits for approval.",
                "The booking of %(resource)s for %(member)s (%(count)d dates) waits for approval.",
                dates,
            )
            % names
        )
    return (
        ngettext(
            "The booking of %(resource)s for %(member)s is confirmed.",
            "The booking of %(resource)s for %(member)s is confirmed (%(count)d dates).",
            dates,
        )
        % names
    )


def _conflict(request, resource: Resource, form: BookingForm, taken: services.Slot):
    """409: the slot in the way (its times only), other free times that day, the waiting list."""
    data = form.cleaned_data
    zone = _zone(resource)
    series = bool(data["rrule"])
    taken_start = taken.start.astimezone(zone)
    free = []
    if not series:
        free = queries.free_stretches(
            resource,
            taken_start.date(),
            request.user,
            now=timezone.now(),
            duration=data["end"] - data["start"],
        )
    context = {
        "resource": resource,
        "place": resource.place,
        "taken_start": taken_start,
        "taken_end": taken.end.astimezone(zone),
        "wanted_start": data["start"].astimezone(zone),
        "wanted_end": data["end"].astimezone(zone),
        "series": series,
        "free": free,
        "waitlist_offered": not series and not data.get("on_behalf"),
        "waitlist_fields": [form[name] for name in WAITLIST_FIELDS],
    }
    return render(request, "bookings/booking_conflict.html", context, status=409)


def _join_waitlist(request, resource: Resource, form: BookingForm):
    data = form.cleaned_data
    if data["rrule"] or data.get("on_behalf"):
        form.add_error(None, _("A waiting list is for one slot that you book for yourself."))
        return None
    try:
        entry = services.waitlist_join(
            resource=resource,
            user=request.user,
            start=data["start"],
            end=data["end"],
            title=data["title"],
            private=data["private"],
        )
    except ValidationError as error:
        _show_service_errors(form, error)
        return None
    messages.success(
        request,
        _(
            "You are number %(position)d on the waiting list for %(resource)s. If the slot frees "
            "up, it will be booked for you automatically and you will get an email."
        )
        % {"position": queries.waiting_position(entry), "resource": resource.name},
    )
    return redirect("bookings:mine")


@login_required
def mine(request):
    now = timezone.now()
    upcoming = Paginator(
        queries.member_bookings(request.user, now=now, upcoming=True), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    history = Paginator(
        queries.member_bookings(request.user, now=now, upcoming=False), PAGE_SIZE
    ).get_page(request.GET.get("history"))
    feed = queries.personal_feed(request.user)
    feed_url = ""
    if feed is not None:
        feed_url = request.build_absolute_uri(reverse("bookings:user_feed", args=[feed.token]))
    context = {
        "upcoming": upcoming,
        "upcoming_cards": [
            queries.booking_card(booking, request.user, now=now, upcoming=True, shown=SLOTS_SHOWN)
            for booking in upcoming
        ],
        "history": history,
        "history_cards": [
            queries.booking_card(booking, request.user, now=now, upcoming=False, shown=SLOTS_SHOWN)
            for booking in history
        ],
        "waiting": list(queries.waiting_entries(request.user, now=now)),
        "feed_url": feed_url,
        "webcal_url": feed_url.replace("https://", "webcal://", 1).replace(
            "http://", "webcal://", 1
        ),
    }
    return render(request, "bookings/mine.html", context)


def _back(request, default: str):
    """Where to go after a form posted from another page (only to this site)."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(default)


@login_required
@require_POST
def cancel(request, pk):
    booking = get_object_or_404(Booking.objects.select_related("resource__place", "booker"), pk=pk)
    if not permissions.can_cancel(request.user, booking):
        raise Http404
    try:
        freed = services.booking_cancel(booking=booking, actor=request.user)
    except services.CancellationTooLate as error:
        deadline = services.cancellation_deadline(booking)
        messages.error(
            request,
            _("%(reason)s The deadline was %(deadline)s.")
            % {"reason": error, "deadline": _when(deadline, _zone(booking.resource))},
        )
    except PermissionError:
        raise Http404 from None
    else:
        if freed:
            messages.success(
                request,
                ngettext(
                    "The booking of %(resource)s is cancelled.",
                    "The booking of %(resource)s is cancelled (%(count)d dates freed).",
                    freed,
                )
                % {"resource": booking.resource.name, "count": freed},
            )
        else:
            messages.info(request, _("This booking has no date left to cancel."))
    return _back(request, "bookings:mine")


@login_required
@require_POST
def waitlist_leave(request, pk):
    entry = get_object_or_404(WaitlistEntry, pk=pk, user=request.user)
    services.waitlist_leave(entry=entry)
    messages.success(request, _("You left the waiting list."))
    return redirect("bookings:mine")


@login_required
@require_POST
def feed(request):
    form = FeedForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Choose to renew or to revoke the address."))
    if form.cleaned_data["action"] == "renew":
        services.calendar_feed_renew(user=request.user)
        messages.success(
            request,
            _("Your calendar has a new secret address. The previous one no longer works."),
        )
    else:
        services.calendar_feed_revoke(user=request.user)
        messages.success(request, _("Your calendar address is revoked: it no longer works."))
    return redirect(reverse("bookings:mine") + "#feed")


def calendar(request, slug):
    place = queries.visible_place(slug, request.user)
    if place is None:
        raise Http404
    zone = zoneinfo.ZoneInfo(place.time_zone)
    now = timezone.now()
    today = now.astimezone(zone).date()
    form = CalendarForm(request.GET or None, today=today)
    day, view = today, "day"
    if form.is_bound and form.is_valid():
        day, view = form.cleaned_data["date"], form.cleaned_data["view"]
    if view == "week":
        first = day - dt.timedelta(days=day.weekday())
        dates = [first + dt.timedelta(days=offset) for offset in range(7)]
        step = dt.timedelta(days=7)
    else:
        first, dates, step = day, [day], dt.timedelta(days=1)
    context = {
        "place": place,
        "form": form,
        "view": view,
        "day": day,
        "today": today,
        "dates": dates,
        "previous": first - step,
        "next": first + step,
        "calendar": queries.place_calendar(
            place, request.user, dates=dates, now=now, hourly=view == "day"
        ),
        "feed_url": request.build_absolute_uri(reverse("bookings:place_feed", args=[place.slug])),
    }
    return render(request, "bookings/calendar.html", context, status=400 if form.errors else 200)
