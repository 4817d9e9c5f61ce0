"""Booking credits of monthly subscriptions: taken when a slot is booked, given back when it is
cancelled in time or refused, renewed each calendar month of the place, never overdrawn.

bookings.services calls `credits_charge` and `credits_refund` inside its own transactions.
"""

import datetime as dt
import math
import zoneinfo
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from maillage.accounts.models import User
from maillage.bookings.models import Occurrence, Resource

from . import periods
from .models import CreditUse, Membership, MembershipMonth, Plan


class NotEnoughCredits(ValidationError):
    """The member's subscription pays for this resource, and its month has too little left."""


def month_row(membership: Membership, month: dt.date) -> MembershipMonth:
    """The month of a subscription, created with the plan's allowance when first needed (the
    renewal). Concurrent first uses meet on the unique constraint and share one row."""
    plan = membership.plan
    row, _created = MembershipMonth.objects.get_or_create(
        membership=membership,
        month=month,
        defaults={"credit_minutes": plan.credit_hours * 60, "days": plan.days_per_month},
    )
    return row


def credit_minutes(resource: Resource, start: dt.datetime, end: dt.datetime) -> int:
    """Credits a slot takes, in minutes: its length times the resource's rate, rounded up to
    the minute."""
    minutes = Decimal((end - start).total_seconds()) / 60
    return math.ceil(minutes * resource.credits_per_hour)


def paying_subscriptions(user: User, resource: Resource) -> list[Membership]:
    """The booker's subscriptions at the resource's place whose credits pay for its kind."""
    if not resource.credits_per_hour:
        return []
    return [
        membership
        for membership in Membership.objects.select_related("plan").filter(
            user=user,
            place_id=resource.place_id,
            plan__kind=Plan.Kind.SUBSCRIPTION,
            plan__credit_hours__gt=0,
        )
        if resource.kind in membership.plan.resource_kinds
    ]


def credits_charge(booker: User, resource: Resource, occurrences: Sequence[Occurrence]) -> int:
    """Take the credits of freshly held slots from the booker's subscription, month by month.

    Called by bookings.services inside the booking's transaction: raising NotEnoughCredits
    undoes the booking. Someone without a subscription paying for this resource books it as
    before (priced by its price information). Returns the minutes taken.
    """
    subscriptions = paying_subscriptions(booker, resource)
    if not subscriptions:
        return 0
    zone = zoneinfo.ZoneInfo(resource.place.time_zone)
    uses, taken = [], 0
    for occurrence in occurrences:
        day = periods.local_day(occurrence.start, zone)
        minutes = credit_minutes(resource, occurrence.start, occurrence.end)
        holders = [m for m in subscriptions if periods.valid_on(m.starts_on, m.ends_on, day)]
        if not holders or minutes <= 0:
            continue
        for membership in holders:
            row = month_row(membership, periods.month_of(day))
            if MembershipMonth.objects.filter(
                pk=row.pk, credit_minutes_used__lte=F("credit_minutes") - minutes
            ).update(credit_minutes_used=F("credit_minutes_used") + minutes):
                uses.append(CreditUse(month=row, occurrence=occurrence, minutes=minutes))
                taken += minutes
                break
        else:
            row.refresh_from_db()
            raise NotEnoughCredits(
                _(
                    "Not enough booking credits left for %(month)s: %(left)s left, this booking "
                    "needs %(needed)s. Ask the team of the place."
                )
                % {
                    "month": formats.date_format(row.month, "YEAR_MONTH_FORMAT"),
                    "left": hours_label(row.credit_minutes_left),
                    "needed": hours_label(minutes),
                }
            )
    CreditUse.objects.bulk_create(uses)
    return taken


def credits_refund(occurrence_ids: Iterable[int]) -> int:
    """Give back the credits of cancelled or refused slots. Returns the minutes given back."""
    given = 0
    uses = CreditUse.objects.select_for_update().filter(
        occurrence_id__in=list(occurrence_ids), refunded_at__isnull=True
    )
    now = timezone.now()
    for use in uses:
        MembershipMonth.objects.filter(pk=use.month_id).update(
            credit_minutes_used=F("credit_minutes_used") - use.minutes
        )
        given += use.minutes
    uses.update(refunded_at=now)
    return given


def hours_label(minutes: int) -> str:
    """“2 h”, “1 h 30”: credits as people say them."""
    whole, rest = divmod(int(minutes), 60)
    return f"{whole} h {rest:02d}" if rest else f"{whole} h"
