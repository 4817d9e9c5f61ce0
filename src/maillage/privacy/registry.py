"""Every model that holds personal data, and what export and erasure do with its rows.

One `Entry` per model (`REGISTRY`, in erasure order: the account's tombstone comes last), each
with an `export` (the person's rows as JSON-safe dicts with readable keys) and an `erase` (delete,
anonymise, or keep the row tied to the tombstone account so that counts stay right). Models that
look personal but are not the person's data are listed in `EXEMPT` with the reason.

tests/privacy/test_registry_coverage.py fails when a model of the project or of an installed
third-party app holds personal data (`personal_fields`) and is in neither: a new model cannot ship
without someone deciding what happens to its rows when a person asks.

A "person" is an account, or only an email address (requests received by the network from
someone without an account: registrations, newsletter, mentoring questions, proposals).
"""

import contextlib
import datetime as dt
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

ERASED = "[erased]"
ERASED_DOMAIN = "erased.invalid"


@dataclass
class Person:
    """Whose data: an account (`user`), or only an email address (`user` None)."""

    email: str
    user: object | None = None
    names: set[str] = field(default_factory=set)

    @property
    def secrets(self) -> set[str]:
        """Strings that identify the person in free text (logs, JSON)."""
        return {value for value in {self.email, *self.names} if value and len(value) >= 3}

    def owns(self, user_field: str = "user", email_field: str | None = None) -> Q:
        """Rows of the person: linked to their account, or (account-less rows) to their email."""
        needle = Q(pk__in=[])
        if self.user is not None:
            needle |= Q(**{user_field: self.user})
        if email_field and self.email:
            needle |= Q(**{f"{email_field}__iexact": self.email})
        return needle


@dataclass
class Context:
    """What an erasure knows: when it happens and files to delete once it commits."""

    now: dt.datetime
    files: list = field(default_factory=list)


@dataclass(frozen=True)
class Entry:
    model: str  # "app_label.ModelName"
    section: str  # file name of the section in the export (data.json key, <section>.csv)
    title: object  # translated title of the section
    how: str  # what erasure does: "delete", "anonymise" or "keep" (tied to the tombstone)
    export: Callable[[Person], list[dict]]
    erase: Callable[[Person, Context], int]


def erased_email() -> str:
    return f"erased-{secrets.token_hex(8)}@{ERASED_DOMAIN}"


def json_safe(value):
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, models.fields.files.FieldFile):
        return value.name or ""
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    return value


def _rows(queryset, columns: dict[str, Callable]) -> list[dict]:
    return [{name: json_safe(getter(row)) for name, getter in columns.items()} for row in queryset]


def scrub(value, needles: set[str]):
    """`value` (text or JSON) with every string that contains one of `needles` replaced."""
    if isinstance(value, str):
        lowered = value.lower()
        return ERASED if any(n.lower() in lowered for n in needles if n) else value
    if isinstance(value, list):
        return [scrub(item, needles) for item in value]
    if isinstance(value, dict):
        return {scrub(key, needles): scrub(item, needles) for key, item in value.items()}
    return value


def _delete_files_after_commit(context: Context, *fields) -> None:
    for file_field in fields:
        if file_field and file_field.name:
            context.files.append((file_field.storage, file_field.name))


# Accounts --------------------------------------------------------------------------------------


def _export_account(person):
    if person.user is None:
        return []
    user = person.user
    return [
        {
            "email": user.email,
            "full_name": user.full_name,
            "language": user.language,
            "joined": json_safe(user.date_joined),
            "last_login": json_safe(user.last_login),
            "is_active": user.is_active,
        }
    ]


def _erase_account(person, context):
    """The account becomes a tombstone: the rows kept for counts point to it, nothing personal
    is left on it, and nobody can sign in with it."""
    if person.user is None:
        return 0
    user = person.user
    user.email = erased_email()
    user.full_name = ""
    user.set_unusable_password()
    user.is_active = False
    user.is_staff = False
    user.is_superuser = False
    user.last_login = None
    user.save()
    user.groups.clear()
    user.user_permissions.clear()
    return 1


def _place_roles(person):
    from maillage.accounts.models import PlaceRole

    return PlaceRole.objects.filter(person.owns()).select_related("place")


def _network_roles(person):
    from maillage.accounts.models import NetworkRole

    return NetworkRole.objects.filter(person.owns()).select_related("network")


def _api_tokens(person):
    from maillage.accounts.models import ApiToken

    return ApiToken.objects.filter(person.owns())


def _email_addresses(person):
    from allauth.account.models import EmailAddress

    return EmailAddress.objects.filter(person.owns(email_field="email"))


def _email_confirmations(person):
    from allauth.account.models import EmailConfirmation

    return EmailConfirmation.objects.filter(email_address__in=_email_addresses(person))


def _authenticators(person):
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(person.owns())


def _session_keys(person) -> list[str]:
    from django.contrib.sessions.models import Session

    if person.user is None:
        return []
    wanted = str(person.user.pk)
    return [
        session.session_key
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if str(session.get_decoded().get("_auth_user_id")) == wanted
    ]


def _erase_sessions(person, context):
    from importlib import import_module

    from django.conf import settings

    store = import_module(settings.SESSION_ENGINE).SessionStore
    keys = _session_keys(person)
    for key in keys:
        store(session_key=key).delete()
    return len(keys)


def _delete(queryset_of):
    def erase(person, context):
        deleted, _per_model = queryset_of(person).delete()
        return deleted

    return erase


# Audit log and admin history --------------------------------------------------------------------


def _audit_entries(person):
    from maillage.core.models import AuditEntry

    return AuditEntry.objects.filter(person.owns("actor")).select_related("place", "network")


def _erase_audit(person, context):
    from maillage.core.audit import audit_erase_person

    if person.user is not None:
        return audit_erase_person(person.user)
    # Without an account: the same scrubbing, for the address and the names given with it. The
    # stand-in account (id 0, never saved) is nobody's: it matches no entry's actor.
    user_model = get_user_model()
    changed = 0
    for name in person.names or {""}:
        changed += audit_erase_person(user_model(pk=0, email=person.email, full_name=name))
    return changed


def _admin_log(person):
    from django.contrib.admin.models import LogEntry

    return LogEntry.objects.filter(person.owns())


def _erase_admin_log(person, context):
    """The person's own admin actions stay (tied to the tombstone); entries naming them lose the
    name."""
    from django.contrib.admin.models import LogEntry

    needle = Q(pk__in=[])
    for secret in person.secrets:
        needle |= Q(object_repr__icontains=secret) | Q(change_message__icontains=secret)
    changed = 0
    for entry in LogEntry.objects.filter(needle):
        entry.object_repr = scrub(entry.object_repr, person.secrets)
        entry.change_message = scrub(entry.change_message, person.secrets)
        entry.save(update_fields=["object_repr", "change_message"])
        changed += 1
    return changed


# Places -----------------------------------------------------------------------------------------


def _proposals(person):
    from maillage.places.models import PlaceProposal

    return PlaceProposal.objects.filter(person.owns("proposer", "proposer_email"))


def _erase_proposals(person, context):
    changed = 0
    for proposal in _proposals(person):
        proposal.proposer_name = ""
        proposal.proposer_email = ""
        proposal.message = ""
        proposal.payload = scrub(proposal.payload, person.secrets)
        proposal.save(update_fields=["proposer_name", "proposer_email", "message", "payload"])
        changed += 1
    return changed


def _revisions(person):
    from maillage.places.models import PlaceRevision

    return PlaceRevision.objects.filter(person.owns("author")).select_related("place")


def _erase_revisions(person, context):
    """A place's history stays (authored by the tombstone); values naming the person go."""
    from maillage.places.models import PlaceRevision

    needle = person.owns("author")
    for secret in person.secrets:
        needle |= Q(changes__icontains=secret)
    changed = 0
    for revision in PlaceRevision.objects.filter(needle):
        cleaned = scrub(revision.changes, person.secrets)
        if cleaned != revision.changes:
            revision.changes = cleaned
            revision.save(update_fields=["changes"])
            changed += 1
    return changed


# Bookings ---------------------------------------------------------------------------------------


def _bookings(person):
    from maillage.bookings.models import Booking

    return (
        Booking.objects.filter(person.owns("booker"))
        .select_related("resource__place")
        .prefetch_related("occurrences")
    )


def _booking_dates(booking) -> str:
    return "; ".join(
        f"{o.start.isoformat()} → {o.end.isoformat()} ({o.status})"
        for o in booking.occurrences.all()
    )


def _erase_bookings(person, context):
    """Future slots are cancelled through the bookings service (slots freed, waiting lists
    served); the rows stay for the place's counts, without their titles and notes."""
    from maillage.bookings import services
    from maillage.bookings.models import Occurrence

    changed = 0
    for booking in _bookings(person):
        # A room booked for an event was booked by the team member who placed the event there:
        # it is the place's, and stays with the event (its title too).
        has_event = hasattr(booking, "event") and booking.event is not None
        holding = booking.occurrences.filter(
            status__in=Occurrence.HOLDING, start__gte=context.now
        ).exists()
        if holding and not has_event:
            # Within the resource's cancellation deadline the slot stays booked (by the
            # tombstone), as it would if the person cancelled themself.
            with contextlib.suppress(services.CancellationTooLate):
                services.booking_cancel(booking=booking, actor=person.user)
        booking.title = booking.title if has_event and not booking.private else ""
        booking.decision_note = ""
        booking.save(update_fields=["title", "decision_note", "updated_at"])
        changed += 1
    return changed


def _waitlist(person):
    from maillage.bookings.models import WaitlistEntry

    return WaitlistEntry.objects.filter(person.owns()).select_related("resource__place")


def _erase_waitlist(person, context):
    from maillage.bookings import services
    from maillage.bookings.models import WaitlistEntry

    entries = list(_waitlist(person))
    for entry in entries:
        if entry.status == WaitlistEntry.Status.WAITING:
            services.waitlist_leave(entry=entry)
    WaitlistEntry.objects.filter(pk__in=[e.pk for e in entries]).update(title="")
    return len(entries)


def _trainings(person):
    from maillage.bookings.models import TrainingValidation

    return TrainingValidation.objects.filter(person.owns()).select_related("place")


def _calendar_feeds(person):
    from maillage.bookings.models import CalendarFeed

    return CalendarFeed.objects.filter(person.owns())


def _erase_calendar_feed(person, context):
    from maillage.bookings import services

    found = _calendar_feeds(person).count()
    if person.user is not None:
        services.calendar_feed_revoke(user=person.user)
    return found


# Agenda -----------------------------------------------------------------------------------------


def _registrations(person):
    from maillage.agenda.models import Registration

    return Registration.objects.filter(person.owns("user", "email")).select_related("event")


def _erase_registrations(person, context):
    """Active registrations to events still to come are cancelled through the agenda service
    (the waiting list moves up); every registration stays, for the events' counts, without the
    person's name and address."""
    from maillage.agenda import services
    from maillage.agenda.models import Registration

    changed = 0
    for registration in _registrations(person):
        if registration.status in Registration.ACTIVE and registration.event.start > context.now:
            services.registration_cancel(registration=registration, actor=person.user)
        Registration.objects.filter(pk=registration.pk).update(
            name=ERASED, email=erased_email(), updated_at=context.now
        )
        changed += 1
    return changed


def _subscriptions(person):
    from maillage.agenda.models import Subscription

    return Subscription.objects.filter(email__iexact=person.email).prefetch_related("places")


def _events(person):
    from maillage.agenda.models import Event

    return Event.objects.filter(person.owns("created_by", "organiser_email"))


def _erase_events(person, context):
    """Events belong to their place: they stay, without the person's contact as organiser."""
    from maillage.agenda.models import Event

    needle = Q(organiser_email__iexact=person.email)
    for name in person.names:
        needle |= Q(organiser_name__iexact=name)
    return Event.objects.filter(needle).update(
        organiser_name="", organiser_email="", organiser_phone="", updated_at=context.now
    )


# Members ----------------------------------------------------------------------------------------


def _profiles(person):
    from maillage.members.models import MemberProfile

    return MemberProfile.objects.filter(person.owns())


def _erase_profiles(person, context):
    profiles = list(_profiles(person))
    for profile in profiles:
        _delete_files_after_commit(context, profile.photo)
        profile.delete()
    return len(profiles)


def _member_skills(person):
    from maillage.members.models import MemberSkill

    return MemberSkill.objects.filter(person.owns())


def _memberships(person):
    from maillage.members.models import Membership

    return Membership.objects.filter(person.owns()).select_related("plan", "place")


def _erase_memberships(person, context):
    return _memberships(person).update(note="", updated_at=context.now)


def _checkins(person):
    from maillage.members.models import CheckIn

    return CheckIn.objects.filter(person.owns()).select_related("place", "home_place")


def _kept(person, context):
    """Rows kept as they are: once the account is a tombstone they hold nothing personal (a
    day at a place, a vote), and the counts of the places stay right."""
    return 0


# Community --------------------------------------------------------------------------------------


def _posts(model_name):
    def rows(person):
        model = apps.get_model("community", model_name)
        return model.objects.filter(person.owns("author")).select_related("place")

    return rows


def _erase_posts(model_name):
    """A post stays as a hidden, closed tombstone (the thanks, votes and replies others gave it
    keep counting) without its words, skills or photo."""

    def erase(person, context):
        posts = list(_posts(model_name)(person))
        for post in posts:
            post.title = ERASED
            post.body = ""
            if hasattr(post, "search_text"):
                post.search_text = ""
            if post.hidden_at is None:
                post.hidden_at = context.now
            post.hidden_reason = ""
            if hasattr(post, "closed_at") and post.closed_at is None:
                post.closed_at = context.now
            if model_name == "Opportunity":
                post.skills = []
            if model_name == "Idea":
                post.answer = scrub(post.answer, person.secrets)
            if model_name == "Item":
                _delete_files_after_commit(context, post.photo)
                post.photo = ""
            post.save()
            if model_name == "SkillPost":
                post.skills.all().delete()
        return len(posts)

    return erase


def _thanks(person):
    from maillage.community.models import Thanks

    return Thanks.objects.filter(person.owns("giver") | person.owns("receiver")).select_related(
        "post", "place"
    )


def _erase_thanks(person, context):
    return _thanks(person).update(message="")


def _replies(person):
    from maillage.community.models import Reply

    return Reply.objects.filter(person.owns("sender"))


def _erase_replies(person, context):
    return _replies(person).update(body=ERASED)


def _idea_votes(person):
    from maillage.community.models import IdeaVote

    return IdeaVote.objects.filter(person.owns()).select_related("idea")


def _mentors(person):
    from maillage.community.models import Mentor

    return Mentor.objects.filter(person.owns())


def _mentoring_requests(person):
    from maillage.community.models import MentoringRequest

    return MentoringRequest.objects.filter(person.owns("asker", "email")).select_related("place")


def _erase_mentoring_requests(person, context):
    from maillage.community.models import MentoringRequest

    changed = 0
    for request in _mentoring_requests(person):
        MentoringRequest.objects.filter(pk=request.pk).update(
            name=ERASED,
            email=erased_email(),
            question=ERASED,
            fields=[],
            status=MentoringRequest.Status.CLOSED,
            hidden_at=request.hidden_at or context.now,
            hidden_reason="",
            updated_at=context.now,
        )
        changed += 1
    return changed


def _mentoring_answers(person):
    from maillage.community.models import MentoringAnswer

    return MentoringAnswer.objects.filter(person.owns("mentor")).select_related("request")


def _erase_mentoring_answers(person, context):
    return _mentoring_answers(person).update(body=ERASED)


def _reports(person):
    from maillage.community.models import Report

    return Report.objects.filter(person.owns("reporter")).select_related("content_type")


def _erase_reports(person, context):
    return _reports(person).update(comment="")


def _notification_settings(person):
    from maillage.community.models import NotificationSettings

    return NotificationSettings.objects.filter(person.owns())


def _notifications(person):
    from maillage.community.models import Notification

    return Notification.objects.filter(person.owns())


def _erase_notifications(person, context):
    """The person's notifications go; so do the news sent to others that name them (a reply
    of theirs quoted in someone's notification)."""
    from maillage.community.models import Notification

    # What the person wrote, as it may be quoted (runs before the community entries erase it).
    quoted = set(_replies(person).values_list("body", flat=True))
    quoted |= set(_mentoring_requests(person).values_list("question", flat=True))
    quoted = {text.strip() for text in quoted if len(text.strip()) >= 12}
    needle = person.owns()
    for secret in person.secrets | quoted:
        needle |= Q(subject__icontains=secret) | Q(body__icontains=secret)
    deleted, _per_model = Notification.objects.filter(needle).delete()
    return deleted


def _place_archives(person):
    """Archives of a place its team asked for: the request stays (tied to the tombstone); the
    archive file is the place's and expires on its own (MAILLAGE_ARCHIVE_KEEP_DAYS)."""
    model = apps.get_model("archives", "PlaceArchive")
    return model.objects.filter(person.owns("requested_by")).select_related("place")


def _retention_notices(person):
    from maillage.privacy.models import RetentionNotice

    return RetentionNotice.objects.filter(person.owns())


# The registry -----------------------------------------------------------------------------------


def _place(row) -> str:
    return row.place.name if row.place_id else ""


REGISTRY: list[Entry] = [
    Entry(
        "bookings.Booking",
        "bookings",
        _("Bookings"),
        "keep",
        lambda p: _rows(
            _bookings(p),
            {
                "resource": lambda b: b.resource.name,
                "place": lambda b: b.resource.place.name,
                "title": lambda b: b.title,
                "private": lambda b: b.private,
                "repeat_rule": lambda b: b.rrule,
                "message_from_the_team": lambda b: b.decision_note,
                "created": lambda b: b.created_at,
                "dates": _booking_dates,
            },
        ),
        _erase_bookings,
    ),
    Entry(
        "bookings.WaitlistEntry",
        "waiting_lists",
        _("Waiting lists"),
        "keep",
        lambda p: _rows(
            _waitlist(p),
            {
                "resource": lambda w: w.resource.name,
                "place": lambda w: w.resource.place.name,
                "start": lambda w: w.start,
                "end": lambda w: w.end,
                "title": lambda w: w.title,
                "status": lambda w: w.status,
                "created": lambda w: w.created_at,
            },
        ),
        _erase_waitlist,
    ),
    Entry(
        "bookings.TrainingValidation",
        "trainings",
        _("Machine trainings"),
        "delete",
        lambda p: _rows(
            _trainings(p),
            {
                "machine_type": lambda t: t.machine_type,
                "validated_at": _place,
                "valid_until": lambda t: t.expires_on,
                "created": lambda t: t.created_at,
            },
        ),
        _delete(_trainings),
    ),
    Entry(
        "bookings.CalendarFeed",
        "calendar_feed",
        _("Calendar feed"),
        "delete",
        lambda p: _rows(_calendar_feeds(p), {"created": lambda f: f.created_at}),
        _erase_calendar_feed,
    ),
    Entry(
        "agenda.Registration",
        "registrations",
        _("Event registrations"),
        "anonymise",
        lambda p: _rows(
            _registrations(p),
            {
                "event": lambda r: r.event.title,
                "event_start": lambda r: r.event.start,
                "name": lambda r: r.name,
                "email": lambda r: r.email,
                "status": lambda r: r.status,
                "registered": lambda r: r.created_at,
                "cancelled": lambda r: r.cancelled_at,
                "checked_in": lambda r: r.checked_in_at,
            },
        ),
        _erase_registrations,
    ),
    Entry(
        "agenda.Subscription",
        "newsletter",
        _("Newsletter subscriptions"),
        "delete",
        lambda p: _rows(
            _subscriptions(p),
            {
                "email": lambda s: s.email,
                "language": lambda s: s.language,
                "network": lambda s: s.network.name if s.network_id else "",
                "places": lambda s: [place.name for place in s.places.all()],
                "confirmed": lambda s: s.confirmed_at,
                "last_sent": lambda s: s.last_sent_at,
            },
        ),
        _delete(_subscriptions),
    ),
    Entry(
        "agenda.Event",
        "events",
        _("Events you created or organise"),
        "anonymise",
        lambda p: _rows(
            _events(p),
            {
                "title": lambda e: e.title,
                "start": lambda e: e.start,
                "organiser": lambda e: e.organiser_name,
                "organiser_email": lambda e: e.organiser_email,
                "organiser_phone": lambda e: e.organiser_phone,
                "status": lambda e: e.status,
            },
        ),
        _erase_events,
    ),
    Entry(
        "members.MemberProfile",
        "profile",
        _("Member profile"),
        "delete",
        lambda p: _rows(
            _profiles(p),
            {
                "about": lambda m: m.bio,
                "links": lambda m: m.links,
                "languages": lambda m: m.languages,
                "visibility": lambda m: m.visibility,
                "show_presence": lambda m: m.show_presence,
                "photo": lambda m: m.photo,
                "updated": lambda m: m.updated_at,
            },
        ),
        _erase_profiles,
    ),
    Entry(
        "members.MemberSkill",
        "skills",
        _("Skills"),
        "delete",
        lambda p: _rows(_member_skills(p), {"code": lambda s: s.code, "skill": lambda s: s.label}),
        _delete(_member_skills),
    ),
    Entry(
        "members.Membership",
        "memberships",
        _("Plans and memberships"),
        "keep",
        lambda p: _rows(
            _memberships(p),
            {
                "plan": lambda m: m.plan.name,
                "place": _place,
                "from": lambda m: m.starts_on,
                "until": lambda m: m.ends_on,
                "tickets_left": lambda m: m.tickets_left,
                "price": lambda m: m.price,
                "ended": lambda m: m.ended_at,
                "note": lambda m: m.note,
            },
        ),
        _erase_memberships,
    ),
    Entry(
        "members.CheckIn",
        "check_ins",
        _("Attendance"),
        "keep",
        lambda p: _rows(
            _checkins(p),
            {
                "place": _place,
                "day": lambda c: c.day,
                "arrived": lambda c: c.checked_in_at,
                "left": lambda c: c.checked_out_at,
                "paid_with": lambda c: c.consumed,
                "pass_from": lambda c: c.home_place.name if c.home_place_id else "",
            },
        ),
        _kept,
    ),
    Entry(
        "community.NotificationSettings",
        "notification_settings",
        _("Notification settings"),
        "delete",
        lambda p: _rows(
            _notification_settings(p),
            {"frequency": lambda n: n.frequency, "matches": lambda n: n.notify_matches},
        ),
        _delete(_notification_settings),
    ),
    Entry(
        "community.Notification",
        "notifications",
        _("Notifications"),
        "delete",
        lambda p: _rows(
            _notifications(p),
            {
                "subject": lambda n: n.subject,
                "text": lambda n: n.body,
                "created": lambda n: n.created_at,
                "read": lambda n: n.read_at,
            },
        ),
        _erase_notifications,
    ),
    *(
        Entry(
            f"community.{model_name}",
            section,
            title,
            "keep",
            lambda p, model_name=model_name: _rows(
                _posts(model_name)(p),
                {
                    "title": lambda o: o.title,
                    "text": lambda o: o.body,
                    "place": _place,
                    "created": lambda o: o.created_at,
                    "hidden": lambda o: o.hidden_at,
                },
            ),
            _erase_posts(model_name),
        )
        for model_name, section, title in (
            ("SkillPost", "skill_posts", _("Skills offered and sought")),
            ("Opportunity", "opportunities", _("Projects and opportunities")),
            ("Item", "give_box", _("Give-box")),
            ("Idea", "ideas", _("Ideas")),
        )
    ),
    Entry(
        "community.Thanks",
        "thanks",
        _("Thanks given and received"),
        "keep",
        lambda p: _rows(
            _thanks(p),
            {
                "post": lambda t: t.post.title,
                "given": lambda t: t.giver_id == getattr(p.user, "pk", None),
                "message": lambda t: t.message,
                "created": lambda t: t.created_at,
            },
        ),
        _erase_thanks,
    ),
    Entry(
        "community.Reply",
        "private_replies",
        _("Private replies you sent"),
        "keep",
        lambda p: _rows(
            _replies(p),
            {
                "to": lambda r: r.target.title if r.target else "",
                "message": lambda r: r.body,
                "sent": lambda r: r.created_at,
            },
        ),
        _erase_replies,
    ),
    Entry(
        "community.IdeaVote",
        "idea_votes",
        _("Votes for ideas"),
        "keep",
        lambda p: _rows(
            _idea_votes(p), {"idea": lambda v: v.idea.title, "voted": lambda v: v.created_at}
        ),
        _kept,
    ),
    Entry(
        "community.Mentor",
        "mentor",
        _("Mentor profile"),
        "delete",
        lambda p: _rows(
            _mentors(p),
            {
                "fields": lambda m: m.fields,
                "about": lambda m: m.about,
                "active": lambda m: m.is_active,
            },
        ),
        _delete(_mentors),
    ),
    Entry(
        "community.MentoringRequest",
        "mentoring_questions",
        _("Mentoring questions"),
        "anonymise",
        lambda p: _rows(
            _mentoring_requests(p),
            {
                "place": _place,
                "name": lambda m: m.name,
                "email": lambda m: m.email,
                "age": lambda m: m.age_group,
                "topic": lambda m: m.topic,
                "question": lambda m: m.question,
                "status": lambda m: m.status,
                "asked": lambda m: m.created_at,
            },
        ),
        _erase_mentoring_requests,
    ),
    Entry(
        "community.MentoringAnswer",
        "mentoring_answers",
        _("Answers you gave as a mentor"),
        "keep",
        lambda p: _rows(
            _mentoring_answers(p),
            {"answer": lambda a: a.body, "answered": lambda a: a.created_at},
        ),
        _erase_mentoring_answers,
    ),
    Entry(
        "community.Report",
        "reports",
        _("Reports you made"),
        "keep",
        lambda p: _rows(
            _reports(p),
            {
                "reason": lambda r: r.reason,
                "details": lambda r: r.comment,
                "reported": lambda r: r.created_at,
                "outcome": lambda r: r.outcome,
            },
        ),
        _erase_reports,
    ),
    Entry(
        "places.PlaceProposal",
        "place_proposals",
        _("Places and corrections you proposed"),
        "anonymise",
        lambda p: _rows(
            _proposals(p),
            {
                "kind": lambda x: x.kind,
                "status": lambda x: x.status,
                "your_name": lambda x: x.proposer_name,
                "your_email": lambda x: x.proposer_email,
                "message": lambda x: x.message,
                "proposed_values": lambda x: x.payload,
                "created": lambda x: x.created_at,
            },
        ),
        _erase_proposals,
    ),
    Entry(
        "places.PlaceRevision",
        "place_edits",
        _("Changes you made to places"),
        "keep",
        lambda p: _rows(
            _revisions(p),
            {
                "place": _place,
                "source": lambda r: r.source,
                "changes": lambda r: r.changes,
                "when": lambda r: r.created_at,
            },
        ),
        _erase_revisions,
    ),
    Entry(
        "accounts.PlaceRole",
        "roles_in_places",
        _("Roles in places"),
        "delete",
        lambda p: _rows(
            _place_roles(p),
            {"place": _place, "role": lambda r: r.role, "since": lambda r: r.created_at},
        ),
        _delete(_place_roles),
    ),
    Entry(
        "accounts.NetworkRole",
        "roles_in_networks",
        _("Roles in networks"),
        "delete",
        lambda p: _rows(
            _network_roles(p),
            {
                "network": lambda r: r.network.name,
                "role": lambda r: r.role,
                "since": lambda r: r.created_at,
            },
        ),
        _delete(_network_roles),
    ),
    Entry(
        "accounts.ApiToken",
        "api_tokens",
        _("API tokens"),
        "delete",
        lambda p: _rows(
            _api_tokens(p),
            {
                "name": lambda t: t.name,
                "starts_with": lambda t: t.prefix,
                "created": lambda t: t.created_at,
                "last_used": lambda t: t.last_used_at,
            },
        ),
        _delete(_api_tokens),
    ),
    Entry(
        "account.EmailConfirmation",
        "email_confirmations",
        _("Email confirmations sent"),
        "delete",
        lambda p: _rows(
            _email_confirmations(p), {"created": lambda c: c.created, "sent": lambda c: c.sent}
        ),
        _delete(_email_confirmations),
    ),
    Entry(
        "account.EmailAddress",
        "email_addresses",
        _("Email addresses"),
        "delete",
        lambda p: _rows(
            _email_addresses(p),
            {
                "email": lambda e: e.email,
                "verified": lambda e: e.verified,
                "primary": lambda e: e.primary,
            },
        ),
        _delete(_email_addresses),
    ),
    Entry(
        "mfa.Authenticator",
        "two_factor_authentication",
        _("Two-factor authentication"),
        "delete",
        lambda p: _rows(
            _authenticators(p),
            {
                "type": lambda a: a.type,
                "created": lambda a: a.created_at,
                "last_used": lambda a: a.last_used_at,
            },
        ),
        _delete(_authenticators),
    ),
    Entry(
        "sessions.Session",
        "sessions",
        _("Signed-in sessions"),
        "delete",
        lambda p: [{"session": f"{key[:6]}…"} for key in _session_keys(p)],
        _erase_sessions,
    ),
    Entry(
        "privacy.RetentionNotice",
        "retention_notice",
        _("Warning before the erasure of an unused account"),
        "delete",
        lambda p: _rows(
            _retention_notices(p),
            {"warned": lambda n: n.warned_at, "erase_after": lambda n: n.erase_after},
        ),
        _delete(_retention_notices),
    ),
    Entry(
        "archives.PlaceArchive",
        "place_archives",
        _("Place archives you asked for"),
        "keep",
        lambda p: _rows(
            _place_archives(p),
            {"place": _place, "asked": lambda a: a.created_at, "status": lambda a: a.status},
        ),
        _kept,
    ),
    Entry(
        "admin.LogEntry",
        "admin_history",
        _("Your actions in the administration"),
        "keep",
        lambda p: _rows(
            _admin_log(p),
            {
                "when": lambda e: e.action_time,
                "object": lambda e: e.object_repr,
                "change": lambda e: e.get_change_message(),
            },
        ),
        _erase_admin_log,
    ),
    Entry(
        "core.AuditEntry",
        "audit_log",
        _("Your privileged actions (audit log)"),
        "anonymise",
        lambda p: _rows(
            _audit_entries(p),
            {
                "when": lambda a: a.created_at,
                "action": lambda a: a.action,
                "object": lambda a: a.target_label,
                "place": lambda a: a.place.name if a.place_id else "",
                "network": lambda a: a.network.name if a.network_id else "",
            },
        ),
        _erase_audit,
    ),
    Entry(
        "accounts.User",
        "account",
        _("Account"),
        "anonymise",
        _export_account,
        _erase_account,
    ),
]

# Models that look personal (see personal_fields) but whose rows are not a person's own data, or
# whose personal part is handled through another entry.
EXEMPT: dict[str, str] = {
    "places.Place": (
        "The email and phone of a place are its public contact, published and edited by its "
        "team; a person who finds their own address there asks the place's managers."
    ),
    "places.Animator": (
        "The public presentation of a place's team (name, photo) chosen by the place's "
        "managers, not tied to any account; removed by them on request."
    ),
    "bookings.Occurrence": (
        "The dates of a booking: exported with it (bookings.Booking), kept for the resource's "
        "occupancy, tied to the tombstone account after erasure."
    ),
    "members.MembershipMonth": (
        "Credits and days of a membership month: figures only, kept with the membership."
    ),
    "members.CreditUse": "Minutes of credit a booked slot took: figures only.",
    "community.SkillPostSkill": "The skills of a skill post: erased with the post.",
    "accounts.User_groups": "Groups of an account: cleared with its tombstone (accounts.User).",
    "accounts.User_user_permissions": (
        "Permissions of an account: cleared with its tombstone (accounts.User)."
    ),
    "impact.DailyVisitor": (
        "A keyed hash of an account's id per day and place (unique-visitor counts): it "
        "points to the tombstone once the account is erased, which holds nothing personal."
    ),
}

# Field names that denote personal data on any model (besides links to the user model, email
# and IP address fields): phone numbers, a person's names, addresses of connections.
PERSONAL_NAME_PATTERN = re.compile(
    r"(^|_)(phone|telephone|mobile|full_name|first_name|last_name|surname|birth|ip|ip_address)$"
)
# "name" alone and "<role>_name" denote a person only on models tied to one (a link to the user
# model or an email field); a place's, a room's or a plan's name is not personal.
PERSON_NAME_FIELDS = re.compile(r"^(name|[a-z]+er_name|[a-z]+or_name)$")


def personal_fields(model) -> list[str]:
    """The fields of `model` that hold personal data, by the rules above."""
    user_model = get_user_model()
    found = []
    tied = False
    for item in model._meta.get_fields():
        if not getattr(item, "concrete", False):
            continue
        if item.is_relation and (item.many_to_one or item.one_to_one):
            if item.related_model is user_model:
                found.append(item.name)
                tied = True
        elif isinstance(item, models.EmailField):
            found.append(item.name)
            tied = True
        elif isinstance(item, models.GenericIPAddressField) or PERSONAL_NAME_PATTERN.search(
            item.name
        ):
            found.append(item.name)
    tied = tied or model is user_model
    found += [
        item.name
        for item in model._meta.get_fields()
        if getattr(item, "concrete", False)
        and not item.is_relation
        and PERSON_NAME_FIELDS.match(item.name)
        and item.name not in found
        and (tied or item.name != "name")
    ]
    return found


def uncovered(model_classes, registry=None, exempt=None) -> list[str]:
    """Labels of models holding personal data that are neither registered nor exempt (with a
    reason)."""
    registry = REGISTRY if registry is None else registry
    exempt = EXEMPT if exempt is None else exempt
    covered = {entry.model for entry in registry}
    covered |= {label for label, reason in exempt.items() if reason and reason.strip()}
    return sorted(
        model._meta.label
        for model in model_classes
        if personal_fields(model) and model._meta.label not in covered
    )


def unknown(registry=None, exempt=None) -> list[str]:
    """Labels in the registry or the exemptions that name no installed model."""
    registry = REGISTRY if registry is None else registry
    exempt = EXEMPT if exempt is None else exempt
    missing = []
    for label in [entry.model for entry in registry] + list(exempt):
        try:
            apps.get_model(label)
        except LookupError:
            missing.append(label)
    return missing


def erase_all(person: Person, context: Context) -> dict[str, int]:
    """Run every entry's erasure, in order (call it inside a transaction)."""
    return {entry.section: entry.erase(person, context) for entry in REGISTRY}
