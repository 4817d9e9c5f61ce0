"""The "national" benchmark dataset of the community exchange (PRODUCT.md §4), written with COPY.

The places and networks of bench/bookings_dataset.py (5,000 places over mainland France, one
network per region plus a national one) and the people of bench/presence_dataset.py (one manager
per place, 100,000 members of one home place each, residents, nomads and visitors; bigger places
have more, and the biggest one six times its share, so that one place has about a thousand
people to vote at once on an idea). Then what they exchange, over two years up to the day of
generation (the "anchor"), more of it recent:

- profiles: 40 % of the members, a third of them private, a third for the members of their
  places, a third public, each with 1 to 5 skills (about 3): codes of members.vocabulary.SKILLS
  (some far more common than others) and, one in five, free tags from a list of usual ones;
- 60,000 skill posts (55 % offers, 45 % requests), 1 to 3 skills each, a quarter of the older
  ones closed, 1 % hidden; their authors are mostly residents and nomads, at their home place;
- 20,000 opportunities (projects, tenders, jobs, internships, calls for volunteers), 0 to 3 skills
  wanted, 80 % network-wide, 60 % with a deadline, a fifth closed;
- 20,000 give-box items (70 % to give, 30 % to lend): available, reserved, lent (with a return
  date, some overdue) or gone;
- 10,000 ideas, at places in proportion to their people, 200,000 votes by people of the idea's
  place (never twice), shared out by a log-normal popularity within each place's head count;
  `Idea.votes` equals the rows; a third answered (planned, done, declined);
- notification settings for a fifth of the members (at once 35 %, daily digest 35 %, weekly 20 %,
  never 10 %; a tenth turned matches off) and 500,000 notifications (replies, matches, ideas...),
  most of them sent long ago; a daily-digest person's last digest was a day ago and a few news
  have come since, a weekly one's 1 to 9 days ago: the news after the last digest are unsent.

Search texts, skill keys and labels are computed by the services' own functions
(exchange._skill_rows and _search_text, board._clean_skills and search_text_of,
givebox._search_text, members.services._skill_rows and vocabulary.skill_words). Everything is
drawn from a seeded `random.Random`, so `(spec, anchor)` always gives the same rows. Needs a
configured Django on PostgreSQL (see bench/community.py).
"""

import datetime as dt
import random
import re
import time
import zoneinfo
from dataclasses import dataclass, field
from types import SimpleNamespace

import bookings_dataset
import presence_dataset
from bookings_dataset import (
    PLACE_COLUMNS,
    SOURCE,
    UNUSABLE_PASSWORD,
    ZONE,
    Copier,
    _detach_constraints,
    _reset_sequence,
)
from presence_dataset import PERSONAS, schema_fingerprint

VERSION = 1  # bump when the generator changes: the next run rebuilds the data
DAYS = 730
FLAGSHIP_WEIGHT = 6  # the biggest place's share of members, times its drawn weight
AUTHOR_WEIGHTS = {"resident": 4.0, "nomad": 2.0, "visitor": 0.4, "manager": 1.0}
PROFILE_VISIBILITY = ("private", "members", "public")
FREE_TAG_SHARE = 0.2
FREE_TAGS = (
    "Permaculture",
    "Apiculture",
    "Céramique",
    "Réparation de vélos",
    "Couture zéro déchet",
    "Tableurs Excel",
    "Canva",
    "Dossiers européens",
    "Sérigraphie",
    "Yoga",
    "Anglais",
    "Langue des signes",
    "Compostage",
    "Électricité",
    "Plomberie",
    "Arduino",
    "Podcast",
    "Mécanique auto",
    "Meubles en palettes",
    "Sites WordPress",
)
BIOS = (
    "",
    "Graphiste indépendante, j'aime transmettre.",
    "Développeur le jour, bricoleur le soir.",
    "Je monte une coopérative d'habitants.",
    "Ancien artisan, je répare à peu près tout.",
    "Consultante en communication pour les associations.",
)
OFFER_TITLES = (
    "Je propose : {skill}",
    "Initiation {skill} pour débutants",
    "Coup de main en {skill}",
    "Atelier {skill} le jeudi midi",
)
REQUEST_TITLES = (
    "Je cherche de l'aide : {skill}",
    "Besoin d'un regard extérieur en {skill}",
    "Qui s'y connaît en {skill} ?",
    "Recherche une personne pour {skill}",
)
BODIES = (
    "<p>Une heure ou deux, au tiers-lieu ou en visio. On s'arrange !</p>",
    "<p>Pour un petit projet associatif, sans urgence.</p><ul><li>le soir</li>"
    "<li>le week-end</li></ul>",
    "<p>En échange, je peux <em>relire</em> vos textes ou vous aider au jardin.</p>",
    "<p>Débutant bienvenu, patience garantie.</p>",
    "",
)
OPPORTUNITY_TITLES = {
    "project": ("Projet de fablab mobile cherche collaborateurs", "Créons une épicerie solidaire"),
    "tender": ("Appel d'offres : refonte du site de la mairie", "Consultation : étude de mobilité"),
    "job": ("CDD chargé·e de médiation numérique", "Poste de régisseur·se du tiers-lieu"),
    "internship": ("Stage communication (6 mois)", "Stage en fabrication numérique"),
    "volunteer": ("Bénévoles pour le repair café", "Coup de main pour le festival d'été"),
}
OPPORTUNITY_KINDS = (
    ("project", 0.35),
    ("tender", 0.15),
    ("job", 0.2),
    ("internship", 0.1),
    ("volunteer", 0.2),
)
ITEM_TITLES = (
    "Perceuse-visseuse",
    "Lot de livres de cuisine",
    "Vélo enfant 16 pouces",
    "Machine à coudre Singer",
    "Écran 24 pouces",
    "Tente 4 places",
    "Bocaux en verre",
    "Chaises de bureau",
    "Projecteur vidéo",
    "Plants de tomates",
)
IDEA_TITLES = (
    "Un composteur dans la cour",
    "Des ateliers du soir pour les parents",
    "Ouvrir le samedi matin",
    "Une grainothèque",
    "Un coin calme pour téléphoner",
    "Des repas partagés le vendredi",
    "Un abri à vélos couvert",
)
SETTINGS_SHARE = 0.2  # members who chose their notification settings
FREQUENCIES = (("immediate", 0.35), ("daily", 0.35), ("weekly", 0.2), ("never", 0.1))
NOTIFICATION_KINDS = (
    ("reply", 0.35, "{name} a répondu à « {title} »", "/community/skills/{id}/"),
    (
        "match",
        0.3,
        "Quelqu'un cherche ce que vous proposez : {title}",
        "/community/skills/{id}/",
    ),
    ("board", 0.15, "{name} a répondu à « {title} »", "/community/board/{id}/"),
    ("idea", 0.1, "Votre idée a reçu une réponse : {title}", "/community/ideas/{id}/"),
    ("givebox", 0.1, "{name} aimerait « {title} »", "/community/givebox/{id}/"),
)


@dataclass(frozen=True)
class Spec:
    places: int = 5_000
    members: int = 100_000
    skill_posts: int = 60_000
    opportunities: int = 20_000
    items: int = 20_000
    ideas: int = 10_000
    votes: int = 200_000
    notifications: int = 500_000
    seed: int = 2024

    def scaled(self, factor: float) -> "Spec":
        return Spec(
            places=max(20, round(self.places * factor)),
            members=max(400, round(self.members * factor)),
            skill_posts=max(300, round(self.skill_posts * factor)),
            opportunities=max(100, round(self.opportunities * factor)),
            items=max(100, round(self.items * factor)),
            ideas=max(50, round(self.ideas * factor)),
            votes=max(1_000, round(self.votes * factor)),
            notifications=max(2_500, round(self.notifications * factor)),
            seed=self.seed,
        )


@dataclass
class Member:
    """What presence_dataset._people needs of a member."""

    user_id: int
    home: int
    persona: str


@dataclass
class IdeaSpec:
    """An idea's share of the votes (presence_dataset._share_out's fields: raw weight,
    capacity = the people of its place, count)."""

    id: int
    place: int
    created_at: dt.datetime
    raw: float
    capacity: int
    count: int = 0
    voters: list[int] = field(default_factory=list)


TABLES = (
    "places_place",
    "places_network",
    "places_place_networks",
    "accounts_user",
    "accounts_placerole",
    "members_memberprofile",
    "members_memberskill",
    "community_skillpost",
    "community_skillpostskill",
    "community_opportunity",
    "community_item",
    "community_idea",
    "community_ideavote",
    "community_notificationsettings",
    "community_notification",
)


# --------------------------------------------------------------------------------------------
# People
# --------------------------------------------------------------------------------------------


def _members(spec: Spec, rng: random.Random, place_ids: list[int]) -> list[Member]:
    """Home places and personas as presence_dataset._members draws them; the biggest place
    gets FLAGSHIP_WEIGHT times its weight."""
    weights = [rng.lognormvariate(0, 0.7) for _ in place_ids]
    biggest = max(range(len(weights)), key=weights.__getitem__)
    weights[biggest] *= FLAGSHIP_WEIGHT
    homes = rng.choices(place_ids, weights=weights, k=spec.members)
    personas = [name for name, _share in PERSONAS]
    shares = [share for _name, share in PERSONAS]
    drawn = rng.choices(personas, weights=shares, k=spec.members)
    first = len(place_ids) + 1
    return [Member(first + n, homes[n], drawn[n]) for n in range(spec.members)]


def _skill_choice(rng: random.Random, popularity: list[float], count: int):
    """`count` distinct skills: vocabulary codes by popularity, a free tag now and then."""
    from maillage.members import vocabulary

    codes = [term.code for term in vocabulary.SKILLS]
    chosen_codes: list[str] = []
    tags: list[str] = []
    while len(chosen_codes) + len(tags) < count:
        if rng.random() < FREE_TAG_SHARE:
            tag = rng.choice(FREE_TAGS)
            if tag not in tags:
                tags.append(tag)
        else:
            code = rng.choices(codes, weights=popularity)[0]
            if code not in chosen_codes:
                chosen_codes.append(code)
    return chosen_codes, tags


def _profiles(rng, presence_profiles, names: dict[int, str], popularity):
    """Profile rows (the profiles presence_dataset._people drew, with a third of each
    visibility) and their skills, as members.services.profile_save writes them."""
    from maillage.accounts.models import User
    from maillage.core.text import fold
    from maillage.members import services, vocabulary

    profiles, skills = [], []
    words_of: dict[tuple[str, str], list[str]] = {}  # skill_words per skill, computed once
    for user_id, _visibility, show_presence, _search_text in presence_profiles:
        codes, tags = _skill_choice(
            rng, popularity, rng.choices((1, 2, 3, 4, 5), (15, 25, 30, 20, 10))[0]
        )
        rows = services._skill_rows(User(pk=user_id), codes, tags)
        bio = rng.choice(BIOS)
        words = []
        for row in rows:
            pair = (row.code, row.label)
            if pair not in words_of:
                words_of[pair] = vocabulary.skill_words([pair])
            words += words_of[pair]
        search_text = fold(" ".join([names[user_id], bio, *words]))
        profiles.append((user_id, bio, rng.choice(PROFILE_VISIBILITY), show_presence, search_text))
        skills.extend((user_id, row.code, row.label, row.key) for row in rows)
    return profiles, skills


def _moment(rng: random.Random, now: dt.datetime, days: int = DAYS) -> dt.datetime:
    """A moment of the last `days` days, recent ones likelier."""
    return now - dt.timedelta(seconds=int(days * 86400 * rng.random() ** 1.6))


def _later(rng, start: dt.datetime, now: dt.datetime, max_days: float) -> dt.datetime:
    return min(now, start + dt.timedelta(seconds=int(rng.uniform(600, max_days * 86400))))


# --------------------------------------------------------------------------------------------
# Posts
# --------------------------------------------------------------------------------------------


class Authors:
    """Draws the author of a post (residents and nomads post most) and finds people."""

    def __init__(self, rng: random.Random, members: list[Member], place_ids: list[int]):
        self.rng = rng
        self.people = [(m.user_id, m.home) for m in members] + [(p, p) for p in place_ids]
        personas = [m.persona for m in members] + ["manager"] * len(place_ids)
        self.cumulative = []
        running = 0.0
        for persona in personas:
            running += AUTHOR_WEIGHTS[persona]
            self.cumulative.append(running)
        self.of_place: dict[int, list[int]] = {p: [p] for p in place_ids}
        for member in members:
            self.of_place[member.home].append(member.user_id)

    def draw(self, count: int) -> list[tuple[int, int]]:
        """(user id, home place) of `count` authors."""
        return self.rng.choices(self.people, cum_weights=self.cumulative, k=count)


def _skill_posts(spec, rng, authors: Authors, popularity, now):
    from maillage.community import exchange

    posts, skills = [], []
    for index, (author, place) in enumerate(authors.draw(spec.skill_posts)):
        post_id = index + 1
        kind = "offer" if rng.random() < 0.55 else "request"
        codes, tags = _skill_choice(rng, popularity, rng.choices((1, 2, 3), (45, 35, 20))[0])
        rows = exchange._skill_rows(codes, tags)
        templates = OFFER_TITLES if kind == "offer" else REQUEST_TITLES
        title = rng.choice(templates).format(skill=rows[0].label.lower())
        body = rng.choice(BODIES)
        created = _moment(rng, now)
        age_days = (now - created).days
        closed = None
        if rng.random() < (0.4 if age_days > 60 else 0.1):
            closed = _later(rng, created, now, 60)
        hidden = rng.random() < 0.01
        posts.append(
            (
                post_id,
                author,
                place,
                kind,
                title,
                body,
                closed,
                exchange._search_text(title, body, rows),
                _later(rng, created, now, 2) if hidden else None,
                place if hidden else None,  # the place's manager (user id = place id)
                "Hors sujet." if hidden else "",
                created,
                closed or created,
            )
        )
        skills.extend((post_id, row.code, row.label, row.key) for row in rows)
    return posts, skills


def _opportunities(spec, rng, authors: Authors, popularity, now):
    from psycopg.types.json import Jsonb

    from maillage.community import board
    from maillage.community.models import Opportunity

    kinds = [kind for kind, _share in OPPORTUNITY_KINDS]
    shares = [share for _kind, share in OPPORTUNITY_KINDS]
    rows = []
    for index, (author, place) in enumerate(authors.draw(spec.opportunities)):
        kind = rng.choices(kinds, shares)[0]
        count = rng.choices((0, 1, 2, 3), (20, 35, 30, 15))[0]
        codes, tags = _skill_choice(rng, popularity, count) if count else ([], [])
        post = Opportunity(
            kind=kind,
            title=rng.choice(OPPORTUNITY_TITLES[kind]),
            body=rng.choice(BODIES[:-1]),
            skills=board._clean_skills(codes, tags),
        )
        created = _moment(rng, now)
        deadline = None
        if rng.random() < 0.6:
            deadline = created.date() + dt.timedelta(days=rng.randint(7, 150))
        closed = _later(rng, created, now, 90) if rng.random() < 0.2 else None
        hidden = rng.random() < 0.01
        rows.append(
            (
                index + 1,
                author,
                place,
                kind,
                post.title,
                post.body,
                rng.random() < 0.8,
                Jsonb(post.skills),
                deadline,
                closed,
                board.search_text_of(post),
                _later(rng, created, now, 2) if hidden else None,
                place if hidden else None,
                "Annonce en double." if hidden else "",
                created,
                closed or created,
            )
        )
    return rows


def _items(spec, rng, authors: Authors, now, anchor: dt.date):
    from maillage.community import givebox

    rows = []
    for index, (author, place) in enumerate(authors.draw(spec.items)):
        mode = "give" if rng.random() < 0.7 else "lend"
        status = rng.choices(("available", "reserved", "lent", "gone"), (55, 10, 5, 30))[0]
        if status == "lent" and mode != "lend":
            status = "reserved"
        title = rng.choice(ITEM_TITLES)
        body = rng.choice(BODIES)
        created = _moment(rng, now)
        neighbours = authors.of_place[place]
        holder = rng.choice(neighbours) if status in ("reserved", "lent") else None
        if holder == author:
            holder = None
        return_on = None
        if status == "lent":
            return_on = anchor + dt.timedelta(days=rng.randint(-10, 60))
            holder = holder or place
        gone = _later(rng, created, now, 60) if status == "gone" else None
        hidden = rng.random() < 0.01
        rows.append(
            (
                index + 1,
                author,
                place,
                title,
                body,
                mode,
                status,
                holder,
                return_on,
                gone,
                givebox._search_text(title, body),
                _later(rng, created, now, 2) if hidden else None,
                place if hidden else None,
                "Objet interdit." if hidden else "",
                created,
                gone or created,
            )
        )
    return rows


def _ideas(spec, rng, authors: Authors, members: list[Member], now):
    """Ideas at places in proportion to their people, and their votes (people of the place,
    each once, after the idea was posted)."""
    places = list(authors.of_place)
    sizes = [len(authors.of_place[p]) for p in places]
    ideas = []
    for index, place in enumerate(rng.choices(places, weights=sizes, k=spec.ideas)):
        people = len(authors.of_place[place])
        ideas.append(
            IdeaSpec(index + 1, place, _moment(rng, now), rng.lognormvariate(0, 1.0), people)
        )
    presence_dataset._share_out(SimpleNamespace(checkins=spec.votes), rng, ideas)
    statuses = ("new", "planned", "done", "declined")
    idea_rows, vote_rows = [], []
    for idea in ideas:
        people = authors.of_place[idea.place]
        author = rng.choice(people) if rng.random() < 0.7 else rng.choice(members).user_id
        status = rng.choices(statuses, (62, 18, 12, 8))[0]
        answered = status != "new" or rng.random() < 0.05
        answered_at = _later(rng, idea.created_at, now, 60) if answered else None
        hidden = rng.random() < 0.01
        idea_rows.append(
            (
                idea.id,
                author,
                idea.place,
                rng.choice(IDEA_TITLES),
                "<p>Ce serait bien pour tout le monde, qu'en pensez-vous ?</p>",
                status,
                "<p>Merci ! L'équipe en parle à la prochaine réunion.</p>" if answered else "",
                answered_at,
                idea.place if answered else None,  # the place's manager
                idea.count,
                _later(rng, idea.created_at, now, 2) if hidden else None,
                idea.place if hidden else None,
                "Propos blessants." if hidden else "",
                idea.created_at,
                answered_at or idea.created_at,
            )
        )
        for voter in rng.sample(people, idea.count):
            vote_rows.append(
                (len(vote_rows) + 1, idea.id, voter, _later(rng, idea.created_at, now, 60))
            )
    return idea_rows, vote_rows


# --------------------------------------------------------------------------------------------
# Notifications
# --------------------------------------------------------------------------------------------


def _notification_settings(rng, members: list[Member], now):
    """(user, frequency, notify_matches, last_digest_at) for SETTINGS_SHARE of the members."""
    frequencies = [name for name, _share in FREQUENCIES]
    shares = [share for _name, share in FREQUENCIES]
    rows = []
    for member in rng.sample(members, round(len(members) * SETTINGS_SHARE)):
        frequency = rng.choices(frequencies, shares)[0]
        last = None
        if frequency == "daily":
            last = now - dt.timedelta(days=1, minutes=rng.randint(0, 180))
        elif frequency == "weekly":
            last = now - dt.timedelta(minutes=rng.randint(24 * 60, 9 * 24 * 60))
        rows.append((member.user_id, frequency, rng.random() >= 0.1, last))
    rows.sort()
    return rows


def _notifications(spec, rng, members: list[Member], settings_rows, now, base_url: str):
    """Notification rows in the order of their creation (ids grow with time): news of the
    last two years for people drawn by a log-normal activity, plus 1–8 news since the last
    digest of each daily-digest person and 2–15 for a weekly one. Unsent exactly when the
    person chose a digest and the news came after their last one."""
    last_digest = {
        user: last
        for user, frequency, _m, last in settings_rows
        if frequency in ("daily", "weekly")
    }
    moments: list[tuple[dt.datetime, int]] = []
    for user, last in last_digest.items():
        extra = rng.randint(1, 8) if (now - last) < dt.timedelta(days=2) else rng.randint(2, 15)
        span = (now - last).total_seconds()
        moments.extend(
            (last + dt.timedelta(seconds=rng.uniform(1, span)), user) for _ in range(extra)
        )
    weights = [rng.lognormvariate(0, 1.0) for _ in members]
    history = spec.notifications - len(moments)
    if history < 0:
        raise ValueError("more news since the last digests than notifications asked for")
    users = rng.choices([m.user_id for m in members], weights=weights, k=history)
    moments.extend((_moment(rng, now), user) for user in users)
    moments.sort()
    kinds = list(NOTIFICATION_KINDS)
    shares = [kind[1] for kind in NOTIFICATION_KINDS]
    titles = [t.format(skill="comptabilité") for t in REQUEST_TITLES] + list(IDEA_TITLES)
    unsent = 0
    for number, (created, user) in enumerate(moments, start=1):
        _kind, _share, subject, path = rng.choices(kinds, shares)[0]
        title = rng.choice(titles)
        name = f"Membre {rng.randrange(spec.members)}"
        url = base_url + path.format(id=rng.randint(1, spec.skill_posts))
        subject = subject.format(name=name, title=title)
        body = (
            f"Bonjour,\n\n{subject}\n\nLisez-le et répondez sur le site : {url}\n\n"
            "Vous pouvez changer la fréquence de ces messages dans vos réglages.\n\n-- \nMaillage"
        )
        last = last_digest.get(user)
        sent = None if last is not None and created > last else created
        unsent += sent is None
        read = None
        if rng.random() < (0.5 if sent else 0.1):
            read = _later(rng, created, now, 3)
        yield (number, user, subject, body, url, created, sent, read)


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


def marker(spec: Spec, anchor: dt.date, fingerprint: str) -> str:
    """Prefix of Place.source_id: the seed, the generator version, the schema and the anchor."""
    return f"{spec.seed}-cx{VERSION}-{fingerprint}-{anchor:%Y%m%d}"


def existing_anchor(spec: Spec) -> dt.date | None:
    """The anchor day of the dataset in the database when it is exactly `spec`'s, generated on
    the current schema, else None."""
    from maillage.accounts.models import User
    from maillage.community.models import IdeaVote, Notification, SkillPost
    from maillage.places.models import Place

    first = (
        Place.objects.filter(source=SOURCE, slug="national-0")
        .values_list("source_id", flat=True)
        .first()
    )
    pattern = rf"{spec.seed}-cx{VERSION}-{schema_fingerprint(TABLES)}-(\d{{8}})-0"
    match = re.fullmatch(pattern, first or "")
    if not match:
        return None
    if (
        Place.objects.count() != spec.places
        or SkillPost.objects.filter(id__lte=spec.skill_posts).count() != spec.skill_posts
        or IdeaVote.objects.filter(id__lte=spec.votes).count() != spec.votes
        or Notification.objects.filter(id__lte=spec.notifications).count() != spec.notifications
        or User.objects.filter(email__endswith="@bench.invalid").count()
        != spec.members + spec.places
    ):
        return None
    return dt.date.fromisoformat(match.group(1))


def consistency(spec: Spec) -> dict:
    """Checks, in SQL, what the services keep in step: idea counters equal their vote rows,
    every skill post has skills whose keys follow the rule, search texts are filled; and counts
    the news waiting for a digest."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT COUNT(*) FILTER (WHERE i.votes <> COALESCE(v.n, 0)), SUM(i.votes)
            FROM community_idea i
            LEFT JOIN (SELECT idea_id, COUNT(*) AS n FROM community_ideavote GROUP BY idea_id) v
              ON v.idea_id = i.id
            """
        )
        ideas_wrong, votes = cursor.fetchone()
        cursor.execute(
            """
            SELECT
              (SELECT COUNT(*) FROM community_skillpost p WHERE NOT EXISTS (
                 SELECT 1 FROM community_skillpostskill s WHERE s.post_id = p.id)),
              (SELECT COUNT(*) FROM community_skillpostskill WHERE code <> '' AND key <> code),
              (SELECT COUNT(*) FROM community_skillpost WHERE search_text = ''),
              (SELECT COUNT(*) FROM community_opportunity WHERE search_text = ''),
              (SELECT COUNT(*) FROM community_item WHERE search_text = ''),
              (SELECT COUNT(*) FROM members_memberskill WHERE code <> '' AND key <> code)
            """
        )
        no_skills, post_keys, posts_blank, opportunities_blank, items_blank, profile_keys = (
            cursor.fetchone()
        )
        cursor.execute(
            """
            SELECT s.frequency, COUNT(DISTINCT n.user_id), COUNT(n.id)
            FROM community_notification n
            JOIN community_notificationsettings s ON s.user_id = n.user_id
            WHERE n.sent_at IS NULL GROUP BY s.frequency ORDER BY 1
            """
        )
        waiting = {frequency: {"people": p, "news": n} for frequency, p, n in cursor.fetchall()}
        cursor.execute(
            "SELECT kind, COUNT(*) FROM community_skillpost "
            "WHERE closed_at IS NULL AND hidden_at IS NULL GROUP BY kind ORDER BY kind"
        )
        open_posts = dict(cursor.fetchall())
    return {
        "ideas_with_votes_unlike_rows": ideas_wrong,
        "votes": votes,
        "skill_posts_without_skills": no_skills,
        "skill_keys_unlike_codes": post_keys + profile_keys,
        "blank_search_texts": posts_blank + opportunities_blank + items_blank,
        "news_waiting_for_a_digest": waiting,
        "open_skill_posts": open_posts,
    }


def generate(spec: Spec, log=print) -> dict:
    """Write the whole dataset into an empty database, in one transaction. Returns counts and
    seconds per step."""
    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone

    from maillage.accounts.models import PlaceRole, User
    from maillage.community.models import (
        Idea,
        IdeaVote,
        Item,
        Notification,
        NotificationSettings,
        Opportunity,
        SkillPost,
        SkillPostSkill,
    )
    from maillage.members import vocabulary
    from maillage.members.models import MemberProfile, MemberSkill
    from maillage.places.models import Network, Place, PlaceTerm

    now = timezone.now().replace(microsecond=0)
    anchor = now.astimezone(zoneinfo.ZoneInfo(ZONE)).date()
    rng = random.Random(f"{spec.seed}-community-{anchor}")
    timings: dict[str, float] = {}
    counts: dict[str, int] = {}
    started = time.perf_counter()

    def step(name: str):
        timings[name] = round(time.perf_counter() - started - sum(timings.values()), 2)
        log(f"  {name}: {timings[name]} s", flush=True)

    fingerprint = schema_fingerprint(TABLES)
    places_spec = bookings_dataset.Spec(places=spec.places, members=spec.members, seed=spec.seed)
    networks, places, links, place_terms, _hours, _seasons, place_specs = bookings_dataset._places(
        places_spec, rng, marker(spec, anchor, fingerprint)
    )
    place_ids = [place.id for place in place_specs]
    members = _members(spec, rng, place_ids)
    users, roles, presence_profiles = presence_dataset._people(spec, rng, place_ids, members)
    names = {user_id: name for user_id, _email, name in users}
    popularity = [rng.lognormvariate(0, 0.8) for _ in vocabulary.SKILLS]
    profiles, member_skills = _profiles(rng, presence_profiles, names, popularity)
    step("places, people and profiles drawn")
    authors = Authors(rng, members, place_ids)
    posts, post_skills = _skill_posts(spec, rng, authors, popularity, now)
    opportunities = _opportunities(spec, rng, authors, popularity, now)
    items = _items(spec, rng, authors, now, anchor)
    ideas, votes = _ideas(spec, rng, authors, members, now)
    settings_rows = _notification_settings(rng, members, now)
    step("posts, ideas and votes drawn")
    contribution = ["hidden_at", "hidden_by", "hidden_reason", "created_at", "updated_at"]
    big = [
        Notification._meta.db_table,
        IdeaVote._meta.db_table,
        SkillPostSkill._meta.db_table,
        SkillPost._meta.db_table,
        MemberSkill._meta.db_table,
    ]
    with transaction.atomic(), connection.cursor() as wrapper:
        cursor = wrapper.cursor  # the psycopg cursor, for COPY
        cursor.execute("SET LOCAL statement_timeout = 0")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        rebuild = _detach_constraints(cursor, big)
        tables = [
            (Network, ["id", "slug", "name"], networks),
            (Place, PLACE_COLUMNS, places),
            (Place.networks.through, ["place", "network"], links),
            (PlaceTerm, ["place", "kind", "code"], place_terms),
            (
                User,
                ["id", "email", "full_name", "password"],
                [(*row, UNUSABLE_PASSWORD) for row in users],
            ),
            (PlaceRole, ["id", "user", "place", "role"], roles),
            (
                MemberProfile,
                ["user", "bio", "visibility", "show_presence", "search_text"],
                profiles,
            ),
            (MemberSkill, ["user", "code", "label", "key"], member_skills),
            (
                SkillPost,
                [
                    "id",
                    "author",
                    "place",
                    "kind",
                    "title",
                    "body",
                    "closed_at",
                    "search_text",
                    *contribution,
                ],
                posts,
            ),
            (SkillPostSkill, ["post", "code", "label", "key"], post_skills),
            (
                Opportunity,
                [
                    "id",
                    "author",
                    "place",
                    "kind",
                    "title",
                    "body",
                    "network_wide",
                    "skills",
                    "deadline",
                    "closed_at",
                    "search_text",
                    *contribution,
                ],
                opportunities,
            ),
            (
                Item,
                [
                    "id",
                    "author",
                    "place",
                    "title",
                    "body",
                    "mode",
                    "status",
                    "holder",
                    "return_on",
                    "gone_at",
                    "search_text",
                    *contribution,
                ],
                items,
            ),
            (
                Idea,
                [
                    "id",
                    "author",
                    "place",
                    "title",
                    "body",
                    "status",
                    "answer",
                    "answered_at",
                    "answered_by",
                    "votes",
                    *contribution,
                ],
                ideas,
            ),
            (IdeaVote, ["id", "idea", "user", "created_at"], votes),
            (
                NotificationSettings,
                ["user", "frequency", "notify_matches", "last_digest_at"],
                settings_rows,
            ),
        ]
        for model, fields, rows in tables:
            counts[model._meta.db_table] = Copier(model, fields, now).write(cursor, rows)
        step("places, people, posts, ideas and votes copied")
        counts[Notification._meta.db_table] = Copier(
            Notification,
            ["id", "user", "subject", "body", "url", "created_at", "sent_at", "read_at"],
            now,
        ).write(
            cursor,
            _notifications(spec, rng, members, settings_rows, now, settings.MAILLAGE_BASE_URL),
        )
        step("notifications drawn and copied")
        for statement in rebuild:
            cursor.execute(statement)
        step("indexes, unique constraints and foreign keys rebuilt")
        for model in (
            Network,
            Place,
            User,
            PlaceRole,
            MemberProfile,
            MemberSkill,
            SkillPost,
            SkillPostSkill,
            Opportunity,
            Item,
            Idea,
            IdeaVote,
            NotificationSettings,
            Notification,
        ):
            _reset_sequence(cursor, model)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    step("VACUUM ANALYZE")
    flagship = max(authors.of_place, key=lambda p: len(authors.of_place[p]))
    return {
        "anchor": anchor.isoformat(),
        "schema": fingerprint,
        "rows": counts,
        "biggest_place_people": len(authors.of_place[flagship]),
        "seconds": timings,
        "total_seconds": round(time.perf_counter() - started, 2),
    }
