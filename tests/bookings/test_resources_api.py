"""The resources API: /api/v1/resources (list, create) and /api/v1/resources/{id} (read, edit)."""

import pytest
from django.urls import reverse
from django.utils import translation

from maillage.accounts.models import PlaceRole
from maillage.accounts.services import api_token_create
from maillage.bookings.models import Resource, ResourceHours, ResourceTerm
from maillage.core.models import AuditEntry
from tests.factories import (
    NetworkFactory,
    PlaceFactory,
    UserFactory,
    make_coordinator,
    make_manager,
)

pytestmark = pytest.mark.django_db

API = "/api/v1"
ENGLISH = {"accept-language": "en"}


@pytest.fixture(autouse=True)
def _messages_in_english():
    with translation.override("en"):
        yield


def bearer(user):
    """The caller's token; the answers are asked in English, which the assertions read."""
    _token, raw = api_token_create(user=user)
    return {"authorization": f"Bearer {raw}", "accept-language": "en"}


def assert_error(response, status):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"message", "details"}
    assert body["message"]
    return body


@pytest.fixture
def fablab():
    return PlaceFactory(slug="fablab-mende", name="Fablab de Mende")


@pytest.fixture
def manager(fablab):
    return make_manager(fablab)


def post(client, user, **body):
    return client.post(
        f"{API}/resources",
        body,
        content_type="application/json",
        headers=bearer(user) if user else ENGLISH,
    )


def patch(client, user, resource, **body):
    return client.patch(
        f"{API}/resources/{resource.pk}",
        body,
        content_type="application/json",
        headers=bearer(user) if user else ENGLISH,
    )


def nothing_written():
    return not (
        Resource.objects.exists()
        or ResourceTerm.objects.exists()
        or ResourceHours.objects.exists()
        or resource_audit().exists()
    )


def resource_audit():
    """Audit entries of resources (giving a test its API token is audited too)."""
    return AuditEntry.objects.filter(action__startswith="resource.")


VISIO = {
    "place": "fablab-mende",
    "name": "Salle visio",
    "kind": "visio_room",
    "capacity": 8,
}


class TestCreate:
    def test_a_manager_creates_a_resource_with_every_rule(self, client, fablab, manager):
        response = post(
            client,
            manager,
            **VISIO,
            description="Écran 4K, caméra grand angle",
            min_minutes=60,
            max_minutes=240,
            horizon_days=60,
            buffer_minutes=15,
            audience="members",
            requires_approval=True,
            cancel_deadline_hours=24,
            price_info="20 € l'heure",
            services=["visio_room", "wifi"],
            character=["view"],
            hours=[
                {"weekday": 0, "opens": "09:00", "closes": "12:00"},
                {"weekday": 0, "opens": "14:00", "closes": "18:00"},
            ],
        )
        assert response.status_code == 201, response.content
        body = response.json()
        resource = Resource.objects.get()
        assert body == {
            "id": resource.pk,
            "place": "fablab-mende",
            "name": "Salle visio",
            "kind": "visio_room",
            "description": "Écran 4K, caméra grand angle",
            "capacity": 8,
            "min_minutes": 60,
            "max_minutes": 240,
            "horizon_days": 60,
            "buffer_minutes": 15,
            "audience": "members",
            "requires_approval": True,
            "cancel_deadline_hours": 24,
            "training": "",
            "price_info": "20 € l'heure",
            "is_active": True,
            "services": ["visio_room", "wifi"],
            "character": ["view"],
            "hours": [
                {"weekday": 0, "opens": "09:00:00", "closes": "12:00:00"},
                {"weekday": 0, "opens": "14:00:00", "closes": "18:00:00"},
            ],
            "photo": None,
            "url": reverse("bookings:resource", kwargs={"pk": resource.pk}),
        }
        assert set(resource_audit().values_list("action", flat=True)) == {
            "resource.create",
            "resource.hours",
        }
        assert resource_audit().filter(actor=manager).count() == 2

    def test_defaults_apply_to_what_is_not_given(self, client, fablab, manager):
        response = post(client, manager, **VISIO)
        assert response.status_code == 201
        body = response.json()
        assert (body["min_minutes"], body["max_minutes"], body["horizon_days"]) == (30, 600, 90)
        assert (body["audience"], body["requires_approval"], body["hours"]) == ("public", False, [])

    def test_a_machine_with_a_training(self, client, fablab, manager):
        response = post(
            client, manager, **{**VISIO, "kind": "machine", "capacity": 1}, training="laser_cutter"
        )
        assert response.status_code == 201
        assert response.json()["training"] == "laser_cutter"

    def test_a_coordinator_of_the_network_creates_one(self, client, fablab):
        network = NetworkFactory()
        fablab.networks.add(network)
        assert post(client, make_coordinator(network), **VISIO).status_code == 201

    @pytest.mark.parametrize(
        ("changes", "field", "message"),
        [
            ({"kind": "spaceship"}, "kind", "valid choice"),
            ({"capacity": 0}, "capacity", "greater than or equal to 1"),
            ({"capacity": 10**12}, "capacity", "less than or equal to"),
            ({"services": ["teleporter"]}, "services", "valid choice"),
            ({"character": ["haunted"]}, "character", "valid choice"),
            ({"training": "time_machine"}, "training", "valid choice"),
            ({"training": "laser_cutter"}, "training", "Only machines can require a training."),
            ({"min_minutes": 120, "max_minutes": 60}, "max_minutes", "cannot be shorter"),
            ({"audience": "everybody"}, "audience", "valid choice"),
            ({"name": ""}, "name", "required"),
            ({"name": "Salle\x00"}, "name", "Null characters are not allowed."),
            (
                {"hours": [{"weekday": 7, "opens": "09:00", "closes": "12:00"}]},
                "hours",
                "Interval 1",
            ),
            (
                {"hours": [{"weekday": 1, "opens": "12:00", "closes": "09:00"}]},
                "hours",
                "close after",
            ),
            (
                {"hours": [{"weekday": 1, "opens": "noon", "closes": "13:00"}]},
                "hours",
                "valid time",
            ),
            (
                {
                    "hours": [
                        {"weekday": 2, "opens": "09:00", "closes": "13:00"},
                        {"weekday": 2, "opens": "12:00", "closes": "15:00"},
                    ]
                },
                "hours",
                "Wednesday: the intervals overlap.",
            ),
            (
                {
                    "hours": [
                        {"weekday": 4, "opens": f"{hour:02}:00", "closes": f"{hour:02}:30"}
                        for hour in range(8, 12)
                    ]
                },
                "hours",
                "at most 3 intervals a day",
            ),
        ],
    )
    def test_bad_values_answer_400_naming_the_field_and_write_nothing(
        self, client, fablab, manager, changes, field, message
    ):
        body = assert_error(post(client, manager, **{**VISIO, **changes}), 400)
        assert message in " ".join(body["details"][field])
        assert nothing_written()

    @pytest.mark.parametrize("missing", ["place", "name", "kind", "capacity"])
    def test_required_fields_missing_answer_400(self, client, fablab, manager, missing):
        body = {key: value for key, value in VISIO.items() if key != missing}
        details = assert_error(post(client, manager, **body), 400)["details"]
        assert missing in details
        assert nothing_written()

    def test_without_a_token_401(self, client, fablab):
        assert_error(post(client, None, **VISIO), 401)
        assert nothing_written()

    def test_an_unknown_place_404(self, client, fablab, manager):
        assert_error(post(client, manager, **{**VISIO, "place": "nowhere"}), 404)
        assert_error(post(client, manager, **{**VISIO, "place": "no\x00where"}), 404)
        assert nothing_written()

    def test_a_manager_of_another_place_gets_404(self, client, fablab):
        other = make_manager(PlaceFactory())
        assert_error(post(client, other, **VISIO), 404)
        assert nothing_written()

    @pytest.mark.parametrize("role", ["resident", "staff"])
    def test_someone_with_another_role_in_the_place_gets_403(self, client, fablab, role):
        person = UserFactory()
        PlaceRole.objects.create(user=person, place=fablab, role=role)
        assert_error(post(client, person, **VISIO), 403)
        assert nothing_written()


class TestRead:
    @pytest.fixture
    def resources(self, fablab):
        hidden_place = PlaceFactory(slug="ferme", is_published=False)
        room = Resource.objects.create(place=fablab, name="Atelier", kind="meeting_room")
        ResourceTerm.objects.create(resource=room, kind="service", code="wifi")
        return {
            "room": room,
            "desk": Resource.objects.create(place=fablab, name="Bureau", kind="desk", capacity=4),
            "off": Resource.objects.create(
                place=fablab, name="Traceur", kind="machine", is_active=False
            ),
            "hidden": Resource.objects.create(place=hidden_place, name="Grange", kind="desk"),
            "elsewhere": Resource.objects.create(
                place=PlaceFactory(name="Zèbre"), name="Salle Z", kind="meeting_room"
            ),
        }

    def test_the_public_list_has_active_resources_of_published_places(self, client, resources):
        body = client.get(f"{API}/resources").json()
        assert body["count"] == 3
        assert [r["name"] for r in body["results"]] == ["Atelier", "Bureau", "Salle Z"]
        assert body["results"][0]["services"] == ["wifi"]

    def test_filtered_by_place_and_kind(self, client, resources):
        body = client.get(f"{API}/resources", {"place": "fablab-mende"}).json()
        assert [r["name"] for r in body["results"]] == ["Atelier", "Bureau"]
        body = client.get(f"{API}/resources", {"place": "fablab-mende", "kind": "desk"}).json()
        assert [r["name"] for r in body["results"]] == ["Bureau"]

    def test_managers_also_see_their_inactive_resources(self, client, resources, manager):
        response = client.get(
            f"{API}/resources", {"place": "fablab-mende"}, headers=bearer(manager)
        )
        assert [r["name"] for r in response.json()["results"]] == ["Atelier", "Bureau", "Traceur"]

    def test_pages(self, client, resources):
        body = client.get(f"{API}/resources", {"page": 2, "page_size": 2}).json()
        assert body["count"] == 3 and [r["name"] for r in body["results"]] == ["Salle Z"]
        assert client.get(f"{API}/resources", {"page": 2**63}).json()["results"] == []
        assert_error(client.get(f"{API}/resources", {"page_size": 1000}), 400)

    def test_unknown_or_unpublished_places_and_unknown_kinds(self, client, resources):
        assert_error(client.get(f"{API}/resources", {"place": "nowhere"}), 404)
        assert_error(client.get(f"{API}/resources", {"place": "ferme"}), 404)
        assert_error(client.get(f"{API}/resources", {"place": "\x00"}), 404)
        body = assert_error(client.get(f"{API}/resources", {"kind": "castle"}), 400)
        assert "kind" in body["details"]

    def test_one_resource(self, client, resources):
        room = resources["room"]
        body = client.get(f"{API}/resources/{room.pk}").json()
        assert (body["id"], body["name"], body["place"]) == (room.pk, "Atelier", "fablab-mende")

    def test_inactive_or_unpublished_resources_are_for_managers_only(
        self, client, resources, manager
    ):
        off, hidden = resources["off"], resources["hidden"]
        assert_error(client.get(f"{API}/resources/{off.pk}"), 404)
        assert_error(client.get(f"{API}/resources/{hidden.pk}"), 404)
        assert client.get(f"{API}/resources/{off.pk}", headers=bearer(manager)).status_code == 200

    @pytest.mark.parametrize("resource_id", [0, 999_999, 2**63, 10**30])
    def test_unknown_ids_404(self, client, resource_id):
        assert_error(client.get(f"{API}/resources/{resource_id}"), 404)


class TestUpdate:
    @pytest.fixture
    def room(self, fablab):
        room = Resource.objects.create(
            place=fablab, name="Atelier", kind="meeting_room", capacity=6
        )
        ResourceTerm.objects.create(resource=room, kind="service", code="wifi")
        return room

    def test_only_the_given_fields_change(self, client, room, manager):
        response = patch(client, manager, room, capacity=10, character=["quiet"])
        assert response.status_code == 200, response.content
        body = response.json()
        assert (body["capacity"], body["name"], body["services"], body["character"]) == (
            10,
            "Atelier",
            ["wifi"],
            ["quiet"],
        )
        entry = AuditEntry.objects.get(action="resource.update")
        assert entry.details == {"fields": ["capacity"]}
        assert not AuditEntry.objects.filter(action="resource.hours").exists()

    def test_hours_are_replaced_and_an_empty_list_returns_to_the_place_hours(
        self, client, room, manager
    ):
        hours = [{"weekday": 5, "opens": "10:00", "closes": "16:00"}]
        assert patch(client, manager, room, hours=hours).json()["hours"] == [
            {"weekday": 5, "opens": "10:00:00", "closes": "16:00:00"}
        ]
        assert patch(client, manager, room, hours=[]).json()["hours"] == []
        assert not room.hours.exists()

    def test_deactivating_keeps_the_resource(self, client, room, manager):
        assert patch(client, manager, room, is_active=False).json()["is_active"] is False
        room.refresh_from_db()
        assert not room.is_active

    def test_bad_values_change_nothing(self, client, room, manager):
        body = assert_error(
            patch(
                client,
                manager,
                room,
                capacity=12,
                training="printer_3d",
                hours=[{"weekday": 1, "opens": "09:00", "closes": "12:00"}],
            ),
            400,
        )
        assert "training" in body["details"]
        room.refresh_from_db()
        assert room.capacity == 6
        assert not room.hours.exists()
        assert not resource_audit().exists()

    def test_without_a_token_401(self, client, room):
        assert_error(patch(client, None, room, capacity=3), 401)

    def test_403_for_a_role_in_the_place_and_404_for_strangers(self, client, fablab, room):
        member = UserFactory()
        PlaceRole.objects.create(user=member, place=fablab, role="resident")
        assert_error(patch(client, member, room, capacity=3), 403)
        assert_error(patch(client, make_manager(PlaceFactory()), room, capacity=3), 404)
        assert_error(patch(client, UserFactory(), room, capacity=3), 404)
        room.refresh_from_db()
        assert room.capacity == 6

    def test_an_unknown_resource_404(self, client, manager):
        response = client.patch(
            f"{API}/resources/{2**63}", {}, content_type="application/json", headers=bearer(manager)
        )
        assert_error(response, 404)
