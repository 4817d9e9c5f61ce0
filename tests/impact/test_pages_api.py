"""The statistics pages, their CSV and the API: who may read them, what they show, and the
previous period's comparison; network figures (unique visitors counted once across places)."""

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from maillage.accounts.models import NetworkRole, PlaceRole
from maillage.accounts.services import api_token_create
from maillage.bookings.models import Booking, Occurrence, Resource
from maillage.impact import selectors, services
from maillage.impact.periods import Period
from maillage.members.models import CheckIn
from tests.factories import NetworkFactory, PlaceFactory, UserFactory

from .worlds import at

NOW = dt.datetime(2025, 11, 20, 10, 0, tzinfo=dt.UTC)
OCTOBER = Period.of("month", dt.date(2025, 10, 1))


class World:
    def __init__(self):
        self.network, self.other_network = NetworkFactory(), NetworkFactory()
        self.place = PlaceFactory(time_zone="Europe/Paris")
        self.neighbour = PlaceFactory(time_zone="Europe/Paris")
        self.elsewhere = PlaceFactory()
        self.place.networks.add(self.network)
        self.neighbour.networks.add(self.network)
        self.elsewhere.networks.add(self.other_network)
        self.people = {}
        for name, role in (
            ("member_a", "resident"),
            ("staff_a", "staff"),
            ("manager_a", "manager"),
        ):
            self.people[name] = UserFactory(full_name=f"Quidam {name}")
            PlaceRole.objects.create(user=self.people[name], place=self.place, role=role)
        PlaceRole.objects.update(created_at=at(dt.date(2025, 9, 1), 0))
        self.people["manager_b"] = UserFactory()
        PlaceRole.objects.create(
            user=self.people["manager_b"], place=self.elsewhere, role="manager"
        )
        self.people["coordinator"] = UserFactory()
        NetworkRole.objects.create(
            user=self.people["coordinator"], network=self.network, role="coordinator"
        )
        self.visitor = UserFactory(full_name="Zoé Visiteuse", email="zoe@example.org")
        days = [(dt.date(2025, 9, 10), self.place), (dt.date(2025, 10, 3), self.place)]
        days += [(dt.date(2025, 10, 4), self.place), (dt.date(2025, 10, 5), self.neighbour)]
        for day, where in days:
            CheckIn.objects.create(
                user=self.visitor,
                place=where,
                day=day,
                checked_in_at=at(day, 600),
                consumed="ticket",
                home_place=self.place if where == self.neighbour else None,
            )
        room = Resource.objects.create(place=self.place, name="Salle", kind="meeting_room")
        Resource.objects.filter(pk=room.pk).update(created_at=at(dt.date(2025, 9, 1), 0))
        booking = Booking.objects.create(resource=room, booker=self.visitor)
        Occurrence.objects.create(
            booking=booking,
            resource=room,
            start=at(dt.date(2025, 10, 6), 600),
            end=at(dt.date(2025, 10, 6), 720),
            held_until=at(dt.date(2025, 10, 6), 720),
            status="confirmed",
        )
        services.run_rollup(first=dt.date(2025, 9, 1), last=dt.date(2025, 10, 31), now=NOW)


@pytest.fixture
def world(db, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return World()


def test_place_figures_compare_with_the_previous_month(world):
    figures = selectors.place_figures(world.place, OCTOBER)
    checkins = figures.find("checkins")
    assert (checkins.value, checkins.previous, checkins.change) == (2, 1, 100.0)
    assert figures.find("unique_visitors").value == 1
    assert figures.find("booked_hours", "meeting_room").value == 2.0
    # A room without hours may be booked all day: 31 days of October, one 25-hour day.
    assert figures.find("bookable_hours", "meeting_room").value == 31 * 24 + 1
    roles = {f.key: f.value for f in figures.figures if f.code == "members_role"}
    assert roles == {"manager": 1, "staff": 1, "resident": 1}
    assert figures.previous_period == Period.of("month", dt.date(2025, 9, 1))


def test_network_figures_count_a_visitor_of_two_places_once(world):
    figures = selectors.network_figures(world.network, OCTOBER)
    assert figures.find("checkins").value == 3
    assert figures.find("unique_visitors").value == 1
    assert figures.find("pass_checkins").value == 1
    assert figures.find("pass_checkins", str(world.place.pk)).detail == world.place.name


def test_the_page_shows_figures_charts_and_their_tables_without_names(world, client):
    client.force_login(world.people["staff_a"])
    response = client.get(f"/impact/places/{world.place.slug}/?period=month&date=2025-10-15")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('role="img"') == html.count("<svg") >= 3
    assert "<title id=" in html and "<desc id=" in html
    assert "Zoé" not in html and "zoe@example.org" not in html
    assert "Quidam member_a" not in html and "Quidam manager_a" not in html
    assert f"/impact/places/{world.place.slug}/figures.csv?" in html


def test_the_coordinator_reaches_the_network_from_the_place(world, client):
    client.force_login(world.people["coordinator"])
    html = client.get(f"/impact/places/{world.place.slug}/").content.decode()
    assert f"/impact/networks/{world.network.slug}/" in html
    response = client.get(f"/impact/networks/{world.network.slug}/?period=year&date=2025-01-01")
    assert response.status_code == 200
    assert world.neighbour.name in response.content.decode()


def test_an_invalid_period_is_refused_with_the_form(world, client):
    client.force_login(world.people["manager_a"])
    url = f"/impact/places/{world.place.slug}/?period=custom&from=2025-10-10&to=2025-10-01"
    response = client.get(url)
    assert response.status_code == 400
    assert "has-error" in response.content.decode()
    assert client.get(url.replace("/?", "/figures.csv?")).status_code == 400


def test_the_csv_holds_every_figure_of_the_page(world, client):
    client.force_login(world.people["manager_a"])
    response = client.get(
        f"/impact/places/{world.place.slug}/figures.csv?period=custom&from=2025-10-01&to=2025-10-31"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    figures = selectors.place_figures(world.place, Period.custom(*OCTOBER_DAYS))
    assert len(rows) == len(figures.figures)
    checkins = next(row for row in rows if row["figure"] == "checkins")
    assert (checkins["value"], checkins["previous_value"], checkins["from"]) == (
        "2",
        "1",
        "2025-10-01",
    )
    assert checkins["previous_from"] == "2025-08-31"


OCTOBER_DAYS = (dt.date(2025, 10, 1), dt.date(2025, 10, 31))

PAGE = {"member_a": 404, "staff_a": 200, "manager_a": 200, "manager_b": 404, "coordinator": 200}
NETWORK_PAGE = {
    "member_a": 404,
    "staff_a": 404,
    "manager_a": 404,
    "manager_b": 404,
    "coordinator": 200,
}


@pytest.mark.parametrize("who", sorted(PAGE))
def test_who_reads_the_pages(world, client, who):
    client.force_login(world.people[who])
    for url in (
        f"/impact/places/{world.place.slug}/",
        f"/impact/places/{world.place.slug}/figures.csv",
    ):
        assert client.get(url).status_code == PAGE[who], url
    for url in (
        f"/impact/networks/{world.network.slug}/",
        f"/impact/networks/{world.network.slug}/figures.csv",
    ):
        assert client.get(url).status_code == NETWORK_PAGE[who], url


def test_anonymous_people_are_sent_to_log_in(world, client):
    response = client.get(f"/impact/places/{world.place.slug}/")
    assert response.status_code == 302 and "login" in response["Location"]
    assert client.get("/impact/places/no-such-place/").status_code == 302


API_PLACE = {
    "member_a": 403,
    "staff_a": 200,
    "manager_a": 200,
    "manager_b": 404,
    "coordinator": 200,
}
API_NETWORK = {
    "member_a": 403,
    "staff_a": 403,
    "manager_a": 403,
    "manager_b": 404,
    "coordinator": 200,
}


def _bearer(user) -> dict:
    return {"Authorization": f"Bearer {api_token_create(user=user)[1]}"}


@pytest.mark.parametrize("who", sorted(API_PLACE))
def test_who_reads_the_api(world, client, who):
    headers = _bearer(world.people[who])
    place = client.get(f"/api/v1/places/{world.place.slug}/statistics", headers=headers)
    assert place.status_code == API_PLACE[who]
    network = client.get(f"/api/v1/networks/{world.network.slug}/statistics", headers=headers)
    assert network.status_code == API_NETWORK[who]


def test_the_api_answers_the_figures_of_the_period(world, client):
    headers = _bearer(world.people["coordinator"])
    response = client.get(
        f"/api/v1/places/{world.place.slug}/statistics?period=month&date=2025-10-20",
        headers=headers,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["period"] == {"kind": "month", "first_day": "2025-10-01", "last_day": "2025-10-31"}
    assert body["previous_period"]["first_day"] == "2025-09-01"
    checkins = next(f for f in body["figures"] if f["figure"] == "checkins")
    assert (checkins["value"], checkins["previous_value"], checkins["change_percent"]) == (
        2,
        1,
        100.0,
    )
    assert client.get(f"/api/v1/places/{world.place.slug}/statistics").status_code == 401
    bad = client.get(
        f"/api/v1/places/{world.place.slug}/statistics?period=custom&from=x", headers=headers
    )
    assert bad.status_code == 400
    assert "from" in bad.json()["details"]
    missing = client.get("/api/v1/networks/nope/statistics", headers=headers)
    assert missing.status_code == 404
