"""The demo projects and opportunities board of the Solozère network (`maillage load_demo`).

`load_board(places, people)`:
- `places`: the demo places by census id, as `load_demo` holds them
  ({"1101": POLeN, "1096": Marvejols, "1091": Villefort, ...});
- `people`: the demo accounts by first name or role: "manager" (Lucas, manager of POLeN),
  "catherine" (resident of POLeN), "basile" (nomad of POLeN), "coordinator" (Camille,
  coordinator of Solozère). A missing place or person only skips what needs it.

Idempotent: a post is found again by its place and title (then only a passed deadline is moved
forward, so that the demo board never empties), the reply by its post and sender. Everything
goes through community.board, like the pages.
"""

import datetime as dt

from maillage.community import board
from maillage.community.models import Opportunity, Reply

# (place census id, author key, kind, title, body, skill codes, free tags, days to the deadline
# or None, network-wide)
OPPORTUNITIES = [
    (
        "1101",
        "manager",
        Opportunity.Kind.VOLUNTEER,
        "Bénévoles pour le Repair café de POLeN",
        "<p>Un samedi sur deux, on répare ensemble grille-pain, lampes et vélos. Nous cherchons "
        "des bénévoles pour <strong>accueillir</strong> les visiteurs, tenir le café et aider "
        "aux réparations, même débutants : on apprend en réparant.</p>"
        "<ul><li>Samedi de 14 h à 17 h</li><li>Outils et pièces fournis</li></ul>",
        ["repair", "electronics"],
        ["Accueil du public"],
        None,
        True,
    ),
    (
        "1101",
        "catherine",
        Opportunity.Kind.PROJECT,
        "Cherche développeur·se pour une carte des circuits courts de Lozère",
        "<p>Graphiste à POLeN, je prépare avec deux producteurs une carte en ligne des points "
        "de vente directe du département (fermes, marchés, casiers). Je m'occupe de la charte "
        "et des pictogrammes ; il me manque quelqu'un pour le <em>développement web</em> et "
        "l'import des données ouvertes.</p><p>Projet bénévole au départ, une demande de "
        "subvention est en cours.</p>",
        ["web_development", "data"],
        ["Cartographie", "OpenStreetMap"],
        45,
        True,
    ),
    (
        "1096",
        "coordinator",
        Opportunity.Kind.INTERNSHIP,
        "Stage de médiation numérique à la maison France Services de Marvejols",
        "<p>Stage de deux mois au printemps : accompagner les habitants dans leurs démarches en "
        "ligne, animer les ateliers « premiers pas sur tablette » et préparer un petit guide "
        "des démarches courantes.</p><p>Pour un·e étudiant·e en BTS, licence pro ou master "
        "(médiation, carrières sociales, information-communication). Gratification légale, "
        "poste de travail à l'espace partagé.</p>",
        ["digital_mediation", "teaching"],
        [],
        30,
        True,
    ),
    (
        "1101",
        "manager",
        Opportunity.Kind.TENDER,
        "Appel d'offres : signalétique de la pépinière",
        "<p>POLeN renouvelle sa signalétique intérieure et extérieure (plan d'accès, portes des "
        "bureaux, salles). Réponse attendue : un devis et deux références, avant la date "
        "limite.</p>",
        ["graphic_design"],
        ["Signalétique"],
        20,
        False,
    ),
]
# (title of the post, sender key, message)
REPLIES = [
    (
        "Bénévoles pour le Repair café de POLeN",
        "basile",
        "Bonjour, je peux tenir le café un samedi sur deux et apporter des gâteaux de mon "
        "restaurant. Le plus simple pour me joindre : passer à POLeN le mardi.",
    ),
]


def load_board(places: dict, people: dict) -> int:
    """Create the demo posts and reply that are missing; returns how many posts were created."""
    created = 0
    posts = {}
    for place_id, author_key, kind, title, body, skills, tags, days, wide in OPPORTUNITIES:
        place, author = places.get(place_id), people.get(author_key)
        if place is None or author is None:
            continue
        deadline = board.today_at(place) + dt.timedelta(days=days) if days else None
        post = Opportunity.objects.filter(place=place, title=title).first()
        if post is None:
            try:
                post = board.opportunity_create(
                    author=author,
                    place=place,
                    kind=kind,
                    title=title,
                    body=body,
                    skills=skills,
                    free_tags=tags,
                    deadline=deadline,
                    network_wide=wide,
                )
            except PermissionError:  # the author has no role there in this database
                continue
            created += 1
        elif post.closed_at is None and board.is_expired(post) and deadline is not None:
            post = board.opportunity_update(post=post, actor=post.author, deadline=deadline)
        posts[title] = post
    for title, sender_key, message in REPLIES:
        post, sender = posts.get(title), people.get(sender_key)
        if post is None or sender is None or sender.pk == post.author_id:
            continue
        if post.is_hidden or not board.is_open(post):
            continue
        if not Reply.objects.filter(opportunity=post, sender=sender).exists():
            board.reply_send(post=post, sender=sender, body=message)
    return created
