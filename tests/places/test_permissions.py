"""Who may edit places and moderate proposals."""

import pytest
from django.contrib.auth.models import AnonymousUser

from maillage.accounts.models import PlaceRole
from maillage.places import permissions
from maillage.places.models import PlaceProposal
from tests.factories import (
    NetworkFactory,
    PlaceFactory,
    UserFactory,
    make_coordinator,
    make_manager,
)

pytestmark = pytest.mark.django_db


def test_a_manager_edits_their_place_and_not_another():
    place_a, place_b = PlaceFactory(), PlaceFactory()
    manager = make_manager(place_a)

    assert permissions.can_edit_place(manager, place_a)
    assert not permissions.can_edit_place(manager, place_b)
    assert permissions.can_read_history(manager, place_a)
    assert not permissions.can_read_history(manager, place_b)


@pytest.mark.parametrize("role", [PlaceRole.Role.STAFF, PlaceRole.Role.RESIDENT])
def test_staff_and_members_of_a_place_do_not_edit_it(role):
    place = PlaceFactory()
    user = UserFactory()
    PlaceRole.objects.create(user=user, place=place, role=role)

    assert not permissions.can_edit_place(user, place)


def test_a_coordinator_edits_the_places_of_their_network_only():
    network, other_network = NetworkFactory(), NetworkFactory()
    member, outsider, unattached = PlaceFactory(), PlaceFactory(), PlaceFactory()
    member.networks.add(network)
    outsider.networks.add(other_network)
    coordinator = make_coordinator(network)

    assert permissions.can_edit_place(coordinator, member)
    assert not permissions.can_edit_place(coordinator, outsider)
    assert not permissions.can_edit_place(coordinator, unattached)
    assert permissions.is_coordinator(coordinator)
    assert permissions.is_coordinator(coordinator, network)
    assert not permissions.is_coordinator(coordinator, other_network)


def test_anonymous_and_inactive_people_edit_nothing():
    place = PlaceFactory()
    network = NetworkFactory()
    place.networks.add(network)
    inactive_manager = make_manager(place, is_active=False)
    inactive_coordinator = make_coordinator(network, is_active=False)
    inactive_superuser = UserFactory(is_superuser=True, is_active=False)
    proposal(network=network)
    proposal()

    for user in (AnonymousUser(), None, inactive_manager, inactive_coordinator, inactive_superuser):
        assert not permissions.can_edit_place(user, place)
        assert not permissions.is_coordinator(user)
        assert not permissions.moderatable_proposals(user).exists()


def test_a_superuser_edits_every_place():
    assert permissions.can_edit_place(UserFactory(is_superuser=True), PlaceFactory())


def proposal(network=None, place=None):
    kind = PlaceProposal.Kind.CORRECTION if place else PlaceProposal.Kind.NEW
    return PlaceProposal.objects.create(
        kind=kind, network=network, place=place, payload={"name": "x"}, proposer_email="a@b.org"
    )


def test_a_coordinator_moderates_their_network_and_orphan_proposals():
    network_n, network_m = NetworkFactory(), NetworkFactory()
    place_in_n, place_in_m, lone_place = PlaceFactory(), PlaceFactory(), PlaceFactory()
    place_in_n.networks.add(network_n)
    place_in_m.networks.add(network_m)
    coordinator = make_coordinator(network_n)

    for_n = proposal(network=network_n)
    correction_in_n = proposal(place=place_in_n)
    orphan = proposal()
    correction_of_a_lone_place = proposal(place=lone_place)
    for_m = proposal(network=network_m)
    correction_in_m = proposal(place=place_in_m)

    visible = set(permissions.moderatable_proposals(coordinator))

    assert visible == {for_n, correction_in_n, orphan, correction_of_a_lone_place}
    assert permissions.can_moderate(coordinator, for_n)
    assert not permissions.can_moderate(coordinator, for_m)
    assert not permissions.can_moderate(coordinator, correction_in_m)


def test_a_place_in_two_networks_is_moderated_by_both_coordinators_once():
    network_n, network_m = NetworkFactory(), NetworkFactory()
    shared = PlaceFactory()
    shared.networks.add(network_n, network_m)
    correction = proposal(place=shared)

    for network in (network_n, network_m):
        assert list(permissions.moderatable_proposals(make_coordinator(network))) == [correction]


def test_people_who_coordinate_nothing_moderate_nothing():
    place = PlaceFactory()
    proposal()
    proposal(place=place)

    assert not permissions.moderatable_proposals(make_manager(place)).exists()
    assert not permissions.moderatable_proposals(UserFactory()).exists()


def test_a_superuser_sees_every_proposal():
    network_n, network_m = NetworkFactory(), NetworkFactory()
    all_proposals = {proposal(network=network_n), proposal(network=network_m), proposal()}

    superuser = UserFactory(is_superuser=True)

    assert set(permissions.moderatable_proposals(superuser)) == all_proposals
