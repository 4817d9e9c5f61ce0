"""Properties of the pieces erasure and export rely on, over generated values."""

import csv
import io
import json

from hypothesis import given
from hypothesis import strategies as st

from maillage.privacy.registry import json_safe, scrub
from maillage.privacy.services import _csv

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


def strings_of(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from strings_of(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings_of(item)


@given(json_values, st.text(min_size=3, max_size=12).filter(lambda s: s.strip()))
def test_scrub_leaves_no_string_holding_the_needle(value, needle):
    cleaned = scrub(value, {needle})
    assert not any(needle.lower() in text.lower() for text in strings_of(cleaned))
    # Strings without the needle are left as they were.
    if not any(needle.lower() in text.lower() for text in strings_of(value)):
        assert cleaned == value
    json.dumps(json_safe(cleaned))


@given(st.lists(st.text(max_size=20), min_size=1, max_size=5))
def test_csv_cells_never_start_a_formula(texts):
    rows = [{"cell": text} for text in texts]
    read = list(csv.DictReader(io.StringIO(_csv(rows))))
    for row, text in zip(read, texts, strict=True):
        cell = row["cell"]
        if cell.startswith(("=", "+", "-", "@", "\t", "\r")):
            float(cell)  # only a number may start like a formula
        same = cell.replace("\r\n", "\n"), text.replace("\r\n", "\n")
        assert same[0] in (same[1], "'" + same[1])
