"""Marking the days whose figures change: receivers on the source models of the other apps,
connected from ImpactConfig.ready() (the other apps are not changed).

Each receiver queues (place, local day) pairs in DirtyDay (and, for the events a network holds
itself, (network, day) pairs in DirtyNetworkDay): those of the row before the write
(pre_save, pre_delete) and after it (post_save), so that moving a row from one day to another
recomputes both. Days more than a day ahead are not queued: they are rolled up when they come.

Writes that bypass signals (queryset.update(), bulk_create, raw SQL) are listed in docs/impact.md;
each only touches slots or registrations that have not started yet (today or later), and the
rollup job always recomputes the places' current day and the days since its last run.
"""

import datetime as dt
import zoneinfo
from collections.abc import Iterable

from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.utils import timezone

from .models import DirtyDay, DirtyNetworkDay
from .rollup import local_date, network_zone

Marks = set[tuple[int, dt.date]]
OwnerMarks = tuple[Marks, Marks]  # (place days, network days)


def _horizon() -> dt.date:
    return timezone.now().astimezone(dt.UTC).date() + dt.timedelta(days=1)


def _beyond_horizon(end: dt.datetime) -> bool:
    """Whether an instant is so far ahead that its local day, in any time zone (at most a day
    from UTC), is after the horizon: nothing to queue for it."""
    return end.astimezone(dt.UTC).date() > _horizon() + dt.timedelta(days=1)


def _queue(model, owner: str, marks: Iterable[tuple[int | None, dt.date | None]]) -> int:
    horizon = _horizon()
    rows = [
        model(**{owner: owner_id, "day": day})
        for owner_id, day in set(marks)
        if owner_id is not None and day is not None and day <= horizon
    ]
    if rows:
        model.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def mark(marks: Iterable[tuple[int | None, dt.date | None]]) -> int:
    """Queue (place, day) pairs to recompute; returns how many pairs were queued."""
    return _queue(DirtyDay, "place_id", marks)


def mark_network(marks: Iterable[tuple[int | None, dt.date | None]]) -> int:
    """Queue (network, day) pairs of the networks' own events to recompute."""
    return _queue(DirtyNetworkDay, "network_id", marks)


def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def _span(place_id: int, first: dt.date, last: dt.date) -> Marks:
    last = min(last, _horizon())
    return {(place_id, first + dt.timedelta(days=n)) for n in range((last - first).days + 1)}


def _occurrence(model, pks) -> Marks:
    marks: Marks = set()
    rows = model.objects.filter(pk__in=pks).values_list(
        "start", "end", "resource__place_id", "resource__place__time_zone"
    )
    for start, end, place_id, zone in rows:
        zone = _zone(zone)
        marks |= _span(place_id, local_date(start, zone), local_date(end, zone))
    return marks


def _booking(model, pks) -> Marks:
    from maillage.bookings.models import Occurrence

    soon = timezone.now() + dt.timedelta(days=1)
    slots = Occurrence.objects.filter(booking_id__in=pks, start__lt=soon)
    return _occurrence(Occurrence, list(slots.values_list("pk", flat=True)))


def _checkin(model, pks) -> Marks:
    return set(model.objects.filter(pk__in=pks).values_list("place_id", "day"))


def _membership(model, pks) -> set[tuple[int, dt.date, int]]:
    """The days each membership is valid, tagged with its plan (see _membership_changes)."""
    marks: set[tuple[int, dt.date, int]] = set()
    horizon = _horizon()
    for place_id, plan_id, starts_on, ends_on in model.objects.filter(pk__in=pks).values_list(
        "place_id", "plan_id", "starts_on", "ends_on"
    ):
        for day_place, day in _span(place_id, starts_on, min(ends_on or horizon, horizon)):
            marks.add((day_place, day, plan_id))
    return marks


def _first_days(model, pks) -> Marks:
    """The start days of every membership of the same people at the same places: whose first
    membership it is may change with this one."""
    holders = model.objects.filter(pk__in=pks).values_list("user_id", "place_id")
    marks: Marks = set()
    for user_id, place_id in holders:
        marks |= set(
            model.objects.filter(user_id=user_id, place_id=place_id).values_list(
                "place_id", "starts_on"
            )
        )
    return marks


def _membership_changes(model, pks) -> tuple[set, Marks]:
    return _membership(model, pks), _first_days(model, pks)


def _untag(marks) -> Marks:
    return {(place_id, day) for place_id, day, _plan in marks}


def _owner_days(rows) -> OwnerMarks:
    """The day each event ends, for its place (in the place's time zone) or, for an event of a
    network itself, for the network (in the instance's)."""
    places: Marks = set()
    networks: Marks = set()
    for place_id, network_id, end, zone in rows:
        if place_id is not None:
            places.add((place_id, local_date(end, _zone(zone))))
        elif network_id is not None:
            networks.add((network_id, local_date(end, network_zone())))
    return places, networks


def _event(model, pks) -> OwnerMarks:
    return _owner_days(
        model.objects.filter(pk__in=pks).values_list(
            "place_id", "network_id", "end", "place__time_zone"
        )
    )


def _event_ahead(instance) -> bool:
    return _beyond_horizon(instance.end)


def _registration_ahead(instance) -> bool:
    """A registration to an event still far ahead (most are) marks nothing: its event, when the
    service saving it holds it already, tells so without a query."""
    event = instance._state.fields_cache.get("event")
    return event is not None and _beyond_horizon(event.end)


def _registration(model, pks) -> OwnerMarks:
    return _owner_days(
        model.objects.filter(pk__in=pks).values_list(
            "event__place_id", "event__network_id", "event__end", "event__place__time_zone"
        )
    )


def _waitlist_entry(model, pks) -> Marks:
    rows = model.objects.filter(pk__in=pks).values_list(
        "resource__place_id", "created_at", "resource__place__time_zone"
    )
    return {(place_id, local_date(when, _zone(zone))) for place_id, when, zone in rows}


def _posted(model, pks) -> Marks:
    fields = ["place_id", "created_at", "place__time_zone"]
    has_gone = any(field.name == "gone_at" for field in model._meta.fields)
    rows = model.objects.filter(pk__in=pks).values_list(
        *fields, "gone_at" if has_gone else "created_at"
    )
    marks: Marks = set()
    for place_id, created_at, zone, other in rows:
        marks.add((place_id, local_date(created_at, _zone(zone))))
        if other is not None:
            marks.add((place_id, local_date(other, _zone(zone))))
    return marks


def sources():
    """(model, function giving the marks of rows by primary key) for every source model."""
    from maillage.bookings.models import Booking, Occurrence, WaitlistEntry
    from maillage.community.models import Item, Opportunity, SkillPost, Thanks
    from maillage.members.models import CheckIn

    return [
        (Occurrence, _occurrence),
        (Booking, _booking),
        (CheckIn, _checkin),
        (WaitlistEntry, _waitlist_entry),
        (Thanks, _posted),
        (SkillPost, _posted),
        (Opportunity, _posted),
        (Item, _posted),
    ]


def connect() -> None:
    for model, marks_of in sources():
        _connect(model, marks_of, _union)
    from maillage.agenda.models import Event, Registration
    from maillage.members.models import Membership

    # Events and registrations mark the days of the event's owner, a place or a network: one
    # query gives both.
    _connect(Event, _event, _owners_union, queue=_mark_owners, ahead=_event_ahead)
    _connect(
        Registration, _registration, _owners_union, queue=_mark_owners, ahead=_registration_ahead
    )
    # A membership marks only the days whose count changes: those where it starts or stops
    # being valid, or all of them when its plan changes (days are tagged with the plan), and the
    # start days of the holder's other memberships there (new members).
    _connect(Membership, _membership_changes, _membership_marks)


def _union(before, after) -> Marks:
    return (before or set()) | (after or set())


def _owners_union(before, after) -> OwnerMarks:
    places_before, networks_before = before or (set(), set())
    places_after, networks_after = after or (set(), set())
    return places_before | places_after, networks_before | networks_after


def _mark_owners(marks: OwnerMarks) -> int:
    places, networks = marks
    return mark(places) + mark_network(networks)


def _membership_marks(before, after) -> Marks:
    spans_before, firsts_before = before or (set(), set())
    spans_after, firsts_after = after or (set(), set())
    return _untag(spans_before ^ spans_after) | firsts_before | firsts_after


def _connect(model, marks_of, combine, queue=mark, ahead=None) -> None:
    """`ahead(instance)`, when given, tells from the saved instance alone that it marks no day
    after the write (the query of its marks is then spared)."""

    def before(sender, instance, raw=False, **kwargs):
        # Raw saves are restores of a backup (core.backups), which holds the rollups too.
        if not raw and instance.pk is not None and not instance._state.adding:
            instance._impact_marks = marks_of(sender, [instance.pk])

    def after_save(sender, instance, raw=False, **kwargs):
        if raw:
            return
        after = None if ahead and ahead(instance) else marks_of(sender, [instance.pk])
        queue(combine(getattr(instance, "_impact_marks", None), after))
        instance._impact_marks = None

    def after_delete(sender, instance, **kwargs):
        queue(combine(getattr(instance, "_impact_marks", None), None))
        instance._impact_marks = None

    uid = f"impact-{model._meta.label_lower}"
    pre_save.connect(before, sender=model, weak=False, dispatch_uid=f"{uid}-pre-save")
    pre_delete.connect(before, sender=model, weak=False, dispatch_uid=f"{uid}-pre-delete")
    post_save.connect(after_save, sender=model, weak=False, dispatch_uid=f"{uid}-post-save")
    post_delete.connect(after_delete, sender=model, weak=False, dispatch_uid=f"{uid}-post-delete")
