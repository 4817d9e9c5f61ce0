"""The agenda's iCalendar and RSS feeds, read back with two independent iCalendar parsers
(icalendar and vobject) and an XML parser: times, time zones, UIDs, filters, privacy."""

import datetime as dt
import email.utils
import xml.etree.ElementTree as ET
import zoneinfo

import pytest
import vobject
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from icalendar import Calendar

from maillage.agenda import feeds, services
from maillage.agenda.models import Event
from maillage.places.models import Place
from tests.factories import NetworkFactory, PlaceFactory, make_coordinator, make_manager

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
CAYENNE = zoneinfo.ZoneInfo("America/Cayenne")
HOUR = dt.timedelta(hours=1)
ICS, RSS = reverse("agenda:feed_ics"), reverse("agenda:feed_rss")


@pytest.fixture(autouse=True)
def _messages_in_english():
    with translation.override("en"):
        yield


@pytest.fixture
def client():
    return Client(headers={"accept-language": "en"})


@pytest.fixture
def network():
    return NetworkFactory(slug="solozere", name="Solozère")


@pytest.fixture
def place(network):
    place = PlaceFactory(
        slug="fablab-mende", name="Fablab de Mende", address="2 rue du Pont", town="Mende"
    )
    place.networks.add(network)
    return place


def at(days: int, hour: int, zone=PARIS) -> dt.datetime:
    today = timezone.now().astimezone(zone).date()
    return dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour), zone)


def make_event(owner, *, start, hours=2, title="Atelier", **fields) -> Event:
    if isinstance(owner, Place):
        author, where = make_manager(owner), {"place": owner}
    else:
        author, where = make_coordinator(owner), {"network": owner}
    fields.setdefault("category", "workshop")
    if "network" in where:
        fields.setdefault("location", "address")
        fields.setdefault("address", "Salle des fêtes, Florac")
    (event,) = services.event_create(
        author=author, title=title, start=start, end=start + hours * HOUR, **where, **fields
    )
    return event


def get_ics(client, **params):
    response = client.get(ICS, params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return response


def by_uid_icalendar(content: bytes) -> dict:
    return {str(event["UID"]): event for event in Calendar.from_ical(content).events}


def by_uid_vobject(content: bytes) -> dict:
    calendar = vobject.readOne(content.decode())
    return {vevent.uid.value: vevent for vevent in calendar.vevent_list}


def uid(event: Event) -> str:
    return f"event-{event.pk}@127.0.0.1"


class TestICalendar:
    def test_both_parsers_read_the_same_events_times_and_uids(self, client, place, network):
        cayenne = PlaceFactory(name="Tiers-lieu de Cayenne", time_zone="America/Cayenne")
        cayenne.networks.add(network)
        workshop = make_event(place, start=at(3, 18), title="Atelier couture")
        remote = make_event(cayenne, start=at(5, 9, CAYENNE), hours=3, title="Café réparation")
        meetup = make_event(network, start=at(7, 14), title="Rencontre du réseau")
        content = get_ics(client).content

        first, second = by_uid_icalendar(content), by_uid_vobject(content)
        expected = {uid(e): e for e in (workshop, remote, meetup)}
        assert set(first) == set(second) == set(expected)
        for key, event in expected.items():
            assert first[key].start == second[key].dtstart.value == event.start
            assert first[key].end == second[key].dtend.value == event.end
            assert str(first[key]["SUMMARY"]) == second[key].summary.value == event.title
            assert str(first[key]["STATUS"]) == second[key].status.value == "CONFIRMED"
        # Each event in its place's time zone (the network's own in the site's).
        assert first[uid(workshop)].start.tzinfo.key == "Europe/Paris"
        assert first[uid(remote)].start.tzinfo.key == "America/Cayenne"
        assert second[uid(remote)].dtstart.value.utcoffset() == -3 * HOUR
        assert first[uid(meetup)].start.tzinfo.key == "Europe/Paris"

    def test_vtimezones_for_the_zones_used_and_the_calendar_properties(self, client, place):
        cayenne = PlaceFactory(name="Cayenne", time_zone="America/Cayenne")
        make_event(place, start=at(3, 18))
        make_event(cayenne, start=at(4, 10, CAYENNE))
        response = get_ics(client)
        calendar = Calendar.from_ical(response.content)
        assert sorted(tz.tz_name for tz in calendar.timezones) == [
            "America/Cayenne",
            "Europe/Paris",
        ]
        assert calendar.get_missing_tzids() == set()
        assert "DTSTART;TZID=Europe/Paris" in response.content.decode()
        assert str(calendar["PRODID"]).startswith("-//")
        assert str(calendar["X-WR-CALNAME"]) == "Agenda · Maillage"
        assert str(calendar["METHOD"]) == "PUBLISH"
        assert "max-age=900" in response["Cache-Control"]
        assert "public" in response["Cache-Control"]

    def test_every_property_of_an_event(self, client, place):
        event = make_event(
            place,
            start=at(3, 18),
            title="Atelier couture",
            description='<p>Apportez <strong>vos tissus</strong>.</p><p><a href="https://x.org">'
            "Programme</a> &amp; goûter</p>",
            category="repair_cafe",
            price_info="5 € la séance",
        )
        (vevent,) = Calendar.from_ical(get_ics(client).content).events
        url = "http://testserver" + event.get_absolute_url()
        assert str(vevent["UID"]) == uid(event)
        assert vevent["DTSTAMP"].dt == event.updated_at.replace(microsecond=0)
        assert vevent["LAST-MODIFIED"].dt == event.updated_at.replace(microsecond=0)
        assert str(vevent["URL"]) == url
        assert str(vevent["LOCATION"]) == "Fablab de Mende, 2 rue du Pont, 48000 Mende"
        assert vevent.categories == ["Repair café"]
        description = str(vevent["DESCRIPTION"])
        assert "<" not in description
        assert "Apportez vos tissus." in description and "Programme & goûter" in description
        assert "5 € la séance" in description
        assert description.endswith(url)

    def test_uids_are_stable_between_fetches(self, client, place):
        for days in (2, 3, 4):
            make_event(place, start=at(days, 10))
        first = list(by_uid_icalendar(get_ics(client).content))
        again = list(by_uid_icalendar(get_ics(client).content))
        assert first == again and len(set(first)) == 3

    def test_in_utc_on_demand_without_vtimezone(self, client, place):
        event = make_event(place, start=at(3, 18))
        content = get_ics(client, tz="utc").content
        calendar = Calendar.from_ical(content)
        (vevent,) = calendar.events
        assert vevent.start == event.start and vevent.start.utcoffset() == dt.timedelta(0)
        assert calendar.timezones == []
        assert "VTIMEZONE" not in content.decode()
        (read,) = by_uid_vobject(content).values()
        assert read.dtstart.value == event.start and read.dtstart.value.utcoffset() == dt.timedelta(
            0
        )

    def test_a_cancelled_event_stays_with_its_status(self, client, place):
        event = make_event(place, start=at(3, 18))
        services.event_cancel(event=event, author=make_manager(place), reason="Formatrice malade")
        content = get_ics(client).content
        (vevent,) = Calendar.from_ical(content).events
        assert str(vevent["STATUS"]) == "CANCELLED"
        assert "Formatrice malade" in str(vevent["DESCRIPTION"])
        (read,) = by_uid_vobject(content).values()
        assert read.status.value == "CANCELLED"

    def test_titles_in_the_requested_language(self, client, place):
        make_event(
            place,
            start=at(3, 18),
            title="Atelier couture",
            translations={"es": {"title": "Taller de costura"}},
        )
        (vevent,) = Calendar.from_ical(get_ics(client, lang="es").content).events
        assert str(vevent["SUMMARY"]) == "Taller de costura"
        (vevent,) = Calendar.from_ical(get_ics(client, lang="fr").content).events
        assert str(vevent["SUMMARY"]) == "Atelier couture"
        spanish = Client(headers={"accept-language": "es"})
        (vevent,) = Calendar.from_ical(get_ics(spanish).content).events
        assert str(vevent["SUMMARY"]) == "Taller de costura"

    def test_the_calendar_is_named_after_the_place_or_the_network(self, client, place, network):
        make_event(place, start=at(3, 18))
        calendar = Calendar.from_ical(get_ics(client, place=place.slug).content)
        assert str(calendar["X-WR-CALNAME"]) == "Agenda · Fablab de Mende"
        calendar = Calendar.from_ical(get_ics(client, network=network.slug).content)
        assert str(calendar["X-WR-CALNAME"]) == "Agenda · Solozère"

    def test_at_most_max_events(self, client, place, monkeypatch):
        monkeypatch.setattr(feeds, "MAX_EVENTS", 2)
        events = [make_event(place, start=at(days, 10)) for days in (4, 2, 3)]
        uids = list(by_uid_icalendar(get_ics(client).content))
        assert sorted(uids) == sorted([uid(events[1]), uid(events[2])])


class TestFilters:
    def uids(self, client, **params) -> set[str]:
        return set(by_uid_icalendar(get_ics(client, **params).content))

    def test_drafts_hidden_places_and_other_networks_never_appear(self, client, place, network):
        shown = make_event(place, start=at(3, 18))
        draft = make_event(place, start=at(3, 20), status="draft")
        hidden = make_event(PlaceFactory(is_published=False), start=at(3, 10))
        elsewhere = NetworkFactory(slug="ailleurs")
        other_place = PlaceFactory()
        other_place.networks.add(elsewhere)
        other = make_event(other_place, start=at(4, 10))
        other_network = make_event(elsewhere, start=at(4, 12))
        own = make_event(network, start=at(4, 14))

        assert self.uids(client) == {uid(e) for e in (shown, other, other_network, own)}
        assert self.uids(client, network="solozere") == {uid(shown), uid(own)}
        assert self.uids(client, place=place.slug) == {uid(shown)}
        # Even a manager of the place, signed in, gets the public feed.
        manager = make_manager(place)
        client.force_login(manager)
        assert uid(draft) not in self.uids(client)
        assert uid(hidden) not in self.uids(client)
        rss = client.get(RSS).content.decode()
        assert draft.get_absolute_url() not in rss and hidden.get_absolute_url() not in rss

    def test_category_audience_free_and_words(self, client, place):
        workshop = make_event(place, start=at(2, 10), title="Atelier soudure", category="workshop")
        talk = make_event(
            place,
            start=at(3, 10),
            title="Conférence climat",
            category="conference",
            audience="youth",
            is_free=False,
        )
        repair = make_event(place, start=at(4, 10), title="Café", category="repair_cafe")
        assert self.uids(client, category=["workshop", "conference"]) == {uid(workshop), uid(talk)}
        assert self.uids(client, audience="youth") == {uid(talk)}
        assert self.uids(client, free="paid") == {uid(talk)}
        assert self.uids(client, free="free") == {uid(workshop), uid(repair)}
        assert self.uids(client, q="soudure") == {uid(workshop)}
        assert self.uids(client, q="CONFERENCE") == {uid(talk)}

    def test_near_a_position(self, client, place):
        near = make_event(place, start=at(2, 10))
        far_place = PlaceFactory(town="Toulouse", latitude=43.6, longitude=1.44)
        far = make_event(far_place, start=at(2, 12))
        assert self.uids(client, near="44.52,3.50", radius_km="20") == {uid(near)}
        assert self.uids(client, near="43.6,1.44", radius_km="5") == {uid(far)}
        assert self.uids(client, town="Toulouse", radius_km="10") == {uid(far)}

    def test_default_window_is_the_next_90_days_and_dates_choose_another(self, client, place):
        soon = make_event(place, start=at(1, 10))
        later = make_event(place, start=at(89, 10))
        beyond = make_event(place, start=at(95, 10))
        assert self.uids(client) == {uid(soon), uid(later)}
        day = at(95, 10).date().isoformat()
        assert self.uids(client, **{"from": day, "to": day}) == {uid(beyond)}
        until = at(1, 10).date().isoformat()
        assert self.uids(client, to=until) == {uid(soon)}

    @pytest.mark.parametrize(
        ("params", "message"),
        [
            ({"category": "nope"}, "category: Select a valid choice. nope"),
            ({"audience": "aliens"}, "audience: Select a valid choice. aliens"),
            ({"network": "nowhere"}, "network: There is no network “nowhere”."),
            ({"place": "nowhere"}, "place: There is no place “nowhere”."),
            ({"near": "north"}, "near: Give a position as latitude,longitude"),
            ({"near": "95,3"}, "Latitude must be between -90 and 90"),
            ({"near": "44.5,3.5", "radius_km": "0"}, "The radius must be more than 0"),
            ({"town": "Atlantis"}, "No place of the directory is in “Atlantis”"),
            ({"from": "2025-13-01"}, "from: Enter a valid date."),
            ({"to": "tomorrow"}, "to: Enter a valid date."),
            ({"from": "2030-05-02", "to": "2030-05-01"}, "must not come before the start date"),
            ({"from": "2030-01-01", "to": "2031-06-01"}, "at most one year"),
            ({"free": "maybe"}, "free: Select a valid choice."),
            ({"lang": "xx"}, "Unknown language “xx”"),
            ({"q": "x" * 101}, "q: Ensure this value has at most 100 characters"),
        ],
    )
    def test_an_invalid_filter_is_a_400_with_a_message(self, client, params, message):
        for url in (ICS, RSS):
            response = client.get(url, params)
            assert response.status_code == 400
            assert response["Content-Type"] == "text/plain; charset=utf-8"
            assert message in response.content.decode()

    def test_only_reading_methods(self, client):
        assert client.post(ICS).status_code == 405
        assert client.post(RSS).status_code == 405


class TestRss:
    def parse(self, response) -> ET.Element:
        assert response.status_code == 200
        assert response["Content-Type"] == "application/rss+xml; charset=utf-8"
        root = ET.fromstring(response.content)  # noqa: S314 - our own output
        assert root.tag == "rss" and root.get("version") == "2.0"
        return root.find("channel")

    def test_items_in_start_order_with_titles_links_guids_and_dates(self, client, place, network):
        third = make_event(place, start=at(9, 10), title="Troisième")
        first = make_event(place, start=at(2, 10), title="Premier", category="training")
        second = make_event(
            network,
            start=at(5, 10),
            title="Deuxième",
            description="<p>Une <em>belle</em> rencontre.</p>",
        )
        channel = self.parse(client.get(RSS, {"network": "solozere"}))
        assert channel.findtext("title") == "Agenda · Solozère"
        assert channel.findtext("link") == "http://testserver/agenda/?network=solozere"
        assert channel.findtext("language") == "en"
        items = channel.findall("item")
        assert [item.findtext("title") for item in items] == ["Premier", "Deuxième", "Troisième"]
        for item, event in zip(items, (first, second, third), strict=True):
            url = "http://testserver" + event.get_absolute_url()
            assert item.findtext("link") == url
            assert item.findtext("guid") == url
            assert item.find("guid").get("isPermaLink") == "true"
            published = email.utils.parsedate_to_datetime(item.findtext("pubDate"))
            assert published == event.created_at.replace(microsecond=0)
        assert items[0].findtext("category") == "Training"
        description = items[1].findtext("description")
        assert "Une belle rencontre." in description and "<em>" not in description
        assert "Salle des fêtes, Florac" in description

    def test_cancelled_events_are_marked_and_filters_apply(self, client, place):
        event = make_event(place, start=at(2, 10), title="Atelier")
        make_event(place, start=at(3, 10), title="Brouillon", status="draft")
        make_event(PlaceFactory(), start=at(3, 10), title="Ailleurs")
        services.event_cancel(event=event, author=make_manager(place), reason="Neige")
        channel = self.parse(client.get(RSS, {"place": place.slug}))
        (item,) = channel.findall("item")
        assert item.findtext("title") == "Cancelled: Atelier"
        assert "Neige" in item.findtext("description")
        assert channel.findtext("title") == "Agenda · Fablab de Mende"

    def test_titles_in_the_requested_language(self, client, place):
        make_event(
            place, start=at(2, 10), title="Atelier", translations={"es": {"title": "Taller"}}
        )
        channel = self.parse(client.get(RSS, {"lang": "es"}))
        assert [item.findtext("title") for item in channel.findall("item")] == ["Taller"]
        assert channel.findtext("language") == "es"
