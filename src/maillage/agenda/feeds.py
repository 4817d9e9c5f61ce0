"""The agenda's public feeds: iCalendar (RFC 5545, with the `icalendar` package) and RSS 2.0.

Both take the agenda page's own filters as query parameters (read by forms.AgendaFilterForm),
so any view of the agenda (a place, a network, the workshops near a town, the free events for
young people...) can be followed in a calendar application or a feed reader with the same query
string:

    network=SLUG  place=SLUG  category=CODE (repeatable)  audience=CODE (repeatable)
    free=free|paid  q=WORDS  town=NAME or near=LAT,LON [radius_km=KM]
    from=YYYY-MM-DD  to=YYYY-MM-DD (included)
    lang=fr|es|en|ca (titles and labels; the request's language otherwise)
    tz=utc (iCalendar only: times in UTC instead of the places' time zones)

Without dates the feeds cover the coming 90 days from now, with at most 500 events; a query
that cannot be read is answered 400 with a plain-text message.
Feeds are public: they list what an anonymous visitor sees (no drafts, whoever asks). Cancelled
events stay in the feeds with STATUS:CANCELLED (and a "Cancelled" mark in RSS), so that a
subscribed calendar shows the cancellation instead of silently losing the event.
"""

import datetime as dt
import zoneinfo
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import HttpResponse, HttpResponseBadRequest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control
from django.utils.feedgenerator import Rss201rev2Feed
from django.utils.formats import date_format
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe
from icalendar import Calendar
from icalendar import Event as CalendarEvent

from maillage.core.html import html_to_text
from maillage.places.models import Network, Place

from . import selectors, vocabulary
from .forms import AgendaFilterForm
from .models import Event

AHEAD = dt.timedelta(days=90)
MAX_EVENTS = 500
REFRESH = dt.timedelta(hours=1)
# Shared caches and browsers may keep a feed this long: calendar clients poll every hour anyway.
CACHE_SECONDS = 15 * 60
RSS_EXCERPT_WORDS = 60


class InvalidFilter(ValueError):
    """A query parameter that cannot be read; its message is for people."""


class FeedFilters:
    """The parsed query: the selector's filters plus what names and renders the feed."""

    def __init__(self, filters: selectors.AgendaFilters, place, network, language: str):
        self.filters = filters
        self.place = place
        self.network = network
        self.language = language


def _language(params) -> str:
    code = params.get("lang", "").strip().lower()
    if not code:
        return (translation.get_language() or settings.LANGUAGE_CODE)[:2]
    if code not in dict(settings.LANGUAGES):
        raise InvalidFilter(
            _("Unknown language “%(code)s”: use one of %(codes)s.")
            % {"code": code, "codes": ", ".join(dict(settings.LANGUAGES))}
        )
    return code


def _errors_text(form: AgendaFilterForm) -> str:
    lines = []
    for name, messages in form.errors.items():
        for message in messages:
            lines.append(message if name == NON_FIELD_ERRORS else f"{name}: {message}")
    return "\n".join(lines)


def parse_filters(params) -> FeedFilters:
    """Read the feed's query parameters (a QueryDict) with the agenda's own filter form, so that
    a feed follows exactly what the agenda page with the same query string lists; or raise
    InvalidFilter. Without dates, from now on for AHEAD (the page starts at today's midnight)."""
    language = _language(params)
    form = AgendaFilterForm(params)
    if not form.is_valid():
        raise InvalidFilter(_errors_text(form))
    filters = form.cleaned_data["filters"]
    if not params.get("from", "").strip() and not params.get("to", "").strip():
        filters.start = timezone.now()
        filters.end = filters.start + AHEAD
    elif not params.get("to", "").strip():
        filters.end = filters.start + AHEAD
    network = Network.objects.filter(slug=filters.network).first() if filters.network else None
    place = Place.objects.filter(slug=filters.place).first() if filters.place else None
    return FeedFilters(filters, place, network, language)


def feed_events(parsed: FeedFilters) -> list[Event]:
    """What an anonymous visitor sees of the agenda with these filters, first start first."""
    events = selectors.agenda_events(AnonymousUser(), parsed.filters)
    return list(events.select_related("booking__resource")[:MAX_EVENTS])


# Shared pieces ---------------------------------------------------------------------------------


def _host() -> str:
    """The host that names UIDs: the site's configured address, never the one a client used."""
    return urlsplit(settings.MAILLAGE_BASE_URL).hostname or "maillage"


def _zone(event: Event) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(event.place.time_zone if event.place_id else settings.TIME_ZONE)


def _feed_name(parsed: FeedFilters) -> str:
    if parsed.place is not None:
        owner = parsed.place.name
    elif parsed.network is not None:
        owner = parsed.network.name
    else:
        owner = settings.MAILLAGE_SITE_NAME
    return _("Agenda · %(name)s") % {"name": owner}


def _location(event: Event) -> str:
    if event.location == Event.Location.ONLINE:
        return _("Online: %(url)s") % {"url": event.online_url}
    if event.location == Event.Location.ADDRESS:
        return event.address
    parts = []
    if event.location == Event.Location.ROOM and event.booking_id:
        parts.append(event.booking.resource.name)
    if event.place_id:
        place = event.place
        town = " ".join(part for part in (place.postcode, place.town) if part)
        parts += [place.name, place.address, town]
    return ", ".join(part for part in parts if part)


_CATEGORY_LABELS = {term.code: term.label for term in vocabulary.CATEGORIES}


def _category(event: Event) -> str:
    return str(_CATEGORY_LABELS.get(event.category, event.category))


def _cache(response: HttpResponse) -> HttpResponse:
    patch_cache_control(response, public=True, max_age=CACHE_SECONDS)
    return response


def _bad_request(error: InvalidFilter) -> HttpResponse:
    return HttpResponseBadRequest(str(error), content_type="text/plain; charset=utf-8")


# iCalendar -------------------------------------------------------------------------------------


def _vevent(event: Event, *, url: str, language: str, utc: bool) -> CalendarEvent:
    zone = dt.UTC if utc else _zone(event)
    text = html_to_text(event.localized("description", language))
    lines = []
    if event.status == Event.Status.CANCELLED:
        lines.append(_("Cancelled."))
        if event.cancellation_reason:
            lines.append(event.cancellation_reason)
        lines.append("")
    if text:
        lines += [text, ""]
    if event.price_info:
        lines.append(event.price_info)
    lines.append(url)
    return CalendarEvent.new(
        uid=f"event-{event.pk}@{_host()}",
        start=event.start.astimezone(zone),
        end=event.end.astimezone(zone),
        # Without an iTIP method, DTSTAMP is when the event last changed in our store.
        stamp=event.updated_at.astimezone(dt.UTC),
        last_modified=event.updated_at.astimezone(dt.UTC),
        created=event.created_at.astimezone(dt.UTC),
        summary=event.localized("title", language),
        description="\n".join(lines),
        location=_location(event) or None,
        url=url,
        categories=[_category(event)],
        status="CANCELLED" if event.status == Event.Status.CANCELLED else "CONFIRMED",
    )


def _event_url(request, event: Event) -> str:
    return request.build_absolute_uri(event.get_absolute_url())


@require_safe
def ical(request):
    try:
        parsed = parse_filters(request.GET)
    except InvalidFilter as error:
        return _bad_request(error)
    utc = request.GET.get("tz", "").strip().lower() == "utc"
    with translation.override(parsed.language):
        events = feed_events(parsed)
        calendar = Calendar.new(
            prodid=f"-//{settings.MAILLAGE_SITE_NAME}//Agenda//EN",
            uid=f"agenda-{_feed_key(parsed)}@{_host()}",
            name=_feed_name(parsed),
            method="PUBLISH",
            refresh_interval=REFRESH,
            url=request.build_absolute_uri(reverse("agenda:index")),
            subcomponents=[
                _vevent(
                    event,
                    url=_event_url(request, event),
                    language=parsed.language,
                    utc=utc,
                )
                for event in events
            ],
        )
    # Outlook reads its refresh interval from this older property.
    calendar.add("X-PUBLISHED-TTL", REFRESH)
    if events and not utc:
        calendar.add_missing_timezones(
            first_date=min(event.start for event in events).date() - dt.timedelta(days=1),
            last_date=max(event.end for event in events).date() + dt.timedelta(days=1),
        )
    response = HttpResponse(calendar.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="agenda.ics"'
    return _cache(response)


def _feed_key(parsed: FeedFilters) -> str:
    """What names the calendar in its UID: the place, the network, or the whole agenda."""
    if parsed.place is not None:
        return f"place-{parsed.place.slug}"
    if parsed.network is not None:
        return f"network-{parsed.network.slug}"
    return "all"


# RSS -------------------------------------------------------------------------------------------


def _rss_description(event: Event, language: str) -> str:
    start, end = event.start.astimezone(_zone(event)), event.end.astimezone(_zone(event))
    when = _("%(day)s, %(start)s–%(end)s") % {
        "day": date_format(start, "DATE_FORMAT"),
        "start": date_format(start, "TIME_FORMAT"),
        "end": date_format(end, "TIME_FORMAT")
        if end.date() == start.date()
        else date_format(end, "SHORT_DATETIME_FORMAT"),
    }
    parts = [" · ".join(part for part in (when, _location(event)) if part)]
    if event.status == Event.Status.CANCELLED:
        parts.append(" ".join(filter(None, [_("Cancelled."), event.cancellation_reason])))
    text = html_to_text(event.localized("description", language))
    if text:
        parts.append(Truncator(" ".join(text.split())).words(RSS_EXCERPT_WORDS))
    return "\n\n".join(parts)


@require_safe
def rss(request):
    try:
        parsed = parse_filters(request.GET)
    except InvalidFilter as error:
        return _bad_request(error)
    with translation.override(parsed.language):
        events = feed_events(parsed)
        agenda_url = reverse("agenda:index")
        query = {
            key: request.GET.getlist(key)
            for key in (
                "network",
                "place",
                "category",
                "audience",
                "free",
                "q",
                "town",
                "near",
                "radius_km",
            )
            if request.GET.get(key)
        }
        if query:
            agenda_url += "?" + urlencode(query, doseq=True)
        feed = Rss201rev2Feed(
            title=_feed_name(parsed),
            link=request.build_absolute_uri(agenda_url),
            description=_("The coming events of the agenda of %(site)s.")
            % {"site": settings.MAILLAGE_SITE_NAME},
            language=parsed.language,
            feed_url=request.build_absolute_uri(),
            ttl=str(int(REFRESH.total_seconds() // 60)),
        )
        for event in events:
            url = _event_url(request, event)
            title = event.localized("title", parsed.language)
            if event.status == Event.Status.CANCELLED:
                title = _("Cancelled: %(title)s") % {"title": title}
            feed.add_item(
                title=title,
                link=url,
                description=_rss_description(event, parsed.language),
                unique_id=url,
                unique_id_is_permalink=True,
                pubdate=event.created_at,
                categories=[_category(event)],
            )
        content = feed.writeString("utf-8")
    response = HttpResponse(content, content_type="application/rss+xml; charset=utf-8")
    return _cache(response)
