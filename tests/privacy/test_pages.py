"""The pages of "My data" and the API download: only oneself, anonymous → log in, the erasure's
confirmations (password, typed word), the last manager of a place."""

import io
import json
import zipfile

import pytest
from django.utils import translation
from django.utils.translation import gettext as _

from maillage.accounts.models import PlaceRole, User
from maillage.accounts.services import api_token_create
from maillage.privacy.forms import CONFIRMATION_WORD
from tests.factories import PlaceFactory, UserFactory

from .conftest import ALINE_EMAIL, PASSWORD

pytestmark = pytest.mark.django_db


def word() -> str:
    with translation.override("fr"):
        return str(CONFIRMATION_WORD)


@pytest.mark.parametrize("path", ["/privacy/", "/privacy/export.zip", "/privacy/erase/"])
def test_anonymous_visitors_are_sent_to_log_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_my_data_counts_what_we_hold_and_links_the_download(aline_client):
    response = aline_client.get("/privacy/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'href="/privacy/export.zip"' in page
    assert 'href="/privacy/erase/"' in page
    with translation.override("fr"):
        assert str(_("Bookings")) in page


def test_the_download_is_ones_own_data_only(aline_client, world):
    response = aline_client.get("/privacy/export.zip")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Cache-Control"] == "no-store"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        data = json.loads(archive.read("data.json"))
    assert data["email"] == ALINE_EMAIL
    assert data["sections"]["account"][0]["email"] == ALINE_EMAIL


def test_someone_else_downloads_only_their_own(client, world):
    client.force_login(world.other)
    with zipfile.ZipFile(io.BytesIO(client.get("/privacy/export.zip").content)) as archive:
        data = json.loads(archive.read("data.json"))
    assert data["email"] == world.other.email
    assert ALINE_EMAIL not in json.dumps(data)


def test_the_api_gives_the_zip_to_the_tokens_owner(client, world):
    response = client.get("/api/v1/me/data", HTTP_AUTHORIZATION=f"Bearer {world.token}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert json.loads(archive.read("data.json"))["email"] == ALINE_EMAIL
    assert client.get("/api/v1/me/data").status_code == 401
    assert client.get("/api/v1/me/data", HTTP_AUTHORIZATION="Bearer nope").status_code == 401


def test_a_wrong_password_or_word_erases_nothing(aline_client, world):
    response = aline_client.post("/privacy/erase/", {"password": "wrong", "confirmation": word()})
    assert response.status_code == 400
    response = aline_client.post("/privacy/erase/", {"password": PASSWORD, "confirmation": "no"})
    assert response.status_code == 400
    assert User.objects.get(pk=world.aline.pk).email == ALINE_EMAIL


def test_erasing_ones_account_logs_out_and_leaves_a_tombstone(aline_client, world):
    response = aline_client.get("/privacy/erase/")
    assert response.status_code == 200
    response = aline_client.post(
        "/privacy/erase/", {"password": PASSWORD, "confirmation": f"  {word().lower()} "}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    tombstone = User.objects.get(pk=world.aline.pk)
    assert not tombstone.is_active and tombstone.email != ALINE_EMAIL
    assert aline_client.get("/privacy/").status_code == 302  # signed out


def test_too_many_attempts_are_refused(aline_client, world):
    for _attempt in range(5):
        aline_client.post("/privacy/erase/", {"password": "wrong", "confirmation": word()})
    response = aline_client.post("/privacy/erase/", {"password": PASSWORD, "confirmation": word()})
    assert response.status_code == 400
    assert User.objects.get(pk=world.aline.pk).is_active


def test_the_last_manager_of_a_place_hands_over_first(client, db):
    place = PlaceFactory(name="Le Relais")
    manager = UserFactory()
    PlaceRole.objects.create(user=manager, place=place, role=PlaceRole.Role.MANAGER)
    client.force_login(manager)
    assert "Le Relais" in client.get("/privacy/erase/").content.decode()
    response = client.post("/privacy/erase/", {"password": PASSWORD, "confirmation": word()})
    assert response.status_code == 409
    assert User.objects.get(pk=manager.pk).is_active
    # With a second manager, the first may go.
    PlaceRole.objects.create(user=UserFactory(), place=place, role=PlaceRole.Role.MANAGER)
    response = client.post("/privacy/erase/", {"password": PASSWORD, "confirmation": word()})
    assert response.status_code == 302
    assert not User.objects.get(pk=manager.pk).is_active


def test_a_token_of_someone_else_gives_their_data(client, world):
    _token, raw = api_token_create(user=world.other)
    response = client.get("/api/v1/me/data", HTTP_AUTHORIZATION=f"Bearer {raw}")
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert json.loads(archive.read("data.json"))["email"] == world.other.email
