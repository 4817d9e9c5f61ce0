"""Reports and moderation shared by every part of the community exchange: who may hide a post
(the team of its place, the coordinators of its networks, never another place's team), the
author told why in their language, reports closed with the decision, pages and API."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from maillage.accounts.models import PlaceRole
from maillage.accounts.services import api_token_create
from maillage.community import services
from maillage.community.models import (
    Idea,
    Item,
    MentoringAnswer,
    MentoringRequest,
    Opportunity,
    Report,
    SkillPost,
)
from maillage.core.models import AuditEntry
from tests.factories import NetworkFactory, PlaceFactory, UserFactory, make_coordinator

pytestmark = pytest.mark.django_db


def _role(place, role, **kwargs):
    user = UserFactory(**kwargs)
    PlaceRole.objects.create(user=user, place=place, role=role)
    return user


@pytest.fixture(autouse=True)
def _messages_in_english():
    """The assertions read the English messages; the site's default language is French."""
    with translation.override("en"):
        yield


@pytest.fixture
def world():
    network = NetworkFactory()
    place_a, place_b = PlaceFactory(name="POLeN"), PlaceFactory(name="La Loco")
    place_a.networks.add(network)
    people = {
        "member_a": _role(place_a, PlaceRole.Role.RESIDENT, full_name="Roald Sandvik"),
        "other_a": _role(place_a, PlaceRole.Role.NOMAD, full_name="Basile Martin"),
        "staff_a": _role(place_a, PlaceRole.Role.STAFF, full_name="Jean Dupont"),
        "manager_a": _role(place_a, PlaceRole.Role.MANAGER, full_name="Marie Rouvière"),
        "manager_b": _role(place_b, PlaceRole.Role.MANAGER, full_name="Luc Brun"),
        "member_b": _role(place_b, PlaceRole.Role.RESIDENT, full_name="Dan Smith"),
        "coordinator": make_coordinator(network, full_name="Gérard Coste"),
    }
    return {"network": network, "a": place_a, "b": place_b, **people}


def _skill_post(world, **kwargs):
    data = {
        "author": world["member_a"],
        "place": world["a"],
        "kind": SkillPost.Kind.OFFER,
        "title": "Je peux apprendre à souder",
        "body": "<p>Le mardi soir.</p>",
    }
    return SkillPost.objects.create(**{**data, **kwargs})


def _every_kind(world) -> dict:
    author, place = world["member_a"], world["a"]
    request = MentoringRequest.objects.create(
        place=place,
        asker=author,
        name="Roald",
        email=author.email,
        age_group=MentoringRequest.AgeGroup.OVER_25,
        topic=MentoringRequest.Topic.TRADE,
        question="Comment devenir menuisier ?",
        status=MentoringRequest.Status.OPEN,
    )
    return {
        "skill": _skill_post(world),
        "opportunity": Opportunity.objects.create(
            author=author, place=place, kind=Opportunity.Kind.JOB, title="Un emploi"
        ),
        "item": Item.objects.create(
            author=author, place=place, mode=Item.Mode.GIVE, title="Des livres"
        ),
        "idea": Idea.objects.create(author=author, place=place, title="Un atelier vélo"),
        "mentoring": request,
        "answer": MentoringAnswer.objects.create(
            request=request, mentor=world["other_a"], body="Allez voir un artisan."
        ),
    }


# Services -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(services.MODERATED))
def test_the_team_hides_any_kind_of_post_and_its_author_is_told_why(
    world, kind, django_capture_on_commit_callbacks
):
    post = _every_kind(world)[kind]
    author = world["other_a"] if kind == "answer" else world["member_a"]
    author.language = "es"
    author.save()
    with django_capture_on_commit_callbacks(execute=True):
        services.hide_post(post=post, actor=world["staff_a"], reason="Publicité déguisée")

    post.refresh_from_db()
    assert post.is_hidden and post.hidden_by == world["staff_a"]
    assert post.hidden_reason == "Publicité déguisée"
    (message,) = mail.outbox
    assert message.to == [author.email]
    assert "Your post was hidden" not in message.subject  # in Spanish
    assert "Publicité déguisée" in message.body
    entry = AuditEntry.objects.get(action="community.hide")
    assert entry.place == world["a"] and entry.details["kind"] == kind


@pytest.mark.parametrize("who", ["manager_b", "member_a", "other_a", "member_b"])
def test_nobody_else_hides_a_post(world, who):
    post = _skill_post(world)
    with pytest.raises(PermissionError):
        services.hide_post(post=post, actor=world[who], reason="Non")
    post.refresh_from_db()
    assert not post.is_hidden
    assert not AuditEntry.objects.filter(action="community.hide").exists()


def test_coordinators_of_the_place_network_moderate_it(world):
    post = _skill_post(world)
    services.hide_post(post=post, actor=world["coordinator"], reason="Hors sujet")
    assert SkillPost.objects.get(pk=post.pk).is_hidden
    services.show_post(post=post, actor=world["coordinator"])
    assert not SkillPost.objects.get(pk=post.pk).is_hidden


def test_hiding_needs_a_reason_and_happens_once(world):
    post = _skill_post(world)
    with pytest.raises(ValidationError) as error:
        services.hide_post(post=post, actor=world["manager_a"], reason="  ")
    assert "reason" in error.value.message_dict
    services.hide_post(post=post, actor=world["manager_a"], reason="Spam")
    with pytest.raises(ValidationError):
        services.hide_post(post=post, actor=world["manager_a"], reason="Encore")
    assert AuditEntry.objects.filter(action="community.hide").count() == 1


def test_a_report_reaches_the_team_once_per_person_and_closes_with_the_decision(
    world, django_capture_on_commit_callbacks
):
    post = _skill_post(world)
    with django_capture_on_commit_callbacks(execute=True):
        report = services.report_post(
            post=post, reporter=world["other_a"], reason="spam", comment="Il vend des choses"
        )
    assert report.place == world["a"]
    told = sorted(message.to[0] for message in mail.outbox)
    assert told == sorted([world["staff_a"].email, world["manager_a"].email])
    assert all("Il vend des choses" in message.body for message in mail.outbox)
    with pytest.raises(ValidationError, match="already"):
        services.report_post(post=post, reporter=world["other_a"], reason="other")
    assert Report.objects.count() == 1

    services.hide_post(post=post, actor=world["manager_a"], reason="Publicité")
    report.refresh_from_db()
    assert report.outcome == Report.Outcome.HIDDEN and report.resolved_by == world["manager_a"]
    assert not services.open_reports([world["a"]]).exists()


def test_keeping_a_post_closes_its_reports(world):
    post = _skill_post(world)
    services.report_post(post=post, reporter=world["other_a"], reason="offensive")
    services.report_post(post=post, reporter=world["member_b"], reason="offensive")
    assert services.keep_post(post=post, actor=world["staff_a"]) == 2
    assert set(Report.objects.values_list("outcome", flat=True)) == {"kept"}
    assert not SkillPost.objects.get(pk=post.pk).is_hidden


def test_a_report_with_an_unknown_reason_writes_nothing(world):
    with pytest.raises(ValidationError):
        services.report_post(post=_skill_post(world), reporter=world["other_a"], reason="boring")
    assert not Report.objects.exists()


def test_a_place_without_a_team_is_moderated_by_its_coordinators(
    world, django_capture_on_commit_callbacks
):
    lonely = PlaceFactory()
    lonely.networks.add(world["network"])
    author = _role(lonely, PlaceRole.Role.RESIDENT)
    post = SkillPost.objects.create(author=author, place=lonely, kind="request", title="Aide")
    with django_capture_on_commit_callbacks(execute=True):
        services.report_post(post=post, reporter=world["member_a"], reason="spam")
    assert [message.to for message in mail.outbox] == [[world["coordinator"].email]]


# Pages ----------------------------------------------------------------------------------------


def test_the_report_page_sends_a_report_and_comes_back_to_the_post(world, client):
    post = _every_kind(world)["idea"]
    client.force_login(world["other_a"])
    url = reverse("community:report", args=["idea", post.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"reason": "spam", "comment": "Pub"})
    assert response.status_code == 302
    assert response["Location"] == reverse("community:idea", kwargs={"pk": post.pk})
    assert Report.objects.get().comment == "Pub"


def test_the_report_page_refuses_a_missing_reason_and_writes_nothing(world, client):
    post = _skill_post(world)
    client.force_login(world["other_a"])
    response = client.post(reverse("community:report", args=["skill", post.pk]), {})
    assert response.status_code == 400
    assert not Report.objects.exists()


def test_nobody_reports_what_they_cannot_read(world, client):
    post = _skill_post(world, hidden_at="2026-11-01T10:00:00Z", hidden_reason="Spam")
    client.force_login(world["other_a"])
    assert client.get(reverse("community:report", args=["skill", post.pk])).status_code == 404
    assert client.get(reverse("community:report", args=["nonsense", 1])).status_code == 404


def test_another_place_team_cannot_moderate_and_learns_nothing(world, client):
    post = _skill_post(world)
    client.force_login(world["manager_b"])
    url = reverse("community:moderate", args=["skill", post.pk])
    assert client.post(url, {"action": "hide", "reason": "Non"}).status_code == 404
    assert not SkillPost.objects.get(pk=post.pk).is_hidden
    queue = reverse("community:moderation", kwargs={"slug": world["a"].slug})
    assert client.get(queue).status_code == 404


def test_the_queue_lists_reports_and_hidden_posts_and_the_team_decides_there(world, client):
    posts = _every_kind(world)
    services.report_post(post=posts["skill"], reporter=world["other_a"], reason="spam")
    services.report_post(post=posts["answer"], reporter=world["member_a"], reason="unsafe")
    services.hide_post(post=posts["idea"], actor=world["manager_a"], reason="Doublon")
    client.force_login(world["staff_a"])
    queue = reverse("community:moderation", kwargs={"slug": world["a"].slug})
    page = client.get(queue).content.decode()
    assert posts["skill"].title in page and "Doublon" in page
    assert "Allez voir un artisan." in page  # an answer is named by its words

    url = reverse("community:moderate", args=["skill", posts["skill"].pk])
    response = client.post(url, {"action": "hide", "reason": "Spam", "next": "queue"})
    assert response["Location"] == queue
    assert SkillPost.objects.get(pk=posts["skill"].pk).is_hidden
    client.post(reverse("community:moderate", args=["idea", posts["idea"].pk]), {"action": "show"})
    assert not Idea.objects.get(pk=posts["idea"].pk).is_hidden


def test_a_hide_without_reason_is_refused_with_a_message(world, client):
    post = _skill_post(world)
    world["manager_a"].language = "en"
    world["manager_a"].save()
    client.force_login(world["manager_a"])
    url = reverse("community:moderate", args=["skill", post.pk])
    response = client.post(url, {"action": "hide", "reason": ""}, follow=True)
    assert "Tell the author why the post is hidden." in response.content.decode()
    assert not SkillPost.objects.get(pk=post.pk).is_hidden


# API ------------------------------------------------------------------------------------------


def _bearer(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(user=user, name='test')[1]}"}


def test_api_report_then_team_hides_and_keeps(world, client):
    post = _skill_post(world)
    response = client.post(
        "/api/v1/community/reports",
        {"kind": "skill", "id": post.pk, "reason": "spam"},
        content_type="application/json",
        **_bearer(world["other_a"]),
    )
    assert response.status_code == 201, response.content
    assert response.json()["place"] == world["a"].slug
    again = client.post(
        "/api/v1/community/reports",
        {"kind": "skill", "id": post.pk, "reason": "spam"},
        content_type="application/json",
        **_bearer(world["other_a"]),
    )
    assert again.status_code == 409

    listed = client.get(
        f"/api/v1/community/reports?place={world['a'].slug}", **_bearer(world["staff_a"])
    )
    assert listed.json()["count"] == 1
    refused = client.get(
        f"/api/v1/community/reports?place={world['a'].slug}", **_bearer(world["manager_b"])
    )
    assert refused.status_code == 404
    member = client.get(
        f"/api/v1/community/reports?place={world['a'].slug}", **_bearer(world["member_a"])
    )
    assert member.status_code == 403

    hide_url = f"/api/v1/community/moderation/skill/{post.pk}/hide"
    assert (
        client.post(
            hide_url,
            {"reason": "x"},
            content_type="application/json",
            **_bearer(world["manager_b"]),
        ).status_code
        == 403
    )
    hidden = client.post(
        hide_url, {"reason": "Spam"}, content_type="application/json", **_bearer(world["staff_a"])
    )
    assert hidden.status_code == 200 and hidden.json()["hidden"] is True
    twice = client.post(
        hide_url, {"reason": "Spam"}, content_type="application/json", **_bearer(world["staff_a"])
    )
    assert twice.status_code == 409
    shown = client.post(
        f"/api/v1/community/moderation/skill/{post.pk}/show", **_bearer(world["staff_a"])
    )
    assert shown.json()["hidden"] is False


def test_api_report_of_an_unknown_kind_is_a_400(world, client):
    response = client.post(
        "/api/v1/community/reports",
        {"kind": "poem", "id": 1, "reason": "spam"},
        content_type="application/json",
        **_bearer(world["other_a"]),
    )
    assert response.status_code == 400
    assert "kind" in response.json()["details"]


def test_api_report_needs_an_account(world, client):
    post = _skill_post(world)
    response = client.post(
        "/api/v1/community/reports",
        {"kind": "skill", "id": post.pk, "reason": "spam"},
        content_type="application/json",
    )
    assert response.status_code == 401
    assert not Report.objects.exists()
