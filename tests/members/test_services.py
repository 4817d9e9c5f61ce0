"""Plans, memberships, check-in and check-out through the services (maillage.members.services):
what is refused with nothing written, what each right pays with, and the network ledger."""

import datetime as dt
import re
import zoneinfo
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.utils import formats, timezone, translation

from maillage.accounts.models import PlaceRole, User
from maillage.accounts.services import INVITATION_SUBJECT
from maillage.core.models import AuditEntry
from maillage.members import periods, selectors, services
from maillage.members.models import CheckIn, Membership, MembershipMonth, Plan
from maillage.members.services import CheckInRefused
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
def _english():
    """Refusal messages are asserted in English (the catalogs may translate them)."""
    with translation.override("en"):
        yield


@pytest.fixture
def network():
    """Three places of one network: `home` sells passes, `host` and `third` receive."""
    net = NetworkFactory()
    home, host, third = PlaceFactory(name="Causse"), PlaceFactory(name="Aubrac"), PlaceFactory()
    for place in (home, host, third):
        place.networks.add(net)
    return home, host, third


def staff_of(place, **kwargs) -> User:
    user = UserFactory(**kwargs)
    PlaceRole.objects.create(user=user, place=place, role=PlaceRole.Role.STAFF)
    return user


def noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=PARIS)


def today() -> dt.date:
    return timezone.now().astimezone(PARIS).date()


def next_month_first() -> dt.date:
    return periods.next_month(periods.month_of(today()))


def subscription(place, **data) -> Plan:
    data.setdefault("name", "Résident")
    data.setdefault("price", Decimal("200.00"))
    return plan_for(place, kind=Plan.Kind.SUBSCRIPTION, **data)


def refused(**kwargs) -> CheckInRefused:
    with pytest.raises(CheckInRefused) as caught:
        services.checkin(**kwargs)
    return caught.value


# Plans ----------------------------------------------------------------------------------------


def test_a_manager_creates_a_plan_and_it_is_audited():
    place = PlaceFactory()
    manager = make_manager(place)
    plan = services.plan_save(
        place=place,
        actor=manager,
        data={"name": "Carnet 10", "kind": "ticket_book", "tickets": 10, "price": "80.00"},
    )
    assert (plan.place, plan.tickets, plan.price) == (place, 10, Decimal("80.00"))
    entry = AuditEntry.objects.get(action="plan.create")
    assert (entry.actor, entry.place, entry.target_id) == (manager, place, str(plan.pk))
    assert entry.details["tickets"] == ["None", "10"]


def test_changing_a_plan_audits_only_what_changed():
    place = PlaceFactory()
    manager = make_manager(place)
    plan = plan_for(place, actor=manager)
    services.plan_save(place=place, actor=manager, plan=plan, data={"price": Decimal("90.00")})
    entry = AuditEntry.objects.get(action="plan.update")
    assert entry.details == {"price": ["80.00", "90.00"]}
    assert Plan.objects.get(pk=plan.pk).price == Decimal("90.00")


def test_a_day_pass_is_valid_one_day_unless_told_otherwise():
    plan = plan_for(kind=Plan.Kind.DAY_PASS, name="Journée", price=Decimal("15"))
    assert plan.valid_days == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "ticket_book", "tickets": None}, "tickets"),
        ({"kind": "ticket_book", "tickets": 0}, "tickets"),
        ({"kind": "subscription", "tickets": 5}, "tickets"),
        ({"kind": "day_pass", "tickets": 1}, "tickets"),
        ({"kind": "ticket_book", "credit_hours": 4, "resource_kinds": ["desk"]}, "credit_hours"),
        ({"kind": "day_pass", "days_per_month": 3}, "days_per_month"),
        ({"kind": "subscription", "credit_hours": 4}, "resource_kinds"),
        ({"kind": "subscription", "credit_hours": 4, "resource_kinds": ["spa"]}, "resource_kinds"),
        ({"kind": "ticket_book", "price": Decimal("-1")}, "price"),
        ({"kind": "subscription", "price": Decimal("-0.01")}, "price"),
        ({"kind": "nothing", "tickets": None}, "kind"),
        ({"kind": "ticket_book", "valid_days": 0}, "valid_days"),
    ],
)
def test_inconsistent_plans_are_refused_and_nothing_is_written(data, field):
    place = PlaceFactory()
    manager = make_manager(place)
    data = {"name": "Essai", "tickets": 10, "valid_days": 365, **data}
    with pytest.raises(ValidationError) as caught:
        services.plan_save(place=place, actor=manager, data=data)
    assert field in caught.value.message_dict
    assert not Plan.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="plan.").exists()


def test_a_plan_valid_in_the_network_needs_a_network():
    place = PlaceFactory()
    with pytest.raises(ValidationError) as caught:
        plan_for(place, network_wide=True)
    assert "network_wide" in caught.value.message_dict
    assert not Plan.objects.exists()


def test_chosen_places_must_share_a_network_and_need_a_network_plan(network):
    home, host, _third = network
    elsewhere = PlaceFactory()
    elsewhere.networks.add(NetworkFactory())
    for data in (
        {"network_wide": True, "valid_places": [host, elsewhere]},
        {"network_wide": False, "valid_places": [host]},
    ):
        with pytest.raises(ValidationError) as caught:
            plan_for(home, **data)
        assert "valid_places" in caught.value.message_dict
    assert not Plan.objects.exists()
    plan = plan_for(home, network_wide=True, valid_places=[host])
    assert list(plan.valid_places.all()) == [host]


def test_only_managers_and_coordinators_save_plans(network):
    home, host, _third = network
    data = {"name": "Carnet", "kind": "ticket_book", "tickets": 10}
    resident = UserFactory()
    PlaceRole.objects.create(user=resident, place=home, role=PlaceRole.Role.RESIDENT)
    for stranger in (staff_of(home), make_manager(host), resident, UserFactory()):
        with pytest.raises(PermissionError):
            services.plan_save(place=home, actor=stranger, data=data)
    assert not Plan.objects.exists()
    assert not AuditEntry.objects.exists()
    coordinator = make_coordinator(home.networks.get())
    assert services.plan_save(place=home, actor=coordinator, data=data).place == home


def test_another_places_plan_cannot_be_changed_through_ones_own_place(network):
    home, host, _third = network
    theirs = plan_for(host)
    manager = make_manager(home)
    with pytest.raises(PermissionError):
        services.plan_save(place=home, actor=manager, plan=theirs, data={"price": Decimal("1")})
    assert Plan.objects.get(pk=theirs.pk).price == Decimal("80.00")


def test_the_kind_of_a_plan_members_hold_cannot_change():
    plan = plan_for()
    give(plan)
    with pytest.raises(ValidationError) as caught:
        services.plan_save(
            place=plan.place,
            actor=make_manager(plan.place),
            plan=plan,
            data={"kind": "day_pass", "tickets": None},
        )
    assert "kind" in caught.value.message_dict
    assert Plan.objects.get(pk=plan.pk).kind == Plan.Kind.TICKET_BOOK


# Memberships ----------------------------------------------------------------------------------


def invitation_link(body: str) -> str:
    return re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", body).group(1)


def test_an_unknown_email_gets_an_account_an_invitation_and_the_plan(
    client, settings, django_capture_on_commit_callbacks, mailoutbox
):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    plan = plan_for(name="Carnet Aubrac")
    staff = staff_of(plan.place, language="es")
    with django_capture_on_commit_callbacks(execute=True):
        membership = give(plan, "Nouvelle.Venue@Example.org", actor=staff)
    member = User.objects.get(email="nouvelle.venue@example.org")
    assert membership.user == member and membership.tickets_left == 10
    assert not member.has_usable_password()
    assert member.language == "es"
    address = EmailAddress.objects.get(user=member)
    assert (address.email, address.primary, address.verified) == (member.email, True, False)
    invitation, welcome = mailoutbox
    assert invitation.to == welcome.to == [member.email]
    with translation.override("es"):
        assert str(INVITATION_SUBJECT) in invitation.subject
        assert formats.date_format(membership.starts_on, "DATE_FORMAT") in welcome.body
    assert "Carnet Aubrac" in welcome.body
    assert AuditEntry.objects.filter(action="account.invite", actor=staff).exists()

    # The link of the invitation lets the person choose a password, which proves the address.
    response = client.get(invitation_link(invitation.body))
    assert response.status_code == 302
    response = client.post(
        response["Location"],
        {"password1": "une phrase de passe longue", "password2": "une phrase de passe longue"},
    )
    assert response.status_code == 302, response.content[:500]
    assert EmailAddress.objects.get(user=member).verified
    client.logout()
    response = client.post(
        "/accounts/login/", {"login": member.email, "password": "une phrase de passe longue"}
    )
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == member.pk


def test_the_membership_email_is_in_the_members_language(
    django_capture_on_commit_callbacks, mailoutbox
):
    plan = plan_for()
    staff = staff_of(plan.place, language="fr")
    member = UserFactory(language="en")
    starts_on = today() + dt.timedelta(days=40)
    with django_capture_on_commit_callbacks(execute=True):
        give(plan, member, actor=staff, starts_on=starts_on)
    (email,) = mailoutbox
    with translation.override("en"):
        assert formats.date_format(starts_on, "DATE_FORMAT") in email.body
    with translation.override("fr"):
        assert formats.date_format(starts_on, "DATE_FORMAT") not in email.body


def test_a_grant_records_price_validity_and_an_audit_entry():
    plan = plan_for(tickets=5, valid_days=30, price=Decimal("50.00"))
    staff = staff_of(plan.place)
    member = UserFactory()
    starts_on = today() - dt.timedelta(days=10)
    membership = give(plan, member, actor=staff, starts_on=starts_on)
    membership.refresh_from_db()
    assert (membership.starts_on, membership.ends_on) == (
        starts_on,
        starts_on + dt.timedelta(days=29),
    )
    assert (membership.tickets_left, membership.price, membership.granted_by) == (
        5,
        Decimal("50.00"),
        staff,
    )
    entry = AuditEntry.objects.get(action="membership.grant")
    assert entry.details == {"member": member.email, "plan": plan.name, "price": "50.00"}


def test_plans_raise_a_community_role_and_never_lower_one():
    place = PlaceFactory()
    pass_, book = plan_for(place, kind="day_pass", name="Jour"), plan_for(place)
    sub = subscription(place)
    member = UserFactory()

    def role():
        return PlaceRole.objects.get(user=member, place=place).role

    give(pass_, member)
    assert role() == "visitor"
    give(book, member)
    assert role() == "nomad"
    give(sub, member)
    assert role() == "resident"
    give(pass_, member)
    give(book, member)
    assert role() == "resident"


@pytest.mark.parametrize("team_role", ["manager", "staff"])
def test_a_plan_never_touches_a_team_role(team_role):
    plan = subscription(PlaceFactory())
    member = UserFactory()
    PlaceRole.objects.create(user=member, place=plan.place, role=team_role)
    give(plan, member)
    assert PlaceRole.objects.get(user=member, place=plan.place).role == team_role


def test_a_withdrawn_plan_a_closed_account_or_an_old_start_is_refused():
    plan = plan_for()
    staff = staff_of(plan.place)
    closed = UserFactory(is_active=False)
    with pytest.raises(ValidationError):
        give(plan, closed, actor=staff)
    with pytest.raises(ValidationError):
        give(plan, UserFactory(), actor=staff, starts_on=today() - dt.timedelta(days=400))
    Plan.objects.filter(pk=plan.pk).update(is_active=False)
    plan.refresh_from_db()
    with pytest.raises(ValidationError):
        give(plan, "someone@example.org", actor=staff)
    assert not Membership.objects.exists()
    assert not User.objects.filter(email="someone@example.org").exists()
    assert not PlaceRole.objects.exclude(role__in=PlaceRole.TEAM).exists()


def test_only_the_team_gives_plans():
    plan = plan_for()
    member = UserFactory()
    PlaceRole.objects.create(user=member, place=plan.place, role=PlaceRole.Role.RESIDENT)
    for actor in (member, make_manager(PlaceFactory())):
        with pytest.raises(PermissionError):
            give(plan, UserFactory(), actor=actor)
    assert not Membership.objects.exists()


def test_an_ended_membership_no_longer_lets_in():
    plan = plan_for()
    membership = give(plan)
    staff = staff_of(plan.place)
    services.membership_end(membership=membership, actor=staff, on=today())
    assert AuditEntry.objects.filter(action="membership.end").exists()
    with pytest.raises(ValidationError):
        services.membership_end(membership=membership, actor=staff, on=today())
    error = refused(
        place=plan.place, member=membership.user, at=noon(today() + dt.timedelta(days=1))
    )
    assert error.reason == "nothing_valid" and "expired on" in error.message


# Check-in: what pays for the day -------------------------------------------------------------


def test_a_ticket_is_spent_and_the_count_comes_back():
    plan = plan_for(tickets=3)
    membership = give(plan)
    record = services.checkin(place=plan.place, member=membership.user)
    assert (record.consumed, record.membership, record.tickets_left) == ("ticket", membership, 2)
    assert record.home_place is None and record.unit_value is None
    assert record.day == today()
    assert Membership.objects.get(pk=membership.pk).tickets_left == 2


@pytest.mark.parametrize(
    ("zone", "day"), [("Europe/Paris", 2), ("UTC", 1), ("America/Santiago", 1)]
)
def test_the_day_of_a_check_in_is_the_places_local_day(zone, day):
    place = PlaceFactory(time_zone=zone)
    staff = staff_of(place)
    year = today().year + 1
    at = dt.datetime(year, 1, 1, 23, 30, tzinfo=dt.UTC)
    assert services.checkin(place=place, member=staff, at=at).day == dt.date(year, 1, day)


def test_an_own_subscription_is_used_before_tickets():
    place = PlaceFactory()
    member = UserFactory()
    book = give(plan_for(place), member)
    sub = give(subscription(place), member)
    record = services.checkin(place=place, member=member)
    assert (record.consumed, record.membership) == ("subscription", sub)
    assert Membership.objects.get(pk=book.pk).tickets_left == 10


def test_an_own_book_is_used_before_a_network_pass(network):
    home, host, _third = network
    member = UserFactory()
    network_book = give(plan_for(home, network_wide=True), member)
    own_book = give(plan_for(host), member)
    record = services.checkin(place=host, member=member)
    assert (record.membership, record.home_place) == (own_book, None)
    assert Membership.objects.get(pk=network_book.pk).tickets_left == 10


def test_the_book_that_expires_first_is_used_first():
    place = PlaceFactory()
    member = UserFactory()
    later = give(plan_for(place, name="Annuel", tickets=1, valid_days=365), member)
    sooner = give(plan_for(place, name="Mensuel", tickets=1, valid_days=30), member)
    first = services.checkin(place=place, member=member)
    second = services.checkin(place=place, member=member, at=noon(today() + dt.timedelta(days=1)))
    assert (first.membership, second.membership) == (sooner, later)
    error = refused(place=place, member=member, at=noon(today() + dt.timedelta(days=2)))
    assert error.reason == "nothing_valid" and "no tickets left" in error.message


def test_a_day_pass_for_today_is_used_before_a_book_that_lasts():
    place = PlaceFactory()
    member = UserFactory()
    book = give(plan_for(place), member)
    day_pass = give(plan_for(place, kind="day_pass", name="Journée", price=Decimal(15)), member)
    record = services.checkin(place=place, member=member)
    assert (record.consumed, record.membership, record.tickets_left) == ("day_pass", day_pass, 0)
    assert Membership.objects.get(pk=book.pk).tickets_left == 10


def test_a_day_pass_is_valid_on_its_day_only():
    plan = plan_for(kind="day_pass", name="Journée", price=Decimal(15))
    membership = give(plan, starts_on=today() + dt.timedelta(days=1))
    early = refused(place=plan.place, member=membership.user)
    assert early.reason == "nothing_valid" and "starts on" in early.message
    record = services.checkin(
        place=plan.place, member=membership.user, at=noon(today() + dt.timedelta(days=1))
    )
    assert record.consumed == "day_pass"
    late = refused(place=plan.place, member=membership.user, at=noon(today() + dt.timedelta(2)))
    assert late.reason == "nothing_valid" and "expired on" in late.message


def test_a_free_membership_lets_in_without_spending_anything():
    plan = plan_for(kind="free", name="Adhésion", price=Decimal(0))
    membership = give(plan)
    record = services.checkin(place=plan.place, member=membership.user)
    assert (record.consumed, record.membership) == ("free", membership)
    assert not MembershipMonth.objects.exists()


def test_the_team_needs_no_plan():
    place = PlaceFactory()
    staff = staff_of(place)
    record = services.checkin(place=place, member=staff, actor=staff)
    assert (record.consumed, record.membership) == ("team", None)
    assert not AuditEntry.objects.filter(action="checkin.by_team").exists()


def test_days_of_a_subscription_run_out_within_the_month_and_renew_the_next():
    place = PlaceFactory()
    first = next_month_first()
    membership = give(subscription(place, days_per_month=2), starts_on=first)
    member = membership.user
    for offset in (0, 1):
        services.checkin(place=place, member=member, at=noon(first + dt.timedelta(days=offset)))
    error = refused(place=place, member=member, at=noon(first + dt.timedelta(days=2)))
    assert error.reason == "used_up"
    assert "Nothing is left on your plans" in error.message
    assert CheckIn.objects.filter(user=member).count() == 2
    row = MembershipMonth.objects.get(membership=membership)
    assert (row.month, row.days, row.days_used) == (first, 2, 2)
    # The next month brings its days again.
    following = periods.next_month(first)
    services.checkin(place=place, member=member, at=noon(following))
    assert MembershipMonth.objects.get(membership=membership, month=following).days_used == 1


def test_days_run_out_then_a_ticket_book_takes_over():
    place = PlaceFactory()
    first = next_month_first()
    member = UserFactory()
    give(subscription(place, days_per_month=1), member, starts_on=first)
    book = give(plan_for(place), member, starts_on=first)
    services.checkin(place=place, member=member, at=noon(first))
    record = services.checkin(place=place, member=member, at=noon(first + dt.timedelta(days=1)))
    assert (record.consumed, record.membership, record.tickets_left) == ("ticket", book, 9)


def test_days_added_to_a_subscription_in_the_middle_of_a_month_do_not_lock_members_out():
    """A month's row written while the plan had no day limit (by a booking's credits) keeps
    that month unlimited; the new limit counts from the next month."""
    place = PlaceFactory()
    first = next_month_first()
    plan = subscription(place, credit_hours=2, resource_kinds=["desk"])
    membership = give(plan, starts_on=first)
    services.credits_adjust(
        membership=membership, month=first, hours_delta=Decimal(1), actor=staff_of(place)
    )
    services.plan_save(
        place=place, actor=make_manager(place), plan=plan, data={"days_per_month": 1}
    )
    for offset in (0, 1):
        record = services.checkin(
            place=place, member=membership.user, at=noon(first + dt.timedelta(days=offset))
        )
        assert record.consumed == "subscription"
    following = periods.next_month(first)
    services.checkin(place=place, member=membership.user, at=noon(following))
    error = refused(place=place, member=membership.user, at=noon(following + dt.timedelta(days=1)))
    assert error.reason == "used_up"


def test_days_removed_from_a_subscription_count_from_the_next_month():
    place = PlaceFactory()
    first = next_month_first()
    plan = subscription(place, days_per_month=1)
    membership = give(plan, starts_on=first)
    member = membership.user
    services.checkin(place=place, member=member, at=noon(first))
    services.plan_save(
        place=place, actor=make_manager(place), plan=plan, data={"days_per_month": None}
    )
    error = refused(place=place, member=member, at=noon(first + dt.timedelta(days=1)))
    assert error.reason == "used_up"
    following = periods.next_month(first)
    for offset in range(3):
        services.checkin(place=place, member=member, at=noon(following + dt.timedelta(offset)))
    # An undo gives back only what was counted.
    staff = staff_of(place)
    for record in CheckIn.objects.filter(user=member):
        services.checkin_undo(record=record, actor=staff)
    rows = MembershipMonth.objects.filter(membership=membership).order_by("month")
    assert [(row.days, row.days_used) for row in rows] == [(1, 0), (None, 0)]


# Check-in: refusals ---------------------------------------------------------------------------


def test_an_expired_book_is_refused_with_its_date():
    plan = plan_for(valid_days=10)
    membership = give(plan, starts_on=today() - dt.timedelta(days=20))
    error = refused(place=plan.place, member=membership.user)
    assert error.reason == "nothing_valid"
    assert "“Carnet 10” expired on" in error.message
    assert formats.date_format(membership.ends_on) in error.message
    assert not CheckIn.objects.exists()


def test_a_book_not_yet_started_is_refused_with_its_date():
    plan = plan_for()
    membership = give(plan, starts_on=today() + dt.timedelta(days=3))
    error = refused(place=plan.place, member=membership.user)
    assert error.reason == "nothing_valid"
    assert "starts on " + formats.date_format(membership.starts_on) in error.message
    assert Membership.objects.get(pk=membership.pk).tickets_left == 10


def test_an_empty_book_is_refused():
    plan = plan_for(tickets=1)
    membership = give(plan)
    services.checkin(place=plan.place, member=membership.user)
    error = refused(
        place=plan.place, member=membership.user, at=noon(today() + dt.timedelta(days=1))
    )
    assert error.reason == "nothing_valid" and "has no tickets left" in error.message
    assert CheckIn.objects.count() == 1


def test_nothing_at_all_is_refused():
    place = PlaceFactory()
    error = refused(place=place, member=UserFactory())
    assert error.reason == "nothing_valid" and "No valid plan for this place" in error.message


def test_a_closed_account_is_refused():
    plan = plan_for()
    membership = give(plan)
    User.objects.filter(pk=membership.user_id).update(is_active=False)
    membership.user.refresh_from_db()
    assert refused(place=plan.place, member=membership.user).reason == "closed_account"
    assert Membership.objects.get(pk=membership.pk).tickets_left == 10


def test_a_second_check_in_the_same_day_is_refused_and_spends_nothing():
    plan = plan_for()
    membership = give(plan)
    arrival = noon(today())
    services.checkin(place=plan.place, member=membership.user, at=arrival)
    error = refused(place=plan.place, member=membership.user, at=arrival + dt.timedelta(hours=3))
    assert error.reason == "already_checked_in"
    assert "(at 12:00)" in error.message
    assert Membership.objects.get(pk=membership.pk).tickets_left == 9
    assert CheckIn.objects.count() == 1


def test_a_pass_of_a_place_outside_the_network_is_not_valid_here(network):
    home, host, third = network
    local_only = plan_for(home)
    member = UserFactory()
    give(local_only, member)
    assert refused(place=host, member=member).reason == "nothing_valid"
    chosen = give(plan_for(home, name="Pass Aubrac", network_wide=True, valid_places=[host]))
    error = refused(place=third, member=chosen.user)
    assert error.reason == "nothing_valid"
    assert "“Pass Aubrac” from Causse is not valid at this place" in error.message
    assert services.checkin(place=host, member=chosen.user).home_place == home
    assert Membership.objects.get(pk=chosen.pk).tickets_left == 9


def test_a_network_pass_is_not_valid_in_another_network(network):
    home, _host, _third = network
    outsider = PlaceFactory()
    outsider.networks.add(NetworkFactory())
    membership = give(plan_for(home, network_wide=True))
    error = refused(place=outsider, member=membership.user)
    assert error.reason == "nothing_valid" and "is not valid at this place" in error.message


def test_the_team_checks_people_in_and_strangers_cannot():
    plan = plan_for()
    membership = give(plan)
    with pytest.raises(PermissionError):
        services.checkin(place=plan.place, member=membership.user, actor=UserFactory())
    staff = staff_of(plan.place)
    record = services.checkin(place=plan.place, member=membership.user, actor=staff)
    assert record.checked_in_by == staff
    entry = AuditEntry.objects.get(action="checkin.by_team")
    assert entry.details == {"member": membership.user.email, "consumed": "ticket"}


# Undo, network ledger -------------------------------------------------------------------------


def test_undo_gives_back_the_ticket_or_the_day():
    place = PlaceFactory()
    first = next_month_first()
    staff = staff_of(place)
    book = give(plan_for(place))
    sub = give(subscription(place, days_per_month=3), starts_on=first)
    by_ticket = services.checkin(place=place, member=book.user)
    by_day = services.checkin(place=place, member=sub.user, at=noon(first))
    with pytest.raises(PermissionError):
        services.checkin_undo(record=by_ticket, actor=book.user)
    services.checkin_undo(record=by_ticket, actor=staff)
    services.checkin_undo(record=by_day, actor=staff)
    assert not CheckIn.objects.exists()
    assert Membership.objects.get(pk=book.pk).tickets_left == 10
    assert MembershipMonth.objects.get(membership=sub).days_used == 0
    assert AuditEntry.objects.filter(action="checkin.undo").count() == 2
    # The day can be checked in again, and spends again.
    again = services.checkin(place=place, member=book.user)
    assert again.tickets_left == 9


def test_a_network_pass_writes_a_ledger_line_with_the_value_of_a_day(network):
    home, host, _third = network
    book = give(plan_for(home, network_wide=True, tickets=10, price=Decimal("85.00")))
    record = services.checkin(place=host, member=book.user)
    record.refresh_from_db()
    assert (record.home_place, record.place, record.consumed) == (home, host, "ticket")
    assert record.unit_value == Decimal("8.50")
    sub = give(
        subscription(home, network_wide=True, days_per_month=8, price=Decimal("100.00")),
        starts_on=next_month_first(),
    )
    record = services.checkin(place=host, member=sub.user, at=noon(next_month_first()))
    assert (record.home_place, record.unit_value) == (home, Decimal("12.50"))
    # At its own place the same pass writes no ledger line.
    assert services.checkin(place=home, member=book.user).home_place is None


def test_the_ledger_counts_days_members_and_value_per_pair_of_places(network):
    home, host, third = network
    first = next_month_first()
    book = plan_for(home, network_wide=True, tickets=10, price=Decimal("80.00"))
    their_book = plan_for(host, network_wide=True, tickets=4, price=Decimal("50.00"))
    ann, bob, cid = UserFactory(), UserFactory(), UserFactory()
    for member in (ann, bob):
        give(book, member, starts_on=first)
    give(their_book, cid, starts_on=first)
    services.checkin(place=host, member=ann, at=noon(first))
    services.checkin(place=host, member=ann, at=noon(first + dt.timedelta(days=1)))
    services.checkin(place=host, member=bob, at=noon(first + dt.timedelta(days=2)))
    services.checkin(place=home, member=cid, at=noon(first + dt.timedelta(days=3)))
    services.checkin(place=third, member=cid, at=noon(first + dt.timedelta(days=4)))
    # Next month's line is not this month's.
    services.checkin(place=host, member=bob, at=noon(periods.next_month(first)))
    lines = {
        (line["home_place_id"], line["place_id"]): (line["days"], line["members"], line["value"])
        for line in selectors.ledger(places=[home], month=first + dt.timedelta(days=10))
    }
    assert lines == {
        (home.pk, host.pk): (3, 2, Decimal("24.00")),
        (host.pk, home.pk): (1, 1, Decimal("12.50")),
    }
    assert len(selectors.ledger(places=[third], month=first)) == 1
    assert selectors.ledger_lines(places=[home], month=first).count() == 4
    assert selectors.ledger(places=[home], month=periods.next_month(first))[0]["days"] == 1


# Check-out, closing time ----------------------------------------------------------------------


def test_checkout_is_recorded_once_and_never_before_arrival():
    place = PlaceFactory()
    staff = staff_of(place)
    record = services.checkin(place=place, member=staff, at=noon(today()))
    services.checkout(record=record, at=noon(today()) - dt.timedelta(hours=1))
    assert CheckIn.objects.get().checked_out_at == noon(today())
    with pytest.raises(ValidationError):
        services.checkout(record=record)
    other = give(plan_for(place))
    with pytest.raises(PermissionError):
        services.checkout(
            record=services.checkin(place=place, member=other.user), actor=UserFactory()
        )


def monday_after(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=7 - day.weekday())


def test_closing_time_is_the_last_closing_of_the_day_or_midnight():
    place = PlaceFactory(time_zone="Europe/Paris")
    OpeningHoursFactory(place=place, weekday=0, opens=dt.time(9), closes=dt.time(12))
    OpeningHoursFactory(place=place, weekday=0, opens=dt.time(14), closes=dt.time(18, 30))
    place.refresh_from_db()
    monday = monday_after(today())
    assert services.closing_time(place, monday) == dt.datetime.combine(
        monday, dt.time(18, 30), tzinfo=PARIS
    )
    tuesday = monday + dt.timedelta(days=1)
    assert services.closing_time(place, tuesday) == periods.local_midnight(
        tuesday + dt.timedelta(days=1), PARIS
    )


def test_checkout_at_closing_leaves_people_at_closing_time_or_at_midnight():
    place = PlaceFactory(time_zone="Europe/Paris")
    OpeningHoursFactory(place=place, weekday=0, opens=dt.time(9), closes=dt.time(18))
    place.refresh_from_db()
    monday = monday_after(today())
    at = lambda hour: dt.datetime.combine(monday, dt.time(hour), tzinfo=PARIS)  # noqa: E731
    day_worker, night_owl, gone = staff_of(place), staff_of(place), staff_of(place)
    worked = services.checkin(place=place, member=day_worker, at=at(10))
    late = services.checkin(place=place, member=night_owl, at=at(19))
    left = services.checkin(place=place, member=gone, at=at(9))
    services.checkout(record=left, at=at(11))
    assert services.checkout_at_closing(now=at(17)) == 0
    assert services.checkout_at_closing(now=at(18)) == 1
    worked.refresh_from_db()
    assert (worked.checked_out_at, worked.auto_checked_out) == (at(18), True)
    midnight = periods.local_midnight(monday + dt.timedelta(days=1), PARIS)
    assert services.checkout_at_closing(now=midnight - dt.timedelta(minutes=1)) == 0
    assert services.checkout_at_closing(now=midnight) == 1
    late.refresh_from_db()
    assert (late.checked_out_at, late.auto_checked_out) == (midnight, True)
    left.refresh_from_db()
    assert (left.checked_out_at, left.auto_checked_out) == (at(11), False)
    assert services.checkout_at_closing(now=midnight + dt.timedelta(days=3)) == 0
