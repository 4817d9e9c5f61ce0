"""GET /api/v1/availability (PRODUCT.md §5): criteria, answer shape, callers, and bad input."""

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from maillage.accounts.models import PlaceRole
from maillage.accounts.services import api_token_create
from tests.bookings.test_availability import (
    HOUR,
    MENDE,
    THURSDAY,
    hold,
    make_resource,
    next_weekday,
    place_at,
)
from tests.factories import NetworkFactory, PlaceFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/availability"


@pytest.fixture(autouse=True)
def _messages_in_english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def window():
    start = next_weekday(THURSDAY, 14)
    return {"start": start.isoformat(), "end": (start + 3 * HOUR).isoformat()}


def search(client, params, **headers):
    return client.get(URL, params, headers=headers)


class TestAnswer:
    def test_a_free_resource_with_its_place_distance_and_links(self, client, window):
        place = place_at(5, slug="la-loco", name="La Loco", town="Mende")
        resource = make_resource(
            place,
            name="Salle Causse",
            capacity=10,
            services=["wifi", "visio_room"],
            character=["view"],
            price_info="20 € / h",
            requires_approval=True,
        )
        response = search(client, {**window, "near": f"{MENDE.lat},{MENDE.lon}"})
        assert response.status_code == 200
        body = response.json()
        assert body["count"] == 1
        (result,) = body["results"]
        assert result["resource"] == {
            "id": resource.pk,
            "name": "Salle Causse",
            "kind": "meeting_room",
            "capacity": 10,
            "services": ["visio_room", "wifi"],
            "character": ["view"],
            "photo_url": None,
            "price_info": "20 € / h",
            "requires_approval": True,
            "url": reverse("bookings:resource", args=[resource.pk]),
            "book_url": result["resource"]["book_url"],
        }
        assert result["place"] == {
            "slug": "la-loco",
            "name": "La Loco",
            "town": "Mende",
            "lat": place.latitude,
            "lon": place.longitude,
            "url": "/places/la-loco/",
        }
        assert result["distance_km"] == pytest.approx(5, abs=0.2)
        assert result["distance_km"] == round(result["distance_km"], 2)

    def test_the_answer_reads_nothing_more_per_result(self, client, window):
        params = {**window, "near": f"{MENDE.lat},{MENDE.lon}"}

        def queries_for(results: int) -> int:
            with CaptureQueriesContext(connection) as captured:
                body = search(client, params).json()
            assert body["count"] == results
            return len(captured)

        make_resource(place_at(4), name="First", services=["wifi"], character=["view"])
        few = queries_for(1)
        for km in (5, 6, 7):
            place = place_at(km)
            for name in ("A", "B"):
                make_resource(place, name=name, services=["wifi"], price_info="10 €")
        assert queries_for(7) == few

    def test_the_book_link_carries_the_window(self, client, window):
        resource = make_resource()
        book_url = search(client, window).json()["results"][0]["resource"]["book_url"]
        link = urlsplit(book_url)
        assert link.path == reverse("bookings:book", args=[resource.pk])
        times = {name: dt.datetime.fromisoformat(v[0]) for name, v in parse_qs(link.query).items()}
        assert times == {name: dt.datetime.fromisoformat(value) for name, value in window.items()}

    def test_without_a_position_there_is_no_distance(self, client, window):
        make_resource()
        assert search(client, window).json()["results"][0]["distance_km"] is None

    def test_a_town_is_located_from_the_places_of_the_directory(self, client, window):
        make_resource(place_at(0, town="Mende"), name="Near")
        make_resource(place_at(80, town="Rodez"), name="Far")
        body = search(client, {**window, "town": "mende"}).json()
        assert [r["resource"]["name"] for r in body["results"]] == ["Near"]
        body = search(client, {**window, "town": "Mende", "radius_km": "100"}).json()
        assert [r["resource"]["name"] for r in body["results"]] == ["Near", "Far"]

    def test_criteria_narrow_the_results(self, client, window):
        network = NetworkFactory(slug="solozere")
        inside = PlaceFactory()
        inside.networks.add(network)
        make_resource(inside, name="Visio", services=["wifi", "visio_room"], capacity=8)
        make_resource(name="Wifi", services=["wifi"], capacity=12)
        make_resource(name="Desk", kind="desk", services=["wifi", "visio_room"])

        def names(**criteria):
            body = search(client, {**window, **criteria}).json()
            return sorted(r["resource"]["name"] for r in body["results"])

        assert names() == ["Desk", "Visio", "Wifi"]
        assert names(service=["wifi", "visio_room"]) == ["Desk", "Visio"]
        assert names(service="wifi,visio_room") == ["Desk", "Visio"]
        assert names(service="wifi, visio_room,") == ["Desk", "Visio"]
        assert names(kind="meeting_room", min_capacity="10") == ["Wifi"]
        assert names(network="solozere") == ["Visio"]

    def test_busy_resources_are_left_out(self, client, window):
        resource = make_resource()
        start = dt.datetime.fromisoformat(window["start"])
        hold(resource, start + HOUR, start + 2 * HOUR, status="pending")
        assert search(client, window).json() == {"count": 0, "results": []}

    def test_charm_order_and_pages(self, client, window):
        make_resource(place_at(1), name="Plain")
        make_resource(place_at(9), name="Charming", character=["view", "quiet"])
        make_resource(place_at(5), name="Cosy", character=["cosy"])
        near = {"near": f"{MENDE.lat},{MENDE.lon}"}
        body = search(client, {**window, **near, "order": "charm"}).json()
        assert [r["resource"]["name"] for r in body["results"]] == ["Charming", "Cosy", "Plain"]
        body = search(client, {**window, **near, "page": "2", "page_size": "2"}).json()
        assert body["count"] == 3
        assert [r["resource"]["name"] for r in body["results"]] == ["Charming"]
        body = search(client, {**window, **near, "page": "3", "page_size": "2"}).json()
        assert body == {"count": 3, "results": []}


class TestCallers:
    def test_a_token_holder_sees_the_members_only_resources_of_their_places(self, client, window):
        resource = make_resource(audience="members")
        member = UserFactory()
        PlaceRole.objects.create(user=member, place=resource.place, role="resident")
        token = api_token_create(user=member, name="test")[1]
        assert search(client, window).json()["count"] == 0
        answer = search(client, window, Authorization=f"Bearer {token}")
        assert answer.json()["count"] == 1

    def test_a_wrong_token_is_refused_rather_than_ignored(self, client, window):
        response = search(client, window, Authorization="Bearer nope")
        assert response.status_code == 401


class TestBadInput:
    @pytest.mark.parametrize(
        ("change", "field", "message"),
        [
            ({"end": "start"}, "end", "The end must come after the start."),
            ({"end": "before"}, "end", "The end must come after the start."),
            ({"end": "far"}, "end", "A search covers at most 14 days."),
            ({"start": "2027-03-04T14:00:00"}, "start", "offset from UTC"),
            ({"start": "next thursday"}, "start", "ISO 8601"),
            ({"start": "9999-12-31T23:00:00+00:00"}, "start", "ISO 8601"),
            ({"kind": "castle"}, "kind", "castle"),
            ({"service": "wifi,jacuzzi"}, "service", "jacuzzi"),
            ({"network": "nowhere"}, "network", "There is no network “nowhere”."),
            ({"radius_km": "0", "town": "Mende"}, "radius_km", "at most 1000 km"),
            ({"radius_km": "5000", "town": "Mende"}, "radius_km", "at most 1000 km"),
            ({"near": "44.5"}, "near", "latitude,longitude"),
            ({"near": "95,3"}, "near", "between -90 and 90"),
            ({"town": "Atlantis"}, "town", "Atlantis"),
            ({"min_capacity": "0"}, "min_capacity", "greater than or equal to 1"),
            ({"order": "price"}, "order", "price"),
        ],
    )
    def test_a_bad_value_is_a_400_naming_the_field(self, client, window, change, field, message):
        start = dt.datetime.fromisoformat(window["start"])
        replacements = {
            "start": window["start"],
            "before": (start - HOUR).isoformat(),
            "far": (start + dt.timedelta(days=15)).isoformat(),
        }
        PlaceFactory(town="Mende")
        params = {**window, **{k: replacements.get(v, v) for k, v in change.items()}}
        response = search(client, params)
        assert response.status_code == 400
        body = response.json()
        assert body["message"] == "Some values are invalid."
        assert message in " ".join(body["details"][field])

    def test_the_window_is_required(self, client):
        response = search(client, {"kind": "desk"})
        assert response.status_code == 400
        assert {"start", "end"} <= set(response.json()["details"])

    def test_pages_are_checked(self, client, window):
        response = search(client, {**window, "page_size": "500"})
        assert response.status_code == 400
        assert "page_size" in response.json()["message"]

    def test_messages_follow_the_language_of_the_request(self, client, window):
        start = dt.datetime.fromisoformat(window["start"])
        params = {**window, "end": (start - HOUR).isoformat()}
        response = search(client, params, **{"Accept-Language": "fr"})
        assert response.status_code == 400
        assert response.json() == {
            "message": "Certaines valeurs ne sont pas valides.",
            "details": {"end": ["La fin doit venir après le début."]},
        }

    def test_a_past_window_finds_nothing(self, client):
        make_resource()
        start = next_weekday(THURSDAY, 14, weeks=-2)
        response = search(client, {"start": start.isoformat(), "end": (start + HOUR).isoformat()})
        assert response.json() == {"count": 0, "results": []}


def test_the_operation_is_documented(client):
    schema = client.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/availability"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert {"start", "end", "kind", "min_capacity", "near", "town", "radius_km", "service"} <= set(
        parameters
    )
    assert {"network", "order", "page", "page_size"} <= set(parameters)
    assert parameters["start"]["required"] is True
    assert {"200", "400", "401"} <= set(operation["responses"])
