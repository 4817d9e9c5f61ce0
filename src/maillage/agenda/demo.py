"""The demo agenda of the Solozère network (`maillage load_demo`): events of the coming weeks in
a few places and one of the network itself, with registrations that show the waiting list."""

import datetime as dt
import zoneinfo

from django.conf import settings
from django.utils import timezone

from maillage.accounts.models import User
from maillage.places.models import Network, Place

from . import services
from .models import Event

# Census ID of the place -> its events: (title, description, category, audience, weekday,
# (hour, minute), hours long, capacity, repeat rule or "").
EVENTS = {
    "1101": [
        (
            "Repair café",
            "<p>Apportez un grille-pain, une lampe, un vélo qui grince : on répare ensemble, "
            "et on apprend en réparant.</p>",
            "repair_cafe",
            "everyone",
            5,
            (14, 0),
            3,
            20,
            "FREQ=WEEKLY;INTERVAL=2;COUNT=4",
        ),
        (
            "Atelier code pour les 12–17 ans",
            "<p>Programmer un petit jeu en deux heures, sans rien savoir avant. "
            "Ordinateurs fournis.</p>",
            "workshop",
            "youth",
            2,
            (14, 0),
            2,
            2,
            "",
        ),
        (
            "Découverte de l'impression 3D",
            "<p>Du fichier à l'objet : préparer un modèle, lancer une impression, "
            "et repartir avec.</p>",
            "training",
            "professionals",
            3,
            (18, 0),
            2,
            6,
            "",
        ),
    ],
    "1089": [
        (
            "Permanence numérique : vos démarches en ligne",
            "<p>Impôts, retraite, carte grise, rendez-vous médicaux : une conseillère vous "
            "accompagne pas à pas, sur nos postes ou votre téléphone.</p>",
            "training",
            "seniors",
            1,
            (9, 30),
            2.5,
            4,
            "FREQ=WEEKLY;COUNT=6",
        ),
    ],
    "1092": [
        (
            "Conférence : travailler à distance depuis la Lozère",
            "<p>Témoignages de télétravailleurs et d'employeurs, puis questions-réponses.</p>",
            "conference",
            "professionals",
            4,
            (18, 30),
            2,
            40,
            "",
        ),
    ],
}
NETWORK_EVENT = (
    "Rencontre du réseau Solozère",
    "<p>Les tiers-lieux du réseau se retrouvent pour partager leurs projets de l'année.</p>",
    "meetup",
    "everyone",
    4,
    (10, 0),
    6,
    60,
    "",
)
# People already registered for the youth workshop (2 places): the third waits.
WORKSHOP_REGISTRANTS = [
    ("Justine Martin", "justine@example.org"),
    ("Yanis Roux", "yanis@example.org"),
]


def load_demo_events(
    *, network: Network, places: dict[str, Place], author: User, member: User
) -> int:
    """Create the demo events when the demo places have none to come (so, again once the last
    ones are past); returns how many were created."""
    now = timezone.now()
    demo_places = [places[census_id] for census_id in EVENTS if census_id in places]
    if Event.objects.filter(place__in=demo_places, start__gt=now).exists():
        return 0
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    next_monday = now.astimezone(zone).date() + dt.timedelta(
        days=7 - now.astimezone(zone).weekday()
    )
    created = []
    for census_id, specs in EVENTS.items():
        place = places.get(census_id)
        if place is None:
            continue
        for spec in specs:
            created += _create(spec, next_monday, zone, author, place=place)
    created += _create(
        NETWORK_EVENT,
        next_monday + dt.timedelta(weeks=2),
        zone,
        author,
        network=network,
        location=Event.Location.ADDRESS,
        address="Espace Événements Georges Frêche, 48000 Mende",
    )
    workshop = next((e for e in created if e.audience == "youth"), None)
    if workshop is not None:
        services.register(event=workshop, user=member)
        for name, email in WORKSHOP_REGISTRANTS:
            services.register(event=workshop, name=name, email=email, language="fr")
    return len(created)


def _create(spec, monday: dt.date, zone, author: User, **owner) -> list[Event]:
    title, description, category, audience, weekday, (hour, minute), hours, capacity, rrule = spec
    start = dt.datetime.combine(monday + dt.timedelta(days=weekday), dt.time(hour, minute), zone)
    return services.event_create(
        author=author,
        rrule=rrule,
        title=title,
        description=description,
        category=category,
        audience=audience,
        language="fr",
        start=start,
        end=start + dt.timedelta(hours=hours),
        capacity=capacity,
        organiser_name=author.full_name,
        organiser_email=author.email,
        **owner,
    )
