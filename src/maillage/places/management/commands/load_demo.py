"""Demo data, loaded by `make run` at every start: idempotent and quick once loaded.

The 2019 census of tiers-lieux, the Lozère network Solozère with its eleven places described and
given opening hours, bookable resources and events, and three demo accounts.
"""

import datetime as dt

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from maillage.accounts.models import NetworkRole, PlaceRole, User
from maillage.accounts.services import network_role_grant, place_role_set
from maillage.agenda.demo import load_demo_events
from maillage.bookings import services as booking_services
from maillage.bookings.models import Resource
from maillage.community.demo import load_demo_community
from maillage.impact import services as impact_services
from maillage.members.demo import load_demo_members
from maillage.places import services
from maillage.places.importers import CENSUS_PATH, CENSUS_SOURCE
from maillage.places.models import Network, OpeningHours, Place, PlaceRevision

from .import_places import run_import, write_summary

DEMO_PASSWORD = "maillage-demo"  # noqa: S105 - published on purpose: demo accounts only
COORDINATOR_EMAIL = "coordinator@solozere.test"
MANAGER_EMAIL = "manager@polen.test"
MEMBER_EMAIL = "catherine@solozere.test"
NOMAD_EMAIL = "basile@solozere.test"
ROALD_EMAIL = "roald@solozere.test"
MURIELLE_EMAIL = "murielle@solozere.test"
POLEN_ID = "1101"

NETWORK = {
    "slug": "solozere",
    "name": "Solozère",
    "description": (
        "Solozère fédère les tiers-lieux de Lozère : maisons France Services, télécentres, "
        "espaces de coworking, pépinière d'entreprises et un tiers-lieu itinérant. Partout dans "
        "le département, on y trouve un bureau, une connexion rapide, une salle de visio, un "
        "accompagnement au numérique et des démarches administratives, près de chez soi."
    ),
    "website": "http://solozere.com",
    # Open data: the demo shows its statistics, reports and downloads to everyone.
    "publishes_statistics": True,
}


def _t(hour: int, minute: int = 0) -> dt.time:
    return dt.time(hour, minute)


def _week(days, *spans) -> list[tuple[int, dt.time, dt.time]]:
    return [(day, opens, closes) for day in days for opens, closes in spans]


WEEKDAYS = range(5)
MORNING, AFTERNOON = (_t(9), _t(12)), (_t(14), _t(17, 30))
MSAP_HOURS = _week(WEEKDAYS, MORNING, AFTERNOON)
MSAP = {
    "functions": ["public_services", "social_bond", "business_services"],
    "services": [
        "public_service_desk",
        "digital_mediation",
        "wifi",
        "meeting_room",
        "visio_room",
        "open_desk",
    ],
    "languages": ["fr"],
    "accessibility": ["wheelchair", "accessible_toilets"],
}


def _msap(summary: str, hours=MSAP_HOURS, **overrides) -> dict:
    return {**MSAP, "summary": summary, "hours": hours, **overrides}


# Census ID -> what the demo adds to the census row (never a census-owned field, so that
# re-importing the census does not undo it).
PLACES = {
    "1089": _msap(
        "Maison France Services au bord de l'Allier : aide aux démarches administratives, "
        "postes en libre accès, visio avec les organismes et salle de réunion."
    ),
    "1090": _msap(
        "Au cœur du village, la maison France Services de Meyrueis accompagne les habitants des "
        "Causses et de l'Aigoual dans leurs démarches et leurs usages numériques.",
        hours=_week(WEEKDAYS, MORNING) + _week((0, 1, 3, 4), AFTERNOON),
        languages=["fr", "oc"],
    ),
    "1091": _msap(
        "Maison France Services de Villefort : démarches en ligne accompagnées, salle de "
        "visioconférence et bureau partagé pour les travailleurs de passage.",
        closure=("Fermeture estivale", dt.date(2027, 8, 1), dt.date(2027, 8, 15)),
    ),
    "1092": _msap(
        "Au pied du causse Méjean, un accueil France Services, un point numérique et des salles "
        "à réserver pour réunions, permanences et formations.",
        languages=["fr", "en", "oc"],
        services=[*MSAP["services"], "training_room"],
    ),
    "1093": _msap(
        "Sur la place de la mairie, la maison France Services de Fournels rapproche les services "
        "publics des habitants de l'Aubrac lozérien."
    ),
    "1094": _msap(
        "Maison France Services du Massegros : accompagnement aux démarches, accès internet et "
        "salle de réunion pour les associations du causse de Sauveterre.",
        hours=_week((1, 2, 3), MORNING, AFTERNOON),
    ),
    "1095": _msap(
        "Dans le village du mont Lozère, un guichet France Services et un poste de visio pour "
        "échanger avec les administrations sans faire la route.",
        languages=["fr", "oc"],
    ),
    "1096": _msap(
        "Maison France Services de Marvejols : démarches, emploi, médiation numérique et "
        "espace de travail partagé au centre-ville.",
        hours=_week(WEEKDAYS, (_t(8, 30), _t(12, 30)), (_t(13, 30), _t(17, 30))),
        services=[*MSAP["services"], "printer_3d"],
    ),
    POLEN_ID: {
        "summary": (
            "Pépinière d'entreprises et coworking de Mende : bureaux privatifs, postes en open "
            "space, salles de réunion, de formation et de visio, fibre optique."
        ),
        "functions": ["business_services", "infrastructure", "social_bond"],
        "services": [
            "meeting_room",
            "visio_room",
            "training_room",
            "open_desk",
            "fibre",
            "private_office",
            "wifi",
            "domiciliation",
        ],
        "languages": ["fr", "en"],
        "accessibility": ["wheelchair", "accessible_toilets", "reserved_parking"],
        "hours": _week(WEEKDAYS, (_t(8, 30), _t(18, 30))),
    },
    "1113": {
        "summary": (
            "Télécentre au cœur de Saint-Chély : postes en open space, bureaux à la journée, salle "
            "de visioconférence et fibre, pour télétravailleurs et indépendants."
        ),
        "functions": ["business_services", "social_bond", "infrastructure"],
        "services": ["open_desk", "private_office", "visio_room", "fibre", "meeting_room", "wifi"],
        "languages": ["fr", "oc"],
        "accessibility": ["wheelchair"],
        "hours": _week(WEEKDAYS, (_t(8, 30), _t(12, 30)), (_t(13, 30), _t(18))),
        "season": (
            "Hiver",
            dt.date(2026, 12, 1),
            dt.date(2027, 3, 31),
            _week(WEEKDAYS, (_t(9), _t(12)), (_t(14), _t(17))),
        ),
    },
    "1117": {
        "summary": (
            "Un camion aménagé en tiers-lieu itinérant qui sillonne la Lozère : médiation "
            "numérique, atelier de fabrication et imprimantes 3D au plus près des villages."
        ),
        "functions": ["makers", "social_bond", "public_services"],
        "services": ["digital_mediation", "fablab", "printer_3d", "wifi"],
        "languages": ["fr", "en"],
        "accessibility": [],
        "hours": _week((1, 3), (_t(10), _t(17))) + _week((5,), (_t(10), _t(13))),
    },
}
PROFILE_FIELDS = ("summary", "functions", "services", "languages", "accessibility")


def _room(name: str, kind: str, capacity: int, **options) -> dict:
    return {"name": name, "kind": kind, "capacity": capacity, **options}


VISIO = ["visio_room", "wifi"]
MSAP_VISIO = _room(
    "Salle de visio",
    Resource.Kind.VISIO_ROOM,
    4,
    services=VISIO,
    description="Écran, caméra et micro pour vos rendez-vous à distance avec les organismes.",
)
MSAP_MEETING = _room("Salle de réunion", Resource.Kind.MEETING_ROOM, 10, services=["wifi"])
# Census ID -> the bookable resources of the place, created once (when it has none).
RESOURCES = {
    "1089": [MSAP_VISIO, MSAP_MEETING],
    "1090": [{**MSAP_VISIO, "character": ["view", "wood_and_stone"]}],
    "1091": [MSAP_VISIO, MSAP_MEETING],
    "1092": [
        MSAP_VISIO,
        _room(
            "Salle du Méjean",
            Resource.Kind.TRAINING_ROOM,
            14,
            services=VISIO,
            character=["historic_building", "view"],
            requires_approval=True,
            description="Grande salle voûtée sous les toits, vue sur le causse.",
        ),
    ],
    "1093": [MSAP_VISIO],
    "1094": [MSAP_MEETING],
    "1095": [{**MSAP_VISIO, "character": ["countryside", "view", "fireplace"]}],
    "1096": [
        MSAP_VISIO,
        _room(
            "Imprimante 3D",
            Resource.Kind.MACHINE,
            1,
            training="printer_3d",
            max_minutes=480,
            price_info="2 € de l'heure, filament compris",
        ),
    ],
    POLEN_ID: [
        _room(
            "Salle Lot",
            Resource.Kind.MEETING_ROOM,
            12,
            services=[*VISIO, "fibre"],
            buffer_minutes=15,
            cancel_deadline_hours=24,
            price_info="25 € la demi-journée",
        ),
        _room(
            "Salle Tarn",
            Resource.Kind.VISIO_ROOM,
            6,
            services=[*VISIO, "fibre"],
            character=["natural_light", "quiet"],
            price_info="15 € de l'heure",
        ),
        _room(
            "Salle de formation Aubrac",
            Resource.Kind.TRAINING_ROOM,
            16,
            services=[*VISIO, "fibre"],
            requires_approval=True,
            cancel_deadline_hours=48,
            price_info="180 € la journée",
        ),
        _room(
            "Bureau 3",
            Resource.Kind.PRIVATE_OFFICE,
            2,
            services=["fibre", "wifi"],
            audience=Resource.Audience.MEMBERS,
        ),
        _room("Poste nomade 1", Resource.Kind.DESK, 1, services=["fibre", "wifi"]),
        _room("Poste nomade 2", Resource.Kind.DESK, 1, services=["fibre", "wifi"]),
    ],
    "1113": [
        _room("Salle de visio", Resource.Kind.VISIO_ROOM, 4, services=VISIO, character=["quiet"]),
        _room("Salle Margeride", Resource.Kind.MEETING_ROOM, 8, services=VISIO),
    ],
    "1117": [
        _room(
            "Imprimante 3D du camion",
            Resource.Kind.MACHINE,
            1,
            training="printer_3d",
            max_minutes=240,
        ),
        _room(
            "Valise de 10 tablettes",
            Resource.Kind.EQUIPMENT,
            10,
            min_minutes=60,
            max_minutes=600,
            description="Tablettes prêtes pour un atelier numérique, avec leur chargeur.",
        ),
    ],
}


class Command(BaseCommand):
    help = "Load the demo data (census, Solozère network, demo accounts); safe to run again."

    def handle(self, *args, **options):
        result = run_import(self, CENSUS_PATH, format="cget")
        self.stdout.write(_("Census of tiers-lieux (2019):"))
        write_summary(self, result)
        with transaction.atomic():
            network, network_created = self._network()
            places = {
                place.source_id: place
                for place in Place.objects.filter(source=CENSUS_SOURCE, source_id__in=PLACES)
            }
            joined = self._join(network, places.values())
            described = self._describe(places)
            equipped = self._resources(places)
            self._accounts(network, places.get(POLEN_ID))
            events = load_demo_events(
                network=network,
                places=places,
                author=User.objects.get(email=COORDINATOR_EMAIL),
                member=User.objects.get(email=MEMBER_EMAIL),
            )
            if POLEN_ID in places:
                load_demo_members(
                    polen=places[POLEN_ID],
                    elsewhere=places.get("1096"),
                    manager=User.objects.get(email=MANAGER_EMAIL),
                    resident=User.objects.get(email=MEMBER_EMAIL),
                    nomad=_demo_user(NOMAD_EMAIL, "Basile Martin"),
                )
            community = load_demo_community(
                places=places,
                people={
                    "manager": User.objects.get(email=MANAGER_EMAIL),
                    "catherine": User.objects.get(email=MEMBER_EMAIL),
                    "basile": _demo_user(NOMAD_EMAIL, "Basile Martin"),
                    "coordinator": User.objects.get(email=COORDINATOR_EMAIL),
                    "roald": _demo_user(ROALD_EMAIL, "Roald Sandvik"),
                    "murielle": _demo_user(MURIELLE_EMAIL, "Murielle Bastide"),
                },
            )
        # The statistics of the last year, so that the pages and reports have something to show.
        today = timezone.localdate()
        rolled = impact_services.run_rollup(
            first=today - dt.timedelta(days=365), last=today, places=network.places.all()
        )
        self.stdout.write(
            _("Statistics rolled up: %(days)s days.") % {"days": rolled.get("days", 0)}
        )
        summary = (
            _(
                "Network %(name)s created: %(count)s places (%(joined)s added, "
                "%(described)s described)."
            )
            if network_created
            else _(
                "Network %(name)s already there: %(count)s places (%(joined)s added, "
                "%(described)s described)."
            )
        )
        self.stdout.write(
            summary
            % {
                "name": network.name,
                "count": network.places.count(),
                "joined": joined,
                "described": described,
            }
        )
        if equipped:
            self.stdout.write(
                _("Bookable resources added to %(count)s places.") % {"count": equipped}
            )
        if events:
            self.stdout.write(_("Events added to the agenda: %(count)s.") % {"count": events})
        if community:
            self.stdout.write(
                _("Posts added to the community exchange: %(count)s.") % {"count": community}
            )
        missing = sorted(set(PLACES) - set(places))
        if missing:
            self.stderr.write(_("Census places not found: %(ids)s.") % {"ids": ", ".join(missing)})
        self.stdout.write(
            _("Demo accounts (password “%(password)s”), log in at %(url)s:")
            % {"password": DEMO_PASSWORD, "url": reverse("account_login")}
        )
        self.stdout.write(
            _("  %(email)s: coordinator of the network %(network)s")
            % {"email": COORDINATOR_EMAIL, "network": network.name}
        )
        self.stdout.write(
            _("  %(email)s: manager of %(place)s") % {"email": MANAGER_EMAIL, "place": "POLeN"}
        )
        self.stdout.write(
            _("  %(email)s: resident of %(place)s, books rooms with her credits")
            % {"email": MEMBER_EMAIL, "place": "POLeN"}
        )
        self.stdout.write(
            _("  %(email)s: nomad with a ticket book valid in the whole network")
            % {"email": NOMAD_EMAIL}
        )
        self.stdout.write(
            _("  %(email)s: offers help with funding applications in the skills exchange")
            % {"email": ROALD_EMAIL}
        )
        self.stdout.write(
            _("  %(email)s: mentor of young people and newcomers") % {"email": MURIELLE_EMAIL}
        )

    def _network(self) -> tuple[Network, bool]:
        defaults = {k: v for k, v in NETWORK.items() if k != "slug"}
        network, created = Network.objects.get_or_create(slug=NETWORK["slug"], defaults=defaults)
        changed = {k: v for k, v in defaults.items() if getattr(network, k) != v}
        if changed:
            for name, value in changed.items():
                setattr(network, name, value)
            network.full_clean()
            network.save()
        return network, created

    def _join(self, network: Network, places) -> int:
        members = set(network.places.values_list("pk", flat=True))
        joined = 0
        for place in places:
            if place.pk not in members:
                services.place_update(
                    place=place,
                    data={},
                    source=PlaceRevision.Source.IMPORT,
                    networks=[*place.networks.all(), network],
                )
                joined += 1
        return joined

    def _describe(self, places: dict[str, Place]) -> int:
        """Describe the places that have no opening hours yet (so, once), and only those."""
        with_hours = set(
            OpeningHours.objects.filter(place__in=places.values()).values_list("place", flat=True)
        )
        described = 0
        for census_id, place in places.items():
            if place.pk in with_hours:
                continue
            profile = PLACES[census_id]
            services.place_update(
                place=place,
                data={name: profile[name] for name in PROFILE_FIELDS},
                source=PlaceRevision.Source.IMPORT,
            )
            services.place_week_hours_set(place=place, intervals=profile["hours"])
            if "season" in profile:
                name, start, end, hours = profile["season"]
                if not place.seasons.filter(name=name).exists():
                    season = services.season_save(
                        place=place,
                        season=None,
                        name=name,
                        start_date=start,
                        end_date=end,
                        yearly=True,
                        closed=False,
                    )
                    services.place_week_hours_set(place=place, intervals=hours, season=season)
            if "closure" in profile:
                name, start, end = profile["closure"]
                if not place.seasons.filter(name=name).exists():
                    services.season_save(
                        place=place,
                        season=None,
                        name=name,
                        start_date=start,
                        end_date=end,
                        yearly=False,
                        closed=True,
                    )
            described += 1
        return described

    def _resources(self, places: dict[str, Place]) -> int:
        """Give each demo place its resources, once: a place that has any is left as it is."""
        equipped = set(
            Resource.objects.filter(place__in=places.values()).values_list("place", flat=True)
        )
        added = 0
        for census_id, place in places.items():
            if place.pk in equipped or census_id not in RESOURCES:
                continue
            for spec in RESOURCES[census_id]:
                booking_services.resource_create(place=place, author=None, **spec)
            added += 1
        return added

    def _accounts(self, network: Network, polen: Place | None) -> None:
        coordinator = _demo_user(COORDINATOR_EMAIL, "Camille Coordinatrice")
        network_role_grant(user=coordinator, network=network, role=NetworkRole.Role.COORDINATOR)
        manager = _demo_user(MANAGER_EMAIL, "Lucas Gestionnaire")
        member = _demo_user(MEMBER_EMAIL, "Catherine Vidal")
        if polen is not None:
            place_role_set(user=manager, place=polen, role=PlaceRole.Role.MANAGER)
            if not PlaceRole.objects.filter(user=member, place=polen).exists():
                place_role_set(user=member, place=polen, role=PlaceRole.Role.RESIDENT)


def _demo_user(email: str, full_name: str) -> User:
    """The demo account, created with the demo password; an existing one keeps its password."""
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=DEMO_PASSWORD, full_name=full_name)
    address = EmailAddress.objects.filter(user=user, email__iexact=email).first()
    if address is None or not (address.verified and address.primary):
        EmailAddress.objects.filter(user=user, primary=True).exclude(email__iexact=email).update(
            primary=False
        )
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
    return user
