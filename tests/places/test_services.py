"""Directory writes: places and their history, hours, seasons, proposals and their moderation."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from maillage.places import services
from maillage.places.models import (
    OpeningHours,
    Place,
    PlaceProposal,
    PlaceRevision,
    PlaceTerm,
    Season,
)
from tests.factories import NetworkFactory, PlaceFactory, SeasonFactory, UserFactory

pytestmark = pytest.mark.django_db

MENDE = {"name": "La Fabrique", "town": "Mende", "latitude": 44.5181, "longitude": 3.5006}


def revisions(place):
    return list(PlaceRevision.objects.filter(place=place).order_by("id"))


def test_place_create_records_a_created_revision():
    author = UserFactory()

    place = services.place_create(data={**MENDE, "services": ["wifi"]}, author=author)

    (revision,) = revisions(place)
    assert revision.source == PlaceRevision.Source.CREATED
    assert revision.author == author
    assert revision.changes["name"] == ["", "La Fabrique"]
    assert revision.changes["latitude"][1] == 44.5181
    assert revision.changes["services"] == [[], ["wifi"]]
    assert place.slug == "la-fabrique"
    assert place.town_key == "mende"
    assert "fabrique" in place.search_text
    assert place.services == ["wifi"]


def test_an_imported_place_keeps_the_import_source():
    place = services.place_create(data=MENDE, source=PlaceRevision.Source.IMPORT)

    assert [r.source for r in revisions(place)] == [PlaceRevision.Source.IMPORT]


def test_place_update_records_only_the_changed_fields_with_old_and_new_values():
    place = services.place_create(data={**MENDE, "services": ["wifi"]})
    editor = UserFactory()

    services.place_update(
        place=place,
        data={**MENDE, "summary": "Un tiers-lieu", "services": ["wifi", "fablab"]},
        author=editor,
    )

    _created, edited = revisions(place)
    assert edited.source == PlaceRevision.Source.EDIT
    assert edited.author == editor
    assert edited.changes == {
        "summary": ["", "Un tiers-lieu"],
        "services": [["wifi"], ["fablab", "wifi"]],
    }
    place.refresh_from_db()
    assert place.summary == "Un tiers-lieu"
    assert place.services == ["fablab", "wifi"]


def test_no_revision_when_nothing_changed():
    place = services.place_create(data={**MENDE, "languages": ["fr", "oc"]})

    services.place_update(place=place, data={**MENDE, "languages": ["oc", "fr"]})
    services.place_update(place=place, data={"name": "La Fabrique", "summary": None})

    assert len(revisions(place)) == 1


def test_network_changes_are_recorded():
    network = NetworkFactory(slug="lozere")
    place = services.place_create(data=MENDE)

    services.place_update(place=place, data={}, networks=[network])
    services.place_update(place=place, data={}, networks=[network])

    assert [r.changes for r in revisions(place)][1:] == [{"networks": [[], ["lozere"]]}]


def test_an_invalid_update_changes_nothing():
    place = services.place_create(data=MENDE)

    with pytest.raises(ValidationError):
        services.place_update(place=place, data={"latitude": 95.0, "summary": "Moved"})

    place.refresh_from_db()
    assert (place.latitude, place.summary) == (44.5181, "")
    assert len(revisions(place)) == 1


def test_unique_slug_adds_the_town_then_a_number():
    first = services.place_create(data=MENDE)
    second = services.place_create(data=MENDE)
    third = services.place_create(data=MENDE)
    fourth = services.place_create(data=MENDE)
    elsewhere = services.place_create(data={**MENDE, "town": "Florac"})

    assert [p.slug for p in (first, second, third, fourth, elsewhere)] == [
        "la-fabrique",
        "la-fabrique-mende",
        "la-fabrique-mende-2",
        "la-fabrique-mende-3",
        "la-fabrique-florac",
    ]
    assert services.unique_slug("La Fabrique", "Mende", exclude_pk=first.pk) == "la-fabrique"
    assert services.unique_slug("!!!") == "lieu"
    assert services.unique_slug("Café Élan") == "cafe-elan"


def test_unknown_vocabulary_codes_are_refused():
    place = PlaceFactory()

    with pytest.raises(ValidationError) as error:
        services._set_terms(place, PlaceTerm.Kind.SERVICE, ["wifi", "teleporter"])

    assert "service" in error.value.message_dict
    assert "teleporter" in str(error.value)
    assert not place.terms.exists()
    # A language code is not a service code.
    with pytest.raises(ValidationError):
        services._set_terms(place, PlaceTerm.Kind.SERVICE, ["oc"])


def test_a_place_with_an_unknown_code_is_not_created():
    with pytest.raises(ValidationError):
        services.place_create(data={**MENDE, "services": ["teleporter"]})

    assert not Place.objects.exists()
    assert not PlaceRevision.objects.exists()


NINE, NOON, TWO, SIX = dt.time(9), dt.time(12), dt.time(14), dt.time(18)


def test_week_hours_are_replaced_and_recorded():
    place = PlaceFactory()
    author = UserFactory()

    services.place_week_hours_set(
        place=place, intervals=[(0, NINE, NOON), (0, TWO, SIX), (2, NINE, NOON)], author=author
    )
    services.place_week_hours_set(place=place, intervals=[(0, NINE, SIX)], author=author)

    assert [(h.weekday, h.opens, h.closes) for h in place.hours.all()] == [(0, NINE, SIX)]
    first, second = revisions(place)
    assert first.author == author
    assert first.changes == {
        "hours": [
            [],
            [[0, "09:00:00", "12:00:00"], [0, "14:00:00", "18:00:00"], [2, "09:00:00", "12:00:00"]],
        ]
    }
    assert second.changes["hours"][1] == [[0, "09:00:00", "18:00:00"]]


def test_setting_the_same_hours_again_records_nothing():
    place = PlaceFactory()
    services.place_week_hours_set(place=place, intervals=[(0, NINE, NOON), (0, NOON, SIX)])

    services.place_week_hours_set(place=place, intervals=[(0, NOON, SIX), (0, NINE, NOON)])

    assert len(revisions(place)) == 1
    assert place.hours.count() == 2


@pytest.mark.parametrize(
    "intervals",
    [
        [(0, NINE, SIX), (0, NOON, TWO)],  # one inside the other
        [(0, NINE, TWO), (0, NOON, SIX)],  # overlapping
        [(0, NINE, NOON), (0, NINE, SIX)],  # same start
        [(0, NOON, NOON)],  # empty
        [(0, SIX, NINE)],  # backwards
    ],
)
def test_overlapping_or_backwards_hours_are_refused(intervals):
    place = PlaceFactory()
    services.place_week_hours_set(place=place, intervals=[(1, NINE, SIX)])

    with pytest.raises(ValidationError):
        services.place_week_hours_set(place=place, intervals=intervals)

    assert [(h.weekday, h.opens, h.closes) for h in place.hours.all()] == [(1, NINE, SIX)]
    assert len(revisions(place)) == 1


def test_the_same_hours_on_different_days_do_not_overlap():
    place = PlaceFactory()

    services.place_week_hours_set(place=place, intervals=[(day, NINE, SIX) for day in range(7)])

    assert place.hours.count() == 7


def test_season_hours_are_kept_apart_from_the_regular_week():
    place = PlaceFactory()
    winter = SeasonFactory(place=place, name="Hiver")
    services.place_week_hours_set(place=place, intervals=[(0, NINE, SIX)])

    services.place_week_hours_set(place=place, season=winter, intervals=[(0, TWO, SIX)])

    assert place.hours.filter(season=None).count() == 1
    assert [(h.opens, h.closes) for h in winter.hours.all()] == [(TWO, SIX)]
    assert "hours:Hiver" in revisions(place)[-1].changes


def test_season_save_creates_updates_and_records():
    place = PlaceFactory()
    author = UserFactory()

    season = services.season_save(
        place=place,
        season=None,
        name="Hiver",
        start_date=dt.date(2026, 12, 1),
        end_date=dt.date(2027, 3, 31),
        yearly=True,
        closed=True,
        author=author,
    )
    services.season_save(
        place=place,
        season=season,
        name="Hiver",
        start_date=dt.date(2026, 12, 1),
        end_date=dt.date(2027, 3, 31),
        yearly=True,
        closed=True,
    )
    services.season_save(
        place=place,
        season=season,
        name="Hiver",
        start_date=dt.date(2026, 11, 15),
        end_date=dt.date(2027, 3, 31),
        yearly=True,
        closed=True,
    )

    season.refresh_from_db()
    assert season.start_date == dt.date(2026, 11, 15)
    created, changed = revisions(place)
    assert created.author == author
    assert created.changes == {
        "season:Hiver": [None, ["Hiver", "2026-12-01", "2027-03-31", True, True]]
    }
    assert changed.changes["season:Hiver"][0][1] == "2026-12-01"
    assert changed.changes["season:Hiver"][1][1] == "2026-11-15"


def test_a_yearly_season_may_wrap_over_new_year_but_a_dated_one_may_not_end_before_it_starts():
    place = PlaceFactory()
    common = {"place": place, "season": None, "name": "Hiver", "closed": False}

    services.season_save(
        **common, start_date=dt.date(2026, 12, 1), end_date=dt.date(2026, 3, 31), yearly=True
    )
    with pytest.raises(ValidationError):
        services.season_save(
            **common, start_date=dt.date(2026, 12, 1), end_date=dt.date(2026, 3, 31), yearly=False
        )

    assert Season.objects.count() == 1


def test_season_delete_removes_its_hours_and_records_it():
    place = PlaceFactory()
    season = SeasonFactory(place=place, name="Été")
    services.place_week_hours_set(place=place, season=season, intervals=[(0, NINE, SIX)])

    services.season_delete(season=season)

    assert not Season.objects.exists()
    assert not OpeningHours.objects.exists()
    assert revisions(place)[-1].changes == {"season:Été": [["2026-12-01", "2027-03-31"], None]}


def new_proposal(**kwargs):
    payload = {**MENDE, "time_zone": "Europe/Paris", "services": ["wifi"]}
    return services.proposal_submit(
        kind=PlaceProposal.Kind.NEW,
        payload=kwargs.pop("payload", payload),
        proposer_email=kwargs.pop("proposer_email", "alice@example.org"),
        **kwargs,
    )


def test_an_anonymous_proposal_needs_an_email():
    with pytest.raises(ValidationError) as error:
        new_proposal(proposer_email="")

    assert "proposer_email" in error.value.message_dict
    assert not PlaceProposal.objects.exists()


def test_a_proposal_changes_nothing_until_approved():
    with translation.override("es"):
        proposal = new_proposal(proposer_name="Alice")

    assert proposal.status == PlaceProposal.Status.PENDING
    assert proposal.language == "es"
    assert proposal.payload["services"] == ["wifi"]
    assert not Place.objects.exists()


def test_a_signed_in_proposer_needs_no_email():
    user = UserFactory(email="bob@example.org")

    proposal = new_proposal(proposer=user, proposer_email="")

    assert proposal.proposer == user
    assert proposal.proposer_email == "bob@example.org"


def test_a_correction_must_name_its_place():
    with pytest.raises(ValidationError):
        services.proposal_submit(
            kind=PlaceProposal.Kind.CORRECTION, payload={}, proposer_email="a@example.org"
        )


@pytest.fixture
def sent_in(monkeypatch):
    """The language active when each email was written (the messages may not be compiled): it is
    rendered before its job is enqueued, the job only sends it."""
    languages = []
    render_to_string = services.render_to_string

    def recording(template_name, *args, **kwargs):
        if template_name.startswith("places/email/"):
            languages.append(translation.get_language())
        return render_to_string(template_name, *args, **kwargs)

    monkeypatch.setattr(services, "render_to_string", recording)
    return languages


def test_approving_a_new_place_creates_it_and_mails_the_proposer_after_commit(
    django_capture_on_commit_callbacks, mailoutbox, sent_in
):
    network = NetworkFactory()
    with translation.override("es"):
        proposal = new_proposal(network=network, proposer_name="Alice")
    reviewer = UserFactory()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        place = services.proposal_approve(proposal=proposal, reviewer=reviewer)
        assert mailoutbox == []

    assert len(callbacks) == 1
    proposal.refresh_from_db()
    assert proposal.status == PlaceProposal.Status.APPROVED
    assert (proposal.place, proposal.reviewed_by) == (place, reviewer)
    assert proposal.reviewed_at is not None
    assert (place.name, place.services, list(place.networks.all())) == (
        "La Fabrique",
        ["wifi"],
        [network],
    )
    (revision,) = revisions(place)
    assert (revision.source, revision.proposal, revision.author) == (
        PlaceRevision.Source.CREATED,
        proposal,
        reviewer,
    )
    (email,) = mailoutbox
    assert email.to == ["alice@example.org"]
    assert "La Fabrique" in email.body
    assert place.get_absolute_url() in email.body
    assert sent_in == ["es"]


def test_approving_a_correction_updates_the_place(
    django_capture_on_commit_callbacks, mailoutbox, sent_in
):
    place = services.place_create(data=MENDE)
    with translation.override("en"):
        proposal = services.proposal_submit(
            kind=PlaceProposal.Kind.CORRECTION,
            place=place,
            payload={**MENDE, "phone": "04 66 00 00 00"},
            proposer_email="carol@example.org",
        )

    with django_capture_on_commit_callbacks(execute=True):
        services.proposal_approve(proposal=proposal, reviewer=UserFactory())

    place.refresh_from_db()
    assert place.phone == "04 66 00 00 00"
    assert Place.objects.count() == 1
    revision = revisions(place)[-1]
    assert (revision.source, revision.proposal) == (PlaceRevision.Source.PROPOSAL, proposal)
    assert revision.changes == {"phone": ["", "04 66 00 00 00"]}
    assert [m.to for m in mailoutbox] == [["carol@example.org"]]
    assert sent_in == ["en"]


def test_rejecting_needs_a_reason_and_tells_the_proposer(
    django_capture_on_commit_callbacks, mailoutbox, sent_in
):
    with translation.override("ca"):
        proposal = new_proposal()
    reviewer = UserFactory()

    for reason in ("", "   "):
        with pytest.raises(ValidationError) as error:
            services.proposal_reject(proposal=proposal, reviewer=reviewer, reason=reason)
        assert "reason" in error.value.message_dict
    with django_capture_on_commit_callbacks(execute=True):
        services.proposal_reject(proposal=proposal, reviewer=reviewer, reason=" Already listed ")

    proposal.refresh_from_db()
    assert proposal.status == PlaceProposal.Status.REJECTED
    assert proposal.decision_reason == "Already listed"
    assert not Place.objects.exists()
    (email,) = mailoutbox
    assert "Already listed" in email.body
    assert sent_in == ["ca"]


@pytest.mark.parametrize("first", ["approve", "reject"])
@pytest.mark.parametrize("second", ["approve", "reject"])
def test_a_proposal_is_moderated_only_once(first, second, django_capture_on_commit_callbacks):
    proposal = new_proposal()
    reviewer = UserFactory()

    def moderate(action):
        if action == "approve":
            services.proposal_approve(proposal=proposal, reviewer=reviewer)
        else:
            services.proposal_reject(proposal=proposal, reviewer=reviewer, reason="No")

    with django_capture_on_commit_callbacks(execute=False):
        moderate(first)
        with pytest.raises(ValidationError):
            moderate(second)

    assert Place.objects.count() == (1 if first == "approve" else 0)
