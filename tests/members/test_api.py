"""The members API (PRODUCT.md §5): plans, memberships (with invited accounts), check-ins and what
they consume, the network pass ledger, the member directory and one's own profile. Every refusal
is checked to write nothing. Runs on SQLite and, with DATABASE_URL, on PostgreSQL."""

import datetime as dt
import json
import zoneinfo

import pytest
from django.utils import timezone, translation

from maillage.accounts.models import PlaceRole, User
from maillage.accounts.services import api_token_create
from maillage.api import api  # noqa: F401 (every router and its schemas are loaded)
from maillage.core.models import AuditEntry
from maillage.members import services
from maillage.members.models import CheckIn, MemberProfile, Membership, Plan
from tests.factories import (
    NetworkFactory,
    PlaceFactory,
    UserFactory,
    make_coordinator,
    make_manager,
)
from tests.members.factories import give, plan_for

pytestmark = pytest.mark.django_db

API = "/api/v1"
PLAN_KEYS = {
    "id",
    "place",
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
    "valid_places",
    "is_active",
}
MEMBERSHIP_KEYS = {
    "id",
    "plan",
    "place",
    "member",
    "starts_on",
    "ends_on",
    "valid_today",
    "tickets_left",
    "price",
    "this_month",
    "ended_at",
    "note",
}


@pytest.fixture(autouse=True)
def _messages_in_english(client):
    """The assertions read the English messages; the site's default language is French."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


def bearer(user) -> dict[str, str]:
    _token, raw = api_token_create(user=user)
    return {"authorization": f"Bearer {raw}"}


def send(client, method, path, body=None, user=None):
    kwargs = {"headers": bearer(user) if user else {}}
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    return getattr(client, method)(f"{API}{path}", **kwargs)


def assert_error(response, status) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"message", "details"}
    assert body["message"]
    return body


def rows() -> tuple[int, ...]:
    return (
        Plan.objects.count(),
        Membership.objects.count(),
        CheckIn.objects.count(),
        User.objects.count(),
        PlaceRole.objects.count(),
        AuditEntry.objects.exclude(action="token.create").count(),
        sum(Membership.objects.values_list("tickets_left", flat=True).exclude(tickets_left=None)),
    )


def role(user, place, name=PlaceRole.Role.STAFF):
    PlaceRole.objects.create(user=user, place=place, role=name)
    return user


class World:
    """Network N holds places A and B; place C is in network M only. A has a manager, a staff
    member and a resident; N a coordinator; C a manager."""

    def __init__(self):
        self.n, self.m = NetworkFactory(slug="lozere"), NetworkFactory(slug="cevennes")
        self.a = PlaceFactory(slug="fablab-mende", name="Fablab de Mende")
        self.b = PlaceFactory(slug="coworking-florac", name="Coworking de Florac")
        self.c = PlaceFactory(slug="tiers-lieu-ales", name="Tiers-lieu d'Alès")
        self.a.networks.add(self.n)
        self.b.networks.add(self.n)
        self.c.networks.add(self.m)
        self.manager = make_manager(self.a)
        self.staff = role(UserFactory(), self.a)
        self.resident = role(UserFactory(), self.a, PlaceRole.Role.RESIDENT)
        self.coordinator = make_coordinator(self.n)
        self.manager_c = make_manager(self.c)
        self.stranger = UserFactory()


@pytest.fixture
def w():
    return World()


def today(place) -> dt.date:
    return services.today_at(place)


# Plans ----------------------------------------------------------------------------------------


def test_a_manager_offers_a_ticket_book(client, w):
    response = send(
        client,
        "post",
        "/plans",
        {
            "place": w.a.slug,
            "name": " Carnet 10 ",
            "kind": "ticket_book",
            "tickets": 10,
            "valid_days": 365,
            "price": "80",
            "description": "Dix journées.",
        },
        w.manager,
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == PLAN_KEYS
    assert body["name"] == "Carnet 10"
    assert body["place"] == w.a.slug
    assert (body["kind"], body["tickets"], body["valid_days"]) == ("ticket_book", 10, 365)
    assert (body["price"], body["currency"]) == ("80.00", "EUR")
    assert body["network_wide"] is False and body["valid_places"] == []
    plan = Plan.objects.get(pk=body["id"])
    assert plan.place == w.a
    assert AuditEntry.objects.filter(action="plan.create", actor=w.manager).count() == 1


def test_a_coordinator_offers_a_subscription_valid_in_chosen_places(client, w):
    response = send(
        client,
        "post",
        "/plans",
        {
            "place": w.a.slug,
            "name": "Résident",
            "kind": "subscription",
            "price": 120.5,
            "credit_hours": 10,
            "resource_kinds": ["meeting_room"],
            "days_per_month": None,
            "network_wide": True,
            "valid_places": [w.b.slug],
        },
        w.coordinator,
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["price"] == "120.50"
    assert body["credit_hours"] == 10 and body["resource_kinds"] == ["meeting_room"]
    assert body["days_per_month"] is None
    assert body["network_wide"] is True and body["valid_places"] == [w.b.slug]


def test_a_day_pass_lasts_one_day_by_default(client, w):
    response = send(
        client, "post", "/plans", {"place": w.a.slug, "name": "Jour", "kind": "day_pass"}, w.manager
    )

    assert response.status_code == 201, response.content
    assert response.json()["valid_days"] == 1


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"kind": "annual"}, "kind"),
        ({"kind": "ticket_book", "tickets": -1}, "tickets"),
        ({"kind": "ticket_book"}, "tickets"),
        ({"kind": "ticket_book", "tickets": 0}, "tickets"),
        ({"kind": "day_pass", "tickets": 3}, "tickets"),
        ({"kind": "day_pass", "price": "-5"}, "price"),
        ({"kind": "day_pass", "price": "cinq"}, "price"),
        ({"kind": "day_pass", "price": "1.005"}, "price"),
        ({"kind": "day_pass", "credit_hours": 4, "resource_kinds": ["desk"]}, "credit_hours"),
        ({"kind": "subscription", "credit_hours": 4}, "resource_kinds"),
        (
            {"kind": "subscription", "credit_hours": 4, "resource_kinds": ["yacht"]},
            "resource_kinds",
        ),
        ({"kind": "subscription", "credit_hours": 745, "resource_kinds": ["desk"]}, "credit_hours"),
        ({"kind": "subscription", "days_per_month": 32}, "days_per_month"),
        ({"kind": "free", "valid_days": 0}, "valid_days"),
        ({"kind": "free", "valid_places": [], "tickets": "3"}, "tickets"),
        ({"kind": "free", "valid_places": ["coworking-florac"]}, "valid_places"),
        (
            {"kind": "free", "network_wide": True, "valid_places": ["tiers-lieu-ales"]},
            "valid_places",
        ),
        ({"kind": "free", "network_wide": True, "valid_places": ["nowhere"]}, "valid_places"),
        ({"kind": "free", "network_wide": "yes"}, "network_wide"),
        ({"kind": "free", "currency": "EURO"}, "currency"),
        ({"kind": "free", "name": ""}, "name"),
        ({"kind": "free", "name": "Nul\x00"}, "name"),
    ],
)
def test_invalid_plans_are_400_naming_the_field_and_write_nothing(client, w, values, field):
    before = rows()

    response = send(
        client, "post", "/plans", {"place": w.a.slug, "name": "Plan", **values}, w.manager
    )

    body = assert_error(response, 400)
    assert field in body["details"], body
    assert rows() == before


def test_a_network_wide_plan_needs_a_network(client, w):
    lonely = PlaceFactory()
    manager = make_manager(lonely)

    response = send(
        client,
        "post",
        "/plans",
        {"place": lonely.slug, "name": "Pass", "kind": "day_pass", "network_wide": True},
        manager,
    )

    body = assert_error(response, 400)
    assert "belongs to no network" in body["details"]["network_wide"][0]


@pytest.mark.parametrize(
    ("who", "status"),
    [("staff", 403), ("resident", 403), ("manager_c", 404), ("stranger", 404), (None, 401)],
)
def test_only_managers_and_coordinators_create_plans(client, w, who, status):
    before = rows()

    response = send(
        client,
        "post",
        "/plans",
        {"place": w.a.slug, "name": "Jour", "kind": "day_pass"},
        getattr(w, who) if who else None,
    )

    assert_error(response, status)
    assert rows() == before


def test_a_plan_for_an_unknown_place_is_404(client, w):
    response = send(
        client,
        "post",
        "/plans",
        {"place": "nowhere", "name": "Jour", "kind": "day_pass"},
        w.manager,
    )

    assert_error(response, 404)


def test_the_plans_of_a_place_are_public_and_the_team_sees_withdrawn_ones(client, w):
    book = plan_for(w.a, actor=w.manager)
    withdrawn = plan_for(w.a, actor=w.manager, name="Ancien", kind="day_pass")
    services.plan_save(
        place=w.a, actor=w.manager, data={"is_active": False}, plan=withdrawn, valid_places=()
    )
    plan_for(w.b, name="Ailleurs", kind="free")

    public = send(client, "get", f"/plans?place={w.a.slug}")
    team = send(client, "get", f"/plans?place={w.a.slug}", user=w.staff)
    paged = send(client, "get", f"/plans?place={w.a.slug}&page=2&page_size=1", user=w.staff)

    assert public.status_code == 200
    assert public.json()["count"] == 1
    assert [plan["id"] for plan in public.json()["results"]] == [book.pk]
    assert {plan["id"] for plan in team.json()["results"]} == {book.pk, withdrawn.pk}
    assert paged.json()["count"] == 2 and len(paged.json()["results"]) == 1


def test_the_plans_of_an_unpublished_place_are_for_its_people_only(client, w):
    plan_for(w.a, actor=w.manager)
    Place = type(w.a)
    Place.objects.filter(pk=w.a.pk).update(is_published=False)

    assert_error(send(client, "get", f"/plans?place={w.a.slug}"), 404)
    assert_error(send(client, "get", f"/plans?place={w.a.slug}", user=w.stranger), 404)
    assert send(client, "get", f"/plans?place={w.a.slug}", user=w.manager).json()["count"] == 1
    assert_error(send(client, "get", "/plans?place=nowhere"), 404)
    assert_error(send(client, "get", "/plans"), 400)


def test_one_plan_withdrawn_plans_for_the_team_and_holders_only(client, w):
    plan = plan_for(w.a, actor=w.manager)
    holder = give(plan, actor=w.staff).user

    assert send(client, "get", f"/plans/{plan.pk}").json()["id"] == plan.pk
    services.plan_save(
        place=w.a, actor=w.manager, data={"is_active": False}, plan=plan, valid_places=()
    )

    assert_error(send(client, "get", f"/plans/{plan.pk}"), 404)
    assert_error(send(client, "get", f"/plans/{plan.pk}", user=w.stranger), 404)
    assert send(client, "get", f"/plans/{plan.pk}", user=w.staff).status_code == 200
    assert send(client, "get", f"/plans/{plan.pk}", user=holder).json()["is_active"] is False
    assert_error(send(client, "get", "/plans/999999"), 404)


def test_a_manager_changes_a_plan_and_only_the_given_fields(client, w):
    plan = plan_for(w.a, actor=w.manager, network_wide=True, valid_places=[w.b])

    response = send(
        client, "patch", f"/plans/{plan.pk}", {"name": "Carnet 12", "tickets": 12}, w.manager
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["tickets"], body["price"]) == ("Carnet 12", 12, "80.00")
    assert body["valid_places"] == [w.b.slug]
    assert AuditEntry.objects.filter(action="plan.update").count() == 1

    response = send(client, "patch", f"/plans/{plan.pk}", {"network_wide": False}, w.manager)

    assert response.status_code == 200, response.content
    assert response.json()["valid_places"] == []


@pytest.mark.parametrize(("who", "status"), [("staff", 403), ("resident", 403), ("manager_c", 404)])
def test_others_cannot_change_a_plan(client, w, who, status):
    plan = plan_for(w.a, actor=w.manager)
    before = rows(), Plan.objects.filter(pk=plan.pk).values().get()

    response = send(client, "patch", f"/plans/{plan.pk}", {"name": "Volé"}, getattr(w, who))

    assert_error(response, status)
    assert (rows(), Plan.objects.filter(pk=plan.pk).values().get()) == before


def test_a_plan_held_by_members_keeps_its_kind(client, w):
    plan = plan_for(w.a, actor=w.manager)
    give(plan, actor=w.staff)
    before = rows()

    response = send(client, "patch", f"/plans/{plan.pk}", {"kind": "day_pass"}, w.manager)

    assert "kind" in assert_error(response, 400)["details"]
    assert rows() == before
    assert Plan.objects.get(pk=plan.pk).kind == "ticket_book"


@pytest.mark.parametrize("body", [[None], 5, "text", None])
@pytest.mark.parametrize("path", ["/plans/{plan}", "/me/profile", "/memberships/{membership}/end"])
def test_a_body_that_is_no_json_object_is_400(client, w, path, body):
    plan = plan_for(w.a, actor=w.manager)
    membership = give(plan, actor=w.staff)
    before = rows()
    method = "PUT" if path == "/me/profile" else "PATCH" if path == "/plans/{plan}" else "POST"

    response = client.generic(
        method,
        API + path.format(plan=plan.pk, membership=membership.pk),
        json.dumps(body),
        content_type="application/json",
        headers=bearer(w.manager),
    )

    assert_error(response, 400)
    assert rows() == before


# Memberships ----------------------------------------------------------------------------------


def test_the_team_gives_a_plan_to_someone_without_an_account(
    client, w, mailoutbox, django_capture_on_commit_callbacks
):
    plan = plan_for(w.a, actor=w.manager)

    with django_capture_on_commit_callbacks(execute=True):
        response = send(
            client,
            "post",
            "/memberships",
            {"plan": plan.pk, "member": " Nouvelle@Example.org ", "note": "payé en espèces"},
            w.staff,
        )

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == MEMBERSHIP_KEYS | {"created_account"}
    assert body["created_account"] is True
    member = User.objects.get(email="nouvelle@example.org")
    assert not member.has_usable_password()
    assert body["member"] == {"id": member.pk, "name": "", "email": "nouvelle@example.org"}
    assert body["plan"] == {"id": plan.pk, "name": plan.name, "kind": "ticket_book"}
    assert body["place"] == w.a.slug
    assert body["starts_on"] == today(w.a).isoformat()
    assert body["ends_on"] == (today(w.a) + dt.timedelta(days=364)).isoformat()
    assert (body["tickets_left"], body["price"], body["valid_today"]) == (10, "80.00", True)
    assert body["note"] == "payé en espèces"
    assert PlaceRole.objects.get(user=member, place=w.a).role == PlaceRole.Role.NOMAD
    assert sorted(mail.to[0] for mail in mailoutbox) == ["nouvelle@example.org"] * 2
    assert any(
        "password" in mail.body.lower() or "mot de passe" in mail.body for mail in mailoutbox
    )


def test_an_existing_account_gets_the_plan_without_a_new_account(
    client, w, mailoutbox, django_capture_on_commit_callbacks
):
    plan = plan_for(w.a, actor=w.manager, kind="subscription", name="Résident", price="150")
    accounts = User.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        response = send(
            client,
            "post",
            "/memberships",
            {"plan": plan.pk, "member": w.stranger.email.upper(), "starts_on": "2026-01-01"},
            w.manager,
        )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["created_account"] is False
    assert body["member"]["id"] == w.stranger.pk
    assert (body["starts_on"], body["ends_on"], body["tickets_left"]) == ("2026-01-01", None, None)
    assert User.objects.count() == accounts
    assert len(mailoutbox) == 1


@pytest.mark.parametrize(
    ("values", "status", "field"),
    [
        ({"member": "not an email"}, 400, "member"),
        ({"member": "a@example.org", "starts_on": "demain"}, 400, "starts_on"),
        ({"member": "a@example.org", "starts_on": "2001-01-01"}, 400, "starts_on"),
        ({"member": "a@example.org", "starts_on": "9999-12-31"}, 400, "starts_on"),
        ({"member": "a@example.org\x00"}, 400, "member"),
        ({"member": "a@example.org", "plan": "1"}, 400, "plan"),
        ({"member": "a@example.org", "plan": 999_999}, 404, None),
    ],
)
def test_invalid_memberships_write_nothing(client, w, mailoutbox, values, status, field):
    plan = plan_for(w.a, actor=w.manager)
    before = rows()

    response = send(client, "post", "/memberships", {"plan": plan.pk, **values}, w.staff)

    body = assert_error(response, status)
    if field:
        assert field in body["details"], body
    assert rows() == before
    assert mailoutbox == []


def test_a_withdrawn_plan_or_a_closed_account_is_refused(client, w):
    plan = plan_for(w.a, actor=w.manager)
    closed = UserFactory(is_active=False)
    before = rows()

    response = send(
        client, "post", "/memberships", {"plan": plan.pk, "member": closed.email}, w.staff
    )

    assert "member" in assert_error(response, 400)["details"]
    services.plan_save(
        place=w.a, actor=w.manager, data={"is_active": False}, plan=plan, valid_places=()
    )
    before = rows()
    response = send(
        client, "post", "/memberships", {"plan": plan.pk, "member": "x@example.org"}, w.staff
    )
    assert "plan" in assert_error(response, 400)["details"]
    assert rows() == before


@pytest.mark.parametrize(
    ("who", "status"), [("resident", 403), ("manager_c", 404), ("stranger", 404)]
)
def test_only_the_team_gives_plans(client, w, who, status):
    plan = plan_for(w.a, actor=w.manager)
    before = rows()

    response = send(
        client,
        "post",
        "/memberships",
        {"plan": plan.pk, "member": "x@example.org"},
        getattr(w, who),
    )

    assert_error(response, status)
    assert rows() == before


def test_my_memberships_with_this_months_credits(client, w):
    subscription = plan_for(
        w.a,
        actor=w.manager,
        kind="subscription",
        name="Résident",
        price="150",
        credit_hours=10,
        resource_kinds=["meeting_room"],
        days_per_month=12,
    )
    book = plan_for(w.b, name="Carnet", kind="ticket_book", tickets=5, valid_days=90)
    member = w.resident
    give(subscription, member, actor=w.staff)
    old = give(book, member, starts_on=today(w.b) - dt.timedelta(days=200))
    give(plan_for(w.c, name="Gratuit", kind="free"))  # somebody else's

    response = send(client, "get", "/memberships", user=member)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    current, past = body["results"]
    assert current["plan"]["kind"] == "subscription" and current["valid_today"] is True
    assert current["this_month"] == {
        "month": f"{today(w.a):%Y-%m}",
        "credit_minutes": 600,
        "credit_minutes_used": 0,
        "days": 12,
        "days_used": 0,
    }
    assert past["id"] == old.pk and past["valid_today"] is False and past["this_month"] is None


def test_the_team_lists_the_memberships_of_its_place(client, w):
    plan = plan_for(w.a, actor=w.manager)
    mine = give(plan, actor=w.staff)
    give(plan_for(w.b, kind="free", name="Libre"))

    response = send(client, "get", f"/memberships?place={w.a.slug}", user=w.staff)

    assert response.status_code == 200
    assert [m["id"] for m in response.json()["results"]] == [mine.pk]
    assert_error(send(client, "get", f"/memberships?place={w.a.slug}", user=w.resident), 403)
    assert_error(send(client, "get", f"/memberships?place={w.a.slug}", user=w.manager_c), 404)
    assert_error(send(client, "get", "/memberships"), 401)


def test_a_membership_for_its_holder_and_the_team_only(client, w):
    membership = give(plan_for(w.a, actor=w.manager), actor=w.staff)
    path = f"/memberships/{membership.pk}"

    assert send(client, "get", path, user=membership.user).json()["id"] == membership.pk
    assert send(client, "get", path, user=w.coordinator).status_code == 200
    assert_error(send(client, "get", path, user=w.resident), 404)
    assert_error(send(client, "get", path, user=w.manager_c), 404)


def test_the_team_ends_a_membership(client, w):
    membership = give(
        plan_for(w.a, actor=w.manager), starts_on=today(w.a) - dt.timedelta(days=3), actor=w.staff
    )
    path = f"/memberships/{membership.pk}/end"
    before = rows()

    assert_error(send(client, "post", path, {}, membership.user), 403)
    assert_error(send(client, "post", path, {}, w.resident), 404)
    assert_error(send(client, "post", path, {"on": "bientôt"}, w.staff), 400)
    assert rows() == before

    response = send(client, "post", path, {}, w.staff)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ends_on"] == today(w.a).isoformat()
    assert body["ended_at"].endswith(("+01:00", "+02:00"))
    assert AuditEntry.objects.filter(action="membership.end").count() == 1
    assert_error(send(client, "post", path, {}, w.staff), 409)


# Check-in -------------------------------------------------------------------------------------


def test_a_member_checks_themself_in_with_a_ticket(client, w):
    membership = give(plan_for(w.a, actor=w.manager), w.resident, actor=w.staff)

    response = send(client, "post", "/checkins", {"place": w.a.slug}, w.resident)

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {
        "id",
        "place",
        "member",
        "day",
        "checked_in_at",
        "checked_out_at",
        "auto_checked_out",
        "consumed",
    }
    assert body["day"] == today(w.a).isoformat()
    assert (
        dt.datetime.fromisoformat(body["checked_in_at"]).utcoffset()
        == timezone.now().astimezone(zoneinfo.ZoneInfo(w.a.time_zone)).utcoffset()
    )
    assert body["consumed"] == {
        "kind": "ticket",
        "membership": membership.pk,
        "plan": {"id": membership.plan_id, "name": "Carnet 10", "kind": "ticket_book"},
        "tickets_left": 9,
        "home_place": None,
    }
    assert body["member"]["id"] == w.resident.pk and body["checked_out_at"] is None


def test_a_second_check_in_the_same_day_is_409_and_spends_nothing(client, w):
    give(plan_for(w.a, actor=w.manager), w.resident, actor=w.staff)
    send(client, "post", "/checkins", {"place": w.a.slug}, w.resident)
    before = rows()

    response = send(client, "post", "/checkins", {"place": w.a.slug}, w.resident)

    body = assert_error(response, 409)
    assert body["details"] == {"reason": "already_checked_in"}
    assert "Already checked in here today" in body["message"]
    assert rows() == before


def test_the_team_checks_a_member_in_by_email(client, w):
    membership = give(plan_for(w.a, actor=w.manager), actor=w.staff)

    response = send(
        client,
        "post",
        "/checkins",
        {"place": w.a.slug, "member": membership.user.email.upper()},
        w.staff,
    )

    assert response.status_code == 201, response.content
    assert response.json()["member"]["email"] == membership.user.email
    record = CheckIn.objects.get()
    assert (record.user, record.checked_in_by) == (membership.user, w.staff)
    assert AuditEntry.objects.filter(action="checkin.by_team").count() == 1


def test_the_team_checks_itself_in_for_nothing(client, w):
    response = send(client, "post", "/checkins", {"place": w.a.slug}, w.staff)

    assert response.status_code == 201, response.content
    assert response.json()["consumed"] == {
        "kind": "team",
        "membership": None,
        "plan": None,
        "tickets_left": None,
        "home_place": None,
    }


def test_a_network_pass_at_another_place_writes_a_ledger_line(client, w):
    plan = plan_for(w.a, actor=w.manager, network_wide=True)
    membership = give(plan, actor=w.staff)

    response = send(client, "post", "/checkins", {"place": w.b.slug}, membership.user)

    assert response.status_code == 201, response.content
    consumed = response.json()["consumed"]
    assert (consumed["kind"], consumed["home_place"], consumed["tickets_left"]) == (
        "ticket",
        w.a.slug,
        9,
    )
    record = CheckIn.objects.get()
    assert (record.place, record.home_place, record.unit_value) == (w.b, w.a, 8)


@pytest.mark.parametrize(
    "case", ["only_at_home", "not_in_chosen_places", "expired", "empty", "none"]
)
def test_nothing_valid_is_409_with_the_reason_and_writes_nothing(client, w, case):
    member = UserFactory()
    if case == "only_at_home":
        give(plan_for(w.a, actor=w.manager), member, actor=w.staff)
        place, words = w.b, "No valid plan for this place"
    elif case == "not_in_chosen_places":
        third = PlaceFactory()
        third.networks.add(w.n)
        plan = plan_for(w.a, actor=w.manager, network_wide=True, valid_places=[third])
        give(plan, member, actor=w.staff)
        place, words = w.b, "is not valid at this place"
    elif case == "expired":
        plan = plan_for(w.a, actor=w.manager, valid_days=10)
        give(plan, member, starts_on=today(w.a) - dt.timedelta(days=20), actor=w.staff)
        place, words = w.a, "expired on"
    elif case == "empty":
        plan = plan_for(w.a, actor=w.manager, tickets=1)
        give(plan, member, starts_on=today(w.a) - dt.timedelta(days=2), actor=w.staff)
        services.checkin(place=w.a, member=member, at=timezone.now() - dt.timedelta(days=1))
        place, words = w.a, "has no tickets left"
    else:
        place, words = w.a, "No valid plan for this place"
    before = rows()

    response = send(client, "post", "/checkins", {"place": place.slug}, member)

    body = assert_error(response, 409)
    assert body["details"] == {"reason": "nothing_valid"}
    assert words in body["message"]
    assert rows() == before


def test_a_closed_account_is_refused_at_the_door(client, w):
    closed = give(plan_for(w.a, actor=w.manager), actor=w.staff).user
    User.objects.filter(pk=closed.pk).update(is_active=False)
    before = rows()

    response = send(
        client, "post", "/checkins", {"place": w.a.slug, "member": closed.email}, w.staff
    )

    assert assert_error(response, 409)["details"] == {"reason": "closed_account"}
    assert rows() == before


@pytest.mark.parametrize(
    ("who", "place", "status"),
    [
        ("resident", "a", 403),
        ("stranger", "a", 404),
        ("manager_c", "a", 404),
        ("staff", "b", 404),
        ("stranger", None, 404),
    ],
)
def test_checking_someone_else_in_is_for_the_team(client, w, who, place, status):
    membership = give(plan_for(w.a, actor=w.manager), actor=w.staff)
    before = rows()
    slug = getattr(w, place).slug if place else "nowhere"

    response = send(
        client,
        "post",
        "/checkins",
        {"place": slug, "member": membership.user.email},
        getattr(w, who),
    )

    assert_error(response, status)
    assert rows() == before


def test_an_unknown_member_is_400_for_the_team_and_no_account_is_created(client, w):
    before = rows()

    response = send(
        client, "post", "/checkins", {"place": w.a.slug, "member": "inconnu@example.org"}, w.staff
    )

    body = assert_error(response, 400)
    assert "There is no account with this email address" in body["details"]["member"][0]
    assert rows() == before


def test_self_check_in_at_an_unpublished_place_is_for_its_people(client, w):
    plan = plan_for(w.a, actor=w.manager, network_wide=True)
    member = give(plan, actor=w.staff).user
    type(w.b).objects.filter(pk=w.b.pk).update(is_published=False)
    before = rows()

    assert_error(send(client, "post", "/checkins", {"place": w.b.slug}, member), 404)
    assert_error(send(client, "post", "/checkins", {"place": "nowhere"}, member), 404)
    assert_error(send(client, "post", "/checkins", {"place": w.b.slug}), 401)
    assert rows() == before
    role(member, w.b, PlaceRole.Role.VISITOR)
    assert send(client, "post", "/checkins", {"place": w.b.slug}, member).status_code == 201


def test_self_check_ins_are_limited_per_account(client, w, settings):
    settings.MAILLAGE_BOOKINGS_PER_ACCOUNT = "2/1m"
    member = UserFactory()
    token = bearer(member)

    answers = [
        client.post(
            f"{API}/checkins",
            json.dumps({"place": w.a.slug}),
            content_type="application/json",
            headers=token,
        )
        for _ in range(3)
    ]

    assert [answer.status_code for answer in answers[:2]] == [409, 409]
    assert_error(answers[2], 429)
    assert int(answers[2]["Retry-After"]) > 0


def test_the_team_reads_the_attendance_of_its_place(client, w):
    plan = plan_for(w.a, actor=w.manager, valid_days=30)
    first, second = give(plan, actor=w.staff).user, give(plan, actor=w.staff).user
    give(plan, first, starts_on=today(w.a) - dt.timedelta(days=5), actor=w.staff)
    services.checkin(place=w.a, member=first, at=timezone.now() - dt.timedelta(days=2))
    services.checkin(place=w.a, member=first)
    done = services.checkin(place=w.a, member=second)
    services.checkout(record=done, actor=second)
    services.checkin(place=w.b, member=make_manager(w.b))  # elsewhere
    day = today(w.a)

    today_only = send(client, "get", f"/checkins?place={w.a.slug}", user=w.staff).json()
    week = send(
        client,
        "get",
        f"/checkins?place={w.a.slug}&from={day - dt.timedelta(days=6)}&to={day}",
        user=w.manager,
    ).json()
    present = send(client, "get", f"/checkins?place={w.a.slug}&present=true", user=w.staff).json()

    assert today_only["count"] == 2
    assert {r["member"]["id"] for r in today_only["results"]} == {first.pk, second.pk}
    assert week["count"] == 3
    assert [r["day"] for r in week["results"]][-1] == (day - dt.timedelta(days=2)).isoformat()
    assert present["count"] == 2
    assert second.pk not in {r["member"]["id"] for r in present["results"]}


@pytest.mark.parametrize(
    ("query", "who", "status"),
    [
        ("&from=hier", "staff", 400),
        ("&from=2026-05-10&to=2026-05-01", "staff", 400),
        ("&present=peut-être", "staff", 400),
        ("", "resident", 403),
        ("", "manager_c", 404),
        ("", None, 401),
    ],
)
def test_attendance_refusals(client, w, query, who, status):
    response = send(
        client, "get", f"/checkins?place={w.a.slug}{query}", user=getattr(w, who) if who else None
    )

    assert_error(response, status)


def test_checking_out_by_the_member_or_the_team(client, w):
    membership = give(plan_for(w.a, actor=w.manager), w.resident, actor=w.staff)
    record = services.checkin(place=w.a, member=w.resident)
    other = role(UserFactory(), w.a, PlaceRole.Role.RESIDENT)
    path = f"/checkins/{record.pk}/checkout"

    assert_error(send(client, "post", path, user=other), 404)
    assert_error(send(client, "post", path, user=w.manager_c), 404)
    assert CheckIn.objects.get().checked_out_at is None

    response = send(client, "post", path, user=membership.user)

    assert response.status_code == 200, response.content
    assert response.json()["checked_out_at"] is not None
    assert_error(send(client, "post", path, user=w.staff), 409)


def test_the_team_takes_back_a_check_in_and_its_ticket(client, w):
    membership = give(plan_for(w.a, actor=w.manager), w.resident, actor=w.staff)
    record = services.checkin(place=w.a, member=w.resident)
    path = f"/checkins/{record.pk}"
    before = rows()

    assert_error(send(client, "delete", path, user=w.resident), 403)
    assert_error(send(client, "delete", path, user=w.manager_c), 404)
    assert rows() == before

    response = send(client, "delete", path, user=w.staff)

    assert response.status_code == 204
    assert not CheckIn.objects.exists()
    membership.refresh_from_db()
    assert membership.tickets_left == 10
    assert_error(send(client, "delete", path, user=w.staff), 404)


# The network pass ledger ----------------------------------------------------------------------


def test_the_ledger_of_a_month(client, w):
    plan = plan_for(w.a, actor=w.manager, network_wide=True)
    for _ in range(2):
        services.checkin(place=w.b, member=give(plan, actor=w.staff).user)
    month = f"{today(w.b):%Y-%m}"

    for reader in (w.manager, w.coordinator):
        response = send(client, "get", f"/ledger?network={w.n.slug}&month={month}", user=reader)

        assert response.status_code == 200, response.content
        assert response.json() == {
            "network": w.n.slug,
            "month": month,
            "count": 1,
            "results": [
                {
                    "home_place": {"slug": w.a.slug, "name": w.a.name},
                    "host_place": {"slug": w.b.slug, "name": w.b.name},
                    "days": 2,
                    "members": 2,
                    "value": "16.00",
                }
            ],
        }
    assert send(client, "get", f"/ledger?network={w.n.slug}", user=w.manager).json()["count"] == 1
    other = send(client, "get", f"/ledger?network={w.n.slug}&month=2020-01", user=w.manager)
    assert other.json()["count"] == 0


def test_a_network_ledger_holds_only_the_lines_between_its_places(client, w):
    w.a.networks.add(w.m)
    plan = plan_for(w.a, actor=w.manager, network_wide=True)
    services.checkin(place=w.c, member=give(plan, actor=w.staff).user)

    of_n = send(client, "get", f"/ledger?network={w.n.slug}", user=w.coordinator).json()
    of_m = send(client, "get", f"/ledger?network={w.m.slug}", user=w.manager_c).json()

    assert of_n["count"] == 0
    assert [line["host_place"]["slug"] for line in of_m["results"]] == [w.c.slug]


@pytest.mark.parametrize(
    ("query", "who", "status"),
    [
        ("network=lozere", "staff", 403),
        ("network=lozere", "resident", 403),
        ("network=lozere", "manager_c", 404),
        ("network=lozere", "stranger", 404),
        ("network=nowhere", "manager", 404),
        ("network=lozere", None, 401),
        ("network=lozere&month=2027-13", "manager", 400),
        ("network=lozere&month=mars", "manager", 400),
        ("network=lozere&month=9999-12", "manager", 400),
        ("", "manager", 400),
    ],
)
def test_ledger_refusals(client, w, query, who, status):
    response = send(client, "get", f"/ledger?{query}", user=getattr(w, who) if who else None)

    assert_error(response, status)


# Members --------------------------------------------------------------------------------------


def profile(user, visibility, **values):
    services.profile_save(user=user, visibility=visibility, **values)
    return user


def test_the_directory_shows_only_what_members_chose(client, w):
    public = profile(
        role(UserFactory(full_name="Aline Public"), w.a, PlaceRole.Role.NOMAD),
        MemberProfile.Visibility.PUBLIC,
        bio="Je répare des vélos.",
        skills=["repair"],
        free_skills=["Vélo"],
        links=["https://example.org/aline"],
        languages=["fr", "oc"],
    )
    members = profile(
        role(UserFactory(full_name="Bruno Membres"), w.a, PlaceRole.Role.NOMAD),
        MemberProfile.Visibility.MEMBERS,
    )
    private = profile(
        role(UserFactory(full_name="Chloé Privée"), w.a, PlaceRole.Role.NOMAD),
        MemberProfile.Visibility.PRIVATE,
    )
    profile(role(UserFactory(full_name="Denis Ailleurs"), w.b), MemberProfile.Visibility.PUBLIC)

    def names(user=None, query=f"place={w.a.slug}"):
        response = send(client, "get", f"/members?{query}", user=user)
        assert response.status_code == 200, response.content
        return [person["name"] for person in response.json()["results"]]

    assert names() == ["Aline Public"]
    assert names(w.stranger) == ["Aline Public"]
    # A member of the place sees "members" profiles of its people, and themself.
    assert set(names(w.resident)) == {"Aline Public", "Bruno Membres", w.resident.full_name}
    assert set(names(w.staff)) >= {"Aline Public", "Bruno Membres", "Chloé Privée"}
    assert names(query=f"network={w.n.slug}") == ["Aline Public", "Denis Ailleurs"]
    assert names(query=f"network={w.n.slug}&q=velos") == ["Aline Public"]
    assert names(query="skill=repair") == ["Aline Public"]
    assert names(query="skill=vélo") == ["Aline Public"]
    assert private.pk and members.pk

    (aline,) = send(client, "get", f"/members?place={w.a.slug}").json()["results"]
    assert aline == {
        "id": public.pk,
        "name": "Aline Public",
        "email": None,
        "bio": "Je répare des vélos.",
        "skills": [{"code": "repair", "label": "Repair"}, {"code": "", "label": "Vélo"}],
        "links": ["https://example.org/aline"],
        "languages": ["fr", "oc"],
        "photo": None,
        "url": aline["url"],
    }
    assert aline["url"].endswith(f"/members/{public.pk}/")
    team = send(client, "get", f"/members?place={w.a.slug}", user=w.staff).json()["results"]
    assert all(person["email"] for person in team)
    network = send(client, "get", f"/members?network={w.n.slug}", user=w.staff).json()["results"]
    assert all(person["email"] is None for person in network)


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("place=nowhere", 404),
        ("network=nowhere", 404),
        ("place=fablab-mende&network=lozere", 400),
        ("q=%00", 400),
        ("page=0", 400),
    ],
)
def test_directory_refusals(client, w, query, status):
    assert_error(send(client, "get", f"/members?{query}"), status)


def test_one_profile_only_for_those_the_member_chose(client, w):
    member = profile(w.resident, MemberProfile.Visibility.PRIVATE, bio="Discrète.")
    path = f"/members/{member.pk}"

    assert_error(send(client, "get", path), 404)
    assert_error(send(client, "get", path, user=w.stranger), 404)
    assert_error(send(client, "get", path, user=w.manager_c), 404)
    assert send(client, "get", path, user=member).json()["email"] == member.email
    assert send(client, "get", path, user=w.staff).json()["email"] == member.email
    assert send(client, "get", path, user=w.coordinator).json()["bio"] == "Discrète."
    profile(member, MemberProfile.Visibility.PUBLIC)
    assert send(client, "get", path).json()["email"] is None
    assert send(client, "get", path, user=w.manager_c).json()["email"] is None
    assert_error(send(client, "get", "/members/999999"), 404)


def test_my_profile_read_and_written(client, w):
    me = w.resident

    empty = send(client, "get", "/me/profile", user=me)

    assert empty.status_code == 200
    assert empty.json()["visibility"] == "private" and empty.json()["skills"] == []

    response = send(
        client,
        "put",
        "/me/profile",
        {
            "full_name": "Justine Martin",
            "bio": "Graphiste.",
            "links": ["https://example.org"],
            "languages": ["fr", "es"],
            "visibility": "members",
            "show_presence": True,
            "skills": ["graphic_design"],
            "free_skills": ["Sérigraphie"],
        },
        me,
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["full_name"] == "Justine Martin" and body["email"] == me.email
    assert (body["visibility"], body["show_presence"]) == ("members", True)
    assert (body["skills"], body["free_skills"]) == (["graphic_design"], ["Sérigraphie"])
    assert body["languages"] == ["es", "fr"] and body["links"] == ["https://example.org"]
    assert send(client, "get", "/me/profile", user=me).json() == body

    again = send(client, "put", "/me/profile", {"bio": "Autre."}, me).json()
    assert again["full_name"] == "Justine Martin"
    assert (again["visibility"], again["skills"], again["links"]) == ("private", [], [])


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"links": ["javascript:alert(1)"]}, "links"),
        ({"links": [f"https://example.org/{i}" for i in range(6)]}, "links"),
        ({"skills": ["juggling"]}, "skills"),
        ({"languages": ["klingon"]}, "languages"),
        ({"visibility": "friends"}, "visibility"),
        ({"bio": "x" * 2001}, "bio"),
        ({"free_skills": ["a\x00b"]}, "free_skills.0"),
        ({"show_presence": "yes"}, "show_presence"),
    ],
)
def test_an_invalid_profile_is_400_and_changes_nothing(client, w, values, field):
    me = profile(w.resident, MemberProfile.Visibility.PUBLIC, bio="Avant.")

    response = send(client, "put", "/me/profile", values, me)

    assert field in assert_error(response, 400)["details"]
    saved = MemberProfile.objects.get(user=me)
    assert (saved.bio, saved.visibility) == ("Avant.", "public")


def test_my_profile_needs_a_token(client):
    assert_error(send(client, "get", "/me/profile"), 401)
    assert_error(send(client, "put", "/me/profile", {}), 401)


# The document ---------------------------------------------------------------------------------


def test_every_members_operation_is_documented(client):
    document = client.get(f"{API}/openapi.json").json()
    operations = {
        ("post", "/api/v1/plans"),
        ("get", "/api/v1/plans"),
        ("get", "/api/v1/plans/{plan_id}"),
        ("patch", "/api/v1/plans/{plan_id}"),
        ("post", "/api/v1/memberships"),
        ("get", "/api/v1/memberships"),
        ("get", "/api/v1/memberships/{membership_id}"),
        ("post", "/api/v1/memberships/{membership_id}/end"),
        ("post", "/api/v1/checkins"),
        ("get", "/api/v1/checkins"),
        ("post", "/api/v1/checkins/{checkin_id}/checkout"),
        ("delete", "/api/v1/checkins/{checkin_id}"),
        ("get", "/api/v1/ledger"),
        ("get", "/api/v1/members"),
        ("get", "/api/v1/members/{member_id}"),
        ("get", "/api/v1/me/profile"),
        ("put", "/api/v1/me/profile"),
    }

    for method, path in operations:
        operation = document["paths"][path][method]
        assert operation["summary"] and operation["description"], (method, path)
        assert {"400", "404"} <= set(operation["responses"]), (method, path)
        assert operation["tags"] == ["members"], (method, path)
    checkin = document["paths"]["/api/v1/checkins"]["post"]
    assert {"201", "409", "429"} <= set(checkin["responses"])
