"""Matching quality: a test world in Lozère where the best matches are known.

Roald asks for help with a funding application at POLeN in Mende. Around him: offers and people
at the same place, at the Tiers Truck (parked in Mende, another place), in Marvejols (~14 km as
the crow flies), Florac (~25 km), Langogne (~38 km), and in Montpellier (~107 km, too far). The
expected order follows the rule of community.exchange: same place first; within a tier, more
shared skills first, then nearer, then newest; hidden, closed, own, same-kind and far posts and
profiles the viewer may not see are never suggested.
"""

import datetime as dt

import pytest
from django.utils import timezone

from maillage.accounts.models import PlaceRole
from maillage.community import exchange, services
from maillage.community.models import SkillPost
from maillage.members import services as member_services
from maillage.members.models import MemberProfile
from maillage.places.selectors import Point, haversine_km
from tests.community.factories import resident_of
from tests.factories import PlaceFactory, UserFactory, make_manager

pytestmark = pytest.mark.django_db

COORDINATES = {
    "mende": (44.5281, 3.4667),
    "truck": (44.5281, 3.4667),
    "marvejols": (44.5536, 3.2918),
    "florac": (44.3247, 3.5961),
    "langogne": (44.7255, 3.8572),
    "montpellier": (43.6108, 3.8767),
}
BASE = timezone.now() - dt.timedelta(days=30)


def _km(a: str, b: str) -> float:
    return haversine_km(Point(*COORDINATES[a]), Point(*COORDINATES[b]))


def _at(minutes: int) -> dt.datetime:
    return BASE + dt.timedelta(minutes=minutes)


class World:
    """Places, people, posts and profiles; `name` → object, and the expected order."""

    def __init__(self):
        self.places = {
            name: PlaceFactory(name=name.capitalize(), latitude=lat, longitude=lon)
            for name, (lat, lon) in COORDINATES.items()
        }
        self.secret_place = PlaceFactory(
            name="Atelier fermé", latitude=44.53, longitude=3.47, is_published=False
        )
        mende = self.places["mende"]
        self.roald = resident_of(mende, full_name="Roald Martin")
        self.request = self.post(
            "request",
            self.roald,
            "mende",
            ["grant_writing", "accounting"],
            ["Mécénat"],
            minutes=1000,
        )
        self.posts: dict[str, SkillPost] = {}
        self.people = {}
        # Same place.
        self.offer("o1", "mende", ["accounting"], minutes=50)
        self.offer("o2", "mende", ["grant_writing", "accounting"], minutes=10)
        # Nearby places.
        self.offer("o3", "florac", ["grant_writing", "accounting"], ["mecenat"], minutes=5)
        self.offer("o4", "marvejols", ["grant_writing"], minutes=20)
        self.offer("o5", "langogne", ["accounting"], minutes=90)
        self.offer("o6", "marvejols", ["grant_writing"], minutes=30)
        self.offer("o13", "florac", [], ["MECENAT "], minutes=40)
        self.offer("o14", "truck", ["grant_writing"], minutes=1)
        # Never suggested.
        self.offer("far", "montpellier", ["grant_writing", "accounting"], ["mécénat"], minutes=60)
        closed = self.offer("closed", "mende", ["grant_writing", "accounting"], minutes=70)
        exchange.skillpost_close(post=closed, actor=closed.author)
        hidden = self.offer("hidden", "mende", ["grant_writing", "accounting"], minutes=80)
        services.hide_post(post=hidden, actor=make_manager(mende), reason="Publicité")
        self.post("offer", self.roald, "mende", ["grant_writing"], minutes=85)  # his own
        self.post("request", resident_of(mende), "mende", ["grant_writing"], minutes=86)
        self.offer("unrelated", "mende", ["cooking"], minutes=87)
        secret_author = UserFactory()
        PlaceRole.objects.create(
            user=secret_author, place=self.secret_place, role=PlaceRole.Role.RESIDENT
        )
        self.posts["unpublished"] = self.post(
            "offer", secret_author, self.secret_place, ["grant_writing"], minutes=88
        )
        # People.
        self.person("A", ["marvejols"], "public", ["grant_writing"], minutes=0)
        self.person("B", ["mende"], "members", ["grant_writing", "accounting"], minutes=2)
        self.person("C", ["mende"], "private", ["grant_writing", "accounting"], minutes=3)
        self.person("D", ["montpellier"], "public", ["grant_writing"], minutes=4)
        self.person("E", ["langogne", "florac"], "public", ["accounting"], minutes=6)
        self.person("F", [], "public", ["grant_writing"], minutes=7)
        inactive = self.person("G", ["mende"], "public", ["grant_writing"], minutes=8)
        inactive.is_active = False
        inactive.save(update_fields=["is_active"])
        self.person("H", ["marvejols"], "members", ["grant_writing"], minutes=9)  # no shared place
        # The author of o4 lists the skill too: suggested once, through the post.
        self.profile(self.posts["o4"].author, "public", ["grant_writing"], minutes=11)
        self.profile(self.roald, "public", ["grant_writing"], minutes=12)

    def post(self, kind, author, place, skills, tags=(), *, minutes):
        place = self.places[place] if isinstance(place, str) else place
        post = exchange.skillpost_create(
            author=author,
            place=place,
            kind=kind,
            title=f"{kind} {place.name}",
            skills=skills,
            free_tags=list(tags),
        )
        SkillPost.objects.filter(pk=post.pk).update(created_at=_at(minutes))
        return post

    def offer(self, name, place, skills, tags=(), *, minutes):
        author = resident_of(self.places[place])
        self.posts[name] = self.post("offer", author, place, skills, tags, minutes=minutes)
        return self.posts[name]

    def profile(self, user, visibility, skills, *, minutes):
        member_services.profile_save(user=user, visibility=visibility, skills=skills)
        MemberProfile.objects.filter(user=user).update(updated_at=_at(minutes))

    def person(self, name, places, visibility, skills, *, minutes):
        user = UserFactory(full_name=f"Personne {name}")
        for place in places:
            PlaceRole.objects.create(
                user=user, place=self.places[place], role=PlaceRole.Role.RESIDENT
            )
        self.profile(user, visibility, skills, minutes=minutes)
        self.people[name] = user
        return user

    def name_of(self, match) -> str:
        if match.post is not None:
            return next(name for name, post in self.posts.items() if post.pk == match.post.pk)
        return next(name for name, user in self.people.items() if user.pk == match.person.pk)


@pytest.fixture
def world():
    return World()


EXPECTED = ["o2", "B", "o1", "o3", "o14", "o6", "o4", "A", "o13", "E", "o5"]


@pytest.mark.parametrize("literal_reach", [300, 0], ids=["ids-as-parameters", "ids-in-sql"])
def test_the_best_matches_come_in_the_expected_order(world, monkeypatch, literal_reach):
    """The same whether the places in reach travel as parameters or are found again in SQL
    (exchange.LITERAL_REACH: a city's surroundings hold over a thousand places)."""
    monkeypatch.setattr(exchange, "LITERAL_REACH", literal_reach)
    matches = exchange.matches_for(world.request, viewer=world.roald, limit=50)
    assert [world.name_of(match) for match in matches] == EXPECTED


def test_ten_suggestions_by_default(world):
    matches = exchange.matches_for(world.request, viewer=world.roald)
    assert [world.name_of(match) for match in matches] == EXPECTED[:10]


def test_each_match_tells_its_place_distance_tier_and_shared_skills(world):
    by_name = {
        world.name_of(match): match
        for match in exchange.matches_for(world.request, viewer=world.roald, limit=50)
    }
    o2 = by_name["o2"]
    assert (o2.tier, o2.distance_km, o2.place) == (0, 0.0, world.places["mende"])
    assert o2.skills == ["Comptabilité", "Demandes de financement"]  # French by default
    assert o2.post.author is not None and o2.person is None and o2.kind == "post"
    o3 = by_name["o3"]
    assert o3.tier == 1 and o3.place == world.places["florac"]
    assert o3.distance_km == pytest.approx(_km("mende", "florac"), abs=0.01)
    assert o3.shared == 3 and "mecenat" in o3.skills
    truck = by_name["o14"]
    assert (truck.tier, round(truck.distance_km, 3)) == (1, 0.0)
    # E has roles in Langogne and Florac: suggested at the nearest.
    person = by_name["E"]
    assert person.kind == "person" and person.post is None
    assert person.place == world.places["florac"]
    assert person.distance_km == pytest.approx(_km("mende", "florac"), abs=0.01)
    assert by_name["o13"].skills == ["MECENAT"]
    assert 20 < _km("mende", "florac") < 30 < _km("mende", "langogne") < 50
    assert _km("mende", "montpellier") > exchange.MATCH_RADIUS_KM


def test_never_suggested(world):
    names = {
        world.name_of(match)
        for match in exchange.matches_for(world.request, viewer=world.roald, limit=50)
    }
    assert not names & {"far", "closed", "hidden", "unrelated", "unpublished"}
    assert not names & {"C", "D", "F", "G", "H"}
    authors = {
        match.post.author_id
        for match in exchange.matches_for(world.request, viewer=world.roald, limit=50)
        if match.post
    }
    assert world.roald.pk not in authors
    people = [
        match.person.pk
        for match in exchange.matches_for(world.request, viewer=world.roald, limit=50)
        if match.person
    ]
    assert world.roald.pk not in people
    assert world.posts["o4"].author_id not in people


def test_the_team_of_the_place_sees_the_private_profiles_it_runs(world):
    manager = make_manager(world.places["mende"])
    names = [
        world.name_of(match)
        for match in exchange.matches_for(world.request, viewer=manager, limit=50)
    ]
    # C (private) is seen by the team of Mende; its profile changed after B's: newer first.
    assert names[:4] == ["o2", "C", "B", "o1"]


def test_an_offer_is_matched_with_requests_only_never_people(world):
    mende = world.places["mende"]
    offer = exchange.skillpost_create(
        author=resident_of(mende),
        place=mende,
        kind="offer",
        title="Je relis vos dossiers",
        skills=["grant_writing"],
    )
    matches = exchange.matches_for(offer, viewer=offer.author, limit=50)
    assert all(match.post is not None for match in matches)
    assert [match.post.kind for match in matches] == ["request", "request"]
    # The same place first: Roald's request, then the other one; both at Mende.
    assert {match.post.pk for match in matches} >= {world.request.pk}


def test_a_bounded_number_of_queries_whatever_the_candidates(world, django_assert_max_num_queries):
    with django_assert_max_num_queries(9):
        matches = exchange.matches_for(world.request, viewer=world.roald, limit=50)
        for match in matches:
            _ = (match.place.name, match.post and match.post.author.full_name, match.skills)
            if match.post:
                _ = list(match.post.skills.all())
    more = [
        exchange.skillpost_create(
            author=resident_of(world.places["marvejols"]),
            place=world.places["marvejols"],
            kind="offer",
            title=f"Offre {n}",
            skills=["grant_writing"],
        )
        for n in range(15)
    ]
    assert more
    with django_assert_max_num_queries(9):
        matches = exchange.matches_for(world.request, viewer=world.roald, limit=50)
        for match in matches:
            _ = (match.place.name, match.post and match.post.author.full_name, match.skills)
            if match.post:
                _ = list(match.post.skills.all())
    assert len(matches) == len(EXPECTED) + 15
