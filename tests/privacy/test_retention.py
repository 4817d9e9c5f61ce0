"""Retention: unused accounts are warned, then erased when still unused; used or active
accounts are left alone; old personal logs are purged."""

import datetime as dt

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core import mail
from django.utils import timezone

from maillage.accounts.models import PlaceRole, User
from maillage.agenda.models import Event, Registration
from maillage.community.models import Notification
from maillage.core.audit import audit_record
from maillage.core.models import AuditEntry
from maillage.privacy import retention
from maillage.privacy.models import RetentionNotice
from tests.factories import PlaceFactory, UserFactory
from tests.members.factories import give, plan_for

pytestmark = pytest.mark.django_db

LONG_AGO = timezone.now() - dt.timedelta(days=4 * 365)


def idle(**kwargs) -> User:
    user = UserFactory(**kwargs)
    User.objects.filter(pk=user.pk).update(last_login=LONG_AGO, date_joined=LONG_AGO)
    return User.objects.get(pk=user.pk)


def test_an_unused_account_is_warned_then_erased_when_still_unused(
    django_capture_on_commit_callbacks,
):
    sleeper = idle(email="sleeper@example.org", full_name="Sam Sleeper")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert retention.accounts_job() == {"warned": 1, "erased": 0, "kept": 0}
    notice = RetentionNotice.objects.get(user=sleeper)
    assert notice.erase_after - notice.warned_at == dt.timedelta(days=30)
    assert [m.to for m in mail.outbox] == [["sleeper@example.org"]]
    assert "/accounts/login/" in mail.outbox[0].body
    # Idempotent: the same day, nothing more.
    assert retention.accounts_job() == {"warned": 0, "erased": 0, "kept": 0}
    assert len(mail.outbox) == 1

    later = timezone.now() + dt.timedelta(days=31)
    with django_capture_on_commit_callbacks(execute=True):
        assert retention.accounts_job(now=later) == {"warned": 0, "erased": 1, "kept": 0}
    assert mail.outbox[-1].to == ["sleeper@example.org"]  # the confirmation of the erasure
    gone = User.objects.get(pk=sleeper.pk)
    assert not gone.is_active and gone.email != "sleeper@example.org" and gone.full_name == ""
    assert not RetentionNotice.objects.exists()
    assert AuditEntry.objects.get(action="privacy.erase").details["reason"] == "retention"


def test_signing_in_after_the_warning_keeps_the_account():
    sleeper = idle()
    retention.accounts_job()
    User.objects.filter(pk=sleeper.pk).update(last_login=timezone.now())
    later = timezone.now() + dt.timedelta(days=31)
    assert retention.accounts_job(now=later) == {"warned": 0, "erased": 0, "kept": 1}
    assert User.objects.get(pk=sleeper.pk).is_active


def test_active_accounts_are_never_taken():
    recent = UserFactory()
    User.objects.filter(pk=recent.pk).update(last_login=timezone.now() - dt.timedelta(days=30))
    with_role = idle()
    PlaceRole.objects.create(user=with_role, place=PlaceFactory(), role=PlaceRole.Role.VISITOR)
    member = idle()
    plan = plan_for(name="Libre", kind="free")
    give(plan, member)
    PlaceRole.objects.filter(user=member).delete()  # the membership alone keeps them
    staff = idle(is_staff=True)
    assert set(retention.unused_accounts()) == set()
    assert retention.accounts_job() == {"warned": 0, "erased": 0, "kept": 0}
    assert all(User.objects.get(pk=u.pk).is_active for u in (with_role, member, staff))


def test_a_never_used_account_counts_from_its_creation():
    never = idle()
    User.objects.filter(pk=never.pk).update(last_login=None)
    fresh = UserFactory()
    assert list(retention.unused_accounts()) == [never]
    assert fresh not in retention.unused_accounts()


def test_the_window_follows_the_setting(settings):
    person = UserFactory()
    User.objects.filter(pk=person.pk).update(
        last_login=timezone.now() - dt.timedelta(days=20),
        date_joined=timezone.now() - dt.timedelta(days=20),
    )
    assert not retention.unused_accounts().exists()
    settings.MAILLAGE_RETENTION_ACCOUNT_DAYS = 10
    assert list(retention.unused_accounts()) == [person]


def test_old_personal_logs_are_purged_and_recent_ones_kept(world):
    old = timezone.now() - dt.timedelta(days=400)
    Notification.objects.update(created_at=old)
    recent_note = Notification.objects.create(user=world.other, subject="Hier", body="...")
    expired = SessionStore()
    expired["x"] = 1
    expired.create()
    Session.objects.filter(pk=expired.session_key).update(expire_date=old)
    entry = audit_record(
        actor=world.manager,
        action="booking.cancel",
        target=world.past_booking,
        place=world.place,
        details={"booker": "someone@example.org", "dates": 2},
    )
    role = audit_record(actor=world.manager, action="place.role", target=world.aline)
    recent = audit_record(actor=world.manager, action="place.edit", target=world.place)
    AuditEntry.objects.filter(pk__in=[entry.pk, role.pk]).update(created_at=old)
    Event.objects.filter(pk=world.past_event.pk).update(start=old, end=old + dt.timedelta(hours=2))
    place_type = ContentType.objects.get_for_model(world.place)

    def admin_change(when):
        row = LogEntry.objects.create(
            user=world.manager,
            content_type=place_type,
            object_id=str(world.place.pk),
            object_repr=str(world.place),
            action_flag=CHANGE,
        )
        LogEntry.objects.filter(pk=row.pk).update(action_time=when)
        return row

    long_ago = admin_change(old)
    recent_admin = admin_change(timezone.now())

    purged = retention.logs_job()

    assert purged["notifications"] >= 1 and purged["sessions"] == 1
    assert purged["admin_entries"] == 1
    assert not LogEntry.objects.filter(pk=long_ago.pk).exists()
    assert LogEntry.objects.filter(pk=recent_admin.pk).exists()
    assert list(Notification.objects.all()) == [recent_note]
    entry.refresh_from_db()
    assert (entry.actor, entry.actor_label, entry.details) == (
        None,
        "",
        {"booker": "[erased]", "dates": 2},
    )
    assert entry.action == "booking.cancel" and entry.place == world.place
    role.refresh_from_db()
    assert role.target_label == "[erased]"
    recent.refresh_from_db()
    assert recent.actor == world.manager
    # Bruno (no account) registered to the long-past event: anonymised; Aline's stays hers.
    rows = Registration.objects.filter(event=world.past_event)
    assert {r.name for r in rows if r.user_id is None} == {"[erased]"}
    assert rows.filter(user=world.aline).exists()
    # Idempotent.
    assert retention.logs_job() == {
        "notifications": 0,
        "sessions": 0,
        "admin_entries": 0,
        "audit_entries": 0,
        "registrations": 0,
    }
