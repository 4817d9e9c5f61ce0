"""The export: every section of the registry, JSON and CSV, the photo, the README; rows found by
email address without an account."""

import csv
import io
import json
import zipfile

import pytest

from maillage.privacy import services
from maillage.privacy.registry import REGISTRY

from .conftest import ALINE_EMAIL, ALINE_NAME, ALINE_PHONE, BRUNO_EMAIL, BRUNO_NAME

pytestmark = pytest.mark.django_db


def unzip(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def data_of(files) -> dict:
    return json.loads(files["data.json"])["sections"]


def test_the_export_holds_every_section_of_the_person(world):
    files = unzip(services.export_person(world.aline))
    sections = data_of(files)
    assert set(sections) == {entry.section for entry in REGISTRY}
    expected = {
        "account": 1,
        "bookings": 2,
        "trainings": 1,
        "waiting_lists": 1,
        "opportunities": 1,
        "give_box": 1,
        "mentoring_answers": 1,
        "admin_history": 1,
        "place_edits": 1,
        "sessions": 1,
        "place_archives": 1,
        "calendar_feed": 1,
        "registrations": 2,
        "newsletter": 1,
        "events": 1,
        "profile": 1,
        "skills": 1,
        "memberships": 1,
        "check_ins": 1,
        "skill_posts": 1,
        "ideas": 1,
        "thanks": 1,
        "private_replies": 1,
        "idea_votes": 1,
        "mentor": 1,
        "mentoring_questions": 1,
        "reports": 1,
        "notification_settings": 1,
        "place_proposals": 1,
        "roles_in_places": 1,
        "api_tokens": 1,
        "email_addresses": 1,
        "two_factor_authentication": 1,
    }
    assert {key: len(sections[key]) for key in expected} == expected
    assert {n["subject"] for n in sections["notifications"]} >= {"Nouvelle réponse"}
    assert sections["account"][0]["email"] == ALINE_EMAIL
    assert sections["account"][0]["full_name"] == ALINE_NAME
    assert sections["events"][0]["organiser_phone"] == ALINE_PHONE
    assert any(entry["action"] == "resource.edit" for entry in sections["audit_log"])
    # Secrets are never exported: the token's hash, the second factor's data.
    assert "key_hash" not in sections["api_tokens"][0]
    assert "secret" not in json.dumps(sections["two_factor_authentication"])
    future = next(b for b in sections["bookings"] if "Rendez-vous" in b["title"])
    assert "(pending)" in future["dates"] or "(confirmed)" in future["dates"]


def test_one_csv_per_section_with_rows_formula_safe(world):
    files = unzip(services.export_person(world.aline))
    assert "profile.csv" in files and "roles_in_networks.csv" not in files
    rows = list(csv.DictReader(io.StringIO(files["profile.csv"].decode())))
    assert rows[0]["about"].startswith("'=HYPERLINK")
    bookings = list(csv.DictReader(io.StringIO(files["bookings.csv"].decode())))
    assert {row["resource"] for row in bookings} == {"Salle Aubrac"}


def test_the_photo_and_the_readme_come_with_it(world):
    files = unzip(services.export_person(world.aline))
    assert files["photo.webp"] == b"RIFF fake webp of Aline"
    readme = files["README.txt"].decode()
    assert "data.json" in readme and "profile.csv" in readme and "photo.webp" in readme
    assert ALINE_EMAIL in readme


def test_without_an_account_the_rows_of_the_address_are_exported(world):
    person = services.person_by_email(BRUNO_EMAIL.upper())
    assert person.user is None
    sections = data_of(unzip(services.export_person(person)))
    assert len(sections["registrations"]) == 2
    assert {row["name"] for row in sections["registrations"]} == {BRUNO_NAME}
    assert len(sections["newsletter"]) == 1
    assert len(sections["mentoring_questions"]) == 1
    assert len(sections["place_proposals"]) == 1
    assert sections["account"] == [] and sections["bookings"] == []


def test_an_address_nobody_used_exports_nothing(db):
    sections = data_of(unzip(services.export_person(services.person_by_email("x@example.org"))))
    assert not any(sections.values())
