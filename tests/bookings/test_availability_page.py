"""The availability search page (/bookings/): a GET form that works without JavaScript, result
cards with a link that books the searched window, errors next to their fields."""

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from maillage.accounts.models import PlaceRole
from tests.bookings.test_availability import (
    HOUR,
    MENDE,
    PARIS,
    THURSDAY,
    clock_change,
    hold,
    make_resource,
    next_weekday,
    place_at,
)
from tests.factories import NetworkFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = reverse("bookings:availability")


@pytest.fixture(autouse=True)
def _pages_in_english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


def criteria(start: dt.datetime, end: dt.datetime | None = None, **more) -> dict:
    end = end or start + 3 * HOUR
    return {
        "date": start.date().isoformat(),
        "start_time": f"{start:%H:%M}",
        "end_time": f"{end:%H:%M}",
        **more,
    }


def cards(response) -> list[str]:
    """The names of the resources listed, in order."""
    return re.findall(r'<h3 id="resource-\d+"><a href="[^"]+">([^<]+)</a></h3>', response.text)


def field_error(response, name: str) -> str:
    found = re.search(rf'<p class="error" id="{name}-error">([^<]+)</p>', response.text)
    return found.group(1) if found else ""


class TestForm:
    def test_the_empty_page_offers_the_form_prefilled_and_is_in_the_main_navigation(self, client):
        response = client.get(URL)
        assert response.status_code == 200
        page = response.text
        assert '<form method="get" action="/bookings/"' in page
        for name in ("date", "start_time", "end_time", "kind", "min_capacity", "town"):
            assert f'name="{name}"' in page
        assert 'name="service" value="visio_room"' in page
        assert 'value="14:00:00"' in page
        assert f'<a href="{URL}" aria-current="page">Book a room</a>' in page
        assert "resource free" not in page

    def test_the_home_page_links_to_the_search(self, client):
        assert f'<a href="{URL}" >Book a room</a>' in client.get("/").text

    def test_the_networks_are_offered(self, client):
        NetworkFactory(slug="solozere", name="Solozère")
        assert '<option value="solozere" >Solozère</option>' in client.get(URL).text


class TestResults:
    def test_free_resources_are_listed_nearest_first_with_their_details(self, client):
        place = place_at(4, name="La Loco", town="Mende")
        make_resource(
            place,
            name="Salle Causse",
            capacity=8,
            services=["visio_room"],
            character=["view"],
            price_info="20 € / h",
            requires_approval=True,
        )
        make_resource(place_at(12, town="Mende"), name="Far room")
        start = next_weekday(THURSDAY, 14)
        response = client.get(URL, criteria(start, near=f"{MENDE.lat},{MENDE.lon}"))
        assert response.status_code == 200
        page = response.text
        assert cards(response) == ["Salle Causse", "Far room"]
        assert "2 resources free" in page
        assert "within 30 km of your position" in page
        assert "La Loco</a>, Mende" in page
        assert "8 people" in page
        assert '<span class="distance">4.0 km</span>' in page
        assert 'alt="Video-conference room"' in page
        assert "<li>Beautiful view</li>" in page
        assert "20 € / h" in page
        assert "Needs approval" in page

    def test_the_cards_read_nothing_more_per_result(self, client):
        """The results are built with only what the cards show: a field a card read beyond
        that would cost a query per result."""
        start = next_weekday(THURSDAY, 14)
        search = criteria(start, near=f"{MENDE.lat},{MENDE.lon}")

        def queries_for(results: int) -> int:
            with CaptureQueriesContext(connection) as captured:
                response = client.get(URL, search)
            assert len(cards(response)) == results
            return len(captured)

        make_resource(place_at(4), name="First", services=["wifi"], character=["view"])
        few = queries_for(1)
        for km in (5, 6, 7):
            place = place_at(km, town="Mende")
            for name in ("A", "B"):
                make_resource(place, name=name, services=["wifi"], price_info="10 €")
        assert queries_for(7) == few

    def test_the_book_button_opens_the_booking_form_for_the_searched_window(self, client):
        resource = make_resource()
        start = next_weekday(THURSDAY, 14)
        page = client.get(URL, criteria(start)).text
        found = re.search(r'<a class="button" href="([^"]+)">Book<', page)
        link = urlsplit(found.group(1).replace("&amp;", "&"))
        assert link.path == reverse("bookings:book", args=[resource.pk])
        window = {key: dt.datetime.fromisoformat(v[0]) for key, v in parse_qs(link.query).items()}
        assert window == {"start": start, "end": start + 3 * HOUR}
        assert window["start"].astimezone(PARIS).hour == 14

    def test_one_click_opens_the_booking_form_filled_in(self, client):
        make_resource(name="Salle Causse")
        client.force_login(UserFactory(language="en"))  # the account's language wins
        start = next_weekday(THURSDAY, 14)
        page = client.get(URL, criteria(start)).text
        link = re.search(r'<a class="button" href="([^"]+)">Book<', page).group(1)
        form = client.get(link.replace("&amp;", "&"))
        assert form.status_code == 200
        assert f'value="{start.date().isoformat()}"' in form.text
        assert 'value="14:00"' in form.text
        assert 'value="17:00"' in form.text

    def test_a_town_and_the_other_criteria_narrow_the_search(self, client):
        make_resource(place_at(0, town="Mende"), name="Visio", services=["visio_room"])
        make_resource(place_at(0, town="Mende"), name="Plain", capacity=20)
        make_resource(place_at(200, town="Millau"), name="Elsewhere")
        start = next_weekday(THURSDAY, 14)
        response = client.get(URL, criteria(start, town="mende"))
        assert sorted(cards(response)) == ["Plain", "Visio"]
        assert "within 30 km of Mende" in response.text
        assert cards(client.get(URL, criteria(start, town="Mende", service="visio_room"))) == [
            "Visio"
        ]
        assert cards(client.get(URL, criteria(start, town="Mende", min_capacity="10"))) == ["Plain"]

    def test_busy_resources_and_members_only_ones_of_others_are_not_listed(self, client):
        busy = make_resource(name="Busy")
        members_only = make_resource(name="Members", audience="members")
        start = next_weekday(THURSDAY, 14)
        hold(busy, start, start + HOUR)
        assert cards(client.get(URL, criteria(start))) == []
        member = UserFactory()
        PlaceRole.objects.create(user=member, place=members_only.place, role="resident")
        client.force_login(member)
        assert cards(client.get(URL, criteria(start))) == ["Members"]

    def test_names_are_escaped(self, client):
        make_resource(name="<script>alert(1)</script>", price_info="<b>free</b>")
        page = client.get(URL, criteria(next_weekday(THURSDAY, 14))).text
        assert "<script>alert(1)</script>" not in page
        assert escape("<script>alert(1)</script>") in page
        assert escape("<b>free</b>") in page

    def test_nothing_free_suggests_searching_further(self, client):
        start = next_weekday(THURSDAY, 14)
        response = client.get(URL, criteria(start, town="Mende", radius_km="30"))
        assert "No place of the directory" in field_error(response, "town")
        hold(make_resource(place_at(0, town="Mende"), name="Busy"), start, start + HOUR)
        make_resource(place_at(50, town="Langogne"), name="Far")
        response = client.get(URL, criteria(start, town="Mende", radius_km="30"))
        assert cards(response) == []
        assert "No resource is free for the whole of this time" in response.text
        wider = re.search(r'<a href="\?([^"]+)">Search further than 30 km</a>', response.text)
        assert parse_qs(wider.group(1).replace("&amp;", "&"))["radius_km"] == ["60"]
        assert cards(client.get(URL, parse_qs(wider.group(1).replace("&amp;", "&")))) == ["Far"]

    def test_results_come_in_pages(self, client):
        place = place_at(0)
        for number in range(23):
            make_resource(place, name=f"Room {number:02d}", capacity=number + 1)
        start = next_weekday(THURSDAY, 14)
        first = client.get(URL, criteria(start))
        assert len(cards(first)) == 20
        assert "23 resources free" in first.text
        assert 'rel="next"' in first.text
        second = client.get(URL, {**criteria(start), "page": "2"})
        assert cards(second) == ["Room 20", "Room 21", "Room 22"]


class TestErrors:
    def test_an_end_before_the_start_is_shown_next_to_the_end(self, client):
        start = next_weekday(THURSDAY, 14)
        response = client.get(URL, criteria(start, start - HOUR))
        assert response.status_code == 200
        assert field_error(response, "end_time") == "The end must come after the start."
        assert 'aria-invalid="true" aria-describedby="end_time-error"' in response.text
        assert "Some criteria are not valid" in response.text

    def test_a_time_skipped_by_the_clocks_is_explained(self, client):
        spring = dt.datetime.combine(clock_change(3), dt.time(2, 30))
        response = client.get(URL, criteria(spring, spring + HOUR))
        assert "02:30 does not exist on that day in Europe/Paris" in field_error(
            response, "start_time"
        )

    def test_a_past_date_is_refused(self, client):
        response = client.get(URL, criteria(next_weekday(THURSDAY, 14, weeks=-2)))
        assert field_error(response, "date") == "This date is in the past."

    def test_missing_and_malformed_values_are_named(self, client):
        response = client.get(
            URL, {"date": "someday", "start_time": "14:00", "kind": "castle", "radius_km": "-3"}
        )
        assert field_error(response, "date") == "Enter a valid date."
        assert field_error(response, "end_time") == "This field is required."
        assert "castle" in field_error(response, "kind")
        assert "at most 1000 km" in field_error(response, "radius_km")
