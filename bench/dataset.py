"""The "world" benchmark dataset: the 2019 census of tiers-lieux scaled up with synthetic places.

Each synthetic place is a random census place moved by a Gaussian jitter of 5 to 15 km (so the
density follows the real geography of France and its overseas territories), with a generated
name, the census town copied, and a few random vocabulary terms. Everything is drawn from a
seeded `random.Random`, so the same `(n, seed)` always gives the same rows.

Needs a configured Django (see bench/directory.py); only bulk inserts, so 50,000 places and their
terms take seconds.
"""

import csv
import math
import random
from dataclasses import dataclass
from pathlib import Path

CENSUS_CSV = (
    Path(__file__).resolve().parent.parent
    / "src"
    / "maillage"
    / "places"
    / "data"
    / "cget_tierslieux_2019.csv"
)
BENCH_SOURCE = "bench"  # Place.source of every generated place
KM_PER_DEGREE = 111.32
BATCH_SIZE = 2000

_NOUNS = (
    "Fabrique",
    "Ruche",
    "Forge",
    "Atelier",
    "Cantine",
    "Grange",
    "Manufacture",
    "Usine",
    "Comptoir",
    "Station",
    "Maison",
    "Halle",
    "Coopérative",
    "Base",
    "Friche",
    "Boussole",
)
_QUALIFIERS = (
    "du Lien",
    "des Possibles",
    "Numérique",
    "Partagée",
    "des Communs",
    "Solidaire",
    "des Savoirs",
    "Créative",
    "du Faire",
    "Commune",
    "des Idées",
    "Rurale",
    "des Makers",
    "Ouverte",
)
_SUMMARIES = (
    "Espace de coworking et de services partagés.",
    "Fablab associatif ouvert à toutes et tous.",
    "Tiers-lieu rural : bureaux, atelier, café.",
    "Lieu de médiation numérique et d'accueil France Services.",
    "Atelier partagé, repair café et jardin.",
)


@dataclass(frozen=True)
class CensusPlace:
    name: str
    address: str
    postcode: str
    town: str
    insee_code: str
    department: str
    latitude: float
    longitude: float


def load_census(path: Path = CENSUS_CSV) -> list[CensusPlace]:
    """The 1,512 geocoded places of the census (LAT/LONG in WGS84)."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            CensusPlace(
                name=row["NOM_TL"].strip(),
                address=row["ADRESSE"].strip(),
                postcode=row["CP"].strip()[:10],
                town=row["NOMCOM"].strip(),
                insee_code=row["INSEECOM"].strip()[:5],
                department=row["INSEEDEP"].strip()[:3],
                latitude=float(row["LAT"]),
                longitude=float(row["LONG"]),
            )
            for row in csv.DictReader(handle)
            if row["LAT"] and row["LONG"]
        ]


def jitter(rng: random.Random, lat: float, lon: float, sigma_km: float) -> tuple[float, float]:
    """A point drawn around (lat, lon) with an isotropic Gaussian of `sigma_km` per axis."""
    dlat = rng.gauss(0.0, sigma_km) / KM_PER_DEGREE
    cos_lat = max(math.cos(math.radians(lat)), 0.01)
    dlon = rng.gauss(0.0, sigma_km) / (KM_PER_DEGREE * cos_lat)
    new_lat = min(max(lat + dlat, -89.9), 89.9)
    new_lon = (lon + dlon + 180.0) % 360.0 - 180.0
    return new_lat, new_lon


def _terms(rng: random.Random, codes: dict[str, list[str]]) -> list[tuple[str, str]]:
    chosen = [("function", c) for c in rng.sample(codes["function"], rng.randint(1, 2))]
    chosen += [("service", c) for c in rng.sample(codes["service"], rng.randint(2, 6))]
    chosen.append(("language", "fr"))
    if rng.random() < 0.2:
        other = rng.choice([c for c in codes["language"] if c != "fr"])
        chosen.append(("language", other))
    if rng.random() < 0.4:
        chosen += [
            ("accessibility", c) for c in rng.sample(codes["accessibility"], rng.randint(1, 2))
        ]
    return chosen


def generate_places(n: int, seed: int = 2019, *, batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Insert `n` synthetic published places (slugs bench-0 … bench-{n-1}) and their terms.

    Returns the number of places and terms written. Runs in one transaction.
    """
    from django.db import transaction

    from maillage.core.text import fold
    from maillage.places.models import Place, PlaceTerm

    census = load_census()
    rng = random.Random(seed)
    codes = {kind: sorted(values) for kind, values in PlaceTerm.VOCABULARY.items()}
    places_written = terms_written = 0
    with transaction.atomic():
        for start in range(0, n, batch_size):
            places: list[Place] = []
            place_terms: list[list[tuple[str, str]]] = []
            for i in range(start, min(start + batch_size, n)):
                base = rng.choice(census)
                lat, lon = jitter(rng, base.latitude, base.longitude, rng.uniform(5.0, 15.0))
                name = f"{rng.choice(_NOUNS)} {rng.choice(_QUALIFIERS)} {i}"
                summary = rng.choice(_SUMMARIES)
                places.append(
                    Place(
                        slug=f"bench-{i}",
                        name=name,
                        summary=summary,
                        address=base.address,
                        postcode=base.postcode,
                        town=base.town,
                        insee_code=base.insee_code,
                        department=base.department,
                        latitude=round(lat, 6),
                        longitude=round(lon, 6),
                        source=BENCH_SOURCE,
                        source_id=marker(seed, i),
                        is_published=True,
                        # Same folding as services._refresh_search_fields.
                        town_key=fold(base.town),
                        search_text=fold(
                            " ".join([name, base.town, base.postcode, summary, base.address])
                        ),
                    )
                )
                place_terms.append(_terms(rng, codes))
            Place.objects.bulk_create(places, batch_size=batch_size)
            terms = [
                PlaceTerm(place_id=place.pk, kind=kind, code=code)
                for place, chosen in zip(places, place_terms, strict=True)
                for kind, code in chosen
            ]
            PlaceTerm.objects.bulk_create(terms, batch_size=batch_size * 4)
            places_written += len(places)
            terms_written += len(terms)
    return {"places": places_written, "terms": terms_written}


def marker(seed: int, i: int) -> str:
    """Place.source_id of the i-th place generated with `seed` (tells datasets apart)."""
    return f"{seed}-{i}"


def bench_place_count() -> int:
    from maillage.places.models import Place

    return Place.objects.filter(source=BENCH_SOURCE).count()
