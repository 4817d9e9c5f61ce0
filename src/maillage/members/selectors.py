"""Reads on members, plans and presence, with their prefetches done."""

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth

from maillage.accounts.models import PlaceRole, User
from maillage.core.text import fold
from maillage.places.models import Network, Place

from . import periods, permissions
from .models import CheckIn, CreditUse, Membership, MembershipMonth, MemberSkill, Plan
from .vocabulary import SKILL_CODES


def plans_of(place: Place, *, offered_only: bool = True) -> QuerySet[Plan]:
    plans = Plan.objects.filter(place=place).prefetch_related("valid_places")
    return plans.filter(is_active=True) if offered_only else plans


@dataclass
class Holding:
    """A membership as its holder sees it on a given day."""

    membership: Membership
    valid_today: bool
    month: MembershipMonth | None

    @property
    def plan(self) -> Plan:
        return self.membership.plan


def holdings(user: User, *, today: dt.date, place: Place | None = None) -> list[Holding]:
    """A member's plans, current first, with this month's credits and days for subscriptions."""
    memberships = Membership.objects.select_related("plan", "place").filter(user=user)
    if place is not None:
        memberships = memberships.filter(place=place)
    memberships = list(memberships)
    months = {
        row.membership_id: row
        for row in MembershipMonth.objects.filter(
            membership__in=memberships, month=periods.month_of(today)
        )
    }
    result = []
    for membership in memberships:
        valid = periods.valid_on(membership.starts_on, membership.ends_on, today)
        month = months.get(membership.pk)
        if month is None and membership.plan.kind == Plan.Kind.SUBSCRIPTION and valid:
            # This month's row is written on first use; until then it is the plan's allowance.
            month = MembershipMonth(
                membership=membership,
                month=periods.month_of(today),
                credit_minutes=membership.plan.credit_hours * 60,
                days=membership.plan.days_per_month,
            )
        result.append(Holding(membership, valid, month))
    result.sort(key=lambda h: (not h.valid_today, -h.membership.starts_on.toordinal()))
    return result


def members_of(place: Place, *, q: str = "") -> QuerySet[PlaceRole]:
    """The people with a role in the place (team and community), for its team's pages."""
    roles = PlaceRole.objects.filter(place=place).select_related("user")
    if q.strip():
        text, key = q.strip(), fold(q)
        matches = Q(user__email__icontains=text) | Q(user__full_name__icontains=text)
        if key:  # "!!" folds to nothing, which every profile would contain
            matches |= Q(user__profile__search_text__contains=key)
        roles = roles.filter(matches)
    return roles.order_by("user__full_name", "user__email")


def directory(
    viewer,
    *,
    place: Place | None = None,
    network: Network | None = None,
    q: str = "",
    skill: str = "",
) -> QuerySet[User]:
    """Members of a place or of a network's places whose profile the viewer may read, with
    their profile and skills, by name. Only what the member chose to show is ever listed."""
    people = permissions.visible_members(viewer)
    if place is not None:
        people = people.filter(place_roles__place=place)
    elif network is not None:
        people = people.filter(
            place_roles__place__networks=network, place_roles__place__is_published=True
        )
    if q.strip():
        key = fold(q)
        matches = Q(full_name__icontains=q.strip())
        if key:
            matches |= Q(profile__search_text__contains=key)
        people = people.filter(matches)
    if skill:
        people = people.filter(skills__key=skill if skill in SKILL_CODES else fold(skill))
    return (
        people.distinct()
        .select_related("profile")
        .prefetch_related(Prefetch("skills", queryset=MemberSkill.objects.order_by("label")))
        .order_by("full_name", "email")
    )


def present(place: Place, *, viewer) -> QuerySet[CheckIn]:
    """Who is at the place now: everyone for its team; for its members, those who chose to be
    shown (MemberProfile.show_presence)."""
    here = CheckIn.objects.filter(place=place, checked_out_at__isnull=True).select_related(
        "user", "user__profile"
    )
    if not permissions.can_manage_members(viewer, place):
        here = here.filter(user__profile__show_presence=True)
    return here.order_by("checked_in_at")


def attendance(
    *, place: Place | None = None, user: User | None = None, start: dt.date, end: dt.date
) -> QuerySet[CheckIn]:
    """Check-ins of a place or of a member between two days (both included), latest first."""
    checkins = CheckIn.objects.filter(day__gte=start, day__lte=end).select_related(
        "user", "place", "membership__plan", "home_place"
    )
    if place is not None:
        checkins = checkins.filter(place=place)
    if user is not None:
        checkins = checkins.filter(user=user)
    return checkins.order_by("-day", "-checked_in_at")


def attendance_summary(place: Place, *, start: dt.date, end: dt.date) -> dict:
    """Days of presence and distinct visitors of a place over a period."""
    rows = CheckIn.objects.filter(place=place, day__gte=start, day__lte=end)
    return rows.aggregate(days=Count("id"), visitors=Count("user_id", distinct=True))


def _in_network(checkins, network: Network | None):
    """Only the days spent between two places of `network` (a place may belong to several)."""
    if network is None:
        return checkins
    members = Place.objects.filter(networks=network).values("pk")
    return checkins.filter(home_place_id__in=members, place_id__in=members)


def ledger(*, places, month: dt.date, network: Network | None = None) -> list[dict]:
    """The network pass ledger of a month: per home place and host place, how many days members
    of the first spent at the second, and what they are worth (for settling). Only lines that
    involve one of `places` are returned; with `network`, only days between its places."""
    month = periods.month_of(month)
    # A queryset stays a subquery: a network's places are not loaded to be sent back as ids.
    place_ids = places.values("pk") if isinstance(places, QuerySet) else [p.pk for p in places]
    checkins = CheckIn.objects.filter(
        home_place__isnull=False, day__gte=month, day__lt=periods.next_month(month)
    )
    rows = (
        _in_network(checkins, network)
        .filter(Q(home_place_id__in=place_ids) | Q(place_id__in=place_ids))
        .values("home_place_id", "home_place__name", "place_id", "place__name")
        .annotate(
            days=Count("id"), members=Count("user_id", distinct=True), value=Sum("unit_value")
        )
        .order_by("home_place__name", "place__name")
    )
    return list(rows)


def ledger_lines(*, places, month: dt.date, network: Network | None = None) -> QuerySet[CheckIn]:
    """The individual lines behind `ledger` (for the CSV export)."""
    month = periods.month_of(month)
    checkins = CheckIn.objects.filter(
        home_place__isnull=False, day__gte=month, day__lt=periods.next_month(month)
    )
    return (
        _in_network(checkins, network)
        .filter(Q(home_place__in=places) | Q(place__in=places))
        .select_related("user", "place", "home_place", "membership__plan")
        .order_by("day", "checked_in_at")
    )


def credit_uses(membership: Membership) -> QuerySet[CreditUse]:
    return (
        CreditUse.objects.filter(month__membership=membership)
        .select_related("occurrence__resource", "month")
        .order_by("-occurrence__start")
    )


def receipts(place: Place, *, start: dt.date, end: dt.date) -> QuerySet[Membership]:
    """Memberships given between two days of the place (both included), with their price: the
    place's sales for its books."""
    zone = zoneinfo.ZoneInfo(place.time_zone)
    return (
        Membership.objects.filter(
            place=place,
            created_at__gte=periods.local_midnight(start, zone),
            created_at__lt=periods.local_midnight(end + dt.timedelta(days=1), zone),
        )
        .select_related("user", "plan", "granted_by")
        .order_by("created_at")
    )


def monthly_attendance(place: Place, *, start: dt.date, end: dt.date) -> list[dict]:
    return list(
        CheckIn.objects.filter(place=place, day__gte=start, day__lte=end)
        .annotate(month=TruncMonth("day"))
        .values("month")
        .annotate(days=Count("id"), visitors=Count("user_id", distinct=True))
        .order_by("month")
    )
