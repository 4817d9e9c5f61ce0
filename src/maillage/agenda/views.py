"""Public pages of the agenda: the network agenda (a list by day or a month's grid), an event's
page with its registration form, JSON-LD and single-event calendar file, the page of a
registration (the link of its emails), "My registrations" and the widget that places embed in
their own websites. Thin: forms validate, selectors read, services write, permissions decide."""

import calendar as month_calendar
import dataclasses
import datetime as dt
import json
import re
import zoneinfo
from urllib.parse import urlencode, urlsplit

import icalendar
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.core import signing
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dates import WEEKDAYS, WEEKDAYS_ABBR
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from maillage.core.html import clean_html, html_to_text
from maillage.core.middleware import ContentSecurityPolicyMiddleware, too_many_requests
from maillage.core.ratelimit import hit_request, parse_rate
from maillage.places.models import Network, Place

from . import permissions, selectors, services, vocabulary
from .forms import (
    DEFAULT_WIDGET_COLOR,
    DEFAULT_WIDGET_LIMIT,
    AgendaFilterForm,
    RegistrationForm,
    day_start,
    network_zone,
    text_color_on,
    widget_color,
    widget_limit,
)
from .models import Event, Registration

PAGE_SIZE = 20
MINE_PAGE_SIZE = 10
# Titles written in a day of the month's grid; the others are counted ("3 more").
MONTH_TITLES_PER_DAY = 3
PLACE_PAGE_EVENTS = 5
# The query parameters that choose how the agenda is shown, not which events.
DISPLAY_PARAMETERS = ("page", "view", "month")
_CATEGORIES = {term.code: term.label for term in vocabulary.CATEGORIES}
_AUDIENCES = {term.code: term.label for term in vocabulary.AUDIENCES}


# Cards ----------------------------------------------------------------------------------------


def event_zone(event: Event) -> zoneinfo.ZoneInfo:
    """The event's wall clock: its place's time zone, the network's for a network's event."""
    return zoneinfo.ZoneInfo(event.place.time_zone if event.place_id else settings.TIME_ZONE)


def _last_day(start: dt.datetime, end: dt.datetime) -> dt.date:
    """The last day an event covers (an event ending at midnight ends the day before)."""
    last = end.date()
    if end.time() == dt.time(0, 0) and last > start.date():
        last -= dt.timedelta(days=1)
    return last


def event_state(event: Event, now: dt.datetime) -> str:
    """What a badge says of an event: cancelled, draft, over, no registration, closed, full
    (with or without a waiting list), places left, or open (no limit)."""
    if event.status == Event.Status.CANCELLED:
        return "cancelled"
    if event.status == Event.Status.DRAFT:
        return "draft"
    if event.end <= now:
        return "over"
    if not event.registration_required:
        return "no_registration"
    if event.start <= now:
        return "started"
    if not event.registrations_open:
        return "closed"
    if event.capacity is not None and event.places_left == 0:
        return "waitlist" if event.waitlist_enabled else "full"
    return "places_left" if event.capacity is not None else "open"


def text_language(event: Event, field: str, language: str | None) -> str:
    """The language `event.localized(field, language)` is written in (for `lang` attributes)."""
    code = (language or "")[:2]
    return code if (event.translations or {}).get(code, {}).get(field) else event.language


def event_card(event: Event, now: dt.datetime, language: str | None = None) -> dict:
    """What a list shows of an event: its title in the visitor's language, its times on its
    place's clock, where, what, for whom, the price and its state."""
    zone = event_zone(event)
    start, end = event.start.astimezone(zone), event.end.astimezone(zone)
    language = language or translation.get_language()
    return {
        "event": event,
        "url": event.get_absolute_url(),
        "title": event.localized("title", language),
        "title_language": text_language(event, "title", language),
        "start": start,
        "end": end,
        "zone": zone.key,
        "same_day": _last_day(start, end) == start.date(),
        "category": _CATEGORIES.get(event.category, event.category),
        "audience": _AUDIENCES.get(event.audience, event.audience),
        "state": event_state(event, now),
        "places_left": event.places_left,
    }


def upcoming_cards(user, filters: selectors.AgendaFilters, limit: int) -> list[dict]:
    """The next `limit` events from now matching `filters`, as cards (the place page, the
    widget)."""
    now = timezone.now()
    events = selectors.agenda_events(user, dataclasses.replace(filters, start=now))[:limit]
    return [event_card(event, now) for event in events]


def widget_snippet(request, **criteria) -> str:
    """The HTML to paste in another website to show the widget of these criteria (with the
    colour and the number of events written out, for people to change them)."""
    query = urlencode(
        {
            **{name: value for name, value in criteria.items() if value},
            "color": DEFAULT_WIDGET_COLOR.lstrip("#"),
            "limit": DEFAULT_WIDGET_LIMIT,
        }
    )
    url = request.build_absolute_uri(reverse("agenda:widget")) + f"?{query}"
    title = _("Coming events")
    return (
        f'<iframe src="{escape(url)}" title="{escape(title)}" width="100%" height="420" '
        'style="border:0;max-width:40rem" loading="lazy"></iframe>'
    )


# The network agenda ---------------------------------------------------------------------------


def _query(request, *, drop=DISPLAY_PARAMETERS) -> str:
    """The current query string without the parameters in `drop`."""
    query = request.GET.copy()
    for name in drop:
        query.pop(name, None)
    return query.urlencode()


def _with(query: str, **extra) -> str:
    return "&".join(part for part in (query, urlencode(extra)) if part)


def _grouped_by_day(cards: list[dict], first_day: dt.date | None) -> list[dict]:
    """Cards in runs of one day; those that started before `first_day` come under "under way"
    (day None)."""
    days: list[dict] = []
    for card in cards:
        day = card["start"].date()
        if first_day is not None and day < first_day:
            day = None
        if not days or days[-1]["date"] != day:
            days.append({"date": day, "cards": []})
        days[-1]["cards"].append(card)
    return days


def _month_grid(
    events: list[Event], first: dt.date, now: dt.datetime, query: str, language: str
) -> list[list[dict]]:
    """Weeks (Monday first) of the month of `first`: each day with its events (an event of
    several days on each of them), the first few titled, and a link to the day's list."""
    by_day: dict[dt.date, list[dict]] = {}
    last = first.replace(day=month_calendar.monthrange(first.year, first.month)[1])
    for event in events:
        card = event_card(event, now, language)
        day, final = (
            max(card["start"].date(), first),
            min(_last_day(card["start"], card["end"]), last),
        )
        while day <= final:
            by_day.setdefault(day, []).append(card)
            day += dt.timedelta(days=1)
    today = now.astimezone(network_zone()).date()
    weeks = []
    for week in month_calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month):
        cells = []
        for day in week:
            cards = by_day.get(day, []) if day.month == first.month else []
            cells.append(
                {
                    "date": day,
                    "in_month": day.month == first.month,
                    "today": day == today,
                    "cards": cards[:MONTH_TITLES_PER_DAY],
                    "count": len(cards),
                    "more": max(len(cards) - MONTH_TITLES_PER_DAY, 0),
                    "url": "?" + _with(query, **{"from": day.isoformat(), "to": day.isoformat()}),
                }
            )
        weeks.append(cells)
    return weeks


def _next_month(first: dt.date) -> dt.date:
    return (first + dt.timedelta(days=32)).replace(day=1)


def _previous_month(first: dt.date) -> dt.date:
    return (first - dt.timedelta(days=1)).replace(day=1)


def _scope(data: dict) -> tuple[Place | None, Network | None]:
    place = Place.objects.filter(slug=data.get("place")).first() if data.get("place") else None
    network = (
        Network.objects.filter(slug=data.get("network")).first() if data.get("network") else None
    )
    return place, network


@require_safe
def agenda(request):
    form = AgendaFilterForm(request.GET)
    now = timezone.now()
    language = translation.get_language()
    filter_query = _query(request)
    context = {
        "form": form,
        "networks": Network.objects.order_by("name"),
        "filter_query": filter_query,
        # The feeds keep the criteria, not the page's display.
        "feed_query": filter_query,
        "view": "list",
    }
    if not form.is_valid():
        context["view"] = "month" if request.GET.get("view") == "month" else "list"
        return render(request, "agenda/agenda.html", context, status=400)
    data = form.cleaned_data
    filters = data["filters"]
    place, network = _scope(data)
    context |= {
        "place": place,
        "network": network,
        "from_date": data["from_date"],
        "to_date": data["to_date"],
        "view": data["view"],
        "widget_snippet": widget_snippet(
            request, place=place.slug if place else "", network=network.slug if network else ""
        ),
    }
    if data["view"] == "month":
        first = data.get("month") or data["from_date"].replace(day=1)
        following = _next_month(first)
        month_filters = dataclasses.replace(
            filters, start=day_start(first), end=day_start(following)
        )
        events = list(selectors.agenda_events(request.user, month_filters))
        # Without the dates: each day of the grid links to the list of that day.
        day_query = _query(request, drop=(*DISPLAY_PARAMETERS, "from", "to"))
        context |= {
            "month": first,
            "month_count": len(events),
            "weeks": _month_grid(events, first, now, day_query, language),
            "weekdays": [(WEEKDAYS[day], WEEKDAYS_ABBR[day]) for day in range(7)],
            "previous_url": "?"
            + _with(filter_query, view="month", month=f"{_previous_month(first):%Y-%m}"),
            "next_url": "?" + _with(filter_query, view="month", month=f"{following:%Y-%m}"),
        }
        return render(request, "agenda/agenda.html", context)
    page = Paginator(selectors.agenda_events(request.user, filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    cards = [event_card(event, now, language) for event in page.object_list]
    context |= {
        "page": page,
        "days": _grouped_by_day(cards, data["from_date"]),
        "page_query": _query(request, drop=("page",)),
    }
    return render(request, "agenda/agenda.html", context)


# An event -------------------------------------------------------------------------------------


def _visible_event(request, pk: int) -> Event:
    """The event, when this visitor may see it; a draft is a 404 to those who cannot manage it."""
    event = get_object_or_404(
        Event.objects.select_related("place", "network", "booking__resource"), pk=pk
    )
    if not permissions.can_see_event(request.user, event):
        raise Http404
    return event


def _room_name(event: Event) -> str:
    if event.location != Event.Location.ROOM or event.booking is None:
        return ""
    return event.booking.resource.name


def _location_text(event: Event) -> str:
    """Where the event is, in one line (calendar files)."""
    if event.location == Event.Location.ONLINE:
        return event.online_url
    if event.location == Event.Location.ADDRESS:
        return event.address
    if event.place_id is None:
        return event.network.name if event.network_id else ""
    place = event.place
    town = " ".join(part for part in (place.postcode, place.town) if part)
    parts = (_room_name(event), place.name, place.address, town)
    return ", ".join(part for part in parts if part)


def _own_registration(user, event: Event) -> Registration | None:
    """The signed-in person's active registration for the event, with its rank when waiting."""
    if not user.is_authenticated:
        return None
    registration = (
        Registration.objects.filter(event=event, user=user, status__in=Registration.ACTIVE)
        .order_by("-created_at")
        .first()
    )
    if registration is not None:
        registration.position = services.position(registration)
        registration.secret = services.registration_secret(registration)
    return registration


_SCRIPT_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"}


def _organiser(event: Event, request) -> dict:
    if event.organiser_name:
        organiser = {"@type": "Organization", "name": event.organiser_name}
    elif event.place_id:
        organiser = {
            "@type": "Organization",
            "name": event.place.name,
            "url": request.build_absolute_uri(event.place.get_absolute_url()),
        }
    else:
        organiser = {
            "@type": "Organization",
            "name": event.network.name if event.network_id else "",
        }
    if event.organiser_email:
        organiser["email"] = event.organiser_email
    if event.organiser_phone:
        organiser["telephone"] = event.organiser_phone
    return organiser


def _jsonld_location(event: Event, request) -> dict:
    if event.location == Event.Location.ONLINE:
        return {"@type": "VirtualLocation", "url": event.online_url}
    if event.location == Event.Location.ADDRESS:
        return {
            "@type": "Place",
            "name": event.address,
            "address": {"@type": "PostalAddress", "streetAddress": event.address},
        }
    if event.place_id is None:
        return {"@type": "Place", "name": event.network.name if event.network_id else ""}
    place = event.place
    room = _room_name(event)
    return {
        "@type": "Place",
        "name": f"{room}, {place.name}" if room else place.name,
        "url": request.build_absolute_uri(place.get_absolute_url()),
        "address": {
            "@type": "PostalAddress",
            "streetAddress": place.address,
            "postalCode": place.postcode,
            "addressLocality": place.town,
            "addressCountry": place.country,
        },
        "geo": {
            "@type": "GeoCoordinates",
            "latitude": place.latitude,
            "longitude": place.longitude,
        },
    }


def event_jsonld(event: Event, request, *, title: str, description: str) -> dict:
    """A schema.org Event: when, where, who organises, the price, the places and the state."""
    zone = event_zone(event)
    url = request.build_absolute_uri(event.get_absolute_url())
    cancelled = event.status == Event.Status.CANCELLED
    online = event.location == Event.Location.ONLINE
    data = {
        "@context": "https://schema.org",
        "@type": "Event",
        "@id": url,
        "url": url,
        "name": title,
        "startDate": event.start.astimezone(zone).isoformat(),
        "endDate": event.end.astimezone(zone).isoformat(),
        "eventStatus": "https://schema.org/"
        + ("EventCancelled" if cancelled else "EventScheduled"),
        "eventAttendanceMode": "https://schema.org/"
        + ("OnlineEventAttendanceMode" if online else "OfflineEventAttendanceMode"),
        "location": _jsonld_location(event, request),
        "organizer": _organiser(event, request),
        "isAccessibleForFree": event.is_free,
        "inLanguage": event.language,
    }
    text = html_to_text(description)
    if text:
        data["description"] = text
    offer = {
        "@type": "Offer",
        "url": url,
        "availability": "https://schema.org/"
        + ("SoldOut" if event.places_left == 0 and not event.waitlist_enabled else "InStock"),
    }
    if event.is_free:
        offer |= {"price": "0", "priceCurrency": "EUR"}
    if event.price_info:
        offer["description"] = event.price_info
    data["offers"] = offer
    if event.capacity is not None:
        data["maximumAttendeeCapacity"] = event.capacity
        data["remainingAttendeeCapacity"] = event.places_left
    if event.image:
        data["image"] = request.build_absolute_uri(event.image.url)
    return data


def jsonld_script(data: dict) -> str:
    """JSON safe inside a <script> element: no "</script>" or "<!--" can end it early."""
    return json.dumps(data, ensure_ascii=False).translate(_SCRIPT_ESCAPES)


def _host() -> str:
    return urlsplit(settings.MAILLAGE_BASE_URL).hostname or "maillage"


def _event_ics(request, event: Event) -> HttpResponse:
    """The event alone as an iCalendar file, to add it to one's calendar."""
    zone = event_zone(event)
    language = translation.get_language()
    url = request.build_absolute_uri(event.get_absolute_url())
    description = html_to_text(event.localized("description", language))
    if event.status == Event.Status.CANCELLED and event.cancellation_reason:
        description = f"{_('Cancelled')}: {event.cancellation_reason}\n\n{description}".strip()
    vevent = icalendar.Event.new(
        uid=f"event-{event.pk}@{_host()}",
        start=event.start.astimezone(zone),
        end=event.end.astimezone(zone),
        stamp=event.updated_at.astimezone(dt.UTC),
        last_modified=event.updated_at.astimezone(dt.UTC),
        summary=event.localized("title", language),
        location=_location_text(event),
        url=url,
        description=description or None,
        status="CANCELLED" if event.status == Event.Status.CANCELLED else "CONFIRMED",
    )
    calendar = icalendar.Calendar.new(
        prodid=f"-//{settings.MAILLAGE_SITE_NAME}//Agenda//EN",
        method="PUBLISH",
        subcomponents=[vevent],
    )
    calendar.add_missing_timezones(
        first_date=event.start.astimezone(zone).date() - dt.timedelta(days=1),
        last_date=event.end.astimezone(zone).date(),
    )
    response = HttpResponse(calendar.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="event-{event.pk}.ics"'
    return response


def _event_page(request, event: Event, *, form=None, errors=(), status=200):
    now = timezone.now()
    language = translation.get_language()
    card = event_card(event, now, language)
    description = event.localized("description", language)
    registration = _own_registration(request.user, event)
    if form is None and not request.user.is_authenticated:
        form = RegistrationForm()
    context = {
        "event": event,
        "card": card,
        "place": event.place,
        "room_name": _room_name(event),
        # Sanitised by the services when it was written; cleaned again here (it costs
        # microseconds) so that a row written by another path can never carry a script.
        "description": mark_safe(clean_html(description)),
        "description_language": text_language(event, "description", language),
        "registration": registration,
        "form": form,
        "errors": list(errors),
        "can_manage": request.user.is_authenticated
        and permissions.can_manage_event(request.user, event),
        "registrable": card["state"] in ("open", "places_left", "waitlist"),
        "jsonld": jsonld_script(
            event_jsonld(event, request, title=card["title"], description=description)
        ),
        "ics_url": event.get_absolute_url() + "?format=ics",
        "login_url": reverse("account_login") + "?" + urlencode({"next": request.path}),
    }
    return render(request, "agenda/event.html", context, status=status)


@require_safe
def event(request, pk, slug):
    event = _visible_event(request, pk)
    url = event.get_absolute_url()
    if request.path != url:
        query = request.META.get("QUERY_STRING", "")
        return HttpResponsePermanentRedirect(url + (f"?{query}" if query else ""))
    if request.GET.get("format") == "ics":
        return _event_ics(request, event)
    return _event_page(request, event)


# Registering ----------------------------------------------------------------------------------

# The registration page reached right after registering, before the email arrives: it shows and
# cancels the registration like the link of the emails, but cannot confirm the address — that
# proof must come from the mailbox (services.release_unconfirmed frees unconfirmed places).
_PAGE_LINKS = signing.Signer(salt="maillage.agenda.registration.page")


def _page_secret(registration: Registration) -> str:
    return _PAGE_LINKS.sign(str(registration.pk))


def _by_secret(secret: str) -> tuple[Registration | None, bool]:
    """The registration of a link, and whether it is the link of its emails."""
    registration = services.registration_by_secret(secret)
    if registration is not None:
        return registration, True
    try:
        pk = int(_PAGE_LINKS.unsign(secret or ""))
    except (signing.BadSignature, ValueError):
        return None, False
    found = Registration.objects.select_related("event__place").filter(pk=pk).first()
    return found, False


def _registered_message(registration: Registration, title: str) -> str:
    if registration.status == Registration.Status.CONFIRMED:
        text = _("You have a place at “%(title)s”.") % {"title": title}
    else:
        text = _("You are number %(position)d on the waiting list for “%(title)s”.") % {
            "position": services.position(registration) or 1,
            "title": title,
        }
    if registration.email_confirmed_at is None:
        return (
            text
            + " "
            + _(
                "We sent you an email: follow its link within %(hours)d hours to confirm your "
                "address, or the place will be given to someone else."
            )
            % {"hours": services.UNCONFIRMED_HOURS}
        )
    return text + " " + _("We sent you an email with the details.")


@require_POST
def register(request, pk):
    event = _visible_event(request, pk)
    user = request.user if request.user.is_authenticated else None
    form = None if user else RegistrationForm(request.POST)
    if form is not None and not form.is_valid():
        return _event_page(request, event, form=form, status=400)
    limit, window = parse_rate(settings.MAILLAGE_REGISTRATIONS_PER_IP)
    allowed = hit_request(request, "agenda.register", limit=limit, window_seconds=window)
    if not allowed.allowed:
        return too_many_requests(request, allowed.retry_after)
    who = (
        {"user": user}
        if user
        else {
            "name": form.cleaned_data["name"],
            "email": form.cleaned_data["email"],
        }
    )
    try:
        # An account's own language wins for its emails; others get the page's language.
        language = None if user else translation.get_language()
        registration = services.register(event=event, language=language, **who)
    except services.AlreadyRegistered:
        context = {"event": event, "title": event.localized("title", translation.get_language())}
        return render(request, "agenda/register_conflict.html", context, status=409)
    except services.RegistrationRefused as refusal:
        errors = []
        if hasattr(refusal, "error_dict") and form is not None:
            for name, field_errors in refusal.error_dict.items():
                form.add_error(name if name in form.fields else None, field_errors)
        else:
            errors = refusal.messages
        return _event_page(request, event, form=form, errors=errors, status=400)
    messages.success(
        request,
        _registered_message(registration, event.localized("title", translation.get_language())),
    )
    secret = services.registration_secret(registration) if user else _page_secret(registration)
    return redirect("agenda:registration", secret=secret)


def _safe_next(request) -> str:
    """The page a form was posted from, when it is one of this site's (else "")."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def _back(request, default: str):
    """Where to go after a form posted from another page (only to this site)."""
    return redirect(_safe_next(request) or default)


def _private(response: HttpResponse) -> HttpResponse:
    """A secret address: not for search engines, shared caches or other sites' logs."""
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    # Not "no-referrer": browsers then send "Origin: null" with the page's own forms, which
    # Django's CSRF check refuses. "same-origin" keeps the address from other sites all the same.
    response["Referrer-Policy"] = "same-origin"
    return response


def _registration_page(request, registration, secret, from_email, *, template, status=200):
    event = registration.event
    language = translation.get_language()
    registration.position = services.position(registration)
    now = timezone.now()
    context = {
        "registration": registration,
        "event": event,
        "card": event_card(event, now, language),
        "secret": secret,
        "from_email": from_email,
        "active": registration.status in Registration.ACTIVE,
        "cancellable": registration.status in Registration.ACTIVE and event.start > now,
        "confirm_before": registration.created_at + dt.timedelta(hours=services.UNCONFIRMED_HOURS),
        "next": _safe_next(request),
    }
    return _private(render(request, template, context, status=status))


@require_http_methods(["GET", "POST"])
def registration(request, secret):
    registration, from_email = _by_secret(secret)
    if registration is None:
        raise Http404
    here = reverse("agenda:registration", kwargs={"secret": secret})
    if request.method == "GET":
        return _registration_page(
            request, registration, secret, from_email, template="agenda/registration.html"
        )
    action = request.POST.get("action")
    if action == "confirm":
        if not from_email:
            messages.error(
                request,
                _("Follow the link of the email we sent you to confirm your address."),
            )
            return _registration_page(
                request,
                registration,
                secret,
                from_email,
                template="agenda/registration.html",
                status=403,
            )
        services.registration_confirm_email(registration)
        messages.success(request, _("Thank you: your address is confirmed."))
        return _private(redirect(here))
    if action != "cancel":
        messages.error(request, _("Choose to confirm your address or to cancel."))
        return _registration_page(
            request,
            registration,
            secret,
            from_email,
            template="agenda/registration.html",
            status=400,
        )
    if registration.status not in Registration.ACTIVE:
        messages.info(request, _("This registration was already cancelled."))
        return _private(redirect(here))
    if registration.event.start <= timezone.now():
        messages.error(
            request, _("The event has started: a registration can no longer be cancelled.")
        )
        return _registration_page(
            request,
            registration,
            secret,
            from_email,
            template="agenda/registration.html",
            status=400,
        )
    if request.POST.get("confirm") != "yes":
        return _registration_page(
            request, registration, secret, from_email, template="agenda/register_cancel.html"
        )
    actor = request.user if request.user.is_authenticated else None
    services.registration_cancel(registration=registration, actor=actor)
    messages.success(
        request,
        _("Your registration for “%(title)s” is cancelled.")
        % {"title": registration.event.localized("title", translation.get_language())},
    )
    return _private(_back(request, here))


@login_required
@require_safe
def mine(request):
    now = timezone.now()
    language = translation.get_language()
    registrations = Registration.objects.filter(user=request.user).select_related(
        "event__place", "event__network"
    )
    coming = Q(status__in=Registration.ACTIVE, event__end__gt=now)
    upcoming = Paginator(
        registrations.filter(coming).order_by("event__start", "id"), MINE_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    history = Paginator(
        registrations.exclude(coming).order_by("-event__start", "-id"), MINE_PAGE_SIZE
    ).get_page(request.GET.get("history"))

    def entry(registration: Registration) -> dict:
        return {
            "registration": registration,
            "card": event_card(registration.event, now, language),
            "position": services.position(registration),
            "secret": services.registration_secret(registration),
            "cancellable": registration.status in Registration.ACTIVE
            and registration.event.start > now,
        }

    context = {
        "upcoming": upcoming,
        "upcoming_entries": [entry(registration) for registration in upcoming],
        "history": history,
        "history_entries": [entry(registration) for registration in history],
    }
    return render(request, "agenda/mine.html", context)


# The widget -----------------------------------------------------------------------------------


def _framable_policy() -> str:
    """The site's Content-Security-Policy, but any website may frame the page."""
    policy = ContentSecurityPolicyMiddleware(get_response=None).policy
    return re.sub(r"frame-ancestors [^;]*", "frame-ancestors *", policy)


@xframe_options_exempt
@cache_control(max_age=300)
@require_safe
def widget(request):
    color = widget_color(request.GET.get("color"))
    limit = widget_limit(request.GET.get("limit"))
    place_slug = request.GET.get("place", "").strip()
    network_slug = request.GET.get("network", "").strip()
    place = Place.objects.filter(slug=place_slug, is_published=True).first() if place_slug else None
    network = Network.objects.filter(slug=network_slug).first() if network_slug else None
    context = {
        "color": color,
        "text_color": text_color_on(color),
        "place": place,
        "network": network,
        "cards": [],
    }
    status = 200
    if (place_slug and place is None) or (network_slug and network is None):
        status = 404
    else:
        filters = selectors.AgendaFilters(
            place=place.slug if place else "", network=network.slug if network else ""
        )
        # What any visitor sees, whoever is signed in: the widget may be cached and shared.
        context["cards"] = upcoming_cards(AnonymousUser(), filters, limit)
        for card in context["cards"]:
            card["absolute_url"] = request.build_absolute_uri(card["url"])
        query = {"place": place.slug} if place else {"network": network.slug} if network else {}
        context["agenda_url"] = request.build_absolute_uri(
            reverse("agenda:index") + (f"?{urlencode(query)}" if query else "")
        )
    response = render(request, "agenda/widget.html", context, status=status)
    response["Content-Security-Policy"] = _framable_policy()
    return response
