"""Every URL pattern × every role, against the table of tests/security/permission_matrix.py.

Each cell is one test (`places:edit-manager_b`) with its own small world built by the factories:
network N holds place A, network M holds place B; each place has a member, a staff and a manager;
N has a coordinator; there is a superuser. A refused request must change nothing in the database.
"""

import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.shortcuts import resolve_url
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone

from maillage.accounts.models import PlaceRole, User
from maillage.accounts.services import api_token_create
from maillage.agenda import services as agenda_services
from maillage.api import api
from maillage.archives import services as archive_services
from maillage.archives.models import PlaceArchive
from maillage.bookings import services as booking_services
from maillage.community import board as community_board
from maillage.community import exchange as community_exchange
from maillage.community import givebox as community_givebox
from maillage.community import ideas as community_ideas
from maillage.community import mentoring as community_mentoring
from maillage.community.models import SkillPost
from maillage.members import kiosk as member_kiosk
from maillage.members import services as member_services
from maillage.places.models import Place, PlaceProposal
from maillage.places.services import proposal_submit
from tests.factories import (
    NetworkFactory,
    OpeningHoursFactory,
    PlaceFactory,
    SeasonFactory,
    UserFactory,
    make_coordinator,
)

from .permission_matrix import (
    ADMIN_LOGIN,
    ALLOWED,
    LOGIN,
    MATRIX,
    PREFIX_RULES,
    ROLES,
    UNPUBLISHED,
    Entry,
    Redirect,
)

pytestmark = pytest.mark.django_db

API_PREFIX = "/api/"
REFUSALS = {401, 403, 404, 405}
# Columns that legitimately move on any request: signing in, using a token.
VOLATILE_FIELDS = {"last_login", "last_used_at"}


# ---- The URL patterns of the project ----


@dataclass(frozen=True)
class Pattern:
    key: str  # namespaced name, or the full route when the pattern has no name
    route: str


def _walk(patterns, prefix="", namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            route = prefix + str(pattern.pattern)
            if pattern.name:
                key = f"{namespace}:{pattern.name}" if namespace else pattern.name
            else:
                key = route
            yield Pattern(key, route)


def project_patterns() -> list[Pattern]:
    return list(_walk(get_resolver().url_patterns))


def api_operation_methods() -> dict[str, set[str]]:
    """URL name (namespaced) of each django-ninja operation → the HTTP methods it answers."""
    methods: dict[str, set[str]] = {}
    for bound in api._get_bound_routers():
        for path_view in bound.path_operations.values():
            for operation in path_view.operations:
                name = getattr(operation, "url_name", "") or api.get_operation_url_name(
                    operation, router=bound.template
                )
                if bound.url_name_prefix:
                    name = f"{bound.url_name_prefix}_{name}"
                methods[f"{api.urls_namespace}:{name}"] = set(operation.methods)
    return methods


def prefix_rule(route: str) -> str | None:
    return next((prefix for prefix in PREFIX_RULES if route.startswith(prefix)), None)


# ---- The world each cell runs in ----


@dataclass
class World:
    users: dict[str, User | None]
    objects_a: dict[str, object]  # what the URL templates are formatted with
    objects_b: dict[str, object]  # the same, from place B and network M

    def url(self, template: str, overrides: dict | None = None) -> str:
        return template.format(**{**self.objects_a, **(overrides or {})})


def build_world(media_name: str) -> World:
    network_n, network_m = NetworkFactory(), NetworkFactory()
    place_a, place_b = PlaceFactory(), PlaceFactory()
    place_a.networks.add(network_n)
    place_b.networks.add(network_m)
    users: dict[str, User | None] = {"anonymous": None}
    member_roles = {}
    for place, suffix in ((place_a, "a"), (place_b, "b")):
        OpeningHoursFactory(place=place)
        for role in PlaceRole.Role:
            user = UserFactory()
            place_role = PlaceRole.objects.create(user=user, place=place, role=role)
            # The matrix's "member" column is a resident (a community role, not the team).
            users[f"{'member' if role == PlaceRole.Role.RESIDENT else role}_{suffix}"] = user
            if role == PlaceRole.Role.RESIDENT:
                member_roles[suffix] = place_role
    users["coordinator"] = make_coordinator(network_n)
    users["superuser"] = User.objects.create_superuser(
        email=f"root-{uuid.uuid4().hex[:8]}@example.org", password="correct horse battery"
    )

    def objects(place, role, suffix, network):
        bookings = _bookings_of(place, users[f"member_{suffix}"], users[f"manager_{suffix}"])
        agenda = _agenda_of(place, network, users[f"member_{suffix}"], users[f"manager_{suffix}"])
        members = _members_of(place, users[f"member_{suffix}"], users[f"manager_{suffix}"])
        community = _community_of(place, users[f"member_{suffix}"], users[f"manager_{suffix}"])
        archives = _archives_of(place, users[f"member_{suffix}"], users[f"manager_{suffix}"])
        proposal = proposal_submit(
            kind=PlaceProposal.Kind.CORRECTION,
            place=place,
            payload={"summary": "Un résumé corrigé"},
            proposer_email="visitor@example.org",
        )
        return {
            "place": place.slug,
            "place_pk": place.pk,
            "season": SeasonFactory(place=place).pk,
            "place_role": role.pk,
            "proposal": proposal.pk,
            "media": media_name,
            **bookings,
            **agenda,
            **members,
            **community,
            **archives,
        }

    return World(
        users,
        objects(place_a, member_roles["a"], "a", network_n),
        objects(place_b, member_roles["b"], "b", network_m),
    )


def _bookings_of(place, member: User, manager: User) -> dict:
    """A resource of the place with a booking of its member, a pending request, a waiting-list
    entry, a training validated there and the member's calendar feed."""
    room = booking_services.resource_create(
        place=place, author=None, name="Salle", kind="meeting_room", capacity=6
    )
    approved = booking_services.resource_create(
        place=place, author=None, name="Atelier", kind="training_room", requires_approval=True
    )
    # Next week's Monday at 10:00, inside the place's hours (OpeningHoursFactory: Mondays 9–18).
    today = timezone.localdate()
    monday = today + dt.timedelta(days=7 - today.weekday())
    start = timezone.make_aware(dt.datetime.combine(monday, dt.time(10)))
    window = {"start": start, "end": start + dt.timedelta(hours=1)}
    booking = booking_services.booking_create(resource=room, booker=member, **window)
    pending = booking_services.booking_create(resource=approved, booker=member, **window)
    waitlist = booking_services.waitlist_join(resource=room, user=member, **window)
    training = booking_services.training_validate(
        user=member, machine_type="laser_cutter", place=place, validator=manager
    )
    feed = booking_services.calendar_feed_renew(user=member)
    return {
        "resource": room.pk,
        "booking": booking.pk,
        "pending": pending.pk,
        "waitlist": waitlist.pk,
        "training": training.pk,
        "feed_token": feed.token,
        "start": start.isoformat().replace("+", "%2B"),
        "end": window["end"].isoformat().replace("+", "%2B"),
    }


def _agenda_of(place, network, member: User, manager: User) -> dict:
    """A published event of the place with the member's registration, the secret link of that
    registration, and a newsletter subscription's secret."""
    start = timezone.now().replace(microsecond=0) + dt.timedelta(days=10)
    (event,) = agenda_services.event_create(
        author=manager,
        place=place,
        title="Atelier",
        category="workshop",
        start=start,
        end=start + dt.timedelta(hours=2),
        capacity=10,
    )
    registration = agenda_services.register(event=event, user=member)
    subscription = agenda_services.subscribe(
        email=f"reader-{uuid.uuid4().hex[:6]}@example.org", language="fr", network=network
    )
    return {
        "event": event.pk,
        "network": network.slug,
        "registration": registration.pk,
        "registration_secret": agenda_services.registration_secret(registration),
        "subscription_secret": agenda_services.subscription_secret(subscription),
        "event_start": start.isoformat(),
        "event_end": (start + dt.timedelta(hours=2)).isoformat(),
    }


def _members_of(place, member: User, manager: User) -> dict:
    """A ticket book of the place held by its member, who checked in today; the place's kiosk."""
    book = member_services.plan_save(
        place=place,
        actor=manager,
        data={"name": "Carnet", "kind": "ticket_book", "tickets": 10, "valid_days": 365},
    )
    membership = member_services.membership_grant(plan=book, member=member, actor=manager)
    checkin = member_services.checkin(place=place, member=member)
    kiosk = member_kiosk.kiosk_renew(place=place, actor=manager)
    return {
        "plan": book.pk,
        "membership": membership.pk,
        "checkin": checkin.pk,
        "kiosk_token": kiosk.token,
        "member_pk": member.pk,
    }


def _community_exchange_of(place, member, manager) -> dict:
    """An open offer of the place's member, with a private reply of the place's manager."""
    offer = community_exchange.skillpost_create(
        author=member,
        place=place,
        kind="offer",
        title="Je peux aider à monter un dossier de financement",
        body="<p>Le soir, après 18 h.</p>",
        skills=["grant_writing"],
    )
    community_exchange.reply_send(post=offer, sender=manager, body="Merci, j'en aurais besoin.")
    return {"skill": offer.pk, "skill_replier": manager.pk}


def _community_board_of(place, member, manager) -> dict:
    """An open, network-wide opportunity of the place by its member."""
    post = community_board.opportunity_create(
        author=member,
        place=place,
        kind="volunteer",
        title="Bénévoles pour le repair café",
        body="<p>Un samedi par mois, accueil et petites réparations.</p>",
        skills=["repair"],
    )
    return {"opportunity": post.pk}


def _community_givebox_of(place, member, manager) -> dict:
    """An item to lend put in at the place by its member, with a message from its manager."""
    item = community_givebox.item_create(
        author=member,
        place=place,
        mode="lend",
        title="Perceuse sans fil",
        body="<p>Avec deux batteries.</p>",
    )
    community_givebox.reply_send(item=item, sender=manager, body="Je peux la prendre samedi ?")
    return {"item": item.pk}


def _community_ideas_of(place, member, manager) -> dict:
    """An idea of the place by its member, who voted for it."""
    idea = community_ideas.idea_post(
        author=member,
        place=place,
        title="Un repair café le samedi",
        body="<p>Une fois par mois.</p>",
    )
    community_ideas.idea_vote(idea=idea, user=member)
    return {"idea": idea.pk}


def _community_mentoring_of(place, member, manager) -> dict:
    """The place's member as a mentor of "entrepreneurship"; an adult's open question and a minor's
    awaiting consent, both asked at the place without an account and confirmed by their link."""
    community_mentoring.mentor_save(
        user=member,
        fields=["entrepreneurship"],
        about="Créatrice d'une agence web.",
        is_active=True,
    )

    def ask(age_group: str):
        asked = community_mentoring.request_ask(
            place=place,
            name="Justine",
            email=f"asker-{uuid.uuid4().hex[:6]}@example.org",
            language="fr",
            age_group=age_group,
            guardian_consent=age_group in ("under_15", "15_17"),
            topic="business",
            fields=["entrepreneurship"],
            question="Comment crée-t-on son entreprise en Lozère ?",
        )
        return community_mentoring.request_confirm(community_mentoring.request_secret(asked))

    adult, minor = ask("18_25"), ask("15_17")
    return {
        "mentoring": adult.pk,
        "mentoring_minor": minor.pk,
        "mentoring_secret": community_mentoring.request_secret(adult),
        "mentoring_mentor": member.pk,
    }


def _community_of(place, member, manager) -> dict:
    """The community exchange of the place: a post of each part by its member (with a private
    reply, a vote, mentoring questions) and a skill offer the matrix reports and moderates."""
    reported = SkillPost.objects.create(
        author=member, place=place, kind="request", title="Aide pour ma comptabilité"
    )
    return {
        "reported_post": reported.pk,
        **_community_exchange_of(place, member, manager),
        **_community_board_of(place, member, manager),
        **_community_givebox_of(place, member, manager),
        **_community_ideas_of(place, member, manager),
        **_community_mentoring_of(place, member, manager),
    }


def _archives_of(place, member, manager) -> dict:
    """A finished archive of the place, requested by its manager (its file under
    MAILLAGE_ARCHIVE_ROOT)."""
    archive = PlaceArchive.objects.create(place=place, requested_by=manager)
    archive_services.archive_build(archive.pk)
    return {"archive": archive.pk}


@pytest.fixture
def media_file():
    """A file under the directory /media/ serves (bound when the URLconf was imported)."""
    root = Path(resolve("/media/x").kwargs["document_root"])
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"permission-matrix-{uuid.uuid4().hex}.txt"
    path.write_text("matrix")
    yield path.name
    path.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def _one_client():
    return Client()


@pytest.fixture
def client(_one_client):
    """One test client for the whole module, signed out before each test: every new Client
    loads the middleware again, and WhiteNoise then lists every static file (~0.1 s a test)."""
    _one_client.cookies = SimpleCookie()
    return _one_client


@pytest.fixture
def world(media_file, settings, tmp_path) -> World:
    settings.MAILLAGE_ARCHIVE_ROOT = tmp_path / "archives"
    return build_world(media_file)


def snapshot() -> dict:
    """Every row of the project's apps (but the columns any request may touch)."""
    state = {}
    for label in (
        "places",
        "accounts",
        "core",
        "bookings",
        "agenda",
        "members",
        "community",
        "archives",
        "privacy",
        "impact",
    ):
        for model in apps.get_app_config(label).get_models():
            fields = [
                f.attname for f in model._meta.concrete_fields if f.name not in VOLATILE_FIELDS
            ]
            state[model._meta.label] = list(model._default_manager.order_by("pk").values(*fields))
    return state


# ---- Requests and outcomes ----


def _formatted(data, world: World, overrides: dict):
    if isinstance(data, str):
        text = world.url(data, overrides)
        # A lone placeholder naming an id ("{plan}") stays a number in JSON bodies.
        return int(text) if re.fullmatch(r"\{\w+\}", data) and text.isdigit() else text
    if isinstance(data, dict):
        return {key: _formatted(value, world, overrides) for key, value in data.items()}
    return data


def sign_in(client, user: User | None, url: str) -> dict:
    """Act as `user`: a Bearer token for the API (never the session), a session for pages."""
    if user is None:
        return {}
    if url.startswith(API_PREFIX):
        _token, raw = api_token_create(user=user)
        return {"authorization": f"Bearer {raw}"}
    client.force_login(user)
    return {}


def send(client, method: str, url: str, data: dict, headers: dict):
    if url.startswith(API_PREFIX) and method != "GET":
        response = client.generic(
            method, url, json.dumps(data), content_type="application/json", headers=headers
        )
    elif method == "GET":
        response = client.get(url, headers=headers)
    elif method == "POST":
        response = client.post(url, data, headers=headers)
    else:
        response = client.generic(method, url, headers=headers)
    if response.streaming:  # files and CSV: read them so that they are closed
        b"".join(response.streaming_content)
        response.close()
    return response


def _redirect_to(response, login_path: str, url: str) -> bool:
    if response.status_code != 302:
        return False
    location = urlsplit(response["Location"])
    return location.path == login_path and parse_qs(location.query).get("next") == [url]


def is_login_redirect(response, url: str) -> bool:
    return _redirect_to(response, resolve_url(settings.LOGIN_URL), url)


def is_admin_login_redirect(response, url: str) -> bool:
    return _redirect_to(response, reverse("admin:login"), url)


def is_refusal(response, url: str) -> bool:
    return (
        response.status_code in REFUSALS
        or is_login_redirect(response, url)
        or is_admin_login_redirect(response, url)
    )


def describe(response) -> str:
    location = response.get("Location", "")
    return f"{response.status_code}{' → ' + location if location else ''}"


def assert_outcome(response, expected, url: str, world: World, overrides: dict) -> None:
    got = describe(response)
    if expected == LOGIN:
        assert is_login_redirect(response, url), f"{url}: expected the login page, got {got}"
    elif expected == ADMIN_LOGIN:
        assert is_admin_login_redirect(response, url), f"{url}: expected admin login, got {got}"
    elif expected == ALLOWED:
        assert not is_refusal(response, url), f"{url}: expected no refusal, got {got}"
    elif isinstance(expected, Redirect):
        target = world.url(expected.to, overrides)
        assert response.status_code == 302, f"{url}: expected a redirect to {target}, got {got}"
        assert response["Location"] == target, f"{url}: expected {target}, got {got}"
    else:
        assert response.status_code == expected, f"{url}: expected {expected}, got {got}"


def check_entry(client, entry: Entry, role: str, world: World, overrides=None) -> None:
    """Request the entry as `role` with each method it accepts; a refusal must change nothing."""
    expected = entry.expect[role]
    url = world.url(entry.url, overrides)
    data = _formatted(entry.data, world, overrides)
    headers = sign_in(client, world.users[role], url)
    # Only a refusal is checked for side effects (an unexpected success fails anyway).
    refused = expected in (LOGIN, ADMIN_LOGIN) or expected in REFUSALS
    before = snapshot() if refused else None
    response = send(client, entry.method, url, data, headers)
    assert_outcome(response, expected, url, world, overrides)
    for method in entry.also:
        other = send(client, method, url, data, headers)
        if refused:
            assert describe(other) == describe(response), f"{method} {url}: {describe(other)}"
        else:
            assert not is_refusal(other, url), f"{method} {url}: refused, {describe(other)}"
    if refused:
        assert snapshot() == before, f"{url}: a refused request changed the database"


# ---- The matrix ----


def _cells():
    for key, entry in MATRIX.items():
        for role in entry.expect:
            yield pytest.param(key, role, id=f"{key}-{role}")


@pytest.mark.parametrize(("key", "role"), list(_cells()))
def test_cell(client, world, key, role):
    check_entry(client, MATRIX[key], role, world)


@pytest.mark.parametrize(
    ("key", "role"),
    [
        pytest.param(key, role, id=f"unpublished-{key}-{role}")
        for key, entry in UNPUBLISHED.items()
        for role in entry.expect
    ],
)
def test_unpublished_cell(client, world, key, role):
    Place.objects.filter(slug=world.objects_a["place"]).update(is_published=False)
    check_entry(client, UNPUBLISHED[key], role, world)


def test_the_api_ignores_the_session(client, world):
    """A signed-in browser session is no API credential: a forged cross-site request that rides
    on it gets a 401 (the API is exempt from CSRF checks because it only takes tokens)."""
    client.force_login(world.users["manager_a"])
    before = snapshot()
    response = send(client, "PATCH", world.url("/api/v1/places/{place}"), {"summary": "x"}, {})
    assert response.status_code == 401
    assert snapshot() == before


def _admin_sample() -> list[tuple[str, str]]:
    """The admin index; each registered model's list, and its add page unless the admin offers
    none (even to superusers); the change page of place A."""
    superuser = RequestFactory().get("/admin/")
    superuser.user = User(is_active=True, is_staff=True, is_superuser=True)
    sample = [("admin:index", "/admin/")]
    for model, model_admin in admin.site._registry.items():
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        sample.append((f"admin:{info}_changelist", reverse(f"admin:{info}_changelist")))
        if model_admin.has_add_permission(superuser):
            sample.append((f"admin:{info}_add", reverse(f"admin:{info}_add")))
    sample.append(("admin:places_place_change", "/admin/places/place/{place_pk}/change/"))
    return sample


def _admin_cells():
    (rule,) = (rule for prefix, rule in PREFIX_RULES.items() if prefix == "admin/")
    for name, url in _admin_sample():
        for role, expected in rule.items():
            yield pytest.param(url, role, expected, id=f"{name}-{role}")


@pytest.mark.parametrize(("url", "role", "expected"), list(_admin_cells()))
def test_admin_cell(client, world, url, role, expected):
    check_entry(client, Entry(url, {role: expected}), role, world)


# ---- No existence leak: what a person may not reach looks like what does not exist ----

OUT_OF_REACH = [
    key
    for key, entry in MATRIX.items()
    if entry.expect.get("manager_b") == 404 and "{" in entry.url
]


@pytest.mark.parametrize("key", OUT_OF_REACH)
def test_out_of_reach_answers_like_nonexistent(client, world, key):
    """The manager of B gets the same answer for A's pages as for a place that does not exist."""
    entry = MATRIX[key]
    missing = {
        "place": "no-such-place",
        **dict.fromkeys(
            (
                "season",
                "place_role",
                "proposal",
                "resource",
                "booking",
                "pending",
                "waitlist",
                "training",
                "event",
                "registration",
                "plan",
                "membership",
                "checkin",
                "member_pk",
                "reported_post",
                "skill",
                "skill_replier",
                "opportunity",
                "item",
                "idea",
                "mentoring",
                "mentoring_minor",
            ),
            987654,
        ),
        "network": "no-such-network",
    }
    headers = sign_in(client, world.users["manager_b"], entry.url)
    real_data = _formatted(entry.data, world, {})
    ghost_data = _formatted(entry.data, world, missing)
    real = send(client, entry.method, world.url(entry.url), real_data, headers)
    ghost = send(client, entry.method, world.url(entry.url, missing), ghost_data, headers)
    assert real.status_code == ghost.status_code == 404
    if entry.url.startswith(API_PREFIX):  # the same body, but for the slug or ids it repeats
        slugs = (world.objects_a["place"], world.objects_a["network"])

        def masked(body: bytes, names) -> str:
            text = body.decode()
            for name in names:
                text = text.replace(name, "…")
            return re.sub(r"\d+", "#", text)

        assert masked(real.content, slugs) == masked(
            ghost.content, (missing["place"], missing["network"])
        )


# Entries on one place (or its objects) that place A's manager and N's coordinator may use.
MANAGED = [
    key
    for key, entry in MATRIX.items()
    if entry.expect.get("coordinator") not in (404, LOGIN)
    and entry.expect.get("manager_b") == 404
    and "{" in entry.url
]


@pytest.mark.parametrize("key", MANAGED)
@pytest.mark.parametrize("role", ["coordinator", "manager_a"])
def test_place_b_is_out_of_reach(client, world, key, role):
    """N's coordinator and A's manager reach nothing of place B, which is only in network M."""
    entry = MATRIX[key]
    check_entry(
        client,
        Entry(entry.url, {role: 404}, entry.method, entry.also, entry.data),
        role,
        world,
        world.objects_b,
    )


@pytest.mark.parametrize(
    "key",
    [k for k in MANAGED if "{season}" in MATRIX[k].url or "{place_role}" in str(MATRIX[k].data)],
)
def test_objects_of_another_place_are_not_found(client, world, key):
    """B's manager, on B's own pages, cannot name a season or a role of A."""
    entry = MATRIX[key]
    overrides = {
        **world.objects_b,
        "season": world.objects_a["season"],
        "place_role": world.objects_a["place_role"],
    }
    if "{season}" in entry.url:  # the season is in the URL: every method
        probe = Entry(entry.url, {"manager_b": 404}, entry.method, entry.also, entry.data)
    else:  # the object is in the form (B's team page itself is theirs): the write
        probe = Entry(entry.url, {"manager_b": 404}, "POST", (), entry.data)
    check_entry(client, probe, "manager_b", world, overrides)


# ---- The table covers the project ----


def test_every_url_pattern_is_declared():
    patterns = project_patterns()
    keys = {p.key for p in patterns}
    undeclared = sorted(
        f"{p.key} ({p.route})" for p in patterns if p.key not in MATRIX and not prefix_rule(p.route)
    )
    stale = sorted((set(MATRIX) | set(UNPUBLISHED)) - keys)
    unused_rules = sorted(
        p for p in PREFIX_RULES if not any(x.route.startswith(p) for x in patterns)
    )
    routes: dict[str, set[str]] = {}
    for p in patterns:
        routes.setdefault(p.key, set()).add(p.route)
    ambiguous = sorted(key for key, found in routes.items() if len(found) > 1)
    problems = []
    if ambiguous:
        problems.append(
            "names used by several routes (give them distinct names): " + ", ".join(ambiguous)
        )
    if undeclared:
        problems.append("URL patterns without an entry: " + ", ".join(undeclared))
    if stale:
        problems.append("entries that match no URL pattern: " + ", ".join(stale))
    if unused_rules:
        problems.append("prefix rules that match no route: " + ", ".join(unused_rules))
    assert not problems, "tests/security/permission_matrix.py: " + "; ".join(problems)


def test_api_entries_use_the_methods_of_their_operation():
    operations = api_operation_methods()
    api_keys = {key for key in MATRIX if key.startswith(f"{api.urls_namespace}:")}
    wrong = {
        key: (sorted({MATRIX[key].method, *MATRIX[key].also}), sorted(methods))
        for key, methods in operations.items()
        if key in api_keys and {MATRIX[key].method, *MATRIX[key].also} != methods
    }
    assert set(operations) <= api_keys, sorted(set(operations) - api_keys)
    assert not wrong, f"declared vs actual methods: {wrong}"


def test_every_entry_declares_every_role():
    incomplete = {
        key: sorted(set(ROLES) - set(e.expect))
        for key, e in MATRIX.items()
        if set(ROLES) - set(e.expect)
    }
    assert not incomplete
    for prefix, rule in PREFIX_RULES.items():
        assert set(ROLES) <= set(rule), prefix
