"""The team's pages of members: people and their plans, plans, giving a plan, one membership,
attendance, CSV exports and the network pass ledger."""

import csv
import datetime as dt
import io
import re
import zoneinfo
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from maillage.accounts.models import PlaceRole, User
from maillage.bookings import services as booking_services
from maillage.core.models import AuditEntry
from maillage.members import periods, services
from maillage.members.credits import month_row
from maillage.members.models import CheckIn, Membership, MembershipMonth, Plan
from tests.factories import (
    NetworkFactory,
    OpeningHoursFactory,
    PlaceFactory,
    UserFactory,
    make_coordinator,
    make_manager,
)
from tests.members.factories import give, plan_for

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


@pytest.fixture(autouse=True)
def _messages_in_english():
    """The assertions read the English messages; the site's default language is French."""
    with translation.override("en"):
        yield


@pytest.fixture
def world():
    """Network N holds places A and B; place C is elsewhere. A sells a ticket book valid in the
    network, held by its member. Everyone reads the pages in English."""
    network = NetworkFactory()
    place_a = PlaceFactory(name="Fablab A")
    place_b = PlaceFactory(name="Coworking B")
    place_c = PlaceFactory(name="Tiers-lieu C")
    place_a.networks.add(network)
    place_b.networks.add(network)
    manager_a = make_manager(place_a, language="en")
    staff_a = UserFactory(language="en")
    PlaceRole.objects.create(user=staff_a, place=place_a, role=PlaceRole.Role.STAFF)
    book = plan_for(place_a, actor=manager_a, name="Carnet 10", network_wide=True)
    member_a = UserFactory(language="en", full_name="Alice Martin")
    membership = give(book, member_a, actor=staff_a)
    return {
        "network": network,
        "a": place_a,
        "b": place_b,
        "c": place_c,
        "manager_a": manager_a,
        "staff_a": staff_a,
        "manager_b": make_manager(place_b, language="en"),
        "manager_c": make_manager(place_c, language="en"),
        "coordinator": make_coordinator(network, language="en"),
        "member_a": member_a,
        "book": book,
        "membership": membership,
    }


def url(name, place, *args):
    return reverse(f"members:{name}", args=[place.slug, *args])


def read_csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def at_local(day: dt.date, hour: int, zone=PARIS) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), zone)


def subscription(place, actor, **data):
    data = {
        "name": "Résident",
        "kind": Plan.Kind.SUBSCRIPTION,
        "price": Decimal("200.00"),
        "credit_hours": 10,
        "resource_kinds": ["meeting_room"],
        "days_per_month": None,
        **data,
    }
    return plan_for(place, actor=actor, **data)


# Who may open the pages -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["manage", "plans", "plan_new", "membership_new", "attendance"],
)
def test_team_pages_are_for_the_team_of_the_place(client, world, name):
    page = url(name, world["a"])
    assert client.get(page).status_code == 302  # to the login page
    for outsider in ("member_a", "manager_b", "manager_c"):
        client.force_login(world[outsider])
        assert client.get(page).status_code == 404, outsider
    client.force_login(world["coordinator"])
    assert client.get(page).status_code == 200


def test_a_membership_of_another_place_is_not_found(client, world):
    other = give(plan_for(world["c"], actor=world["manager_c"]))
    client.force_login(world["manager_a"])
    assert client.get(url("membership", world["a"], other.pk)).status_code == 404
    client.force_login(world["manager_c"])
    assert client.get(url("membership", world["a"], world["membership"].pk)).status_code == 404
    assert client.get(url("membership", world["c"], world["membership"].pk)).status_code == 404


# The place's people -----------------------------------------------------------------------------


def test_members_lists_people_with_their_plans_and_what_is_left(client, world):
    sub = subscription(world["a"], world["manager_a"], days_per_month=8)
    resident = UserFactory(full_name="Bruno Resident", email="bruno@example.org")
    held = give(sub, resident)
    client.force_login(world["staff_a"])
    response = client.get(url("manage", world["a"]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Alice Martin" in page and "Bruno Resident" in page
    assert "10 tickets left" in page
    assert "10 h left of 10 h of credits this month" in page
    assert "8 left of 8 days this month" in page
    assert url("membership", world["a"], held.pk) in page
    assert url("membership_new", world["a"]) + "?email=bruno%40example.org" in page

    found = client.get(url("manage", world["a"]), {"q": "bruno"}).content.decode()
    assert "Bruno Resident" in found and "Alice Martin" not in found


def test_members_are_paginated_by_fifty(client, world):
    for number in range(55):
        user = UserFactory(full_name=f"Zoé {number:02d}")
        PlaceRole.objects.create(user=user, place=world["a"], role=PlaceRole.Role.VISITOR)
    client.force_login(world["manager_a"])
    first = client.get(url("manage", world["a"]))
    assert len(first.context["people"]) == 50
    second = client.get(url("manage", world["a"]), {"page": 2})
    # 55 visitors, the member, the staff and the manager.
    assert len(second.context["people"]) == 8


# Plans ------------------------------------------------------------------------------------------


def test_plans_show_withdrawn_ones_and_current_holders(client, world):
    old = plan_for(world["a"], actor=world["manager_a"], name="Ancien carnet", is_active=False)
    client.force_login(world["manager_a"])
    response = client.get(url("plans", world["a"]))
    assert response.status_code == 200
    holders = {plan.name: plan.holders for plan in response.context["plans"]}
    assert holders == {"Carnet 10": 1, "Ancien carnet": 0}
    page = response.content.decode()
    assert "withdrawn" in page
    assert url("plan_edit", world["a"], old.pk) in page
    assert url("plan_new", world["a"]) in page


def test_staff_read_plans_but_cannot_edit_them(client, world):
    book = world["book"]
    client.force_login(world["staff_a"])
    page = client.get(url("plans", world["a"])).content.decode()
    assert "Carnet 10" in page
    assert url("plan_edit", world["a"], book.pk) not in page
    assert url("plan_new", world["a"]) not in page
    assert client.get(url("plan_edit", world["a"], book.pk)).status_code == 404
    response = client.post(
        url("plan_edit", world["a"], book.pk),
        {"name": "Hacked", "kind": "ticket_book", "price": "1", "currency": "EUR", "tickets": 2},
    )
    assert response.status_code == 404
    assert client.post(url("plan_new", world["a"]), {"name": "X"}).status_code == 404
    book.refresh_from_db()
    assert book.name == "Carnet 10" and Plan.objects.count() == 1


def plan_data(**changes):
    data = {
        "name": "Pass journée",
        "description": "Une journée au calme.",
        "kind": "day_pass",
        "price": "12.50",
        "currency": "eur",
        "credit_hours": "",
        "days_per_month": "",
        "tickets": "",
        "valid_days": "",
        "is_active": "on",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_a_manager_creates_a_plan_valid_in_chosen_places_of_the_network(client, world):
    client.force_login(world["manager_a"])
    form = client.get(url("plan_new", world["a"])).context["form"]
    assert list(form.fields["valid_places"].queryset) == [world["b"]]
    response = client.post(
        url("plan_new", world["a"]),
        plan_data(network_wide="on", valid_places=[world["b"].pk]),
    )
    assert response.status_code == 302
    plan = Plan.objects.get(name="Pass journée")
    assert plan.place == world["a"] and plan.price == Decimal("12.50")
    assert plan.currency == "EUR" and plan.valid_days == 1 and plan.network_wide
    assert list(plan.valid_places.all()) == [world["b"]]
    assert AuditEntry.objects.filter(action="plan.create", place=world["a"]).count() == 2


def test_a_place_outside_the_network_cannot_be_chosen(client, world):
    client.force_login(world["manager_a"])
    response = client.post(
        url("plan_new", world["a"]),
        plan_data(network_wide="on", valid_places=[world["c"].pk]),
    )
    assert response.status_code == 400
    assert not Plan.objects.filter(name="Pass journée").exists()


def test_a_place_without_network_offers_no_network_pass(client, world):
    client.force_login(world["manager_c"])
    form = client.get(url("plan_new", world["c"])).context["form"]
    assert "network_wide" not in form.fields and "valid_places" not in form.fields


def test_a_manager_edits_a_plan(client, world):
    book = world["book"]
    client.force_login(world["manager_a"])
    page = client.get(url("plan_edit", world["a"], book.pk))
    assert page.context["form"].initial["tickets"] == 10
    response = client.post(
        url("plan_edit", world["a"], book.pk),
        plan_data(name="Carnet 12", kind="ticket_book", tickets="12", valid_days="365"),
    )
    assert response.status_code == 302
    book.refresh_from_db()
    assert book.name == "Carnet 12" and book.tickets == 12
    # What was already given stays as it was.
    assert Membership.objects.get().tickets_left == 10


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"price": "-5"}, "price", "A price cannot be negative."),
        (
            {"kind": "subscription", "credit_hours": "-3", "resource_kinds": ["desk"]},
            "credit_hours",
            "This number cannot be negative.",
        ),
        ({"kind": "subscription", "days_per_month": "-1"}, "days_per_month", "cannot be negative"),
        ({"kind": "ticket_book"}, "tickets", "A ticket book holds at least one ticket."),
        (
            {"kind": "subscription", "credit_hours": "5"},
            "resource_kinds",
            "Choose which kinds of resources",
        ),
        ({"currency": "€"}, "currency", "Three letters"),
    ],
)
def test_invalid_plans_are_refused_and_nothing_is_written(client, world, changes, field, message):
    client.force_login(world["manager_a"])
    before = AuditEntry.objects.count()
    response = client.post(url("plan_new", world["a"]), plan_data(**changes))
    assert response.status_code == 400
    assert any(message in error for error in response.context["form"].errors[field])
    assert not Plan.objects.filter(name="Pass journée").exists()
    assert AuditEntry.objects.count() == before


def test_an_invalid_edit_changes_nothing(client, world):
    book = world["book"]
    client.force_login(world["manager_a"])
    response = client.post(
        url("plan_edit", world["a"], book.pk),
        plan_data(name="Carnet gratuit", kind="ticket_book", tickets="10", price="-1"),
    )
    assert response.status_code == 400
    assert "Edit Carnet 10" in response.content.decode()
    response = client.post(
        url("plan_edit", world["a"], book.pk), plan_data(name="Devenu abonnement", kind="free")
    )
    assert response.status_code == 400
    assert "Members hold this plan" in " ".join(response.context["form"].errors["kind"])
    book.refresh_from_db()
    assert (book.name, book.kind, book.price) == ("Carnet 10", "ticket_book", Decimal("80.00"))


def test_editing_another_places_plan_through_the_url_is_not_found(client, world):
    plan_c = plan_for(world["c"], actor=world["manager_c"], name="Carnet C")
    client.force_login(world["manager_a"])
    page = url("plan_edit", world["a"], plan_c.pk)
    assert client.get(page).status_code == 404
    response = client.post(page, plan_data(name="Volé", kind="ticket_book", tickets="1"))
    assert response.status_code == 404
    plan_c.refresh_from_db()
    assert plan_c.name == "Carnet C"
    client.force_login(world["manager_c"])
    assert client.get(url("plan_edit", world["a"], world["book"].pk)).status_code == 404


# Giving a plan ----------------------------------------------------------------------------------


def test_giving_a_plan_to_an_unknown_email_creates_and_invites_the_account(
    client, world, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(world["staff_a"])
    form = client.get(url("membership_new", world["a"]), {"plan": world["book"].pk}).context["form"]
    assert form.initial["starts_on"] == services.today_at(world["a"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("membership_new", world["a"]),
            {
                "plan": world["book"].pk,
                "email": "  Nouvelle@Example.org ",
                "starts_on": services.today_at(world["a"]).isoformat(),
                "note": "payé en espèces",
            },
            follow=True,
        )
    assert response.status_code == 200
    member = User.objects.get(email="nouvelle@example.org")
    membership = Membership.objects.get(user=member)
    assert response.redirect_chain[-1][0] == url("membership", world["a"], membership.pk)
    assert "An account was created for nouvelle@example.org" in response.content.decode()
    assert membership.tickets_left == 10 and membership.note == "payé en espèces"
    assert membership.granted_by == world["staff_a"]
    assert PlaceRole.objects.get(user=member, place=world["a"]).role == PlaceRole.Role.NOMAD
    assert sorted(mail.to[0] for mail in mailoutbox) == ["nouvelle@example.org"] * 2
    assert not member.has_usable_password()


def test_giving_a_plan_to_someone_with_an_account(
    client, world, mailoutbox, django_capture_on_commit_callbacks
):
    known = UserFactory(full_name="Chloé Dupont")
    client.force_login(world["manager_a"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("membership_new", world["a"]),
            {
                "plan": world["book"].pk,
                "email": known.email,
                "starts_on": services.today_at(world["a"]).isoformat(),
            },
            follow=True,
        )
    assert "Chloé Dupont now holds “Carnet 10”" in response.content.decode()
    assert [mail.to for mail in mailoutbox] == [[known.email]]


def test_a_plan_of_another_place_cannot_be_given(client, world):
    plan_c = plan_for(world["c"], actor=world["manager_c"], name="Carnet C")
    withdrawn = plan_for(world["a"], actor=world["manager_a"], name="Ancien", is_active=False)
    client.force_login(world["manager_a"])
    before = Membership.objects.count(), User.objects.count()
    for plan in (plan_c, withdrawn):
        response = client.post(
            url("membership_new", world["a"]),
            {
                "plan": plan.pk,
                "email": "someone@example.org",
                "starts_on": services.today_at(world["a"]).isoformat(),
            },
        )
        assert response.status_code == 400
        assert response.context["form"].errors["plan"]
    assert (Membership.objects.count(), User.objects.count()) == before


def test_giving_refuses_bad_input_with_400(client, world):
    client.force_login(world["manager_a"])
    today = services.today_at(world["a"])
    response = client.post(
        url("membership_new", world["a"]),
        {"plan": world["book"].pk, "email": "not an email", "starts_on": today.isoformat()},
    )
    assert response.status_code == 400 and response.context["form"].errors["email"]
    response = client.post(
        url("membership_new", world["a"]),
        {
            "plan": world["book"].pk,
            "email": "late@example.org",
            "starts_on": (today - dt.timedelta(days=500)).isoformat(),
        },
    )
    assert response.status_code == 400
    assert "more than a year ago" in " ".join(response.context["form"].errors["starts_on"])
    assert not User.objects.filter(email="late@example.org").exists()


# One membership ---------------------------------------------------------------------------------


def test_a_membership_shows_its_holder_validity_and_days(client, world):
    membership = world["membership"]
    services.checkin(place=world["b"], member=world["member_a"])
    client.force_login(world["staff_a"])
    response = client.get(url("membership", world["a"], membership.pk))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Alice Martin" in page and "Carnet 10" in page
    assert re.search(r"Tickets left</dt>\s*<dd>9</dd>", page)
    assert "Coworking B" in page  # the day spent at B with the network pass
    assert list(response.context["days"]) == list(CheckIn.objects.all())


def test_ending_a_membership(client, world):
    membership = world["membership"]
    today = services.today_at(world["a"])
    client.force_login(world["staff_a"])
    response = client.post(
        url("membership", world["a"], membership.pk),
        {"action": "end", "end-on": today.isoformat()},
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.ends_on == today and membership.ended_at is not None
    again = client.post(
        url("membership", world["a"], membership.pk),
        {"action": "end", "end-on": today.isoformat()},
    )
    assert again.status_code == 400
    assert "already ended" in " ".join(again.context["end_form"].non_field_errors())
    assert client.post(url("membership", world["a"], membership.pk)).status_code == 400


def test_adjusting_credits_of_a_month(client, world):
    sub = subscription(world["a"], world["manager_a"])
    membership = give(sub, world["member_a"])
    month = periods.month_of(services.today_at(world["a"]))
    client.force_login(world["manager_a"])
    response = client.post(
        url("membership", world["a"], membership.pk),
        {
            "action": "adjust",
            "adjust-month": month.isoformat(),
            "adjust-hours": "2.5",
            "adjust-reason": "Panne du vidéoprojecteur",
        },
    )
    assert response.status_code == 302
    row = MembershipMonth.objects.get(membership=membership, month=month)
    assert row.credit_minutes == 12 * 60 + 30
    entry = AuditEntry.objects.get(action="credits.adjust")
    assert entry.details["reason"] == "Panne du vidéoprojecteur"
    page = client.get(url("membership", world["a"], membership.pk)).content.decode()
    assert "12 h 30" in page


def test_credits_cannot_go_below_what_is_used(client, world):
    sub = subscription(world["a"], world["manager_a"])
    membership = give(sub, world["member_a"])
    month = periods.month_of(services.today_at(world["a"]))
    row = month_row(membership, month)
    MembershipMonth.objects.filter(pk=row.pk).update(credit_minutes_used=9 * 60)
    client.force_login(world["manager_a"])
    response = client.post(
        url("membership", world["a"], membership.pk),
        {
            "action": "adjust",
            "adjust-month": month.isoformat(),
            "adjust-hours": "-2",
            "adjust-reason": "Erreur",
        },
    )
    assert response.status_code == 400
    errors = " ".join(response.context["adjust_form"].errors["hours"])
    assert "cannot go below what is already used (9 h this month)" in errors
    row.refresh_from_db()
    assert row.credit_minutes == 600
    assert not AuditEntry.objects.filter(action="credits.adjust").exists()


def test_adjusting_credits_of_a_ticket_book_or_a_foreign_month_is_refused(client, world):
    membership = world["membership"]
    month = periods.month_of(services.today_at(world["a"]))
    client.force_login(world["manager_a"])
    response = client.post(
        url("membership", world["a"], membership.pk),
        {
            "action": "adjust",
            "adjust-month": month.isoformat(),
            "adjust-hours": "1",
            "adjust-reason": "x",
        },
    )
    assert response.status_code == 400
    assert "Only subscriptions" in " ".join(response.context["adjust_form"].non_field_errors())
    sub_membership = give(subscription(world["a"], world["manager_a"]), world["member_a"])
    response = client.post(
        url("membership", world["a"], sub_membership.pk),
        {
            "action": "adjust",
            "adjust-month": "1999-01-01",
            "adjust-hours": "1",
            "adjust-reason": "x",
        },
    )
    assert response.status_code == 400 and response.context["adjust_form"].errors["month"]
    assert not MembershipMonth.objects.exists()


# Attendance and exports -------------------------------------------------------------------------


def test_attendance_of_this_month_by_default(client, world):
    record = services.checkin(place=world["a"], member=world["member_a"], actor=world["staff_a"])
    services.checkout(record=record, at=record.checked_in_at + dt.timedelta(hours=2, minutes=30))
    client.force_login(world["staff_a"])
    response = client.get(url("attendance", world["a"]))
    assert response.status_code == 200
    today = services.today_at(world["a"])
    assert response.context["start"] == periods.month_of(today)
    assert response.context["summary"] == {"days": 1, "visitors": 1}
    assert list(response.context["page"]) == [record]
    page = response.content.decode()
    assert "Alice Martin" in page and "2 h 30" in page and "Ticket of a book" in page
    assert url("export", world["a"], "receipts") in page


@pytest.mark.parametrize(
    "period",
    [
        {"from": "2025-01-01", "to": "2026-03-01"},
        {"from": "2025-05-02", "to": "2025-05-01"},
        {"from": "yesterday"},
    ],
)
def test_attendance_refuses_a_bad_period(client, world, period):
    client.force_login(world["manager_a"])
    assert client.get(url("attendance", world["a"]), period).status_code == 400
    response = client.get(url("export", world["a"], "attendance"), period)
    assert response.status_code == 400


def test_exports_are_for_the_team_of_the_place(client, world):
    client.force_login(world["manager_c"])
    assert client.get(url("export", world["a"], "attendance")).status_code == 404
    client.force_login(world["member_a"])
    assert client.get(url("export", world["a"], "receipts")).status_code == 404
    client.force_login(world["staff_a"])
    assert client.get(url("export", world["a"], "passwords")).status_code == 404
    assert client.get(url("export", world["a"], "receipts")).status_code == 200


def test_attendance_csv_is_formula_safe(client, world):
    member = world["member_a"]
    member.full_name = '=HYPERLINK("http://evil")'
    member.save()
    record = services.checkin(place=world["a"], member=member)
    services.checkout(record=record, at=record.checked_in_at + dt.timedelta(minutes=90))
    client.force_login(world["staff_a"])
    response = client.get(url("export", world["a"], "attendance"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    header, row = read_csv(response)
    assert header == [
        "Day",
        "Member",
        "Email",
        "Arrival",
        "Departure",
        "Hours",
        "Paid with",
        "Plan",
        "Pass from",
    ]
    arrived = record.checked_in_at.astimezone(PARIS)
    assert row == [
        record.day.isoformat(),
        '\'=HYPERLINK("http://evil")',
        member.email,
        f"{arrived:%Y-%m-%d %H:%M}",
        f"{arrived + dt.timedelta(minutes=90):%Y-%m-%d %H:%M}",
        "1.50",
        "ticket of a book",
        "Carnet 10",
        "",
    ]


def test_receipts_csv(client, world):
    client.force_login(world["manager_a"])
    rows = read_csv(client.get(url("export", world["a"], "receipts")))
    assert rows[0] == [
        "Date",
        "Member",
        "Email",
        "Plan",
        "Kind",
        "Price",
        "Currency",
        "Granted by",
    ]
    assert rows[1:] == [
        [
            services.today_at(world["a"]).isoformat(),
            "Alice Martin",
            world["member_a"].email,
            "Carnet 10",
            "ticket book",
            "80.00",
            "EUR",
            str(world["staff_a"]),
        ]
    ]
    earlier = {"from": "2020-01-01", "to": "2020-01-31"}
    assert read_csv(client.get(url("export", world["a"], "receipts"), earlier))[1:] == []


def test_credits_csv(client, world):
    place = world["a"]
    OpeningHoursFactory(place=place)
    give(subscription(place, world["manager_a"]), world["member_a"])
    room = booking_services.resource_create(
        place=place, author=None, name="Salle Causse", kind="meeting_room", credits_per_hour=1
    )
    today = services.today_at(place)
    monday = today + dt.timedelta(days=7 - today.weekday())
    start = at_local(monday, 10)
    booking_services.booking_create(
        resource=room, booker=world["member_a"], start=start, end=start + dt.timedelta(hours=2)
    )
    client.force_login(world["staff_a"])
    period = {"from": today.isoformat(), "to": monday.isoformat()}
    rows = read_csv(client.get(url("export", place, "credits"), period))
    assert rows == [
        ["Booked slot", "Resource", "Member", "Email", "Minutes", "Given back"],
        [
            f"{start:%Y-%m-%d %H:%M}",
            "Salle Causse",
            "Alice Martin",
            world["member_a"].email,
            "120",
            "",
        ],
    ]


# The network pass ledger ------------------------------------------------------------------------


@pytest.fixture
def last_month_at_b(world):
    """Alice, with A's network ticket book, spent a day of last month at B."""
    today = timezone.localdate()
    last_month = periods.month_of(periods.month_of(today) - dt.timedelta(days=1))
    membership = world["membership"]
    Membership.objects.filter(pk=membership.pk).update(starts_on=last_month)
    record = services.checkin(
        place=world["b"],
        member=world["member_a"],
        at=at_local(last_month + dt.timedelta(days=14), 10),
    )
    return last_month, record


def test_the_ledger_shows_what_places_owe_each_other(client, world, last_month_at_b):
    last_month, record = last_month_at_b
    assert record.home_place == world["a"] and record.unit_value == Decimal("8.00")
    client.force_login(world["manager_a"])
    url = reverse("members:network_ledger", args=[world["network"].slug])
    # The month in progress by default: that line is last month's.
    current = client.get(url)
    assert current.context["month"] == periods.next_month(last_month)
    assert current.context["rows"] == []
    response = client.get(url, {"month": f"{last_month:%Y-%m}"})
    assert response.status_code == 200
    assert response.context["month"] == last_month
    assert response.context["rows"] == [
        {
            "home_place_id": world["a"].pk,
            "home_place__name": "Fablab A",
            "place_id": world["b"].pk,
            "place__name": "Coworking B",
            "days": 1,
            "members": 1,
            "value": Decimal("8.00"),
        }
    ]
    assert response.context["totals"] == {"days": 1, "value": Decimal("8.00")}
    (balance,) = response.context["balances"]
    assert (balance["payer"], balance["payee"], balance["net"]) == (
        "Fablab A",
        "Coworking B",
        Decimal("8.00"),
    )
    assert "Fablab A owes 8.00 to Coworking B" in response.content.decode()

    # B's manager sees the same line (B hosted it).
    client.force_login(world["manager_b"])
    assert len(client.get(url, {"month": f"{last_month:%Y-%m}"}).context["rows"]) == 1
    this_month = f"{timezone.localdate():%Y-%m}"
    empty = client.get(
        reverse("members:network_ledger", args=[world["network"].slug]), {"month": this_month}
    )
    assert empty.context["rows"] == [] and "No day spent elsewhere" in empty.content.decode()


def test_the_ledger_csv_and_the_place_export(client, world, last_month_at_b):
    last_month, record = last_month_at_b
    client.force_login(world["coordinator"])
    response = client.get(
        reverse("members:network_ledger", args=[world["network"].slug]),
        {"month": f"{last_month:%Y-%m}", "format": "csv"},
    )
    rows = read_csv(response)
    line = [record.day.isoformat(), "Alice Martin", "Fablab A", "Coworking B", "Carnet 10", "8.00"]
    assert rows == [["Day", "Member", "Home place", "Host place", "Plan", "Value"], line]
    client.force_login(world["manager_a"])
    end = periods.next_month(last_month) - dt.timedelta(days=1)
    period = {"from": (last_month - dt.timedelta(days=40)).isoformat(), "to": end.isoformat()}
    assert read_csv(client.get(url("export", world["a"], "ledger"), period))[1:] == [line]


def test_the_ledger_is_for_managers_of_its_places_and_coordinators(client, world):
    ledger = reverse("members:network_ledger", args=[world["network"].slug])
    assert client.get(ledger).status_code == 302
    for outsider in ("staff_a", "member_a", "manager_c"):
        client.force_login(world[outsider])
        assert client.get(ledger).status_code == 404, outsider
        assert client.get(ledger, {"format": "csv"}).status_code == 404, outsider
    client.force_login(world["coordinator"])
    assert client.get(ledger).status_code == 200
    assert client.get(ledger, {"month": "2025-13"}).status_code == 400
    assert client.get(reverse("members:network_ledger", args=["nowhere"])).status_code == 404
