"""Members endpoints of the API (PRODUCT.md §5): plans, memberships, check-ins, the network pass
ledger, the member directory and one's own profile.

Every write goes through members.services and every "who may" through members.permissions, so
the rules (tickets never spent twice, one check-in a day, roles given with a plan, invitations,
audit) are those of the pages. Dates are read here from text, so that any string gets a 400
naming the field; instants are answered with the offset of the place's time zone. Whoever has
no role in a place is answered as if it (and what belongs to it) did not exist: 404, never 403.
"""

import datetime as dt
import re
import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema, Status

from maillage.accounts.models import User
from maillage.bookings.models import Resource
from maillage.core.api import (
    ERRORS,
    MAX_ID,
    ApiError,
    BearerToken,
    ObjectIn,
    OptionalBearer,
    invalid_value,
    is_slug,
    out_of_range,
    page_of,
    refuse_unstorable,
)
from maillage.core.ratelimit import hit, parse_rate
from maillage.places.models import Network, Place
from maillage.places.permissions import place_access

from . import periods, permissions, selectors, services, vocabulary
from .models import CheckIn, MemberProfile, Membership, MembershipMonth, Plan

router = Router(tags=["members"])
KINDS = list(Plan.Kind.values)
VISIBILITIES = list(MemberProfile.Visibility.values)
DATE_EXAMPLE = "2027-03-04"
# A month has at most 31 days and 744 hours: larger allowances could never be used (and the
# minutes of a larger credit would overflow their column).
MAX_CREDIT_HOURS = 744
MAX_DAYS_PER_MONTH = 31
# The largest number of tickets and days the columns hold.
MAX_TICKETS = 32_767
MAX_VALID_DAYS = 2**31 - 1


# Answers --------------------------------------------------------------------------------------


class LedgerPlaceOut(Schema):
    slug: str
    name: str


class PlanRef(Schema):
    id: int
    name: str
    kind: str = Field(description=f"One of {', '.join(KINDS)}.")


class MemberRef(Schema):
    id: int
    name: str
    email: str


class PlanOut(Schema):
    id: int
    place: str = Field(description="Slug of the place offering the plan.")
    name: str
    description: str
    kind: str = Field(description=f"One of {', '.join(KINDS)}.")
    price: str = Field(description='A decimal number as text, e.g. "80.00".')
    currency: str = Field(description="ISO 4217 code, e.g. EUR.")
    credit_hours: int = Field(description="Booking credits included each month (subscriptions).")
    resource_kinds: list[str] = Field(description="Kinds of resources the credits pay for.")
    days_per_month: int | None = Field(
        description="Days of presence included each month (subscriptions); null: unlimited."
    )
    tickets: int | None = Field(description="Day tickets of a ticket book.")
    valid_days: int | None = Field(
        description="How many days a membership lasts from its start; null: until ended."
    )
    network_wide: bool = Field(description="Valid in the other places of the network.")
    valid_places: list[str] = Field(
        description="Slugs of the only places of the network where it is valid; empty: all."
    )
    is_active: bool = Field(description="Offered; false: withdrawn (members keep theirs).")


class PlanListOut(Schema):
    count: int
    results: list[PlanOut]


class MonthOut(Schema):
    month: str = Field(description="YYYY-MM, in the place's calendar.")
    credit_minutes: int = Field(description="Booking credits of the month, in minutes.")
    credit_minutes_used: int
    days: int | None = Field(description="Days of presence of the month; null: unlimited.")
    days_used: int


class MembershipOut(Schema):
    id: int
    plan: PlanRef
    place: str = Field(description="Slug of the place that gave the plan.")
    member: MemberRef
    starts_on: dt.date
    ends_on: dt.date | None = Field(description="Last valid day; null: until ended.")
    valid_today: bool = Field(description="Valid on today's date at the place.")
    tickets_left: int | None = Field(description="Ticket books and day passes.")
    price: str = Field(description="The plan's price when it was given, as text.")
    this_month: MonthOut | None = Field(
        description="Subscriptions: this month's credits and days, and what is used of them."
    )
    ended_at: dt.datetime | None = Field(description="When the team ended it early.")
    note: str


class MembershipCreatedOut(MembershipOut):
    created_account: bool = Field(
        description="true when the member had no account: one was created and they were "
        "invited by email to choose their password."
    )


class MembershipListOut(Schema):
    count: int
    results: list[MembershipOut]


class ConsumedOut(Schema):
    kind: str = Field(
        description="What paid for the day: team (the place's team, nothing spent), free, "
        "subscription, ticket (of a book) or day_pass."
    )
    membership: int | None = Field(description="Id of the membership used.")
    plan: PlanRef | None
    tickets_left: int | None = Field(description="Tickets left on that membership.")
    home_place: str | None = Field(
        description="Slug of the place the network pass comes from, when it is another place: "
        "the day is then a line of the network's ledger."
    )


class CheckInOut(Schema):
    id: int
    place: str = Field(description="Slug of the place.")
    member: MemberRef
    day: dt.date = Field(description="The day, in the place's calendar.")
    checked_in_at: dt.datetime
    checked_out_at: dt.datetime | None
    auto_checked_out: bool = Field(description="Checked out at closing time.")
    consumed: ConsumedOut


class CheckInListOut(Schema):
    count: int
    results: list[CheckInOut]


class LedgerLineOut(Schema):
    home_place: LedgerPlaceOut = Field(description="The place whose pass was used.")
    host_place: LedgerPlaceOut = Field(description="The place where it was used.")
    days: int
    members: int = Field(description="Distinct members.")
    value: str | None = Field(
        description="What the days are worth (the pass's price per day), as text; null when a "
        "plan has no daily value (an unlimited subscription)."
    )


class LedgerOut(Schema):
    network: str
    month: str = Field(description="YYYY-MM.")
    count: int
    results: list[LedgerLineOut]


class SkillOut(Schema):
    code: str = Field(description="Code of the shared vocabulary; empty for the member's words.")
    label: str


class MemberOut(Schema):
    id: int
    name: str
    email: str | None = Field(
        description="Only for the team of the place asked for (`place`), else null."
    )
    bio: str
    skills: list[SkillOut]
    links: list[str]
    languages: list[str]
    photo: str | None
    url: str = Field(description="The member's page.")


class MemberListOut(Schema):
    count: int
    results: list[MemberOut]


class ProfileOut(Schema):
    id: int
    email: str
    full_name: str
    bio: str
    links: list[str]
    languages: list[str]
    visibility: str = Field(description=f"One of {', '.join(VISIBILITIES)}.")
    show_presence: bool
    skills: list[str] = Field(description="Codes of the shared vocabulary of skills.")
    free_skills: list[str] = Field(description="Skills in the member's own words.")
    photo: str | None
    url: str


# Requests -------------------------------------------------------------------------------------


class PlanFields(ObjectIn):
    """What a place's managers may set on a plan; every field is optional when changing one."""

    description: str = Field(None, max_length=2000)
    price: Decimal = Field(
        None,
        ge=0,
        max_digits=9,
        decimal_places=2,
        description='A number or a decimal text ("80.00"); 0 by default. Recorded, not charged.',
    )
    currency: str = Field(None, max_length=3, description="ISO 4217 code; EUR.")
    credit_hours: int = Field(
        None,
        ge=0,
        le=MAX_CREDIT_HOURS,
        strict=True,
        description="Subscriptions: booking credits included each month, in hours.",
    )
    resource_kinds: list[str] = Field(
        None,
        max_length=len(Resource.Kind.values),
        description=f"Kinds of resources the credits pay for: {', '.join(Resource.Kind.values)}.",
    )
    days_per_month: int | None = Field(
        None,
        ge=0,
        le=MAX_DAYS_PER_MONTH,
        strict=True,
        description="Subscriptions: days of presence included each month; null: unlimited.",
    )
    tickets: int | None = Field(
        None, ge=0, le=MAX_TICKETS, strict=True, description="Ticket books: how many day tickets."
    )
    valid_days: int | None = Field(
        None,
        ge=1,
        le=MAX_VALID_DAYS,
        strict=True,
        description="How many days a membership lasts; null: until ended (day passes: 1).",
    )
    network_wide: bool = Field(
        None, strict=True, description="Valid in the other places of the place's networks."
    )
    valid_places: list[str] = Field(
        None,
        max_length=200,
        description="Network-wide plans: slugs of the only places where it is valid (empty: "
        "all of them).",
    )
    is_active: bool = Field(None, strict=True, description="false withdraws the plan.")


class PlanIn(PlanFields):
    place: str = Field(description="Slug of the place.")
    name: str = Field(max_length=120)
    kind: str = Field(description=f"One of {', '.join(KINDS)}.")


class PlanPatch(PlanFields):
    name: str = Field(None, max_length=120)
    kind: str = Field(
        None, description=f"One of {', '.join(KINDS)}; only while nobody holds the plan."
    )


class MembershipIn(ObjectIn):
    plan: int = Field(ge=1, le=MAX_ID, strict=True, description="Id of the plan.")
    member: str = Field(
        max_length=254,
        description="Email of the member; without an account, one is created and they are "
        "invited by email to choose their password.",
    )
    starts_on: str = Field(
        "", description=f"First day, YYYY-MM-DD (e.g. {DATE_EXAMPLE}); today by default."
    )
    note: str = Field("", max_length=300, description="For the team (e.g. how it was paid).")


class MembershipEndIn(ObjectIn):
    on: str = Field(
        "", description="Last valid day, YYYY-MM-DD; today by default (never before the start)."
    )


class MemberCheckInIn(ObjectIn):
    place: str = Field(description="Slug of the place.")
    member: str = Field(
        "",
        max_length=254,
        description="Email of the member, for the place's team; leave out to check oneself in.",
    )


class CheckInQuery(Schema):
    place: str = Field(description="Slug of the place.")
    from_: str = Field(
        "", alias="from", description=f"First day, YYYY-MM-DD (e.g. {DATE_EXAMPLE}); today."
    )
    to: str = Field("", description="Last day, YYYY-MM-DD; the first day by default.")
    present: str = Field(
        "",
        description="true: only those checked in and not yet out, whatever the day (then "
        "`from` and `to` are ignored).",
    )


class MemberQuery(Schema):
    place: str = Field("", description="Slug of a place: its members.")
    network: str = Field("", description="Slug of a network: the members of its places.")
    q: str = Field("", max_length=200, description="Words of the name, bio or skills.")
    skill: str = Field(
        "", max_length=60, description="A skill: a code of the shared vocabulary or words."
    )


class ProfileIn(ObjectIn):
    """The whole profile: what is left out takes its default (empty, private)."""

    full_name: str = Field(None, max_length=150, description="Unchanged when left out.")
    bio: str = Field("", max_length=2000)
    links: list[str] = Field([], max_length=20, description="Web addresses, at most 5.")
    languages: list[str] = Field([], max_length=50, description="Language codes (fr, en...).")
    visibility: str = Field(
        MemberProfile.Visibility.PRIVATE.value,
        description="Who sees the profile: private (only me and the teams of my places), "
        "members (the members of my places), public (everyone).",
    )
    show_presence: bool = Field(
        False, strict=True, description="Show me to the members of a place when I am in."
    )
    skills: list[str] = Field([], max_length=100, description="Codes of the shared vocabulary.")
    free_skills: list[str] = Field(
        [], max_length=100, description="Skills in one's own words (at most 30 in all)."
    )


# Helpers --------------------------------------------------------------------------------------


def _caller(request):
    """The authenticated user, or None for an anonymous call of an OptionalBearer operation."""
    return request.auth if request.auth is not True else None


def _zone(place: Place) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(place.time_zone)


def _absolute(url: str) -> str:
    return url if url.startswith(("http://", "https://")) else settings.MAILLAGE_BASE_URL + url


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _choice(field: str, value: str, choices: list[str]) -> None:
    if value not in choices:
        raise invalid_value(
            field,
            _("Unknown value “%(value)s”: use one of %(choices)s.")
            % {"value": value, "choices": ", ".join(choices)},
        )


def _day(value: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise invalid_value(
            field, _("Give a date as YYYY-MM-DD, e.g. %(example)s.") % {"example": DATE_EXAMPLE}
        ) from None


def _boolean(value: str, field: str) -> bool:
    if value.lower() not in ("true", "false", "1", "0"):
        raise invalid_value(field, _("Use true or false."))
    return value.lower() in ("true", "1")


def _no_place(slug: str) -> ApiError:
    return ApiError(404, _("There is no place “%(slug)s”.") % {"slug": slug})


def _find_place(slug: str) -> Place | None:
    return Place.objects.filter(slug=slug).first() if is_slug(slug) else None


def _known_place(user, slug: str) -> Place:
    """A place the caller may know of: published, or one where they have a role (or run)."""
    place = _find_place(slug)
    if place is None or not (place.is_published or place_access(user, place)):
        raise _no_place(slug)
    return place


def _team_place(user, slug: str) -> Place:
    """A place whose team the caller belongs to; 403 for its other people, 404 for anyone else."""
    place = _find_place(slug)
    if place is not None and permissions.can_manage_members(user, place):
        return place
    if place is not None and place_access(user, place) == "role":
        raise ApiError(403, _("Only the team of this place may do this."))
    raise _no_place(slug)


# Plans ----------------------------------------------------------------------------------------


def _plans() -> QuerySet[Plan]:
    return Plan.objects.select_related("place").prefetch_related("valid_places")


def _plan_out(plan: Plan) -> dict:
    return {
        "id": plan.pk,
        "place": plan.place.slug,
        "name": plan.name,
        "description": plan.description,
        "kind": plan.kind,
        "price": _money(plan.price),
        "currency": plan.currency,
        "credit_hours": plan.credit_hours,
        "resource_kinds": plan.resource_kinds,
        "days_per_month": plan.days_per_month,
        "tickets": plan.tickets,
        "valid_days": plan.valid_days,
        "network_wide": plan.network_wide,
        "valid_places": sorted(place.slug for place in plan.valid_places.all()),
        "is_active": plan.is_active,
    }


def _plan_ref(plan: Plan) -> dict:
    return {"id": plan.pk, "name": plan.name, "kind": plan.kind}


def _no_plan(plan_id: int) -> ApiError:
    return ApiError(404, _("There is no plan #%(id)d.") % {"id": plan_id})


def _visible_plan(user, plan_id: int) -> Plan:
    """An offered plan of a published place; any plan of a place the caller's team runs, or
    that they hold. Anyone else is answered as if it did not exist."""
    plan = _plans().filter(pk=plan_id).first()
    if plan is None or not (
        (plan.is_active and plan.place.is_published)
        or permissions.can_manage_members(user, plan.place)
        or (user is not None and Membership.objects.filter(plan=plan, user=user).exists())
    ):
        raise _no_plan(plan_id)
    return plan


def _refuse_plan_managing(user, place: Place, not_found: ApiError) -> None:
    if permissions.can_manage_plans(user, place):
        return
    if place_access(user, place) == "role":
        raise ApiError(
            403, _("Only the managers of this place and its coordinators may manage its plans.")
        )
    raise not_found


def _plan_data(given: dict) -> dict:
    refuse_unstorable(
        **{key: value for key, value in given.items() if isinstance(value, str)},
        **{f"resource_kinds.{i}": kind for i, kind in enumerate(given.get("resource_kinds") or [])},
    )
    if "kind" in given:
        _choice("kind", given["kind"], KINDS)
    data = {key: value for key, value in given.items() if key in services.PLAN_FIELDS}
    if "name" in data:
        data["name"] = data["name"].strip()
    return data


def _valid_places(place: Place, slugs: list[str]) -> list[Place]:
    """The places named by `slugs`, among those the caller may know of; 400 for any other."""
    wanted = set(slugs)
    found = list(
        Place.objects.filter(slug__in=[slug for slug in wanted if is_slug(slug)])
        .filter(Q(is_published=True) | Q(networks__places=place))
        .distinct()
    )
    missing = wanted - {p.slug for p in found}
    if missing:
        raise invalid_value(
            "valid_places", _("There is no place “%(slug)s”.") % {"slug": sorted(missing)[0]}
        )
    return found


PLAN_ID = Path(ge=1, le=MAX_ID, description="Id of the plan.")


@router.post(
    "/plans",
    response={201: PlanOut, **ERRORS},
    auth=BearerToken(),
    summary="Offer a plan at a place",
    description=(
        "For the managers of the place and the coordinators of its networks (403 for its other "
        "people, 404 for anyone else). `kind` is one of "
        f"{', '.join(KINDS)}: a ticket book needs `tickets`, credits and days per month belong "
        "to subscriptions, a day pass lasts one day unless `valid_days` says otherwise. "
        "`network_wide` makes it valid in the other places of the place's networks (or only "
        "in `valid_places`). No payment is processed: the price is recorded with each "
        "membership. 400 naming each invalid field."
    ),
)
def create_plan(request, payload: PlanIn):
    given = payload.dict(exclude_unset=True)
    slug = given.pop("place")
    place = _find_place(slug)
    if place is None:
        raise _no_place(slug)
    _refuse_plan_managing(request.auth, place, _no_place(slug))
    data = _plan_data(given)
    valid_places = _valid_places(place, given.get("valid_places") or [])
    plan = services.plan_save(place=place, actor=request.auth, data=data, valid_places=valid_places)
    return Status(201, _plan_out(_plans().get(pk=plan.pk)))


@router.get(
    "/plans",
    response={200: PlanListOut, **ERRORS},
    auth=OptionalBearer(),
    summary="The plans of a place",
    description=(
        "The plans a published place offers, by kind and name; for its team, the withdrawn "
        "ones too (and those of an unpublished place). 404 for a place the caller cannot see. "
        "Paginated with `page` and `page_size`."
    ),
)
def list_plans(
    request,
    place: str = Query(..., description="Slug of the place."),
    page: int = 1,
    page_size: int = 20,
):
    user = _caller(request)
    found = _known_place(user, place)
    team = permissions.can_manage_members(user, found)
    plans = selectors.plans_of(found, offered_only=not team).select_related("place")
    count, results = page_of(request, plans.order_by("kind", "name", "pk"))
    return {"count": count, "results": [_plan_out(plan) for plan in results]}


@router.get(
    "/plans/{plan_id}",
    response={200: PlanOut, **ERRORS},
    auth=OptionalBearer(),
    summary="One plan",
    description=(
        "An offered plan of a published place, for anyone; a withdrawn one for the team of "
        "its place and the members holding it. 404 for anyone else."
    ),
)
def get_plan(request, plan_id: int = PLAN_ID):
    return _plan_out(_visible_plan(_caller(request), plan_id))


@router.patch(
    "/plans/{plan_id}",
    response={200: PlanOut, **ERRORS},
    auth=BearerToken(),
    summary="Change a plan",
    description=(
        "For the managers of its place and the coordinators of its networks (403 for the "
        "place's other people, 404 for anyone else, managers of other places too). Only the "
        "given fields change; `valid_places` replaces the list (it is emptied when "
        "`network_wide` becomes false). Memberships already given keep their price and "
        "tickets; the kind cannot change once members hold the plan. `is_active` false "
        "withdraws it."
    ),
)
def update_plan(request, payload: PlanPatch, plan_id: int = PLAN_ID):
    plan = _plans().filter(pk=plan_id).first()
    if plan is None:
        raise _no_plan(plan_id)
    _refuse_plan_managing(request.auth, plan.place, _no_plan(plan_id))
    given = payload.dict(exclude_unset=True)
    data = _plan_data(given)
    if "valid_places" in given:
        valid_places = _valid_places(plan.place, given["valid_places"] or [])
    elif data.get("network_wide") is False:
        valid_places = []
    else:
        valid_places = list(plan.valid_places.all())
    services.plan_save(
        place=plan.place, actor=request.auth, data=data, valid_places=valid_places, plan=plan
    )
    return _plan_out(_plans().get(pk=plan.pk))


# Memberships ----------------------------------------------------------------------------------


def _memberships() -> QuerySet[Membership]:
    return Membership.objects.select_related("plan", "place", "user")


def _this_months(memberships: list[Membership]) -> dict[int, MembershipMonth]:
    """This month's row of each subscription valid today (in its place's calendar); until the
    month is first used, the plan's allowance (selectors.holdings does the same for one member)."""
    today = {m.pk: services.today_at(m.place) for m in memberships}
    subscriptions = [
        m
        for m in memberships
        if m.plan.kind == Plan.Kind.SUBSCRIPTION
        and periods.valid_on(m.starts_on, m.ends_on, today[m.pk])
    ]
    months = {m.pk: periods.month_of(today[m.pk]) for m in subscriptions}
    rows = {
        (row.membership_id, row.month): row
        for row in MembershipMonth.objects.filter(
            membership__in=subscriptions, month__in=set(months.values())
        )
    }
    return {
        m.pk: rows.get((m.pk, months[m.pk]))
        or MembershipMonth(
            membership=m,
            month=months[m.pk],
            credit_minutes=m.plan.credit_hours * 60,
            days=m.plan.days_per_month,
        )
        for m in subscriptions
    }


def _member_ref(user: User) -> dict:
    return {"id": user.pk, "name": user.full_name, "email": user.email}


def _membership_out(membership: Membership, month: MembershipMonth | None) -> dict:
    place = membership.place
    today = services.today_at(place)
    return {
        "id": membership.pk,
        "plan": _plan_ref(membership.plan),
        "place": place.slug,
        "member": _member_ref(membership.user),
        "starts_on": membership.starts_on,
        "ends_on": membership.ends_on,
        "valid_today": periods.valid_on(membership.starts_on, membership.ends_on, today),
        "tickets_left": membership.tickets_left,
        "price": _money(membership.price),
        "this_month": {
            "month": f"{month.month:%Y-%m}",
            "credit_minutes": month.credit_minutes,
            "credit_minutes_used": month.credit_minutes_used,
            "days": month.days,
            "days_used": month.days_used,
        }
        if month is not None
        else None,
        "ended_at": membership.ended_at.astimezone(_zone(place)) if membership.ended_at else None,
        "note": membership.note,
    }


def _memberships_out(memberships: list[Membership]) -> list[dict]:
    months = _this_months(memberships)
    return [_membership_out(m, months.get(m.pk)) for m in memberships]


def _no_membership(membership_id: int) -> ApiError:
    return ApiError(404, _("There is no membership #%(id)d.") % {"id": membership_id})


def _visible_membership(user, membership_id: int) -> Membership:
    """The membership, for its holder and the team of its place; anyone else is answered as if
    it did not exist."""
    membership = _memberships().filter(pk=membership_id).first()
    if membership is None or not (
        membership.user_id == user.pk or permissions.can_manage_members(user, membership.place)
    ):
        raise _no_membership(membership_id)
    return membership


MEMBERSHIP_ID = Path(ge=1, le=MAX_ID, description="Id of the membership.")


@router.post(
    "/memberships",
    response={201: MembershipCreatedOut, **ERRORS},
    auth=BearerToken(),
    summary="Give a plan to a member",
    description=(
        "For the team of the plan's place (403 for its other people, 404 for anyone else). "
        "`member` is an email: without an account, one is created and its owner invited by "
        "email to choose a password (`created_account` true). The member gets the community "
        "role of the plan at the place if theirs was lower, and an email. A ticket book "
        "carries its tickets, a day pass one; `ends_on` follows the plan's `valid_days`. 400 "
        "for a withdrawn plan, an invalid email, a closed account or a start more than a year "
        "ago."
    ),
)
def create_membership(request, payload: MembershipIn):
    plan = Plan.objects.select_related("place").filter(pk=payload.plan).first()
    if plan is None:
        raise _no_plan(payload.plan)
    if not permissions.can_manage_members(request.auth, plan.place):
        if place_access(request.auth, plan.place) == "role":
            raise ApiError(403, _("Only the team of this place may give its plans."))
        raise _no_plan(payload.plan)
    refuse_unstorable(member=payload.member, note=payload.note)
    starts_on = _day(payload.starts_on, "starts_on") if payload.starts_on else None
    email = payload.member.strip()
    existed = User.objects.filter(email__iexact=email).exists()
    try:
        membership = services.membership_grant(
            plan=plan, member=email, actor=request.auth, starts_on=starts_on, note=payload.note
        )
    except OverflowError:  # a validity reaching past the year 9999
        raise out_of_range("starts_on") from None
    membership = _memberships().get(pk=membership.pk)
    return Status(201, {**_memberships_out([membership])[0], "created_account": not existed})


@router.get(
    "/memberships",
    response={200: MembershipListOut, **ERRORS},
    auth=BearerToken(),
    summary="Memberships: one's own, or a place's",
    description=(
        "Without `place`: the caller's plans in every place, latest start first, with their "
        "tickets left and, for subscriptions, this month's credits and days. With `place` (a "
        "slug): every membership of that place, for its team (403 for its other people, 404 "
        "for anyone else). Paginated with `page` and `page_size`."
    ),
)
def list_memberships(
    request,
    place: str = Query("", description="Slug of a place whose team the caller belongs to."),
    page: int = 1,
    page_size: int = 20,
):
    if place:
        memberships = _memberships().filter(place=_team_place(request.auth, place))
    else:
        memberships = _memberships().filter(user=request.auth)
    count, results = page_of(request, memberships.order_by("-starts_on", "-id"))
    return {"count": count, "results": _memberships_out(results)}


@router.get(
    "/memberships/{membership_id}",
    response={200: MembershipOut, **ERRORS},
    auth=BearerToken(),
    summary="One membership",
    description="For its holder and the team of its place; 404 for anyone else.",
)
def get_membership(request, membership_id: int = MEMBERSHIP_ID):
    return _memberships_out([_visible_membership(request.auth, membership_id)])[0]


@router.post(
    "/memberships/{membership_id}/end",
    response={200: MembershipOut, **ERRORS},
    auth=BearerToken(),
    summary="End a membership",
    description=(
        "For the team of its place (403 for its holder, 404 for anyone else): the plan is valid "
        "until `on` (today by default, never before its start) and nothing of it can be used "
        "afterwards. 409 when it has already ended by then."
    ),
)
def end_membership(request, payload: MembershipEndIn, membership_id: int = MEMBERSHIP_ID):
    membership = _visible_membership(request.auth, membership_id)
    if not permissions.can_manage_members(request.auth, membership.place):
        raise ApiError(403, _("Only the team of the place may end a membership."))
    on = _day(payload.on, "on") if payload.on else None
    try:
        services.membership_end(membership=membership, actor=request.auth, on=on)
    except ValidationError as error:  # the only one it raises: already ended by then
        raise ApiError(409, " ".join(error.messages)) from None
    return _memberships_out([_memberships().get(pk=membership.pk)])[0]


# Check-in -------------------------------------------------------------------------------------


def _checkins() -> QuerySet[CheckIn]:
    return CheckIn.objects.select_related("place", "user", "membership__plan", "home_place")


def _checkin_out(record: CheckIn) -> dict:
    zone = _zone(record.place)
    membership = record.membership
    return {
        "id": record.pk,
        "place": record.place.slug,
        "member": _member_ref(record.user),
        "day": record.day,
        "checked_in_at": record.checked_in_at.astimezone(zone),
        "checked_out_at": record.checked_out_at.astimezone(zone) if record.checked_out_at else None,
        "auto_checked_out": record.auto_checked_out,
        "consumed": {
            "kind": record.consumed,
            "membership": membership.pk if membership else None,
            "plan": _plan_ref(membership.plan) if membership else None,
            "tickets_left": membership.tickets_left if membership else None,
            "home_place": record.home_place.slug if record.home_place else None,
        },
    }


def _count_self_checkin(request) -> None:
    """Self check-ins share the per-account limit of the API's other writes by members."""
    limit, window = parse_rate(settings.MAILLAGE_BOOKINGS_PER_ACCOUNT)
    result = hit("checkin", str(request.auth.pk), limit=limit, window_seconds=window)
    if not result.allowed:
        raise ApiError(
            429,
            _("Too many check-ins from your account. Try again later."),
            retry_after=result.retry_after,
        )


def _someone_else(caller: User, email: str) -> bool:
    return bool(email.strip()) and email.strip().lower() != caller.email.lower()


def _no_checkin(checkin_id: int) -> ApiError:
    return ApiError(404, _("There is no check-in #%(id)d.") % {"id": checkin_id})


def _visible_checkin(user, checkin_id: int) -> CheckIn:
    """The check-in, for its member and the team of its place; anyone else is answered as if it
    did not exist."""
    record = _checkins().filter(pk=checkin_id).first()
    if record is None or not (
        record.user_id == user.pk or permissions.can_manage_members(user, record.place)
    ):
        raise _no_checkin(checkin_id)
    return record


CHECKIN_ID = Path(ge=1, le=MAX_ID, description="Id of the check-in.")


@router.post(
    "/checkins",
    response={201: CheckInOut, **ERRORS},
    auth=BearerToken(),
    summary="Check in at a place",
    description=(
        "Without `member`, the caller checks themself in (at a published place, or one where "
        "they have a role; limited per account, 429). With `member` (an email), the team of "
        "the place checks that person in (403 for the place's other people, 404 for anyone "
        "else; 400 when no account has that email: give them a plan first). The day is paid "
        "by the member's plans, best first: a subscription, a free membership, then the "
        "ticket book that expires first, then a day pass; those of another place of the "
        "network when valid here (a ledger line, `home_place`). The place's team spends "
        "nothing. `consumed` tells what was used. 409 with `details.reason` when refused: "
        "already_checked_in, nothing_valid (no plan valid here today, an expired or empty "
        "book, a pass not valid at this place: the message says which), used_up (the last "
        "ticket went to another check-in) or closed_account; nothing is then written."
    ),
)
def create_checkin(request, payload: MemberCheckInIn):
    caller = request.auth
    refuse_unstorable(member=payload.member)
    place = _find_place(payload.place)
    if _someone_else(caller, payload.member):
        if place is None or not permissions.can_manage_members(caller, place):
            if place is not None and place_access(caller, place) == "role":
                raise ApiError(403, _("Only the team of this place may check someone else in."))
            raise _no_place(payload.place)
        member = User.objects.filter(email__iexact=payload.member.strip()).first()
        if member is None:
            raise invalid_value(
                "member",
                _("There is no account with this email address: give this person a plan first."),
            )
    else:
        _count_self_checkin(request)
        if place is None or not (place.is_published or place_access(caller, place)):
            raise _no_place(payload.place)
        member = caller
    try:
        record = services.checkin(place=place, member=member, actor=caller)
    except services.CheckInRefused as refusal:
        raise ApiError(409, refusal.message, {"reason": refusal.reason}) from None
    if record.membership is not None:  # the answer tells what is left after this day
        record.membership.tickets_left = record.tickets_left
    return Status(201, _checkin_out(record))


@router.get(
    "/checkins",
    response={200: CheckInListOut, **ERRORS},
    auth=BearerToken(),
    summary="Attendance of a place",
    description=(
        "For the team of the place (403 for its other people, 404 for anyone else): the "
        "check-ins from `from` to `to` (days, both included; today by default), latest first, "
        "or with `present=true` those still in. Paginated with `page` and `page_size`."
    ),
)
def list_checkins(request, filters: Query[CheckInQuery], page: int = 1, page_size: int = 20):
    place = _team_place(request.auth, filters.place)
    if filters.present and _boolean(filters.present, "present"):
        records = _checkins().filter(place=place, checked_out_at__isnull=True)
        records = records.order_by("-checked_in_at", "-id")
    else:
        start = _day(filters.from_, "from") if filters.from_ else services.today_at(place)
        end = _day(filters.to, "to") if filters.to else start
        if end < start:
            raise invalid_value("to", _("The last day must not come before the first."))
        records = _checkins().filter(place=place, day__gte=start, day__lte=end)
        records = records.order_by("-day", "-checked_in_at", "-id")
    count, results = page_of(request, records)
    return {"count": count, "results": [_checkin_out(record) for record in results]}


@router.post(
    "/checkins/{checkin_id}/checkout",
    response={200: CheckInOut, **ERRORS},
    auth=BearerToken(),
    summary="Check out",
    description=(
        "The member leaves: themself or the team of the place; 404 for anyone else. 409 when "
        "already checked out."
    ),
)
def checkout_checkin(request, checkin_id: int = CHECKIN_ID):
    record = _visible_checkin(request.auth, checkin_id)
    try:
        services.checkout(record=record, actor=request.auth)
    except ValidationError as error:  # the only one it raises: already out
        raise ApiError(409, " ".join(error.messages)) from None
    return _checkin_out(_checkins().get(pk=record.pk))


@router.delete(
    "/checkins/{checkin_id}",
    response={204: None, **ERRORS},
    auth=BearerToken(),
    summary="Take back a check-in",
    description=(
        "For the team of the place (403 for the member themself, 404 for anyone else): a "
        "check-in made by mistake is removed and the ticket or the day it spent is given back."
    ),
)
def undo_checkin(request, checkin_id: int = CHECKIN_ID):
    record = _visible_checkin(request.auth, checkin_id)
    if not permissions.can_manage_members(request.auth, record.place):
        raise ApiError(403, _("Only the team of the place may take back a check-in."))
    services.checkin_undo(record=record, actor=request.auth)
    return Status(204, None)


# The network pass ledger ----------------------------------------------------------------------


def _month(value: str) -> dt.date:
    match = re.fullmatch(r"([0-9]{4})-([0-9]{2})", value)
    month = None
    if match:
        try:
            month = dt.date(int(match[1]), int(match[2]), 1)
        except ValueError:
            month = None
    if month is None:
        raise invalid_value("month", _("Give a month as YYYY-MM, e.g. 2027-03."))
    if month.year >= dt.MAXYEAR:
        raise out_of_range("month")
    return month


@router.get(
    "/ledger",
    response={200: LedgerOut, **ERRORS},
    auth=BearerToken(),
    summary="The network pass ledger of a month",
    description=(
        "Per home place and host place of the network: the days members of the first spent at "
        "the second with a network pass in `month` (YYYY-MM; the current one by default), how "
        "many members, and what the days are worth, for the places to settle. The coordinators "
        "of the network read every line; the managers of a place, the lines of their places. "
        "403 for the network's other people, 404 for anyone else. Not paginated."
    ),
)
def network_ledger(
    request,
    network: str = Query(..., description="Slug of the network."),
    month: str = Query("", description="YYYY-MM; the current month by default."),
):
    found = Network.objects.filter(slug=network).first() if is_slug(network) else None
    places = permissions.ledger_places(request.auth, found) if found else Place.objects.none()
    if not places.exists():
        if found is not None and found.places.filter(roles__user=request.auth).exists():
            raise ApiError(
                403,
                _("Only the managers of the network's places and its coordinators may read it."),
            )
        raise ApiError(404, _("There is no network “%(slug)s”.") % {"slug": network})
    chosen = _month(month) if month else periods.month_of(timezone.localdate())
    members_places = {place.pk: place for place in Place.objects.filter(networks=found)}
    lines = selectors.ledger(places=places, month=chosen, network=found)

    def ref(place_id):
        place = members_places[place_id]
        return {"slug": place.slug, "name": place.name}

    return {
        "network": found.slug,
        "month": f"{chosen:%Y-%m}",
        "count": len(lines),
        "results": [
            {
                "home_place": ref(line["home_place_id"]),
                "host_place": ref(line["place_id"]),
                "days": line["days"],
                "members": line["members"],
                "value": _money(line["value"]),
            }
            for line in lines
        ],
    }


# Members --------------------------------------------------------------------------------------


def _profile(user: User) -> MemberProfile | None:
    try:
        return user.profile
    except MemberProfile.DoesNotExist:
        return None


def _skill_label(skill) -> str:
    term = vocabulary.skill(skill.code) if skill.code else None
    return str(term.label) if term else skill.label


def _photo(profile: MemberProfile | None) -> str | None:
    return _absolute(profile.photo.url) if profile and profile.photo else None


def _member_out(user: User, *, with_email: bool) -> dict:
    profile = _profile(user)
    return {
        "id": user.pk,
        "name": user.full_name,
        "email": user.email if with_email else None,
        "bio": profile.bio if profile else "",
        "skills": [{"code": s.code, "label": _skill_label(s)} for s in user.skills.all()],
        "links": profile.links if profile else [],
        "languages": profile.languages if profile else [],
        "photo": _photo(profile),
        "url": _absolute(reverse("members:profile", kwargs={"pk": user.pk})),
    }


def _directory_scope(user, query: MemberQuery) -> dict:
    if query.place and query.network:
        raise invalid_value("place", _("Give a place or a network, not both."))
    if query.place:
        return {"place": _known_place(user, query.place)}
    if query.network:
        found = (
            Network.objects.filter(slug=query.network).first() if is_slug(query.network) else None
        )
        if found is None:
            raise ApiError(404, _("There is no network “%(slug)s”.") % {"slug": query.network})
        return {"network": found}
    return {}


@router.get(
    "/members",
    response={200: MemberListOut, **ERRORS},
    auth=OptionalBearer(),
    summary="The member directory",
    description=(
        "Members of a place (`place`) or of a network's places (`network`), or of every place, "
        "by name: only those whose profile the caller may read (the member chooses: public, "
        "the members of their places, or only themself and the teams of their places), and "
        "only what they chose to show. `q` searches names, bios and skills, `skill` is a code "
        "of the shared vocabulary or words. Emails only for the team of the place asked for. "
        "Paginated with `page` and `page_size`."
    ),
)
def list_members(request, filters: Query[MemberQuery], page: int = 1, page_size: int = 20):
    user = _caller(request)
    refuse_unstorable(q=filters.q, skill=filters.skill)
    scope = _directory_scope(user, filters)
    people = selectors.directory(user, q=filters.q.strip(), skill=filters.skill.strip(), **scope)
    with_email = "place" in scope and permissions.can_manage_members(user, scope["place"])
    count, results = page_of(request, people)
    return {
        "count": count,
        "results": [_member_out(person, with_email=with_email) for person in results],
    }


@router.get(
    "/members/{member_id}",
    response={200: MemberOut, **ERRORS},
    auth=OptionalBearer(),
    summary="One member's profile",
    description=(
        "What the member chose to show, for those they chose to show it to; 404 for anyone "
        "else, as for an unknown member. The email is given to the member themself and to the "
        "teams of their places."
    ),
)
def get_member(request, member_id: int = Path(ge=1, le=MAX_ID, description="Id of the member.")):
    user = _caller(request)
    person = (
        User.objects.select_related("profile")
        .prefetch_related("skills")
        .filter(pk=member_id)
        .first()
    )
    if person is None or not permissions.can_see_profile(user, person):
        raise ApiError(404, _("There is no member #%(id)d.") % {"id": member_id})
    with_email = user is not None and (
        user.pk == person.pk
        or any(
            permissions.can_manage_members(user, role.place)
            for role in person.place_roles.select_related("place")
        )
    )
    return _member_out(person, with_email=with_email)


def _profile_out(user: User) -> dict:
    profile = services.profile_of(user)
    skills = list(user.skills.all())
    return {
        "id": user.pk,
        "email": user.email,
        "full_name": user.full_name,
        "bio": profile.bio,
        "links": profile.links,
        "languages": profile.languages,
        "visibility": profile.visibility,
        "show_presence": profile.show_presence,
        "skills": [skill.code for skill in skills if skill.code],
        "free_skills": [skill.label for skill in skills if not skill.code],
        "photo": _photo(profile),
        "url": _absolute(reverse("members:profile", kwargs={"pk": user.pk})),
    }


@router.get(
    "/me/profile",
    response={200: ProfileOut, **ERRORS},
    auth=BearerToken(),
    summary="My profile",
    description="The caller's profile as they wrote it, with who may see it.",
)
def get_my_profile(request):
    return _profile_out(request.auth)


@router.put(
    "/me/profile",
    response={200: ProfileOut, **ERRORS},
    auth=BearerToken(),
    summary="Write my profile",
    description=(
        "Replaces the whole profile (what is left out takes its default: empty, private; "
        "`full_name` stays when left out). `visibility` is private (only me and the teams of "
        "my places), members (the members of my places) or public (everyone). At most 5 "
        "links (http or https), 30 skills, 2,000 characters of bio. The photo is changed on "
        "the profile page. 400 naming each invalid field."
    ),
)
def update_my_profile(request, payload: ProfileIn):
    given = payload.dict()
    refuse_unstorable(
        **{key: value for key, value in given.items() if isinstance(value, str)},
        **{
            f"{key}.{i}": text
            for key in ("links", "languages", "skills", "free_skills")
            for i, text in enumerate(given[key])
        },
    )
    _choice("visibility", payload.visibility, VISIBILITIES)
    services.profile_save(user=request.auth, **given)
    user = User.objects.get(pk=request.auth.pk)
    return _profile_out(user)
