"""The demo members of the Solozère network (`maillage load_demo`): POLeN's plans, Catherine the
resident with booking credits, Basile the nomad whose ticket book works across the network, and
a few days of presence, one of them at another place (a line of the network ledger)."""

import datetime as dt
import zoneinfo
from decimal import Decimal

from django.utils import timezone

from maillage.accounts.models import User
from maillage.bookings.models import Resource
from maillage.places.models import Place

from . import services
from .models import CheckIn, Membership, Plan

PLANS = [
    {
        "name": "Résident",
        "kind": Plan.Kind.SUBSCRIPTION,
        "price": Decimal("150.00"),
        "credit_hours": 10,
        "resource_kinds": [Resource.Kind.MEETING_ROOM, Resource.Kind.VISIO_ROOM],
        "description": "Un poste fixe tous les jours, 10 heures de salles par mois.",
    },
    {
        "name": "Carnet nomade 10 jours",
        "kind": Plan.Kind.TICKET_BOOK,
        "price": Decimal("120.00"),
        "tickets": 10,
        "valid_days": 365,
        "network_wide": True,
        "description": "Dix journées de coworking, ici ou dans les autres lieux du réseau.",
    },
    {"name": "Journée", "kind": Plan.Kind.DAY_PASS, "price": Decimal("15.00"), "valid_days": 1},
    {
        "name": "Adhésion à l'association",
        "kind": Plan.Kind.FREE,
        "description": "Accès libre aux permanences et au café.",
    },
]
# Rooms of POLeN that residents pay with their credits (an hour of room, an hour of credits).
CREDIT_ROOMS = ("Salle Lot", "Salle Tarn")


def load_demo_members(
    *, polen: Place, elsewhere: Place | None, manager: User, resident: User, nomad: User
) -> int:
    """Create what is missing; returns how many memberships were given."""
    if not polen.plans.exists():
        for data in PLANS:
            services.plan_save(place=polen, actor=manager, data=dict(data))
    Resource.objects.filter(place=polen, name__in=CREDIT_ROOMS, credits_per_hour=0).update(
        credits_per_hour=1
    )
    plans = {plan.kind: plan for plan in polen.plans.all()}
    given = 0
    zone = zoneinfo.ZoneInfo(polen.time_zone)
    today = services.today_at(polen)
    for member, kind in ((resident, Plan.Kind.SUBSCRIPTION), (nomad, Plan.Kind.TICKET_BOOK)):
        if not Membership.objects.filter(user=member, place=polen).exists():
            services.membership_grant(
                plan=plans[kind],
                member=member,
                actor=manager,
                starts_on=today - dt.timedelta(days=20),
            )
            given += 1
    services.profile_save(
        user=resident,
        bio="Graphiste indépendante, installée à Mende depuis deux ans.",
        visibility="public",
        show_presence=True,
        languages=["fr", "en"],
        skills=["graphic_design", "photography"],
        free_skills=["Mise en page"],
    )
    services.profile_save(
        user=nomad,
        bio="Développeur web, je travaille d'un lieu à l'autre.",
        visibility="members",
        languages=["fr", "es"],
        skills=["web_development", "software"],
    )
    if not CheckIn.objects.filter(user=nomad).exists():
        for days_ago, place in ((8, polen), (6, polen), (2, elsewhere or polen)):
            day = today - dt.timedelta(days=days_ago)
            arrival = dt.datetime.combine(day, dt.time(9, 30), tzinfo=zone)
            record = services.checkin(place=place, member=nomad, at=arrival)
            services.checkout(record=record, at=arrival + dt.timedelta(hours=7))
    if not CheckIn.objects.filter(user=resident).exists():
        services.checkin(place=polen, member=resident, at=timezone.now())
    return given
