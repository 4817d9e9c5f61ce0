"""Figures taken "at the end of the period" and a network's grouping of plans."""

import datetime as dt

import pytest
from django.utils import timezone

from maillage.community.models import Item
from maillage.impact import selectors, services
from maillage.impact.periods import Period
from maillage.members.models import Membership, Plan
from tests.factories import NetworkFactory, PlaceFactory, UserFactory

NOW = dt.datetime(2025, 6, 10, 10, 0, tzinfo=dt.UTC)
TODAY = dt.date(2025, 6, 10)


@pytest.mark.django_db
def test_items_on_loan_are_counted_on_the_day_and_kept_afterwards(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    place = PlaceFactory(time_zone="Europe/Paris")
    item = Item.objects.create(
        author=UserFactory(),
        place=place,
        title="Perceuse",
        mode="lend",
        status="lent",
        return_on=TODAY + dt.timedelta(days=7),
    )
    services.run_rollup(places=type(place).objects.filter(pk=place.pk))
    today = Period.custom(TODAY, TODAY)
    assert selectors.place_figures(place, today).find("items_on_loan").value == 1
    tomorrow = NOW + dt.timedelta(days=1)
    monkeypatch.setattr(timezone, "now", lambda: tomorrow)
    item.status, item.return_on = "available", None
    item.save()
    services.run_rollup(places=type(place).objects.filter(pk=place.pk))
    assert selectors.place_figures(place, today).find("items_on_loan").value == 1
    both = Period.custom(TODAY, TODAY + dt.timedelta(days=1))
    loans = selectors.place_figures(place, both).find("items_on_loan")
    assert loans.value == 0  # the end of the period: tomorrow, when it was back


@pytest.mark.django_db
def test_a_network_groups_memberships_by_kind_of_plan(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    network = NetworkFactory()
    for name in ("Résident Mende", "Résident Florac"):
        place = PlaceFactory(time_zone="Europe/Paris")
        place.networks.add(network)
        plan = Plan.objects.create(place=place, name=name, kind="subscription")
        Membership.objects.create(
            user=UserFactory(), plan=plan, place=place, starts_on=dt.date(2025, 6, 1)
        )
    services.run_rollup(first=dt.date(2025, 6, 1), last=TODAY)
    figures = selectors.network_figures(network, Period.of("month", TODAY))
    plans = [f for f in figures.figures if f.code == "members_plan"]
    assert [(f.key, f.value) for f in plans] == [("subscription", 2)]
    assert plans[0].detail == str(Plan.Kind.SUBSCRIPTION.label)
    assert figures.find("new_members").value == 2
    assert figures.find("new_members").previous == 0
