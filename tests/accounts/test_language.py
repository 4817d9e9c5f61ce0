import pytest

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_switching_language_is_remembered_on_the_account(client):
    user = UserFactory(language="fr")
    client.force_login(user)
    response = client.post("/i18n/setlang/", {"language": "ca", "next": "/"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.language == "ca"
    assert '<html lang="ca">' in client.get("/").content.decode()


def test_an_unknown_language_changes_nothing(client):
    user = UserFactory(language="es")
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": "xx", "next": "/"})
    user.refresh_from_db()
    assert user.language == "es"


def test_anonymous_visitors_switch_language_with_a_cookie(client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert '<html lang="en">' in client.get("/").content.decode()


def test_createsuperuser_works_without_questions(monkeypatch):
    from django.core.management import call_command

    from maillage.accounts.models import User

    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "admin@example.org")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long admin passphrase")
    call_command("createsuperuser", "--noinput", verbosity=0)
    admin = User.objects.get(email="admin@example.org")
    assert admin.is_superuser and admin.check_password("a long admin passphrase")


def test_a_person_signing_in_gets_their_account_language(client):
    client.force_login(UserFactory(language="es"))
    response = client.get("/")
    assert '<html lang="es">' in response.content.decode()
    assert response.cookies["django_language"].value == "es"
