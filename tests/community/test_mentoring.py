"""Mentoring's rules (community/mentoring.py): Justine, 16, asks without an account; her address
is confirmed by the link of her email; the place's team checks her guardian's consent before any
mentor sees her question; Murielle, a mentor of the network's entrepreneurship field, answers
(emailed at once, in the asker's language, with her link) and the team puts them in touch. Mentors
of another network or of other fields never see it; the address reaches a mentor only once put
in touch. Runs on SQLite and, with DATABASE_URL, on PostgreSQL."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation

from maillage.accounts.models import PlaceRole
from maillage.community import mentoring, permissions, services, vocabulary
from maillage.community.models import Mentor, MentoringAnswer, MentoringRequest, Notification
from maillage.core.models import AuditEntry
from tests.community.factories import mentor_at, mentoring_request_at
from tests.factories import NetworkFactory, PlaceFactory, UserFactory, make_coordinator

pytestmark = pytest.mark.django_db

Status = MentoringRequest.Status


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
    solozere, other = NetworkFactory(name="Solozère"), NetworkFactory(name="Ailleurs")
    polen = PlaceFactory(name="POLeN", town="Mende")
    villefort = PlaceFactory(name="MSAP de Villefort", town="Villefort")
    loco = PlaceFactory(name="La Loco", town="Rodez")
    polen.networks.add(solozere)
    villefort.networks.add(solozere)
    loco.networks.add(other)
    return {
        "a": polen,
        "a2": villefort,
        "b": loco,
        "murielle": mentor_at(
            villefort,
            fields=["entrepreneurship", "digital_jobs"],
            about="J'ai créé mon agence web à Villefort en 2024.",
            full_name="Murielle Bastide",
            email="murielle@example.org",
        ),
        "potter": mentor_at(polen, fields=["crafts"], full_name="Marie Potière"),
        "mentor_b": mentor_at(loco, fields=["entrepreneurship"], full_name="Dan Smith"),
        "manager_a": _role(polen, PlaceRole.Role.MANAGER, full_name="Lucas Gestionnaire"),
        "staff_a": _role(polen, PlaceRole.Role.STAFF, full_name="Jean Dupont"),
        "manager_b": _role(loco, PlaceRole.Role.MANAGER, full_name="Luc Brun"),
        "coordinator": make_coordinator(solozere, full_name="Camille Coste"),
        "member_a": _role(polen, PlaceRole.Role.RESIDENT, full_name="Catherine Vidal"),
    }


def _to(mailoutbox, address):
    return [message for message in mailoutbox if message.to == [address]]


def _link(body: str) -> str:
    return re.search(r"https?://\S+/community/mentoring/r/\S+/", body).group(0)


def _justine(world, **kwargs):
    data = {
        "place": world["a"],
        "name": "Justine Roux",
        "email": "justine@example.org",
        "language": "fr",
        "age_group": "15_17",
        "guardian_consent": True,
        "topic": "business",
        "fields": ["entrepreneurship"],
        "question": "Comment devient-on créatrice d'entreprise dans le numérique ?",
    }
    return mentoring.request_ask(**{**data, **kwargs})


# Asking ---------------------------------------------------------------------------------------


def test_a_minor_without_the_guardian_consent_is_refused_and_nothing_is_written(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(ValidationError) as refusal,
    ):
        _justine(world, guardian_consent=False)
    assert "guardian" in " ".join(refusal.value.message_dict["guardian_consent"])
    assert set(refusal.value.message_dict) == {"guardian_consent"}
    assert not MentoringRequest.objects.exists()
    assert mailoutbox == []


def test_the_database_refuses_a_minor_without_consent_too(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        MentoringRequest.objects.create(
            place=world["a"],
            name="X",
            email="x@example.org",
            age_group="under_15",
            guardian_consent=False,
            topic="trade",
            question="?",
        )


def test_every_error_is_gathered_before_anything_is_written(world):
    unpublished = PlaceFactory(is_published=False)
    with pytest.raises(ValidationError) as refusal:
        mentoring.request_ask(
            place=unpublished,
            name="",
            email="not an address",
            age_group="42",
            topic="astrology",
            fields=["entrepreneurship", "nope"],
            question="   ",
        )
    assert set(refusal.value.message_dict) == {
        "place",
        "name",
        "email",
        "age_group",
        "topic",
        "fields",
        "question",
    }
    assert not MentoringRequest.objects.exists()


def test_without_an_account_the_address_is_confirmed_by_the_link_of_the_email(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        asked = _justine(world, age_group="18_25", guardian_consent=False)
    assert asked.status == Status.UNCONFIRMED and asked.email_confirmed_at is None
    (email,) = _to(mailoutbox, "justine@example.org")
    link = _link(email.body)
    secret = link.rstrip("/").rsplit("/", 1)[1]
    assert mentoring.request_by_secret(secret) == asked
    # Nobody hears of it before the confirmation.
    assert len(mailoutbox) == 1
    assert not mentoring.requests_for_mentor(world["murielle"]).exists()

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = mentoring.request_confirm(secret)
    assert confirmed.status == Status.OPEN and confirmed.email_confirmed_at is not None
    assert list(mentoring.requests_for_mentor(world["murielle"])) == [confirmed]
    # Confirming again changes nothing, a forged link confirms nothing.
    assert mentoring.request_confirm(secret).status == Status.OPEN
    assert mentoring.request_confirm(f"{asked.pk}:forged") is None
    assert mentoring.request_confirm(str(asked.pk)) is None


def test_an_open_request_is_emailed_to_the_mentors_of_its_fields_without_the_address(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        mentoring_request_at(world["a"], age_group="18_25", name="Justine Roux")
    (news,) = _to(mailoutbox, "murielle@example.org")
    assert "Justine" in news.body and "Roux" not in news.body
    assert "justine@example.org" not in news.body
    assert "Comment crée-t-on son entreprise" in news.body
    with translation.override(world["murielle"].language):
        field = vocabulary.field("entrepreneurship").label
        assert f"· {field}" in news.body and "['" not in news.body
    assert re.search(r"/community/mentoring/\d+/", news.body)
    # Not the potter (another field), not the mentor of another network, not the team.
    for person in ("potter", "mentor_b", "manager_a"):
        assert not _to(mailoutbox, world[person].email)


def test_an_account_needs_no_confirmation_and_its_address_and_language_are_used(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    basile = _role(world["a"], PlaceRole.Role.NOMAD, full_name="Basile Martin", language="es")
    with django_capture_on_commit_callbacks(execute=True):
        asked = mentoring.request_ask(
            place=world["a"],
            asker=basile,
            email="ignored@example.org",
            language="fr",
            age_group="over_25",
            topic="business",
            fields=["entrepreneurship"],
            question="Ouvrir un restaurant à Villefort ?",
        )
    assert asked.status == Status.OPEN
    assert (asked.name, asked.email, asked.language) == ("Basile", basile.email, "es")
    assert list(mentoring.asker_requests(basile)) == [asked]
    assert _to(mailoutbox, "murielle@example.org")
    assert not _to(mailoutbox, basile.email)


def test_a_request_naming_no_field_goes_to_every_mentor_of_the_networks(
    world, django_capture_on_commit_callbacks
):
    asked = mentoring_request_at(world["a"], fields=[])
    for person in ("murielle", "potter"):
        assert asked in mentoring.requests_for_mentor(world[person])
        assert permissions.can_see_request(world[person], asked)
    assert asked not in mentoring.requests_for_mentor(world["mentor_b"])


# A minor's consent ------------------------------------------------------------------------------


def test_a_minors_request_stays_with_the_team_until_they_confirm_consent(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        asked = mentoring_request_at(world["a"], age_group="15_17")
    assert asked.status == Status.AWAITING_CONSENT and asked.guardian_consent
    murielle = world["murielle"]
    assert not mentoring.requests_for_mentor(murielle).exists()
    assert not permissions.can_see_request(murielle, asked)
    assert not _to(mailoutbox, murielle.email)
    # The team of the place is told (with the address, to reach the guardian).
    for person in ("manager_a", "staff_a"):
        (news,) = _to(mailoutbox, world[person].email)
        assert "justine@example.org" in news.body
    assert list(mentoring.requests_for_team(world["a"])) == [asked]

    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        opened = mentoring.consent_confirm(request=asked, actor=world["staff_a"])
    assert opened.status == Status.OPEN
    assert opened.consent_confirmed_by == world["staff_a"] and opened.consent_confirmed_at
    entry = AuditEntry.objects.get(action="community.consent")
    assert entry.place == world["a"] and entry.target_id == str(asked.pk)
    assert list(mentoring.requests_for_mentor(murielle)) == [opened]
    assert "Roux" not in _to(mailoutbox, murielle.email)[0].body
    # Justine is told her question is open.
    assert _to(mailoutbox, "justine@example.org")


def test_only_the_team_of_the_place_confirms_consent(world):
    asked = mentoring_request_at(world["a"], age_group="under_15")
    for person in ("manager_b", "member_a", "murielle"):
        with pytest.raises(PermissionError):
            mentoring.consent_confirm(request=asked, actor=world[person])
    asked.refresh_from_db()
    assert asked.status == Status.AWAITING_CONSENT and asked.consent_confirmed_at is None
    # The coordinator of the place's network may.
    assert mentoring.consent_confirm(request=asked, actor=world["coordinator"]).status == "open"
    with pytest.raises(mentoring.MentoringConflict):
        mentoring.consent_confirm(request=asked, actor=world["manager_a"])


def test_consent_is_not_confirmed_before_the_address_nor_for_an_adult(world):
    unconfirmed = mentoring_request_at(world["a"], age_group="15_17", confirm=False)
    with pytest.raises(mentoring.MentoringConflict):
        mentoring.consent_confirm(request=unconfirmed, actor=world["manager_a"])
    adult = mentoring_request_at(world["a"], age_group="over_25")
    with pytest.raises(mentoring.MentoringConflict):
        mentoring.consent_confirm(request=adult, actor=world["manager_a"])
    assert not AuditEntry.objects.filter(action="community.consent").exists()


# Who sees what ----------------------------------------------------------------------------------


def test_mentors_of_another_network_or_other_fields_never_see_a_request(world):
    asked = mentoring_request_at(world["a"])
    assert permissions.can_see_request(world["murielle"], asked)
    for person in ("mentor_b", "potter", "member_a", "manager_b"):
        assert not permissions.can_see_request(world[person], asked)
        assert asked not in mentoring.requests_for_mentor(world[person])
    # A mentor taking a break sees nothing.
    mentoring.mentor_save(user=world["murielle"], fields=[], about="", is_active=False)
    world["murielle"].refresh_from_db()
    assert not mentoring.requests_for_mentor(world["murielle"]).exists()
    assert Mentor.objects.get(user=world["murielle"]).fields == [
        "entrepreneurship",
        "digital_jobs",
    ]


def test_a_hidden_request_leaves_the_mentors_queue(world):
    asked = mentoring_request_at(world["a"])
    services.hide_post(post=asked, actor=world["manager_a"], reason="Des données personnelles.")
    assert not mentoring.requests_for_mentor(world["murielle"]).exists()
    asked.refresh_from_db()
    assert not permissions.can_answer_request(world["murielle"], asked)
    assert list(mentoring.requests_for_team(world["a"])) == [asked]


def test_the_address_is_for_the_team_and_the_mentor_put_in_touch_only(world):
    asked = mentoring_request_at(world["a"])
    assert not permissions.sees_asker_email(world["murielle"], asked)
    assert permissions.sees_asker_email(world["manager_a"], asked)
    assert not permissions.sees_asker_email(world["manager_b"], asked)
    connected = mentoring.connect(request=asked, mentor=world["murielle"], actor=world["manager_a"])
    assert permissions.sees_asker_email(world["murielle"], connected)


def test_the_team_queue_puts_consents_to_confirm_first(world):
    adult = mentoring_request_at(world["a"], age_group="over_25")
    minor = mentoring_request_at(world["a"], age_group="15_17")
    closed = mentoring.request_close(
        request=mentoring_request_at(world["a"]), actor=world["manager_a"]
    )
    mentoring_request_at(world["a"], confirm=False)  # unconfirmed: not in the queue
    mentoring_request_at(world["b"])  # another place
    assert list(mentoring.requests_for_team(world["a"])) == [minor, adult, closed]


# Answers ----------------------------------------------------------------------------------------


def test_an_answer_is_emailed_at_once_in_the_askers_language_with_the_link(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    asked = mentoring_request_at(
        world["a"], name="Lucía", email="lucia@example.org", language="es", age_group="18_25"
    )
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        answer = mentoring.answer_send(
            request=asked,
            mentor=world["murielle"],
            body="Commence par la boutique de gestion <b>BGE</b> à Mende.",
        )
    assert answer.body == "Commence par la boutique de gestion <b>BGE</b> à Mende."
    (email,) = _to(mailoutbox, "lucia@example.org")
    assert email.body.startswith("Hola")  # the asker's language
    assert "Commence par la boutique de gestion <b>BGE</b> à Mende." in email.body
    assert "Murielle B." in email.body and "murielle@example.org" not in email.body
    secret = _link(email.body).rstrip("/").rsplit("/", 1)[1]
    assert mentoring.request_by_secret(secret) == asked


def test_an_answer_to_an_account_is_urgent_news(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    asker = UserFactory(full_name="Dan Smith", language="en")
    services.notification_settings_save(user=asker, frequency="weekly", notify_matches=True)
    asked = mentoring_request_at(world["a"], asker=asker)
    with django_capture_on_commit_callbacks(execute=True):
        mentoring.answer_send(request=asked, mentor=world["murielle"], body="Go and see BGE.")
    (email,) = _to(mailoutbox, asker.email)  # at once despite the weekly digest
    assert "Go and see BGE." in email.body
    assert Notification.objects.get(user=asker).sent_at is not None


def test_answers_are_refused_on_a_closed_request_and_to_other_mentors(world):
    asked = mentoring_request_at(world["a"])
    for person in ("potter", "mentor_b", "manager_a"):
        with pytest.raises(PermissionError):
            mentoring.answer_send(request=asked, mentor=world[person], body="Bonjour")
    with pytest.raises(ValidationError) as empty:
        mentoring.answer_send(request=asked, mentor=world["murielle"], body="   ")
    assert "body" in empty.value.message_dict
    mentoring.request_close(request=asked, actor=world["manager_a"])
    with pytest.raises(mentoring.MentoringConflict) as closed:
        mentoring.answer_send(request=asked, mentor=world["murielle"], body="Bonjour")
    assert "closed" in closed.value.messages[0]
    assert not MentoringAnswer.objects.exists()


def test_hidden_answers_are_not_read_by_the_asker(world):
    asked = mentoring_request_at(world["a"])
    kept = mentoring.answer_send(request=asked, mentor=world["murielle"], body="Va voir la BGE.")
    rude = mentoring.answer_send(request=asked, mentor=world["murielle"], body="Un lien douteux")
    services.hide_post(post=rude, actor=world["manager_a"], reason="Publicité.")
    assert list(mentoring.answers_for_asker(asked)) == [kept]
    assert list(mentoring.answers_visible_to(world["manager_a"], asked)) == [kept, rude]
    assert list(mentoring.answers_visible_to(world["murielle"], asked)) == [kept, rude]


# Connecting and closing -------------------------------------------------------------------------


def test_the_team_puts_a_minor_in_touch_with_a_mentor(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    asked = mentoring_request_at(world["a"], age_group="15_17")
    mentoring.consent_confirm(request=asked, actor=world["manager_a"])
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        connected = mentoring.connect(
            request=asked, mentor=world["murielle"], actor=world["manager_a"]
        )
    assert connected.status == Status.CONNECTED and connected.mentor == world["murielle"]
    entry = AuditEntry.objects.get(action="community.connect")
    assert entry.details == {"mentor": world["murielle"].pk}
    (to_justine,) = _to(mailoutbox, "justine@example.org")
    assert "Murielle B." in to_justine.body and "agence web" in to_justine.body
    assert "murielle@example.org" not in to_justine.body
    assert "POLeN" in to_justine.body  # meet at the place
    (to_murielle,) = _to(mailoutbox, "murielle@example.org")
    assert "justine@example.org" in to_murielle.body and "Roux" not in to_murielle.body
    with pytest.raises(mentoring.MentoringConflict):
        mentoring.connect(request=asked, mentor=world["murielle"], actor=world["manager_a"])


def test_only_the_team_connects_and_only_an_active_mentor_of_the_networks(world):
    asked = mentoring_request_at(world["a"])
    for person in ("manager_b", "murielle"):
        with pytest.raises(PermissionError):
            mentoring.connect(request=asked, mentor=world["murielle"], actor=world[person])
    for person in ("mentor_b", "member_a"):
        with pytest.raises(ValidationError) as refusal:
            mentoring.connect(request=asked, mentor=world[person], actor=world["manager_a"])
        assert "mentor" in refusal.value.message_dict
    asked.refresh_from_db()
    assert asked.status == Status.OPEN and asked.mentor is None
    minor = mentoring_request_at(world["a"], age_group="15_17")
    with pytest.raises(mentoring.MentoringConflict):
        mentoring.connect(request=minor, mentor=world["murielle"], actor=world["manager_a"])


def test_the_asker_closes_with_the_link_the_team_too(world):
    asked = mentoring_request_at(world["a"])
    other = mentoring_request_at(world["a"])
    with pytest.raises(PermissionError):
        mentoring.request_close(request=asked, secret=mentoring.request_secret(other))
    with pytest.raises(PermissionError):
        mentoring.request_close(request=asked, actor=world["murielle"])
    closed = mentoring.request_close(request=asked, secret=mentoring.request_secret(asked))
    assert closed.status == Status.CLOSED
    assert not AuditEntry.objects.filter(action="community.mentoring_close").exists()
    with pytest.raises(mentoring.MentoringConflict):
        mentoring.request_close(request=asked, secret=mentoring.request_secret(asked))
    mentoring.request_close(request=other, actor=world["staff_a"])
    assert AuditEntry.objects.filter(action="community.mentoring_close").count() == 1


# Mentors ----------------------------------------------------------------------------------------


def test_people_of_the_places_opt_in_as_mentors_with_known_fields(world):
    stranger = UserFactory()
    with pytest.raises(PermissionError):
        mentoring.mentor_save(user=stranger, fields=["crafts"], about="", is_active=True)
    with pytest.raises(PermissionError):  # a coordinator has no role in a place
        mentoring.mentor_save(user=world["coordinator"], fields=["crafts"])
    member = world["member_a"]
    with pytest.raises(ValidationError) as none:
        mentoring.mentor_save(user=member, fields=[], about="", is_active=True)
    assert "fields" in none.value.message_dict
    with pytest.raises(ValidationError):
        mentoring.mentor_save(user=member, fields=["astrology"], about="", is_active=True)
    with pytest.raises(ValidationError):
        mentoring.mentor_save(user=member, fields=["crafts"], about="x" * 2001)
    assert not Mentor.objects.filter(user=member).exists()
    # Fields of the mentoring list and skills of the shared vocabulary alike, each once.
    record = mentoring.mentor_save(
        user=member, fields=["studies", "graphic_design", "studies"], about="  Graphiste.  "
    )
    assert (record.fields, record.about, record.is_active) == (
        ["studies", "graphic_design"],
        "Graphiste.",
        True,
    )
    member.refresh_from_db()
    assert permissions.is_mentor(member)
