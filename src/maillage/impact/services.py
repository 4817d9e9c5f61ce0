"""The rollup job: recompute the days that changed, and always the places' current and previous
days (and the days since the last run, so a job that did not run leaves no day behind)."""

import datetime as dt
import zoneinfo
from collections import defaultdict

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from maillage.accounts.models import PlaceRole
from maillage.agenda.models import Event
from maillage.bookings.models import Resource
from maillage.places.models import Network, Place

from .models import DirtyDay, DirtyNetworkDay, RollupRun
from .rollup import local_date, network_zone, rollup_days, rollup_network_days


def active_places():
    """Places whose days are recomputed even without a change queued: those with people
    (roles) or resources. The other places' figures come from their queued days only."""
    return Place.objects.filter(
        Exists(PlaceRole.objects.filter(place=OuterRef("pk")))
        | Exists(Resource.objects.filter(place=OuterRef("pk")))
    )


def _range(first: dt.date, last: dt.date) -> set[dt.date]:
    return {first + dt.timedelta(days=n) for n in range((last - first).days + 1)}


def _regular_days(today, first, last, since) -> set[dt.date]:
    """The days recomputed without a change queued: the rebuilt range, or the previous and
    current days (back to the day before the last run)."""
    if first is not None or last is not None:
        return _range(first or today, min(last or today, today))
    return _range(min(since or today, today - dt.timedelta(days=1)), today)


def run_rollup(
    *,
    first: dt.date | None = None,
    last: dt.date | None = None,
    places=None,
    now: dt.datetime | None = None,
) -> dict[str, int]:
    """Without dates: the queued days of every place, plus the previous and current local days
    (back to the day before the last run) of the active places. With `first`/`last`: every day
    of that range (up to each place's current day) of the active places — a rebuild — and the
    queued days too. The events networks hold themselves are rolled up the same way, unless
    `places` (a queryset) limits the work to those places. Returns counts."""
    now = now or timezone.now()
    rebuild = first is not None or last is not None
    since = None
    if not rebuild:
        previous_run = RollupRun.objects.order_by("-finished_at").first()
        if previous_run is not None:
            since = previous_run.finished_at.astimezone(dt.UTC).date() - dt.timedelta(days=1)
    queued = list(DirtyDay.objects.values_list("pk", "place_id", "day"))
    wanted: dict[int, dict[dt.date, list[int]]] = defaultdict(lambda: defaultdict(list))
    for pk, place_id, day in queued:
        wanted[place_id][day].append(pk)
    regular = active_places() if places is None else places
    regular_ids = set(regular.values_list("pk", flat=True))
    chosen = Place.objects.filter(pk__in=regular.values("pk"))
    if places is None:
        others = [pk for pk in wanted if pk not in regular_ids]
        chosen = Place.objects.filter(Q(pk__in=regular.values("pk")) | Q(pk__in=others))
    written, count, claimed = 0, 0, 0
    for place in chosen.order_by("pk").iterator(chunk_size=500):
        today = local_date(now, zoneinfo.ZoneInfo(place.time_zone))
        days = set(wanted.get(place.pk, ()))
        if place.pk in regular_ids:
            days |= _regular_days(today, first, last, since)
        marks = wanted.get(place.pk, {})
        mine = [pk for day, pks in marks.items() if day <= today for pk in pks]
        with transaction.atomic():
            # Taken off the queue before the rows are read: a change made while this place is
            # computed queues its day again, for the next run.
            claimed += DirtyDay.objects.filter(pk__in=mine).delete()[0]
            written += rollup_days(place, days, now=now)
        count += 1
    existing = set(Place.objects.filter(pk__in=list(wanted)).values_list("pk", flat=True))
    orphans = [pk for pk, place_id, _day in queued if place_id not in existing]
    claimed += DirtyDay.objects.filter(pk__in=orphans).delete()[0]
    networks = 0
    if places is None:
        networks, network_days, network_claimed = _rollup_networks(first, last, since, now)
        written += network_days
        claimed += network_claimed
    if not rebuild and places is None:
        RollupRun.objects.create(finished_at=now, days=written)
    return {"places": count, "networks": networks, "days": written, "queued": claimed}


def networks_with_events():
    """Networks holding events of their own (with no place): their recent days are recomputed
    on every run, like those of the active places."""
    return Network.objects.filter(
        Exists(Event.objects.filter(network=OuterRef("pk"), place__isnull=True))
    )


def _rollup_networks(first, last, since, now) -> tuple[int, int, int]:
    """The network side of run_rollup: (networks done, days written, queue entries taken)."""
    today = local_date(now, network_zone())
    queued = list(DirtyNetworkDay.objects.values_list("pk", "network_id", "day"))
    wanted: dict[int, dict[dt.date, list[int]]] = defaultdict(lambda: defaultdict(list))
    for pk, network_id, day in queued:
        wanted[network_id][day].append(pk)
    regular_ids = set(networks_with_events().values_list("pk", flat=True))
    count, written, claimed = 0, 0, 0
    for network in Network.objects.filter(pk__in=regular_ids | set(wanted)).order_by("pk"):
        days = set(wanted.get(network.pk, ()))
        if network.pk in regular_ids:
            days |= _regular_days(today, first, last, since)
        mine = [pk for day, pks in wanted.get(network.pk, {}).items() if day <= today for pk in pks]
        with transaction.atomic():
            claimed += DirtyNetworkDay.objects.filter(pk__in=mine).delete()[0]
            written += rollup_network_days(network, days, now=now)
        count += 1
    existing = set(Network.objects.filter(pk__in=list(wanted)).values_list("pk", flat=True))
    orphans = [pk for pk, network_id, _day in queued if network_id not in existing]
    claimed += DirtyNetworkDay.objects.filter(pk__in=orphans).delete()[0]
    return count, written, claimed
