"""The demo data loaded by `make run`: the census, the Solozère network, its bookable resources
and the demo accounts."""

import datetime as dt
import io

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.utils import timezone, translation

from maillage.accounts.models import NetworkRole, PlaceRole, User
from maillage.agenda.models import Event
from maillage.bookings.models import Resource, ResourceTerm
from maillage.members.models import CheckIn, Membership, Plan
from maillage.places import selectors, services
from maillage.places.models import Network, OpeningHours, Place, PlaceRevision, PlaceTerm, Season

LOZERE = {
    "MSAP de Langogne",
    "MSAP de Meyrueis",
    "MSAP de Villefort",
    "MSAP Florac",
    "MSAP Fournels",
    "MSAP Le Massegros",
    "MSAP Le Pont de Montvert",
    "MSAP Marvejols",
    "POLeN",
    "Télécentre de Saint-Chély d'Apcher",
    "Tiers Truck",
}


def counts() -> dict[str, int]:
    models = (
        Place,
        PlaceTerm,
        PlaceRevision,
        OpeningHours,
        Season,
        Network,
        User,
        EmailAddress,
        Resource,
        ResourceTerm,
    )
    return {model.__name__: model.objects.count() for model in models}


def load_demo() -> str:
    out = io.StringIO()
    with translation.override("en"):
        call_command("load_demo", stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_loading_the_demo_twice_gives_the_network_its_places_hours_and_accounts_once():
    first_output = load_demo()
    polen = Place.objects.get(name="POLeN")
    services.place_update(place=polen, data={"summary": "Changé par le gestionnaire."})
    first = counts()

    second_output = load_demo()

    assert counts() == first
    polen.refresh_from_db()
    assert polen.summary == "Changé par le gestionnaire."
    assert first["Place"] == 1512
    assert "Created: 1512, updated: 0, unchanged: 0, rejected: 0." in first_output
    assert "Created: 0, updated: 0, unchanged: 1512, rejected: 0." in second_output
    assert "coordinator@solozere.test" in second_output
    assert "maillage-demo" in second_output

    network = Network.objects.get(slug="solozere")
    assert network.name == "Solozère"
    assert network.website == "http://solozere.com"
    assert "Lozère" in network.description
    places = list(network.places.all())
    assert {p.name for p in places} == LOZERE
    assert {p.department for p in places} == {"48"}
    assert all(p.summary and p.hours.exists() for p in places)

    polen = selectors.published_places().get(name="POLeN")
    assert {"meeting_room", "visio_room", "open_desk", "fibre"} <= set(polen.services)
    msap = selectors.published_places().get(name="MSAP Florac")
    assert "public_service_desk" in msap.services
    assert "fr" in msap.languages

    yearly = Season.objects.get(yearly=True)
    assert yearly.place.name == "Télécentre de Saint-Chély d'Apcher"
    assert (yearly.start_date.month, yearly.start_date.day) == (12, 1)
    assert (yearly.end_date.month, yearly.end_date.day) == (3, 31)
    assert not yearly.closed
    assert yearly.hours.exists()
    closure = Season.objects.get(yearly=False)
    assert closure.closed
    assert (closure.start_date, closure.end_date) == (dt.date(2027, 8, 1), dt.date(2027, 8, 15))

    coordinator = User.objects.get(email="coordinator@solozere.test")
    manager = User.objects.get(email="manager@polen.test")
    assert coordinator.check_password("maillage-demo")
    assert manager.check_password("maillage-demo")
    assert NetworkRole.objects.filter(
        user=coordinator, network=network, role=NetworkRole.Role.COORDINATOR
    ).exists()
    assert PlaceRole.objects.filter(
        user=manager, place__name="POLeN", role=PlaceRole.Role.MANAGER
    ).exists()
    for user in (coordinator, manager):
        assert EmailAddress.objects.filter(
            user=user, email=user.email, verified=True, primary=True
        ).exists()


@pytest.mark.django_db
def test_the_demo_places_have_bookable_resources_and_a_member_to_book_them():
    load_demo()
    polen = Place.objects.get(name="POLeN")
    visio_near_mende = Resource.objects.filter(
        place=polen, kind="visio_room", terms__kind="service", terms__code="visio_room"
    )
    assert visio_near_mende.exists()
    assert Resource.objects.filter(place__networks__slug="solozere").count() >= 20
    assert Resource.objects.filter(kind="machine").exclude(training="").exists()
    catherine = User.objects.get(email="catherine@solozere.test")
    assert PlaceRole.objects.filter(user=catherine, place=polen, role="resident").exists()
    edited = Resource.objects.get(place=polen, name="Salle Lot")
    edited.capacity = 20
    edited.save()

    load_demo()

    edited.refresh_from_db()
    assert edited.capacity == 20


@pytest.mark.django_db
def test_the_demo_agenda_has_coming_events_and_a_waiting_list_once():
    output = load_demo()
    coming = Event.objects.filter(start__gt=timezone.now(), status="published")
    assert "Events added to the agenda: 14." in output
    assert coming.filter(network__slug="solozere").count() == 1
    assert coming.filter(place__networks__slug="solozere").count() == 13
    workshop = Event.objects.get(audience="youth")
    assert list(workshop.registrations.values_list("status", flat=True)) == [
        "confirmed",
        "confirmed",
        "waitlisted",
    ]
    assert (workshop.confirmed_count, workshop.waitlisted_count) == (2, 1)

    assert "agenda" not in load_demo()
    assert Event.objects.count() == 14


@pytest.mark.django_db
def test_the_demo_members_hold_plans_days_of_presence_and_a_ledger_line_once():
    load_demo()
    polen = Place.objects.get(name="POLeN")
    catherine = User.objects.get(email="catherine@solozere.test")
    basile = User.objects.get(email="basile@solozere.test")
    assert set(polen.plans.values_list("kind", flat=True)) == set(Plan.Kind.values)
    assert Membership.objects.get(user=catherine).plan.kind == "subscription"
    book = Membership.objects.get(user=basile)
    assert book.tickets_left == 7
    assert PlaceRole.objects.get(user=basile, place=polen).role == "nomad"
    ledger = CheckIn.objects.get(user=basile, home_place=polen)
    assert ledger.place != polen and ledger.unit_value == 12
    assert CheckIn.objects.filter(user=catherine, checked_out_at__isnull=True).exists()
    assert Resource.objects.filter(place=polen, credits_per_hour=1).count() == 2

    counts = (Membership.objects.count(), CheckIn.objects.count(), Plan.objects.count())
    load_demo()
    assert (Membership.objects.count(), CheckIn.objects.count(), Plan.objects.count()) == counts
    assert Membership.objects.get(user=basile).tickets_left == 7


@pytest.mark.django_db
def test_the_demo_community_matches_across_places_and_loads_once():
    from maillage.community import exchange
    from maillage.community.models import (
        Idea,
        Item,
        MentoringRequest,
        Opportunity,
        SkillPost,
        Thanks,
    )

    output = load_demo()
    assert "roald@solozere.test" in output and "murielle@solozere.test" in output
    request = SkillPost.objects.get(title__startswith="Besoin d'aide pour le dossier")
    roald = User.objects.get(email="roald@solozere.test")
    matches = exchange.matches_for(request, viewer=request.author)
    assert matches and matches[0].post.author == roald  # Marvejols, a nearby place
    assert Thanks.objects.count() == 1
    assert Idea.objects.filter(status="planned").count() == 1
    assert Item.objects.filter(status="lent").count() == 1
    assert MentoringRequest.objects.filter(status="awaiting_consent").count() == 1
    models = (SkillPost, Opportunity, Item, Idea, MentoringRequest, Thanks)
    before = [model.objects.count() for model in models]
    load_demo()
    assert [model.objects.count() for model in models] == before


@pytest.mark.django_db
def test_the_demo_publishes_the_statistics_of_its_last_year():
    from maillage.impact.models import DailyFigure

    output = load_demo()

    network = Network.objects.get(slug="solozere")
    assert network.publishes_statistics
    assert DailyFigure.objects.filter(place__networks=network, metric="checkins").exists()
    assert "Statistics rolled up" in output
