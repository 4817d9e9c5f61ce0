"""Erasure: export → erase → export again shows nothing personal; every table of the database is
searched for the person's traces; the places keep their counts; freed places go to those
waiting; a confirmation email; an audit entry that names nobody."""

import datetime as dt
import io
import json
import zipfile

import pytest
from django.apps import apps
from django.conf import settings
from django.core import mail
from django.utils import translation
from django.utils.translation import gettext as _

from maillage.accounts.models import ApiToken, PlaceRole, User
from maillage.agenda.models import Event, Registration, Subscription
from maillage.bookings.models import Booking, CalendarFeed, Occurrence, WaitlistEntry
from maillage.community.models import Idea, IdeaVote, MentoringRequest, SkillPost, Thanks
from maillage.core.models import AuditEntry
from maillage.members.models import CheckIn, MemberProfile, Membership
from maillage.privacy import services
from maillage.privacy.registry import ERASED_DOMAIN
from tests.factories import UserFactory

from .conftest import ALINE_EMAIL, ALINE_TRACES, BRUNO_EMAIL, BRUNO_TRACES, PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def traces_in_database(traces) -> list[str]:
    """Every row of every table, every column as text: where one of `traces` appears."""
    found = []
    for model in apps.get_models():
        if not model._meta.managed:
            continue
        columns = [f for f in model._meta.concrete_fields if not f.is_relation]
        for row in model.objects.values_list(*[f.attname for f in columns]):
            for column, value in zip(columns, row, strict=True):
                text = json.dumps(value, ensure_ascii=False, default=str).lower()
                text += " " + str(value).lower()
                for trace in traces:
                    if trace in text:
                        found.append(f"{model._meta.label}.{column.name}: {trace}")
    return found


def zip_text(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return "\n".join(
            archive.read(name).decode("utf-8", "replace") for name in archive.namelist()
        )


def test_export_erase_export_again_leaves_nothing_personal(world):
    before = zip_text(services.export_person(world.aline))
    assert all(trace in before.lower() for trace in ("aline.brandebourg", "brandebourg"))
    assert traces_in_database(ALINE_TRACES)

    services.erase_person(world.aline, actor=world.aline)

    tombstone = User.objects.get(pk=world.aline.pk)
    after = zip_text(services.export_person(tombstone)).lower()
    assert not [trace for trace in ALINE_TRACES if trace in after]
    assert traces_in_database(ALINE_TRACES) == []
    # Her address belongs to nobody now: looking it up finds nothing.
    assert services.counts(services.person_by_email(ALINE_EMAIL)) == []


def test_the_account_becomes_a_tombstone_nobody_can_use(world, client, settings):
    photos = {p.name for p in (settings.MEDIA_ROOT).rglob("*.webp")}
    assert {"aline.webp", "tour.webp"} <= photos
    services.erase_person(world.aline, actor=world.aline)
    assert not list(settings.MEDIA_ROOT.rglob("*.webp"))  # profile and give-box photos
    tombstone = User.objects.get(pk=world.aline.pk)
    assert tombstone.email.endswith("@" + ERASED_DOMAIN)
    assert (tombstone.full_name, tombstone.is_active, tombstone.has_usable_password()) == (
        "",
        False,
        False,
    )
    assert not PlaceRole.objects.filter(user=tombstone).exists()
    assert not ApiToken.objects.filter(user=tombstone).exists()
    assert not CalendarFeed.objects.filter(user=tombstone).exists()
    assert not MemberProfile.objects.filter(user=tombstone).exists()
    assert not client.login(email=ALINE_EMAIL, password=PASSWORD)
    response = client.get("/api/v1/me/data", HTTP_AUTHORIZATION=f"Bearer {world.token}")
    assert response.status_code == 401


def test_counts_stay_and_freed_places_go_to_those_waiting(world):
    counted = {
        "bookings": Booking.objects.count(),
        "occurrences": Occurrence.objects.count(),
        "checkins": CheckIn.objects.count(),
        "memberships": Membership.objects.count(),
        "registrations": Registration.objects.count(),
        "past_event_registrations": Registration.objects.filter(event=world.past_event).count(),
        "thanks": Thanks.objects.count(),
        "votes": IdeaVote.objects.count(),
        "posts": SkillPost.objects.count(),
        "ideas": Idea.objects.count(),
    }
    idea_votes = Idea.objects.get(author=world.aline).votes

    services.erase_person(world.aline, actor=world.aline)

    assert {
        "bookings": Booking.objects.count() - 1,  # Odile's booking from the waiting list
        "occurrences": Occurrence.objects.count() - 1,
        "checkins": CheckIn.objects.count(),
        "memberships": Membership.objects.count(),
        "registrations": Registration.objects.count(),
        "past_event_registrations": Registration.objects.filter(event=world.past_event).count(),
        "thanks": Thanks.objects.count(),
        "votes": IdeaVote.objects.count(),
        "posts": SkillPost.objects.count(),
        "ideas": Idea.objects.count(),
    } == counted
    assert Idea.objects.get(author_id=world.aline.pk).votes == idea_votes
    # Her coming slot is free and Odile, who waited for it, has it.
    assert set(world.future_booking.occurrences.values_list("status", flat=True)) == {"cancelled"}
    waiting = WaitlistEntry.objects.get(pk=world.waiting.pk)
    assert waiting.status == WaitlistEntry.Status.BOOKED
    assert waiting.booking.booker == world.other
    # Her place at the full event went to Bruno, who waited.
    event = Event.objects.get(pk=world.full_event.pk)
    assert Registration.objects.get(pk=world.waiting_registration.pk).status == "confirmed"
    assert (event.confirmed_count, event.waitlisted_count) == (1, 0)
    # Past rows stay, tied to the tombstone.
    assert Booking.objects.get(pk=world.past_booking.pk).booker_id == world.aline.pk
    assert Booking.objects.get(pk=world.past_booking.pk).title == ""
    post = SkillPost.objects.get(author_id=world.aline.pk)
    assert post.is_hidden and post.closed_at is not None and not post.skills.exists()


def test_a_confirmation_goes_to_the_old_address_and_the_audit_names_nobody(world):
    mail.outbox.clear()
    services.erase_person(world.aline, actor=world.aline)
    sent = [m for m in mail.outbox if m.to == [ALINE_EMAIL]]
    assert len(sent) == 1
    with translation.override("fr"):  # her language
        assert sent[0].subject.endswith(_("Your personal data has been erased"))
    assert settings.MAILLAGE_SITE_NAME in sent[0].body
    entry = AuditEntry.objects.get(action="privacy.erase")
    assert entry.actor is None and entry.actor_label == "" and entry.target_label == ""
    assert entry.details == {"reason": "request", "with_account": True, "by_self": True}
    # Her earlier entries stay, without her.
    edit = AuditEntry.objects.get(action="resource.edit")
    assert edit.actor is None and edit.actor_label == "[erased]"
    role = AuditEntry.objects.get(action="place.role")
    assert ALINE_EMAIL not in json.dumps(role.details) and role.actor == world.manager


def test_someone_without_an_account_is_erased_by_address(world):
    person = services.person_by_email(BRUNO_EMAIL)
    registrations = Registration.objects.count()
    services.erase_person(person, actor=None)
    assert traces_in_database(BRUNO_TRACES) == []
    assert Registration.objects.count() == registrations
    assert not Subscription.objects.filter(email__iexact=BRUNO_EMAIL).exists()
    assert MentoringRequest.objects.filter(status="closed", name="[erased]").exists()
    # Bruno's place at the full event is given up: he waited, he no longer does.
    assert Registration.objects.get(pk=world.waiting_registration.pk).status == "cancelled"
    # Aline is untouched.
    assert User.objects.get(pk=world.aline.pk).email == ALINE_EMAIL
    assert Subscription.objects.filter(email=ALINE_EMAIL).exists()


def test_erasing_twice_changes_nothing_more(world):
    services.erase_person(world.aline, actor=world.aline)
    snapshot = {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.managed
    }
    mail.outbox.clear()
    services.erase_person(User.objects.get(pk=world.aline.pk), actor=None)
    assert mail.outbox == []  # nobody to tell
    assert traces_in_database(ALINE_TRACES) == []
    for label, count in snapshot.items():
        if label != "core.AuditEntry":
            assert apps.get_model(label).objects.count() == count, label


def test_a_room_booked_for_an_event_stays_with_the_event(world):
    from maillage.agenda import services as agenda

    from .conftest import next_weekday

    start = next_weekday(3, 14)
    (event,) = agenda.event_create(
        author=world.manager,
        place=world.place,
        room=world.room,
        location="room",
        title="Fête du lieu",
        category="repair_cafe",
        start=start,
        end=start + dt.timedelta(hours=2),
    )
    PlaceRole.objects.create(user=UserFactory(), place=world.place, role=PlaceRole.Role.MANAGER)
    services.erase_person(world.manager, actor=None)
    booking = Event.objects.get(pk=event.pk).booking
    assert booking.booker_id == world.manager.pk and booking.title == "Fête du lieu"
    assert set(booking.occurrences.values_list("status", flat=True)) <= {"confirmed", "pending"}
