"""Mentoring pages: the question form (a minor without consent refused next to the checkbox,
nothing written; the honeypot; the rate limit), the asker's page behind the link of the emails
(a GET confirms nothing), the mentor's opt-in and queue, a request's page (no address for
mentors, the team's consent check and connection, answers, moderation) and the team's queue.
Runs on SQLite and, with DATABASE_URL, on PostgreSQL."""

import re

import pytest
from django.urls import reverse

from maillage.accounts.models import PlaceRole
from maillage.community import mentoring, services
from maillage.community.models import Mentor, MentoringAnswer, MentoringRequest
from maillage.core.models import AuditEntry
from tests.community.factories import mentor_at, mentoring_request_at
from tests.factories import NetworkFactory, PlaceFactory, UserFactory, make_coordinator

pytestmark = pytest.mark.django_db

Status = MentoringRequest.Status
ASK = "/community/mentoring/"


def _role(place, role, **kwargs):
    user = UserFactory(language="en", **kwargs)
    PlaceRole.objects.create(user=user, place=place, role=role)
    return user


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def world():
    solozere, other = NetworkFactory(), NetworkFactory()
    polen, villefort, loco = (
        PlaceFactory(name="POLeN"),
        PlaceFactory(name="MSAP de Villefort"),
        PlaceFactory(name="La Loco"),
    )
    polen.networks.add(solozere)
    villefort.networks.add(solozere)
    loco.networks.add(other)
    return {
        "a": polen,
        "b": loco,
        "murielle": mentor_at(
            villefort,
            fields=["entrepreneurship"],
            full_name="Murielle Bastide",
            email="murielle@example.org",
            language="en",
        ),
        "potter": mentor_at(polen, fields=["crafts"], language="en"),
        "mentor_b": mentor_at(loco, fields=["entrepreneurship"], language="en"),
        "manager_a": _role(polen, PlaceRole.Role.MANAGER, full_name="Lucas Gestionnaire"),
        "staff_a": _role(polen, PlaceRole.Role.STAFF, full_name="Jean Dupont"),
        "manager_b": _role(loco, PlaceRole.Role.MANAGER, full_name="Luc Brun"),
        "member_a": _role(polen, PlaceRole.Role.RESIDENT, full_name="Catherine Vidal"),
        "coordinator": make_coordinator(solozere, language="en"),
    }


def _words(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def _question(world, **overrides) -> dict:
    return {
        "place": world["a"].slug,
        "name": "Justine",
        "email": "justine@example.org",
        "age_group": "15_17",
        "guardian_consent": "on",
        "topic": "business",
        "fields": ["entrepreneurship"],
        "question": "How does one start a digital business in Lozère?",
        **overrides,
    }


def _detail(found) -> str:
    return reverse("community:mentoring_detail", kwargs={"pk": found.pk})


def _secret_url(found) -> str:
    secret = mentoring.request_secret(found)
    return reverse("community:mentoring_request", kwargs={"secret": secret})


# Asking -----------------------------------------------------------------------------------------


def test_the_page_explains_mentoring_and_offers_the_places_of_the_networks(client, world):
    lonely = PlaceFactory(name="Nowhere Hub")
    response = client.get(ASK)
    assert response.status_code == 200
    text = _words(response)
    assert "A mentor is someone who works near you" in text
    assert "POLeN" in text and "La Loco" in text and "Nowhere Hub" not in text
    assert 'name="nickname"' in response.content.decode()  # the honeypot
    assert 'name="guardian_consent"' in response.content.decode()
    # Coming from a place's page, that place is chosen (even one in no network).
    response = client.get(ASK, {"place": lonely.slug})
    assert re.search(rf'<option value="{lonely.slug}" selected>', response.content.decode())


def test_a_minor_without_consent_is_refused_next_to_the_checkbox(
    client, world, mailoutbox, django_capture_on_commit_callbacks
):
    data = _question(world)
    del data["guardian_consent"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ASK, data)
    assert response.status_code == 400
    html = response.content.decode()
    error = re.search(r'<p class="error" id="id_guardian_consent_error"[^>]*>([^<]+)</p>', html)
    assert error and "parent or guardian must agree" in error.group(1)
    assert 'aria-describedby="id_guardian_consent_helptext id_guardian_consent_error"' in html
    assert not MentoringRequest.objects.exists()
    assert mailoutbox == []


def test_asking_without_an_account_sends_the_link_and_says_to_check_the_email(
    client, world, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ASK, _question(world))
    assert response.status_code == 302 and response["Location"] == ASK
    page = client.get(ASK)
    assert "Check your email" in _words(page) and "justine@example.org" in _words(page)
    assert "How it works" in _words(client.get(ASK))  # shown once
    asked = MentoringRequest.objects.get()
    assert (asked.status, asked.language, asked.asker) == (Status.UNCONFIRMED, "en", None)
    (email,) = mailoutbox
    assert email.to == ["justine@example.org"]
    assert _secret_url(asked) in email.body


def test_the_honeypot_keeps_robots_out(client, world):
    response = client.post(ASK, _question(world, nickname="buy cheap pills"))
    assert response.status_code == 400
    assert "looks automated" in _words(response)
    assert not MentoringRequest.objects.exists()


def test_questions_are_rate_limited_per_connection(client, world, settings):
    settings.MAILLAGE_MENTORING_PER_IP = "2/1h"
    for _ in range(2):
        assert client.post(ASK, _question(world)).status_code == 302
    response = client.post(ASK, _question(world))
    assert response.status_code == 429 and response["Retry-After"]
    assert MentoringRequest.objects.count() == 2


def test_an_account_holder_asks_without_giving_an_address(client, world):
    basile = _role(world["a"], PlaceRole.Role.NOMAD, full_name="Basile Martin")
    client.force_login(basile)
    page = client.get(ASK)
    assert 'name="email"' not in page.content.decode()
    assert 'value="Basile"' in page.content.decode()
    response = client.post(ASK, _question(world, age_group="over_25", email="x@example.org"))
    asked = MentoringRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == _secret_url(asked)
    assert (asked.asker, asked.email, asked.status) == (basile, basile.email, Status.OPEN)
    assert asked.question in _words(client.get(ASK))  # "Your questions"
    # Their request's page for mentors sends them to theirs.
    assert client.get(_detail(asked))["Location"] == _secret_url(asked)


# The asker's page -------------------------------------------------------------------------------


def test_the_link_confirms_only_with_the_button_then_shows_the_answers(
    client, world, django_capture_on_commit_callbacks
):
    asked = mentoring_request_at(world["a"], age_group="18_25", confirm=False)
    url = _secret_url(asked)
    page = client.get(url)
    assert page.status_code == 200 and page["Cache-Control"] == "private, no-store"
    assert "Confirm my address" in _words(page)
    asked.refresh_from_db()
    assert asked.status == Status.UNCONFIRMED  # a link scanner's GET confirms nothing
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, {"action": "confirm"}).status_code == 302
    asked.refresh_from_db()
    assert asked.status == Status.OPEN

    kept = mentoring.answer_send(request=asked, mentor=world["murielle"], body="Go to the BGE.")
    hidden = mentoring.answer_send(request=asked, mentor=world["murielle"], body="Spam link")
    services.hide_post(post=hidden, actor=world["manager_a"], reason="Advertising.")
    text = _words(client.get(url))
    assert kept.body in text and "Spam link" not in text and "Murielle B." in text
    assert "Confirm my address" not in text

    assert client.post(url, {"action": "close"}).status_code == 302
    asked.refresh_from_db()
    assert asked.status == Status.CLOSED
    assert "Close my question" not in _words(client.get(url))


def test_a_wrong_link_is_not_found(client, world):
    asked = mentoring_request_at(world["a"])
    assert client.get(f"/community/mentoring/r/{asked.pk}:forged/").status_code == 404
    assert client.get(f"/community/mentoring/r/{asked.pk}/").status_code == 404


# A request's page -------------------------------------------------------------------------------


def test_mentors_read_a_request_without_the_address_the_team_with_it(client, world):
    asked = mentoring_request_at(world["a"], name="Justine Roux", age_group="18_25")
    client.force_login(world["murielle"])
    page = client.get(_detail(asked))
    assert page.status_code == 200
    text = _words(page)
    assert "Justine" in text and "Roux" not in text and "justine@example.org" not in text
    assert "Send my answer" in text and "Put them in touch" not in text
    client.force_login(world["manager_a"])
    text = _words(client.get(_detail(asked)))
    assert "justine@example.org" in text and "Put them in touch" in text
    assert "Send my answer" not in text  # the team is not a mentor
    for person in ("mentor_b", "potter", "manager_b", "member_a"):
        client.force_login(world[person])
        assert client.get(_detail(asked)).status_code == 404
    # B's manager cannot connect or close it either: it does not exist for them.
    client.force_login(world["manager_b"])
    for action in ({"action": "connect", "mentor": world["murielle"].pk}, {"action": "close"}):
        assert client.post(_detail(asked), action).status_code == 404
    asked.refresh_from_db()
    assert asked.status == Status.OPEN and asked.mentor is None


def test_a_minors_request_is_invisible_to_mentors_until_the_team_confirms(
    client, world, mailoutbox, django_capture_on_commit_callbacks
):
    asked = mentoring_request_at(world["a"], age_group="15_17")
    client.force_login(world["murielle"])
    assert client.get(_detail(asked)).status_code == 404
    assert "How does one" not in _words(client.get("/community/mentoring/requests/"))
    # B's manager and a mentor cannot confirm it: it does not exist for them.
    for person in ("manager_b", "murielle"):
        client.force_login(world[person])
        response = client.post(_detail(asked), {"action": "consent", "checked": "on"})
        assert response.status_code == 404
    client.force_login(world["manager_a"])
    page = client.get(_detail(asked))
    assert "Confirm the consent" in _words(page)
    assert client.post(_detail(asked), {"action": "consent"}).status_code == 400  # not ticked
    asked.refresh_from_db()
    assert asked.status == Status.AWAITING_CONSENT
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_detail(asked), {"action": "consent", "checked": "on"})
    assert response.status_code == 302
    asked.refresh_from_db()
    assert asked.status == Status.OPEN and asked.consent_confirmed_by == world["manager_a"]
    assert AuditEntry.objects.filter(action="community.consent").count() == 1
    assert any(m.to == ["murielle@example.org"] for m in mailoutbox)
    client.force_login(world["murielle"])
    queue = _words(client.get("/community/mentoring/requests/"))
    assert "1 question" in queue
    assert client.get(_detail(asked)).status_code == 200


def test_a_mentor_answers_and_the_asker_is_emailed(
    client, world, mailoutbox, django_capture_on_commit_callbacks
):
    asked = mentoring_request_at(world["a"], language="es", email="lucia@example.org")
    mailoutbox.clear()
    client.force_login(world["murielle"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            _detail(asked), {"action": "answer", "body": "Ve a ver a la <b>BGE</b>."}
        )
    assert response.status_code == 302
    answer = MentoringAnswer.objects.get()
    assert answer.body == "Ve a ver a la <b>BGE</b>."
    (email,) = mailoutbox
    assert email.to == ["lucia@example.org"] and email.body.startswith("Hola")
    assert _secret_url(asked) in email.body
    html = client.get(_detail(asked)).content.decode()
    assert "Ve a ver a la &lt;b&gt;BGE&lt;/b&gt;." in html and "<b>BGE</b>" not in html
    # The team may not answer: it is not a mentor.
    client.force_login(world["manager_a"])
    assert client.post(_detail(asked), {"action": "answer", "body": "x"}).status_code == 403
    # Closed: a clear refusal, nothing written.
    mentoring.request_close(request=asked, actor=world["manager_a"])
    client.force_login(world["murielle"])
    response = client.post(_detail(asked), {"action": "answer", "body": "Again"}, follow=True)
    assert "answers are no longer possible" in _words(response)
    assert MentoringAnswer.objects.count() == 1


def test_answers_are_rate_limited(client, world, settings):
    settings.MAILLAGE_COMMUNITY_POSTS = "2/1h"
    asked = mentoring_request_at(world["a"])
    client.force_login(world["murielle"])
    for _ in range(2):
        client.post(_detail(asked), {"action": "answer", "body": "Hello"})
    response = client.post(_detail(asked), {"action": "answer", "body": "Hello"})
    assert response.status_code == 429
    assert MentoringAnswer.objects.count() == 2


def test_the_question_is_shown_as_plain_text(client, world):
    asked = mentoring_request_at(world["a"], question='<script>alert("x")</script> Help?')
    client.force_login(world["murielle"])
    html = client.get(_detail(asked)).content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Help?" in html
    html = client.get(_secret_url(asked)).content.decode()
    assert "<script>alert" not in html


def test_the_team_connects_a_mentor_and_the_page_offers_only_mentors_of_the_field(
    client, world, mailoutbox, django_capture_on_commit_callbacks
):
    asked = mentoring_request_at(world["a"])
    client.force_login(world["staff_a"])
    html = client.get(_detail(asked)).content.decode()
    assert f'<option value="{world["murielle"].pk}">Murielle B.</option>' in html
    assert f'value="{world["potter"].pk}"' not in html
    assert f'value="{world["mentor_b"].pk}"' not in html
    response = client.post(_detail(asked), {"action": "connect", "mentor": world["mentor_b"].pk})
    assert response.status_code == 400
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            _detail(asked), {"action": "connect", "mentor": world["murielle"].pk}
        )
    assert response.status_code == 302
    asked.refresh_from_db()
    assert asked.status == Status.CONNECTED and asked.mentor == world["murielle"]
    assert {m.to[0] for m in mailoutbox} == {"justine@example.org", "murielle@example.org"}
    # A mentor cannot connect or close.
    client.force_login(world["murielle"])
    assert client.post(_detail(asked), {"action": "close"}).status_code == 403
    assert "justine@example.org" in _words(client.get(_detail(asked)))  # put in touch now


def test_the_detail_page_holds_the_moderation_of_the_request_and_answers(client, world):
    asked = mentoring_request_at(world["a"])
    answer = mentoring.answer_send(request=asked, mentor=world["murielle"], body="Hi")
    client.force_login(world["manager_a"])
    html = client.get(_detail(asked)).content.decode()
    assert reverse("community:moderate", args=["mentoring", asked.pk]) in html
    assert reverse("community:moderate", args=["answer", answer.pk]) in html


# The queues and the opt-in ----------------------------------------------------------------------


def test_the_team_queue_is_for_the_team_of_the_place(client, world):
    adult = mentoring_request_at(world["a"], question="An adult asks this?")
    minor = mentoring_request_at(world["a"], age_group="under_15", question="A minor asks that?")
    url = reverse("community:mentoring_team", kwargs={"slug": world["a"].slug})
    for person in ("manager_a", "staff_a", "coordinator"):
        client.force_login(world[person])
        page = client.get(url)
        assert page.status_code == 200
        text = _words(page)
        assert text.index(minor.question) < text.index(adult.question)
        assert "1 minor's question waits" in text
    for person in ("manager_b", "member_a", "murielle"):
        client.force_login(world[person])
        assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url)["Location"].startswith("/accounts/login/")


def test_people_of_the_places_opt_in_as_mentors(client, world):
    url = reverse("community:mentoring_become")
    member = world["member_a"]
    client.force_login(member)
    assert client.post(url, {"is_active": "on", "about": "Hi"}).status_code == 400
    assert not Mentor.objects.filter(user=member).exists()
    response = client.post(
        url,
        {"is_active": "on", "fields": ["studies"], "skills": ["graphic_design"], "about": "Hi"},
    )
    assert response.status_code == 302
    assert Mentor.objects.get(user=member).fields == ["studies", "graphic_design"]
    page = client.get(url).content.decode()
    assert re.search(r'value="graphic_design"[^>]*checked', page)
    # A coordinator has no place: told how to become one, and refused.
    client.force_login(world["coordinator"])
    assert "Ask the team of your place" in _words(client.get(url))
    assert client.post(url, {"is_active": "on", "fields": ["studies"]}).status_code == 403
    assert not Mentor.objects.filter(user=world["coordinator"]).exists()


def test_the_mentor_queue_lists_only_the_fields_and_networks(client, world):
    mine = mentoring_request_at(world["a"], question="Entrepreneurship here?")
    mentoring_request_at(world["b"], question="Entrepreneurship elsewhere?")
    mentoring_request_at(world["a"], fields=["crafts"], question="Pottery here?")
    client.force_login(world["murielle"])
    text = _words(client.get("/community/mentoring/requests/"))
    assert mine.question in text
    assert "elsewhere" not in text and "Pottery" not in text
    client.force_login(world["member_a"])
    assert "You are not a mentor yet" in _words(client.get("/community/mentoring/requests/"))
