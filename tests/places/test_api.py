"""The JSON API under /api/v1/: directory reads, exports, edits with tokens, proposals."""

import csv
import datetime as dt
import io
import json

import pytest
from django.utils import translation

from maillage.accounts.services import api_token_create
from maillage.places import exports
from maillage.places.models import (
    OpeningHours,
    Place,
    PlaceProposal,
    PlaceRevision,
    PlaceTerm,
    Season,
)
from tests.factories import NetworkFactory, PlaceFactory, make_coordinator, make_manager

pytestmark = pytest.mark.django_db

API = "/api/v1"


def add_terms(place, kind, *codes):
    PlaceTerm.objects.bulk_create([PlaceTerm(place=place, kind=kind, code=c) for c in codes])


def assert_error(response, status):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"message", "details"}
    assert isinstance(body["message"], str)
    assert body["message"]
    assert isinstance(body["details"], dict)
    return body


def bearer(user):
    _token, raw = api_token_create(user=user)
    return {"authorization": f"Bearer {raw}"}


@pytest.fixture
def mende(db):
    place = PlaceFactory(name="Fablab de Mende", town="Mende", latitude=44.5181, longitude=3.5006)
    add_terms(place, PlaceTerm.Kind.FUNCTION, "makers")
    add_terms(place, PlaceTerm.Kind.SERVICE, "wifi", "fablab")
    return place


def test_places_list_has_count_and_results(client, mende):
    PlaceFactory(name="Hidden", is_published=False)

    response = client.get(f"{API}/places")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    (result,) = body["results"]
    assert {
        key: result[key] for key in ("slug", "name", "town", "lat", "lon", "functions", "services")
    } == {
        "slug": mende.slug,
        "name": "Fablab de Mende",
        "town": "Mende",
        "lat": 44.5181,
        "lon": 3.5006,
        "functions": ["makers"],
        "services": ["fablab", "wifi"],
    }
    assert result["url"] == mende.get_absolute_url()
    assert result["distance_km"] is None


def test_near_lists_the_nearest_first_with_its_distance(client, mende):
    florac = PlaceFactory(name="Florac", latitude=44.3242, longitude=3.5931)
    PlaceFactory(name="Montpellier", latitude=43.6108, longitude=3.8767)

    response = client.get(f"{API}/places", {"near": "44.52,3.50", "radius_km": "50"})

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["slug"] for r in results] == [mende.slug, florac.slug]
    assert results[0]["distance_km"] < 1 < results[1]["distance_km"] <= 50


def test_pages_split_the_results(client):
    for letter in "ABCDE":
        PlaceFactory(name=f"Lieu {letter}")

    response = client.get(f"{API}/places", {"page": 2, "page_size": 2})

    body = response.json()
    assert body["count"] == 5
    assert [r["name"] for r in body["results"]] == ["Lieu C", "Lieu D"]


def test_filters_apply_to_the_list(client, mende):
    network = NetworkFactory(slug="lozere")
    mende.networks.add(network)
    PlaceFactory(name="Café de Florac", town="Florac")

    def names(**params):
        return [r["name"] for r in client.get(f"{API}/places", params).json()["results"]]

    assert names(q="fablab mende") == ["Fablab de Mende"]
    assert names(service=["wifi", "fablab"]) == ["Fablab de Mende"]
    assert names(function="makers") == ["Fablab de Mende"]
    assert names(network="lozere") == ["Fablab de Mende"]
    assert names(q="florac") == ["Café de Florac"]


def test_open_at_takes_iso_instants_with_or_without_offset(client, mende):
    for weekday in range(7):
        OpeningHours.objects.create(
            place=mende, weekday=weekday, opens=dt.time(9), closes=dt.time(18)
        )
    Season.objects.create(
        place=mende,
        name="Hiver",
        start_date=dt.date(2026, 12, 1),
        end_date=dt.date(2027, 3, 31),
        yearly=True,
        closed=True,
    )

    def count(open_at):
        response = client.get(f"{API}/places", {"open_at": open_at})
        assert response.status_code == 200, response.content
        return response.json()["count"]

    assert count("2027-07-15T10:00:00+02:00") == 1
    assert count("2027-07-15T10:00") == 1  # read in the site's time zone
    assert count("2027-07-15T06:30:00Z") == 0  # 8:30 in Paris
    assert count("2027-07-15T07:30:00Z") == 1  # 9:30 in Paris
    assert count("2027-01-15T10:00:00+01:00") == 0  # closed for the winter
    assert count("2027-07-15T20:00:00+02:00") == 0
    # A local time the clocks skip is refused with an explanation, not a server error.
    skipped = client.get(f"{API}/places", {"open_at": "2026-03-29T02:30"})
    assert "open_at" in assert_error(skipped, 400)["details"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"near": "abc"}, "near"),
        ({"near": "95,3"}, "near"),
        ({"near": "44.5,3.5", "radius_km": "0"}, "radius_km"),
        ({"near": "44.5,3.5", "radius_km": "-5"}, "radius_km"),
        ({"near": "44.5,3.5", "radius_km": "5000"}, "radius_km"),
        ({"near": "nan,3"}, "near"),
        ({"near": "44.5;3.5"}, "near"),
        ({"near": "44.5,3.5", "radius_km": "nan"}, "radius_km"),
        ({"near": "44.5,3.5", "radius_km": "inf"}, "radius_km"),
        ({"radius_km": "far"}, "radius_km"),
        ({"service": "teleporter"}, "service"),
        ({"open_at": "garbage"}, "open_at"),
        ({"network": "unknown"}, "network"),
        ({"town": "Atlantis"}, "town"),
        ({"page_size": "1000"}, None),
        ({"page": "0"}, None),
    ],
)
def test_invalid_criteria_are_a_400_with_message_and_details(client, params, field):
    body = assert_error(client.get(f"{API}/places", params), 400)

    if field is not None:
        assert field in body["details"]
        assert all(isinstance(m, str) for m in body["details"][field])


def expected_message(text, language):
    with translation.override(language):
        return translation.gettext(text)


@pytest.mark.parametrize("path", ["places", "places.geojson", "places.csv"])
def test_error_messages_follow_accept_language(client, path):
    french = assert_error(client.get(f"{API}/{path}", {"near": "abc"}), 400)
    english = assert_error(
        client.get(f"{API}/{path}", {"near": "abc"}, headers={"accept-language": "en"}), 400
    )

    assert french["message"] == expected_message("Some values are invalid.", "fr")
    assert english["message"] == expected_message("Some values are invalid.", "en")
    if expected_message("Some values are invalid.", "fr") != "Some values are invalid.":
        # Only when the French messages are compiled.
        assert french["message"] != english["message"]
        assert french["details"]["near"] != english["details"]["near"]


def test_a_place_by_its_slug(client, mende):
    network = NetworkFactory(slug="lozere")
    mende.networks.add(network)
    add_terms(mende, PlaceTerm.Kind.LANGUAGE, "oc", "fr")

    response = client.get(f"{API}/places/{mende.slug}")

    assert response.status_code == 200
    body = response.json()
    assert (body["slug"], body["name"], body["networks"]) == (mende.slug, mende.name, ["lozere"])
    assert body["languages"] == ["fr", "oc"]
    assert body["time_zone"] == "Europe/Paris"
    assert body["open_now"] is False


@pytest.mark.parametrize("published", [True, False])
def test_an_unknown_or_unpublished_place_is_a_404(client, published):
    hidden = PlaceFactory(is_published=False)
    slug = "nowhere" if published else hidden.slug

    body = assert_error(client.get(f"{API}/places/{slug}"), 404)

    assert slug in body["message"]


def test_geojson_is_a_feature_collection_in_lon_lat_order(client, mende):
    florac = PlaceFactory(name="Florac", latitude=44.3242, longitude=3.5931)
    add_terms(florac, PlaceTerm.Kind.SERVICE, "garden")

    response = client.get(f"{API}/places.geojson")
    filtered = client.get(f"{API}/places.geojson", {"service": "garden"})

    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "FeatureCollection"
    by_slug = {f["properties"]["slug"]: f for f in body["features"]}
    assert by_slug[mende.slug]["type"] == "Feature"
    assert by_slug[mende.slug]["geometry"] == {"type": "Point", "coordinates": [3.5006, 44.5181]}
    assert by_slug[mende.slug]["properties"]["services"] == ["fablab", "wifi"]
    features = filtered.json()["features"]
    assert [f["properties"]["slug"] for f in features] == [florac.slug]
    assert features[0]["geometry"]["coordinates"] == [3.5931, 44.3242]


def test_geojson_near_a_position_has_distances(client, mende):
    response = client.get(f"{API}/places.geojson", {"near": "44.5181,3.5006", "radius_km": "5"})

    (feature,) = response.json()["features"]
    assert feature["properties"]["distance_km"] == 0


def read_csv(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


def test_csv_has_our_columns_and_neutralises_formulas(client, mende):
    network = NetworkFactory(slug="lozere")
    mende.networks.add(network)
    evil = PlaceFactory(name='=HYPERLINK("http://evil.example","clic")', phone="+33 4 66 00 00 00")

    header, *rows = read_csv(client.get(f"{API}/places.csv"))

    assert tuple(header) == exports.CSV_COLUMNS
    by_slug = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert by_slug[evil.slug]["name"] == '\'=HYPERLINK("http://evil.example","clic")'
    assert by_slug[evil.slug]["phone"] == "'+33 4 66 00 00 00"
    assert by_slug[mende.slug]["name"] == "Fablab de Mende"
    assert by_slug[mende.slug]["services"] == "fablab|wifi"
    assert by_slug[mende.slug]["networks"] == "lozere"
    assert float(by_slug[mende.slug]["latitude"]) == 44.5181


def test_csv_honours_the_filters(client, mende):
    PlaceFactory(name="Florac", town="Florac")

    header, *rows = read_csv(client.get(f"{API}/places.csv", {"q": "florac"}))

    assert [row[header.index("name")] for row in rows] == ["Florac"]


def patch(client, slug, data, headers=None):
    return client.patch(
        f"{API}/places/{slug}",
        data=json.dumps(data),
        content_type="application/json",
        headers=headers or {},
    )


def test_a_manager_edits_their_place_with_a_token(client, mende):
    manager = make_manager(mende)

    response = patch(
        client, mende.slug, {"summary": "Atelier partagé", "services": ["wifi"]}, bearer(manager)
    )

    assert response.status_code == 200, response.content
    assert response.json()["summary"] == "Atelier partagé"
    assert response.json()["services"] == ["wifi"]
    mende.refresh_from_db()
    assert mende.summary == "Atelier partagé"
    assert mende.name == "Fablab de Mende"
    (revision,) = PlaceRevision.objects.filter(place=mende)
    assert revision.author == manager
    assert revision.changes == {
        "summary": ["", "Atelier partagé"],
        "services": [["fablab", "wifi"], ["wifi"]],
    }


def test_a_coordinator_of_its_network_edits_a_place(client, mende):
    network = NetworkFactory()
    mende.networks.add(network)

    response = patch(
        client, mende.slug, {"phone": "04 66 00 00 00"}, bearer(make_coordinator(network))
    )

    assert response.status_code == 200
    mende.refresh_from_db()
    assert mende.phone == "04 66 00 00 00"


def test_a_manager_may_edit_their_unpublished_place(client):
    hidden = PlaceFactory(is_published=False)

    response = patch(client, hidden.slug, {"summary": "Bientôt"}, bearer(make_manager(hidden)))

    assert response.status_code == 200, response.content
    assert response.json()["summary"] == "Bientôt"


def test_the_manager_of_another_place_gets_a_404(client, mende):
    other_manager = make_manager(PlaceFactory())

    # No role in this place: answered as if it did not exist (403 would confirm that it does).
    assert_error(patch(client, mende.slug, {"summary": "Hacked"}, bearer(other_manager)), 404)

    mende.refresh_from_db()
    assert mende.summary == ""


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Bearer mlg_not-a-real-token"},
        {"authorization": "Bearer something-else"},
        {"authorization": "Basic dXNlcjpwYXNz"},
    ],
)
def test_editing_without_a_valid_token_is_a_401(client, mende, headers):
    assert_error(patch(client, mende.slug, {"summary": "Hacked"}, headers), 401)

    mende.refresh_from_db()
    assert mende.summary == ""


def test_a_token_of_an_inactive_user_is_a_401(client, mende):
    manager = make_manager(mende)
    headers = bearer(manager)
    manager.is_active = False
    manager.save()

    assert_error(patch(client, mende.slug, {"summary": "Hacked"}, headers), 401)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"latitude": 95, "summary": "Moved"}, "latitude"),
        ({"longitude": -200}, "longitude"),
        ({"services": ["teleporter"]}, "services"),
        ({"email": "not an email"}, "email"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"latitude": "north"}, "latitude"),
    ],
)
def test_invalid_edits_are_a_400_and_change_nothing(client, mende, data, field):
    body = assert_error(patch(client, mende.slug, data, bearer(make_manager(mende))), 400)

    assert field in body["details"]
    mende.refresh_from_db()
    assert (mende.latitude, mende.longitude, mende.summary) == (44.5181, 3.5006, "")
    assert mende.services == ["fablab", "wifi"]
    assert not PlaceRevision.objects.exists()


def test_editing_an_unknown_place_is_a_404(client, mende):
    assert_error(patch(client, "nowhere", {"summary": "x"}, bearer(make_manager(mende))), 404)


NEW_PLACE = {
    "name": "La Grange",
    "town": "Florac",
    "latitude": 44.3242,
    "longitude": 3.5931,
    "services": ["wifi"],
}


def propose(client, data, **headers):
    return client.post(
        f"{API}/proposals", data=json.dumps(data), content_type="application/json", headers=headers
    )


def test_anyone_may_propose_a_new_place_with_an_email(client):
    network = NetworkFactory(slug="lozere")

    response = propose(
        client, {**NEW_PLACE, "proposer_email": "alice@example.org", "network": "lozere"}
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["status"], body["place"]) == ("new", "pending", None)
    proposal = PlaceProposal.objects.get(pk=body["id"])
    assert proposal.proposer_email == "alice@example.org"
    assert proposal.network == network
    assert proposal.payload["name"] == "La Grange"
    assert proposal.payload["services"] == ["wifi"]
    assert proposal.language == "fr"
    assert not Place.objects.exists()


def test_a_proposal_records_the_language_of_the_request(client):
    response = propose(
        client, {**NEW_PLACE, "proposer_email": "a@example.org"}, accept_language="es"
    )

    assert PlaceProposal.objects.get(pk=response.json()["id"]).language == "es"


def test_an_anonymous_proposal_without_email_is_a_400(client):
    body = assert_error(propose(client, NEW_PLACE), 400)

    assert "proposer_email" in body["details"]
    assert not PlaceProposal.objects.exists()


def test_a_signed_in_proposer_needs_no_email(client, mende):
    manager = make_manager(mende)

    response = propose(client, NEW_PLACE, **bearer(manager))

    assert response.status_code == 201, response.content
    assert PlaceProposal.objects.get().proposer == manager


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"latitude": 95}, "latitude"),
        ({"name": ""}, "name"),
        ({"services": ["teleporter"]}, "services"),
        ({"network": "nowhere"}, "network"),
    ],
)
def test_an_invalid_proposal_is_a_400(client, data, field):
    body = assert_error(
        propose(client, {**NEW_PLACE, "proposer_email": "a@example.org", **data}), 400
    )

    assert field in body["details"]
    assert not PlaceProposal.objects.exists()


def test_too_many_proposals_from_one_address_are_a_429(client, settings):
    settings.MAILLAGE_PROPOSALS_PER_HOUR = 2
    data = {**NEW_PLACE, "proposer_email": "a@example.org"}

    statuses = [propose(client, data).status_code for _ in range(2)]
    body = assert_error(propose(client, data), 429)

    assert statuses == [201, 201]
    assert body["message"]
    assert PlaceProposal.objects.count() == 2
    other_address = client.post(
        f"{API}/proposals",
        data=json.dumps(data),
        content_type="application/json",
        REMOTE_ADDR="192.0.2.7",
    )
    assert other_address.status_code == 201


def test_a_forged_forwarded_for_header_does_not_escape_the_limit(client, settings):
    settings.MAILLAGE_PROPOSALS_PER_HOUR = 1
    settings.MAILLAGE_TRUST_PROXY = False
    data = {**NEW_PLACE, "proposer_email": "a@example.org"}

    first = propose(client, data, x_forwarded_for="198.51.100.1")
    second = propose(client, data, x_forwarded_for="198.51.100.2")

    assert (first.status_code, second.status_code) == (201, 429)


def test_behind_a_trusted_proxy_the_address_it_appended_is_the_client(client, settings):
    settings.MAILLAGE_PROPOSALS_PER_HOUR = 1
    settings.MAILLAGE_TRUST_PROXY = True
    data = {**NEW_PLACE, "proposer_email": "a@example.org"}

    statuses = [
        propose(client, data, x_forwarded_for=forwarded).status_code
        for forwarded in (
            "203.0.113.9, 198.51.100.1",
            "198.51.100.1",  # the same client, whatever it claims before
            "203.0.113.9, 198.51.100.2",
        )
    ]

    assert statuses == [201, 429, 201]


def test_a_correction_names_its_place(client, mende):
    response = propose(
        client, {"place": mende.slug, "phone": "04 66 00 00 00", "proposer_email": "b@example.org"}
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["place"]) == ("correction", mende.slug)
    proposal = PlaceProposal.objects.get(pk=body["id"])
    assert proposal.place == mende
    assert proposal.payload["phone"] == "04 66 00 00 00"
    assert proposal.payload.get("name", mende.name) == mende.name
    assert sorted(proposal.payload.get("services", mende.services)) == ["fablab", "wifi"]
    mende.refresh_from_db()
    assert mende.phone == ""


@pytest.mark.parametrize("slug", ["nowhere", "hidden"])
def test_a_correction_of_an_unknown_place_is_a_404(client, slug):
    PlaceFactory(slug="hidden", is_published=False)

    body = assert_error(
        propose(client, {"place": slug, "phone": "1", "proposer_email": "b@example.org"}), 404
    )

    assert slug in body["message"]
    assert not PlaceProposal.objects.exists()


def test_towns_by_prefix(client):
    PlaceFactory(town="Mende")
    PlaceFactory(town="Mende")
    PlaceFactory(town="Marvejols")

    response = client.get(f"{API}/towns", {"q": "men"})

    assert response.status_code == 200
    assert response.json() == [{"name": "Mende", "places": 2}]


def test_the_openapi_schema_lists_the_directory(client):
    response = client.get(f"{API}/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/places",
        "/places/{slug}",
        "/places.geojson",
        "/places.jsonld",
        "/places.csv",
        "/proposals",
    ):
        assert f"{API}{path}" in paths


def test_a_wrong_method_answers_405_in_the_api_error_shape(client):
    response = client.delete("/api/v1/places")
    assert response.status_code == 405
    body = response.json()
    assert set(body) == {"message", "details"}
    assert "GET" in body["details"]["allowed"] and "GET" in response["Allow"]


def test_json_ld_is_a_graph_of_schema_org_places(client, mende):
    florac = PlaceFactory(name="Florac", latitude=44.3242, longitude=3.5931)
    add_terms(florac, PlaceTerm.Kind.SERVICE, "garden")

    response = client.get(f"{API}/places.jsonld")
    filtered = client.get(f"{API}/places.jsonld", {"service": "garden"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/ld+json"
    body = response.json()
    assert body["@context"] == "https://schema.org"
    by_name = {node["name"]: node for node in body["@graph"]}
    assert set(by_name) == {mende.name, "Florac"}
    assert all("@context" not in node and node["@type"] == "Place" for node in body["@graph"])
    assert by_name["Florac"]["geo"] == {
        "@type": "GeoCoordinates",
        "latitude": 44.3242,
        "longitude": 3.5931,
    }
    assert by_name[mende.name]["url"].endswith(mende.get_absolute_url())
    assert [node["name"] for node in filtered.json()["@graph"]] == ["Florac"]


def test_json_ld_refuses_bad_filters_like_the_other_exports(client):
    body = assert_error(client.get(f"{API}/places.jsonld", {"near": "abc"}), 400)

    assert "near" in body["details"]
