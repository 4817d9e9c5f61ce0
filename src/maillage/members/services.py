"""Writes on members, plans, memberships, credits and presence.

Every write validates, runs in one transaction and, when a team member does it for someone
else, leaves an audit entry. Counters (tickets, credits, days) move only through conditional
UPDATEs guarded by check constraints (see models), so concurrent check-ins and bookings can
never spend what is not there.
"""

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from maillage.accounts.models import PlaceRole, User
from maillage.accounts.services import account_for_email
from maillage.bookings.models import Resource
from maillage.core.audit import audit_record
from maillage.core.tasks import send_email
from maillage.core.text import fold
from maillage.places import hours
from maillage.places.models import Place
from maillage.places.vocabulary import LANGUAGE_CODES

from . import periods, permissions, vocabulary
from .credits import hours_label, month_row
from .models import (
    CheckIn,
    MemberProfile,
    Membership,
    MembershipMonth,
    MemberSkill,
    Plan,
)

MAX_LINKS = 5
MAX_CREDIT_HOURS = 744  # every hour of a 31-day month
MAX_VALID_DAYS = 36_600
MAX_SKILLS = 30

# The community role a plan gives to someone who has none (or a lower one) at its place.
ROLE_OF_PLAN = {
    Plan.Kind.SUBSCRIPTION: PlaceRole.Role.RESIDENT,
    Plan.Kind.TICKET_BOOK: PlaceRole.Role.NOMAD,
    Plan.Kind.DAY_PASS: PlaceRole.Role.VISITOR,
    Plan.Kind.FREE: PlaceRole.Role.VISITOR,
}


def _zone(place: Place) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(place.time_zone)


def today_at(place: Place, now: dt.datetime | None = None) -> dt.date:
    return periods.local_day(now or timezone.now(), _zone(place))


def _send_later(subject: str, body: str, recipient: str) -> None:
    transaction.on_commit(
        lambda: send_email.enqueue(subject=subject, body=body, recipients=[recipient]),
        robust=True,
    )


# Profiles -------------------------------------------------------------------------------------


def profile_of(user: User) -> MemberProfile:
    try:
        return user.profile
    except MemberProfile.DoesNotExist:
        return MemberProfile.objects.get_or_create(user=user)[0]


def _clean_links(links: Iterable[str]) -> list[str]:
    cleaned, check = [], URLValidator(schemes=["http", "https"])
    for link in (link.strip() for link in links):
        if not link:
            continue
        try:
            check(link)
        except ValidationError:
            raise ValidationError(
                {"links": _("“%(link)s” is not a web address (https://…).") % {"link": link}}
            ) from None
        cleaned.append(link)
    if len(cleaned) > MAX_LINKS:
        raise ValidationError({"links": _("At most %(n)d links.") % {"n": MAX_LINKS}})
    return cleaned


def _skill_rows(user: User, codes: Iterable[str], tags: Iterable[str]) -> list[MemberSkill]:
    rows: dict[str, MemberSkill] = {}
    for code in codes:
        term = vocabulary.skill(code)
        if term is None:
            raise ValidationError({"skills": _("Unknown skill: %(code)s.") % {"code": code}})
        rows[code] = MemberSkill(user=user, code=code, label=str(term.label), key=code)
    for tag in tags:
        tag = " ".join(tag.split())[:60]
        key = fold(tag)[:60]
        if key and key not in rows:
            rows[key] = MemberSkill(user=user, code="", label=tag, key=key)
    if len(rows) > MAX_SKILLS:
        raise ValidationError({"skills": _("At most %(n)d skills.") % {"n": MAX_SKILLS}})
    return list(rows.values())


@transaction.atomic
def profile_save(
    *,
    user: User,
    full_name: str | None = None,
    bio: str = "",
    links: Sequence[str] = (),
    languages: Sequence[str] = (),
    visibility: str = MemberProfile.Visibility.PRIVATE,
    show_presence: bool = False,
    skills: Sequence[str] = (),
    free_skills: Sequence[str] = (),
    photo=None,
    remove_photo: bool = False,
) -> MemberProfile:
    """Save what a member says about themself. `skills` are vocabulary codes, `free_skills`
    their own words; `photo` an uploaded file (made safe by core.images)."""
    unknown = [code for code in languages if code not in LANGUAGE_CODES]
    if unknown:
        raise ValidationError(
            {"languages": _("Unknown language: %(code)s.") % {"code": unknown[0]}}
        )
    if visibility not in MemberProfile.Visibility.values:
        raise ValidationError({"visibility": _("Choose who sees your profile.")})
    if len(bio) > 2000:
        raise ValidationError({"bio": _("At most 2,000 characters.")})
    profile = MemberProfile.objects.select_for_update().get_or_create(user=user)[0]
    rows = _skill_rows(user, skills, free_skills)
    if full_name is not None:
        user.full_name = full_name.strip()[:150]
        user.save(update_fields=["full_name"])
    profile.bio = bio.strip()
    profile.links = _clean_links(links)
    profile.languages = sorted(set(languages))
    profile.visibility = visibility
    profile.show_presence = show_presence
    old_photo = profile.photo.name
    if remove_photo:
        profile.photo = None
    if photo is not None:
        profile.photo = photo
    MemberSkill.objects.filter(user=user).delete()
    MemberSkill.objects.bulk_create(rows)
    profile.search_text = fold(
        " ".join(
            [user.full_name, profile.bio, *vocabulary.skill_words((r.code, r.label) for r in rows)]
        )
    )
    profile.full_clean(exclude=["photo"])
    profile.save()
    if old_photo and old_photo != profile.photo.name:
        # Only once the new state is committed: a rollback must not leave a missing file.
        storage = profile.photo.storage
        transaction.on_commit(lambda: storage.delete(old_photo), robust=True)
    return profile


# Plans ----------------------------------------------------------------------------------------


PLAN_FIELDS = (
    "name",
    "description",
    "kind",
    "price",
    "currency",
    "credit_hours",
    "resource_kinds",
    "days_per_month",
    "tickets",
    "valid_days",
    "network_wide",
    "is_active",
)


def _check_plan(plan: Plan, valid_places: Sequence[Place]) -> None:
    errors = {}
    kind = plan.kind
    if kind == Plan.Kind.TICKET_BOOK and not plan.tickets:
        errors["tickets"] = _("A ticket book holds at least one ticket.")
    if kind != Plan.Kind.TICKET_BOOK and plan.tickets:
        errors["tickets"] = _("Only ticket books hold tickets.")
    if kind != Plan.Kind.SUBSCRIPTION and plan.credit_hours:
        errors["credit_hours"] = _("Booking credits belong to monthly subscriptions.")
    if kind != Plan.Kind.SUBSCRIPTION and plan.days_per_month is not None:
        errors["days_per_month"] = _("Days per month belong to monthly subscriptions.")
    if plan.credit_hours and not plan.resource_kinds:
        errors["resource_kinds"] = _("Choose which kinds of resources the credits pay for.")
    unknown = set(plan.resource_kinds) - set(Resource.Kind.values)
    if unknown:
        errors["resource_kinds"] = _("Unknown kind of resource: %(kind)s.") % {
            "kind": sorted(unknown)[0]
        }
    # Bounds that keep every later computation representable (minutes, dates).
    if plan.credit_hours and plan.credit_hours > MAX_CREDIT_HOURS:
        errors["credit_hours"] = _("At most %(n)d hours a month.") % {"n": MAX_CREDIT_HOURS}
    if plan.days_per_month is not None and not 1 <= plan.days_per_month <= 31:
        errors["days_per_month"] = _("Between 1 and 31 days a month.")
    if plan.valid_days and plan.valid_days > MAX_VALID_DAYS:
        errors["valid_days"] = _("At most %(n)d days.") % {"n": MAX_VALID_DAYS}
    if kind == Plan.Kind.DAY_PASS and plan.valid_days is None:
        plan.valid_days = 1
    if plan.valid_days is not None and plan.valid_days < 1:
        errors["valid_days"] = _("A plan is valid for one day at least.")
    if plan.price is not None and Decimal(plan.price) < 0:
        errors["price"] = _("A price cannot be negative.")
    network_places = Place.objects.filter(networks__places=plan.place).exclude(pk=plan.place_id)
    if plan.network_wide and not network_places.exists():
        errors["network_wide"] = _(
            "This place belongs to no network: its plans can only be used here."
        )
    if valid_places and not plan.network_wide:
        errors["valid_places"] = _("Choose other places only for a plan valid in the network.")
    outside = {p.pk for p in valid_places} - set(network_places.values_list("pk", flat=True))
    if outside:
        errors["valid_places"] = _("Only places sharing a network with this one can be chosen.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def plan_save(
    *,
    place: Place,
    actor: User,
    data: dict,
    valid_places: Sequence[Place] | None = None,
    plan: Plan | None = None,
) -> Plan:
    """Create a plan of `place`, or change `plan` (which must belong to it). Existing
    memberships keep their price and tickets; a changed allowance applies from the next month
    that has not started to be used."""
    if not permissions.can_manage_plans(actor, place):
        raise PermissionError
    if plan is not None and plan.place_id != place.pk:
        raise PermissionError
    creating = plan is None
    plan = plan or Plan(place=place)
    before = {field: getattr(plan, field) for field in PLAN_FIELDS} if not creating else {}
    for field in PLAN_FIELDS:
        if field in data:
            setattr(plan, field, data[field])
    kind_changed = not creating and data.get("kind", before["kind"]) != before["kind"]
    if kind_changed and plan.memberships.exists():
        raise ValidationError({"kind": _("Members hold this plan: its kind cannot change.")})
    plan.resource_kinds = sorted(set(plan.resource_kinds or []))
    if valid_places is None:  # not given: a network plan keeps its chosen places
        valid_places = list(plan.valid_places.all()) if plan.pk and plan.network_wide else []
    _check_plan(plan, valid_places)
    plan.full_clean()
    plan.save()
    plan.valid_places.set(valid_places)
    changes = {
        field: [str(before.get(field)), str(getattr(plan, field))]
        for field in PLAN_FIELDS
        if creating or before[field] != getattr(plan, field)
    }
    audit_record(
        actor=actor,
        action="plan.create" if creating else "plan.update",
        target=plan,
        place=place,
        details=changes,
    )
    return plan


# Memberships ----------------------------------------------------------------------------------


def _give_role(user: User, place: Place, plan: Plan) -> None:
    wanted = ROLE_OF_PLAN[plan.kind]
    current = PlaceRole.objects.select_for_update().filter(user=user, place=place).first()
    if current is None:
        PlaceRole.objects.create(user=user, place=place, role=wanted)
    elif PlaceRole.RANKS[current.role] < PlaceRole.RANKS[wanted]:
        current.role = wanted
        current.save(update_fields=["role", "updated_at"])


MEMBERSHIP_SUBJECT = gettext_lazy("Your plan at %(place)s")


def membership_grant(
    *,
    plan: Plan,
    member: User | str,
    actor: User,
    starts_on: dt.date | None = None,
    note: str = "",
) -> Membership:
    """Give `plan` to `member` (an account, or an email: the account is then created and its
    owner invited). The member gets the community role of the plan if they had a lower one,
    and an email in their language. Audited."""
    place = plan.place
    if not permissions.can_manage_members(actor, place):
        raise PermissionError
    if not plan.is_active:
        raise ValidationError({"plan": _("This plan is no longer offered.")})
    starts_on = starts_on or today_at(place)
    if starts_on < today_at(place) - dt.timedelta(days=366):
        raise ValidationError({"starts_on": _("A plan cannot start more than a year ago.")})
    with transaction.atomic():
        if isinstance(member, str):
            member, _created = account_for_email(member, invited_by=actor, where=place.name)
        elif not member.is_active:
            raise ValidationError({"member": _("This account is closed.")})
        tickets = {Plan.Kind.TICKET_BOOK: plan.tickets, Plan.Kind.DAY_PASS: 1}.get(plan.kind)
        membership = Membership(
            user=member,
            plan=plan,
            place=place,
            starts_on=starts_on,
            ends_on=periods.validity_end(starts_on, plan.valid_days),
            tickets_left=tickets,
            price=plan.price,
            granted_by=actor,
            note=note.strip()[:300],
        )
        membership.full_clean()
        membership.save()
        _give_role(member, place, plan)
        audit_record(
            actor=actor,
            action="membership.grant",
            target=membership,
            place=place,
            details={"member": member.email, "plan": plan.name, "price": str(plan.price)},
        )
        with translation.override(member.language):
            subject = f"[{settings.MAILLAGE_SITE_NAME}] " + MEMBERSHIP_SUBJECT % {
                "place": place.name
            }
            body = render_to_string(
                "members/email/membership.txt",
                {
                    "membership": membership,
                    "plan": plan,
                    "place": place,
                    "member": member,
                    "mine_url": settings.MAILLAGE_BASE_URL + reverse("members:mine"),
                },
            )
        _send_later(subject, body, member.email)
    return membership


@transaction.atomic
def membership_end(*, membership: Membership, actor: User, on: dt.date | None = None) -> None:
    """End a membership on `on` (today by default): nothing of it can be used afterwards."""
    if not permissions.can_manage_members(actor, membership.place):
        raise PermissionError
    on = on or today_at(membership.place)
    if on < membership.starts_on:
        on = membership.starts_on
    if membership.ends_on is not None and membership.ends_on <= on:
        raise ValidationError(_("This plan has already ended."))
    membership.ends_on = on
    membership.ended_at = timezone.now()
    membership.save(update_fields=["ends_on", "ended_at", "updated_at"])
    audit_record(
        actor=actor,
        action="membership.end",
        target=membership,
        place=membership.place,
        details={"member": membership.user.email, "on": on.isoformat()},
    )


def _valid(memberships, day: dt.date):
    return memberships.filter(starts_on__lte=day).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=day)
    )


# Credits ---------------------------------------------------------------------------------------


@transaction.atomic
def credits_adjust(
    *, membership: Membership, month: dt.date, hours_delta: Decimal, actor: User, reason: str = ""
) -> MembershipMonth:
    """Add (or take back) credits of one month of a subscription, for a gesture or a mistake.
    The month can never end with fewer credits than already used. Audited."""
    if not permissions.can_manage_members(actor, membership.place):
        raise PermissionError
    if membership.plan.kind != Plan.Kind.SUBSCRIPTION:
        raise ValidationError(_("Only subscriptions carry booking credits."))
    month = periods.month_of(month)
    minutes = int((Decimal(hours_delta) * 60).to_integral_value(ROUND_HALF_UP))
    if minutes == 0:
        raise ValidationError({"hours": _("Give a number of hours other than zero.")})
    row = month_row(membership, month)
    row = MembershipMonth.objects.select_for_update().get(pk=row.pk)
    if row.credit_minutes + minutes < row.credit_minutes_used:
        raise ValidationError(
            {
                "hours": _("Credits cannot go below what is already used (%(used)s this month).")
                % {"used": hours_label(row.credit_minutes_used)}
            }
        )
    row.credit_minutes += minutes
    row.save(update_fields=["credit_minutes"])
    audit_record(
        actor=actor,
        action="credits.adjust",
        target=membership,
        place=membership.place,
        details={
            "member": membership.user.email,
            "month": month.isoformat(),
            "minutes": minutes,
            "reason": reason[:200],
        },
    )
    return row


# Check-in -------------------------------------------------------------------------------------


class CheckInRefused(Exception):
    """Nothing valid lets this person in today; `reason` is a stable code for the API."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.message = message
        self.reason = reason


@dataclass
class _Option:
    membership: Membership
    consumed: str


# Tickets of books and day passes are one group, spent in the order they expire: a day pass
# bought for today goes before a book that lasts a year.
_KIND_ORDER = {
    Plan.Kind.SUBSCRIPTION: 0,
    Plan.Kind.FREE: 1,
    Plan.Kind.TICKET_BOOK: 2,
    Plan.Kind.DAY_PASS: 2,
}


def _valid_here(membership: Membership, place: Place, network_places: dict) -> bool:
    if membership.place_id == place.pk:
        return True
    plan = membership.plan
    if not plan.network_wide:
        return False
    chosen = network_places.get(plan.pk)
    if chosen:
        return place.pk in chosen
    return place.pk in network_places.get(("network", membership.place_id), set())


def _options(member: User, place: Place, day: dt.date) -> tuple[list[_Option], list[str]]:
    """What could pay for `member`'s day at `place`, best first (own place before the network,
    subscriptions before books, the book that expires first first), and the reasons against the
    rest, for the refusal message."""
    held = list(
        Membership.objects.select_related("plan", "place")
        .filter(user=member)
        .filter(Q(place=place) | Q(plan__network_wide=True))
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=day - dt.timedelta(days=400)))
    )
    plan_ids = [m.plan_id for m in held if m.place_id != place.pk]
    network_places: dict = {}
    if plan_ids:
        for plan_id, place_id in Plan.valid_places.through.objects.filter(
            plan_id__in=plan_ids
        ).values_list("plan_id", "place_id"):
            network_places.setdefault(plan_id, set()).add(place_id)
        homes = {m.place_id for m in held if m.place_id != place.pk}
        for home in homes:
            network_places[("network", home)] = set(
                Place.objects.filter(networks__places=home).values_list("pk", flat=True)
            )
    options, reasons = [], []
    for membership in sorted(
        held,
        key=lambda m: (
            m.place_id != place.pk,
            _KIND_ORDER[m.plan.kind],
            m.ends_on or dt.date.max,
            m.pk,
        ),
    ):
        plan = membership.plan
        if not _valid_here(membership, place, network_places):
            reasons.append(
                _("Your plan “%(plan)s” from %(home)s is not valid at this place.")
                % {"plan": plan.name, "home": membership.place.name}
            )
            continue
        if day < membership.starts_on:
            reasons.append(
                _("Your plan “%(plan)s” starts on %(date)s.")
                % {"plan": plan.name, "date": formats.date_format(membership.starts_on)}
            )
            continue
        if membership.ends_on is not None and day > membership.ends_on:
            reasons.append(
                _("Your plan “%(plan)s” expired on %(date)s.")
                % {"plan": plan.name, "date": formats.date_format(membership.ends_on)}
            )
            continue
        if plan.kind in (Plan.Kind.TICKET_BOOK, Plan.Kind.DAY_PASS):
            if not membership.tickets_left:
                reasons.append(_("Your “%(plan)s” has no tickets left.") % {"plan": plan.name})
                continue
            consumed = (
                CheckIn.Consumed.TICKET
                if plan.kind == Plan.Kind.TICKET_BOOK
                else CheckIn.Consumed.DAY_PASS
            )
        elif plan.kind == Plan.Kind.FREE:
            consumed = CheckIn.Consumed.FREE
        else:
            consumed = CheckIn.Consumed.SUBSCRIPTION
        options.append(_Option(membership, consumed))
    return options, reasons


def _consume(option: _Option, day: dt.date) -> bool:
    """Spend one day of `option` if it is still there (conditional UPDATE: races lose here)."""
    membership = option.membership
    if option.consumed in (CheckIn.Consumed.TICKET, CheckIn.Consumed.DAY_PASS):
        return bool(
            Membership.objects.filter(pk=membership.pk, tickets_left__gt=0).update(
                tickets_left=F("tickets_left") - 1
            )
        )
    if option.consumed == CheckIn.Consumed.SUBSCRIPTION:
        # The month's row, not the plan, says how many days it has: a limit added or removed
        # in the middle of a month counts from the next one (as credits do), and an undo gives
        # back only a day that was counted.
        row = month_row(membership, periods.month_of(day))
        if row.days is None:
            return True
        return bool(
            MembershipMonth.objects.filter(pk=row.pk, days_used__lt=F("days")).update(
                days_used=F("days_used") + 1
            )
        )
    return True


def _unit_value(membership: Membership) -> Decimal | None:
    plan, price = membership.plan, membership.price
    if plan.kind == Plan.Kind.TICKET_BOOK and plan.tickets:
        return (price / plan.tickets).quantize(Decimal("0.01"))
    if plan.kind == Plan.Kind.DAY_PASS:
        return price
    if plan.kind == Plan.Kind.SUBSCRIPTION and plan.days_per_month:
        return (price / plan.days_per_month).quantize(Decimal("0.01"))
    if plan.kind == Plan.Kind.FREE:
        return Decimal("0.00")
    return None


def _already(existing: CheckIn, place: Place) -> CheckInRefused:
    arrived = existing.checked_in_at.astimezone(_zone(place))
    return CheckInRefused(
        _("Already checked in here today (at %(time)s).") % {"time": f"{arrived:%H:%M}"},
        "already_checked_in",
    )


def checkin(
    *, place: Place, member: User, actor: User | None = None, at: dt.datetime | None = None
) -> CheckIn:
    """Let `member` in at `place` for the day, spending what their plans say (nothing for the
    place's team). `actor` is whoever checks them in: themself, the team, or None for the
    place's kiosk. Raises CheckInRefused, with the reason, when nothing valid is left; nothing
    is then written. A day at another place of the network writes a ledger line (home_place)."""
    at = at or timezone.now()
    by_team = actor is not None and actor.pk != member.pk
    if by_team and not permissions.can_manage_members(actor, place):
        raise PermissionError
    if not member.is_active:
        raise CheckInRefused(_("This account is closed."), "closed_account")
    day = periods.local_day(at, _zone(place))
    existing = CheckIn.objects.filter(user=member, place=place, day=day).first()
    if existing is not None:
        raise _already(existing, place)
    team = PlaceRole.objects.filter(user=member, place=place, role__in=PlaceRole.TEAM).exists()
    options, reasons = ([], []) if team else _options(member, place, day)
    if not team and not options:
        raise CheckInRefused(
            reasons[0]
            if reasons
            else _("No valid plan for this place: ask the team for a day pass or a ticket book."),
            "nothing_valid",
        )
    try:
        with transaction.atomic():
            chosen = None
            if not team:
                chosen = next((option for option in options if _consume(option, day)), None)
                if chosen is None:
                    raise CheckInRefused(
                        _("Nothing is left on your plans for today: ask the team."), "used_up"
                    )
            membership = chosen.membership if chosen else None
            from_elsewhere = membership is not None and membership.place_id != place.pk
            record = CheckIn.objects.create(
                user=member,
                place=place,
                day=day,
                checked_in_at=at,
                consumed=chosen.consumed if chosen else CheckIn.Consumed.TEAM,
                membership=membership,
                home_place=membership.place if from_elsewhere else None,
                unit_value=_unit_value(membership) if from_elsewhere else None,
                checked_in_by=actor if by_team else None,
            )
            record.tickets_left = (
                Membership.objects.filter(pk=membership.pk)
                .values_list("tickets_left", flat=True)
                .first()
                if membership is not None
                else None
            )
            if by_team:
                audit_record(
                    actor=actor,
                    action="checkin.by_team",
                    target=record,
                    place=place,
                    details={"member": member.email, "consumed": record.consumed},
                )
    except IntegrityError:
        # Another check-in of the same person, place and day committed in between.
        existing = CheckIn.objects.filter(user=member, place=place, day=day).first()
        if existing is None:
            raise
        raise _already(existing, place) from None
    return record


def checkout(
    *, record: CheckIn, actor: User | None = None, at: dt.datetime | None = None
) -> CheckIn:
    """Record that the member has left (themself, the team or the kiosk)."""
    by_team = actor is not None and actor.pk != record.user_id
    if by_team and not permissions.can_manage_members(actor, record.place):
        raise PermissionError
    if record.checked_out_at is not None:
        raise ValidationError(_("Already checked out."))
    at = max(at or timezone.now(), record.checked_in_at)
    if not CheckIn.objects.filter(pk=record.pk, checked_out_at__isnull=True).update(
        checked_out_at=at
    ):
        raise ValidationError(_("Already checked out."))
    record.checked_out_at = at
    return record


@transaction.atomic
def checkin_undo(*, record: CheckIn, actor: User) -> None:
    """Take back a check-in made by mistake, giving back the ticket or the day it spent."""
    if not permissions.can_manage_members(actor, record.place):
        raise PermissionError
    record = CheckIn.objects.select_for_update().get(pk=record.pk)
    if record.consumed in (CheckIn.Consumed.TICKET, CheckIn.Consumed.DAY_PASS):
        Membership.objects.filter(pk=record.membership_id).update(
            tickets_left=F("tickets_left") + 1
        )
    elif record.consumed == CheckIn.Consumed.SUBSCRIPTION and record.membership_id:
        MembershipMonth.objects.filter(
            membership_id=record.membership_id, month=periods.month_of(record.day), days_used__gt=0
        ).update(days_used=F("days_used") - 1)
    audit_record(
        actor=actor,
        action="checkin.undo",
        target=record,
        place=record.place,
        details={"member": record.user.email, "day": record.day.isoformat()},
    )
    record.delete()


def closing_time(place: Place, day: dt.date) -> dt.datetime:
    """When a day at `place` ends: its last closing time that day, or local midnight after it
    when the place keeps no hours that day."""
    zone = _zone(place)
    rules, seasons = hours.rules_from_json(place.hours_rules or {})
    intervals = hours.intervals_on(day, rules, seasons)
    if intervals:
        closes = max(close for _open, close in intervals)
        return dt.datetime.combine(day, closes, tzinfo=zone)
    return periods.local_midnight(day + dt.timedelta(days=1), zone)


def checkout_at_closing(*, now: dt.datetime | None = None) -> int:
    """Check out everyone still in at a place that has closed (hourly job). A person who
    arrived after closing time leaves at midnight. Returns how many were checked out."""
    now = now or timezone.now()
    done = 0
    open_checkins = CheckIn.objects.filter(checked_out_at__isnull=True).select_related("place")
    for record in open_checkins.iterator():
        leaves = closing_time(record.place, record.day)
        if leaves <= record.checked_in_at:
            leaves = periods.local_midnight(record.day + dt.timedelta(days=1), _zone(record.place))
        if leaves <= now:
            done += CheckIn.objects.filter(pk=record.pk, checked_out_at__isnull=True).update(
                checked_out_at=leaves, auto_checked_out=True
            )
    return done
