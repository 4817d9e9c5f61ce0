"""Managers' pages beyond the identity form: photos, team and roles, translated presentation."""

import io

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from maillage.accounts.models import PlaceRole, User
from maillage.places.models import Equipment, PlacePhoto, PlaceProposal, PlaceRevision
from tests.factories import (
    NetworkFactory,
    PlaceFactory,
    UserFactory,
    make_coordinator,
    make_manager,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def jpeg_with_gps(width=3000, height=2000) -> bytes:
    image = Image.new("RGB", (width, height), (200, 120, 40))
    exif = Image.Exif()
    exif[0x8825] = {2: (44.0, 31.0, 0.0)}  # GPSInfo: latitude of Mende
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def gallery_data(**extra):
    data = {}
    for prefix in ("photos", "animators", "equipment"):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": "1",
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
    data["equipment-0-quantity"] = "1"  # the initial value a browser sends back
    data.update(extra)
    return data


def test_a_photo_is_resized_to_webp_and_loses_its_gps_position(client):
    place = PlaceFactory()
    client.force_login(make_manager(place))
    upload = SimpleUploadedFile("terrasse.jpg", jpeg_with_gps(), content_type="image/jpeg")
    response = client.post(
        f"/places/{place.slug}/gallery/",
        gallery_data(**{"photos-0-image": upload, "photos-0-alt_text": "La terrasse"}),
    )
    assert response.status_code == 302
    photo = PlacePhoto.objects.get(place=place)
    with Image.open(photo.image.path) as stored:
        assert stored.format == "WEBP"
        assert max(stored.size) == 1600
        assert 0x8825 not in stored.getexif()
    assert PlaceRevision.objects.filter(place=place, changes__has_key="photos").exists()


def test_a_file_that_is_not_an_image_is_refused_and_nothing_is_saved(client):
    place = PlaceFactory()
    client.force_login(make_manager(place))
    upload = SimpleUploadedFile("virus.jpg", b"MZ\x90\x00 not an image", content_type="image/jpeg")
    response = client.post(
        f"/places/{place.slug}/gallery/",
        gallery_data(
            **{
                "photos-0-image": upload,
                "photos-0-alt_text": "x",
                "equipment-0-name": "Imprimante",
                "equipment-0-quantity": "1",
            }
        ),
    )
    assert response.status_code == 400
    assert "JPEG, PNG" in response.content.decode() or "JPEG" in response.content.decode()
    assert not PlacePhoto.objects.exists()
    assert not Equipment.objects.exists()


def test_equipment_is_listed_on_the_place_page(client):
    place = PlaceFactory()
    client.force_login(make_manager(place))
    client.post(
        f"/places/{place.slug}/gallery/",
        gallery_data(**{"equipment-0-name": "Découpeuse laser", "equipment-0-quantity": "2"}),
    )
    page = client.get(place.get_absolute_url()).content.decode()
    assert "Découpeuse laser" in page and "× 2" in page


def test_the_gallery_of_another_place_is_not_found(client):
    place, other = PlaceFactory(), PlaceFactory()
    client.force_login(make_manager(other))
    assert client.get(f"/places/{place.slug}/gallery/").status_code == 404


def test_a_coordinator_names_a_manager_and_it_is_in_the_history(client):
    network = NetworkFactory()
    place = PlaceFactory()
    place.networks.add(network)
    client.force_login(make_coordinator(network))
    newcomer = UserFactory(email="basile@example.org")
    response = client.post(
        f"/places/{place.slug}/team/",
        {"action": "grant", "email": "Basile@example.org", "role": "manager"},
    )
    assert response.status_code == 302
    assert PlaceRole.objects.get(place=place, user=newcomer).role == "manager"
    assert PlaceRevision.objects.filter(changes__has_key="team:basile@example.org").exists()


def test_a_manager_cannot_name_another_manager(client):
    place = PlaceFactory()
    client.force_login(make_manager(place))
    UserFactory(email="marie@example.org")
    response = client.post(
        f"/places/{place.slug}/team/",
        {"action": "grant", "email": "marie@example.org", "role": "manager"},
    )
    assert response.status_code == 400
    assert not PlaceRole.objects.filter(user__email="marie@example.org").exists()


def test_a_role_for_an_unknown_email_opens_an_account_and_invites_the_person(
    client, django_capture_on_commit_callbacks, mailoutbox
):
    place = PlaceFactory()
    client.force_login(make_manager(place))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/places/{place.slug}/team/",
            {"action": "grant", "email": "Nouvelle@Example.org", "role": "staff"},
        )
    assert response.status_code == 302
    invited = User.objects.get(email="nouvelle@example.org")
    assert not invited.has_usable_password()
    assert PlaceRole.objects.get(place=place, user=invited).role == "staff"
    assert len(mailoutbox) == 1
    assert "/accounts/password/reset/key/" in mailoutbox[0].body


def test_a_manager_cannot_change_the_role_of_another_manager(client):
    place = PlaceFactory()
    client.force_login(make_manager(place))
    other = make_manager(place, email="marie@example.org")
    response = client.post(
        f"/places/{place.slug}/team/",
        {"action": "grant", "email": "marie@example.org", "role": "visitor"},
    )
    assert response.status_code == 400
    assert PlaceRole.objects.get(place=place, user=other).role == "manager"


def test_staff_give_community_roles_but_not_staff(client):
    place = PlaceFactory()
    staff = UserFactory()
    PlaceRole.objects.create(place=place, user=staff, role="staff")
    client.force_login(staff)
    newcomer = UserFactory(email="jean@example.org")
    response = client.post(
        f"/places/{place.slug}/team/",
        {"action": "grant", "email": "jean@example.org", "role": "staff"},
    )
    assert response.status_code == 400
    assert not PlaceRole.objects.filter(user=newcomer).exists()
    response = client.post(
        f"/places/{place.slug}/team/",
        {"action": "grant", "email": "jean@example.org", "role": "nomad"},
    )
    assert response.status_code == 302
    assert PlaceRole.objects.get(user=newcomer).role == "nomad"


def test_a_manager_removes_staff_but_not_themself(client):
    place = PlaceFactory()
    manager = make_manager(place)
    staff = UserFactory()
    role = PlaceRole.objects.create(place=place, user=staff, role="staff")
    client.force_login(manager)
    assert (
        client.post(
            f"/places/{place.slug}/team/", {"action": "revoke", "role_id": role.pk}
        ).status_code
        == 302
    )
    assert not PlaceRole.objects.filter(pk=role.pk).exists()
    own = PlaceRole.objects.get(place=place, user=manager)
    response = client.post(f"/places/{place.slug}/team/", {"action": "revoke", "role_id": own.pk})
    assert response.status_code == 404
    assert PlaceRole.objects.filter(pk=own.pk).exists()


def test_members_and_strangers_do_not_see_the_team_page(client):
    place = PlaceFactory()
    member = UserFactory()
    PlaceRole.objects.create(place=place, user=member, role="resident")
    client.force_login(member)
    assert client.get(f"/places/{place.slug}/team/").status_code == 404


def test_a_spanish_summary_is_shown_to_spanish_readers_and_french_to_others(client):
    place = PlaceFactory(summary="Espace de coworking")
    client.force_login(make_manager(place))
    form = {
        "name": place.name,
        "town": place.town,
        "postcode": place.postcode,
        "latitude": place.latitude,
        "longitude": place.longitude,
        "time_zone": "Europe/Paris",
        "summary": "Espace de coworking",
        "summary_es": "Espacio de coworking",
    }
    assert client.post(f"/places/{place.slug}/edit/", form).status_code == 302
    place.refresh_from_db()
    assert place.translations == {"es": {"summary": "Espacio de coworking"}}
    client.logout()  # a signed-in manager would see their account's language
    spanish = client.get(place.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    french = client.get(place.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Espacio de coworking" in spanish
    assert "Espace de coworking" in french and "Espacio" not in french


def _started():
    return signing.dumps(timezone.now().timestamp() - 10)


def test_a_correction_carries_only_the_changed_fields(client):
    place = PlaceFactory(phone="04 66 00 00 00")
    response = client.post(
        f"/places/{place.slug}/correct/",
        {
            "name": place.name,
            "town": place.town,
            "postcode": place.postcode,
            "latitude": place.latitude,
            "longitude": place.longitude,
            "phone": "04 66 11 11 11",
            "proposer_email": "dan@example.org",
            "started": _started(),
        },
    )
    assert response.status_code == 200
    proposal = PlaceProposal.objects.get()
    assert proposal.payload == {"phone": "04 66 11 11 11"}


def test_a_correction_that_changes_nothing_is_refused(client):
    place = PlaceFactory()
    response = client.post(
        f"/places/{place.slug}/correct/",
        {
            "name": place.name,
            "town": place.town,
            "postcode": place.postcode,
            "latitude": place.latitude,
            "longitude": place.longitude,
            "proposer_email": "dan@example.org",
            "started": _started(),
        },
    )
    assert response.status_code == 400
    assert not PlaceProposal.objects.exists()


def test_too_many_proposals_answer_429_with_retry_after(client, settings):
    settings.MAILLAGE_PROPOSALS_PER_HOUR = 1
    for expected in (200, 429):
        response = client.post(
            "/places/propose/",
            {
                "name": "Le Fab'",
                "town": "Florac",
                "latitude": "44.32",
                "longitude": "3.59",
                "proposer_email": "luc@example.org",
                "started": _started(),
            },
        )
        assert response.status_code == expected
    assert int(response["Retry-After"]) > 0
    assert PlaceProposal.objects.count() == 1


def test_a_coordinator_edits_publication_and_only_their_networks(client):
    mine, theirs = NetworkFactory(), NetworkFactory()
    place = PlaceFactory()
    place.networks.add(mine, theirs)
    client.force_login(make_coordinator(mine))
    form = {
        "name": place.name,
        "town": place.town,
        "postcode": place.postcode,
        "latitude": place.latitude,
        "longitude": place.longitude,
        "time_zone": "Europe/Paris",
        "coord-networks": [mine.pk],
    }
    assert client.post(f"/places/{place.slug}/edit/", form).status_code == 302
    place.refresh_from_db()
    assert not place.is_published
    assert set(place.networks.all()) == {mine, theirs}
    # Unpublished: gone for visitors, still there for its editors.
    assert client.get(place.get_absolute_url()).status_code == 200
    form["coord-networks"] = []
    form["coord-is_published"] = "on"
    assert client.post(f"/places/{place.slug}/edit/", form).status_code == 302
    place.refresh_from_db()
    assert place.is_published
    assert list(place.networks.all()) == [theirs]
    client.logout()
    place.is_published = False
    place.save()
    assert client.get(place.get_absolute_url()).status_code == 404


def test_a_managers_edit_form_has_no_coordination_controls(client):
    place = PlaceFactory()
    client.force_login(make_manager(place))
    assert "coord-is_published" not in client.get(f"/places/{place.slug}/edit/").content.decode()


def test_a_coordinators_own_proposal_is_applied_at_once(client):
    network = NetworkFactory()
    client.force_login(make_coordinator(network))
    response = client.post(
        "/places/propose/",
        {
            "name": "Fab'Lozère",
            "town": "Mende",
            "latitude": "44.52",
            "longitude": "3.50",
            "network": network.pk,
            "started": _started(),
        },
    )
    assert response.status_code == 302
    proposal = PlaceProposal.objects.get()
    assert proposal.status == PlaceProposal.Status.APPROVED
    assert proposal.place.networks.filter(pk=network.pk).exists()
