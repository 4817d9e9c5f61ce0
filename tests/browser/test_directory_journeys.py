"""What people do with the directory, in a real browser: search, read, propose, moderate."""

import datetime as dt
import re
import time

import pytest
from allauth.account.models import EmailAddress
from django.utils import translation
from playwright.sync_api import expect

from maillage.places.forms import ProposalForm
from maillage.places.models import Place, PlaceProposal, PlaceTerm
from tests.factories import (
    NetworkFactory,
    OpeningHoursFactory,
    PlaceFactory,
    SeasonFactory,
    make_coordinator,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MENDE = (44.5181, 3.5006)
MARVEJOLS = (44.5536, 3.2918)
FLORAC = (44.3247, 3.5961)
PARIS = (48.8566, 2.3522)
PASSWORD = "correct horse battery"  # the factories' password

OPEN_STATUS = re.compile(r"Open now|Ouvert|Abierto|Obert", re.I)


def weekday_hours(place):
    """Mornings and afternoons on weekdays, Saturday morning: the usual small tiers-lieu."""
    for weekday in range(5):
        OpeningHoursFactory(place=place, weekday=weekday, opens=dt.time(9), closes=dt.time(12, 30))
        OpeningHoursFactory(place=place, weekday=weekday, opens=dt.time(14), closes=dt.time(18))
    OpeningHoursFactory(place=place, weekday=5, opens=dt.time(10), closes=dt.time(13))
    return place


def always_open(place):
    for weekday in range(7):
        OpeningHoursFactory(
            place=place, weekday=weekday, opens=dt.time(0), closes=dt.time(23, 59, 59, 999999)
        )
    return place


@pytest.fixture
def lozere():
    def make(town, point, name, postcode, services, hours=always_open, **fields):
        place = PlaceFactory(
            name=name, town=town, postcode=postcode, latitude=point[0], longitude=point[1], **fields
        )
        PlaceTerm.objects.bulk_create(
            PlaceTerm(place=place, kind=PlaceTerm.Kind.SERVICE, code=code) for code in services
        )
        return hours(place)

    florac = make(
        "Florac",
        FLORAC,
        "Causses et Cévennes Coworking",
        "48400",
        ["open_desk", "wifi", "visio_room", "domiciliation"],
        hours=weekday_hours,
        summary="Bureaux partagés et salle de visioconférence au pied du causse Méjean.",
        description="Un ancien presbytère rénové.\n\nAccueil libre aux heures d'ouverture.",
        address="2 place de l'Ancienne Gare",
        phone="04 66 45 00 00",
        email="bonjour@causses-coworking.example",
        website="https://causses-coworking.example",
    )
    PlaceTerm.objects.bulk_create(
        [
            PlaceTerm(place=florac, kind=PlaceTerm.Kind.FUNCTION, code="business_services"),
            PlaceTerm(place=florac, kind=PlaceTerm.Kind.ACCESSIBILITY, code="wheelchair"),
            PlaceTerm(place=florac, kind=PlaceTerm.Kind.LANGUAGE, code="oc"),
        ]
    )
    SeasonFactory(
        place=florac,
        name="Fermeture d'hiver",
        start_date=dt.date(2026, 12, 24),
        end_date=dt.date(2027, 1, 2),
        closed=True,
    )
    return {
        "mende": make(
            "Mende",
            MENDE,
            "La Maison du Numérique de Mende",
            "48000",
            ["wifi", "fablab", "meeting_room"],
            summary="Coworking, fablab et accompagnement numérique au cœur de la ville.",
        ),
        "marvejols": make(
            "Marvejols",
            MARVEJOLS,
            "Le Quai des Possibles",
            "48100",
            ["cafe_kitchen", "repair_cafe"],
            summary="Tiers-lieu associatif : café, ateliers de réparation, bureaux partagés.",
        ),
        "florac": florac,
        "paris": make("Paris", PARIS, "L'Atelier de la Bastille", "75011", ["wifi"]),
    }


def card_titles(page) -> list[str]:
    return page.locator(".results .place-card h3 a").all_inner_texts()


def assert_no_page_errors(page_errors):
    assert list(page_errors) == []


# --- (a) Search near a town, open a place, then the map -------------------------------------


def test_search_near_a_town_and_open_a_place(page, live_server, lozere, page_errors):
    page.goto(live_server.url + "/")
    page.fill("#home-town", "Mende")
    page.locator("form.hero-search button[type=submit]").click()
    page.wait_for_url(re.compile(r"/places/\?.*town=Mende"))

    expect(page.locator(".results .place-card")).to_have_count(3)
    assert card_titles(page) == [
        "La Maison du Numérique de Mende",
        "Le Quai des Possibles",
        "Causses et Cévennes Coworking",
    ]
    assert "L'Atelier de la Bastille" not in page.content()
    distances = [
        float(text.replace(",", ".").replace("km", "").strip())
        for text in page.locator(".results .distance").all_inner_texts()
    ]
    assert distances == sorted(distances)
    assert distances[0] < 1 and all(d < 30 for d in distances)
    expect(page.locator("#results-title")).to_contain_text("Mende")

    page.get_by_role("link", name="Le Quai des Possibles").click()
    page.wait_for_url(re.compile(r"/places/[\w-]+/$"))
    expect(page.locator("h1")).to_have_text("Le Quai des Possibles")
    expect(page.locator(".place-header .status")).to_have_text(OPEN_STATUS)
    expect(page.locator(".place-header .status")).to_have_class(re.compile("status-open"))
    # The nearby places are listed under the page, Paris is not.
    expect(page.locator("#nearby-title")).to_be_visible()
    assert "L'Atelier de la Bastille" not in page.content()
    assert_no_page_errors(page_errors)


def test_map_lists_places_and_shows_markers_without_tiles(page, live_server, lozere, page_errors):
    page.goto(live_server.url + "/places/?town=Mende")
    page.locator(".view-switch a").nth(1).click()
    page.wait_for_url(re.compile(r"/places/map/\?town=Mende"))

    # The server-rendered list is there whatever happens to the map.
    expect(page.locator(".map-list .place-card")).to_have_count(3)
    expect(page.locator("#map.leaflet-container")).to_have_count(1)
    # Markers (or clusters of them) come from the GeoJSON API.
    page.wait_for_selector("#map .marker-picto, #map .marker-cluster-maillage")
    # Tiles come from an external server, blocked here: the visitor is told, the list stays.
    expect(page.locator("[data-map-status]")).not_to_be_empty()
    assert_no_page_errors(page_errors)


def test_map_pictograms_without_clustering(page, live_server, lozere, page_errors):
    """Places far apart are not clustered: each one has its pictogram marker."""
    page.goto(live_server.url + "/places/map/?q=numerique")
    expect(page.locator(".map-list .place-card")).to_have_count(1)
    expect(page.locator("#map .marker-picto")).to_have_count(1)
    assert_no_page_errors(page_errors)


def test_place_page_map_has_its_marker(page, live_server, lozere, page_errors):
    page.goto(live_server.url + lozere["florac"].get_absolute_url())
    expect(page.locator("#map.leaflet-container .marker-picto")).to_have_count(1)
    assert_no_page_errors(page_errors)


# --- (b) Propose a place, have it approved -------------------------------------------------


def test_propose_a_place_and_have_it_approved(page, live_server, page_errors):
    network = NetworkFactory(name="Réseau des tiers-lieux de Lozère")
    coordinator = make_coordinator(network, email="coord@example.org")
    EmailAddress.objects.create(
        user=coordinator, email=coordinator.email, verified=True, primary=True
    )

    page.goto(live_server.url + "/places/propose/")
    opened = time.monotonic()
    page.fill("#id_name", "La Grange Numérique")
    page.fill("#id_town", "Florac")
    page.fill("#id_postcode", "48400")
    page.fill("#id_latitude", "44.3247")
    page.fill("#id_longitude", "3.5961")
    page.fill("#id_proposer_name", "Camille")
    page.fill("#id_proposer_email", "camille@example.org")
    page.select_option("#id_network", label=network.name)
    # The honeypot is out of sight: people do not fill it.
    assert page.locator(".honeypot").bounding_box()["x"] < 0
    page.wait_for_timeout(
        max(0, (ProposalForm.MIN_SECONDS + 0.5 - (time.monotonic() - opened))) * 1000
    )
    page.locator("form.form-grid button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(".form-errors").count() == 0, page.locator(".form-errors").inner_text()
    with translation.override("fr"):
        expect(page.locator("main h1")).to_have_text(translation.gettext("Thank you!"))
    proposal = PlaceProposal.objects.get()
    assert proposal.status == PlaceProposal.Status.PENDING
    assert proposal.network == network

    page.goto(live_server.url + "/accounts/login/?next=/places/moderation/")
    page.fill("input[name=login]", coordinator.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/places/moderation/$"))

    page.get_by_role("link", name="La Grange Numérique").click()
    page.wait_for_url(re.compile(rf"/places/moderation/{proposal.pk}/$"))
    page.locator("form:has(input[name=decision][value=approve]) button[type=submit]").click()
    page.wait_for_url(re.compile(r"/places/la-grange-numerique[\w-]*/$"))
    expect(page.locator("h1")).to_have_text("La Grange Numérique")
    expect(page.locator(".messages")).to_be_visible()

    place = Place.objects.get(name="La Grange Numérique")
    assert list(place.networks.all()) == [network]
    page.goto(live_server.url + "/places/?q=grange")
    assert card_titles(page) == ["La Grange Numérique"]
    assert_no_page_errors(page_errors)


# --- (c) Language ---------------------------------------------------------------------------


def test_switch_language_from_the_footer(page, live_server, page_errors):
    heading = "Find a tiers-lieu near you"
    page.goto(live_server.url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    for label, code in [
        ("English", "en"),
        ("Español", "es"),
        ("Català", "ca"),
        ("Français", "fr"),
    ]:
        # No click on "Change": the select submits its form by itself.
        with page.expect_navigation():
            page.select_option("#language-select", label=label)
        expect(page.locator("html")).to_have_attribute("lang", code)
        expect(page.locator("#language-select")).to_have_value(code)
        with translation.override(code):
            expect(page.locator("h1")).to_have_text(translation.gettext(heading))
    expect(page.locator("h1")).not_to_have_text(heading)  # back in French, really translated
    assert_no_page_errors(page_errors)


# --- (d) Keyboard ---------------------------------------------------------------------------


def test_skip_link_is_the_first_tab_stop(page, live_server, page_errors):
    page.goto(live_server.url + "/places/")
    positive = "[...document.querySelectorAll('[tabindex]')].filter(e => e.tabIndex > 0).length"
    assert page.evaluate(positive) == 0
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "({cls: document.activeElement.className,"
        " href: document.activeElement.getAttribute('href')})"
    )
    assert focused == {"cls": "skip-link", "href": "#main"}
    box = page.locator(".skip-link").bounding_box()
    assert box["x"] >= 0 and box["y"] >= 0, "the focused skip link must be on screen"
    page.keyboard.press("Enter")
    page.wait_for_url("**/places/#main")
    page.wait_for_function("document.activeElement.id === 'main'")
    assert_no_page_errors(page_errors)


# --- Phone-width screenshots ----------------------------------------------------------------


PHONE = {"locale": "fr-FR", "viewport": {"width": 390, "height": 844}, "device_scale_factor": 1}


@pytest.mark.parametrize("context_options", [PHONE], ids=["390x844"])
@pytest.mark.parametrize(
    "name,path", [("home", "/"), ("directory", "/places/?town=Mende"), ("place", "florac")]
)
def test_phone_layout(page, live_server, lozere, shots_dir, page_errors, name, path):
    page.goto(live_server.url + (lozere[path].get_absolute_url() if path in lozere else path))
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(shots_dir / f"{name}-390.png"), full_page=True)
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{name}: the page scrolls sideways by {overflow}px at 390px"
    assert_no_page_errors(page_errors)
