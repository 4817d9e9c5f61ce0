"""The members' own pages: editing a profile, a member's profile and who may read it, "My plans"
with the attendance and its CSV, the member directories, "who is here now" and the self
check-in from a phone."""

import csv
import datetime as dt
import html
import io
import re
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from PIL import Image

from maillage.accounts.models import PlaceRole, User
from maillage.bookings import services as booking_services
from maillage.core.images import normalise_image
from maillage.members import services
from maillage.members.models import CheckIn, MemberProfile, Membership, MemberSkill, Plan
from maillage.places.models import Place
from tests.factories import (
    NetworkFactory,
    OpeningHoursFactory,
    PlaceFactory,
    UserFactory,
    make_coordinator,
    make_manager,
)
from tests.members.factories import give, plan_for

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


@pytest.fixture(autouse=True)
def _english():
    """The assertions read the English messages; the site's default language is French."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def person(**kwargs) -> User:
    return UserFactory(language="en", **kwargs)


def browser(user: User | None = None) -> Client:
    client = Client(headers={"accept-language": "en"})
    if user is not None:
        client.force_login(user)
    return client


def text(response) -> str:
    """The visible text of a page, on one line, entities decoded."""
    body = re.sub(r"<[^>]+>", " ", response.content.decode())
    return " ".join(html.unescape(body).split())


def with_role(place: Place, role=PlaceRole.Role.RESIDENT, **kwargs) -> User:
    user = person(**kwargs)
    PlaceRole.objects.create(user=user, place=place, role=role)
    return user


def profile(user: User, visibility="members", **fields) -> MemberProfile:
    return services.profile_save(user=user, visibility=visibility, **fields)


@dataclass
class World:
    network: object
    place: Place  # place A, in network N
    elsewhere: Place  # place C, in no network shared with A
    member: User  # a resident of A: the profile looked at
    neighbour: User  # another resident of A
    stranger: User  # a resident of C only
    team: User  # staff of A
    manager: User


@pytest.fixture
def world() -> World:
    network = NetworkFactory(name="Solozère")
    place, elsewhere = PlaceFactory(name="La Filature"), PlaceFactory(name="Le Moulin")
    place.networks.add(network)
    return World(
        network=network,
        place=place,
        elsewhere=elsewhere,
        member=with_role(place, full_name="Camille Martin"),
        neighbour=with_role(place, full_name="Noé Durand"),
        stranger=with_role(elsewhere, full_name="Sam Inconnu"),
        team=with_role(place, PlaceRole.Role.STAFF, full_name="Alex Équipe"),
        manager=make_manager(place, language="en"),
    )


def png(width=900, height=600) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (20, 120, 200)).save(out, "PNG")
    return SimpleUploadedFile("moi.png", out.getvalue(), content_type="image/png")


def profile_data(**extra) -> dict:
    data = {
        "full_name": "Camille Martin",
        "bio": "Je répare des vélos.",
        "links": "https://camille.example.org\nhttps://mastodon.example/@camille",
        "languages": ["fr", "oc"],
        "skills": ["repair", "woodworking"],
        "free_skills": "Vélo, apiculture",
        "visibility": "public",
        "show_presence": "on",
    }
    data.update(extra)
    return data


# Editing my profile ---------------------------------------------------------------------------


def test_profile_edit_needs_an_account():
    response = browser().get("/members/me/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_profile_edit_explains_each_visibility(world):
    response = browser(world.member).get("/members/me/")
    assert response.status_code == 200
    page = text(response)
    assert "Other members and visitors cannot." in page
    assert "members and teams" in page
    assert "Anyone, even without an account" in page
    # A new profile is private until the member chooses otherwise.
    assert re.search(r'value="private"[^>]*checked', response.content.decode())


def test_profile_is_saved_with_vocabulary_and_free_skills(world):
    response = browser(world.member).post("/members/me/", profile_data())
    assert response.status_code == 302
    world.member.refresh_from_db()
    saved = world.member.profile
    assert world.member.full_name == "Camille Martin"
    assert saved.bio == "Je répare des vélos."
    assert saved.links == ["https://camille.example.org", "https://mastodon.example/@camille"]
    assert saved.languages == ["fr", "oc"]
    assert saved.visibility == "public"
    assert saved.show_presence is True
    skills = MemberSkill.objects.filter(user=world.member)
    assert sorted(s.code for s in skills if s.code) == ["repair", "woodworking"]
    assert sorted(s.label for s in skills if not s.code) == ["Vélo", "apiculture"]
    # The form shows back what was saved.
    again = browser(world.member).get("/members/me/").content.decode()
    assert "Vélo, apiculture" in html.unescape(again)
    assert re.search(r'value="repair"[^>]*checked', again)
    assert re.search(r'value="public"[^>]*checked', again)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"links": "not a link"}, "“not a link” is not a web address"),
        ({"links": "javascript:alert(1)"}, "is not a web address"),
        (
            {"links": "\n".join(f"https://example.org/{n}" for n in range(6))},
            "At most 5 links.",
        ),
        ({"skills": ["repair", "juggling"]}, "Select a valid choice. juggling is not one"),
        ({"languages": ["fr", "xx"]}, "Select a valid choice. xx is not one"),
        ({"visibility": "friends"}, "Select a valid choice."),
        ({"full_name": ""}, "This field is required."),
        ({"bio": "x" * 2001}, "at most 2000 characters"),
    ],
)
def test_invalid_profile_is_refused_and_nothing_is_saved(world, change, error):
    profile(world.member, visibility="members", bio="Avant", links=["https://avant.example"])
    response = browser(world.member).post("/members/me/", profile_data(**change))
    assert response.status_code == 400
    page = text(response)
    assert "Nothing was saved" in page
    assert error in page
    saved = MemberProfile.objects.get(user=world.member)
    assert (saved.bio, saved.links, saved.visibility) == (
        "Avant",
        ["https://avant.example"],
        "members",
    )
    assert not MemberSkill.objects.filter(user=world.member).exists()


def test_a_photo_is_made_small_and_can_be_removed(world):
    client = browser(world.member)
    response = client.post("/members/me/", profile_data(photo=png()))
    assert response.status_code == 302
    photo = MemberProfile.objects.get(user=world.member).photo
    with Image.open(photo.path) as stored:
        assert stored.format == "WEBP"
        assert max(stored.size) == 400
    page = client.get("/members/me/").content.decode()
    assert photo.url in page and "Remove my photo" in page
    response = client.post("/members/me/", profile_data(remove_photo="on"))
    assert response.status_code == 302
    assert not MemberProfile.objects.get(user=world.member).photo


def test_a_file_that_is_not_an_image_is_refused(world):
    upload = SimpleUploadedFile("cv.png", b"%PDF-1.4 not an image", content_type="image/png")
    response = browser(world.member).post("/members/me/", profile_data(photo=upload))
    assert response.status_code == 400
    assert "not an image we can read" in text(response)
    assert not MemberProfile.objects.filter(user=world.member).exists()


# A member's profile and who may read it -------------------------------------------------------

VISIBILITY_MATRIX = {
    # viewer: (private, members, public)
    "anonymous": (404, 404, 200),
    "neighbour": (404, 200, 200),
    "stranger": (404, 404, 200),
    "team": (200, 200, 200),
    "manager": (200, 200, 200),
    "coordinator": (200, 200, 200),
    "member": (200, 200, 200),
}


@pytest.mark.parametrize("viewer", list(VISIBILITY_MATRIX))
@pytest.mark.parametrize("visibility", ["private", "members", "public"])
def test_who_reads_a_profile(world, viewer, visibility):
    profile(world.member, visibility=visibility, bio="Menuisière", skills=["woodworking"])
    reader = {
        "anonymous": None,
        "coordinator": make_coordinator(world.network, language="en"),
    }.get(viewer, getattr(world, viewer, None))
    expected = VISIBILITY_MATRIX[viewer][("private", "members", "public").index(visibility)]
    client = browser(reader)
    response = client.get(f"/members/{world.member.pk}/")
    assert response.status_code == expected
    listed = "Camille Martin" in text(client.get(f"/members/places/{world.place.slug}/"))
    # The directory lists exactly the profiles the viewer may open (the team sees every member).
    assert listed == (expected == 200)
    if expected == 200:
        page = text(response)
        assert "Menuisière" in page and "Woodworking" in page
        # The email is for its owner only.
        assert (world.member.email in page) == (viewer == "member")


def test_a_profile_shows_its_links_safely_and_only_the_places(world):
    profile(
        world.member,
        visibility="public",
        links=["https://camille.example.org"],
        languages=["oc"],
        free_skills=["Apiculture"],
    )
    hidden = PlaceFactory(name="Lieu en préparation", is_published=False)
    PlaceRole.objects.create(user=world.member, place=hidden, role=PlaceRole.Role.VISITOR)
    response = browser().get(f"/members/{world.member.pk}/")
    body = response.content.decode()
    assert '<a href="https://camille.example.org" rel="nofollow ugc noopener">' in body
    page = text(response)
    assert "Occitan" in page and "Apiculture" in page
    assert "La Filature" in page
    assert "Lieu en préparation" not in page
    # Places, never roles.
    assert "resident" not in page.lower()


def test_unknown_or_closed_accounts_have_no_profile(world):
    profile(world.member, visibility="public")
    assert browser().get("/members/987654/").status_code == 404
    User.objects.filter(pk=world.member.pk).update(is_active=False)
    assert browser().get(f"/members/{world.member.pk}/").status_code == 404


# Member directories ---------------------------------------------------------------------------


def test_directory_filters_by_words_and_skill(world):
    profile(world.member, visibility="public", skills=["woodworking"], bio="Ébéniste")
    profile(world.neighbour, visibility="public", skills=["photography"])
    client = browser()
    url = f"/members/places/{world.place.slug}/"
    assert {"Camille Martin", "Noé Durand"} <= set(_names(client.get(url)))
    assert _names(client.get(url, {"q": "ebeniste"})) == ["Camille Martin"]
    assert _names(client.get(url, {"skill": "photography"})) == ["Noé Durand"]
    nobody = client.get(url, {"q": "ebeniste", "skill": "photography"})
    assert nobody.status_code == 200 and "Nobody matches this search." in text(nobody)
    refused = client.get(url, {"skill": "juggling"})
    assert refused.status_code == 400
    assert "Select a valid choice" in text(refused)


def _names(response) -> list[str]:
    return [
        html.unescape(name).strip()
        for name in re.findall(
            r'<h3><a href="/members/\d+/">([^<]+)</a></h3>', response.content.decode()
        )
    ]


def test_directory_pages_thirty_members_at_a_time(world):
    for number in range(31):
        profile(with_role(world.place, full_name=f"Membre {number:02d}"), visibility="public")
    client = browser()
    first = client.get(f"/members/places/{world.place.slug}/")
    assert len(_names(first)) == 30
    assert "31 members" in text(first) and "Page 1 of 2" in text(first)
    second = client.get(f"/members/places/{world.place.slug}/", {"page": 2, "q": "membre"})
    assert _names(second) == ["Membre 30"]
    assert "q=membre&amp;page=1" in second.content.decode()


def test_network_directory_gathers_the_places_of_the_network(world):
    other = PlaceFactory(name="Le Fournil")
    other.networks.add(world.network)
    baker = with_role(other, full_name="Lou Boulanger")
    profile(baker, visibility="public")
    profile(world.member, visibility="public")
    profile(world.stranger, visibility="public")
    response = browser().get(f"/members/networks/{world.network.slug}/")
    assert response.status_code == 200
    assert set(_names(response)) == {"Lou Boulanger", "Camille Martin"}
    assert browser().get("/members/networks/no-such-network/").status_code == 404
    # The place's directory points to its network's.
    page = browser().get(f"/members/places/{world.place.slug}/").content.decode()
    assert f'href="/members/networks/{world.network.slug}/"' in page


def test_directory_of_an_unknown_or_unpublished_place(world):
    assert browser().get("/members/places/no-such-place/").status_code == 404
    Place.objects.filter(pk=world.place.pk).update(is_published=False)
    url = f"/members/places/{world.place.slug}/"
    assert browser(world.stranger).get(url).status_code == 404
    assert browser().get(url).status_code == 404
    # Its own people still meet there.
    assert browser(world.member).get(url).status_code == 200
    assert browser(world.manager).get(url).status_code == 200


# Who is here now ------------------------------------------------------------------------------


def test_who_is_here_is_for_the_place_only(world):
    url = f"/members/places/{world.place.slug}/here/"
    anonymous = browser().get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert browser(world.stranger).get(url).status_code == 404
    assert browser(world.member).get("/members/places/no-such-place/here/").status_code == 404
    assert browser(world.member).get(url).status_code == 200


def test_who_is_here_shows_those_who_opted_in(world):
    shown = with_role(world.place, PlaceRole.Role.STAFF, full_name="Dominique Visible")
    profile(shown, visibility="members", show_presence=True, skills=["cooking"])
    secret = with_role(world.place, PlaceRole.Role.STAFF, full_name="Claude Discret")
    profile(secret, visibility="members", show_presence=False)
    quiet = with_role(world.place, PlaceRole.Role.STAFF, full_name="Marion Privée")
    profile(
        quiet,
        visibility="private",
        show_presence=True,
        skills=["sewing"],
        photo=normalise_image(png(), max_side=400),
    )
    arrival = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=5)
    for someone in (shown, secret, quiet):
        services.checkin(place=world.place, member=someone, at=arrival)
    url = f"/members/places/{world.place.slug}/here/"

    response = browser(world.member).get(url)
    page = text(response)
    assert "Dominique Visible" in page and "Cooking" in page
    assert f"here since {arrival.astimezone(PARIS):%H:%M}" in page
    assert "Claude Discret" not in page
    # Shown as present (they opted in) but their private profile stays closed: name only.
    assert "Marion Privée" in page and "Sewing" not in page
    assert f"/members/{quiet.pk}/" not in response.content.decode()
    assert quiet.profile.photo.url not in response.content.decode()
    assert "You are not checked in here now." in page
    assert "Members appear in this list only if they chose to" in page
    assert 'href="/members/me/"' in response.content.decode()

    # The team sees everyone who is in.
    assert "Claude Discret" in text(browser(world.team).get(url))
    # Whether the viewer is shown.
    assert "checked in, but not shown" in text(browser(secret).get(url))
    assert "checked in and shown in this list" in text(browser(shown).get(url))


# My plans and attendance ----------------------------------------------------------------------


def test_my_plans_need_an_account():
    for url in ("/members/me/plans/", "/members/me/attendance.csv"):
        response = browser().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_my_plans_show_what_is_left(world):
    other = PlaceFactory(name="Le Fournil")
    other.networks.add(world.network)
    book = plan_for(world.place, name="Carnet 10", tickets=10, network_wide=True)
    held = give(book, world.member)
    Membership.objects.filter(pk=held.pk).update(tickets_left=7)
    resident = plan_for(
        world.place,
        name="Résident",
        kind=Plan.Kind.SUBSCRIPTION,
        credit_hours=10,
        resource_kinds=["meeting_room"],
        days_per_month=12,
        price=Decimal("120"),
    )
    give(resident, world.member)
    old = plan_for(world.place, name="Pass d'été", kind=Plan.Kind.DAY_PASS)
    gone = give(old, world.member, starts_on=services.today_at(world.place) - dt.timedelta(days=60))
    response = browser(world.member).get("/members/me/plans/")
    assert response.status_code == 200
    page = text(response)
    current, past = page.split("Past plans")
    assert "Carnet 10" in current and "7 of 10" in current
    assert "Also valid in the other places of the network: Solozère" in current
    assert "Résident" in current
    assert "Booking credits left this month 10 h of 10 h" in current
    assert "Days of presence left this month 12 of 12" in current
    assert "Pass d'été" in past and "Pass d'été" not in current
    assert gone.ends_on.strftime("%Y") in past
    body = response.content.decode()
    assert 'href="/members/me/attendance.csv"' in body
    assert 'href="/members/me/"' in body
    assert f'href="/members/places/{world.place.slug}/checkin/"' in body


def test_my_plans_list_the_uses_of_credits(world):
    OpeningHoursFactory(place=world.place)  # Mondays 9:00–18:00
    resident = plan_for(
        world.place,
        name="Résident",
        kind=Plan.Kind.SUBSCRIPTION,
        credit_hours=3,
        resource_kinds=["meeting_room"],
    )
    give(resident, world.member)
    room = booking_services.resource_create(
        place=world.place,
        author=None,
        name="Salle Causse",
        kind="meeting_room",
        capacity=6,
        credits_per_hour=1,
    )
    today = services.today_at(world.place)
    monday = today + dt.timedelta(days=7 - today.weekday())
    start = dt.datetime.combine(monday, dt.time(10), PARIS)
    booking_services.booking_create(
        resource=room, booker=world.member, start=start, end=start + dt.timedelta(minutes=90)
    )
    page = text(browser(world.member).get("/members/me/plans/"))
    assert "Last uses of the booking credits" in page
    assert "Salle Causse" in page and "1 h 30" in page
    if monday.month == today.month:
        assert "1 h 30 of 3 h" in page


def test_my_attendance_in_the_time_of_each_place(world):
    reunion = PlaceFactory(name="Ti Case", time_zone="Indian/Reunion")
    book = plan_for(world.place, name="Carnet 10")
    held = give(book, world.member)
    today = timezone.localdate()
    arrived = dt.datetime.combine(today - dt.timedelta(days=3), dt.time(9, 5), PARIS)
    CheckIn.objects.create(
        user=world.member,
        place=world.place,
        day=arrived.date(),
        checked_in_at=arrived,
        checked_out_at=arrived + dt.timedelta(hours=7, minutes=30),
        consumed=CheckIn.Consumed.TICKET,
        membership=held,
    )
    far = dt.datetime.combine(today - dt.timedelta(days=5), dt.time(8, 0), PARIS)
    CheckIn.objects.create(
        user=world.member,
        place=reunion,
        day=far.date(),
        checked_in_at=far,
        consumed=CheckIn.Consumed.FREE,
    )
    long_ago = dt.datetime.combine(today - dt.timedelta(days=400), dt.time(9), PARIS)
    CheckIn.objects.create(
        user=world.member,
        place=world.place,
        day=long_ago.date(),
        checked_in_at=long_ago,
        consumed=CheckIn.Consumed.FREE,
    )
    CheckIn.objects.create(
        user=world.neighbour,
        place=world.place,
        day=today,
        checked_in_at=timezone.now(),
        consumed=CheckIn.Consumed.FREE,
    )
    page = text(browser(world.member).get("/members/me/plans/"))
    attendance = page.split("My attendance")[-1]
    assert "La Filature 09:05 16:35 7 h 30 Ticket of a book · Carnet 10" in attendance
    # 8:00 in Paris is 10:00 or 11:00 in Réunion (no summer time there).
    reunion_time = far.astimezone(zoneinfo.ZoneInfo("Indian/Reunion")).strftime("%H:%M")
    assert f"Ti Case {reunion_time} not yet" in attendance
    assert long_ago.date().strftime("%Y-%m-%d") not in attendance
    assert attendance.count("La Filature") == 1  # not the neighbour's day


def test_my_attendance_csv(world):
    odd = PlaceFactory(name="=HYPERLINK(1)")
    book = plan_for(world.place, name="Carnet 10")
    held = give(book, world.member)
    arrived = dt.datetime(2024, 3, 4, 9, 0, tzinfo=PARIS)
    CheckIn.objects.create(
        user=world.member,
        place=world.place,
        day=arrived.date(),
        checked_in_at=arrived,
        checked_out_at=arrived + dt.timedelta(hours=8),
        auto_checked_out=True,
        consumed=CheckIn.Consumed.TICKET,
        membership=held,
    )
    CheckIn.objects.create(
        user=world.member,
        place=odd,
        day=dt.date(2020, 1, 2),
        checked_in_at=dt.datetime(2020, 1, 2, 10, tzinfo=PARIS),
        consumed=CheckIn.Consumed.TICKET,
        membership=held,
        home_place=world.place,
    )
    CheckIn.objects.create(
        user=world.neighbour,
        place=world.place,
        day=arrived.date(),
        checked_in_at=arrived,
        consumed=CheckIn.Consumed.FREE,
    )
    response = browser(world.member).get("/members/me/attendance.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="attendance-')
    content = response.content.decode("utf-8")
    assert content.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(content.lstrip("\ufeff"))))
    assert rows[0][:5] == ["Day", "Place", "Arrival", "Departure", "Duration (minutes)"]
    assert rows[1:] == [
        [
            "2020-01-02",
            "'=HYPERLINK(1)",
            "2020-01-02 10:00",
            "",
            "",
            "ticket of a book",
            "Carnet 10",
            "La Filature",
            "no",
        ],
        [
            "2024-03-04",
            "La Filature",
            "2024-03-04 09:00",
            "2024-03-04 17:00",
            "480",
            "ticket of a book",
            "Carnet 10",
            "",
            "yes",
        ],
    ]


# Checking in from my phone --------------------------------------------------------------------


def checkin_url(place: Place) -> str:
    return f"/members/places/{place.slug}/checkin/"


def test_self_checkin_needs_an_account_and_a_place(world):
    response = browser().get(checkin_url(world.place))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert browser(world.member).get("/members/places/no-such-place/checkin/").status_code == 404
    Place.objects.filter(pk=world.place.pk).update(is_published=False)
    assert browser(world.stranger).get(checkin_url(world.place)).status_code == 404
    assert browser(world.member).get(checkin_url(world.place)).status_code == 200


def test_self_checkin_spends_a_ticket(world):
    give(plan_for(world.place, name="Carnet 10", tickets=10), world.member)
    client = browser(world.member)
    page = client.get(checkin_url(world.place))
    assert page.status_code == 200
    assert "Your check-in will use: ticket of a book “Carnet 10”." in text(page)
    assert "10 tickets left on it." in text(page)
    assert 'name="action" value="checkin"' in page.content.decode()

    response = client.post(checkin_url(world.place), {"action": "checkin"}, follow=True)
    assert response.redirect_chain == [(checkin_url(world.place), 302)]
    done = text(response)
    assert "You are checked in at La Filature, with: ticket of a book “Carnet 10”." in done
    assert "9 tickets left." in done
    assert 'value="checkout"' in response.content.decode()
    record = CheckIn.objects.get(user=world.member, place=world.place)
    assert record.consumed == CheckIn.Consumed.TICKET and record.checked_in_by is None
    assert Membership.objects.get(user=world.member).tickets_left == 9

    again = client.post(checkin_url(world.place), {"action": "checkin"})
    assert again.status_code == 409
    assert "Already checked in here today" in text(again)
    assert CheckIn.objects.filter(user=world.member).count() == 1
    assert Membership.objects.get(user=world.member).tickets_left == 9


def test_self_checkin_with_an_empty_book_is_refused_with_the_reason(world):
    held = give(plan_for(world.place, name="Carnet 10", tickets=10), world.member)
    Membership.objects.filter(pk=held.pk).update(tickets_left=0)
    client = browser(world.member)
    page = text(client.get(checkin_url(world.place)))
    assert "Your “Carnet 10” has no tickets left." in page
    assert "Ask the team of the place" in page
    response = client.post(checkin_url(world.place), {"action": "checkin"})
    assert response.status_code == 409
    assert "Your “Carnet 10” has no tickets left." in text(response)
    assert not CheckIn.objects.exists()


def test_self_checkin_without_any_plan_is_refused(world):
    response = browser(world.stranger).post(checkin_url(world.place), {"action": "checkin"})
    assert response.status_code == 409
    assert "No valid plan for this place" in text(response)
    assert not CheckIn.objects.exists()


def test_self_checkin_with_a_network_pass(world):
    home = PlaceFactory(name="Le Fournil")
    home.networks.add(world.network)
    nomad = person(full_name="Lou Nomade")
    give(plan_for(home, name="Carnet réseau", network_wide=True), nomad)
    client = browser(nomad)
    assert "network pass from Le Fournil" in text(client.get(checkin_url(world.place)))
    done = text(client.post(checkin_url(world.place), {"action": "checkin"}, follow=True))
    assert "Network pass from Le Fournil." in done
    assert CheckIn.objects.get(user=nomad).home_place == home


def test_the_team_checks_in_for_nothing(world):
    client = browser(world.team)
    assert "your check-in uses nothing" in text(client.get(checkin_url(world.place)))
    done = text(client.post(checkin_url(world.place), {"action": "checkin"}, follow=True))
    assert "As a member of its team, nothing is used." in done
    assert CheckIn.objects.get(user=world.team).consumed == CheckIn.Consumed.TEAM


def test_self_checkout(world):
    give(plan_for(world.place, name="Carnet 10"), world.member)
    client = browser(world.member)
    refused = client.post(checkin_url(world.place), {"action": "checkout"})
    assert refused.status_code == 409
    assert "You are not checked in here now." in text(refused)
    client.post(checkin_url(world.place), {"action": "checkin"})
    response = client.post(checkin_url(world.place), {"action": "checkout"}, follow=True)
    assert "You are checked out of La Filature" in text(response)
    assert "One check-in a day" in text(response)
    assert 'value="checkin"' not in response.content.decode()
    record = CheckIn.objects.get(user=world.member)
    assert record.checked_out_at is not None and not record.auto_checked_out
    assert client.post(checkin_url(world.place), {"action": "checkout"}).status_code == 409


def test_self_checkin_unknown_action(world):
    response = browser(world.member).post(checkin_url(world.place), {"action": "dance"})
    assert response.status_code == 400
    assert not CheckIn.objects.exists()


# Queries ------------------------------------------------------------------------------------


def test_lists_cost_the_same_queries_whatever_their_length(world):
    """No query per listed person: the directory and "who is here now" read everything at once."""
    client = browser(world.member)
    urls = (f"/members/places/{world.place.slug}/", f"/members/places/{world.place.slug}/here/")

    def counts() -> list[int]:
        found = []
        for url in urls:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            found.append(len(queries))
        return found

    def arrive(number: int) -> None:
        someone = with_role(world.place, PlaceRole.Role.STAFF, full_name=f"Membre {number}")
        profile(someone, visibility="public", skills=["repair"], show_presence=True)
        services.checkin(place=world.place, member=someone)

    arrive(0)
    few = counts()
    for number in range(1, 8):
        arrive(number)
    assert counts() == few
