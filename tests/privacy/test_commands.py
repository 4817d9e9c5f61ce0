"""The commands for requests received by mail, and the daily retention job."""

import io
import json
import zipfile

import pytest
from django.core.management import CommandError, call_command

from maillage.accounts.models import User
from maillage.agenda.models import Subscription

from .conftest import ALINE_EMAIL, BRUNO_EMAIL

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args, stdin: str = "") -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_export_person_writes_the_zip(world, tmp_path):
    target = tmp_path / "aline.zip"
    output = run("export_person", ALINE_EMAIL.upper(), "--output", str(target))
    assert str(target) in output
    with zipfile.ZipFile(target) as archive:
        assert json.loads(archive.read("data.json"))["email"] == ALINE_EMAIL


def test_export_person_without_an_account(world, tmp_path):
    target = tmp_path / "bruno.zip"
    run("export_person", BRUNO_EMAIL, "--output", str(target))
    with zipfile.ZipFile(target) as archive:
        sections = json.loads(archive.read("data.json"))["sections"]
    assert len(sections["registrations"]) == 2 and sections["account"] == []


def test_erase_person_asks_unless_yes(world, monkeypatch):
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    with pytest.raises(CommandError):
        run("erase_person", ALINE_EMAIL)
    assert User.objects.get(pk=world.aline.pk).is_active
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    run("erase_person", ALINE_EMAIL)
    assert not User.objects.get(pk=world.aline.pk).is_active


def test_erase_person_by_address_without_an_account(world):
    output = run("erase_person", BRUNO_EMAIL, "--yes")
    assert BRUNO_EMAIL in output
    assert not Subscription.objects.filter(email=BRUNO_EMAIL).exists()
    assert "example.net" not in run("erase_person", BRUNO_EMAIL, "--yes").replace(BRUNO_EMAIL, "")


def test_erase_person_warns_about_places_left_without_manager(world):
    output = run("erase_person", world.manager.email, "--yes")
    assert world.place.name in output
    assert not User.objects.get(pk=world.manager.pk).is_active


def test_erase_person_refuses_what_is_not_an_address(db):
    with pytest.raises(CommandError):
        run("erase_person", "nobody", "--yes")


def test_privacy_jobs_runs_both_retention_jobs(db):
    output = run("privacy_jobs")
    assert output.count("\n") == 2
