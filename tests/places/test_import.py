"""Importing places from CSV: the 2019 census, our own export layout, and malformed files."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.utils import translation

from maillage.places import exports, selectors, services
from maillage.places.importers import CENSUS_PATH, ImportFileError, import_places
from maillage.places.models import Place, PlaceRevision
from tests.factories import NetworkFactory, PlaceFactory

HEADER = "slug,name,latitude,longitude,town,services\n"
CENSUS_HEADER = (
    "ID,NOM_TL,ADRESSE,CP,COMINIT,INSEECOM,NOMCOM,WEB,TYPO,LAT,LONG,INSEEDEP,NOMCOMMETRO\n"
)
COWORKING = "Tiers lieux à dominante coworking"
FABLAB = "Tiers lieux à dominante fablab"


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English, the source language."""
    with translation.override("en"):
        yield


def census_rows() -> list[dict[str, str]]:
    with CENSUS_PATH.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def census_file(*rows: str) -> bytes:
    return (CENSUS_HEADER + "".join(f"{row}\n" for row in rows)).encode()


def our_file(*rows: str, header: str = HEADER) -> bytes:
    return (header + "".join(f"{row}\n" for row in rows)).encode()


# --- The real census --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_census_imports_every_place_with_unique_slugs_codes_and_functions():
    rows = census_rows()

    result = import_places(CENSUS_PATH, format="cget")

    assert (result.created, result.updated, result.unchanged, result.rejected) == (1512, 0, 0, [])
    assert Place.objects.count() == len(rows) == 1512
    assert Place.objects.values("slug").distinct().count() == 1512
    assert not Place.objects.values("slug").annotate(n=Count("id")).filter(n__gt=1).exists()
    given_codes = {row["ID"]: row["INSEECOM"] for row in rows if row["INSEECOM"] != "0"}
    imported_codes = dict(
        Place.objects.exclude(insee_code="").values_list("source_id", "insee_code")
    )
    assert imported_codes == given_codes
    assert set(Place.objects.values_list("source", flat=True)) == {"cget"}

    ade = selectors.published_places().get(source_id="1")
    assert (ade.name, ade.town, ade.postcode, ade.insee_code, ade.department) == (
        "ADE Coworking",
        "Nantes",
        "44300",
        "44109",
        "44",
    )
    assert ade.website == "http://www.ade-coworking.net"
    assert ade.functions == ["business_services", "social_bond"]
    assert ade.services == ["open_desk", "wifi"]
    fablab = selectors.published_places().get(source_id="1119")
    assert (fablab.functions, fablab.services) == (["makers", "social_bond"], ["fablab"])
    untyped = selectors.published_places().get(source_id="1464")
    assert (untyped.functions, untyped.services, untyped.insee_code) == ([], [], "")
    fournels = Place.objects.get(source_id="1093")  # COMINIT "FOURNELS", INSEECOM "0"
    assert (fournels.town, fournels.insee_code, fournels.department) == ("Fournels", "", "48")
    assert fournels.website == ""  # truncated "…" in the census
    assert Place.objects.get(source_id="240").website == ""  # "en cours"

    cordees = Place.objects.filter(name="La Cordée").order_by("source_id")
    assert len({p.slug for p in cordees}) == 4
    assert {p.slug for p in cordees} == {
        "la-cordee",
        "la-cordee-lyon",
        "la-cordee-annecy",
        "la-cordee-hauts-de-bienne",
    }
    assert PlaceRevision.objects.filter(source=PlaceRevision.Source.IMPORT).count() == 1512


@pytest.mark.django_db
def test_importing_the_census_twice_changes_nothing_and_adds_no_revisions():
    import_places(CENSUS_PATH, format="cget")
    revisions = PlaceRevision.objects.count()
    places = dict(Place.objects.values_list("source_id", "updated_at"))

    result = import_places(CENSUS_PATH, format="cget")

    assert (result.created, result.updated, result.unchanged, result.rejected) == (0, 0, 1512, [])
    assert Place.objects.count() == 1512
    assert PlaceRevision.objects.count() == revisions
    assert dict(Place.objects.values_list("source_id", "updated_at")) == places


# --- Census format, small files ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_census_row_is_cleaned_town_code_and_website():
    data = census_file(
        f"7,Le Hangar,1 rue Haute,48000,MENDE,0,,www.hangar.test,{FABLAB},44.5,3.5,48,Mende",
        f"8,La Grange,,48200,,48140,,en cours,{COWORKING},44.8,3.27,48,Saint-Chély-d'Apcher",
        "9,L'Atelier,,0,SAINT-CHÉLY D'APCHER,0,,,,44.8,3.27,48,",
        f"10,Le Cube,,09100,,9225,,https://cube.test/…,{COWORKING},43.1,1.6,9,Pamiers",
    )

    result = import_places(data, format="cget")

    assert result.created == 4
    hangar, grange, atelier, cube = (Place.objects.get(source_id=i) for i in ("7", "8", "9", "10"))
    assert (hangar.town, hangar.insee_code, hangar.website) == (
        "Mende",
        "",
        "http://www.hangar.test",
    )
    assert hangar.functions == ["makers", "social_bond"]
    assert (grange.town, grange.insee_code, grange.website) == ("Saint-Chély-d'Apcher", "48140", "")
    assert (atelier.town, atelier.postcode, atelier.functions) == ("Saint-Chély d'Apcher", "", [])
    assert (cube.insee_code, cube.department, cube.website) == ("09225", "09", "")


@pytest.mark.django_db
def test_reimporting_the_census_updates_its_fields_but_keeps_what_managers_added():
    row = f"7,Le Hangar,1 rue Haute,48000,Mende,48095,,,{FABLAB},44.5,3.5,48,"
    import_places(census_file(row), format="cget")
    place = Place.objects.get(source="cget", source_id="7")
    services.place_update(
        place=place,
        data={"summary": "Un atelier partagé.", "services": ["fablab", "printer_3d"]},
    )
    revisions = PlaceRevision.objects.filter(place=place).count()

    result = import_places(census_file(row.replace("1 rue Haute", "3 rue Basse")), format="cget")

    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    place.refresh_from_db()
    assert place.address == "3 rue Basse"
    assert place.summary == "Un atelier partagé."
    assert place.services == ["fablab", "printer_3d"]
    latest = PlaceRevision.objects.filter(place=place).first()
    assert latest.source == PlaceRevision.Source.IMPORT
    assert latest.changes == {"address": ["1 rue Haute", "3 rue Basse"]}
    assert PlaceRevision.objects.filter(place=place).count() == revisions + 1


@pytest.mark.django_db
def test_a_census_file_without_some_columns_leaves_those_fields_alone():
    import_places(
        census_file("7,Le Hangar,1 rue Haute,48000,Mende,48095,,,,44.5,3.5,48,"), format="cget"
    )
    short = b"ID;NOM_TL;LAT;LONG\n7;Le Hangar;44,6;3,5\n"

    result = import_places(short, format="cget")

    assert (result.updated, result.rejected) == (1, [])
    place = Place.objects.get()
    assert (place.latitude, place.address, place.town, place.insee_code) == (
        44.6,
        "1 rue Haute",
        "Mende",
        "48095",
    )


@pytest.mark.django_db
def test_same_named_census_places_get_distinct_slugs():
    data = census_file(
        f"1,La Cordée,,69001,Lyon,69381,Lyon,,{COWORKING},45.76,4.83,69,",
        f"2,La Cordée,,69007,Lyon,69387,Lyon,,{COWORKING},45.75,4.84,69,",
        f"3,La Cordée,,74000,Annecy,74010,Annecy,,{COWORKING},45.9,6.12,74,",
        f"4,La Cordée,,69002,Lyon,69382,Lyon,,{COWORKING},45.76,4.83,69,",
    )

    import_places(data, format="cget")

    assert list(Place.objects.order_by("source_id").values_list("slug", flat=True)) == [
        "la-cordee",
        "la-cordee-lyon",
        "la-cordee-annecy",
        "la-cordee-lyon-2",
    ]


@pytest.mark.django_db
def test_duplicate_census_ids_are_rejected_after_the_first():
    data = census_file(
        f"5,Premier,,48000,Mende,,,,{COWORKING},44.5,3.5,48,",
        f"5,Second,,48000,Mende,,,,{COWORKING},44.5,3.5,48,",
    )

    result = import_places(data, format="cget")

    assert result.created == 1
    assert result.rejected == [(3, "The identifier “5” already appears on line 2.")]
    assert Place.objects.get().name == "Premier"


@pytest.mark.django_db
def test_the_network_option_adds_every_imported_place_once_and_keeps_its_networks():
    other, network = NetworkFactory(slug="other"), NetworkFactory(slug="solozere")
    row = f"7,Le Hangar,,48000,Mende,,,,{FABLAB},44.5,3.5,48,"
    import_places(census_file(row), format="cget")
    place = Place.objects.get()
    services.place_update(place=place, data={}, networks=[other])

    first = import_places(
        census_file(row, "8,La Grange,,48000,Mende,,,,,44.6,3.4,48,"),
        format="cget",
        network=network,
    )
    second = import_places(
        census_file(row, "8,La Grange,,48000,Mende,,,,,44.6,3.4,48,"),
        format="cget",
        network=network,
    )

    assert (first.created, first.updated, first.unchanged) == (1, 1, 0)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 2)
    assert set(place.networks.values_list("slug", flat=True)) == {"other", "solozere"}
    assert network.places.count() == 2
    latest = PlaceRevision.objects.filter(place=place).first()
    assert latest.changes == {"networks": [["other"], ["other", "solozere"]]}


# --- Our own layout ---------------------------------------------------------------------------


def export_text() -> str:
    return "".join(exports.places_csv(selectors.published_places().order_by("slug")))


@pytest.mark.django_db
def test_our_csv_export_imports_back_into_an_empty_directory():
    network = NetworkFactory(slug="solozere")
    services.place_create(
        data={
            "name": "POLeN",
            "summary": "Pépinière, coworking; salles, fibre",
            "address": "12 rue Albert Einstein",
            "postcode": "48000",
            "town": "Mende",
            "insee_code": "48095",
            "department": "48",
            "latitude": 44.5281373,
            "longitude": 3.4667336,
            "email": "contact@polen.test",
            "phone": "+33 4 66 00 00 00",
            "website": "https://polen.test/",
            "functions": ["business_services", "infrastructure"],
            "services": ["fibre", "meeting_room", "open_desk"],
            "languages": ["en", "fr"],
            "accessibility": ["wheelchair"],
        },
        networks=[network],
    )
    services.place_create(
        data={"name": "=Lab", "town": "Florac", "latitude": 44.32, "longitude": -3.59}
    )
    services.place_create(data={"name": "Tiers Truck", "latitude": -21.2, "longitude": 55.5})
    text = export_text()
    before = [exports.place_row(p) for p in selectors.published_places().order_by("slug")]
    Place.objects.all().delete()

    result = import_places(text.encode(), format="csv")

    assert (result.created, result.rejected) == (3, [])
    after = [exports.place_row(p) for p in selectors.published_places().order_by("slug")]
    assert after == before
    assert Place.objects.get(slug="lab").name == "=Lab"
    assert Place.objects.get(slug="polen").phone == "+33 4 66 00 00 00"
    assert export_text() == text

    again = import_places(text.encode(), format="csv")

    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


@pytest.mark.django_db
def test_an_existing_slug_updates_the_place_and_a_new_one_is_kept_when_free():
    place = PlaceFactory(slug="le-hangar", name="Le Hangar", town="Mende")
    data = our_file(
        "le-hangar,Le Hangar,44.6,3.6,Mende,wifi|fablab",
        "la-grange-du-causse,La Grange,44.3,3.2,Meyrueis,",
        ",Le Hangar,44.7,3.7,Mende,",
    )

    result = import_places(data, format="csv")

    assert (result.created, result.updated, result.unchanged, result.rejected) == (2, 1, 0, [])
    place.refresh_from_db()
    assert (place.latitude, place.services) == (44.6, ["fablab", "wifi"])
    assert Place.objects.get(name="La Grange").slug == "la-grange-du-causse"
    assert Place.objects.get(latitude=44.7).slug == "le-hangar-mende"


@pytest.mark.django_db
def test_bad_lines_are_rejected_with_their_line_numbers_and_the_others_imported():
    data = our_file(
        "one,Un,44.5,3.5,Mende,wifi",  # line 2
        "two,Deux,abc,3.5,Mende,",  # line 3
        "three,Trois,44.5,3.5,Mende,wifi|teleport",  # line 4
        "four,,44.5,3.5,Mende,",  # line 5
        "five,Cinq,95,3.5,Mende,",  # line 6
        "six,Six,44.5,3.5,Mende,",  # line 7
        'seven,"Sept,\non two lines",44.5,3.5,Mende,',  # lines 8-9
        "",  # line 10, blank
        "eight,Huit,44.5,,Mende,",  # line 11
        "one,Un encore,44.5,3.5,Mende,",  # line 12
    )

    result = import_places(data, format="csv")

    assert result.rejected == [
        (3, "The latitude “abc” is not a number."),
        (4, "Unknown codes in the column services: teleport."),
        (5, "The name is missing."),
        (6, "The latitude 95 is out of range (-90 to 90)."),
        (11, "The longitude is missing."),
        (12, "The identifier “one” already appears on line 2."),
    ]
    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    assert sorted(Place.objects.values_list("slug", flat=True)) == ["one", "seven", "six"]


@pytest.mark.django_db
def test_a_row_refused_by_model_validation_is_reported_and_only_it_is_skipped():
    data = our_file(
        "ok,Bien,44.5,3.5,Mende,",
        "long,Long,44.5,3.5," + "x" * 200 + ",",
        "tz,Fuseau,44.5,3.5,Mende,Mars/Olympus",
        header="slug,name,latitude,longitude,town,time_zone\n",
    )

    result = import_places(data, format="csv")

    assert result.created == 1
    assert [line for line, _reason in result.rejected] == [3, 4]
    assert result.rejected[0][1].startswith("town: ")
    assert "Mars/Olympus" in result.rejected[1][1]
    assert list(Place.objects.values_list("slug", flat=True)) == ["ok"]
    assert PlaceRevision.objects.count() == 1


@pytest.mark.django_db
def test_invalid_email_website_and_unknown_networks_are_rejected():
    NetworkFactory(slug="solozere")
    header = "slug,name,latitude,longitude,email,website,networks\n"
    data = our_file(
        "a,A,44.5,3.5,a@example.org,www.a.test,solozere",
        "b,B,44.5,3.5,not-an-email,,",
        "c,C,44.5,3.5,,http://exa mple.test,",
        "d,D,44.5,3.5,,,solozere|nowhere",
        header=header,
    )

    result = import_places(data, format="csv")

    assert result.rejected == [
        (3, "“not-an-email” is not a valid email address."),
        (4, "“http://exa mple.test” is not a valid website address."),
        (5, "Unknown networks: nowhere."),
    ]
    place = Place.objects.get()
    assert (place.website, list(place.networks.values_list("slug", flat=True))) == (
        "http://www.a.test",
        ["solozere"],
    )


# --- Malformed files --------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_utf8_file_with_a_byte_order_mark_is_accepted():
    data = b"\xef\xbb\xbf" + our_file("cafe,Café de Mende,44.5,3.5,Mende,wifi")

    result = import_places(data, format="csv")

    assert result.created == 1
    assert Place.objects.get().name == "Café de Mende"


@pytest.mark.django_db
def test_a_latin1_file_is_refused_with_a_clear_error_and_nothing_imported():
    data = our_file("ok,Bien,44.5,3.5,Mende,", "cafe,Café de Mende,44.5,3.5,Mende,wifi")

    with pytest.raises(ImportFileError) as error:
        import_places(data.decode().encode("latin-1"), format="csv")

    assert "not encoded in UTF-8" in error.value.message
    assert "line 3" in error.value.message
    assert not Place.objects.exists()


@pytest.mark.django_db
def test_missing_required_columns_are_listed_and_nothing_is_imported():
    data = our_file("ok,Bien,Mende", header="slug,name,town\n")

    with pytest.raises(ImportFileError) as error:
        import_places(data, format="csv")

    assert "latitude, longitude" in error.value.message
    assert not Place.objects.exists()


@pytest.mark.django_db
def test_a_semicolon_delimited_file_with_decimal_commas_works():
    data = (
        "slug;name;latitude;longitude;town;services\n"
        "cafe;Café, bar et bureau;44,5;3,5;Mende;wifi|open_desk\n"
        'grange;"La Grange; la vraie";44.3;3.2;Meyrueis;\n'
    ).encode()

    result = import_places(data, format="csv")

    assert (result.created, result.rejected) == (2, [])
    cafe = Place.objects.get(slug="cafe")
    assert (cafe.name, cafe.latitude, cafe.services) == (
        "Café, bar et bureau",
        44.5,
        ["open_desk", "wifi"],
    )
    assert Place.objects.get(slug="grange").name == "La Grange; la vraie"


@pytest.mark.django_db
def test_a_short_line_leaves_its_missing_cells_empty():
    result = import_places(our_file("a,A,44.5,3.5"), format="csv")

    assert (result.created, result.rejected) == (1, [])
    assert (Place.objects.get().town, Place.objects.get().services) == ("", [])


@pytest.mark.django_db
def test_progress_is_reported_for_every_row():
    calls = []
    data = our_file("a,A,44.5,3.5,Mende,", "b,,44.5,3.5,Mende,", "c,C,44.5,3.5,Mende,")

    import_places(data, format="csv", progress=lambda done, total: calls.append((done, total)))

    assert calls == [(1, 3), (2, 3), (3, 3)]


# --- The command ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_command_prints_the_summary_and_every_rejected_line(tmp_path):
    path = tmp_path / "places.csv"
    header = "slug,name,latitude,longitude,town,servises\n"
    rows = ("a,A,44.5,3.5,Mende,wifi", "b,,44.5,3.5,Mende,", "c,C,x,3.5,Mende,", "d,D,1,2,E,F,G")
    path.write_bytes(our_file(*rows, header=header))
    NetworkFactory(slug="solozere")
    stdout, stderr = io.StringIO(), io.StringIO()

    call_command("import_places", str(path), "--network=solozere", stdout=stdout, stderr=stderr)

    assert stdout.getvalue().splitlines() == [
        "Created: 1, updated: 0, unchanged: 0, rejected: 3.",
        "Ignored columns (unknown): servises.",
        "line 3: The name is missing.",
        "line 4: The latitude “x” is not a number.",
        "line 5: This line has more values than the header has columns.",
    ]
    assert list(Place.objects.get().networks.values_list("slug", flat=True)) == ["solozere"]


@pytest.mark.django_db
def test_the_command_fails_on_an_unreadable_file_or_an_unknown_network(tmp_path):
    path = tmp_path / "places.csv"
    path.write_bytes("slug,name,latitude,longitude\nc,Café,44.5,3.5\n".encode("latin-1"))
    out = io.StringIO()

    with pytest.raises(CommandError, match="not encoded in UTF-8"):
        call_command("import_places", str(path), stdout=out, stderr=out)
    with pytest.raises(CommandError, match="nowhere"):
        call_command("import_places", str(path), "--network=nowhere", stdout=out, stderr=out)
    with pytest.raises(CommandError, match="cannot be read"):
        call_command("import_places", str(tmp_path / "missing.csv"), stdout=out, stderr=out)
    assert not Place.objects.exists()
