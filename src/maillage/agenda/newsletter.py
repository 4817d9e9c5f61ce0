"""The newsletter digest: the coming events of a network or of chosen places, by email each week
(`maillage send_agenda_digest`, deploy/maillage-digest.timer) and as a web page.

Only confirmed subscriptions receive it (double opt-in, see services.subscribe), at most once in
DIGEST_INTERVAL, and only when there is something to announce. Each email is rendered in the
subscriber's language, carries its own unsubscribe link and the List-Unsubscribe headers of
RFC 2369 and RFC 8058 (one-click unsubscribe from the mail client), and is sent by a background
job after the commit that records it as sent: running the command twice sends nothing twice.
"""

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import task

from maillage.places.models import Network, Place

from . import permissions, services
from .models import Event, Subscription

# A subscriber receives at most one digest in this time (the timer runs weekly; a little less
# than a week leaves room for a run that starts a few minutes early).
DIGEST_INTERVAL = dt.timedelta(days=6)
DEFAULT_WEEKS = 2
MAX_WEEKS = 8
MAX_DIGEST_EVENTS = 200
# How many place names a digest's title lists before "and N more".
NAMED_PLACES = 3


def digest_events(
    *,
    network: Network | None = None,
    places: Iterable[Place] = (),
    now: dt.datetime,
    weeks: int = DEFAULT_WEEKS,
) -> list[Event]:
    """The published events, visible to everyone, of `network` (its own and its places') or of
    `places`, starting in the coming `weeks`, first start first (at most MAX_DIGEST_EVENTS)."""
    owners = Q()
    if network is not None:
        owners |= Q(network=network) | Q(
            place__in=Place.objects.filter(networks=network).values("pk")
        )
    place_ids = [place.pk for place in places]
    if place_ids:
        owners |= Q(place__in=place_ids)
    if not owners:
        return []
    events = (
        permissions.visible_events(AnonymousUser())
        .filter(owners, status=Event.Status.PUBLISHED)
        .filter(start__gte=now, start__lt=now + dt.timedelta(weeks=weeks))
        .select_related("place", "network")
        .order_by("start", "id")
    )
    return list(events[:MAX_DIGEST_EVENTS])


def digest_name(*, network: Network | None = None, places: Iterable[Place] = ()) -> str:
    """What a digest covers, for its title: the network's name, or the places' names."""
    if network is not None:
        return network.name
    names = sorted(place.name for place in places)
    if len(names) <= NAMED_PLACES:
        return ", ".join(names)
    return _("%(names)s and %(count)d more") % {
        "names": ", ".join(names[:NAMED_PLACES]),
        "count": len(names) - NAMED_PLACES,
    }


@dataclass
class DigestItem:
    """One event as the digest shows it, in the reader's language and the event's time zone."""

    event: Event
    title: str
    start: dt.datetime
    end: dt.datetime
    where: str
    url: str


def _where(event: Event) -> str:
    if event.location == Event.Location.ONLINE:
        return _("Online")
    if event.location == Event.Location.ADDRESS:
        return event.address
    if event.place_id:
        return ", ".join(part for part in (event.place.name, event.place.town) if part)
    return ""


def digest_items(events: Iterable[Event], language: str) -> list[DigestItem]:
    items = []
    for event in events:
        zone = zoneinfo.ZoneInfo(event.place.time_zone if event.place_id else settings.TIME_ZONE)
        items.append(
            DigestItem(
                event=event,
                title=event.localized("title", language),
                start=event.start.astimezone(zone),
                end=event.end.astimezone(zone),
                where=_where(event),
                url=settings.MAILLAGE_BASE_URL + event.get_absolute_url(),
            )
        )
    return items


def digest_query(*, network: Network | None = None, places: Iterable[Place] = ()) -> str:
    """The query string of the web page of the same digest (agenda:digest)."""
    if network is not None:
        return urlencode({"network": network.slug})
    return urlencode({"place": sorted(place.slug for place in places)}, doseq=True)


@task()
def send_digest_email(subject: str, body: str, recipient: str, unsubscribe_url: str) -> int:
    """Send one digest, already rendered in its recipient's language, with the headers that let
    mail clients offer a one-click unsubscribe (RFC 2369, RFC 8058)."""
    message = EmailMessage(
        subject,
        body,
        to=[recipient],
        headers={
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            # Bulk mail: no out-of-office replies to it.
            "Auto-Submitted": "auto-generated",
            "Precedence": "bulk",
        },
    )
    return message.send()


def _due(now: dt.datetime):
    return Subscription.objects.filter(confirmed_at__isnull=False).filter(
        Q(last_sent_at__isnull=True) | Q(last_sent_at__lt=now - DIGEST_INTERVAL)
    )


def _render(
    subscription: Subscription, places: list[Place], events: list[Event], weeks: int
) -> tuple[str, str, str]:
    """Subject, body and unsubscribe address of a subscriber's digest, in their language."""
    unsubscribe_url = settings.MAILLAGE_BASE_URL + reverse(
        "agenda:newsletter_unsubscribe",
        kwargs={"secret": services.subscription_secret(subscription)},
    )
    with translation.override(subscription.language):
        name = digest_name(network=subscription.network, places=places)
        body = render_to_string(
            "agenda/email/digest.txt",
            {
                "name": name,
                "items": digest_items(events, subscription.language),
                "weeks": weeks,
                "digest_url": settings.MAILLAGE_BASE_URL
                + reverse("agenda:digest")
                + "?"
                + digest_query(network=subscription.network, places=places)
                + f"&weeks={weeks}",
                "unsubscribe_url": unsubscribe_url,
                "site_name": settings.MAILLAGE_SITE_NAME,
            },
        )
        subject = f"[{settings.MAILLAGE_SITE_NAME}] " + _("Coming events: %(name)s") % {
            "name": name
        }
    return subject, body, unsubscribe_url


def send_digests(
    *, now: dt.datetime | None = None, weeks: int = DEFAULT_WEEKS, dry_run: bool = False
) -> int:
    """Send its digest to every confirmed subscriber who has had none in DIGEST_INTERVAL and has
    something to announce; return how many (with `dry_run`, how many would be sent, sending
    nothing and recording nothing). Idempotent: a subscriber is marked as served in the same
    transaction that enqueues the email (after its commit), so a second run sends nothing."""
    now = now or timezone.now()
    sent = 0
    found: dict[tuple, list[Event]] = {}
    due = _due(now).select_related("network").prefetch_related("places").order_by("pk")
    for subscription in due.iterator(chunk_size=200):
        places = list(subscription.places.all())
        key = (subscription.network_id, tuple(sorted(place.pk for place in places)))
        if key not in found:
            found[key] = digest_events(
                network=subscription.network, places=places, now=now, weeks=weeks
            )
        events = found[key]
        if not events:
            continue
        if dry_run:
            sent += 1
            continue
        with transaction.atomic():
            # Taken by this run only if no other run served it meanwhile.
            if not _due(now).filter(pk=subscription.pk).update(last_sent_at=now):
                continue
            subject, body, unsubscribe_url = _render(subscription, places, events, weeks)
            email = subscription.email
            transaction.on_commit(
                lambda subject=subject, body=body, email=email, url=unsubscribe_url: (
                    send_digest_email.enqueue(
                        subject=subject, body=body, recipient=email, unsubscribe_url=url
                    )
                ),
                robust=True,
            )
        sent += 1
    return sent
