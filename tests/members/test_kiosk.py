"""Presence at the door: the kiosk's secret address (renewed, revoked), its name search (short
names of the place's people only, never an email), check-in and check-out with what was used or
why it was refused (nothing written), the team's check-in desk with its undo, and the QR code."""

import datetime as dt
import html
import re
import zoneinfo

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from maillage.accounts.models import PlaceRole
from maillage.core.models import AuditEntry
from maillage.members import services
from maillage.members.kiosk import (
    kiosk_for_token,
    kiosk_renew,
    kiosk_revoke,
    qr_svg,
    self_checkin_address,
)
from maillage.members.models import CheckIn, Kiosk, Membership, Plan
from tests.factories import (
    NetworkFactory,
    PlaceFactory,
    UserFactory,
    make_coordinator,
    make_manager,
)
from tests.members.factories import give, plan_for

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


@pytest.fixture
def world():
    """Network N holds place A (the door we watch) and place B. A has a manager, a staff member
    and Catherine Vidal, who holds a book of 10 tickets of A; B has its own manager."""
    network = NetworkFactory()
    place = PlaceFactory(name="Cowork A", time_zone="Europe/Paris")
    other = PlaceFactory(name="Fablab B", time_zone="Europe/Paris")
    place.networks.add(network)
    other.networks.add(network)
    manager = make_manager(place, language="en")
    staff = UserFactory(language="en", full_name="Sam Staff")
    PlaceRole.objects.create(user=staff, place=place, role=PlaceRole.Role.STAFF)
    catherine = UserFactory(full_name="Catherine Vidal", email="catherine@example.org")
    book = plan_for(place, actor=manager, name="Carnet 10", tickets=10)
    give(book, catherine, actor=staff)
    return {
        "network": network,
        "place": place,
        "other": other,
        "manager": manager,
        "staff": staff,
        "catherine": catherine,
        "book": book,
        "manager_b": make_manager(other, language="en"),
        "kiosk": kiosk_renew(place=place, actor=manager),
    }


@pytest.fixture
def tablet():
    """The tablet at the door: nobody signed in, English."""
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def kiosk_url(kiosk) -> str:
    return reverse("members:kiosk", kwargs={"token": kiosk.token})


def tickets_left(member) -> int:
    return Membership.objects.get(user=member, plan__kind=Plan.Kind.TICKET_BOOK).tickets_left


def text_of(response) -> str:
    """The visible text of a page, tags removed and spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def snapshot():
    return (
        list(CheckIn.objects.values_list("pk", "checked_out_at")),
        list(Membership.objects.order_by("pk").values_list("pk", "tickets_left")),
        AuditEntry.objects.count(),
    )


# The kiosk's address --------------------------------------------------------------------------


def test_renewing_gives_a_new_address_and_the_old_one_stops_at_once(world, tablet):
    old = world["kiosk"]
    assert tablet.get(kiosk_url(old)).status_code == 200

    new = kiosk_renew(place=world["place"], actor=world["manager"])

    assert new.token != old.token and len(new.token) >= 40
    assert Kiosk.objects.filter(place=world["place"]).count() == 1
    assert tablet.get(kiosk_url(old)).status_code == 404
    assert tablet.get(reverse("members:kiosk_qr", kwargs={"token": old.token})).status_code == 404
    assert tablet.post(kiosk_url(old), {"member": 1, "action": "checkin"}).status_code == 404
    assert tablet.get(kiosk_url(new)).status_code == 200
    entries = AuditEntry.objects.filter(action="kiosk.renew").order_by("pk")
    assert [entry.details["replaced"] for entry in entries] == [False, True]
    assert all(new.token not in str(entry.details) for entry in entries)


def test_revoking_switches_the_kiosk_off(world, tablet):
    kiosk = world["kiosk"]

    assert kiosk_revoke(place=world["place"], actor=world["manager"]) is True

    assert tablet.get(kiosk_url(kiosk)).status_code == 404
    assert tablet.get(reverse("members:kiosk_qr", kwargs={"token": kiosk.token})).status_code == 404
    assert kiosk_for_token(kiosk.token) is None
    assert AuditEntry.objects.filter(action="kiosk.revoke", place=world["place"]).count() == 1
    assert kiosk_revoke(place=world["place"], actor=world["manager"]) is False
    assert AuditEntry.objects.filter(action="kiosk.revoke").count() == 1


@pytest.mark.parametrize("token", ["", "x", "a" * 65, "../qr.svg"])
def test_no_other_string_opens_a_kiosk(world, token):
    assert kiosk_for_token(token) is None


def test_only_managers_make_or_revoke_the_address(world):
    with pytest.raises(PermissionError):
        kiosk_renew(place=world["place"], actor=world["staff"])
    with pytest.raises(PermissionError):
        kiosk_revoke(place=world["place"], actor=world["manager_b"])
    assert Kiosk.objects.get(place=world["place"]).token == world["kiosk"].token


def test_the_set_up_page_shows_the_address_to_managers_who_renew_it(world, client, settings):
    settings.MAILLAGE_BASE_URL = "https://lieux.example.org"
    client.force_login(world["manager"])
    url = reverse("members:kiosk_setup", kwargs={"slug": world["place"].slug})

    page = client.get(url)
    renewed = client.post(url, {"action": "renew"}, follow=True)

    assert page.status_code == 200
    assert f"https://lieux.example.org/members/kiosk/{world['kiosk'].token}/" in text_of(page)
    assert "Anyone standing at the tablet can check members in by name" in text_of(page)
    assert page["Cache-Control"] == "private, no-store"
    new = Kiosk.objects.get(place=world["place"])
    assert new.token != world["kiosk"].token
    assert f"https://lieux.example.org/members/kiosk/{new.token}/" in text_of(renewed)
    assert "Any previous address no longer works." in text_of(renewed)

    revoked = client.post(url, {"action": "revoke"}, follow=True)

    assert not Kiosk.objects.filter(place=world["place"]).exists()
    assert "The kiosk is switched off: it has no address." in text_of(revoked)
    assert client.post(url, {"action": "shred"}).status_code == 400


def test_staff_see_the_set_up_page_but_cannot_change_the_address(world, client):
    client.force_login(world["staff"])
    url = reverse("members:kiosk_setup", kwargs={"slug": world["place"].slug})
    before = snapshot()

    page = client.get(url)
    renew = client.post(url, {"action": "renew"})
    revoke = client.post(url, {"action": "revoke"})

    assert page.status_code == 200
    assert world["kiosk"].token in text_of(page)
    assert 'value="renew"' not in page.content.decode()
    assert (renew.status_code, revoke.status_code) == (403, 403)
    assert Kiosk.objects.get(place=world["place"]).token == world["kiosk"].token
    assert snapshot() == before


@pytest.mark.parametrize("who", ["member", "manager_b", "anonymous"])
def test_the_set_up_page_is_not_found_outside_the_team(world, client, who):
    url = reverse("members:kiosk_setup", kwargs={"slug": world["place"].slug})
    if who != "anonymous":
        client.force_login(world["catherine"] if who == "member" else world["manager_b"])

    page, post = client.get(url), client.post(url, {"action": "renew"})

    if who == "anonymous":
        assert page.status_code == post.status_code == 302
        assert page["Location"].startswith(reverse("account_login"))
    else:
        assert page.status_code == post.status_code == 404
    assert Kiosk.objects.get(place=world["place"]).token == world["kiosk"].token


# The kiosk's page -----------------------------------------------------------------------------


def test_the_kiosk_page_is_a_secret_tablet_page(world, tablet, settings):
    settings.MAILLAGE_BASE_URL = "https://lieux.example.org"
    url = kiosk_url(world["kiosk"])

    page = tablet.get(url)

    body = page.content.decode()
    assert page.status_code == 200
    assert page["Referrer-Policy"] == "same-origin"
    assert page["X-Robots-Tag"] == "noindex"
    assert "private" in page["Cache-Control"]
    assert world["place"].name in text_of(page)
    assert '<meta http-equiv="refresh" content="180">' in body
    assert f'src="{reverse("members:kiosk_qr", kwargs={"token": world["kiosk"].token})}"' in body
    assert "Scan to check in from your phone" in text_of(page)
    assert f"https://lieux.example.org/members/places/{world['place'].slug}/checkin/" in body
    # A search stays on screen, not reloaded under the person's finger; it goes back home later.
    search = tablet.get(url, {"q": "cath"})
    assert f'<meta http-equiv="refresh" content="60; url={url}">' in search.content.decode()


def test_the_qr_code_leads_to_the_self_check_in_page(world, tablet, settings):
    settings.MAILLAGE_BASE_URL = "https://lieux.example.org"
    address = f"https://lieux.example.org/members/places/{world['place'].slug}/checkin/"

    image = tablet.get(reverse("members:kiosk_qr", kwargs={"token": world["kiosk"].token}))

    assert self_checkin_address(world["place"]) == address
    assert image.status_code == 200
    assert image["Content-Type"] == "image/svg+xml"
    assert "private" in image["Cache-Control"]
    assert image.content.startswith(b"<?xml") and b"<svg" in image.content
    assert image.content == qr_svg(address)
    assert image.content != qr_svg(address + "x")


def test_the_search_shows_short_names_of_the_places_people_and_never_an_email(world, tablet):
    place = world["place"]
    # Another Catherine, but only in place B: not here.
    outsider = UserFactory(full_name="Catherine Dupont", email="dupont@example.org")
    PlaceRole.objects.create(user=outsider, place=world["other"], role=PlaceRole.Role.RESIDENT)
    # A Catherine whose account is closed.
    closed = UserFactory(full_name="Catherine Closed", is_active=False)
    PlaceRole.objects.create(user=closed, place=place, role=PlaceRole.Role.RESIDENT)
    # Someone whose bio mentions Catherine: names only are searched.
    bio = UserFactory(full_name="Paul Martin")
    PlaceRole.objects.create(user=bio, place=place, role=PlaceRole.Role.RESIDENT)
    services.profile_save(user=bio, bio="Je travaille avec Catherine.")

    page = tablet.get(kiosk_url(world["kiosk"]), {"q": "Cath"})

    text = text_of(page)
    assert page.status_code == 200
    assert "Catherine V." in text
    assert "Vidal" not in text
    assert "Dupont" not in text and "Closed" not in text and "Paul" not in text
    assert "@" not in page.content.decode()
    # Both words of the name, in any order, without accents or capitals.
    assert "Catherine V." in text_of(tablet.get(kiosk_url(world["kiosk"]), {"q": "vid cat"}))
    assert "Catherine V." not in text_of(tablet.get(kiosk_url(world["kiosk"]), {"q": "herine"}))
    # Nor by email.
    assert "Catherine V." not in text_of(tablet.get(kiosk_url(world["kiosk"]), {"q": "catherine@"}))


def test_the_search_folds_accents_but_st_is_not_saint(world, tablet):
    stephane = UserFactory(full_name="Stéphane Élie")
    PlaceRole.objects.create(user=stephane, place=world["place"], role=PlaceRole.Role.NOMAD)

    for q in ("st", "Ste", "stephane eli", "ÉLIE"):
        assert "Stéphane É." in text_of(tablet.get(kiosk_url(world["kiosk"]), {"q": q})), q


def test_the_search_needs_two_letters_and_shows_ten_names_at_most(world, tablet):
    for n in range(12):
        person = UserFactory(full_name=f"Paul Person{n:02d}")
        PlaceRole.objects.create(user=person, place=world["place"], role=PlaceRole.Role.VISITOR)

    short = tablet.get(kiosk_url(world["kiosk"]), {"q": "p"})
    many = tablet.get(kiosk_url(world["kiosk"]), {"q": "paul"})

    assert short.status_code == 400
    assert "Type at least two letters of your name." in text_of(short)
    assert many.content.decode().count('<span class="kiosk-name">Paul P.</span>') == 10
    assert many.content.decode().count('value="checkin"') == 10


# Checking in and out at the kiosk ------------------------------------------------------------


def checkin_at_kiosk(tablet, world, member, action="checkin"):
    return tablet.post(kiosk_url(world["kiosk"]), {"member": member.pk, "action": action})


def test_a_member_checks_in_with_a_ticket_and_sees_how_many_are_left(world, tablet):
    catherine = world["catherine"]

    response = checkin_at_kiosk(tablet, world, catherine)
    home = tablet.get(response["Location"])

    assert response.status_code == 302
    assert response["Location"] == kiosk_url(world["kiosk"])
    assert "Welcome Catherine — ticket used, 9 left." in text_of(home)
    # The first screen with a result on it goes back to a clean screen soon.
    assert '<meta http-equiv="refresh" content="15">' in home.content.decode()
    assert tickets_left(catherine) == 9
    record = CheckIn.objects.get(user=catherine, place=world["place"])
    assert record.consumed == CheckIn.Consumed.TICKET
    assert record.checked_in_by is None
    assert record.day == timezone.now().astimezone(PARIS).date()
    # Found again, she is in: her button is now "I'm leaving".
    again = tablet.get(kiosk_url(world["kiosk"]), {"q": "catherine"})
    assert 'value="checkout"' in again.content.decode()
    assert "I'm leaving" in text_of(again)


def test_a_member_checks_out_at_the_kiosk(world, tablet):
    catherine = world["catherine"]
    checkin_at_kiosk(tablet, world, catherine)

    response = checkin_at_kiosk(tablet, world, catherine, "checkout")

    assert response.status_code == 302
    assert "Goodbye Catherine, see you soon!" in text_of(tablet.get(response["Location"]))
    record = CheckIn.objects.get(user=catherine)
    assert record.checked_out_at is not None and not record.auto_checked_out
    assert tickets_left(catherine) == 9
    # Out already: nothing to check out.
    before = snapshot()
    refused = checkin_at_kiosk(tablet, world, catherine, "checkout")
    assert refused.status_code == 409
    assert "You are not checked in here." in text_of(refused)
    assert snapshot() == before


def test_who_is_here_shows_only_those_who_chose_it(world, tablet):
    catherine = world["catherine"]
    discreet = UserFactory(full_name="Denis Discret")
    PlaceRole.objects.create(user=discreet, place=world["place"], role=PlaceRole.Role.STAFF)
    services.profile_save(user=catherine, show_presence=True)
    services.checkin(place=world["place"], member=catherine)
    services.checkin(place=world["place"], member=discreet)

    page = tablet.get(kiosk_url(world["kiosk"]))

    text = text_of(page)
    assert "2 people here now" in text
    assert "Catherine V." in text
    assert "Denis" not in text


def refused_at_kiosk(tablet, world, member, reason: str):
    before = snapshot()
    response = checkin_at_kiosk(tablet, world, member)
    assert response.status_code == 409
    assert 'role="alert"' in response.content.decode()
    assert reason in text_of(response), text_of(response)
    assert snapshot() == before
    return response


def test_an_empty_book_is_refused_with_its_reason(world, tablet):
    catherine = world["catherine"]
    Membership.objects.filter(user=catherine).update(tickets_left=0)

    response = refused_at_kiosk(tablet, world, catherine, "Your “Carnet 10” has no tickets left.")

    assert response["Referrer-Policy"] == "same-origin"
    url = kiosk_url(world["kiosk"])
    assert f'<meta http-equiv="refresh" content="60; url={url}">' in response.content.decode()


def test_an_expired_book_is_refused_with_its_reason(world, tablet):
    member = UserFactory(full_name="Eve Expired")
    short = plan_for(world["place"], actor=world["manager"], name="Carnet court", valid_days=30)
    today = timezone.now().astimezone(PARIS).date()
    membership = give(short, member, starts_on=today - dt.timedelta(days=60), actor=world["staff"])

    refused_at_kiosk(tablet, world, member, "Your plan “Carnet court” expired on")

    assert Membership.objects.get(pk=membership.pk).tickets_left == 10


def test_a_network_pass_not_valid_here_is_refused(world, tablet):
    third = PlaceFactory(name="Tiers-lieu C")
    third.networks.add(world["network"])
    member = UserFactory(full_name="Bruno Fablab")
    elsewhere = plan_for(
        world["other"],
        actor=world["manager_b"],
        name="Carnet B",
        network_wide=True,
        valid_places=[third],
    )
    give(elsewhere, member)
    PlaceRole.objects.create(user=member, place=world["place"], role=PlaceRole.Role.VISITOR)

    refused_at_kiosk(
        tablet, world, member, "Your plan “Carnet B” from Fablab B is not valid at this place."
    )
    # A plan of B that is not a network pass is not even a candidate here.
    local = UserFactory(full_name="Lucie Locale")
    give(plan_for(world["other"], actor=world["manager_b"], name="Carnet local"), local)
    PlaceRole.objects.create(user=local, place=world["place"], role=PlaceRole.Role.VISITOR)
    refused_at_kiosk(tablet, world, local, "No valid plan for this place")


def test_a_second_check_in_the_same_day_is_refused(world, tablet):
    catherine = world["catherine"]
    checkin_at_kiosk(tablet, world, catherine)
    checkin_at_kiosk(tablet, world, catherine, "checkout")

    refused_at_kiosk(tablet, world, catherine, "Already checked in here today (at")

    assert tickets_left(catherine) == 9


def test_nobody_without_a_role_here_can_be_checked_in_at_the_kiosk(world, tablet):
    stranger = UserFactory(full_name="Sophie Stranger")
    network_pass = plan_for(
        world["other"], actor=world["manager_b"], name="Pass réseau", network_wide=True
    )
    give(network_pass, stranger)  # valid at A, but she has no role at A: the desk does it
    before = snapshot()

    response = checkin_at_kiosk(tablet, world, stranger)
    forged = tablet.post(kiosk_url(world["kiosk"]), {"member": "x", "action": "checkin"})

    assert response.status_code == 404
    assert forged.status_code == 400
    assert snapshot() == before


def test_the_kiosk_form_needs_its_csrf_token(world):
    tablet = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    url = kiosk_url(world["kiosk"])
    data = {"member": world["catherine"].pk, "action": "checkin"}

    forged = tablet.post(url, data)
    page = tablet.get(url, {"q": "catherine"})
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    real = tablet.post(url, {**data, "csrfmiddlewaretoken": token})

    assert forged.status_code == 403
    assert real.status_code == 302
    assert tickets_left(world["catherine"]) == 9


def test_searches_and_check_ins_are_rate_limited_per_connection(world, tablet, settings):
    settings.MAILLAGE_KIOSK_PER_IP = "3/10m"
    url = kiosk_url(world["kiosk"])
    cache.clear()

    answers = [tablet.get(url, {"q": "cath"}).status_code for _ in range(2)]
    answers.append(checkin_at_kiosk(tablet, world, world["catherine"]).status_code)
    refused_search = tablet.get(url, {"q": "cath"})
    refused_post = checkin_at_kiosk(tablet, world, world["catherine"], "checkout")
    first_screen = tablet.get(url)
    elsewhere = Client(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR="192.0.2.7").get(url, {"q": "cat"})

    assert answers == [200, 200, 302]
    assert refused_search.status_code == refused_post.status_code == 429
    assert 0 < int(refused_search["Retry-After"]) <= 600
    assert "Too many tries from this connection." in text_of(refused_post)
    assert CheckIn.objects.get().checked_out_at is None
    assert first_screen.status_code == 200  # the screen itself keeps refreshing
    assert elsewhere.status_code == 200


# The team's check-in desk --------------------------------------------------------------------


def desk_url(world) -> str:
    return reverse("members:presence", kwargs={"slug": world["place"].slug})


@pytest.mark.parametrize(
    ("who", "status"),
    [("staff", 200), ("manager", 200), ("coordinator", 200), ("member", 404), ("manager_b", 404)],
)
def test_the_desk_is_for_the_team(world, client, who, status):
    users = {
        "staff": world["staff"],
        "manager": world["manager"],
        "coordinator": make_coordinator(world["network"]),
        "member": world["catherine"],
        "manager_b": world["manager_b"],
    }
    client.force_login(users[who])
    before = snapshot()

    page = client.get(desk_url(world))
    post = client.post(desk_url(world), {"action": "checkin", "member": world["catherine"].pk})

    assert page.status_code == status
    if status == 404:
        assert post.status_code == 404
        assert snapshot() == before
    else:
        assert post.status_code == 302


def test_the_desk_needs_an_account(world, client):
    page = client.get(desk_url(world))
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("account_login"))


def test_the_team_finds_and_checks_someone_in(world, client):
    client.force_login(world["staff"])
    catherine = world["catherine"]

    found = client.get(desk_url(world), {"q": "vidal"})
    done = client.post(
        desk_url(world), {"action": "checkin", "member": catherine.pk, "q": "vidal"}, follow=True
    )

    assert "catherine@example.org" in text_of(found)  # the team sees emails
    assert 'value="checkin"' in found.content.decode()
    assert "Catherine Vidal is checked in: ticket used, 9 left." in text_of(done)
    record = CheckIn.objects.get(user=catherine)
    assert record.checked_in_by == world["staff"]
    assert tickets_left(catherine) == 9
    assert AuditEntry.objects.filter(action="checkin.by_team", actor=world["staff"]).count() == 1
    # Now she is here, and counted today.
    text = text_of(done)
    assert "1 here now" in text and "1 check-in today" in text
    assert "Since" in text and "ticket of a book “Carnet 10”" in text


def test_someone_from_another_place_is_found_by_exact_email_only(world, client):
    sophie = UserFactory(full_name="Sophie Réseau", email="sophie@example.org")
    network_pass = plan_for(
        world["other"], actor=world["manager_b"], name="Pass réseau", network_wide=True
    )
    give(network_pass, sophie)
    client.force_login(world["staff"])

    partial = client.get(desk_url(world), {"q": "sophie"})
    exact = client.get(desk_url(world), {"q": "Sophie@Example.org"})
    done = client.post(
        desk_url(world), {"action": "checkin", "email": "sophie@example.org"}, follow=True
    )

    assert "Sophie Réseau" not in text_of(partial)
    assert "Nobody with a role at this place matches" in text_of(partial)
    assert "Sophie Réseau" in text_of(exact) and "no role at this place" in text_of(exact)
    assert "Sophie Réseau is checked in: ticket used, 9 left (pass from Fablab B)." in text_of(done)
    record = CheckIn.objects.get(user=sophie)
    assert (record.place, record.home_place) == (world["place"], world["other"])


def test_a_refusal_at_the_desk_is_a_409_with_its_reason(world, client):
    client.force_login(world["staff"])
    Membership.objects.filter(user=world["catherine"]).update(tickets_left=0)
    before = snapshot()

    response = client.post(desk_url(world), {"action": "checkin", "member": world["catherine"].pk})

    assert response.status_code == 409
    assert '<p class="message message-error" role="alert">' in response.content.decode()
    assert "Your “Carnet 10” has no tickets left." in text_of(response)
    assert snapshot() == before


def test_undo_gives_the_ticket_back(world, client, tablet):
    catherine = world["catherine"]
    checkin_at_kiosk(tablet, world, catherine)
    record = CheckIn.objects.get(user=catherine)
    assert tickets_left(catherine) == 9
    client.force_login(world["staff"])

    done = client.post(desk_url(world), {"action": "undo", "checkin": record.pk}, follow=True)

    assert "Catherine Vidal's check-in was undone" in text_of(done)
    assert not CheckIn.objects.filter(pk=record.pk).exists()
    assert tickets_left(catherine) == 10
    entry = AuditEntry.objects.get(action="checkin.undo")
    assert (entry.actor, entry.place) == (world["staff"], world["place"])
    # She can come in again today, with the ticket given back.
    assert checkin_at_kiosk(tablet, world, catherine).status_code == 302
    assert tickets_left(catherine) == 9


def test_the_team_checks_someone_out(world, client):
    record = services.checkin(place=world["place"], member=world["catherine"])
    client.force_login(world["staff"])

    done = client.post(desk_url(world), {"action": "checkout", "checkin": record.pk}, follow=True)
    again = client.post(desk_url(world), {"action": "checkout", "checkin": record.pk})

    assert "Catherine Vidal is checked out." in text_of(done)
    assert CheckIn.objects.get(pk=record.pk).checked_out_at is not None
    assert "Nobody is checked in right now." in text_of(done)
    assert again.status_code == 409
    assert "Already checked out." in text_of(again)


def test_the_desk_cannot_reach_another_places_check_ins(world, client):
    elsewhere = services.checkin(place=world["other"], member=world["manager_b"])
    client.force_login(world["staff"])
    before = snapshot()

    for action in ("checkout", "undo"):
        response = client.post(desk_url(world), {"action": action, "checkin": elsewhere.pk})
        assert response.status_code == 404
    assert client.post(desk_url(world), {"action": "checkin"}).status_code == 400
    assert snapshot() == before
