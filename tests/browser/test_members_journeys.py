"""Members and presence in a real browser: Basile the nomad is given a ten-day ticket book by the
concierge and checks in on the kiosk at the door; Catherine, resident of one place, works a day
in another place of the network with her pass, checking in from her phone, and the network's
ledger shows it to the coordinator."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from maillage.accounts.models import PlaceRole
from maillage.members import kiosk, services
from maillage.members.models import CheckIn, Membership
from tests.factories import (
    NetworkFactory,
    PlaceFactory,
    UserFactory,
    make_coordinator,
    make_manager,
)
from tests.members.factories import give, plan_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery"  # the factories' password


def sign_in(page, live_server, user, next_path):
    page.goto(live_server.url + f"/accounts/login/?next={next_path}")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(re.escape(next_path)))


def test_a_nomad_given_a_ticket_book_checks_in_on_the_kiosk_and_has_nine_left(
    page, live_server, page_errors
):
    comptoir = PlaceFactory(name="Le Comptoir Numérique", town="Saint-Étienne")
    book = plan_for(comptoir, name="Carnet nomade 10 jours", tickets=10, price=Decimal("120"))
    concierge = UserFactory(full_name="Dan Concierge", language="fr")
    PlaceRole.objects.create(user=concierge, place=comptoir, role=PlaceRole.Role.STAFF)
    basile = UserFactory(full_name="Basile Martin", email="basile@example.org")

    sign_in(page, live_server, concierge, f"/members/places/{comptoir.slug}/manage/give/")
    page.get_by_label(re.compile("Plan|Formule", re.I)).select_option(str(book.pk))
    page.get_by_label(re.compile("mail", re.I)).fill("basile@example.org")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("main")).to_contain_text("Basile")
    membership = Membership.objects.get(user=basile, plan=book)
    assert membership.tickets_left == 10
    assert PlaceRole.objects.get(user=basile, place=comptoir).role == "nomad"

    # The tablet at the door: nobody is signed in there.
    page.context.clear_cookies()
    door = kiosk.kiosk_renew(place=comptoir, actor=make_manager(comptoir))
    page.goto(live_server.url + f"/members/kiosk/{door.token}/")
    page.get_by_role("searchbox").fill("basi")
    page.get_by_role("button", name=re.compile("Search|Chercher|Rechercher", re.I)).click()
    expect(page.get_by_text("Basile M.", exact=True)).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("basile@example.org")
    page.get_by_role("button", name=re.compile("Basile M")).click()
    expect(page.locator("main")).to_contain_text("9")
    membership.refresh_from_db()
    assert membership.tickets_left == 9
    assert CheckIn.objects.filter(user=basile, place=comptoir, consumed="ticket").count() == 1
    assert not page_errors


PHONE = {"locale": "fr-FR", "viewport": {"width": 390, "height": 844}, "is_mobile": True}


def test_a_resident_works_a_day_elsewhere_with_the_network_pass_and_the_ledger_shows_it(
    browser, live_server
):
    network = NetworkFactory(name="Réseau Solozère")
    polen = PlaceFactory(name="POLeN", town="Mende")
    langogne = PlaceFactory(name="MSAP de Langogne", town="Langogne")
    for place in (polen, langogne):
        place.networks.add(network)
    pass_plan = plan_for(
        polen,
        name="Résident réseau",
        kind="subscription",
        price=Decimal("150"),
        days_per_month=20,
        network_wide=True,
    )
    catherine = UserFactory(full_name="Catherine Vidal", email="catherine@example.org")
    give(pass_plan, catherine, starts_on=services.today_at(polen) - dt.timedelta(days=3))

    phone = browser.new_context(**PHONE)
    phone.set_default_timeout(10_000)
    page = phone.new_page()
    sign_in(page, live_server, catherine, f"/members/places/{langogne.slug}/checkin/")
    page.locator(
        "main form button[type=submit]",
        has_text=re.compile("Check in|arrive|Pointer|Enregistrer mon arrivée", re.I),
    ).first.click()
    expect(page.locator("main")).to_contain_text("POLeN")
    record = CheckIn.objects.get(user=catherine, place=langogne)
    assert record.home_place == polen and record.consumed == "subscription"
    phone.close()

    desk = browser.new_context(locale="fr-FR")
    desk.set_default_timeout(10_000)
    page = desk.new_page()
    coordinator = make_coordinator(network)
    month = record.day.strftime("%Y-%m")
    sign_in(
        page, live_server, coordinator, f"/members/networks/{network.slug}/ledger/?month={month}"
    )
    table = page.locator("main table").first
    expect(table).to_contain_text("POLeN")
    expect(table).to_contain_text("MSAP de Langogne")
    expect(table).to_contain_text(re.compile(r"7[.,]50"))
    desk.close()
