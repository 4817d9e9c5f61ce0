"""iCalendar feeds of booked slots (RFC 5545, built with the `icalendar` package).

Per resource and per place the feeds are public: a private booking is "Busy", and no feed ever
carries a booker's name or email. Per member, at a secret address they can renew or revoke, the
feed lists their own bookings with every detail.

Only held slots (pending → TENTATIVE, confirmed → CONFIRMED) are listed. Cancelled and refused
slots are left out rather than sent as STATUS:CANCELLED: a subscribed calendar is replaced by the
feed at each refresh, so a slot that disappears is removed from it, whereas a cancelled event
without an iTIP method is still drawn as an ordinary event by several clients.
"""

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe
from icalendar import Calendar, Event

from . import permissions, queries
from .models import Occurrence, Resource

PUBLIC_PAST = dt.timedelta(days=30)
PUBLIC_AHEAD = dt.timedelta(days=90)
PERSONAL_PAST = dt.timedelta(days=30)
PERSONAL_AHEAD = dt.timedelta(days=365)
REFRESH = dt.timedelta(hours=1)


def _host() -> str:
    """The host that names UIDs: the site's configured address, so that a UID never changes
    with the host name a calendar client happened to use."""
    return urlsplit(settings.MAILLAGE_BASE_URL).hostname or "maillage"


def _location(occurrence: Occurrence) -> str:
    place = occurrence.resource.place
    town = " ".join(part for part in (place.postcode, place.town) if part)
    parts = (occurrence.resource.name, place.name, place.address, town)
    return ", ".join(part for part in parts if part)


def _event(
    occurrence: Occurrence, *, summary: str, url: str, utc: bool, description: str | None = None
) -> Event:
    zone = dt.UTC if utc else zoneinfo.ZoneInfo(occurrence.resource.place.time_zone)
    booking = occurrence.booking
    return Event.new(
        uid=f"occurrence-{occurrence.pk}@{_host()}",
        start=occurrence.start.astimezone(zone),
        end=occurrence.end.astimezone(zone),
        # Without an iTIP method, DTSTAMP is when the event last changed in our store.
        stamp=booking.updated_at.astimezone(dt.UTC),
        last_modified=booking.updated_at.astimezone(dt.UTC),
        summary=summary,
        location=_location(occurrence),
        url=url,
        description=description,
        status="TENTATIVE" if occurrence.status == Occurrence.Status.PENDING else "CONFIRMED",
    )


def _calendar(request, *, uid: str, name: str, events: Iterable[Event], period) -> HttpResponse:
    calendar = Calendar.new(
        prodid=f"-//{settings.MAILLAGE_SITE_NAME}//Bookings//EN",
        uid=f"{uid}@{_host()}",
        name=name,
        method="PUBLISH",
        refresh_interval=REFRESH,
        subcomponents=list(events),
    )
    # Outlook reads its refresh interval from this older property.
    calendar.add("X-PUBLISHED-TTL", REFRESH)
    if not _in_utc(request):
        start, end = period
        calendar.add_missing_timezones(
            first_date=start.date() - dt.timedelta(days=1), last_date=end.date()
        )
    response = HttpResponse(calendar.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{uid}.ics"'
    return response


def _in_utc(request) -> bool:
    return request.GET.get("tz", "").lower() == "utc"


def _period(past: dt.timedelta, ahead: dt.timedelta) -> tuple[dt.datetime, dt.datetime]:
    now = timezone.now()
    return now - past, now + ahead


def _public_summary(occurrence: Occurrence) -> str:
    # An anonymous viewer: a private booking shows no title, whoever fetches the feed.
    if not permissions.can_see_details(AnonymousUser(), occurrence.booking):
        return _("Busy")
    return occurrence.booking.title or _("Booked")


def _public_feed(request, *, resources: list[Resource], uid: str, name: str, with_names: bool):
    period = _period(PUBLIC_PAST, PUBLIC_AHEAD)
    pages = {
        resource.pk: request.build_absolute_uri(reverse("bookings:resource", args=[resource.pk]))
        for resource in resources
    }
    events = []
    for occurrence in queries.held_slots(resources, *period):
        summary = _public_summary(occurrence)
        if with_names:
            summary = f"{occurrence.resource.name}: {summary}"
        events.append(
            _event(
                occurrence,
                summary=summary,
                url=pages[occurrence.resource_id],
                utc=_in_utc(request),
            )
        )
    return _calendar(request, uid=uid, name=name, events=events, period=period)


@require_safe
def resource_feed(request, pk):
    resource = queries.visible_resource(pk, request.user)
    if resource is None:
        raise Http404
    return _public_feed(
        request,
        resources=[resource],
        uid=f"resource-{resource.pk}",
        name=f"{resource.name} · {resource.place.name}",
        with_names=False,
    )


@require_safe
def place_feed(request, slug):
    place = queries.visible_place(slug, request.user)
    if place is None:
        raise Http404
    return _public_feed(
        request,
        resources=queries.place_resources(place, request.user),
        uid=f"place-{place.slug}",
        name=place.name,
        with_names=True,
    )


@require_safe
def user_feed(request, token):
    feed = queries.feed_by_token(token)
    if feed is None:
        raise Http404
    user = feed.user
    # Calendar clients send no session: the feed speaks the member's language.
    with translation.override(user.language or settings.LANGUAGE_CODE):
        period = _period(PERSONAL_PAST, PERSONAL_AHEAD)
        mine = request.build_absolute_uri(reverse("bookings:mine"))
        events = []
        for occurrence in queries.member_slots(user, *period):
            event = _event(
                occurrence,
                summary=occurrence.booking.title or occurrence.resource.name,
                url=mine,
                utc=_in_utc(request),
                description=_describe(occurrence),
            )
            if occurrence.booking.private:
                event.add("CLASS", "PRIVATE")
            events.append(event)
        response = _calendar(
            request,
            uid=f"bookings-{user.pk}",
            name=_("My bookings · %(site)s") % {"site": settings.MAILLAGE_SITE_NAME},
            events=events,
            period=period,
        )
    # A secret address: not for search engines, shared caches or other sites' logs.
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _describe(occurrence: Occurrence) -> str:
    booking = occurrence.booking
    lines = [
        f"{occurrence.resource.name} · {occurrence.resource.place.name}",
        str(occurrence.get_status_display()).capitalize(),
    ]
    if booking.private:
        lines.append(_("Private booking"))
    if booking.created_by_id:
        lines.append(_("Booked for you by %(name)s") % {"name": booking.created_by.get_full_name()})
    return "\n".join(lines)
