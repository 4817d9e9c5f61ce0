"""A person with data in every part of Maillage, and the people around her.

Aline has an account and a bit of everything: profile with photo, skills, roles, a plan and
check-ins, past and future bookings (a waiting list behind the future one), registrations (one to
a full event with someone waiting), posts, replies, thanks, votes, mentoring, notifications, a
newsletter subscription, a proposal, an API token, a session, a second-factor authenticator and
audit entries that name her. Bruno has no account: only rows found by his email address.
"""

import datetime as dt
import zoneinfo
from dataclasses import dataclass

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.sessions.backends.db import SessionStore
from django.core.files.base import ContentFile
from django.utils import timezone

from maillage.accounts.models import PlaceRole, User
from maillage.accounts.services import api_token_create
from maillage.agenda import services as agenda
from maillage.agenda.models import Event, Registration, Subscription
from maillage.bookings import services as bookings
from maillage.bookings.models import Booking, Resource, WaitlistEntry
from maillage.community import exchange, ideas, mentoring
from maillage.community.models import (
    Idea,
    Notification,
    NotificationSettings,
    Report,
)
from maillage.core.audit import audit_record
from maillage.members.models import CheckIn, MemberProfile, MemberSkill
from maillage.places.models import PlaceProposal
from maillage.places.services import record_revision
from tests.community.factories import (
    item_at,
    mentor_at,
    mentoring_request_at,
    opportunity_at,
    skill_post_at,
)
from tests.factories import NetworkFactory, PlaceFactory, UserFactory, make_manager
from tests.members.factories import give, plan_for

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
PASSWORD = "correct horse battery"  # the factories' password
ALINE_EMAIL = "aline.brandebourg@example.org"
ALINE_NAME = "Aline Zéphyrine Brandebourg"
ALINE_PHONE = "+33 6 12 34 56 78"
BRUNO_EMAIL = "bruno.quesnoy@example.net"
BRUNO_NAME = "Bruno Quesnoy"
# What must be found nowhere once she is erased (case-insensitive).
ALINE_TRACES = ("aline.brandebourg", "brandebourg", "zéphyrine", "zephyrine", "12 34 56 78")
BRUNO_TRACES = ("bruno.quesnoy", "quesnoy")


def next_weekday(weekday: int, hour: int, weeks: int = 1) -> dt.datetime:
    today = timezone.now().astimezone(PARIS).date()
    days = (weekday - today.weekday()) % 7 + 7 * weeks
    return dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour), PARIS)


@dataclass
class World:
    aline: User
    bruno_email: str
    place: object
    manager: User
    other: User
    room: Resource
    future_booking: Booking
    past_booking: Booking
    waiting: WaitlistEntry
    full_event: Event
    waiting_registration: Registration
    past_event: Event
    token: str


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def world(db) -> World:
    network = NetworkFactory()
    place = PlaceFactory(name="La Fabrique du Causse")
    place.networks.add(network)
    manager = make_manager(place, full_name="Marc Gérant", language="fr")
    aline = UserFactory(email=ALINE_EMAIL, full_name=ALINE_NAME, language="fr")
    other = UserFactory(full_name="Odile Voisine")
    for person in (aline, other):
        PlaceRole.objects.create(user=person, place=place, role=PlaceRole.Role.RESIDENT)

    # Account: allauth address, second factor, API token, a calendar feed, a session.
    EmailAddress.objects.create(user=aline, email=ALINE_EMAIL, verified=True, primary=True)
    Authenticator.objects.create(user=aline, type=Authenticator.Type.TOTP, data={"secret": "x"})
    _token, raw = api_token_create(user=aline, name="Mon script")
    bookings.calendar_feed_renew(user=aline)

    # Members: profile with photo, skills, a ticket book, a check-in two days ago.
    profile = MemberProfile.objects.create(
        user=aline, bio='=HYPERLINK("http://evil")', links=["https://aline.example.org"]
    )
    profile.photo.save("aline.webp", ContentFile(b"RIFF fake webp of Aline"), save=True)
    MemberSkill.objects.create(user=aline, code="", label="Brandebourg-style pottery", key="pot")
    book = plan_for(place, actor=manager, name="Carnet 10")
    membership = give(book, aline, actor=manager)
    membership.note = f"paid cash, phone {ALINE_PHONE}"
    membership.save()
    day = timezone.localdate() - dt.timedelta(days=2)
    CheckIn.objects.create(
        user=aline,
        place=place,
        day=day,
        checked_in_at=dt.datetime.combine(day, dt.time(9), PARIS),
        consumed=CheckIn.Consumed.TICKET,
        membership=membership,
        checked_in_by=manager,
    )

    # Bookings: a past one (direct rows, the service refuses the past), a future one with
    # Odile waiting for the same slot.
    room = bookings.resource_create(
        place=place, author=manager, name="Salle Aubrac", kind="meeting_room"
    )
    start = next_weekday(1, 10)
    future = bookings.booking_create(
        resource=room,
        booker=aline,
        start=start,
        end=start + dt.timedelta(hours=1),
        title=f"Rendez-vous {ALINE_NAME}",
        private=True,
    )
    waiting = bookings.waitlist_join(
        resource=room, user=other, start=start, end=start + dt.timedelta(hours=1)
    )
    past = Booking.objects.create(resource=room, booker=aline, title="Atelier Brandebourg")
    past.occurrences.create(
        resource=room,
        start=timezone.now() - dt.timedelta(days=10),
        end=timezone.now() - dt.timedelta(days=10) + dt.timedelta(hours=1),
        held_until=timezone.now() - dt.timedelta(days=10) + dt.timedelta(hours=1),
        status="confirmed",
    )

    # Agenda: Aline holds the last place of a full event where Bruno waits; she organises
    # another; she came to a past one; Bruno subscribed to the newsletter.
    soon = timezone.now() + dt.timedelta(days=7)
    (full_event,) = agenda.event_create(
        author=manager,
        place=place,
        title="Repair café",
        category="repair_cafe",
        start=soon,
        end=soon + dt.timedelta(hours=2),
        capacity=1,
    )
    agenda.register(event=full_event, user=aline)
    waiting_registration = agenda.register(
        event=full_event, name=BRUNO_NAME, email=BRUNO_EMAIL, by_staff=manager
    )
    agenda.event_create(
        author=manager,
        place=place,
        title="Atelier poterie",
        category="repair_cafe",
        start=soon,
        end=soon + dt.timedelta(hours=2),
        organiser_name=ALINE_NAME,
        organiser_email=ALINE_EMAIL,
        organiser_phone=ALINE_PHONE,
    )
    (past_event,) = agenda.event_create(
        author=manager,
        place=place,
        title="Conférence",
        category="repair_cafe",
        start=soon,
        end=soon + dt.timedelta(hours=2),
    )
    agenda.register(event=past_event, user=aline)
    agenda.register(event=past_event, name=BRUNO_NAME, email=BRUNO_EMAIL, by_staff=manager)
    Event.objects.filter(pk=past_event.pk).update(
        start=timezone.now() - dt.timedelta(days=30),
        end=timezone.now() - dt.timedelta(days=30, hours=-2),
    )
    past_event.refresh_from_db()
    Subscription.objects.create(email=ALINE_EMAIL, network=network)
    Subscription.objects.create(email=BRUNO_EMAIL, network=network)

    # Community: a skill post Odile thanks her for, her reply to Odile's post, an idea with
    # Odile's vote and hers, a mentor's answer to Bruno, a report, notifications.
    post = skill_post_at(place, author=aline, title=f"Cours de poterie par {ALINE_NAME}")
    odile_post = skill_post_at(place, author=other, kind="request", title="Qui répare un vélo ?")
    exchange.reply_send(post=odile_post, sender=aline, body=f"Moi ! Appelez le {ALINE_PHONE}")
    exchange.reply_send(post=post, sender=other, body="Je veux apprendre")
    exchange.thanks_give(post=post, giver=aline, receiver=other, message="Merci Odile")
    idea = Idea.objects.create(author=aline, place=place, title="Un four à céramique")
    ideas.idea_vote(idea=idea, user=other)
    ideas.idea_vote(idea=idea, user=aline)
    mentor = mentor_at(place, full_name="Mona Mentor")
    question = mentoring_request_at(place, name=BRUNO_NAME, email=BRUNO_EMAIL)
    mentoring.answer_send(request=question, mentor=mentor, body="Bonjour Bruno, voici...")
    mentoring_request_at(place, asker=aline, name="Aline", email=ALINE_EMAIL)
    mentoring.mentor_save(user=aline, fields=["entrepreneurship"], about="Céramiste")
    Report.objects.create(
        content_type_id=_content_type(odile_post),
        object_id=odile_post.pk,
        place=place,
        reporter=aline,
        reason="other",
        comment="Signalé par Aline Brandebourg",
    )
    Notification.objects.create(user=aline, subject="Nouvelle réponse", body="Bonjour Aline")
    NotificationSettings.objects.create(user=aline, frequency="daily")

    # Rows of every other section: a training, a waiting list, an opportunity, a give-box item
    # with its photo, an answer as a mentor, an admin action, a change to a place, a session,
    # a place archive she asked for.
    bookings.training_validate(
        user=aline, machine_type="laser_cutter", place=place, validator=manager
    )
    later = next_weekday(2, 10)
    bookings.booking_create(
        resource=room, booker=other, start=later, end=later + dt.timedelta(hours=1)
    )
    bookings.waitlist_join(
        resource=room, user=aline, start=later, end=later + dt.timedelta(hours=1), title="Moi"
    )
    opportunity_at(place, author=aline, title="Cherche céramiste")
    item = item_at(place, author=aline, title="Tour de potier")
    item.photo.save("tour.webp", ContentFile(b"RIFF potter's wheel"), save=True)
    mentoring.answer_send(request=question, mentor=aline, body="Je suis passée par là aussi")
    LogEntry.objects.create(
        user=aline,
        content_type_id=_content_type(place),
        object_id=str(place.pk),
        object_repr=place.name,
        action_flag=CHANGE,
        change_message="[]",
    )
    record_revision(place=place, author=aline, source="edit", changes={"phone": ["", "04"]})
    session = SessionStore()
    session["_auth_user_id"] = str(aline.pk)
    session.create()
    apps.get_model("archives", "PlaceArchive").objects.create(place=place, requested_by=aline)

    # Places: a proposal she made; the audit log names her (the membership given above too).
    PlaceProposal.objects.create(
        kind="new",
        payload={"name": "Tiers-lieu du Causse", "email": ALINE_EMAIL},
        proposer=aline,
        proposer_name=ALINE_NAME,
        proposer_email=ALINE_EMAIL,
        message="Je connais bien ce lieu",
    )
    PlaceProposal.objects.create(
        kind="new",
        payload={"name": "Chez Bruno"},
        proposer_name=BRUNO_NAME,
        proposer_email=BRUNO_EMAIL,
    )
    audit_record(
        actor=manager,
        action="place.role",
        target=aline,
        place=place,
        details={"member": ALINE_EMAIL, "name": ALINE_NAME},
    )
    audit_record(actor=aline, action="resource.edit", target=room, place=place)
    return World(
        aline=User.objects.get(pk=aline.pk),
        bruno_email=BRUNO_EMAIL,
        place=place,
        manager=manager,
        other=other,
        room=room,
        future_booking=future,
        past_booking=past,
        waiting=waiting,
        full_event=full_event,
        waiting_registration=waiting_registration,
        past_event=past_event,
        token=raw,
    )


def _content_type(instance) -> int:
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(instance).pk


@pytest.fixture
def aline_client(client, world):
    client.force_login(world.aline)
    return client
