"""The meta-test: every model holding personal data is covered by export and erasure, or exempt
with a reason; and the detection itself is tested, so that this test can fail."""

from django.apps import apps
from django.db import models
from django.test.utils import isolate_apps

from maillage.accounts.models import User
from maillage.privacy import registry
from maillage.privacy.registry import EXEMPT, REGISTRY, Entry, personal_fields, uncovered, unknown


def test_every_model_with_personal_data_is_registered_or_exempt():
    missing = uncovered(apps.get_models(include_auto_created=True))
    assert missing == [], (
        f"Models holding personal data without an entry in privacy/registry.py: {missing}. "
        "Declare how to export and erase their rows (REGISTRY), or why not (EXEMPT)."
    )


def test_registry_and_exemptions_name_existing_models_once():
    assert unknown() == []
    labels = [entry.model for entry in REGISTRY]
    assert len(labels) == len(set(labels))
    assert not set(labels) & set(EXEMPT)
    sections = [entry.section for entry in REGISTRY]
    assert len(sections) == len(set(sections))
    assert all(reason.strip() for reason in EXEMPT.values())
    assert {entry.how for entry in REGISTRY} <= {"delete", "anonymise", "keep"}


def test_the_account_is_erased_last():
    assert REGISTRY[-1].model == "accounts.User"


@isolate_apps("maillage.privacy")
def test_detection_finds_links_to_users_emails_addresses_and_person_fields():
    class Throwaway(models.Model):
        class Meta:
            abstract = True
            app_label = "privacy"

    class Visit(Throwaway):  # noqa: DJ008 (throwaway)
        who = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")

    class Contact(Throwaway):  # noqa: DJ008 (throwaway)
        email = models.EmailField()
        name = models.CharField(max_length=10)

    class Hit(Throwaway):  # noqa: DJ008 (throwaway)
        ip = models.GenericIPAddressField()

    class Caller(Throwaway):  # noqa: DJ008 (throwaway)
        mobile_phone = models.CharField(max_length=20)
        speaker_name = models.CharField(max_length=20)

    class Room(Throwaway):  # noqa: DJ008 (throwaway)
        name = models.CharField(max_length=10)
        seats = models.IntegerField()

    assert personal_fields(Visit) == ["who"]
    assert personal_fields(Contact) == ["email", "name"]
    assert personal_fields(Hit) == ["ip"]
    assert personal_fields(Caller) == ["mobile_phone", "speaker_name"]
    assert personal_fields(Room) == []

    found = uncovered([Visit, Contact, Hit, Caller, Room], registry=[], exempt={})
    assert found == sorted(m._meta.label for m in (Visit, Contact, Hit, Caller))
    covered = [Entry(Visit._meta.label, "visits", "Visits", "delete", list, lambda p, c: 0)]
    exempt = {Contact._meta.label: "a reason", Hit._meta.label: "  "}
    assert uncovered([Visit, Contact, Hit], registry=covered, exempt=exempt) == [
        Hit._meta.label  # an empty reason does not exempt
    ]


def test_unknown_labels_are_reported():
    entry = Entry("nowhere.Ghost", "ghosts", "Ghosts", "delete", list, lambda p, c: 0)
    assert unknown(registry=[*REGISTRY, entry], exempt={"places.Nope": "x"}) == [
        "nowhere.Ghost",
        "places.Nope",
    ]


def test_the_real_models_are_detected():
    """A few models of the project the rules must catch, and some they must not."""
    from maillage.agenda.models import Event, Registration
    from maillage.bookings.models import Resource
    from maillage.places.models import Place

    assert "organiser_email" in personal_fields(Event)
    assert set(personal_fields(Registration)) >= {"user", "email", "name"}
    assert personal_fields(Resource) == []
    assert "name" in personal_fields(Place)  # tied by its email: hence its exemption
    assert registry.EXEMPT["places.Place"]
