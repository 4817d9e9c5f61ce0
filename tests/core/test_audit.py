"""The audit log: privileged writes are recorded, visible to the right people, erasable."""

import io

import pytest
from django.core.management import call_command

from maillage.accounts.models import PlaceRole
from maillage.accounts.services import api_token_create
from maillage.core.audit import ERASED, audit_erase_person, audit_record
from maillage.core.models import AuditEntry
from maillage.places import services
from maillage.places.importers import import_places
from maillage.places.models import PlaceProposal
from tests.factories import (
    NetworkFactory,
    PlaceFactory,
    UserFactory,
    make_coordinator,
    make_manager,
)

pytestmark = pytest.mark.django_db


def test_a_role_change_records_who_what_when_and_where():
    place = PlaceFactory()
    manager = make_manager(place)
    newcomer = UserFactory(email="jean@example.org")
    services.place_team_set(place=place, user=newcomer, role="staff", author=manager)
    entry = AuditEntry.objects.get(action="place.role")
    assert entry.actor == manager and entry.actor_label == manager.email
    assert entry.place == place and entry.target_id == str(place.pk)
    assert entry.created_at is not None


def test_moderation_decisions_are_recorded_with_the_network():
    network = NetworkFactory()
    coordinator = make_coordinator(network)
    proposal = services.proposal_submit(
        kind=PlaceProposal.Kind.NEW,
        payload={"name": "La Fabrique", "latitude": 44.5, "longitude": 3.5, "town": "Mende"},
        network=network,
        proposer_email="dan@example.org",
    )
    services.proposal_reject(proposal=proposal, reviewer=coordinator, reason="Doublon")
    entry = AuditEntry.objects.get(action="proposal.reject")
    assert entry.network == network and entry.details["reason"] == "Doublon"


def test_an_edit_by_a_manager_is_audited_but_an_import_is_not_attributed():
    place = PlaceFactory()
    manager = make_manager(place)
    services.place_update(place=place, data={"phone": "04 66 00 00 00"}, author=manager)
    services.place_update(place=place, data={"phone": "04 66 11 11 11"}, source="import")
    assert list(AuditEntry.objects.values_list("action", "actor")) == [("place.edit", manager.pk)]


def test_token_creation_is_audited_without_showing_the_token():
    user = UserFactory()
    _token, raw = api_token_create(user=user)
    entry = AuditEntry.objects.get(action="token.create")
    assert raw not in str(entry.details) and raw not in entry.target_label


def test_managers_see_their_places_entries_and_coordinators_their_networks(client):
    network = NetworkFactory()
    mine, other = PlaceFactory(), PlaceFactory()
    mine.networks.add(network)
    manager, other_manager = make_manager(mine), make_manager(other)
    coordinator = make_coordinator(network)
    services.place_update(place=mine, data={"phone": "1"}, author=manager)
    services.place_update(place=other, data={"phone": "2"}, author=other_manager)

    client.force_login(manager)
    page = client.get("/audit/").content.decode()
    assert mine.name in page and other.name not in page

    client.force_login(coordinator)
    page = client.get("/audit/").content.decode()
    assert mine.name in page and other.name not in page


def test_members_and_anonymous_visitors_cannot_read_the_audit_log(client):
    place = PlaceFactory()
    member = UserFactory()
    PlaceRole.objects.create(user=member, place=place, role="resident")
    assert client.get("/audit/").status_code == 302
    client.force_login(member)
    assert client.get("/audit/").status_code == 404


def test_a_bad_date_range_is_refused_with_a_message(client):
    place = PlaceFactory()
    client.force_login(make_manager(place))
    response = client.get("/audit/", {"since": "2026-05-01", "until": "2026-04-01"})
    assert response.status_code == 400


def test_erasing_a_person_removes_their_name_and_email_but_keeps_the_entries():
    place = PlaceFactory()
    manager = make_manager(place, full_name="José Martín", email="jose@example.org")
    target = UserFactory(email="basile@example.org", full_name="Basile")
    services.place_team_set(place=place, user=target, role="staff", author=manager)
    audit_record(actor=None, action="note", place=place, details={"about": "José Martín"})
    before = AuditEntry.objects.count()

    changed = audit_erase_person(manager)

    assert changed == 2
    assert AuditEntry.objects.count() == before
    dump = str(list(AuditEntry.objects.values()))
    assert "jose@example.org" not in dump and "José Martín" not in dump
    assert ERASED in dump
    assert AuditEntry.objects.filter(actor__isnull=True, action="place.role").exists()


def test_createtoken_command_is_audited():
    user = UserFactory(email="luc@example.org")
    call_command("createtoken", "luc@example.org", stdout=io.StringIO())
    assert AuditEntry.objects.filter(action="token.create", details__for=user.email).exists()


def test_an_import_is_audited_with_its_counts():
    data = "slug,name,latitude,longitude\nfab,Le Fab,44.5,3.5\nbad,Bad,999,3.5\n"
    import_places(data.encode(), format="csv")
    entry = AuditEntry.objects.get(action="places.import")
    assert entry.details == {
        "format": "csv",
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "rejected": 1,
    }
