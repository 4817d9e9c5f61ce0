"""Factories of the members app: plans and memberships written through the services, so that
tests hold the same rows as real use (roles, months, tickets)."""

import datetime as dt
from decimal import Decimal

from maillage.accounts.models import PlaceRole
from maillage.members import services
from maillage.members.models import Plan
from tests.factories import PlaceFactory, UserFactory, make_manager


def plan_for(place=None, *, actor=None, **data) -> Plan:
    """A plan of `place` (a new place when None), saved by its manager."""
    place = place or PlaceFactory()
    actor = actor or make_manager(place)
    data.setdefault("name", "Carnet 10")
    data.setdefault("kind", Plan.Kind.TICKET_BOOK)
    if data["kind"] == Plan.Kind.TICKET_BOOK:
        data.setdefault("tickets", 10)
        data.setdefault("valid_days", 365)
    data.setdefault("price", Decimal("80.00"))
    valid_places = data.pop("valid_places", ())
    return services.plan_save(place=place, actor=actor, data=data, valid_places=valid_places)


def give(plan: Plan, member=None, *, starts_on: dt.date | None = None, actor=None):
    """`plan` given to `member` (a new account when None) by a staff member of its place."""
    member = member or UserFactory()
    if actor is None:
        actor = UserFactory()
        PlaceRole.objects.create(user=actor, place=plan.place, role=PlaceRole.Role.STAFF)
    return services.membership_grant(plan=plan, member=member, actor=actor, starts_on=starts_on)
