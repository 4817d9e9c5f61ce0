"""schema.org description of a place, embedded in its page for search engines and aggregators."""

import json
from collections.abc import Iterable

from . import vocabulary
from .models import Place

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _hours_spec(hours, season=None) -> list[dict]:
    specs = []
    for rule in hours:
        spec = {
            "@type": "OpeningHoursSpecification",
            "dayOfWeek": f"https://schema.org/{_DAYS[rule.weekday]}",
            "opens": rule.opens.strftime("%H:%M"),
            "closes": rule.closes.strftime("%H:%M"),
        }
        if season is not None:
            spec["validFrom"] = season.start_date.isoformat()
            spec["validThrough"] = season.end_date.isoformat()
        specs.append(spec)
    return specs


def place_jsonld(place: Place, request, *, context: bool = True) -> dict:
    """A schema.org Place with its address, position, contact, amenities and opening hours.

    Without `context` it is a node of a larger document, which names the context once."""
    hours = list(place.hours.all())
    regular = [h for h in hours if h.season_id is None]
    specs = _hours_spec(regular)
    for season in place.seasons.all():
        if season.yearly:
            continue  # schema.org cannot express a yearly recurrence; the page shows it in words
        seasonal = [h for h in hours if h.season_id == season.pk]
        if season.closed:
            specs.append(
                {
                    "@type": "OpeningHoursSpecification",
                    "opens": "00:00",
                    "closes": "00:00",
                    "validFrom": season.start_date.isoformat(),
                    "validThrough": season.end_date.isoformat(),
                }
            )
        else:
            specs.extend(_hours_spec(seasonal, season))
    data = {
        "@type": "Place",
        "@id": request.build_absolute_uri(place.get_absolute_url()),
        "name": place.name,
        "url": request.build_absolute_uri(place.get_absolute_url()),
        "address": {
            "@type": "PostalAddress",
            "streetAddress": place.address,
            "postalCode": place.postcode,
            "addressLocality": place.town,
            "addressCountry": place.country,
        },
        "geo": {
            "@type": "GeoCoordinates",
            "latitude": place.latitude,
            "longitude": place.longitude,
        },
        "amenityFeature": [
            {
                "@type": "LocationFeatureSpecification",
                "name": str(vocabulary.term(code).label),
                "value": True,
            }
            for code in place.services
        ],
    }
    if context:
        data = {"@context": "https://schema.org", **data}
    if place.summary:
        data["description"] = place.summary
    if place.website:
        data["sameAs"] = place.website
    if place.phone:
        data["telephone"] = place.phone
    if place.email:
        data["email"] = place.email
    if specs:
        data["openingHoursSpecification"] = specs
    photos = [request.build_absolute_uri(p.image.url) for p in place.photos.all() if p.image]
    if photos:
        data["image"] = photos
    return data


def directory_jsonld(places: Iterable[Place], request) -> dict:
    """The directory (or a search of it) as one JSON-LD document: a graph of schema.org Places."""
    return {
        "@context": "https://schema.org",
        "@graph": [place_jsonld(place, request, context=False) for place in places],
    }


_SCRIPT_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"}


def place_jsonld_script(place: Place, request) -> str:
    """JSON-LD safe to put inside a <script> element: no "</script>" can close it early."""
    return json.dumps(place_jsonld(place, request), ensure_ascii=False).translate(_SCRIPT_ESCAPES)
