"""Retention (docs/privacy.md): unused accounts are warned, then erased; old personal logs go.

Run daily by `maillage privacy_jobs`. Idempotent: a second run the same day does nothing more.
"""

import datetime as dt
import re

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from maillage.accounts.models import NetworkRole, PlaceRole, User
from maillage.agenda.models import Registration
from maillage.bookings.models import Occurrence
from maillage.community.models import Notification
from maillage.core.models import AuditEntry
from maillage.core.tasks import send_email
from maillage.members.models import Membership

from . import services
from .models import RetentionNotice
from .registry import ERASED, ERASED_DOMAIN, erased_email

EMAIL = re.compile(r"[^@\s\"']+@[^@\s\"']+")
# Audit entries whose object is a person or a person's row: their label names that person.
PERSONAL_TARGETS = {
    "user",
    "placerole",
    "networkrole",
    "apitoken",
    "registration",
    "membership",
    "checkin",
    "memberprofile",
    "trainingvalidation",
    "waitlistentry",
    "mentor",
    "thanks",
}


def unused_accounts(now: dt.datetime | None = None) -> QuerySet[User]:
    """Accounts nobody used for MAILLAGE_RETENTION_ACCOUNT_DAYS: no sign-in since (or ever,
    created before that), no role, no current membership, nothing booked or registered ahead.
    Staff accounts of the instance and tombstones are never taken."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=settings.MAILLAGE_RETENTION_ACCOUNT_DAYS)
    today = timezone.localdate(now)
    person = OuterRef("pk")
    return (
        User.objects.filter(is_active=True, is_staff=False, is_superuser=False)
        .filter(Q(last_login__lt=since) | Q(last_login__isnull=True, date_joined__lt=since))
        .exclude(email__iendswith=f"@{ERASED_DOMAIN}")
        .exclude(Exists(PlaceRole.objects.filter(user=person)))
        .exclude(Exists(NetworkRole.objects.filter(user=person)))
        .exclude(
            Exists(
                Membership.objects.filter(user=person, ended_at__isnull=True).filter(
                    Q(ends_on__isnull=True) | Q(ends_on__gte=today)
                )
            )
        )
        .exclude(
            Exists(
                Occurrence.objects.filter(
                    booking__booker=person, status__in=Occurrence.HOLDING, end__gt=now
                )
            )
        )
        .exclude(
            Exists(
                Registration.objects.filter(
                    user=person, status__in=Registration.ACTIVE, event__end__gt=now
                )
            )
        )
    )


def _warn(user: User, notice: RetentionNotice) -> None:
    with translation.override(user.language or settings.LANGUAGE_CODE):
        body = render_to_string(
            "privacy/email/retention_warning.txt",
            {
                "user": user,
                "erase_after": notice.erase_after,
                "login_url": settings.MAILLAGE_BASE_URL + reverse("account_login"),
                "site_name": settings.MAILLAGE_SITE_NAME,
            },
        )
        subject = f"[{settings.MAILLAGE_SITE_NAME}] " + _("Your account will be erased")
    recipient = user.email
    transaction.on_commit(
        lambda: send_email.enqueue(subject=subject, body=body, recipients=[recipient]),
        robust=True,
    )


def accounts_job(now: dt.datetime | None = None) -> dict[str, int]:
    """Warn the newly unused accounts, forget the warnings of those used again, and erase the
    ones still unused when their notice runs out."""
    now = now or timezone.now()
    unused = set(unused_accounts(now).values_list("pk", flat=True))
    kept = RetentionNotice.objects.exclude(user__in=unused)
    revived = kept.count()
    kept.delete()
    erased = 0
    for notice in RetentionNotice.objects.filter(erase_after__lte=now).select_related("user"):
        services.erase_person(notice.user, actor=None, reason="retention")
        erased += 1
    warned = 0
    notice_days = dt.timedelta(days=settings.MAILLAGE_RETENTION_NOTICE_DAYS)
    # Asked again: the accounts just erased are tombstones now, no longer "unused accounts".
    for user in unused_accounts(now).exclude(
        Exists(RetentionNotice.objects.filter(user=OuterRef("pk")))
    ):
        with transaction.atomic():
            notice = RetentionNotice.objects.create(
                user=user, warned_at=now, erase_after=now + notice_days
            )
            _warn(user, notice)
        warned += 1
    return {"warned": warned, "erased": erased, "kept": revived}


def _scrub_emails(value):
    if isinstance(value, str):
        return EMAIL.sub(ERASED, value)
    if isinstance(value, list):
        return [_scrub_emails(item) for item in value]
    if isinstance(value, dict):
        return {_scrub_emails(key): _scrub_emails(item) for key, item in value.items()}
    return value


@transaction.atomic
def logs_job(now: dt.datetime | None = None) -> dict[str, int]:
    """Purge the personal logs older than MAILLAGE_RETENTION_LOG_DAYS: community notifications,
    expired sessions, the admin site's history (who changed which object: the audit log keeps
    the privileged writes), who did what in the audit log (the entries stay: what, when, where),
    and the names and addresses of people without an account registered to events long past."""
    now = now or timezone.now()
    before = now - dt.timedelta(days=settings.MAILLAGE_RETENTION_LOG_DAYS)
    notifications, _rows = Notification.objects.filter(created_at__lt=before).delete()
    sessions, _rows = Session.objects.filter(expire_date__lt=now).delete()
    admin_entries, _rows = LogEntry.objects.filter(action_time__lt=before).delete()
    audit = 0
    old = AuditEntry.objects.filter(created_at__lt=before).filter(
        Q(actor__isnull=False)
        | ~Q(actor_label="")
        | Q(details__icontains="@")
        | (Q(target_type__in=PERSONAL_TARGETS) & ~Q(target_label=ERASED))
    )
    for entry in old.select_for_update():
        cleaned = _scrub_emails(entry.details)
        label = ERASED if entry.target_type in PERSONAL_TARGETS else entry.target_label
        if (entry.actor_id, entry.actor_label, entry.details, entry.target_label) == (
            None,
            "",
            cleaned,
            label,
        ):
            continue
        entry.actor = None
        entry.actor_label = ""
        entry.details = cleaned
        entry.target_label = label
        entry.save(update_fields=["actor", "actor_label", "details", "target_label"])
        audit += 1
    registrations = 0
    for registration in Registration.objects.filter(
        user__isnull=True, event__end__lt=before
    ).exclude(email__iendswith=f"@{ERASED_DOMAIN}"):
        Registration.objects.filter(pk=registration.pk).update(
            name=ERASED, email=erased_email(), updated_at=now
        )
        registrations += 1
    return {
        "notifications": notifications,
        "sessions": sessions,
        "admin_entries": admin_entries,
        "audit_entries": audit,
        "registrations": registrations,
    }
