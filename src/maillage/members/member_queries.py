"""Reads of the members' own pages: their plans as they see them, what a check-in would use, the
places shown on a profile. Nothing here writes."""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from maillage.accounts.models import PlaceRole, User
from maillage.places.models import Place
from maillage.places.permissions import can_edit_place

from . import periods, selectors, services
from .credits import hours_label
from .models import CheckIn, Membership, MembershipMonth, Plan
from .permissions import has_role

CREDIT_USES_SHOWN = 20


def visible_place(slug: str, user) -> Place | None:
    """A published place, or an unpublished one for its people: those who may edit it and those
    with a role in it (a place out of the directory still has members who come in)."""
    place = Place.objects.filter(slug=slug).first()
    if place is None:
        return None
    if place.is_published or can_edit_place(user, place) or has_role(user, place):
        return place
    return None


def places_of(member: User) -> QuerySet[Place]:
    """The published places where `member` has a role (whatever the role: it is not shown)."""
    return Place.objects.filter(is_published=True, roles__user=member).distinct().order_by("name")


def is_team(user: User, place: Place) -> bool:
    """Whether `user` belongs to the place's team, whose days cost nothing (as in checkin)."""
    return PlaceRole.objects.filter(user=user, place=place, role__in=PlaceRole.TEAM).exists()


# My plans -------------------------------------------------------------------------------------


@dataclass
class PlanLine:
    """A membership as "My plans" shows it, on its place's day."""

    holding: selectors.Holding
    today: dt.date
    network_places: list[Place] = field(default_factory=list)
    network_names: list[str] = field(default_factory=list)
    # The last uses of a subscription's credits: {"use": CreditUse, "hours": "1 h 30"}.
    credit_uses: list[dict] = field(default_factory=list)

    @property
    def membership(self) -> Membership:
        return self.holding.membership

    @property
    def plan(self) -> Plan:
        return self.holding.membership.plan

    @property
    def past(self) -> bool:
        ends_on = self.membership.ends_on
        return ends_on is not None and ends_on < self.today

    @property
    def upcoming(self) -> bool:
        return self.membership.starts_on > self.today

    @property
    def tickets_total(self) -> int | None:
        return {Plan.Kind.TICKET_BOOK: self.plan.tickets, Plan.Kind.DAY_PASS: 1}.get(self.plan.kind)

    @property
    def credits_left(self) -> str:
        month = self.holding.month
        return hours_label(month.credit_minutes_left) if month and month.credit_minutes else ""

    @property
    def credits_total(self) -> str:
        month = self.holding.month
        return hours_label(month.credit_minutes) if month and month.credit_minutes else ""

    @property
    def days_left(self) -> int | None:
        month = self.holding.month
        if month is None or month.days is None:
            return None
        return month.days - month.days_used


def my_plans(user: User) -> list[PlanLine]:
    """Every membership of `user`, each judged on the day of its own place (current ones first),
    with where a network pass is valid and the last uses of a subscription's credits."""
    lines = []
    for place in Place.objects.filter(memberships__user=user).distinct():
        today = services.today_at(place)
        holdings = selectors.holdings(user, today=today, place=place)
        lines += [PlanLine(holding, today) for holding in holdings]
    network_plans = [line.plan.pk for line in lines if line.plan.network_wide]
    chosen: dict[int, list[Place]] = {}
    for link in Plan.valid_places.through.objects.filter(plan_id__in=network_plans).select_related(
        "place"
    ):
        chosen.setdefault(link.plan_id, []).append(link.place)
    homes = {line.membership.place_id for line in lines if line.plan.network_wide}
    networks: dict[int, list[str]] = {}
    for place_id, name in Place.networks.through.objects.filter(place_id__in=homes).values_list(
        "place_id", "network__name"
    ):
        networks.setdefault(place_id, []).append(name)
    for line in lines:
        if line.plan.network_wide:
            line.network_places = sorted(chosen.get(line.plan.pk, []), key=lambda p: p.name)
            line.network_names = sorted(networks.get(line.membership.place_id, []))
        if line.plan.kind == Plan.Kind.SUBSCRIPTION:
            line.credit_uses = [
                {"use": use, "hours": hours_label(use.minutes)}
                for use in selectors.credit_uses(line.membership)[:CREDIT_USES_SHOWN]
            ]
    lines.sort(
        key=lambda line: (
            line.past,
            not line.holding.valid_today,
            -line.membership.starts_on.toordinal(),
        )
    )
    return lines


# Self check-in --------------------------------------------------------------------------------


@dataclass
class Usable:
    """A plan that can pay for today at the place, with what is left on it."""

    membership: Membership
    consumed: str
    days_left: int | None = None

    @property
    def consumed_label(self) -> str:
        return CheckIn.Consumed(self.consumed).label


@dataclass
class CheckinPreview:
    """What a check-in at the place today would use, for the member's own check-in page. The
    first usable plan is the one `services.checkin` would spend (same choice, same order)."""

    team: bool
    usable: list[Usable] = field(default_factory=list)
    reason: str = ""


def checkin_preview(user: User, place: Place, day: dt.date) -> CheckinPreview:
    if is_team(user, place):
        return CheckinPreview(team=True)
    options, reasons = services._options(user, place, day)
    months = {
        row.membership_id: row
        for row in MembershipMonth.objects.filter(
            membership__in=[option.membership for option in options],
            month=periods.month_of(day),
        )
    }
    usable = []
    for option in options:
        membership, days_left = option.membership, None
        if option.consumed == CheckIn.Consumed.SUBSCRIPTION:
            row = months.get(membership.pk)
            days = row.days if row is not None else membership.plan.days_per_month
            if days is not None:
                days_left = days - (row.days_used if row is not None else 0)
                if days_left <= 0:
                    reasons.append(
                        _("Your “%(plan)s” has no days left this month.")
                        % {"plan": membership.plan.name}
                    )
                    continue
        usable.append(Usable(membership, option.consumed, days_left))
    if usable:
        return CheckinPreview(team=False, usable=usable)
    return CheckinPreview(
        team=False,
        reason=reasons[0]
        if reasons
        else _("No valid plan for this place: ask the team for a day pass or a ticket book."),
    )
