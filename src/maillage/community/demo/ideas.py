"""Demo ideas for POLeN's idea box (`maillage load_demo`).

Three French ideas with a few votes, one of them answered as planned by POLeN's manager. Written
through community.ideas (the one path for every write), idempotently: an idea is found again by
its place and title, a vote is given only once, an answer only to an idea still new.

`places`: the demo places, POLeN under "polen" or under its census id "1101" (the keys of
load_demo's `places`). `people`: the demo accounts, by any of these keys: "manager" (Lucas,
manager of POLeN), "catherine"/"member"/"resident" (Catherine, resident), "basile"/"nomad"
(Basile, nomad), and optionally "roald". Missing people are skipped; only people with a role at
POLeN vote (the rule of the box).
"""

from maillage.community import ideas, permissions
from maillage.community.models import Idea, IdeaVote

POLEN_ID = "1101"

IDEAS = [
    {
        "key": "repair",
        "author": "catherine",
        "title": "Un repair café le samedi",
        "body": (
            "<p>Un samedi matin par mois, on pourrait réparer ensemble petit électroménager, "
            "vêtements et vélos plutôt que de les jeter. Il y a déjà des bricoleurs parmi les "
            "résidents, et la salle Lot est libre le samedi.</p>"
        ),
        "voters": ("catherine", "basile", "manager", "roald"),
        "answer": (
            "planned",
            "<p>Bonne idée, et vous êtes plusieurs à la soutenir ! Le premier repair café aura "
            "lieu le premier samedi du mois prochain, de 9 h 30 à 12 h, salle Lot. Nous "
            "cherchons encore deux ou trois bénévoles : faites-vous connaître à l'accueil.</p>",
        ),
    },
    {
        "key": "lockers",
        "author": "basile",
        "title": "Des casiers fermés à clé",
        "body": (
            "<p>Quand on vient en nomade quelques jours par semaine, c'est pénible de "
            "repartir chaque soir avec l'écran et le clavier. Quelques casiers fermés à clé "
            "dans l'espace de coworking changeraient la vie.</p>"
        ),
        "voters": ("basile", "catherine"),
        "answer": None,
    },
    {
        "key": "bike",
        "author": "roald",
        "title": "Un atelier vélo",
        "body": (
            "<p>Un coin avec un pied d'atelier, une pompe et quelques outils pour entretenir "
            "son vélo, et pourquoi pas une séance mensuelle pour apprendre à changer une "
            "chambre à air ou régler ses freins. De plus en plus de gens viennent à vélo.</p>"
        ),
        "voters": ("roald",),
        "answer": None,
    },
]

_ALIASES = {
    "manager": ("manager",),
    "catherine": ("catherine", "member", "resident"),
    "basile": ("basile", "nomad"),
    "roald": ("roald",),
}


def _person(people: dict, name: str):
    return next((people[key] for key in _ALIASES[name] if people.get(key)), None)


def load_ideas(places: dict, people: dict) -> int:
    """Create what is missing of POLeN's demo ideas; returns how many ideas were created."""
    polen = places.get("polen") or places.get(POLEN_ID)
    if polen is None or not polen.is_published:
        return 0
    manager = _person(people, "manager")
    created = 0
    for spec in IDEAS:
        # An author missing from the demo: the resident writes it instead.
        author = _person(people, spec["author"]) or _person(people, "catherine")
        if author is None:
            continue
        idea = Idea.objects.filter(place=polen, title=spec["title"]).first()
        if idea is None:
            idea = ideas.idea_post(
                author=author, place=polen, title=spec["title"], body=spec["body"]
            )
            created += 1
        for name in spec["voters"]:
            voter = _person(people, name)
            if (
                voter is None
                or idea.status not in ideas.VOTABLE
                or idea.is_hidden
                or not permissions.can_vote_at(voter, polen)
                or IdeaVote.objects.filter(idea=idea, user=voter).exists()
            ):
                continue
            ideas.idea_vote(idea=idea, user=voter)
        if spec["answer"] and manager is not None and idea.status == Idea.Status.NEW:
            status, answer = spec["answer"]
            ideas.idea_answer(
                idea=Idea.objects.get(pk=idea.pk), actor=manager, status=status, answer=answer
            )
    return created
