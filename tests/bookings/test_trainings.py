"""Machine trainings on the manager pages: validate, list, revoke; recognition in the network."""

import datetime as dt
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from maillage.accounts.models import PlaceRole
from maillage.bookings.manage_queries import trainings_recognised
from maillage.bookings.models import Resource, TrainingValidation
from maillage.bookings.selectors import holds_training
from maillage.core.models import AuditEntry
from tests.factories import (
    NetworkFactory,
    PlaceFactory,
    UserFactory,
    make_coordinator,
    make_manager,
)

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


@pytest.fixture(autouse=True)
def _messages_in_english():
    with translation.override("en"):
        yield


@pytest.fixture
def network():
    """Network N holds places A and B; place C is outside it."""
    lozere = NetworkFactory()
    a, b, c = PlaceFactory(name="Fablab A"), PlaceFactory(name="Atelier B"), PlaceFactory()
    a.networks.add(lozere)
    b.networks.add(lozere)
    return {"n": lozere, "a": a, "b": b, "c": c, "manager_a": make_manager(a, language="en")}


def url(place, name="trainings", **kwargs):
    return reverse(f"bookings:{name}", kwargs={"slug": place.slug, **kwargs})


def today():
    return timezone.now().astimezone(PARIS).date()


def validation(user, place, machine_type="laser_cutter", **kwargs):
    return TrainingValidation.objects.create(
        user=user, place=place, machine_type=machine_type, **kwargs
    )


class TestValidate:
    def test_a_manager_validates_a_members_training_and_it_is_audited(self, client, network):
        member = UserFactory(email="basile@example.org", full_name="Basile Roux")
        client.force_login(network["manager_a"])
        expiry = today() + dt.timedelta(days=365)
        response = client.post(
            url(network["a"]),
            {"email": "Basile@Example.org", "machine_type": "laser_cutter", "expires_on": expiry},
        )
        assert response.status_code == 302
        saved = TrainingValidation.objects.get()
        assert (saved.user, saved.place, saved.machine_type) == (
            member,
            network["a"],
            "laser_cutter",
        )
        assert (saved.validated_by, saved.expires_on) == (network["manager_a"], expiry)
        entry = AuditEntry.objects.get(action="training.validate")
        assert entry.actor == network["manager_a"] and entry.place == network["a"]
        page = client.get(url(network["a"])).content.decode()
        assert "Basile Roux" in page and "Laser cutter" in page

    def test_validating_again_renews_the_training(self, client, network):
        member = UserFactory()
        old = validation(member, network["a"], expires_on=today() + dt.timedelta(days=3))
        client.force_login(network["manager_a"])
        client.post(url(network["a"]), {"email": member.email, "machine_type": "laser_cutter"})
        renewed = TrainingValidation.objects.get()
        assert renewed.pk == old.pk and renewed.expires_on is None

    def test_an_unknown_email_gets_a_clear_error_and_nothing_is_written(self, client, network):
        client.force_login(network["manager_a"])
        response = client.post(
            url(network["a"]), {"email": "nobody@example.org", "machine_type": "printer_3d"}
        )
        assert response.status_code == 400
        assert "Nobody has an account with this email" in response.content.decode()
        assert not TrainingValidation.objects.exists()
        assert not AuditEntry.objects.exists()

    def test_an_expiry_in_the_past_is_refused_on_its_field(self, client, network):
        member = UserFactory()
        client.force_login(network["manager_a"])
        response = client.post(
            url(network["a"]),
            {
                "email": member.email,
                "machine_type": "printer_3d",
                "expires_on": today() - dt.timedelta(days=2),
            },
        )
        assert response.status_code == 400
        assert response.context["form"].errors["expires_on"] == ["The expiry date is in the past."]
        assert not TrainingValidation.objects.exists()

    def test_an_unknown_machine_type_is_refused(self, client, network):
        member = UserFactory()
        client.force_login(network["manager_a"])
        response = client.post(url(network["a"]), {"email": member.email, "machine_type": "robot"})
        assert response.status_code == 400
        assert "machine_type" in response.context["form"].errors
        assert not TrainingValidation.objects.exists()

    def test_a_coordinator_of_the_network_validates_too(self, client, network):
        member = UserFactory()
        coordinator = make_coordinator(network["n"])
        client.force_login(coordinator)
        client.post(url(network["b"]), {"email": member.email, "machine_type": "printer_3d"})
        assert TrainingValidation.objects.get().validated_by == coordinator

    @pytest.mark.parametrize("role", ["resident", "staff"])
    def test_a_member_or_staff_of_the_place_may_not(self, client, network, role):
        person, member = UserFactory(), UserFactory()
        PlaceRole.objects.create(user=person, place=network["a"], role=role)
        client.force_login(person)
        response = client.post(
            url(network["a"]), {"email": member.email, "machine_type": "printer_3d"}
        )
        assert response.status_code == 404
        assert not TrainingValidation.objects.exists()

    def test_an_expired_training_is_marked_expired(self, client, network):
        validation(UserFactory(), network["a"], expires_on=today() - dt.timedelta(days=1))
        validation(UserFactory(), network["a"], "printer_3d", expires_on=today())
        client.force_login(network["manager_a"])
        page = client.get(url(network["a"])).content.decode()
        assert page.count(">expired<") == 1


class TestRevoke:
    def test_a_manager_revokes_a_training_and_it_is_audited(self, client, network):
        given = validation(UserFactory(email="zoe@example.org"), network["a"])
        client.force_login(network["manager_a"])
        response = client.post(url(network["a"], "training_revoke", pk=given.pk))
        assert response.status_code == 302
        assert not TrainingValidation.objects.exists()
        entry = AuditEntry.objects.get(action="training.revoke")
        assert entry.details == {"user": "zoe@example.org", "machine_type": "laser_cutter"}

    def test_a_training_given_by_another_place_cannot_be_revoked_here(self, client, network):
        elsewhere = validation(UserFactory(), network["b"])
        client.force_login(network["manager_a"])
        response = client.post(url(network["a"], "training_revoke", pk=elsewhere.pk))
        assert response.status_code == 404
        assert TrainingValidation.objects.filter(pk=elsewhere.pk).exists()

    def test_a_manager_of_another_place_cannot_revoke(self, client, network):
        given = validation(UserFactory(), network["a"])
        client.force_login(make_manager(network["c"]))
        response = client.post(url(network["a"], "training_revoke", pk=given.pk))
        assert response.status_code == 404
        assert TrainingValidation.objects.filter(pk=given.pk).exists()

    def test_revoking_needs_a_post(self, client, network):
        given = validation(UserFactory(), network["a"])
        client.force_login(network["manager_a"])
        assert client.get(url(network["a"], "training_revoke", pk=given.pk)).status_code == 405


class TestRecognition:
    def test_a_training_of_place_a_is_recognised_at_b_of_the_same_network_not_at_c(
        self, client, network
    ):
        member = UserFactory(full_name="Inès Martin")
        validation(member, network["a"])
        laser_b = Resource.objects.create(
            place=network["b"], name="Laser B", kind="machine", training="laser_cutter"
        )
        laser_c = Resource.objects.create(
            place=network["c"], name="Laser C", kind="machine", training="laser_cutter"
        )
        assert holds_training(member, laser_b, on=today())
        assert not holds_training(member, laser_c, on=today())
        assert [v.user for v in trainings_recognised(network["b"], on=today())] == [member]
        assert not trainings_recognised(network["c"], on=today()).exists()
        assert not trainings_recognised(network["a"], on=today()).exists()

        client.force_login(make_manager(network["b"]))
        page = client.get(url(network["b"])).content.decode()
        assert "Inès Martin" in page and "Fablab A" in page
        client.force_login(make_manager(network["c"]))
        assert "Inès Martin" not in client.get(url(network["c"])).content.decode()

    def test_an_expired_training_is_not_recognised(self, network):
        member = UserFactory()
        validation(member, network["a"], expires_on=today() - dt.timedelta(days=1))
        assert not trainings_recognised(network["b"], on=today()).exists()
        validation(member, network["a"], "printer_3d", expires_on=today())
        assert [v.machine_type for v in trainings_recognised(network["b"], on=today())] == [
            "printer_3d"
        ]

    def test_a_place_sharing_two_networks_lists_a_training_once(self, network):
        other = NetworkFactory()
        network["a"].networks.add(other)
        network["b"].networks.add(other)
        validation(UserFactory(), network["a"])
        assert trainings_recognised(network["b"], on=today()).count() == 1
