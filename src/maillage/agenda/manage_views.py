"""Managers' pages of the agenda: a place's (or a network's own) events, the event form, cancelling,
the participants with their waiting list, the CSV export, messages and the door's check-in.

Thin: forms validate, selectors read, services write, permissions decide. Whoever may not manage
the place's, network's or event's events gets a 404, as for every managers' page: nobody learns
who runs what. Every write goes through the services, which audit them.
"""

import csv
import io
import zoneinfo
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from maillage.core.text import fold
from maillage.places.exports import neutralise
from maillage.places.models import Network, Place

from . import permissions, selectors, services
from .manage_forms import (
    CancelForm,
    CapacityForm,
    CheckinSearchForm,
    EventForm,
    MessageForm,
    OnBehalfForm,
    RegistrationChoiceForm,
    RegistrationsForm,
    add_service_errors,
    zone_of,
)
from .models import Event, Registration

PAGE_SIZE = 30


def _managed_place(request, slug) -> Place:
    place = get_object_or_404(Place, slug=slug)
    if permissions.can_manage_events(request.user, place=place):
        return place
    raise Http404


def _managed_network(request, slug) -> Network:
    network = get_object_or_404(Network, slug=slug)
    if permissions.can_manage_events(request.user, network=network):
        return network
    raise Http404


def _managed_event(request, pk) -> Event:
    event = get_object_or_404(
        Event.objects.select_related("place", "network", "series", "booking__resource"), pk=pk
    )
    if permissions.can_manage_event(request.user, event):
        return event
    raise Http404


def _zone(event: Event) -> zoneinfo.ZoneInfo:
    return zone_of(place=event.place, network=event.network)


def _owner_context(*, place=None, network=None) -> dict:
    owner = place or network
    if place is not None:
        list_url = reverse("agenda:manage_place", kwargs={"slug": place.slug})
        create_url = reverse("agenda:create_place", kwargs={"slug": place.slug})
    else:
        list_url = reverse("agenda:manage_network", kwargs={"slug": network.slug})
        create_url = reverse("agenda:create_network", kwargs={"slug": network.slug})
    return {
        "owner": owner,
        "place": place,
        "network": network,
        "list_url": list_url,
        "create_url": create_url,
        "zone": zone_of(place=place, network=network).key,
    }


def _event_context(event: Event, section: str, **extra) -> dict:
    return {
        **_owner_context(place=event.place, network=event.network),
        "event": event,
        "section": section,
        "is_past": event.end <= timezone.now(),
        "is_cancelled": event.status == Event.Status.CANCELLED,
        **extra,
    }


# The events of a place or of a network --------------------------------------------------------


def _events_page(request, *, place=None, network=None):
    owner = {"place": place} if place is not None else {"network": network}
    now = timezone.now()
    tab = "past" if request.GET.get("tab") == "past" else "upcoming"
    events = Event.objects.filter(**owner)
    upcoming, past = events.filter(end__gt=now), events.filter(end__lte=now)
    if tab == "upcoming":
        shown = upcoming.order_by("start", "pk")
    else:
        shown = past.order_by("-start", "-pk")
    page = Paginator(shown, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "agenda/manage_events.html",
        {
            **_owner_context(place=place, network=network),
            "tab": tab,
            "page": page,
            "upcoming_count": upcoming.count(),
            "past_count": past.count(),
            "query": urlencode({"tab": tab}),
        },
    )


@login_required
@require_GET
def place_events(request, slug):
    return _events_page(request, place=_managed_place(request, slug))


@login_required
@require_GET
def network_events(request, slug):
    return _events_page(request, network=_managed_network(request, slug))


# The event form -------------------------------------------------------------------------------


def _show_service_errors(form: EventForm, error: ValidationError) -> None:
    """Errors of booking the room that name no field are about the room."""
    in_room = form.cleaned_data.get("location") == Event.Location.ROOM
    add_service_errors(form, error, fallback="room" if in_room and "room" in form.fields else None)


def _form_page(request, form: EventForm, context: dict):
    return render(
        request,
        "agenda/manage_form.html",
        {**context, "form": form},
        status=400 if form.is_bound else 200,
    )


def _create(request, *, place=None, network=None):
    form = EventForm(
        request.POST or None,
        request.FILES or None,
        place=place,
        network=network,
        author=request.user,
    )
    if request.method == "POST" and form.is_valid():
        try:
            events = services.event_create(
                author=request.user,
                place=place,
                network=network,
                rrule=form.cleaned_data["rrule"],
                room=form.cleaned_data.get("room"),
                **form.values(),
            )
        except ValidationError as error:
            _show_service_errors(form, error)
        else:
            first = events[0]
            if len(events) > 1:
                done = ngettext(
                    "The event “%(title)s” was created with %(count)d date.",
                    "The event “%(title)s” was created with %(count)d dates.",
                    len(events),
                ) % {"title": first.title, "count": len(events)}
            else:
                done = _("The event “%(title)s” was created.") % {"title": first.title}
            messages.success(request, done)
            return redirect("agenda:participants", pk=first.pk)
    return _form_page(
        request, form, {**_owner_context(place=place, network=network), "section": "new"}
    )


@login_required
@require_http_methods(["GET", "POST"])
def create_for_place(request, slug):
    return _create(request, place=_managed_place(request, slug))


@login_required
@require_http_methods(["GET", "POST"])
def create_for_network(request, slug):
    return _create(request, network=_managed_network(request, slug))


def _room_to_book(form: EventForm, event: Event):
    """The room to pass to the service: only a newly chosen one (the service books the current
    room again by itself when the times or the location change)."""
    room = form.cleaned_data.get("room")
    current = event.booking.resource_id if event.booking_id else None
    if room is None or room.pk == current:
        return None
    return room


@login_required
@require_http_methods(["GET", "POST"])
def edit(request, pk):
    event = _managed_event(request, pk)
    context = _event_context(event, "edit")
    if event.status == Event.Status.CANCELLED:
        return render(
            request,
            "agenda/manage_form.html",
            context,
            status=409 if request.method == "POST" else 200,
        )
    form = EventForm(
        request.POST or None,
        request.FILES or None,
        place=event.place,
        network=event.network,
        event=event,
    )
    if request.method == "POST" and form.is_valid():
        if not form.has_changed():
            messages.info(request, _("Nothing was changed."))
            return redirect("agenda:participants", pk=event.pk)
        asked = timezone.now()
        try:
            updated = services.event_update(
                event=event,
                author=request.user,
                room=_room_to_book(form, event),
                **form.values(),
            )
        except ValidationError as error:
            _show_service_errors(form, error)
        else:
            messages.success(request, _("The event “%(title)s” was saved.") % {"title": updated})
            moved = (updated.start, updated.end) != (event.start, event.end)
            active = updated.confirmed_count + updated.waitlisted_count
            if moved and active:
                messages.info(
                    request,
                    ngettext(
                        "%(count)d person was told of the new time by email.",
                        "%(count)d people were told of the new time by email.",
                        active,
                    )
                    % {"count": active},
                )
            promoted = Registration.objects.filter(event=updated, promoted_at__gte=asked).count()
            if promoted:
                messages.info(
                    request,
                    ngettext(
                        "%(count)d person moved from the waiting list.",
                        "%(count)d people moved from the waiting list.",
                        promoted,
                    )
                    % {"count": promoted},
                )
            return redirect("agenda:participants", pk=event.pk)
    return _form_page(request, form, context)


# Cancelling -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def cancel(request, pk):
    event = _managed_event(request, pk)
    form = CancelForm(request.POST or None)
    if event.status == Event.Status.CANCELLED:
        if request.method == "POST":
            messages.info(request, _("This event was already cancelled."))
            return redirect("agenda:participants", pk=event.pk)
    elif request.method == "POST" and form.is_valid():
        told = event.confirmed_count + event.waitlisted_count
        services.event_cancel(event=event, author=request.user, reason=form.cleaned_data["reason"])
        messages.success(
            request,
            ngettext(
                "The event “%(title)s” is cancelled; %(count)d person was told by email.",
                "The event “%(title)s” is cancelled; %(count)d people were told by email.",
                told,
            )
            % {"title": event.title, "count": told},
        )
        return redirect(_owner_context(place=event.place, network=event.network)["list_url"])
    return render(
        request,
        "agenda/manage_cancel.html",
        _event_context(event, "cancel", form=form),
        status=400 if form.is_bound else 200,
    )


# Participants ---------------------------------------------------------------------------------


def _language() -> str:
    """The interface language of the page, as the default language of emails."""
    language = (translation.get_language() or "")[:2]
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def _participants_page(request, event: Event, status: int = 200, **forms):
    registrations = selectors.participants(event)
    confirmed = [r for r in registrations if r.status == Registration.Status.CONFIRMED]
    waiting = [r for r in registrations if r.status == Registration.Status.WAITLISTED]
    context = _event_context(
        event,
        "participants",
        confirmed=confirmed,
        waiting=waiting,
        arrived=sum(1 for r in confirmed if r.checked_in_at),
        capacity_form=forms.get("capacity_form")
        or CapacityForm(initial={"capacity": event.capacity}),
        behalf_form=forms.get("behalf_form") or OnBehalfForm(initial={"language": _language()}),
        action_error=forms.get("action_error"),
    )
    return render(request, "agenda/manage_participants.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def participants(request, pk):
    event = _managed_event(request, pk)
    if request.method == "GET":
        return _participants_page(request, event)
    action = request.POST.get("action")
    handlers = {
        "capacity": _change_capacity,
        "registrations": _open_or_close,
        "cancel_registration": _cancel_registration,
        "register": _register_on_behalf,
    }
    if action not in handlers:
        return _participants_page(
            request, event, 400, action_error=_("This action is not known. Try again.")
        )
    if event.status == Event.Status.CANCELLED and action != "cancel_registration":
        return _participants_page(
            request, event, 409, action_error=_("This event is cancelled: nothing can change.")
        )
    return handlers[action](request, event)


def _back(event: Event, anchor: str = ""):
    url = reverse("agenda:participants", kwargs={"pk": event.pk})
    return redirect(f"{url}#{anchor}" if anchor else url)


def _change_capacity(request, event: Event):
    form = CapacityForm(request.POST)
    if form.is_valid():
        asked = timezone.now()
        try:
            services.event_update(
                event=event, author=request.user, capacity=form.cleaned_data["capacity"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            capacity = form.cleaned_data["capacity"]
            if capacity is None:
                messages.success(request, _("The event now has no limit of places."))
            else:
                messages.success(
                    request,
                    ngettext(
                        "The capacity is now %(count)d place.",
                        "The capacity is now %(count)d places.",
                        capacity,
                    )
                    % {"count": capacity},
                )
            promoted = Registration.objects.filter(event=event, promoted_at__gte=asked).count()
            if promoted:
                messages.info(
                    request,
                    ngettext(
                        "%(count)d person moved from the waiting list.",
                        "%(count)d people moved from the waiting list.",
                        promoted,
                    )
                    % {"count": promoted},
                )
            return _back(event, "capacity-title")
    return _participants_page(request, event, 400, capacity_form=form)


def _open_or_close(request, event: Event):
    form = RegistrationsForm(request.POST)
    if not form.is_valid():
        return _participants_page(
            request, event, 400, action_error=_("Choose to open or to close the registrations.")
        )
    opening = form.cleaned_data["registrations_open"]
    try:
        services.event_update(event=event, author=request.user, registrations_open=opening)
    except ValidationError as error:
        return _participants_page(request, event, 400, action_error=" ".join(error.messages))
    messages.success(
        request,
        _("Registrations are open.") if opening else _("Registrations are closed."),
    )
    return _back(event, "capacity-title")


def _registration_of(event: Event, form: RegistrationChoiceForm) -> Registration:
    """The registration a button names, if it is one of this event's (404 otherwise)."""
    if not form.is_valid():
        raise Http404
    return get_object_or_404(Registration, pk=form.cleaned_data["registration"], event=event)


def _cancel_registration(request, event: Event):
    registration = _registration_of(event, RegistrationChoiceForm(request.POST))
    if registration.status == Registration.Status.CANCELLED:
        messages.info(
            request,
            _("The registration of %(name)s was already cancelled.") % {"name": registration.name},
        )
        return _back(event)
    promoted = services.registration_cancel(registration=registration, actor=request.user)
    messages.success(
        request,
        _("The registration of %(name)s is cancelled and they were told by email.")
        % {"name": registration.name},
    )
    if promoted:
        messages.info(
            request,
            ngettext(
                "%(names)s moved from the waiting list and was told by email.",
                "%(names)s moved from the waiting list and were told by email.",
                len(promoted),
            )
            % {"names": ", ".join(r.name for r in promoted)},
        )
    return _back(event)


def _register_on_behalf(request, event: Event):
    form = OnBehalfForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            registration = services.register(
                event=event,
                name=data["name"],
                email=data["email"],
                language=data["language"],
                by_staff=request.user,
            )
        except services.AlreadyRegistered:
            form.add_error("email", _("This email is already registered for this event."))
        except services.RegistrationRefused as refused:
            add_service_errors(form, refused)
        else:
            if registration.status == Registration.Status.CONFIRMED:
                done = _("%(name)s is registered and will receive an email.")
            else:
                done = _("The event is full: %(name)s is on the waiting list and was told so.")
            messages.success(request, done % {"name": registration.name})
            return _back(event, "behalf-title")
    return _participants_page(request, event, 400, behalf_form=form)


# Export ---------------------------------------------------------------------------------------


@login_required
@require_GET
def participants_csv(request, pk):
    event = _managed_event(request, pk)
    zone = _zone(event)

    def local(moment):
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            _("Name"),
            _("Email"),
            _("Status"),
            _("Position on the waiting list"),
            _("Registered at"),
            _("Email confirmed"),
            _("Checked in at"),
        ]
    )
    for registration in selectors.participants(event):
        writer.writerow(
            neutralise(value)
            for value in (
                registration.name,
                registration.email,
                registration.get_status_display(),
                registration.position or "",
                local(registration.created_at),
                _("yes") if registration.email_confirmed_at else _("no"),
                local(registration.checked_in_at),
            )
        )
    day = event.start.astimezone(zone).date()
    name = f"{day:%Y-%m-%d}-{slugify(event.title)[:60] or 'event'}-participants.csv"
    # The byte order mark makes spreadsheets read the file as UTF-8 (accents, not "Ã©").
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


# Messages -------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def message(request, pk):
    event = _managed_event(request, pk)
    form = MessageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            sent = services.message_participants(
                event=event,
                author=request.user,
                subject=data["subject"],
                body=data["body"],
                include_waitlist=data["include_waitlist"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if sent:
                messages.success(
                    request,
                    ngettext(
                        "Your message was sent to %(count)d person.",
                        "Your message was sent to %(count)d people.",
                        sent,
                    )
                    % {"count": sent},
                )
            else:
                messages.info(request, _("Nobody is registered: no email was sent."))
            return redirect("agenda:participants", pk=event.pk)
    return render(
        request,
        "agenda/manage_message.html",
        _event_context(event, "message", form=form),
        status=400 if form.is_bound else 200,
    )


# Check-in at the door -------------------------------------------------------------------------


def _matches(registration: Registration, words: list[str]) -> bool:
    text = fold(f"{registration.name} {registration.email}")
    return all(word in text for word in words)


@login_required
@require_http_methods(["GET", "POST"])
def checkin(request, pk):
    event = _managed_event(request, pk)
    problem = None
    if request.method == "POST":
        form = RegistrationChoiceForm(request.POST)
        registration = _registration_of(event, form)
        undo = form.cleaned_data["undo"]
        try:
            services.check_in(registration=registration, actor=request.user, undo=undo)
        except ValidationError as error:
            problem = " ".join(error.messages)
        else:
            done = _("%(name)s: arrival undone.") if undo else _("%(name)s: arrived.")
            messages.success(request, done % {"name": registration.name})
            url = reverse("agenda:checkin", kwargs={"pk": event.pk})
            q = form.cleaned_data["q"].strip()
            query = f"?{urlencode({'q': q})}" if q else ""
            return redirect(f"{url}{query}#r-{registration.pk}")
        search = CheckinSearchForm({"q": form.cleaned_data["q"]})
    else:
        search = CheckinSearchForm(request.GET)
    q = search.cleaned_data["q"].strip() if search.is_valid() else ""
    confirmed = [
        r for r in selectors.participants(event) if r.status == Registration.Status.CONFIRMED
    ]
    words = fold(q).split()
    shown = [r for r in confirmed if _matches(r, words)] if words else confirmed
    return render(
        request,
        "agenda/manage_checkin.html",
        _event_context(
            event,
            "checkin",
            search=search,
            q=q,
            shown=shown,
            total=len(confirmed),
            arrived=sum(1 for r in confirmed if r.checked_in_at),
            problem=problem,
        ),
        status=409 if problem else 200,
    )
