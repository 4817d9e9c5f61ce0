"""Roles per place (manager, staff, resident, nomad, visitor): everyone gives only the roles
below their own (places.permissions.team_roles_grantable and the team page), and plans given to
members raise their community role without ever touching the team. The team page's basic cases
live in tests/places/test_manage.py; these are the rank rules around them."""

import re

import pytest
from django.contrib.auth.models import AnonymousUser

from maillage.accounts.models import PlaceRole, User
from maillage.members.models import Plan
from maillage.places.permissions import team_roles_grantable
from tests.factories import (
    NetworkFactory,
    PlaceFactory,
    UserFactory,
    make_coordinator,
    make_manager,
)
from tests.members.factories import give, plan_for

pytestmark = pytest.mark.django_db

EVERY_ROLE = ["manager", "staff", "resident", "nomad", "visitor"]
COMMUNITY = ["resident", "nomad", "visitor"]


def with_role(place, role, **kwargs) -> User:
    user = UserFactory(**kwargs)
    PlaceRole.objects.create(user=user, place=place, role=role)
    return user


@pytest.fixture
def place():
    place = PlaceFactory()
    place.networks.add(NetworkFactory())
    return place


@pytest.mark.parametrize(
    ("role", "grantable"),
    [
        ("manager", ["staff", *COMMUNITY]),
        ("staff", COMMUNITY),
        ("resident", []),
        ("nomad", []),
        ("visitor", []),
    ],
)
def test_each_role_gives_only_the_roles_below_it(place, role, grantable):
    assert team_roles_grantable(with_role(place, role), place) == grantable


def test_coordinators_and_superusers_give_every_role(place):
    assert team_roles_grantable(make_coordinator(place.networks.get()), place) == EVERY_ROLE
    assert team_roles_grantable(UserFactory(is_superuser=True), place) == EVERY_ROLE


def test_people_of_other_places_and_networks_give_nothing(place):
    other = PlaceFactory()
    other.networks.add(NetworkFactory())
    assert team_roles_grantable(make_manager(other), place) == []
    assert team_roles_grantable(make_coordinator(other.networks.get()), place) == []
    assert team_roles_grantable(UserFactory(), place) == []
    assert team_roles_grantable(AnonymousUser(), place) == []
    assert team_roles_grantable(with_role(place, "manager", is_active=False), place) == []


def offered_roles(page: str) -> list[str]:
    select = re.search(r'<select name="role".*?</select>', page, re.S).group(0)
    return [value for value in re.findall(r'<option value="([^"]*)"', select) if value]


@pytest.mark.parametrize(
    ("role", "offered"), [("manager", ["staff", *COMMUNITY]), ("staff", COMMUNITY)]
)
def test_the_team_page_offers_only_the_roles_below_ones_own(client, place, role, offered):
    client.force_login(with_role(place, role))
    response = client.get(f"/places/{place.slug}/team/")
    assert response.status_code == 200
    assert offered_roles(response.content.decode()) == offered


@pytest.mark.parametrize("wanted", ["manager", "staff"])
def test_staff_cannot_give_a_role_at_or_above_their_own(client, place, wanted):
    client.force_login(with_role(place, "staff"))
    newcomer = UserFactory(email="jeanne@example.org")
    response = client.post(
        f"/places/{place.slug}/team/",
        {"action": "grant", "email": "jeanne@example.org", "role": wanted},
    )
    assert response.status_code == 400
    assert not PlaceRole.objects.filter(user=newcomer).exists()


def test_staff_cannot_change_a_fellow_staff_member_or_themself(client, place):
    staff = with_role(place, "staff")
    fellow = with_role(place, "staff", email="fellow@example.org")
    client.force_login(staff)
    for email in ("fellow@example.org", staff.email):
        response = client.post(
            f"/places/{place.slug}/team/", {"action": "grant", "email": email, "role": "visitor"}
        )
        assert response.status_code == 400
    assert PlaceRole.objects.get(user=fellow).role == "staff"
    assert PlaceRole.objects.get(user=staff).role == "staff"


def test_staff_remove_community_roles_but_not_the_managers(client, place):
    manager_role = PlaceRole.objects.get(user=make_manager(place), place=place)
    nomad_role = PlaceRole.objects.get(user=with_role(place, "nomad"), place=place)
    client.force_login(with_role(place, "staff"))
    url = f"/places/{place.slug}/team/"
    assert client.post(url, {"action": "revoke", "role_id": manager_role.pk}).status_code == 404
    assert client.post(url, {"action": "revoke", "role_id": nomad_role.pk}).status_code == 302
    assert PlaceRole.objects.filter(pk=manager_role.pk).exists()
    assert not PlaceRole.objects.filter(pk=nomad_role.pk).exists()


def test_staff_invite_an_unknown_email_and_a_plan_raises_the_role_later(
    client, place, django_capture_on_commit_callbacks, mailoutbox
):
    staff = with_role(place, "staff", language="ca")
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/places/{place.slug}/team/",
            {"action": "grant", "email": "Convidada@Example.org", "role": "visitor"},
        )
    assert response.status_code == 302
    invited = User.objects.get(email="convidada@example.org")
    assert (invited.has_usable_password(), invited.language) == (False, "ca")
    assert PlaceRole.objects.get(user=invited, place=place).role == "visitor"
    assert mailoutbox[0].to == [invited.email]
    plan = plan_for(place, name="Résident", kind=Plan.Kind.SUBSCRIPTION)
    give(plan, invited, actor=staff)
    assert PlaceRole.objects.get(user=invited, place=place).role == "resident"


def test_a_plan_given_by_staff_never_lowers_or_raises_a_team_role(place):
    staff = with_role(place, "staff")
    manager = make_manager(place)
    book = plan_for(place)
    for member in (staff, manager):
        give(book, member, actor=staff)
    assert PlaceRole.objects.get(user=staff, place=place).role == "staff"
    assert PlaceRole.objects.get(user=manager, place=place).role == "manager"
    # At another place the same people get the community role of the plan.
    elsewhere = plan_for(PlaceFactory())
    give(elsewhere, staff)
    assert PlaceRole.objects.get(user=staff, place=elsewhere.place).role == "nomad"
