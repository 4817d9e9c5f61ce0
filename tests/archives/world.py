"""A place with something in every table of its archive, written through the apps' services
where they exist (rows that only a later change would make, such as hours set after the
bookings they would refuse, are written directly)."""

import datetime as dt
import io
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal

from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from maillage.accounts.models import PlaceRole, User
from maillage.agenda import services as agenda
from maillage.bookings import services as bookings
from maillage.bookings.models import ResourceHours
from maillage.members import services as members
from maillage.members.models import Plan
from maillage.places.models import (
    Animator,
    Equipment,
    OpeningHours,
    Place,
    PlacePhoto,
    PlaceTerm,
    Season,
)
from tests.factories import NetworkFactory, PlaceFactory, UserFactory, make_manager
from tests.members.factories import give, plan_for

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def webp(colour=(200, 30, 30)) -> ContentFile:
    output = io.BytesIO()
    Image.new("RGB", (8, 6), colour).save(output, "WEBP")
    return ContentFile(output.getvalue(), name="picture.webp")


@dataclass
class World:
    place: Place
    manager: User
    staff: User
    resident: User
    nomad: User
    guest: User


def rich_place(**place_fields) -> World:
    network = NetworkFactory()
    place = PlaceFactory(time_zone="Europe/Paris", summary="Un tiers-lieu", **place_fields)
    place.networks.add(network)
    manager = make_manager(place, email="manager@example.org", language="fr")
    staff = UserFactory(email="staff@example.org", language="es")
    PlaceRole.objects.create(user=staff, place=place, role=PlaceRole.Role.STAFF)
    resident = UserFactory(email="resident@example.org", full_name="Rémi Résident")
    PlaceRole.objects.create(user=resident, place=place, role=PlaceRole.Role.RESIDENT)
    nomad = UserFactory(email="nomad@example.org")
    PlaceRole.objects.create(user=nomad, place=place, role=PlaceRole.Role.NOMAD)
    guest = UserFactory(email="guest@example.org")  # books a public room, no role
    members.profile_save(
        user=resident,
        bio="Menuisier",
        visibility="members",
        show_presence=True,
        skills=["3d_printing"],
        free_skills=["Ébénisterie"],
        languages=["fr", "oc"],
    )

    PlaceTerm.objects.create(place=place, kind="function", code="makers")
    PlaceTerm.objects.create(place=place, kind="service", code="cafe_kitchen")
    PlacePhoto.objects.create(place=place, image=webp(), alt_text="La grande salle", position=1)
    Animator.objects.create(place=place, name="Anne", role="Fabmanager", photo=webp((0, 90, 0)))
    Equipment.objects.create(place=place, name="Imprimante", quantity=2, notes="A3")

    today = timezone.now().astimezone(PARIS).date()
    tomorrow = today + dt.timedelta(days=1)

    def at(day, hour):
        return dt.datetime.combine(day, dt.time(hour), tzinfo=PARIS)

    room = bookings.resource_create(
        place=place,
        author=manager,
        name="Salle Causse",
        kind="meeting_room",
        capacity=8,
        buffer_minutes=15,
        credits_per_hour=Decimal("1.50"),
        horizon_days=400,
        services=["cafe_kitchen"],
        character=["cosy"],
        photo=webp((0, 0, 200)),
    )
    laser = bookings.resource_create(
        place=place,
        author=manager,
        name="Laser",
        kind="machine",
        training="laser_cutter",
        audience="members",
    )
    bookings.training_validate(
        user=resident, machine_type="laser_cutter", place=place, validator=manager
    )
    plan = plan_for(
        place,
        actor=manager,
        name="Résident",
        kind=Plan.Kind.SUBSCRIPTION,
        price=Decimal("150.00"),
        credit_hours=3,
        resource_kinds=["meeting_room"],
    )
    membership = give(plan, resident, actor=staff)
    book = plan_for(place, actor=manager, name="Carnet", kind=Plan.Kind.TICKET_BOOK, tickets=10)
    give(book, nomad, actor=staff)

    bookings.booking_create(
        resource=room,
        booker=resident,
        start=at(tomorrow, 10),
        end=at(tomorrow, 11),
        title="Réunion",
    )
    bookings.booking_create(
        resource=room,
        booker=guest,
        start=at(tomorrow, 14),
        end=at(tomorrow, 15),
        rrule="FREQ=WEEKLY;COUNT=3",
    )
    bookings.booking_create(
        resource=laser, booker=resident, start=at(tomorrow, 9), end=at(tomorrow, 10)
    )
    cancelled = bookings.booking_create(
        resource=room, booker=nomad, start=at(tomorrow, 16), end=at(tomorrow, 17)
    )
    bookings.booking_cancel(booking=cancelled, actor=nomad)

    [talk] = agenda.event_create(
        author=manager,
        place=place,
        title="Atelier <b>bois</b>",
        description="<p>Venez <em>nombreux</em></p>",
        category="workshop",
        start=at(tomorrow, 18),
        end=at(tomorrow, 20),
        capacity=1,
        location="room",
        room=room,
    )
    talk.image.save("poster.webp", webp((90, 90, 0)))
    agenda.register(event=talk, user=resident)
    agenda.register(
        event=talk, name="Sans Compte", email="sans.compte@example.org", by_staff=manager
    )
    agenda.event_create(
        author=manager,
        place=place,
        title="Café repair",
        category="workshop",
        start=at(tomorrow + dt.timedelta(days=2), 10),
        end=at(tomorrow + dt.timedelta(days=2), 12),
        rrule="FREQ=WEEKLY;COUNT=2",
    )
    members.checkin(place=place, member=nomad, actor=staff)
    members.checkin(place=place, member=resident, actor=staff)

    # Hours set after the bookings they would refuse.
    winter = Season.objects.create(
        place=place,
        name="Hiver",
        start_date=dt.date(2026, 12, 20),
        end_date=dt.date(2027, 1, 2),
        closed=True,
    )
    OpeningHours.objects.create(place=place, weekday=0, opens=dt.time(9), closes=dt.time(18))
    OpeningHours.objects.create(
        place=place, season=winter, weekday=1, opens=dt.time(10), closes=dt.time(12)
    )
    ResourceHours.objects.create(resource=laser, weekday=2, opens=dt.time(14), closes=dt.time(17))
    assert membership.months.exists()
    return World(place, manager, staff, resident, nomad, guest)
