"""Directory exports: our CSV layout (also read back by the importer) and GeoJSON."""

import csv
import io
from collections.abc import Iterable, Iterator

from django.urls import reverse

from .models import Place

CSV_COLUMNS = (
    "slug",
    "name",
    "summary",
    "address",
    "postcode",
    "town",
    "insee_code",
    "department",
    "latitude",
    "longitude",
    "email",
    "phone",
    "website",
    "time_zone",
    "functions",
    "services",
    "languages",
    "accessibility",
    "networks",
)
LIST_SEPARATOR = "|"
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> str:
    """Make a cell inert for spreadsheets: a leading formula character gets a quote before it."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_STARTS) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def place_row(place: Place) -> list[str]:
    values = {
        "functions": LIST_SEPARATOR.join(place.functions),
        "services": LIST_SEPARATOR.join(place.services),
        "languages": LIST_SEPARATOR.join(place.languages),
        "accessibility": LIST_SEPARATOR.join(place.accessibility),
        "networks": LIST_SEPARATOR.join(sorted(n.slug for n in place.networks.all())),
    }
    return [neutralise(values[c] if c in values else getattr(place, c)) for c in CSV_COLUMNS]


def places_csv(places: Iterable[Place]) -> Iterator[str]:
    """CSV lines (UTF-8 text, header first), generated row by row for streaming responses."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    for place in places:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(place_row(place))
        yield buffer.getvalue()


def place_feature(place: Place) -> dict:
    properties = {
        "slug": place.slug,
        "name": place.name,
        "town": place.town,
        "url": reverse("places:detail", kwargs={"slug": place.slug}),
        "functions": place.functions,
        "services": place.services,
    }
    distance = getattr(place, "distance_km", None)
    if distance is not None:
        properties["distance_km"] = round(distance, 2)
    return {
        "type": "Feature",
        "geometry": {
            "type": "Point",
            "coordinates": [round(place.longitude, 6), round(place.latitude, 6)],
        },
        "properties": properties,
    }


def places_geojson(places: Iterable[Place]) -> dict:
    return {"type": "FeatureCollection", "features": [place_feature(p) for p in places]}
