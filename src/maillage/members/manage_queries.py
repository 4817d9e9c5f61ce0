"""Reads of the team's pages of members that the shared selectors do not cover: the current plans
of a whole page of people at once, plans with their holders, what a membership paid for, and a
place's credit uses and ledger lines over a period."""

import datetime as dt
import itertools
import zoneinfo
from collections.abc import Iterable, Iterator
from decimal import Decimal

from django.db.models import Count, Q, QuerySet

from maillage.accounts.models import User
from maillage.places.models import Place

from . import periods, selectors
from .models import CheckIn, CreditUse, Membership, MembershipMonth, Plan
from .selectors import Holding


def _valid_on(day: dt.date, prefix: str = "") -> Q:
    return Q(**{f"{prefix}starts_on__lte": day}) & (
        Q(**{f"{prefix}ends_on__isnull": True}) | Q(**{f"{prefix}ends_on__gte": day})
    )


def this_month(membership: Membership, row: MembershipMonth | None, today: dt.date):
    """The month of a subscription as it stands today: its `row`, or until its first use the
    plan's allowance (rows are written on first use, see credits.month_row)."""
    if membership.plan.kind != Plan.Kind.SUBSCRIPTION:
        return None
    return row or MembershipMonth(
        membership=membership,
        month=periods.month_of(today),
        credit_minutes=membership.plan.credit_hours * 60,
        days=membership.plan.days_per_month,
    )


def current_holdings(place: Place, user_ids: Iterable[int], *, today: dt.date) -> dict:
    """user id → the plans of `place` they hold today, with this month's credits and days: two
    queries for a whole page of people (selectors.holdings answers for one person)."""
    memberships = list(
        Membership.objects.filter(place=place, user_id__in=list(user_ids))
        .filter(_valid_on(today))
        .select_related("plan")
        .order_by("starts_on", "pk")
    )
    rows = {
        row.membership_id: row
        for row in MembershipMonth.objects.filter(
            membership__in=memberships, month=periods.month_of(today)
        )
    }
    held: dict[int, list[Holding]] = {}
    for membership in memberships:
        holding = Holding(membership, True, this_month(membership, rows.get(membership.pk), today))
        held.setdefault(membership.user_id, []).append(holding)
    return held


def has_account(email: str) -> bool:
    return User.objects.filter(email__iexact=email.strip()).exists()


def plans_with_holders(place: Place, *, today: dt.date) -> QuerySet[Plan]:
    """All the plans of the place, withdrawn ones too, with `holders`: people holding one today."""
    return (
        selectors.plans_of(place, offered_only=False)
        .annotate(
            holders=Count(
                "memberships__user", filter=_valid_on(today, "memberships__"), distinct=True
            )
        )
        .order_by("-is_active", "kind", "name")
    )


def membership_checkins(membership: Membership) -> QuerySet[CheckIn]:
    """The days a membership paid for, at its place or elsewhere in the network."""
    return (
        CheckIn.objects.filter(membership=membership)
        .select_related("place")
        .order_by("-day", "-checked_in_at")
    )


def place_credit_uses(place: Place, *, start: dt.date, end: dt.date) -> QuerySet[CreditUse]:
    """Credits taken from the place's subscriptions by slots starting between two local days
    (both included)."""
    zone = zoneinfo.ZoneInfo(place.time_zone)
    return (
        CreditUse.objects.filter(
            month__membership__place=place,
            occurrence__start__gte=periods.local_midnight(start, zone),
            occurrence__start__lt=periods.local_midnight(end + dt.timedelta(days=1), zone),
        )
        .select_related("occurrence__resource", "month__membership__user")
        .order_by("occurrence__start", "pk")
    )


def period_ledger_lines(place: Place, *, start: dt.date, end: dt.date) -> Iterator[CheckIn]:
    """The network ledger lines of the place (as home or host) between two days, month by month
    through selectors.ledger_lines."""
    return itertools.chain.from_iterable(
        selectors.ledger_lines(places=[place], month=month)
        .filter(day__gte=start, day__lte=end)
        .iterator(chunk_size=2000)
        for month in periods.months_between(start, end)
    )


def ledger_totals(rows: list[dict]) -> dict:
    """Days and value of all the lines of selectors.ledger (members are not added up: one
    person may appear on several lines)."""
    return {
        "days": sum(row["days"] for row in rows),
        "value": sum((row["value"] or Decimal(0) for row in rows), Decimal(0)),
    }


def ledger_balances(rows: list[dict]) -> list[dict]:
    """What each pair of places owes the other over the lines of selectors.ledger, and the
    balance: the place that sold a pass owes the place that hosted the day."""
    pairs: dict[tuple[int, int], dict] = {}
    for row in rows:
        home, host = row["home_place_id"], row["place_id"]
        first, second = sorted((home, host))
        pair = pairs.setdefault(
            (first, second),
            {"names": {}, "owes": {first: Decimal(0), second: Decimal(0)}},
        )
        pair["names"][home], pair["names"][host] = row["home_place__name"], row["place__name"]
        pair["owes"][home] += row["value"] or Decimal(0)
    balances = []
    for (first, second), pair in pairs.items():
        names, owes = pair["names"], pair["owes"]
        net = owes[first] - owes[second]
        payer, payee = (first, second) if net >= 0 else (second, first)
        balances.append(
            {
                "first": names[first],
                "second": names[second],
                "first_owes": owes[first],
                "second_owes": owes[second],
                "payer": names[payer],
                "payee": names[payee],
                "net": abs(net),
            }
        )
    return sorted(balances, key=lambda balance: (balance["first"], balance["second"]))
