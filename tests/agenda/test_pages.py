"""The public pages of the agenda: the network agenda (list and month), an event's page with its
JSON-LD and calendar file, registering (with its refusals, conflicts and rate limit), the page
of a registration's secret link, "My registrations", the embeddable widget and the place page's
coming events."""

import datetime as dt
import html
import json
import re
import zoneinfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from icalendar import Calendar

from maillage.agenda import services
from maillage.agenda.models import Event, Registration
from maillage.agenda.views import _page_secret
from tests.factories import (
    NetworkFactory,
    PlaceFactory,
    UserFactory,
    make_coordinator,
    make_manager,
)

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
MARTINIQUE = zoneinfo.ZoneInfo("America/Martinique")


@pytest.fixture(autouse=True)
def _messages_in_english():
    """The assertions read the English messages; the site's default language is French."""
    with translation.override("en"):
        yield


@pytest.fixture
def client():
    return Client(headers={"accept-language": "en"})


def person(**kwargs):
    return UserFactory(language="en", **kwargs)


def signed_in(user) -> Client:
    browser = Client(headers={"accept-language": "en"})
    browser.force_login(user)
    return browser


def today() -> dt.date:
    return timezone.now().astimezone(PARIS).date()


def at(days: int, hour: int = 18, zone=PARIS) -> dt.datetime:
    """`days` from today at `hour` o'clock on the wall clock of `zone`."""
    return dt.datetime.combine(today() + dt.timedelta(days=days), dt.time(hour, 0), zone)


def make_event(place=None, *, start=None, hours=2, network=None, **fields) -> Event:
    owner = {"network": network} if network else {"place": place or PlaceFactory()}
    author = make_coordinator(network) if network else make_manager(owner["place"])
    start = start or at(3)
    fields.setdefault("title", "Atelier réparation")
    fields.setdefault("category", "repair_cafe")
    (event,) = services.event_create(
        author=author, start=start, end=start + dt.timedelta(hours=hours), **owner, **fields
    )
    return event


def cancel_event(event: Event, reason="La salle est inondée.") -> Event:
    author = make_manager(event.place) if event.place_id else make_coordinator(event.network)
    return services.event_cancel(event=event, author=author, reason=reason)


def register(event: Event, name="Ana", email=None, **kwargs) -> Registration:
    email = email or f"{name.lower()}@example.org"
    return services.register(event=event, name=name, email=email, **kwargs)


def text(response) -> str:
    return html.unescape(response.content.decode())


def jsonld(response) -> dict:
    match = re.search(
        r'<script type="application/ld\+json">(.*?)</script>', response.content.decode(), re.S
    )
    assert match, "no JSON-LD in the page"
    return json.loads(match.group(1))


def register_url(event: Event) -> str:
    return reverse("agenda:register", args=[event.pk])


def registration_url(secret: str) -> str:
    return reverse("agenda:registration", kwargs={"secret": secret})


# --- The network agenda -----------------------------------------------------------------------


class TestAgendaList:
    def test_lists_the_visible_events_by_day_with_their_card(self, client):
        place = PlaceFactory(name="La Fabrique", town="Florac")
        make_event(place, title="Repair café", start=at(2, 14), capacity=10, price_info="")
        make_event(place, title="Impression 3D", start=at(5, 10), category="workshop")
        make_event(place, title="Brouillon secret", start=at(2), status="draft")
        hidden = PlaceFactory(is_published=False)
        make_event(hidden, title="Lieu non publié", start=at(2))

        response = client.get("/agenda/")

        assert response.status_code == 200
        page = text(response)
        assert "2 events" in page
        assert "Repair café" in page and "Impression 3D" in page
        assert "Brouillon secret" not in page and "Lieu non publié" not in page
        first_day = (today() + dt.timedelta(days=2)).strftime("%Y-%m-%d")
        assert f'<time datetime="{first_day}">' in page
        assert page.index("Repair café") < page.index("Impression 3D")
        assert "La Fabrique</a>, Florac" in page
        assert "10 places left" in page
        assert "Repair café" in page and "Workshop" in page and "Everyone" in page
        assert "Free" in page

    def test_times_are_shown_on_the_place_clock(self, client):
        place = PlaceFactory(time_zone="America/Martinique")
        make_event(place, title="Atelier antillais", start=at(4, 9, MARTINIQUE))

        page = text(client.get("/agenda/"))

        assert ", 09:00</time>–<time" in page

    def test_badges_say_full_waiting_list_and_cancelled(self, client):
        full = make_event(title="Complet", capacity=1)
        register(full, "Ana")
        no_list = make_event(title="Complet sans liste", capacity=1, waitlist_enabled=False)
        register(no_list, "Bea")
        cancel_event(make_event(title="Annulé"))

        page = text(client.get("/agenda/"))

        assert "Full – waiting list" in page
        assert re.search(r"Complet sans liste.*?>Full<", page, re.S)
        assert "Cancelled" in page

    def test_titles_are_in_the_visitor_language_when_translated(self, client):
        make_event(title="Café réparation", translations={"en": {"title": "Repair cafe"}})

        english = text(client.get("/agenda/"))
        french = text(Client(headers={"accept-language": "fr"}).get("/agenda/"))

        assert "Repair cafe" in english and "Café réparation" not in english
        assert 'lang="en">Repair cafe</a>' in english
        assert 'lang="fr">Café réparation</a>' in french

    def test_by_default_it_shows_today_and_the_next_two_months(self, client):
        make_event(title="Bientôt", start=at(10))
        make_event(title="Plus tard", start=at(75))
        make_event(title="Passé", start=at(-3))

        page = text(client.get("/agenda/"))
        later = text(client.get("/agenda/", {"to": (today() + dt.timedelta(days=90)).isoformat()}))
        past = text(client.get("/agenda/", {"from": (today() - dt.timedelta(days=5)).isoformat()}))

        assert "Bientôt" in page and "Plus tard" not in page and "Passé" not in page
        assert "Plus tard" in later
        assert "Passé" in past

    def test_an_event_already_under_way_is_listed_first_under_its_own_heading(self, client):
        make_event(title="Exposition", start=at(-2, 10), hours=24 * 10)
        make_event(title="Atelier", start=at(1))

        page = text(client.get("/agenda/"))

        assert "Already under way" in page
        assert page.index("Already under way") < page.index("Exposition") < page.index("Atelier")

    def test_filters_combine_categories_audiences_price_words_place_and_network(self, client):
        network = NetworkFactory(slug="solozere")
        member = PlaceFactory(slug="fablab-mende")
        member.networks.add(network)
        other = PlaceFactory(slug="ailleurs")
        make_event(member, title="Atelier soudure", category="workshop", audience="youth")
        make_event(member, title="Conférence climat", category="conference", is_free=False)
        make_event(other, title="Atelier couture", category="workshop")
        make_event(network=network, title="Assemblée du réseau", category="meetup")

        def titles(**query):
            response = client.get("/agenda/", query)
            assert response.status_code == 200
            found = {e.title for e in response.context["page"].object_list}
            return found

        assert titles(category="workshop") == {"Atelier soudure", "Atelier couture"}
        assert titles(category="workshop,conference", audience="youth") == {"Atelier soudure"}
        assert titles(free="paid") == {"Conférence climat"}
        assert "Conférence climat" not in titles(free="free")
        assert titles(q="soudure") == {"Atelier soudure"}
        assert titles(place="ailleurs") == {"Atelier couture"}
        assert titles(network="solozere") == {
            "Atelier soudure",
            "Conférence climat",
            "Assemblée du réseau",
        }

    def test_near_a_town_or_a_position_within_a_radius(self, client):
        PlaceFactory(town="Florac", latitude=44.3247, longitude=3.5936)
        near = PlaceFactory(town="Mende", latitude=44.5181, longitude=3.5006)
        far = PlaceFactory(town="Montpellier", latitude=43.6108, longitude=3.8767)
        make_event(near, title="Près")
        make_event(far, title="Loin")

        by_town = client.get("/agenda/", {"town": "Florac", "radius_km": "40"})
        by_position = client.get("/agenda/", {"near": "44.52,3.50", "radius_km": "5"})

        assert {e.title for e in by_town.context["page"].object_list} == {"Près"}
        assert "within 40 km of Florac" in text(by_town)
        assert {e.title for e in by_position.context["page"].object_list} == {"Près"}

    @pytest.mark.parametrize(
        ("query", "message"),
        [
            ({"radius_km": "-3"}, "The radius must be more than 0"),
            ({"network": "nowhere"}, "There is no network “nowhere”."),
            ({"place": "nowhere"}, "There is no place “nowhere”."),
            ({"from": "2027-03-10", "to": "2027-03-01"}, "must not come before the start date"),
            ({"from": "2027-01-01", "to": "2029-01-01"}, "at most one year"),
            ({"from": "not a date"}, "Enter a valid date."),
            ({"category": "juggling"}, "Select a valid choice."),
            ({"near": "north"}, "Give a position as latitude,longitude"),
            ({"town": "Atlantis"}, "No place of the directory is in “Atlantis”."),
            ({"view": "month", "month": "2027-13"}, "Give a month as year-month"),
            ({"view": "year"}, "Select a valid choice."),
            ({"free": "maybe"}, "Select a valid choice."),
        ],
    )
    def test_invalid_criteria_answer_400_with_the_reason(self, client, query, message):
        make_event(title="Toujours là")

        response = client.get("/agenda/", query)

        assert response.status_code == 400
        page = text(response)
        assert message in page
        assert "Some criteria are not valid" in page
        assert "Toujours là" not in page

    def test_every_wrong_criterion_is_reported_at_once_and_no_feed_is_offered(self, client):
        response = client.get(
            "/agenda/", {"radius_km": "0", "from": "2027-05-01", "to": "2027-01-01"}
        )

        page = text(response)
        assert response.status_code == 400
        assert "The radius must be more than 0" in page
        assert "must not come before the start date" in page
        assert "/agenda/feed.ics" not in page

    def test_the_dates_at_the_ends_of_the_calendar_are_refused_not_crashing(self, client):
        assert client.get("/agenda/", {"from": "9999-12-31"}).status_code == 400
        assert client.get("/agenda/", {"to": "0001-01-01"}).status_code == 400

    def test_pages_keep_the_criteria(self, client):
        place = PlaceFactory()
        for number in range(23):
            make_event(place, title=f"Séance {number:02}", start=at(1 + number % 20))

        first = client.get("/agenda/", {"category": "repair_cafe"})
        second = client.get("/agenda/", {"category": "repair_cafe", "page": "2"})

        assert len(first.context["page"].object_list) == 20
        assert "?category=repair_cafe&page=2" in text(first)
        assert len(second.context["page"].object_list) == 3

    def test_the_list_reads_the_same_number_of_queries_for_many_events(
        self, client, django_assert_max_num_queries
    ):
        for number in range(15):
            make_event(title=f"Séance {number}", start=at(1 + number))
        with django_assert_max_num_queries(8):
            assert client.get("/agenda/").status_code == 200

    def test_feed_links_carry_the_criteria_but_not_the_display(self, client):
        NetworkFactory(slug="solozere")
        query = {"network": "solozere", "category": "workshop", "q": "vélo", "page": "1"}

        page = client.get("/agenda/", query).content.decode()

        ics = re.search(r'href="(/agenda/feed\.ics[^"]*)"', page).group(1)
        rss = re.search(r'href="(/agenda/feed\.rss[^"]*)"', page).group(1)
        expected = "?network=solozere&amp;category=workshop&amp;q=v%C3%A9lo"
        assert ics == "/agenda/feed.ics" + expected
        assert rss == "/agenda/feed.rss" + expected
        assert 'href="/agenda/newsletter/?network=solozere"' in page

    def test_shows_the_widget_code_of_the_current_place(self, client):
        place = PlaceFactory(slug="la-fabrique")

        page = text(client.get("/agenda/", {"place": "la-fabrique"}))

        assert f"Agenda of {place.name}" in page
        snippet = re.search(r'<textarea id="widget-snippet"[^>]*>(.*?)</textarea>', page, re.S)
        assert snippet
        assert "http://testserver/agenda/widget/?place=la-fabrique&color=0b5a7a&limit=5" in (
            html.unescape(snippet.group(1))
        )

    def test_the_main_navigation_links_the_agenda_and_my_registrations(self, client):
        anonymous = text(client.get("/agenda/"))
        member = text(signed_in(person()).get("/agenda/"))

        assert 'href="/agenda/" aria-current="page">Agenda</a>' in anonymous
        assert "My registrations" not in anonymous
        assert 'href="/agenda/mine/"' in member


class TestAgendaMonth:
    def month_of(self, days: int) -> dt.date:
        return (today() + dt.timedelta(days=days)).replace(day=1)

    def test_the_grid_puts_each_event_on_its_days_with_links_to_them(self, client):
        first = self.month_of(40)
        place = PlaceFactory()
        make_event(
            place,
            title="Atelier du 10",
            start=dt.datetime.combine(first.replace(day=10), dt.time(18), PARIS),
        )
        make_event(
            place,
            title="Festival",
            start=dt.datetime.combine(first.replace(day=12), dt.time(10), PARIS),
            hours=24 * 2 + 8,
        )

        response = client.get("/agenda/", {"view": "month", "month": f"{first:%Y-%m}"})

        assert response.status_code == 200
        days = {
            day["date"]: [card["title"] for card in day["cards"]]
            for week in response.context["weeks"]
            for day in week
            if day["in_month"]
        }
        assert days[first.replace(day=10)] == ["Atelier du 10"]
        for number in (12, 13, 14):
            assert days[first.replace(day=number)] == ["Festival"]
        assert days[first.replace(day=15)] == []
        assert all(len(week) == 7 for week in response.context["weeks"])
        page = text(response)
        assert f"<caption>Events of {first:%B %Y}</caption>" in page
        assert '<th scope="col" abbr="Monday">' in page
        day10 = first.replace(day=10).isoformat()
        assert f'href="?from={day10}&to={day10}"' in page
        assert "2 events" in page

    def test_previous_and_next_months_keep_the_criteria(self, client):
        first = self.month_of(40)

        page = text(
            client.get(
                "/agenda/", {"view": "month", "month": f"{first:%Y-%m}", "category": "workshop"}
            )
        )

        previous = (first - dt.timedelta(days=1)).replace(day=1)
        following = (first + dt.timedelta(days=32)).replace(day=1)
        assert f'href="?category=workshop&view=month&month={previous:%Y-%m}" rel="prev"' in page
        assert f'href="?category=workshop&view=month&month={following:%Y-%m}" rel="next"' in page

    def test_today_is_marked_and_the_current_month_is_the_default(self, client):
        make_event(title="Cette semaine", start=at(0, 23))

        response = client.get("/agenda/", {"view": "month"})

        assert response.context["month"] == today().replace(day=1)
        assert 'aria-current="date"' in response.content.decode()
        assert 'aria-current="page">Month</a>' in response.content.decode()

    def test_many_events_on_one_day_are_counted_beyond_the_first_three(self, client):
        day = at(45, 9)
        place = PlaceFactory()
        for number in range(5):
            make_event(place, title=f"Session {number}", start=day + dt.timedelta(hours=number))

        response = client.get("/agenda/", {"view": "month", "month": f"{day:%Y-%m}"})

        cell = next(
            cell
            for week in response.context["weeks"]
            for cell in week
            if cell["date"] == day.date()
        )
        assert (len(cell["cards"]), cell["count"], cell["more"]) == (3, 5, 2)
        assert "2 more" in text(response)


# --- An event's page --------------------------------------------------------------------------


class TestEventPage:
    def test_shows_every_detail_of_the_event(self, client):
        place = PlaceFactory(name="La Fabrique", address="2 rue du Pont", town="Mende")
        event = make_event(
            place,
            title="Réparer son vélo",
            description="<p>Apportez <strong>votre vélo</strong>.</p><script>alert(1)</script>",
            capacity=12,
            price_info="Prix libre",
            is_free=False,
            audience="youth",
            organiser_name="Camille",
            organiser_email="camille@example.org",
            organiser_phone="04 66 00 00 00",
        )

        response = client.get(event.get_absolute_url())

        assert response.status_code == 200
        body = response.content.decode()
        assert "Apportez <strong>votre vélo</strong>." in body
        assert "<script>alert(1)</script>" not in body
        page = text(response)
        assert "Réparer son vélo" in page and "La Fabrique" in page and "2 rue du Pont" in page
        assert "Young people" in page and "Prix libre" in page
        assert "camille@example.org" in page and "04 66 00 00 00" in page
        assert "12 places · 12 left" in page
        assert 'name="email"' in page and ">Register</button>" in page
        assert f"{event.get_absolute_url()}?format=ics" in page

    def test_a_wrong_slug_redirects_permanently_to_the_right_one(self, client):
        event = make_event(title="Fête du lieu")

        response = client.get(f"/agenda/events/{event.pk}-autre-chose/?format=ics")

        assert response.status_code == 301
        assert response["Location"] == f"/agenda/events/{event.pk}-fete-du-lieu/?format=ics"

    def test_an_unknown_event_is_404(self, client):
        assert client.get("/agenda/events/999999-rien/").status_code == 404

    def test_a_draft_is_404_except_to_those_who_manage_it(self, client):
        place = PlaceFactory()
        draft = make_event(place, title="En préparation", status="draft")

        assert client.get(draft.get_absolute_url()).status_code == 404
        assert signed_in(person()).get(draft.get_absolute_url()).status_code == 404
        assert (
            signed_in(make_manager(PlaceFactory())).get(draft.get_absolute_url()).status_code == 404
        )
        response = signed_in(make_manager(place, language="en")).get(draft.get_absolute_url())
        assert response.status_code == 200
        assert "This event is a draft" in text(response)

    def test_managers_get_links_to_edit_and_to_the_participants(self, client):
        place = PlaceFactory()
        event = make_event(place)

        for_manager = text(signed_in(make_manager(place)).get(event.get_absolute_url()))
        for_visitor = text(client.get(event.get_absolute_url()))

        assert reverse("agenda:participants", args=[event.pk]) in for_manager
        assert reverse("agenda:edit", args=[event.pk]) in for_manager
        assert reverse("agenda:participants", args=[event.pk]) not in for_visitor
        assert reverse("agenda:edit", args=[event.pk]) not in for_visitor

    def test_a_cancelled_event_shows_why_and_offers_no_registration(self, client):
        event = cancel_event(make_event(title="Soirée jeux"), reason="L'animatrice est malade.")

        page = text(client.get(event.get_absolute_url()))

        assert "This event is cancelled." in page
        assert "L'animatrice est malade." in page
        assert register_url(event) not in page

    def test_a_full_event_offers_the_waiting_list(self, client):
        event = make_event(capacity=1)
        register(event, "Ana")
        register(event, "Bea")

        page = text(client.get(event.get_absolute_url()))

        assert "Join the waiting list" in page
        assert "1 person on the waiting list" in page

    def test_an_event_without_registration_says_just_come(self, client):
        event = make_event(registration_required=False)

        page = text(client.get(event.get_absolute_url()))

        assert "No registration needed: just come." in page
        assert register_url(event) not in page

    def test_signed_in_people_register_with_one_button(self):
        event = make_event()
        page = text(signed_in(person(full_name="Léa Martin")).get(event.get_absolute_url()))

        assert "You register as Léa Martin" in page
        assert 'name="email"' not in page

    def test_the_owner_sees_their_place_in_the_waiting_list_and_a_cancel_button(self):
        event = make_event(capacity=1)
        register(event, "Ana")
        owner = person()
        registration = services.register(event=event, user=owner)

        page = text(signed_in(owner).get(event.get_absolute_url()))

        assert "You are registered on the waiting list: number 1." in page
        assert registration_url(services.registration_secret(registration)) in page
        assert "Cancel my registration" in page

    def test_the_json_ld_describes_the_event(self, client):
        place = PlaceFactory(name="La Fabrique", town="Mende", postcode="48000")
        event = make_event(
            place,
            title="Atelier </script><script>alert(1)</script>",
            description="<p>Du <em>texte</em> &amp; des idées</p>",
            capacity=10,
            language="fr",
            organiser_name="Camille",
        )
        register(event, "Ana")

        response = client.get(event.get_absolute_url())

        assert "</script><script>alert(1)" not in response.content.decode()
        data = jsonld(response)
        assert data["@type"] == "Event"
        assert data["name"] == "Atelier </script><script>alert(1)</script>"
        assert dt.datetime.fromisoformat(data["startDate"]) == event.start
        assert dt.datetime.fromisoformat(data["endDate"]) == event.end
        assert data["startDate"].endswith(("+01:00", "+02:00"))
        assert data["eventStatus"] == "https://schema.org/EventScheduled"
        assert data["eventAttendanceMode"] == "https://schema.org/OfflineEventAttendanceMode"
        assert data["location"]["@type"] == "Place"
        assert data["location"]["address"]["addressLocality"] == "Mende"
        assert data["organizer"]["name"] == "Camille"
        assert data["offers"]["price"] == "0"
        assert data["isAccessibleForFree"] is True
        assert (data["maximumAttendeeCapacity"], data["remainingAttendeeCapacity"]) == (10, 9)
        assert data["description"] == "Du texte & des idées"
        assert data["inLanguage"] == "fr"

    def test_the_json_ld_of_a_cancelled_online_event(self, client):
        event = make_event(location="online", online_url="https://visio.example.org/abc")
        cancel_event(event)

        data = jsonld(client.get(event.get_absolute_url()))

        assert data["eventStatus"] == "https://schema.org/EventCancelled"
        assert data["eventAttendanceMode"] == "https://schema.org/OnlineEventAttendanceMode"
        assert data["location"] == {
            "@type": "VirtualLocation",
            "url": "https://visio.example.org/abc",
        }

    def test_add_to_my_calendar_gives_the_event_alone_as_ics(self, client):
        place = PlaceFactory(name="La Fabrique", time_zone="Europe/Paris")
        event = make_event(place, title="Atelier", start=at(6, 14))

        response = client.get(event.get_absolute_url() + "?format=ics")

        assert response.status_code == 200
        assert response["Content-Type"] == "text/calendar; charset=utf-8"
        calendar = Calendar.from_ical(response.content)
        (vevent,) = calendar.walk("VEVENT")
        assert str(vevent["SUMMARY"]) == "Atelier"
        assert vevent.decoded("DTSTART") == event.start
        assert vevent["DTSTART"].params["TZID"] == "Europe/Paris"
        assert "La Fabrique" in str(vevent["LOCATION"])
        assert str(vevent["STATUS"]) == "CONFIRMED"

    def test_the_calendar_file_of_a_cancelled_event_says_so(self, client):
        event = cancel_event(make_event(title="Atelier"), reason="Neige")

        response = client.get(event.get_absolute_url() + "?format=ics")

        (vevent,) = Calendar.from_ical(response.content).walk("VEVENT")
        assert str(vevent["STATUS"]) == "CANCELLED"
        assert "Neige" in str(vevent["DESCRIPTION"])

    def test_a_draft_calendar_file_is_404_too(self, client):
        draft = make_event(status="draft")
        assert client.get(draft.get_absolute_url() + "?format=ics").status_code == 404


# --- Registering ------------------------------------------------------------------------------


class TestRegister:
    def test_someone_without_an_account_gets_a_place_and_an_email(
        self, client, mailoutbox, django_capture_on_commit_callbacks
    ):
        event = make_event(title="Repair café", capacity=3)

        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                register_url(event), {"name": "Ana Duval", "email": "Ana@Example.org"}
            )

        registration = Registration.objects.get()
        assert (registration.name, registration.email) == ("Ana Duval", "ana@example.org")
        assert registration.status == "confirmed"
        assert registration.email_confirmed_at is None
        assert response.status_code == 302
        assert response["Location"] == registration_url(_page_secret(registration))
        page = text(client.get(response["Location"]))
        assert "You have a place at “Repair café”." in page
        assert "We sent you an email" in page
        assert [message.to for message in mailoutbox] == [["ana@example.org"]]

    def test_when_full_they_are_told_their_number_on_the_waiting_list(self, client):
        event = make_event(title="Atelier", capacity=1)
        register(event, "Ana")
        register(event, "Bea")

        response = client.post(
            register_url(event), {"name": "Chloé", "email": "chloe@example.org"}, follow=True
        )

        assert "You are number 2 on the waiting list for “Atelier”." in text(response)
        assert Registration.objects.get(email="chloe@example.org").status == "waitlisted"

    def test_a_signed_in_person_registers_with_one_button(self):
        event = make_event(capacity=5)
        member = person(full_name="Léa Martin", email="lea@example.org")

        response = signed_in(member).post(register_url(event))

        registration = Registration.objects.get()
        assert (registration.user, registration.email) == (member, "lea@example.org")
        assert registration.email_confirmed_at is not None
        assert response["Location"] == registration_url(services.registration_secret(registration))

    def test_a_missing_or_invalid_email_is_400_and_nothing_is_written(self, client):
        event = make_event()

        missing = client.post(register_url(event), {"name": "Ana"})
        invalid = client.post(register_url(event), {"name": "Ana", "email": "ana@"})

        assert (missing.status_code, invalid.status_code) == (400, 400)
        assert "This field is required." in text(missing)
        assert "Enter a valid email address." in text(invalid)
        assert 'aria-invalid="true"' in invalid.content.decode()
        assert not Registration.objects.exists()

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"registrations_open": False}, "Registrations for this event are closed."),
            ({"registration_required": False}, "This event needs no registration: just come."),
            ({"capacity": 1, "waitlist_enabled": False}, "This event is full."),
        ],
    )
    def test_a_refused_registration_is_400_with_the_reason(self, client, fields, message):
        event = make_event(**fields)
        if fields.get("capacity"):
            register(event, "Ana")
        before = Registration.objects.count()

        response = client.post(register_url(event), {"name": "Bea", "email": "bea@example.org"})

        assert response.status_code == 400
        assert message in text(response)
        assert Registration.objects.count() == before

    def test_a_cancelled_event_refuses_registrations(self, client):
        event = cancel_event(make_event())

        response = client.post(register_url(event), {"name": "Bea", "email": "bea@example.org"})

        assert response.status_code == 400
        assert "This event is cancelled." in text(response)
        assert not Registration.objects.exists()

    def test_an_event_that_has_started_refuses_registrations(self, client):
        event = make_event(start=timezone.now() - dt.timedelta(minutes=30))

        response = client.post(register_url(event), {"name": "Bea", "email": "bea@example.org"})

        assert response.status_code == 400
        assert "This event has already started." in text(response)
        assert not Registration.objects.exists()

    def test_registering_twice_is_409_with_how_to_find_the_email(self, client):
        event = make_event(title="Atelier")
        register(event, "Ana", "ana@example.org")

        response = client.post(register_url(event), {"name": "Ana", "email": "ANA@example.org"})

        assert response.status_code == 409
        page = text(response)
        assert "This email address is already registered for “Atelier”" in page
        assert "Look in your mailbox" in page
        assert Registration.objects.count() == 1

    def test_a_draft_or_unknown_event_cannot_be_registered_for(self, client):
        draft = make_event(status="draft")

        assert (
            client.post(register_url(draft), {"name": "A", "email": "a@example.org"}).status_code
            == 404
        )
        assert client.post("/agenda/events/999999/register/", {}).status_code == 404
        assert not Registration.objects.exists()

    def test_registering_is_a_post(self, client):
        event = make_event()
        assert client.get(register_url(event)).status_code == 405

    def test_too_many_registrations_from_one_connection_are_429(self, client, settings):
        settings.MAILLAGE_REGISTRATIONS_PER_IP = "2/1h"
        event = make_event(capacity=None)

        statuses = [
            client.post(
                register_url(event), {"name": f"P{n}", "email": f"p{n}@example.org"}
            ).status_code
            for n in range(3)
        ]

        assert statuses == [302, 302, 429]
        assert Registration.objects.count() == 2
        last = client.post(register_url(event), {"name": "P9", "email": "p9@example.org"})
        assert last.status_code == 429
        assert int(last["Retry-After"]) > 0
        assert "Too many attempts" in text(last)


# --- A registration's page --------------------------------------------------------------------


class TestRegistrationPage:
    def test_an_invalid_secret_is_404(self, client):
        event = make_event()
        registration = register(event)
        forged = f"{registration.pk}:not-the-signature"

        assert client.get(registration_url(forged)).status_code == 404
        assert client.get(registration_url("nothing")).status_code == 404
        assert (
            client.post(
                registration_url(forged), {"action": "cancel", "confirm": "yes"}
            ).status_code
            == 404
        )
        registration.refresh_from_db()
        assert registration.status == "confirmed"

    def test_the_link_of_the_email_confirms_the_address(self, client):
        registration = register(make_event())
        url = registration_url(services.registration_secret(registration))

        page = client.get(url)
        assert page.status_code == 200
        assert "Confirm my address" in text(page)
        assert page["Cache-Control"] == "private, no-store"
        assert page["X-Robots-Tag"] == "noindex, nofollow"
        assert page["Referrer-Policy"] == "same-origin"

        response = client.post(url, {"action": "confirm"}, follow=True)

        registration.refresh_from_db()
        assert registration.email_confirmed_at is not None
        assert "Thank you: your address is confirmed." in text(response)
        assert ">Confirm my address</button>" not in text(response)

    def test_the_page_shown_after_registering_cannot_confirm_the_address(self, client):
        registration = register(make_event())
        url = registration_url(_page_secret(registration))

        page = text(client.get(url))
        response = client.post(url, {"action": "confirm"})

        assert ">Confirm my address</button>" not in page
        assert "open its link" in page
        assert response.status_code == 403
        registration.refresh_from_db()
        assert registration.email_confirmed_at is None

    def test_cancelling_asks_first_then_gives_the_place_to_the_waiting_list(
        self, client, mailoutbox, django_capture_on_commit_callbacks
    ):
        event = make_event(title="Atelier", capacity=1)
        first = register(event, "Ana")
        waiting = register(event, "Bea")
        url = registration_url(services.registration_secret(first))

        asked = client.post(url, {"action": "cancel"})
        first.refresh_from_db()
        assert asked.status_code == 200
        assert "Yes, cancel my registration" in text(asked)
        assert first.status == "confirmed"

        with django_capture_on_commit_callbacks(execute=True):
            done = client.post(url, {"action": "cancel", "confirm": "yes"}, follow=True)

        first.refresh_from_db()
        waiting.refresh_from_db()
        assert first.status == "cancelled"
        assert waiting.status == "confirmed"
        assert "Your registration for “Atelier” is cancelled." in text(done)
        assert [message.to for message in mailoutbox] == [["bea@example.org"]]

    def test_the_page_after_registering_can_cancel_too(self, client):
        registration = register(make_event())

        client.post(
            registration_url(_page_secret(registration)), {"action": "cancel", "confirm": "yes"}
        )

        registration.refresh_from_db()
        assert registration.status == "cancelled"

    def test_the_waiting_list_position_is_shown(self, client):
        event = make_event(capacity=1)
        register(event, "Ana")
        register(event, "Bea")
        third = register(event, "Chloé", "chloe@example.org")

        page = text(client.get(registration_url(services.registration_secret(third))))

        assert "You are number 2 on the waiting list." in page

    def test_it_never_shows_other_participants(self, client):
        event = make_event(capacity=1)
        register(event, "Ana", "ana@example.org")
        mine = register(event, "Bea", "bea@example.org")

        page = text(client.get(registration_url(services.registration_secret(mine))))

        assert "bea@example.org" in page
        assert "ana@example.org" not in page and "Ana" not in page

    def test_a_cancelled_registration_cannot_be_cancelled_again(self, client):
        registration = register(make_event())
        services.registration_cancel(registration=registration)
        url = registration_url(services.registration_secret(registration))

        page = text(client.get(url))
        response = client.post(url, {"action": "cancel", "confirm": "yes"}, follow=True)

        assert "This registration is cancelled." in page
        assert "This registration was already cancelled." in text(response)

    def test_once_the_event_has_started_it_cannot_be_cancelled(self, client):
        event = make_event(start=timezone.now() + dt.timedelta(hours=1))
        registration = register(event)
        Event.objects.filter(pk=event.pk).update(start=timezone.now() - dt.timedelta(minutes=5))
        url = registration_url(services.registration_secret(registration))

        response = client.post(url, {"action": "cancel", "confirm": "yes"})

        assert response.status_code == 400
        assert "can no longer be cancelled" in text(response)
        registration.refresh_from_db()
        assert registration.status == "confirmed"

    def test_an_unknown_action_is_400(self, client):
        registration = register(make_event())
        url = registration_url(services.registration_secret(registration))

        response = client.post(url, {"action": "delete-everything"})

        assert response.status_code == 400
        registration.refresh_from_db()
        assert registration.status == "confirmed"

    def test_cancelling_from_another_page_goes_back_there_but_only_on_this_site(self, client):
        event = make_event()
        kept, other = register(event, "Ana"), register(event, "Bea")

        back = client.post(
            registration_url(services.registration_secret(kept)),
            {"action": "cancel", "confirm": "yes", "next": event.get_absolute_url()},
        )
        away = client.post(
            registration_url(services.registration_secret(other)),
            {"action": "cancel", "confirm": "yes", "next": "https://evil.example.com/"},
        )

        assert back["Location"] == event.get_absolute_url()
        assert away["Location"] == registration_url(services.registration_secret(other))


# --- My registrations -------------------------------------------------------------------------


class TestMine:
    def test_needs_an_account(self, client):
        response = client.get("/agenda/mine/")
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]

    def test_lists_my_registrations_coming_first_then_past_and_cancelled(self):
        me = person(email="me@example.org")
        coming = make_event(title="Bientôt", start=at(5), capacity=1)
        other = person()
        services.register(event=coming, user=other)
        services.register(event=coming, user=me)
        soon = make_event(title="Demain", start=at(1))
        services.register(event=soon, user=me)
        dropped = make_event(title="Abandonné", start=at(8))
        services.registration_cancel(registration=services.register(event=dropped, user=me))
        past = make_event(title="Il y a longtemps", start=at(2))
        services.register(event=past, user=me)
        Event.objects.filter(pk=past.pk).update(start=at(-10), end=at(-10) + dt.timedelta(hours=2))
        make_event(title="Pas à moi")
        services.register(event=make_event(title="Celui d'un autre"), user=other)

        response = signed_in(me).get("/agenda/mine/")

        assert response.status_code == 200
        page = text(response)
        upcoming = page.split("Past and cancelled")[0]
        history = page.split("Past and cancelled")[1]
        assert upcoming.index("Demain") < upcoming.index("Bientôt")
        assert "Number 1 on the waiting list" in upcoming
        assert "Abandonné" in history and "Il y a longtemps" in history
        assert "Pas à moi" not in page and "Celui d'un autre" not in page
        mine = Registration.objects.get(event=soon, user=me)
        assert registration_url(services.registration_secret(mine)) in page

    def test_cancelling_from_my_registrations_comes_back_to_it(self):
        me = person()
        registration = services.register(event=make_event(title="Atelier"), user=me)
        browser = signed_in(me)

        response = browser.post(
            registration_url(services.registration_secret(registration)),
            {"action": "cancel", "confirm": "yes", "next": "/agenda/mine/"},
            follow=True,
        )

        registration.refresh_from_db()
        assert registration.status == "cancelled"
        assert response.redirect_chain[-1][0] == "/agenda/mine/"
        assert "Your registration for “Atelier” is cancelled." in text(response)


# --- The widget -------------------------------------------------------------------------------


class TestWidget:
    def test_any_website_may_frame_it(self, client):
        PlaceFactory(slug="la-fabrique")

        response = client.get("/agenda/widget/", {"place": "la-fabrique"})
        page = client.get("/agenda/")

        assert response.status_code == 200
        assert "X-Frame-Options" not in response
        policy = response["Content-Security-Policy"]
        assert "frame-ancestors *" in policy and "frame-ancestors 'none'" not in policy
        assert "script-src 'self'" in policy and "default-src 'self'" in policy
        assert page["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in page["Content-Security-Policy"]

    def test_lists_the_next_events_of_the_place_opening_in_a_new_tab(self, client):
        place = PlaceFactory(slug="la-fabrique")
        for number in range(4):
            make_event(place, title=f"Séance {number}", start=at(1 + number))
        make_event(place, title="Brouillon", status="draft")
        make_event(title="Ailleurs")

        response = client.get("/agenda/widget/", {"place": "la-fabrique", "limit": "3"})

        page = text(response)
        assert [card["title"] for card in response.context["cards"]] == [
            "Séance 0",
            "Séance 1",
            "Séance 2",
        ]
        assert "Brouillon" not in page and "Ailleurs" not in page
        assert 'target="_blank" rel="noopener"' in page
        assert "http://testserver/agenda/events/" in page
        assert "<script" not in page

    def test_drafts_stay_out_even_for_a_manager(self):
        place = PlaceFactory(slug="la-fabrique")
        make_event(place, title="Brouillon", status="draft")

        page = text(signed_in(make_manager(place)).get("/agenda/widget/", {"place": "la-fabrique"}))

        assert "Brouillon" not in page

    def test_a_network_widget_shows_its_places_and_its_own_events(self, client):
        network = NetworkFactory(slug="solozere")
        member = PlaceFactory()
        member.networks.add(network)
        make_event(member, title="Chez un membre")
        make_event(network=network, title="Du réseau")
        make_event(title="Hors réseau")

        response = client.get("/agenda/widget/", {"network": "solozere"})

        assert {card["title"] for card in response.context["cards"]} == {
            "Chez un membre",
            "Du réseau",
        }

    @pytest.mark.parametrize(
        ("color", "used"),
        [
            ("#c0392b", "#c0392b"),
            ("#ABC", "#aabbcc"),
            ("123456", "#123456"),
            ("red", "#0b5a7a"),
            ("#12345", "#0b5a7a"),
            ("#fff;}body{display:none", "#0b5a7a"),
            ("</style><script>", "#0b5a7a"),
            ("", "#0b5a7a"),
        ],
    )
    def test_the_colour_is_checked_before_it_is_used(self, client, color, used):
        PlaceFactory(slug="la-fabrique")

        response = client.get("/agenda/widget/", {"place": "la-fabrique", "color": color})

        assert response.status_code == 200
        body = response.content.decode()
        assert f"border-bottom:3px solid {used}" in body
        assert "<script>" not in body and "display:none" not in body

    def test_the_text_on_the_colour_stays_readable(self, client):
        PlaceFactory(slug="la-fabrique")

        dark = client.get("/agenda/widget/", {"place": "la-fabrique", "color": "#123456"})
        light = client.get("/agenda/widget/", {"place": "la-fabrique", "color": "#ffee88"})

        assert dark.context["text_color"] == "#ffffff"
        assert light.context["text_color"] == "#000000"

    @pytest.mark.parametrize(("limit", "shown"), [("2", 2), ("0", 1), ("500", 20), ("x", 5)])
    def test_the_number_of_events_is_kept_within_bounds(self, client, limit, shown):
        place = PlaceFactory(slug="la-fabrique")
        for number in range(22):
            make_event(place, title=f"Séance {number}", start=at(1 + number % 15, 8 + number % 10))

        response = client.get("/agenda/widget/", {"place": "la-fabrique", "limit": limit})

        assert len(response.context["cards"]) == shown

    def test_an_unknown_place_is_404_in_the_frame(self, client):
        response = client.get("/agenda/widget/", {"place": "nowhere"})

        assert response.status_code == 404
        assert "This agenda does not exist" in text(response)
        assert "X-Frame-Options" not in response


# --- The place page ---------------------------------------------------------------------------


class TestPlacePage:
    def test_shows_the_next_five_events_a_link_to_its_agenda_and_the_widget_code(self, client):
        place = PlaceFactory(slug="la-fabrique", name="La Fabrique")
        for number in range(7):
            make_event(place, title=f"Séance {number}", start=at(1 + number))
        make_event(place, title="Brouillon", status="draft")

        page = text(client.get(place.get_absolute_url()))

        assert "Upcoming events" in page
        assert [f"Séance {n}" in page for n in range(7)] == [True] * 5 + [False] * 2
        assert "Brouillon" not in page
        assert 'href="/agenda/?place=la-fabrique"' in page
        # The code to copy, as the textarea shows it: HTML whose attribute escapes its "&".
        assert "/agenda/widget/?place=la-fabrique&amp;color=0b5a7a&amp;limit=5" in page

    def test_a_place_without_events_says_so(self, client):
        place = PlaceFactory()

        page = text(client.get(place.get_absolute_url()))

        assert "No event is planned here for now." in page
