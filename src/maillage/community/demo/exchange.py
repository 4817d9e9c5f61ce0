"""The demo skills exchange of the Solozère network (`maillage load_demo`):

    load_exchange(places, people)

`places`: the demo places by census id, as `load_demo` holds them ({"1101": POLeN, "1096": MSAP
Marvejols, "1092": MSAP Florac, ...}). `people`: the demo accounts: "manager" (manager of
POLeN), "catherine" (resident of POLeN, graphic designer), "basile" (nomad of POLeN, web
developer), "coordinator" (coordinator of Solozère) and, optionally, "roald" (the designer of
seed 003, who lives near Marvejols: given a nomad's role at the MSAP Marvejols when he has no
role there, so that he may post). A missing place or person only skips what needs it.

What it shows: offers and requests that match across places (the manager of POLeN needs help
with a funding application, which Roald offers 14 km away in Marvejols; the coordinator looks
for a photographer in Florac, which Catherine offers in Mende), a private reply, and a finished
exchange closed by a thank you (it counts in POLeN's statistics).

Idempotent: a post is found again by its place, author and title; a reply by its post and sender;
a thank you by its post and receiver. Everything goes through community.exchange, like the pages.
Returns how many posts were created.
"""

from maillage.accounts.models import PlaceRole
from maillage.community import exchange
from maillage.community.models import Reply, SkillPost, Thanks

POLEN, MARVEJOLS, FLORAC = "1101", "1096", "1092"

# (key, place census id, author key, kind, title, body, skill codes, free tags)
POSTS = [
    (
        "roald_funding",
        MARVEJOLS,
        "roald",
        SkillPost.Kind.OFFER,
        "Je peux aider à monter un dossier de financement",
        "<p>J'ai monté plusieurs dossiers <strong>LEADER</strong> et de la Région pour des "
        "projets culturels. Je peux relire le vôtre, vous aider à écrire le budget et le "
        "calendrier, ou préparer l'oral.</p><p>Plutôt en fin de journée, à Marvejols ou en "
        "visio. En échange : un coup de main, un conseil, un café !</p>",
        ["grant_writing", "project_management"],
        ["LEADER"],
    ),
    (
        "polen_feader",
        POLEN,
        "manager",
        SkillPost.Kind.REQUEST,
        "Besoin d'aide pour le dossier de financement du fablab",
        "<p>Nous voulons équiper un petit fablab à POLeN (découpe laser, imprimante 3D) et "
        "déposer un dossier avant la fin du trimestre. Qui a déjà rédigé une demande de "
        "subvention et peut nous relire ?</p>",
        ["grant_writing"],
        ["Fablab"],
    ),
    (
        "catherine_design",
        POLEN,
        "catherine",
        SkillPost.Kind.OFFER,
        "Je refais votre logo et vos cartes de visite",
        "<p>Graphiste indépendante à POLeN, je propose une séance d'une heure pour revoir votre "
        "identité visuelle : logo, couleurs, cartes de visite. Je peux aussi faire quelques "
        "photos de vos produits.</p>",
        ["graphic_design", "photography"],
        ["Mise en page"],
    ),
    (
        "basile_web",
        POLEN,
        "basile",
        SkillPost.Kind.OFFER,
        "Initiation au développement web, le jeudi soir",
        "<p>Vous voulez comprendre comment fonctionne un site, ou modifier le vôtre sans tout "
        "casser ? Je passe les jeudis à POLeN : venez avec votre ordinateur, on regarde "
        "ensemble.</p>",
        ["web_development", "teaching"],
        [],
    ),
    (
        "florac_photos",
        FLORAC,
        "coordinator",
        SkillPost.Kind.REQUEST,
        "Cherche un·e photographe pour les portraits des tiers-lieux",
        "<p>Pour le prochain livret de Solozère, nous aimerions des portraits des personnes qui "
        "font vivre les lieux, en commençant par la MSAP de Florac. Une demi-journée suffit.</p>",
        ["photography"],
        ["Portrait"],
    ),
    (
        "catherine_accounts",
        POLEN,
        "catherine",
        SkillPost.Kind.REQUEST,
        "Qui peut m'aider à faire ma déclaration d'auto-entrepreneuse ?",
        "<p>Première année en micro-entreprise : je m'y perds entre le chiffre d'affaires, "
        "l'URSSAF et la TVA. Une heure avec quelqu'un qui connaît m'aiderait beaucoup.</p>",
        ["accounting"],
        ["Micro-entreprise"],
    ),
]

# (post key, sender key, message)
REPLIES = [
    (
        "polen_feader",
        "roald",
        "Bonjour, je peux relire votre dossier la semaine prochaine. Le plus utile serait de "
        "commencer par le budget prévisionnel : envoyez-moi ce que vous avez déjà.",
    ),
    (
        "catherine_accounts",
        "basile",
        "Salut Catherine, j'ai fait la même chose l'an dernier : je te montre mon tableau "
        "jeudi, ça prend une demi-heure.",
    ),
]

# (post key, receiver key, message): Catherine thanks Basile, which closes her request.
THANKS = [
    ("catherine_accounts", "basile", "Merci Basile, tout est déclaré, et à l'heure !"),
]


def _allowed(person, place) -> bool:
    from maillage.community import permissions

    return permissions.can_post_at(person, place)


def load_exchange(places: dict, people: dict) -> int:
    """Create what is missing; returns how many posts were created."""
    roald = people.get("roald")
    if (
        roald is not None
        and MARVEJOLS in places
        and not PlaceRole.objects.filter(user=roald, place=places[MARVEJOLS]).exists()
    ):
        PlaceRole.objects.create(user=roald, place=places[MARVEJOLS], role=PlaceRole.Role.NOMAD)
    posts: dict[str, SkillPost] = {}
    created = 0
    for key, census_id, author_key, kind, title, body, skills, tags in POSTS:
        place, author = places.get(census_id), people.get(author_key)
        if place is None or author is None or not _allowed(author, place):
            continue
        found = SkillPost.objects.filter(place=place, author=author, title=title).first()
        if found is None:
            found = exchange.skillpost_create(
                author=author,
                place=place,
                kind=kind,
                title=title,
                body=body,
                skills=skills,
                free_tags=tags,
            )
            created += 1
        posts[key] = found
    for post_key, sender_key, message in REPLIES:
        post, sender = posts.get(post_key), people.get(sender_key)
        if post is None or sender is None or sender.pk == post.author_id:
            continue
        if (
            post.closed_at is None
            and not Reply.objects.filter(skill_post=post, sender=sender).exists()
        ):
            exchange.reply_send(post=post, sender=sender, body=message)
    for post_key, receiver_key, message in THANKS:
        post, receiver = posts.get(post_key), people.get(receiver_key)
        if post is None or receiver is None:
            continue
        if not post.replies.filter(sender=receiver).exists():
            continue
        if not Thanks.objects.filter(post=post, receiver=receiver).exists():
            exchange.thanks_give(post=post, giver=post.author, receiver=receiver, message=message)
    return created
