"""Mentoring in the API: asking with or without a token (a minor without consent refused, nothing
written; the rate limit), the mentor's queue and the team's, one request (the address only for
the team), answers, the team's consent, connection and closing (a manager of another place gets
a 404), and one's mentor profile. Refusals write nothing. Runs on SQLite and, with DATABASE_URL,
on PostgreSQL."""

import json

import pytest
from django.utils import translation

from maillage.accounts.models import PlaceRole
from maillage.accounts.services import api_token_create
from maillage.api import api  # noqa: F401 (every router and its schemas are loaded)
from maillage.community import mentoring
from maillage.community.models import Mentor, MentoringAnswer, MentoringRequest
from maillage.core.models import AuditEntry
from tests.community.factories import mentor_at, mentoring_request_at
from tests.factories import NetworkFactory, PlaceFactory, UserFactory, make_coordinator

pytestmark = pytest.mark.django_db

API = "/api/v1/community"
Status = MentoringRequest.Status


@pytest.fixture(autouse=True)
def _messages_in_english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


def _role(place, role, **kwargs):
    user = UserFactory(**kwargs)
    PlaceRole.objects.create(user=user, place=place, role=role)
    return user


@pytest.fixture
def world():
    solozere, other = NetworkFactory(), NetworkFactory()
    polen, villefort, loco = PlaceFactory(), PlaceFactory(), PlaceFactory()
    polen.networks.add(solozere)
    villefort.networks.add(solozere)
    loco.networks.add(other)
    return {
        "a": polen,
        "b": loco,
        "murielle": mentor_at(villefort, fields=["entrepreneurship"], full_name="Murielle Bastide"),
        "mentor_b": mentor_at(loco, fields=["entrepreneurship"]),
        "manager_a": _role(polen, PlaceRole.Role.MANAGER),
        "staff_a": _role(polen, PlaceRole.Role.STAFF),
        "member_a": _role(polen, PlaceRole.Role.RESIDENT),
        "manager_b": _role(loco, PlaceRole.Role.MANAGER),
        "coordinator": make_coordinator(solozere),
    }


def send(client, method, path, body=None, user=None):
    headers = {}
    if user is not None:
        _token, raw = api_token_create(user=user)
        headers["authorization"] = f"Bearer {raw}"
    kwargs = {"headers": headers}
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    return client.generic(method, API + path, **kwargs)


def _question(world, **overrides) -> dict:
    return {
        "place": world["a"].slug,
        "name": "Justine",
        "email": "justine@example.org",
        "age_group": "15_17",
        "guardian_consent": True,
        "topic": "business",
        "fields": ["entrepreneurship"],
        "question": "How does one start a digital business?",
        **overrides,
    }


# Asking -----------------------------------------------------------------------------------------


def test_a_minor_without_consent_gets_a_400_and_nothing_is_written(client, world, mailoutbox):
    response = send(client, "POST", "/mentoring/requests", _question(world, guardian_consent=False))
    assert response.status_code == 400
    assert list(response.json()["details"]) == ["guardian_consent"]
    assert not MentoringRequest.objects.exists() and mailoutbox == []


def test_anyone_asks_and_the_id_alone_does_not_read_it(
    client, world, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = send(client, "POST", "/mentoring/requests", _question(world, age_group="18_25"))
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "status"} and body["status"] == "unconfirmed"
    asked = MentoringRequest.objects.get(pk=body["id"])
    assert asked.language == "en"  # the Accept-Language of the call
    (email,) = mailoutbox
    assert mentoring.request_secret(asked) in email.body
    assert send(client, "GET", f"/mentoring/requests/{asked.pk}").status_code == 401
    stranger = UserFactory()
    assert send(client, "GET", f"/mentoring/requests/{asked.pk}", user=stranger).status_code == 404


def test_with_a_token_the_account_asks_and_reads_its_request(client, world):
    basile = _role(world["a"], PlaceRole.Role.NOMAD, full_name="Basile Martin", language="es")
    response = send(
        client,
        "POST",
        "/mentoring/requests",
        _question(world, name="", email="", age_group="over_25"),
        user=basile,
    )
    assert response.status_code == 201 and response.json()["status"] == "open"
    asked = MentoringRequest.objects.get()
    assert (asked.name, asked.email, asked.language) == ("Basile", basile.email, "es")
    mine = send(client, "GET", f"/mentoring/requests/{asked.pk}", user=basile).json()
    assert mine["email"] == basile.email


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"place": "no-such-place"}, "place"),
        ({"age_group": "42"}, "age_group"),
        ({"topic": "astrology"}, "topic"),
        ({"fields": ["nope"]}, "fields"),
        ({"email": "not an address"}, "email"),
        ({"question": "  "}, "question"),
        ({"question": "nul\x00"}, "question"),
    ],
)
def test_invalid_questions_are_refused_naming_the_field(client, world, change, field):
    response = send(client, "POST", "/mentoring/requests", _question(world, **change))
    assert response.status_code == 400
    assert field in response.json()["details"]
    assert not MentoringRequest.objects.exists()


def test_an_unpublished_place_is_refused_like_an_unknown_one(client, world):
    world["a"].is_published = False
    world["a"].save()
    response = send(client, "POST", "/mentoring/requests", _question(world))
    assert response.status_code == 400 and "place" in response.json()["details"]


def test_questions_are_rate_limited(client, world, settings):
    settings.MAILLAGE_MENTORING_PER_IP = "2/1h"
    for _ in range(2):
        assert send(client, "POST", "/mentoring/requests", _question(world)).status_code == 201
    response = send(client, "POST", "/mentoring/requests", _question(world))
    assert response.status_code == 429 and response["Retry-After"]
    assert MentoringRequest.objects.count() == 2


# Reading ----------------------------------------------------------------------------------------


def test_mentors_read_their_queue_without_the_address(client, world):
    asked = mentoring_request_at(world["a"], name="Justine Roux")
    mentoring_request_at(world["a"], age_group="15_17")  # awaiting consent: not shown
    queue = send(client, "GET", "/mentoring/requests", user=world["murielle"]).json()
    assert queue["count"] == 1
    (item,) = queue["results"]
    assert item["id"] == asked.pk and item["name"] == "Justine" and item["email"] is None
    assert item["fields"] == ["entrepreneurship"] and item["answers"] == []
    assert send(client, "GET", "/mentoring/requests", user=world["mentor_b"]).json()["count"] == 0
    one = send(client, "GET", f"/mentoring/requests/{asked.pk}", user=world["murielle"])
    assert one.status_code == 200 and one.json()["email"] is None
    assert (
        send(client, "GET", f"/mentoring/requests/{asked.pk}", user=world["mentor_b"]).status_code
        == 404
    )


def test_the_team_lists_its_place_with_the_addresses(client, world):
    adult = mentoring_request_at(world["a"])
    minor = mentoring_request_at(world["a"], age_group="under_15")
    path = f"/mentoring/requests?place={world['a'].slug}"
    for person in ("manager_a", "staff_a", "coordinator"):
        listed = send(client, "GET", path, user=world[person]).json()
        assert [item["id"] for item in listed["results"]] == [minor.pk, adult.pk]
        assert listed["results"][0]["email"] == "justine@example.org"
    assert send(client, "GET", path, user=world["member_a"]).status_code == 403
    refused = send(client, "GET", path, user=world["manager_b"])
    ghost = send(client, "GET", "/mentoring/requests?place=no-such-place", user=world["manager_b"])
    assert refused.status_code == ghost.status_code == 404


# Answers and the team's steps -------------------------------------------------------------------


def test_a_mentor_answers_and_the_asker_is_emailed_in_their_language(
    client, world, mailoutbox, django_capture_on_commit_callbacks
):
    asked = mentoring_request_at(world["a"], language="es", email="lucia@example.org")
    mailoutbox.clear()
    path = f"/mentoring/requests/{asked.pk}/answers"
    with django_capture_on_commit_callbacks(execute=True):
        response = send(client, "POST", path, {"body": "Ve a la BGE."}, user=world["murielle"])
    assert response.status_code == 201
    assert response.json()["mentor"] == "Murielle B." and response.json()["body"] == "Ve a la BGE."
    (email,) = mailoutbox
    assert email.to == ["lucia@example.org"] and email.body.startswith("Hola")
    assert mentoring.request_secret(asked) in email.body
    assert send(client, "POST", path, {"body": "x"}, user=world["manager_a"]).status_code == 403
    assert send(client, "POST", path, {"body": "x"}, user=world["mentor_b"]).status_code == 404
    assert send(client, "POST", path, {"body": "  "}, user=world["murielle"]).status_code == 400
    mentoring.request_close(request=asked, actor=world["manager_a"])
    closed = send(client, "POST", path, {"body": "Again"}, user=world["murielle"])
    assert closed.status_code == 409 and "closed" in closed.json()["message"]
    assert MentoringAnswer.objects.count() == 1


def test_only_the_team_of_the_place_confirms_consent(client, world):
    asked = mentoring_request_at(world["a"], age_group="15_17")
    path = f"/mentoring/requests/{asked.pk}/consent"
    for person in ("manager_b", "murielle", "member_a"):
        assert send(client, "POST", path, user=world[person]).status_code == 404
    asked.refresh_from_db()
    assert asked.status == Status.AWAITING_CONSENT
    response = send(client, "POST", path, user=world["manager_a"])
    assert response.status_code == 200 and response.json()["status"] == "open"
    assert response.json()["consent_confirmed_at"]
    assert AuditEntry.objects.filter(action="community.consent").count() == 1
    assert send(client, "POST", path, user=world["manager_a"]).status_code == 409
    # Open now: the mentor sees it, and knows it, so is told it is the team's (403).
    assert send(client, "POST", path, user=world["murielle"]).status_code == 403


def test_the_team_connects_an_active_mentor(client, world, mailoutbox):
    asked = mentoring_request_at(world["a"])
    path = f"/mentoring/requests/{asked.pk}/connect"
    body = {"mentor": world["murielle"].pk}
    assert send(client, "POST", path, body, user=world["manager_b"]).status_code == 404
    assert send(client, "POST", path, body, user=world["murielle"]).status_code == 403
    wrong = send(client, "POST", path, {"mentor": world["mentor_b"].pk}, user=world["manager_a"])
    assert wrong.status_code == 400 and "mentor" in wrong.json()["details"]
    response = send(client, "POST", path, body, user=world["manager_a"])
    assert response.status_code == 200
    assert response.json()["status"] == "connected" and response.json()["mentor"] == "Murielle B."
    assert send(client, "POST", path, body, user=world["manager_a"]).status_code == 409
    # The mentor put in touch reads the address now.
    one = send(client, "GET", f"/mentoring/requests/{asked.pk}", user=world["murielle"]).json()
    assert one["email"] == "justine@example.org"


def test_the_asker_and_the_team_close(client, world):
    asker = UserFactory()
    asked = mentoring_request_at(world["a"], asker=asker)
    path = f"/mentoring/requests/{asked.pk}/close"
    assert send(client, "POST", path, user=world["murielle"]).status_code == 403
    assert send(client, "POST", path, user=world["manager_b"]).status_code == 404
    response = send(client, "POST", path, user=asker)
    assert response.status_code == 200 and response.json()["status"] == "closed"
    assert send(client, "POST", path, user=world["manager_a"]).status_code == 409


def test_hidden_answers_are_listed_for_the_team_and_their_author_only(client, world):
    from maillage.community import services

    asker = UserFactory()
    asked = mentoring_request_at(world["a"], asker=asker)
    answer = mentoring.answer_send(request=asked, mentor=world["murielle"], body="Spam")
    services.hide_post(post=answer, actor=world["manager_a"], reason="Advertising.")
    path = f"/mentoring/requests/{asked.pk}"
    assert send(client, "GET", path, user=asker).json()["answers"] == []
    for person in ("manager_a", "murielle"):
        (item,) = send(client, "GET", path, user=world[person]).json()["answers"]
        assert item["hidden"] is True


# One's mentor profile ---------------------------------------------------------------------------


def test_people_of_the_places_opt_in_through_the_api(client, world):
    member = world["member_a"]
    got = send(client, "GET", "/me/mentor", user=member).json()
    assert got == {
        "is_mentor": False,
        "can_become_mentor": True,
        "fields": [],
        "about": "",
        "is_active": False,
    }
    bad = send(client, "PUT", "/me/mentor", {"fields": ["astrology"]}, user=member)
    assert bad.status_code == 400 and "fields" in bad.json()["details"]
    saved = send(
        client, "PUT", "/me/mentor", {"fields": ["studies"], "about": "Hi"}, user=member
    ).json()
    assert saved["is_mentor"] and saved["fields"] == ["studies"]
    paused = send(client, "PUT", "/me/mentor", {"fields": [], "is_active": False}, user=member)
    assert paused.json()["is_mentor"] is False and paused.json()["fields"] == ["studies"]
    refused = send(client, "PUT", "/me/mentor", {"fields": ["studies"]}, user=world["coordinator"])
    assert refused.status_code == 403
    assert not Mentor.objects.filter(user=world["coordinator"]).exists()
    assert send(client, "GET", "/me/mentor").status_code == 401
