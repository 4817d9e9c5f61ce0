"""KeyedGet answers exactly what the ORM's get() answers, compiling its query once; on
PostgreSQL, prepared_cursor's statements are planned once per connection."""

import datetime as dt
from unittest import mock

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import DataError, connection, transaction
from django.db.models import CharField, Count, DateTimeField, IntegerField
from django.db.models.sql.compiler import SQLCompiler
from django.test.utils import CaptureQueriesContext

from maillage.accounts.models import ApiToken, PlaceRole
from maillage.accounts.services import _hash, api_token_create
from maillage.bookings.models import Resource
from maillage.bookings.services import resource_hours_rules_refresh
from maillage.core.prepared import MARKERS, KeyedGet, Param, bind, prepared_cursor
from maillage.places.services import place_hours_rules_refresh
from tests.factories import OpeningHoursFactory, PlaceFactory, UserFactory

pytestmark = pytest.mark.django_db

resource_with_place = KeyedGet(
    lambda pk: Resource.objects.select_related("place").filter(pk=pk), int
)
active_token = KeyedGet(
    lambda key_hash: ApiToken.objects.select_related("user").filter(
        key_hash=key_hash, user__is_active=True
    ),
    str,
)


def field_values(instance) -> dict:
    return {
        field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields
    }


@pytest.fixture
def resource():
    place = PlaceFactory(name="Tiers-lieu du Causse")
    OpeningHoursFactory(place=place)
    place_hours_rules_refresh(place)
    resource = Resource.objects.create(
        place=place, name="Salle Causse", kind="meeting_room", capacity=12, buffer_minutes=15
    )
    resource_hours_rules_refresh(resource)
    return resource


def test_a_row_and_its_related_row_are_the_orms(resource):
    expected = Resource.objects.select_related("place").get(pk=resource.pk)

    found = resource_with_place(resource.pk)

    assert type(found) is Resource and found.pk == resource.pk
    assert field_values(found) == field_values(expected)
    # Converted as the ORM converts: JSON decoded, aware datetimes.
    assert isinstance(found.place.hours_rules, dict) and found.place.hours_rules["hours"]
    assert found.created_at.tzinfo is not None
    assert field_values(found.place) == field_values(expected.place)
    assert not found._state.adding and found._state.db == "default"
    # The place came with the row: reading it sends no query.
    with CaptureQueriesContext(connection) as queries:
        assert found.place.name == "Tiers-lieu du Causse"
    assert len(queries) == 0


def test_a_token_with_its_user_and_the_filters_of_the_query():
    user = UserFactory()
    _token, raw = api_token_create(user=user)

    assert active_token(_hash(raw)).user == user

    user.is_active = False
    user.save()
    with pytest.raises(ApiToken.DoesNotExist):
        active_token(_hash(raw))


def test_missing_and_impossible_keys_do_not_exist(resource):
    for key in (resource.pk + 1000, 2**70, -(2**70)):
        with pytest.raises(Resource.DoesNotExist):
            resource_with_place(key)
    with pytest.raises(ApiToken.DoesNotExist):
        active_token("abc\x00def")


def test_the_query_is_compiled_once_and_logged_each_time(resource):
    resource_with_place(resource.pk)
    with (
        mock.patch.object(SQLCompiler, "as_sql", autospec=True) as as_sql,
        CaptureQueriesContext(connection) as queries,
    ):
        for _ in range(3):
            assert resource_with_place(resource.pk).pk == resource.pk
    as_sql.assert_not_called()
    assert len(queries) == 3
    assert str(resource.pk) in queries[0]["sql"]


def test_a_key_of_another_type_is_refused(resource):
    with pytest.raises(TypeError):
        resource_with_place(str(resource.pk))
    with pytest.raises(TypeError):
        resource_with_place(True)


def test_only_plain_querysets_with_the_key_once_are_accepted(resource):
    annotated = KeyedGet(
        lambda pk: Resource.objects.annotate(term_count=Count("terms")).filter(pk=pk), int
    )
    without_key = KeyedGet(lambda pk: Resource.objects.filter(capacity=12), int)
    for keyed_get in (annotated, without_key):
        with pytest.raises(ImproperlyConfigured):
            keyed_get(resource.pk)


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's"
)


def prepared_runs(fragment: str) -> list[int]:
    """How many times each statement PostgreSQL holds prepared on this connection, whose text
    contains `fragment`, was executed."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans + custom_plans FROM pg_prepared_statements"
            " WHERE statement LIKE %s",
            [f"%{fragment}%"],
        )
        return [runs for (runs,) in cursor.fetchall()]


@postgresql_only
def test_a_hot_read_is_parsed_once_and_executed_each_time(resource):
    for _ in range(7):
        assert resource_with_place(resource.pk).pk == resource.pk

    assert prepared_runs('FROM "bookings_resource"') == [7]


@postgresql_only
def test_statements_take_their_parameters_and_errors_are_djangos():
    with prepared_cursor() as cursor:
        for number in (1, 2, 3):
            cursor.execute("SELECT %s::int * 10 AS maillage_probe", [number])
            assert cursor.fetchone() == (number * 10,)
        with pytest.raises(DataError), transaction.atomic():
            cursor.execute("SELECT 1 / %s::int AS maillage_probe", [0])


@postgresql_only
def test_turned_off_it_is_an_ordinary_cursor(resource):
    connection.ensure_connection()
    threshold = connection.connection.prepare_threshold
    connection.connection.prepare_threshold = None  # what MAILLAGE_DB_PREPARED_STATEMENTS=0 sets
    try:
        with prepared_cursor() as cursor:
            cursor.execute("SELECT 7 AS maillage_unprepared")
            assert cursor.fetchone() == (7,)
        resource_with_place(resource.pk)
    finally:
        connection.connection.prepare_threshold = threshold

    assert prepared_runs("maillage_unprepared") == []
    assert prepared_runs('FROM "bookings_resource"') == []


def test_elsewhere_it_is_an_ordinary_cursor():
    with prepared_cursor() as cursor:
        cursor.execute("SELECT 7")
        assert cursor.fetchone() == (7,)
        if connection.vendor != "postgresql":
            assert type(cursor.cursor) is type(connection.cursor().cursor)


def test_a_query_compiled_once_with_params_runs_with_each_runs_values(resource):
    other = Resource.objects.create(
        place=resource.place, name="Atelier", kind="machine", capacity=3
    )
    owner = UserFactory()
    stand_in = UserFactory.build(pk=MARKERS[int])
    queryset = (
        Resource.objects.filter(
            capacity__gte=Param("people", IntegerField()),
            kind=Param("kind", CharField()),
            created_at__lte=Param("before", DateTimeField()),
        )
        .exclude(place__roles__user=stand_in)
        .values_list("name", flat=True)
    )
    sql, params = queryset.query.get_compiler(using="default").as_sql()
    later = resource.created_at + dt.timedelta(days=1)

    def run(**values) -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute(sql, bind(params, values, key=owner.pk))
            return [name for (name,) in cursor.fetchall()]

    assert run(people=10, kind="meeting_room", before=later) == ["Salle Causse"]
    assert run(people=2, kind="machine", before=later) == ["Atelier"]
    assert run(people=2, kind="machine", before=other.created_at - dt.timedelta(days=1)) == []
    PlaceRole.objects.create(user=owner, place=resource.place, role="resident")
    assert run(people=2, kind="machine", before=later) == []
