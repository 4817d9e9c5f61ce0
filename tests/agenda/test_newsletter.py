"""The newsletter: double opt-in sign-up, the weekly digest in each subscriber's language with a
working unsubscribe link (also RFC 8058 one-click), idempotent runs, the digest web page."""

import datetime as dt
import re
import zoneinfo
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from maillage.agenda import newsletter, services
from maillage.agenda.models import Event, Subscription
from maillage.places.models import Place
from tests.factories import NetworkFactory, PlaceFactory, make_coordinator, make_manager

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
HOUR = dt.timedelta(hours=1)
NEWSLETTER = reverse("agenda:newsletter")
UNSUBSCRIBE_LINK = re.compile(r"http://127\.0\.0\.1:8000(/agenda/newsletter/unsubscribe/\S+/)")
CONFIRM_LINK = re.compile(r"http://127\.0\.0\.1:8000(/agenda/newsletter/confirm/\S+/)")


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
    place = PlaceFactory(slug="fablab-mende", name="Fablab de Mende", town="Mende")
    place.networks.add(network)
    return place


def at(days: int, hour: int = 18) -> dt.datetime:
    today = timezone.now().astimezone(PARIS).date()
    return dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour), PARIS)


def make_event(owner, *, start, title="Atelier", **fields) -> Event:
    if isinstance(owner, Place):
        author, where = make_manager(owner), {"place": owner}
    else:
        author, where = make_coordinator(owner), {"network": owner}
        fields.setdefault("location", "online")
        fields.setdefault("online_url", "https://visio.example.org/reseau")
    (event,) = services.event_create(
        author=author,
        title=title,
        category="workshop",
        start=start,
        end=start + 2 * HOUR,
        **where,
        **fields,
    )
    return event


def subscribed(email="lea@example.org", language="en", *, network=None, places=()):
    """A confirmed subscription, made through the services."""
    subscription = services.subscribe(
        email=email, language=language, network=network, places=places
    )
    return services.subscription_confirm(subscription)


def send(django_capture_on_commit_callbacks, **kwargs) -> int:
    with django_capture_on_commit_callbacks(execute=True):
        return newsletter.send_digests(**kwargs)


class TestSubscribe:
    def test_the_page_offers_networks_places_and_the_current_language(self, client, place):
        PlaceFactory(name="Hors réseau", is_published=True)
        response = client.get(NEWSLETTER)
        assert response.status_code == 200
        page = response.content.decode()
        assert '<option value="solozere" selected>Solozère</option>' in page
        assert "Fablab de Mende (Mende)" in page
        assert "Hors réseau" not in page  # one network: its places are listed
        assert '<option value="en" selected>English</option>' in page
        found = client.get(NEWSLETTER, {"find": "hors reseau"}).content.decode()
        assert "Hors réseau" in found and "Fablab de Mende" not in found
        preselected = client.get(NEWSLETTER, {"place": place.slug}).content.decode()
        assert re.search(rf'value="{place.pk}"[^>]*checked', preselected)

    def test_subscribe_confirm_then_receive(
        self, client, network, place, mailoutbox, django_capture_on_commit_callbacks
    ):
        make_event(place, start=at(3), title="Atelier couture")
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                NEWSLETTER,
                {
                    "email": " Lea@Example.org ",
                    "scope": "network",
                    "network": "solozere",
                    "language": "en",
                },
            )
        assert response.status_code == 200
        assert "Check your inbox" in response.content.decode()
        subscription = Subscription.objects.get()
        assert subscription.email == "lea@example.org" and subscription.network == network
        assert subscription.confirmed_at is None
        (confirmation,) = mailoutbox
        assert confirmation.to == ["lea@example.org"]
        # Nothing is sent before the address is confirmed.
        assert send(django_capture_on_commit_callbacks) == 0
        assert len(mailoutbox) == 1

        path = CONFIRM_LINK.search(confirmation.body).group(1)
        page = client.get(path)
        assert page.status_code == 200
        assert "Confirm my subscription" in page.content.decode()
        assert page["Cache-Control"] == "private, no-store"
        subscription.refresh_from_db()
        assert subscription.confirmed_at is None, "a GET (a link scanner) confirms nothing"
        assert "You are subscribed" in client.post(path).content.decode()
        subscription.refresh_from_db()
        assert subscription.confirmed_at is not None

        assert send(django_capture_on_commit_callbacks) == 1
        assert len(mailoutbox) == 2
        assert "Atelier couture" in mailoutbox[1].body

    def test_chosen_places(self, client, place, mailoutbox, django_capture_on_commit_callbacks):
        other = PlaceFactory(name="Télécentre")
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                NEWSLETTER,
                {
                    "email": "lea@example.org",
                    "scope": "places",
                    "network": "solozere",  # ignored: only the places count
                    "places": [place.pk, other.pk],
                    "language": "es",
                },
            )
        assert response.status_code == 200
        subscription = Subscription.objects.get()
        assert subscription.network is None and subscription.language == "es"
        assert set(subscription.places.all()) == {place, other}
        assert len(mailoutbox) == 1

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"email": "not-an-email", "scope": "network", "network": "solozere"}, "valid email"),
            ({"email": "", "scope": "network", "network": "solozere"}, "This field is required"),
            ({"email": "lea@example.org", "scope": "network"}, "Choose the network"),
            ({"email": "lea@example.org", "scope": "places"}, "Tick at least one place"),
            (
                {"email": "lea@example.org", "scope": "places", "places": ["999999"]},
                "Select a valid choice",
            ),
            (
                {"email": "lea@example.org", "scope": "network", "network": "nowhere"},
                "Select a valid choice",
            ),
        ],
    )
    def test_bad_input_is_a_400_and_nothing_is_written(
        self, client, place, data, message, mailoutbox, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(NEWSLETTER, {"language": "en", **data})
        assert response.status_code == 400
        assert message in response.content.decode()
        assert not Subscription.objects.exists()
        assert mailoutbox == []

    def test_an_unpublished_place_cannot_be_chosen(self, client):
        hidden = PlaceFactory(is_published=False)
        data = {
            "email": "a@example.org",
            "scope": "places",
            "places": [hidden.pk],
            "language": "en",
        }
        assert client.post(NEWSLETTER, data).status_code == 400
        assert not Subscription.objects.exists()

    def test_too_many_sign_ups_from_one_address_are_a_429(
        self, client, place, settings, mailoutbox, django_capture_on_commit_callbacks
    ):
        settings.MAILLAGE_REGISTRATIONS_PER_IP = "2/1h"
        with django_capture_on_commit_callbacks(execute=True):
            for number in range(3):
                response = client.post(
                    NEWSLETTER,
                    {
                        "email": f"person{number}@example.org",
                        "scope": "network",
                        "network": "solozere",
                        "language": "en",
                    },
                )
        assert response.status_code == 429
        assert 0 < int(response["Retry-After"]) <= 3600
        assert Subscription.objects.count() == 2
        assert len(mailoutbox) == 2
        # Another connection is not affected.
        other = Client(REMOTE_ADDR="10.1.2.3", headers={"accept-language": "en"})
        data = {"email": "x@example.org", "scope": "network", "network": "solozere"}
        assert other.post(NEWSLETTER, {**data, "language": "en"}).status_code == 200

    def test_subscribing_again_replaces_the_choice(
        self, client, network, place, mailoutbox, django_capture_on_commit_callbacks
    ):
        first = {"email": "lea@example.org", "scope": "network", "network": "solozere"}
        again = {"email": "LEA@example.org", "scope": "places", "places": [place.pk]}
        with django_capture_on_commit_callbacks(execute=True):
            client.post(NEWSLETTER, {**first, "language": "en"})
            client.post(NEWSLETTER, {**again, "language": "fr"})
        subscription = Subscription.objects.get()
        assert subscription.network is None and list(subscription.places.all()) == [place]
        assert subscription.language == "fr"
        assert len(mailoutbox) == 2


class TestDigest:
    def test_in_the_subscribers_language_with_the_right_events_and_unsubscribe(
        self, client, network, place, mailoutbox, django_capture_on_commit_callbacks
    ):
        couture = make_event(
            place,
            start=at(3),
            title="Atelier couture",
            translations={"es": {"title": "Taller de costura"}},
        )
        visio = make_event(network, start=at(1, 10), title="Visio du réseau")
        make_event(place, start=at(4), title="Brouillon", status="draft")
        cancelled = make_event(place, start=at(5), title="Annulé")
        services.event_cancel(event=cancelled, author=make_manager(place))
        make_event(place, start=at(20), title="Trop loin")
        make_event(PlaceFactory(name="Ailleurs"), start=at(2), title="Autre réseau")
        subscription = subscribed(language="es", network=network)

        assert send(django_capture_on_commit_callbacks) == 1
        (digest,) = mailoutbox
        assert digest.to == ["lea@example.org"]
        assert "Solozère" in digest.subject
        body = digest.body
        assert body.startswith("Hola:")  # the Spanish catalog
        with translation.override("es"):
            weekday = date_format(couture.start.astimezone(PARIS), "l")
        assert f"{weekday} " in body and "18:00" in body
        assert "Taller de costura" in body and "Atelier couture" not in body
        assert "Visio du réseau" in body
        assert body.index("Visio du réseau") < body.index("Taller de costura")
        for absent in ("Brouillon", "Annulé", "Trop loin", "Autre réseau"):
            assert absent not in body
        assert "http://127.0.0.1:8000" + couture.get_absolute_url() in body
        assert "http://127.0.0.1:8000" + visio.get_absolute_url() in body

        path = UNSUBSCRIBE_LINK.search(body).group(1)
        assert digest.extra_headers["List-Unsubscribe"] == f"<http://127.0.0.1:8000{path}>"
        assert digest.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        page = client.get(path)
        assert page.status_code == 200 and "lea@example.org" in page.content.decode()
        assert Subscription.objects.filter(pk=subscription.pk).exists()
        done = client.post(path)
        assert done.status_code == 200
        assert "You are unsubscribed" in done.content.decode()
        assert not Subscription.objects.exists()
        assert client.get(path).status_code == 404

    def test_a_second_run_sends_nothing_and_a_week_later_sends_again(
        self, network, place, mailoutbox, django_capture_on_commit_callbacks
    ):
        make_event(place, start=at(10))  # still to come a week later
        subscribed(network=network)
        now = timezone.now()
        assert send(django_capture_on_commit_callbacks, now=now) == 1
        assert send(django_capture_on_commit_callbacks, now=now + dt.timedelta(hours=5)) == 0
        assert send(django_capture_on_commit_callbacks, now=now + dt.timedelta(days=5)) == 0
        assert len(mailoutbox) == 1
        assert Subscription.objects.get().last_sent_at == now
        assert send(django_capture_on_commit_callbacks, now=now + dt.timedelta(days=6, hours=1))
        assert len(mailoutbox) == 2

    def test_nothing_to_announce_sends_nothing_and_keeps_the_turn(
        self, network, place, mailoutbox, django_capture_on_commit_callbacks
    ):
        subscribed(network=network)
        assert send(django_capture_on_commit_callbacks) == 0
        assert Subscription.objects.get().last_sent_at is None
        make_event(place, start=at(2))
        assert send(django_capture_on_commit_callbacks) == 1
        assert len(mailoutbox) == 1

    def test_places_digest_and_weeks(
        self, network, place, mailoutbox, django_capture_on_commit_callbacks
    ):
        other = PlaceFactory(name="Télécentre")
        make_event(place, start=at(2), title="Chez nous")
        make_event(other, start=at(3), title="À côté")
        make_event(place, start=at(20), title="Dans trois semaines")
        make_event(network, start=at(2), title="Du réseau")
        subscribed(places=[place])
        assert send(django_capture_on_commit_callbacks, weeks=4) == 1
        (digest,) = mailoutbox
        assert "Chez nous" in digest.body and "Dans trois semaines" in digest.body
        assert "À côté" not in digest.body and "Du réseau" not in digest.body
        assert "Fablab de Mende" in digest.subject

    def test_one_click_unsubscribe_without_csrf_token(self, network):
        subscription = subscribed(network=network)
        path = reverse(
            "agenda:newsletter_unsubscribe",
            kwargs={"secret": services.subscription_secret(subscription)},
        )
        mail_client = Client(enforce_csrf_checks=True)
        response = mail_client.post(
            path,
            "List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 200
        assert not Subscription.objects.exists()

    def test_a_bad_secret_is_404(self, client, network):
        subscription = subscribed(network=network)
        secret = services.subscription_secret(subscription)
        for name in ("agenda:newsletter_confirm", "agenda:newsletter_unsubscribe"):
            for bad in ("nothing", secret[:-2] + "xx", f"{subscription.pk}:forged"):
                path = reverse(name, kwargs={"secret": bad})
                assert client.get(path).status_code == 404
                assert client.post(path).status_code == 404
        assert Subscription.objects.filter(pk=subscription.pk, confirmed_at__isnull=False).exists()

    def test_dry_run_counts_without_sending(
        self, network, place, mailoutbox, django_capture_on_commit_callbacks
    ):
        make_event(place, start=at(2))
        subscribed(network=network)
        subscribed(email="other@example.org", network=network)
        services.subscribe(email="pending@example.org", language="en", network=network)
        mailoutbox.clear()
        output = StringIO()
        with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
            call_command("send_agenda_digest", "--dry-run", stdout=output)
        assert "Digests that would be sent: 2." in output.getvalue()
        assert mailoutbox == []
        assert not Subscription.objects.filter(last_sent_at__isnull=False).exists()
        output = StringIO()
        with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
            call_command("send_agenda_digest", "--weeks", "3", stdout=output)
        assert "Digests sent: 2." in output.getvalue()
        assert sorted(message.to[0] for message in mailoutbox) == [
            "lea@example.org",
            "other@example.org",
        ]
        output = StringIO()
        with translation.override("en"):
            call_command("send_agenda_digest", stdout=output)
        assert "Digests sent: 0." in output.getvalue()


class TestDigestPage:
    def test_the_same_events_as_the_email_as_a_page(self, client, network, place):
        couture = make_event(place, start=at(3), title="Atelier couture")
        make_event(place, start=at(4), title="Brouillon", status="draft")
        make_event(place, start=at(30), title="Dans un mois")
        response = client.get(reverse("agenda:digest"), {"network": "solozere"})
        assert response.status_code == 200
        page = response.content.decode()
        assert "Coming events: Solozère" in page
        assert couture.get_absolute_url() in page
        assert "Brouillon" not in page and "Dans un mois" not in page
        assert "18:00" in page
        later = client.get(reverse("agenda:digest"), {"network": "solozere", "weeks": "6"})
        assert "Dans un mois" in later.content.decode()
        by_place = client.get(reverse("agenda:digest"), {"place": place.slug})
        assert "Atelier couture" in by_place.content.decode()
        assert f"?place={place.slug}" in by_place.content.decode()

    @pytest.mark.parametrize(
        ("params", "message"),
        [
            ({"network": "nowhere"}, "There is no such network."),
            ({"place": "nowhere"}, "There is no place “nowhere”."),
            ({"network": "solozere", "weeks": "20"}, "less than or equal to 8"),
            ({"network": "solozere", "weeks": "two"}, "Enter a whole number"),
        ],
    )
    def test_bad_parameters_are_a_400(self, client, network, params, message):
        response = client.get(reverse("agenda:digest"), params)
        assert response.status_code == 400
        assert message in response.content.decode()

    def test_without_parameters_a_choice_of_networks(self, client, network):
        response = client.get(reverse("agenda:digest"))
        assert response.status_code == 200
        assert "?network=solozere" in response.content.decode()
