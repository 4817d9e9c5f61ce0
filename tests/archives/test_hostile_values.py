"""Any JSON value in any field of any line: the import either loads the archive or refuses it
with an ArchiveError (a message naming the file), never another exception, and a refusal
writes nothing."""

import itertools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maillage.archives.export import export_place
from maillage.archives.load import ArchiveError, import_archive
from maillage.archives.tables import PLACE_FIELDS, TABLES
from maillage.places.models import Place

from .test_bad_archives import rewrite
from .world import rich_place

pytestmark = pytest.mark.django_db

FIELDS = (
    [(table.file_name, key) for table in TABLES for key in table.columns() if key != "id"]
    + [("people.jsonl", key) for key in ("email", "full_name", "language")]
    + [("place.jsonl", key) for key in (*PLACE_FIELDS, "networks")]
)
VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(["", "2026-13-45", "25:00:00", "2026-01-01T10:00:00", "NaN", "999999"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=5,
)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(field=st.sampled_from(FIELDS), value=VALUES, line=st.integers(min_value=0, max_value=5))
def test_any_value_is_loaded_or_refused_cleanly(tmp_path_factory, field, value, line):
    folder = tmp_path_factory.mktemp("hostile")
    source = folder / "good.zip"
    if not Place.objects.filter(slug="source").exists():
        export_place(rich_place(slug="source").place, source)
    else:
        export_place(Place.objects.get(slug="source"), source)
    file_name, key = field

    def change(data: bytes) -> bytes:
        rows = [json.loads(text) for text in data.decode().splitlines()]
        if rows:
            rows[line % len(rows)][key] = value
        return "".join(json.dumps(row) + "\n" for row in rows).encode()

    path = rewrite(source, folder / "hostile.zip", replace={file_name: change})
    places = Place.objects.count()
    slug = f"copy-{next(COUNTER)}"
    try:
        import_archive(path, slug=slug)
    except ArchiveError as error:
        assert str(error).startswith(file_name) or "media/" in str(error)
        assert Place.objects.count() == places
    else:
        assert Place.objects.filter(slug=slug).exists()


COUNTER = itertools.count()
