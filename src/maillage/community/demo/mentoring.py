"""Demo data of mentoring (seed 003): Murielle, a young entrepreneur of the digital trades who works
at the MSAP of Villefort, mentors in entrepreneurship and digital jobs; Dan, 22, asks how to start
as a freelance developer in Lozère (open to mentors); Justine, 16, asks how one becomes an
entrepreneur, her parent's agreement ticked: her question waits for POLeN's team to check it.

`places`: the Solozère places by census id, as `load_demo` builds them ({"1101": POLeN,
"1091": MSAP de Villefort, ...}); the keys "polen" and "villefort" are read too.
`people`: the demo accounts; "murielle" is the mentor. Idempotent: the mentor is saved again
with the same values, each request is found by its address and question before being asked.
Returns how many requests were created.
"""

from maillage.accounts.models import PlaceRole
from maillage.accounts.services import place_role_set
from maillage.community import mentoring
from maillage.community.models import MentoringRequest

POLEN_ID = "1101"
VILLEFORT_ID = "1091"

MURIELLE_ABOUT = (
    "J'ai 27 ans et j'ai créé mon agence web à Villefort il y a trois ans, après un BTS à Mende. "
    "Je peux parler des métiers du numérique, du statut d'auto-entrepreneur, des aides à la "
    "création et de comment trouver ses premiers clients quand on vit à la campagne."
)

REQUESTS = [
    {
        "name": "Dan",
        "email": "dan.bts@example.org",
        "age_group": MentoringRequest.AgeGroup.FROM_18_TO_25,
        "guardian_consent": False,
        "topic": MentoringRequest.Topic.BUSINESS,
        "fields": ["digital_jobs", "entrepreneurship"],
        "question": (
            "Je termine un BTS SIO à Mende et j'aimerais travailler en freelance comme "
            "développeur sans quitter la Lozère. Par où commencer : statut, premiers clients, "
            "tarifs ? Est-ce qu'on peut en vivre ici ?"
        ),
    },
    {
        "name": "Justine",
        "email": "justine.lyceenne@example.org",
        "age_group": MentoringRequest.AgeGroup.FROM_15_TO_17,
        "guardian_consent": True,
        "topic": MentoringRequest.Topic.ORIENTATION,
        "fields": ["entrepreneurship", "digital_jobs"],
        "question": (
            "Je suis en seconde au lycée Chaptal. J'aimerais créer mon entreprise plus tard, "
            "peut-être dans le numérique. Quelles études choisir, et est-ce que je pourrais "
            "faire un stage chez quelqu'un qui a créé sa boîte ?"
        ),
    },
]


def _place(places: dict, census_id: str, name: str):
    return places.get(census_id) or places.get(name)


def load_mentoring(places: dict, people: dict) -> int:
    polen = _place(places, POLEN_ID, "polen")
    villefort = _place(places, VILLEFORT_ID, "villefort") or polen
    murielle = people.get("murielle")
    if polen is None or murielle is None:
        return 0
    if not PlaceRole.objects.filter(user=murielle, place=villefort).exists():
        place_role_set(user=murielle, place=villefort, role=PlaceRole.Role.RESIDENT)
    mentoring.mentor_save(
        user=murielle,
        fields=["entrepreneurship", "digital_jobs"],
        about=MURIELLE_ABOUT,
        is_active=True,
    )
    created = 0
    for data in REQUESTS:
        if MentoringRequest.objects.filter(
            place=polen, email=data["email"], question=data["question"]
        ).exists():
            continue
        asked = mentoring.request_ask(place=polen, language="fr", **data)
        # The demo askers "followed the link of their email".
        mentoring.request_confirm(mentoring.request_secret(asked))
        created += 1
    return created
