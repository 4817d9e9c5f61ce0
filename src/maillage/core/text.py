"""Text normalisation shared by search, slugs and town geocoding."""

import re
import unicodedata

_SEPARATORS = re.compile(r"[\s\-'’_.,/()]+")
_SAINT = re.compile(r"\b(st|ste)\b")


def fold(text: str) -> str:
    """Lower-case, accent-free, single-spaced: "Saint-Chély d'Apcher" -> "saint chely d apcher".

    Search compares folded strings so that a user typing without accents (phones, foreign
    keyboards) still finds "Mende" from "mende" and "Saint-Chély" from "st chely".
    """
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    spaced = _SEPARATORS.sub(" ", stripped).strip()
    return _SAINT.sub(lambda m: "saint" if m.group(1) == "st" else "sainte", spaced)
