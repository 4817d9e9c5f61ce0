"""The funders' report: its sentences, its map, the page and its PDF, the reader's language, who
may read it (published statistics are open data) and that nobody is named in it."""

import datetime as dt

import pytest
from django.utils import translation

from maillage.impact import funders
from maillage.impact.periods import Period
from maillage.places.models import Place

from .test_pages_api import NOW, OCTOBER, World

pytestmark = pytest.mark.django_db

REPORT = "/impact/networks/{}/report/"


@pytest.fixture
def world(db, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    return World()


def _in_english(client):
    client.cookies["django_language"] = "en"
    return client


@pytest.mark.parametrize(
    ("period", "label"),
    [
        (Period.of("year", dt.date(2025, 5, 1)), "2025"),
        (Period.of("quarter", dt.date(2025, 5, 1)), "Q2 2025"),
        (Period.of("month", dt.date(2025, 5, 1)), "May 2025"),
        (
            Period.custom(dt.date(2025, 3, 1), dt.date(2025, 4, 15)),
            "March 1, 2025 – April 15, 2025",
        ),
    ],
)
def test_periods_are_named_in_words(period, label):
    with translation.override("en"):
        assert funders.period_label(period) == label


def test_highlights_give_the_main_figures_with_their_comparison(world):
    with translation.override("en"):
        report = funders.network_report(world.network, OCTOBER, today=NOW.date())

    assert report.highlights[0] == (
        "3 days of presence in the places. (+200 % compared with September 2025)"
    )
    assert "1 different person came. (+0 % compared with September 2025)" in report.highlights
    assert any(
        s.startswith("2 hours of rooms, desks and machines booked.") for s in report.highlights
    )
    assert any("by a member of another one" in s for s in report.highlights)
    assert (report.places_count, report.period_label, report.previous_label) == (
        2,
        "October 2025",
        "September 2025",
    )
    assert [(line.name, line.checkins) for line in report.top_places] == [
        (world.place.name, 2),
        (world.neighbour.name, 1),
    ]


def test_a_period_without_activity_has_no_highlight(world):
    with translation.override("en"):
        report = funders.network_report(
            world.network, Period.of("month", dt.date(2025, 6, 1)), today=NOW.date()
        )

    assert report.highlights == []
    assert report.top_places == []


def test_the_map_draws_each_place_or_merges_close_ones():
    far = [
        Place(pk=1, name="Mende", latitude=44.5181, longitude=3.5006),
        Place(pk=2, name="Florac", latitude=44.3242, longitude=3.5931),
        Place(pk=3, name="Mende bis", latitude=44.5182, longitude=3.5007),
    ]
    with translation.override("en"):
        drawing = funders.places_map(far, {1: 10, 2: 0, 3: 30})

    labels = sorted(dot.label for dot in drawing.dots)
    assert labels == ["2 places", "Florac"]
    merged = next(dot for dot in drawing.dots if dot.places == 2)
    florac = next(dot for dot in drawing.dots if dot.places == 1)
    assert merged.checkins == 40 and merged.radius > florac.radius == 3
    assert all(0 <= dot.x <= drawing.width and 0 <= dot.y <= drawing.height for dot in drawing.dots)
    assert funders.places_map([], {}) is None


def test_the_page_shows_the_report_and_names_nobody(world, client):
    client.force_login(world.people["coordinator"])

    response = _in_english(client).get(
        REPORT.format(world.network.slug), {"period": "month", "date": "2025-10-01"}
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "activity report" in page and "October 2025, compared with September 2025" in page
    assert 'role="img"' in page and "report-dot" in page
    assert world.place.name in page
    for secret in ("Zoé", "zoe@example.org", "Quidam", world.visitor.email):
        assert secret not in page


def test_the_pdf_is_a_pdf_named_after_the_period(world, client):
    client.force_login(world.people["coordinator"])

    response = client.get(
        f"{REPORT.format(world.network.slug)}pdf/", {"period": "month", "date": "2025-10-01"}
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert (
        f"{world.network.slug}-report-2025-10-01-2025-10-31.pdf" in response["Content-Disposition"]
    )


def test_the_reader_chooses_the_language_of_the_report(world, client):
    client.force_login(world.people["coordinator"])

    response = client.get(
        REPORT.format(world.network.slug),
        {"period": "month", "date": "2025-10-01", "language": "es"},
    )

    page = response.content.decode()
    assert 'lang="es"' in page
    assert "octubre de 2025" in page


def test_a_bad_period_or_language_is_refused_with_the_form(world, client):
    client.force_login(world.people["coordinator"])
    url = REPORT.format(world.network.slug)

    page = _in_english(client).get(
        url, {"period": "custom", "from": "2025-10-05", "to": "2025-10-01"}
    )
    pdf = client.get(f"{url}pdf/", {"language": "xx"})

    assert page.status_code == 400
    assert "The end of the period comes before its start." in page.content.decode()
    assert pdf.status_code == 400 and pdf["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    ("who", "status"),
    [("member_a", 404), ("staff_a", 404), ("manager_b", 404), ("coordinator", 200)],
)
def test_who_reads_an_unpublished_report(world, client, who, status):
    client.force_login(world.people[who])

    assert client.get(REPORT.format(world.network.slug)).status_code == status


def test_anonymous_readers_log_in_unless_the_network_publishes_its_statistics(world, client):
    url = REPORT.format(world.network.slug)

    closed = client.get(url)
    world.network.publishes_statistics = True
    world.network.save()
    opened = client.get(url)
    csv = client.get(f"/impact/networks/{world.network.slug}/figures.csv")

    assert closed.status_code == 302 and "/accounts/login/" in closed["Location"]
    assert opened.status_code == 200
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    assert client.get(REPORT.format(world.other_network.slug)).status_code == 302


def test_pdf_renders_are_rate_limited_per_connection(world, client, settings):
    settings.MAILLAGE_RATE_REPORTS_PER_IP = "1/1h"
    world.network.publishes_statistics = True
    world.network.save()
    url = f"{REPORT.format(world.network.slug)}pdf/"

    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 429


def test_the_api_answers_anyone_for_a_network_that_publishes_its_statistics(world, client):
    url = f"/api/v1/networks/{world.network.slug}/statistics"
    place_url = f"/api/v1/places/{world.place.slug}/statistics"

    closed = client.get(url, {"period": "month", "date": "2025-10-01"})
    world.network.publishes_statistics = True
    world.network.save()
    opened = client.get(url, {"period": "month", "date": "2025-10-01"})
    place = client.get(place_url, {"period": "month", "date": "2025-10-01"})

    assert closed.status_code == 401
    assert opened.status_code == 200
    checkins = [f for f in opened.json()["figures"] if f["figure"] == "checkins"]
    assert checkins[0]["value"] == 3
    assert place.status_code == 200
    assert client.get(f"/api/v1/places/{world.elsewhere.slug}/statistics").status_code == 401


def test_open_data_lists_the_downloads_and_the_published_statistics(world, client):
    world.network.publishes_statistics = True
    world.network.save()

    page = _in_english(client).get("/impact/open-data/").content.decode()

    assert f"/api/v1/places.jsonld?network={world.network.slug}" in page
    assert f"/impact/networks/{world.network.slug}/figures.csv" in page
    assert f"/impact/networks/{world.other_network.slug}/figures.csv" not in page
    assert "This network does not publish its statistics." in page
