"""Directory pages through the Django test client: search, place pages, managers, proposals."""

import datetime as dt
import html
import json
import re

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone, translation

from maillage.places.forms import ProposalForm
from maillage.places.models import (
    OpeningHours,
    Place,
    PlaceProposal,
    PlaceRevision,
    PlaceTerm,
    Season,
)
from maillage.places.services import proposal_submit
from tests.factories import (
    NetworkFactory,
    OpeningHoursFactory,
    PlaceFactory,
    SeasonFactory,
    UserFactory,
    make_coordinator,
    make_manager,
)

pytestmark = pytest.mark.django_db

MENDE = (44.5181, 3.5006)
MARVEJOLS = (44.5536, 3.2918)
FLORAC = (44.3247, 3.5961)
PARIS = (48.8566, 2.3522)

JSONLD = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)
DISTANCE = re.compile(r'<span class="distance">\s*(\d+[.,]\d)\s*km\s*</span>')


def place_in(town, point, **kwargs):
    return PlaceFactory(town=town, latitude=point[0], longitude=point[1], **kwargs)


def always_open(place):
    """Open every day from midnight to the last microsecond, whatever the hour of the test."""
    for weekday in range(7):
        OpeningHoursFactory(
            place=place, weekday=weekday, opens=dt.time(0), closes=dt.time(23, 59, 59, 999999)
        )
    return place


def closed_for_now(place):
    """Regular hours every day, but a closure season around today."""
    always_open(place)
    today = timezone.localdate()
    SeasonFactory(
        place=place,
        name="Works",
        start_date=today - dt.timedelta(days=400),
        end_date=today + dt.timedelta(days=400),
        closed=True,
    )
    return place


def card_names(response) -> list[str]:
    return re.findall(
        r'<article class="place-card">\s*<h3><a href="[^"]*">([^<]*)</a>', response.content.decode()
    )


def field_error_shown(response, field: str) -> bool:
    """The form has an error on `field` and its (translated, escaped) text is on the page."""
    errors = response.context["form"].errors.get(field)
    if not errors:
        return False
    content = response.content.decode()
    return all(html.escape(str(message)) in content for message in errors)


@pytest.fixture
def lozere():
    return {
        "mende": place_in("Mende", MENDE, name="Tiers-lieu de Mende", postcode="48000"),
        "marvejols": place_in("Marvejols", MARVEJOLS, name="La Fabrique Marvejols"),
        "florac": place_in("Florac", FLORAC, name="Causses Coworking Florac"),
        "paris": place_in("Paris", PARIS, name="Atelier parisien", postcode="75001"),
    }


# --- Home, directory, map -------------------------------------------------------------------


def test_home_shows_the_search_form_and_the_counts(client, lozere):
    response = client.get("/")
    assert response.status_code == 200
    content = response.content.decode()
    assert 'action="/places/"' in content
    assert 'name="town"' in content
    assert response.context["stats"] == {"places": 4, "towns": 4}


def test_directory_lists_published_places_by_name(client, lozere):
    PlaceFactory(name="Hidden place", is_published=False)
    response = client.get(reverse("places:directory"))
    assert response.status_code == 200
    assert card_names(response) == sorted(p.name for p in lozere.values())
    assert "Hidden place" not in response.content.decode()


def test_directory_text_search(client, lozere):
    response = client.get(reverse("places:directory"), {"q": "causses"})
    assert card_names(response) == ["Causses Coworking Florac"]


def test_directory_near_a_town_orders_by_distance_and_shows_it(client, lozere):
    response = client.get(reverse("places:directory"), {"town": "mende"})
    assert response.status_code == 200
    assert card_names(response) == [
        "Tiers-lieu de Mende",
        "La Fabrique Marvejols",
        "Causses Coworking Florac",
    ]
    distances = [float(d.replace(",", ".")) for d in DISTANCE.findall(response.content.decode())]
    assert len(distances) == 3
    assert distances == sorted(distances)
    assert distances[0] == pytest.approx(0, abs=0.1)
    assert 10 < distances[1] < 30 and 10 < distances[2] < 30
    assert response.context["form"].cleaned_data["located_town"] == "Mende"
    assert "Mende" in response.content.decode().split('id="results-title"')[1].split("</h2>")[0]


def test_directory_near_a_town_with_a_radius(client, lozere):
    response = client.get(reverse("places:directory"), {"town": "Mende", "radius_km": "5"})
    assert card_names(response) == ["Tiers-lieu de Mende"]
    response = client.get(reverse("places:directory"), {"town": "Mende", "radius_km": "1000"})
    assert card_names(response)[-1] == "Atelier parisien"


def test_directory_unknown_town_shows_an_error(client, lozere):
    response = client.get(reverse("places:directory"), {"town": "Atlantis"})
    assert response.status_code == 200
    assert field_error_shown(response, "town")
    assert "Atlantis" in str(response.context["form"].errors["town"])
    assert 'id="town-error"' in response.content.decode()
    assert card_names(response) == []


@pytest.mark.parametrize("radius", ["0", "-3", "5000", "nan"])
def test_directory_radius_out_of_range_shows_an_error(client, lozere, radius):
    response = client.get(reverse("places:directory"), {"town": "Mende", "radius_km": radius})
    assert response.status_code == 200
    assert field_error_shown(response, "radius_km")
    assert card_names(response) == []


def test_directory_unknown_service_shows_an_error(client, lozere):
    response = client.get(reverse("places:directory"), {"service": "teleporter"})
    assert response.status_code == 200
    assert field_error_shown(response, "service")
    assert 'role="alert"' in response.content.decode()


def test_directory_service_filter(client, lozere):
    PlaceTerm.objects.create(place=lozere["florac"], kind=PlaceTerm.Kind.SERVICE, code="wifi")
    response = client.get(reverse("places:directory"), {"service": "wifi"})
    assert card_names(response) == ["Causses Coworking Florac"]


def test_directory_open_now(client, lozere):
    always_open(lozere["mende"])
    closed_for_now(lozere["florac"])
    response = client.get(reverse("places:directory"), {"open_now": "on"})
    assert response.status_code == 200
    assert card_names(response) == ["Tiers-lieu de Mende"]


def test_directory_pagination_keeps_the_criteria(client):
    for n in range(25):
        PlaceFactory(name=f"Lieu {n:02d}")
    PlaceFactory(name="Other")
    first = client.get(reverse("places:directory"), {"q": "lieu"})
    assert len(card_names(first)) == 20
    assert first.context["page"].paginator.count == 25
    assert 'href="?q=lieu&amp;page=2" rel="next"' in first.content.decode()
    second = client.get(reverse("places:directory"), {"q": "lieu", "page": "2"})
    assert card_names(second) == [f"Lieu {n:02d}" for n in range(20, 25)]
    assert 'rel="prev"' in second.content.decode()
    # A page number out of range shows the last page rather than an error.
    assert client.get(reverse("places:directory"), {"page": "99"}).status_code == 200


def test_map_page_lists_the_places_without_javascript(client, lozere):
    response = client.get(reverse("places:map"), {"town": "Mende"})
    assert response.status_code == 200
    content = response.content.decode()
    assert card_names(response) == [
        "Tiers-lieu de Mende",
        "La Fabrique Marvejols",
        "Causses Coworking Florac",
    ]
    assert 'id="map"' in content
    assert 'data-geojson="/api/v1/places.geojson?town=Mende"' in content
    assert response.context["total"] == 3


# --- Place page -----------------------------------------------------------------------------


def jsonld_of(response) -> tuple[str, dict]:
    raw = JSONLD.search(response.content.decode()).group(1)
    return raw, json.loads(raw)


def test_place_page_open_now(client, lozere):
    place = always_open(lozere["mende"])
    response = client.get(place.get_absolute_url())
    assert response.status_code == 200
    content = response.content.decode()
    assert "<h1>Tiers-lieu de Mende</h1>" in content
    assert response.context["is_open"] is True
    assert 'class="status status-open"' in content


def test_place_page_closed_by_a_season(client, lozere):
    place = closed_for_now(lozere["mende"])
    response = client.get(place.get_absolute_url())
    assert response.context["is_open"] is False
    assert 'class="status status-closed"' in response.content.decode()
    assert "Works" in response.content.decode()


def test_place_page_without_hours(client, lozere):
    response = client.get(lozere["mende"].get_absolute_url())
    assert 'class="status status-unknown"' in response.content.decode()


def test_unpublished_or_unknown_place_is_404(client):
    hidden = PlaceFactory(is_published=False)
    assert client.get(hidden.get_absolute_url()).status_code == 404
    assert client.get("/places/no-such-place/").status_code == 404


def test_place_page_jsonld(client, lozere):
    place = always_open(lozere["mende"])
    _, data = jsonld_of(client.get(place.get_absolute_url()))
    assert data["@type"] == "Place"
    assert data["name"] == "Tiers-lieu de Mende"
    assert data["geo"]["latitude"] == pytest.approx(MENDE[0])
    assert data["geo"]["longitude"] == pytest.approx(MENDE[1])
    assert data["url"].endswith(place.get_absolute_url())
    assert len(data["openingHoursSpecification"]) == 7


def test_place_name_cannot_break_out_of_the_jsonld_script(client):
    name = "Evil</script><script>alert(1)</script> & co"
    place = PlaceFactory(name=name, slug="evil")
    response = client.get(place.get_absolute_url())
    raw, data = jsonld_of(response)
    assert "</script" not in raw.lower()
    assert "<script" not in raw.lower()
    assert data["name"] == name
    assert "<script>alert(1)" not in response.content.decode()


def test_place_page_lists_nearby_places(client, lozere):
    response = client.get(lozere["mende"].get_absolute_url())
    nearby = [p.name for p in response.context["nearby"]]
    assert nearby == ["La Fabrique Marvejols", "Causses Coworking Florac"]
    content = response.content.decode()
    section = content.split('id="nearby-title"')[1]
    assert "La Fabrique Marvejols" in section and "Causses Coworking Florac" in section
    assert "Atelier parisien" not in content
    assert len(DISTANCE.findall(section)) == 2


# --- Managers ------------------------------------------------------------------------------


def place_form_data(place, **changes):
    data = {
        "name": place.name,
        "summary": place.summary,
        "description": place.description,
        "address": place.address,
        "postcode": place.postcode,
        "town": place.town,
        "latitude": str(place.latitude),
        "longitude": str(place.longitude),
        "email": place.email,
        "phone": place.phone,
        "website": place.website,
        "time_zone": place.time_zone,
    }
    data.update(changes)
    return data


@pytest.fixture
def two_places():
    a = PlaceFactory(name="Place A")
    b = PlaceFactory(name="Place B")
    return a, b, make_manager(a), make_manager(b)


def test_manager_edits_their_place(client, two_places):
    place, _, manager, _ = two_places
    client.force_login(manager)
    url = reverse("places:edit", args=[place.slug])
    assert client.get(url).status_code == 200
    response = client.post(
        url, place_form_data(place, name="Place A renamed", services=["wifi", "fablab"])
    )
    assert response.status_code == 302
    assert response["Location"] == place.get_absolute_url()
    place.refresh_from_db()
    assert place.name == "Place A renamed"
    assert place.services == ["fablab", "wifi"]
    revision = PlaceRevision.objects.get(place=place)
    assert revision.author == manager
    assert revision.source == PlaceRevision.Source.EDIT
    assert revision.changes["name"] == ["Place A", "Place A renamed"]
    # The place page now offers the manager's links.
    page = client.get(place.get_absolute_url()).content.decode()
    assert reverse("places:hours", args=[place.slug]) in page


def test_invalid_edit_saves_nothing(client, two_places):
    place, _, manager, _ = two_places
    client.force_login(manager)
    response = client.post(
        reverse("places:edit", args=[place.slug]), place_form_data(place, name="", latitude="95")
    )
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"name", "latitude"}
    assert not PlaceRevision.objects.exists()


def test_manager_of_another_place_gets_404(client, two_places):
    place_a, _, _, manager_b = two_places
    season = SeasonFactory(place=place_a)
    client.force_login(manager_b)
    for name, args in [
        ("places:edit", [place_a.slug]),
        ("places:hours", [place_a.slug]),
        ("places:history", [place_a.slug]),
        ("places:season_new", [place_a.slug]),
        ("places:season_edit", [place_a.slug, season.pk]),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 404, name
    assert client.post(reverse("places:edit", args=[place_a.slug]), {}).status_code == 404
    delete = reverse("places:season_delete", args=[place_a.slug, season.pk])
    assert client.post(delete).status_code == 404
    assert Season.objects.filter(pk=season.pk).exists()


def test_coordinator_of_the_places_network_may_edit(client, two_places):
    place, _, _, _ = two_places
    network = NetworkFactory()
    place.networks.add(network)
    client.force_login(make_coordinator(network))
    assert client.get(reverse("places:edit", args=[place.slug])).status_code == 200


def test_anonymous_is_sent_to_login(client, two_places):
    place = two_places[0]
    for name in ("places:edit", "places:hours", "places:history", "places:season_new"):
        url = reverse(name, args=[place.slug])
        response = client.get(url)
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("account_login") + "?next=")


def test_history_lists_the_revisions(client, two_places):
    place, _, manager, _ = two_places
    client.force_login(manager)
    client.post(reverse("places:edit", args=[place.slug]), place_form_data(place, town="Florac"))
    response = client.get(reverse("places:history", args=[place.slug]))
    assert response.status_code == 200
    assert "Florac" in response.content.decode()


def test_hours_edit_saves_a_valid_week(client, two_places):
    place, _, manager, _ = two_places
    client.force_login(manager)
    url = reverse("places:hours", args=[place.slug])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "d0_0_opens": "09:00",
            "d0_0_closes": "12:30",
            "d0_1_opens": "14:00",
            "d0_1_closes": "18:00",
            "d5_0_opens": "10:00",
            "d5_0_closes": "13:00",
        },
    )
    assert response.status_code == 302
    hours = [(h.weekday, h.opens, h.closes) for h in OpeningHours.objects.filter(place=place)]
    assert hours == [
        (0, dt.time(9), dt.time(12, 30)),
        (0, dt.time(14), dt.time(18)),
        (5, dt.time(10), dt.time(13)),
    ]
    assert PlaceRevision.objects.filter(place=place).count() == 1
    # The form shows the saved week again.
    assert 'value="12:30"' in client.get(url).content.decode()


def test_hours_edit_closing_before_opening_is_an_error(client, two_places):
    place, _, manager, _ = two_places
    client.force_login(manager)
    response = client.post(
        reverse("places:hours", args=[place.slug]),
        {
            "d0_0_opens": "09:00",
            "d0_0_closes": "12:00",
            "d2_0_opens": "18:00",
            "d2_0_closes": "09:00",
        },
    )
    assert response.status_code == 200
    assert "d2_0_closes" in response.context["form"].errors
    assert 'role="alert"' in response.content.decode()
    assert not OpeningHours.objects.exists()
    assert not PlaceRevision.objects.exists()


def test_hours_edit_overlapping_intervals_is_an_error(client, two_places):
    place, _, manager, _ = two_places
    client.force_login(manager)
    response = client.post(
        reverse("places:hours", args=[place.slug]),
        {
            "d0_0_opens": "09:00",
            "d0_0_closes": "13:00",
            "d0_1_opens": "12:00",
            "d0_1_closes": "18:00",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert not OpeningHours.objects.exists()


def test_season_with_its_own_hours_then_deleted(client, two_places):
    place, _, manager, _ = two_places
    client.force_login(manager)
    assert client.get(reverse("places:season_new", args=[place.slug])).status_code == 200
    response = client.post(
        reverse("places:season_new", args=[place.slug]),
        {
            "season-name": "Summer",
            "season-start_date": "2026-07-01",
            "season-end_date": "2026-08-31",
            "season-yearly": "on",
            "hours-d1_0_opens": "10:00",
            "hours-d1_0_closes": "16:00",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("places:hours", args=[place.slug])
    season = Season.objects.get(place=place)
    assert (season.name, season.yearly, season.closed) == ("Summer", True, False)
    assert [(h.weekday, h.opens, h.closes) for h in season.hours.all()] == [
        (1, dt.time(10), dt.time(16))
    ]
    assert not OpeningHours.objects.filter(place=place, season__isnull=True).exists()

    hours_page = client.get(reverse("places:hours", args=[place.slug])).content.decode()
    assert "Summer" in hours_page
    delete = reverse("places:season_delete", args=[place.slug, season.pk])
    assert client.get(delete).status_code == 405
    assert client.post(delete).status_code == 302
    assert not Season.objects.exists()
    assert not OpeningHours.objects.exists()


def test_season_ending_before_it_starts_is_an_error(client, two_places):
    place, _, manager, _ = two_places
    client.force_login(manager)
    response = client.post(
        reverse("places:season_new", args=[place.slug]),
        {"season-name": "Bad", "season-start_date": "2026-08-01", "season-end_date": "2026-07-01"},
    )
    assert response.status_code == 200
    assert "end_date" in response.context["form"].errors
    assert not Season.objects.exists()


# --- Proposals -----------------------------------------------------------------------------


def started(seconds_ago: float = 10) -> str:
    return signing.dumps(timezone.now().timestamp() - seconds_ago)


def proposal_data(**changes):
    data = {
        "name": "Le Nouveau Lieu",
        "town": "Mende",
        "postcode": "48000",
        "latitude": "44.52",
        "longitude": "3.49",
        "proposer_name": "Camille",
        "proposer_email": "camille@example.org",
        "message": "Ouvert depuis mars.",
        "nickname": "",
        "started": started(),
    }
    data.update(changes)
    return data


def test_proposal_page_renders_with_a_signed_timer(client):
    response = client.get(reverse("places:propose"))
    assert response.status_code == 200
    content = response.content.decode()
    assert 'name="started"' in content
    assert 'class="field honeypot"' in content


def test_anonymous_proposal_is_received(client):
    assert ProposalForm.MIN_SECONDS < 10
    response = client.post(reverse("places:propose"), proposal_data())
    assert response.status_code == 200
    assert response.templates[0].name == "places/proposal_thanks.html"
    proposal = PlaceProposal.objects.get()
    assert proposal.status == PlaceProposal.Status.PENDING
    assert proposal.kind == PlaceProposal.Kind.NEW
    assert proposal.proposer is None
    assert proposal.proposer_email == "camille@example.org"
    assert proposal.payload["name"] == "Le Nouveau Lieu"
    assert not Place.objects.exists()


def test_proposal_with_the_honeypot_filled_is_rejected(client):
    response = client.post(reverse("places:propose"), proposal_data(nickname="buy pills"))
    assert response.status_code == 400
    assert response.context["form"].non_field_errors()
    assert not PlaceProposal.objects.exists()


def test_proposal_sent_too_fast_is_rejected(client):
    response = client.post(reverse("places:propose"), proposal_data(started=started(0)))
    assert response.status_code == 400
    assert response.context["form"].non_field_errors()
    assert not PlaceProposal.objects.exists()


def test_proposal_with_a_forged_timer_is_rejected(client):
    response = client.post(reverse("places:propose"), proposal_data(started="1700000000"))
    assert response.status_code == 400
    assert not PlaceProposal.objects.exists()


def test_anonymous_proposal_needs_an_email(client):
    response = client.post(reverse("places:propose"), proposal_data(proposer_email=""))
    assert response.status_code == 400
    assert field_error_shown(response, "proposer_email")
    assert not PlaceProposal.objects.exists()


def test_signed_in_proposal_needs_no_email(client):
    user = UserFactory()
    client.force_login(user)
    data = proposal_data()
    del data["proposer_email"], data["proposer_name"]
    assert client.post(reverse("places:propose"), data).status_code == 200
    proposal = PlaceProposal.objects.get()
    assert proposal.proposer == user
    assert proposal.proposer_email == user.email


def test_proposals_are_rate_limited(client, settings):
    settings.MAILLAGE_PROPOSALS_PER_HOUR = 2
    for n in range(2):
        response = client.post(reverse("places:propose"), proposal_data(name=f"Lieu {n}"))
        assert response.status_code == 200
    response = client.post(reverse("places:propose"), proposal_data(name="One too many"))
    assert response.status_code == 429
    assert response.context["form"].non_field_errors()
    assert PlaceProposal.objects.count() == 2


def test_correction_proposal(client, lozere):
    place = lozere["mende"]
    url = reverse("places:correct", args=[place.slug])
    assert client.get(url).status_code == 200
    response = client.post(url, proposal_data(name=place.name, phone="04 66 00 00 00"))
    assert response.status_code == 200
    proposal = PlaceProposal.objects.get()
    assert proposal.kind == PlaceProposal.Kind.CORRECTION
    assert proposal.place == place


# --- Moderation ----------------------------------------------------------------------------


@pytest.fixture
def pending():
    network = NetworkFactory(name="Réseau Lozère")
    proposal = proposal_submit(
        kind=PlaceProposal.Kind.NEW,
        payload={
            "name": "La Grange Numérique",
            "town": "Florac",
            "postcode": "48400",
            "latitude": 44.3247,
            "longitude": 3.5961,
            "services": ["wifi"],
        },
        network=network,
        proposer_name="Camille",
        proposer_email="camille@example.org",
    )
    return network, proposal


def test_coordinator_sees_the_proposal_in_the_queue(client, pending):
    network, proposal = pending
    client.force_login(make_coordinator(network))
    response = client.get(reverse("places:moderation"))
    assert response.status_code == 200
    assert "La Grange Numérique" in response.content.decode()
    assert reverse("places:moderation_detail", args=[proposal.pk]) in response.content.decode()
    detail = client.get(reverse("places:moderation_detail", args=[proposal.pk]))
    assert detail.status_code == 200
    assert "La Grange Numérique" in detail.content.decode()


def test_approve_creates_the_place_and_tells_the_proposer(
    client, pending, mailoutbox, django_capture_on_commit_callbacks, settings
):
    network, proposal = pending
    coordinator = make_coordinator(network)
    client.force_login(coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("places:moderation_detail", args=[proposal.pk]), {"decision": "approve"}
        )
    place = Place.objects.get(name="La Grange Numérique")
    assert response.status_code == 302
    assert response["Location"] == place.get_absolute_url()
    assert list(place.networks.all()) == [network]
    assert place.services == ["wifi"]
    proposal.refresh_from_db()
    assert proposal.status == PlaceProposal.Status.APPROVED
    assert proposal.reviewed_by == coordinator
    assert proposal.place == place
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["camille@example.org"]
    # An email needs an absolute link to the new page.
    assert settings.MAILLAGE_BASE_URL + place.get_absolute_url() in mailoutbox[0].body
    # The place is in the directory and the proposal is no longer pending.
    assert "La Grange Numérique" in client.get(reverse("places:directory")).content.decode()
    assert "La Grange Numérique" not in client.get(reverse("places:moderation")).content.decode()


def test_the_proposer_is_answered_in_their_language(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    client.post("/i18n/setlang/", {"language": "es", "next": "/"})
    assert client.post(reverse("places:propose"), proposal_data()).status_code == 200
    proposal = PlaceProposal.objects.get()
    assert proposal.language == "es"
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    client.force_login(make_coordinator(NetworkFactory()))  # no network: any coordinator
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("places:moderation_detail", args=[proposal.pk]), {"decision": "approve"}
        )
    with translation.override("es"):
        expected = translation.gettext("Your proposal was approved")
    assert expected in mailoutbox[0].subject


def test_approving_twice_does_nothing_more(client, pending, django_capture_on_commit_callbacks):
    network, proposal = pending
    client.force_login(make_coordinator(network))
    url = reverse("places:moderation_detail", args=[proposal.pk])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"decision": "approve"})
    assert client.post(url, {"decision": "approve"}).status_code == 200
    assert Place.objects.count() == 1


def test_reject_needs_a_reason(client, pending, mailoutbox, django_capture_on_commit_callbacks):
    network, proposal = pending
    client.force_login(make_coordinator(network))
    url = reverse("places:moderation_detail", args=[proposal.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"decision": "reject", "reason": ""})
    assert response.status_code == 200
    assert "reason" in response.context["reject_form"].errors
    assert 'class="field has-error"' in response.content.decode()
    proposal.refresh_from_db()
    assert proposal.status == PlaceProposal.Status.PENDING
    assert mailoutbox == []


def test_reject_with_a_reason_tells_the_proposer(
    client, pending, mailoutbox, django_capture_on_commit_callbacks
):
    network, proposal = pending
    client.force_login(make_coordinator(network))
    url = reverse("places:moderation_detail", args=[proposal.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"decision": "reject", "reason": "Already listed as Grange"})
    assert response.status_code == 302
    assert response["Location"] == reverse("places:moderation")
    proposal.refresh_from_db()
    assert proposal.status == PlaceProposal.Status.REJECTED
    assert proposal.decision_reason == "Already listed as Grange"
    assert not Place.objects.exists()
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["camille@example.org"]
    assert "Already listed as Grange" in mailoutbox[0].body


def test_coordinator_of_another_network_gets_404(client, pending):
    _, proposal = pending
    client.force_login(make_coordinator(NetworkFactory()))
    url = reverse("places:moderation_detail", args=[proposal.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"decision": "approve"}).status_code == 404
    assert "La Grange Numérique" not in client.get(reverse("places:moderation")).content.decode()
    proposal.refresh_from_db()
    assert proposal.status == PlaceProposal.Status.PENDING


def test_non_coordinator_gets_404_on_the_queue(client, pending):
    _, proposal = pending
    client.force_login(UserFactory())
    assert client.get(reverse("places:moderation")).status_code == 404
    assert client.get(reverse("places:moderation_detail", args=[proposal.pk])).status_code == 404


def test_anonymous_is_sent_to_login_from_moderation(client, pending):
    response = client.get(reverse("places:moderation"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


# --- Language and headers ------------------------------------------------------------------


def test_language_switch(client):
    assert '<html lang="fr">' in client.get("/").content.decode()
    response = client.post("/i18n/setlang/", {"language": "es", "next": "/"})
    assert response.status_code == 302
    assert '<html lang="es">' in client.get("/").content.decode()


def test_content_security_policy(client):
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    directives = {
        part.split()[0]: part.split()[1:] for part in (p.strip() for p in policy.split(";")) if part
    }
    assert "script-src 'self'" in policy
    assert directives["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert directives["object-src"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_pages_have_no_inline_scripts(client, lozere):
    """Under the policy inline scripts would not run: only src= scripts and data blocks."""
    for url in ("/", reverse("places:directory"), reverse("places:map")):
        content = client.get(url).content.decode()
        for tag in re.findall(r"<script\b[^>]*>", content):
            assert "src=" in tag or 'type="application/' in tag, (url, tag)


@pytest.mark.django_db
def test_a_date_filter_is_given_back_in_the_format_date_inputs_read(client):
    """<input type=date> only takes ISO dates: a French "03/12/2026" would show an empty field."""
    response = client.get("/places/?open_on=2026-12-03")
    assert 'value="2026-12-03"' in response.content.decode()
