"""What a place holds, as comparable values without database ids: the round-trip tests compare
this before an export and after the import of its archive."""

import json

from maillage.accounts.models import PlaceRole
from maillage.agenda.models import Event, EventSeries, Registration
from maillage.bookings.models import (
    Booking,
    Occurrence,
    Resource,
    ResourceHours,
    ResourceTerm,
    TrainingValidation,
)
from maillage.members.models import (
    CheckIn,
    CreditUse,
    MemberProfile,
    Membership,
    MembershipMonth,
    MemberSkill,
    Plan,
)
from maillage.places.models import (
    Animator,
    Equipment,
    OpeningHours,
    Place,
    PlacePhoto,
    PlaceTerm,
    Season,
)


def _email(user):
    return user.email if user else None


def _file(field):
    if not field:
        return None
    with field.open("rb") as file:
        return file.read()


def _rules(place: Place) -> str:
    """The place's hours rules with season ids replaced by the seasons' names."""
    text = json.dumps(place.hours_rules, sort_keys=True)
    for season in Season.objects.filter(place=place):
        text = text.replace(f"[{season.pk}, ", f"[{season.name!r}, ")
    return text


def snapshot(place: Place) -> dict[str, list]:
    shot = {
        "place": [
            (
                place.name,
                place.summary,
                place.town,
                place.latitude,
                place.time_zone,
                _rules(place),
            )
        ],
        "place_roles": [
            (r.user.email, r.user.full_name, r.user.language, r.role)
            for r in PlaceRole.objects.filter(place=place)
        ],
        "member_profiles": [
            (
                p.user.email,
                p.bio,
                p.visibility,
                p.show_presence,
                p.languages,
                p.search_text,
                sorted(MemberSkill.objects.filter(user=p.user).values_list("code", "label", "key")),
            )
            for p in MemberProfile.objects.filter(user__place_roles__place=place)
        ],
        "place_terms": [(t.kind, t.code) for t in PlaceTerm.objects.filter(place=place)],
        "place_photos": [
            (p.alt_text, p.position, _file(p.image)) for p in PlacePhoto.objects.filter(place=place)
        ],
        "animators": [
            (a.name, a.role, _file(a.photo)) for a in Animator.objects.filter(place=place)
        ],
        "equipment": [(e.name, e.quantity, e.notes) for e in Equipment.objects.filter(place=place)],
        "seasons": [
            (s.name, s.start_date, s.end_date, s.closed) for s in Season.objects.filter(place=place)
        ],
        "opening_hours": [
            (h.season.name if h.season else None, h.weekday, h.opens, h.closes)
            for h in OpeningHours.objects.filter(place=place)
        ],
        "resources": [
            (
                r.name,
                r.kind,
                r.capacity,
                r.buffer_minutes,
                r.credits_per_hour,
                r.training,
                r.audience,
                r.hours_rules,
                _file(r.photo),
                r.created_at,
            )
            for r in Resource.objects.filter(place=place)
        ],
        "resource_terms": [
            (t.resource.name, t.kind, t.code)
            for t in ResourceTerm.objects.filter(resource__place=place)
        ],
        "resource_hours": [
            (h.resource.name, h.weekday, h.opens)
            for h in ResourceHours.objects.filter(resource__place=place)
        ],
        "training_validations": [
            (t.user.email, t.machine_type, _email(t.validated_by))
            for t in TrainingValidation.objects.filter(place=place)
        ],
        "bookings": [
            (b.resource.name, b.booker.email, b.title, b.rrule, b.created_at)
            for b in Booking.objects.filter(resource__place=place)
        ],
        "occurrences": [
            (o.resource.name, o.booking.booker.email, o.start, o.end, o.held_until, o.status)
            for o in Occurrence.objects.filter(resource__place=place)
        ],
        "event_series": [
            (s.rrule, s.created_at)
            for s in EventSeries.objects.filter(events__place=place).distinct()
        ],
        "events": [
            (
                e.title,
                e.description,
                e.start,
                e.capacity,
                e.confirmed_count,
                e.waitlisted_count,
                e.next_queue_number,
                e.series.rrule if e.series else None,
                e.booking.occurrences.get().start if e.booking else None,
                e.search_text,
                _file(e.image),
            )
            for e in Event.objects.filter(place=place)
        ],
        "registrations": [
            (
                r.event.title,
                r.event.start,
                r.email,
                _email(r.user),
                r.status,
                r.queue_number,
                r.email_confirmed_at,
            )
            for r in Registration.objects.filter(event__place=place)
        ],
        "plans": [
            (p.name, p.kind, p.price, p.credit_hours, p.resource_kinds, p.tickets)
            for p in Plan.objects.filter(place=place)
        ],
        "memberships": [
            (m.plan.name, m.user.email, m.starts_on, m.tickets_left, m.price, _email(m.granted_by))
            for m in Membership.objects.filter(place=place)
        ],
        "membership_months": [
            (m.membership.user.email, m.month, m.credit_minutes, m.credit_minutes_used, m.days_used)
            for m in MembershipMonth.objects.filter(membership__place=place)
        ],
        "credit_uses": [
            (c.month.month, c.occurrence.start, c.minutes, c.refunded_at)
            for c in CreditUse.objects.filter(month__membership__place=place)
        ],
        "checkins": [
            (
                c.user.email,
                c.day,
                c.checked_in_at,
                c.consumed,
                c.membership.plan.name if c.membership else None,
            )
            for c in CheckIn.objects.filter(place=place)
        ],
    }
    return {name: sorted(rows, key=repr) for name, rows in shot.items()}
