"""Reads of one row by key whose SQL is compiled once, not at every call.

The ORM builds and compiles a query anew each time it runs one: for the reads that nearly every
API request makes (the token, the resource to book, the event to register for: each row with
its related row, some forty-five columns) that was about a sixth of the CPU of a request
(bench/README.md, "Bookings at national scale"). A `KeyedGet` compiles its queryset once per
thread and database, with a marker in place of the key, then only runs that SQL with the key and
builds the model instances as the ORM's own iterator does (`select_related` rows included).
Instances, exceptions (`DoesNotExist`, `MultipleObjectsReturned`), the database error handling
and the query log are the ORM's.

PostgreSQL then still parsed and planned each of those statements at every call: as much work
as running them (bench/README.md). `prepared_cursor` runs them as prepared statements, planned
once per connection.

A query whose values are many (the availability search: a window, criteria, a user) is compiled
once with a `Param` for each value and `bind()` gives each run its values.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models import Expression, Field, Model, QuerySet
from django.db.models.query import get_related_populators
from django.db.models.sql.compiler import SQLCompiler

M = TypeVar("M", bound=Model)

# Stand-ins for the key while compiling: values no query of ours uses as a constant.
MARKERS = {int: -4_611_686_018_427_387_877, str: "maillage-keyed-get-marker"}
# The keys a database column can hold: the ORM answers "does not exist" for any other.
BIGINT = range(-(2**63), 2**63)


def _storable(key) -> bool:
    return key in BIGINT if isinstance(key, int) else "\x00" not in key


def prepared_cursor(using: str = DEFAULT_DB_ALIAS) -> CursorWrapper:
    """A cursor for the few statements run at nearly every request (`with` it like any cursor).

    On PostgreSQL, each statement run through it is sent with its parameters apart (server-side
    binding) and prepared by psycopg on the connection at its first run: PostgreSQL then only
    executes it, with a plan made once for every parameter (its generic plan). The parameters
    must therefore have types PostgreSQL can infer from the statement: give an explicit cast
    where it cannot (`%s::timestamptz[]`). Every other cursor of the app binds its parameters
    client-side and is never prepared. Elsewhere, or with MAILLAGE_DB_PREPARED_STATEMENTS=0
    (settings), this is an ordinary cursor. The query log, execute wrappers and error handling
    are Django's, as for `connection.cursor()`.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.ensure_connection()
    if connection.connection.prepare_threshold is None:
        return connection.cursor()
    # Imported here: the PostgreSQL backend needs psycopg, which a SQLite-only run may not load.
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        cursor = ServerBindingCursor(connection.connection)
    if connection.queries_logged:
        return _PreparedCursorDebugWrapper(cursor, connection)
    return connection.make_cursor(cursor)


class _PreparedCursorDebugWrapper(CursorDebugWrapper):
    """Logs each statement with its parameters written in, as Django does when every cursor binds
    server-side (psycopg keeps no text of a statement it runs prepared)."""

    def execute(self, sql, params=None):
        with self.debug_sql(self.db.ops.compose_sql(sql, params)):
            return CursorWrapper.execute(self, sql, params)


class Slot(NamedTuple):
    """The parameter a `Param` compiles to: the name of its value and the field preparing it."""

    name: str
    field: Field


class Param(Expression):
    """A value given at each run of a query compiled once: compiles to `%s` with a `Slot`
    as its parameter. Usable wherever the ORM takes an expression (a lookup's right-hand side,
    an argument of a function)."""

    def __init__(self, name: str, output_field: Field):
        super().__init__(output_field=output_field)
        self.name = name

    def as_sql(self, compiler, connection):
        return "%s", [Slot(self.name, self.output_field)]


def bind(params, values: dict, using: str = DEFAULT_DB_ALIAS, *, key=None) -> list:
    """The parameters of one run of a query compiled with `Param`s: each slot's value prepared
    for the database as the ORM prepares a value (`Value`), `key` in place of the int marker
    (a queryset built for a stand-in object whose key is `MARKERS[int]`), the others as they
    were compiled."""
    connection = connections[using]
    bound = []
    for param in params:
        if type(param) is Slot:
            param = param.field.get_db_prep_value(values[param.name], connection)
        elif type(param) is int and param == MARKERS[int]:
            param = key
        bound.append(param)
    return bound


@dataclass(frozen=True)
class _Compiled:
    db: str
    model: type[Model]
    compiler: SQLCompiler
    sql: str
    params: tuple
    key_position: int
    converters: dict
    init_list: list[str]
    model_columns: slice
    related_populators: list


class KeyedGet(Generic[M]):
    """`KeyedGet(lambda key: Model.objects.select_related(...).filter(field=key), int)(value)`
    is `Model.objects.select_related(...).get(field=value)`, without compiling it every time.

    The queryset must be a plain one of model instances (filters, select_related, only/defer)
    on the default database: no annotations, extra, prefetch or values().
    """

    def __init__(self, queryset_for: Callable[[Any], QuerySet[M]], key_type: type):
        self.queryset_for = queryset_for
        self.key_type = key_type
        self.marker = MARKERS[key_type]
        # Per thread: a compiler keeps the thread's database connection, for its converters.
        self.local = threading.local()

    def __call__(self, key) -> M:
        if type(key) is not self.key_type:
            raise TypeError(f"KeyedGet expects a key of type {self.key_type.__name__}")
        compiled = self._compiled()
        model = compiled.model
        if not _storable(key):
            # What the ORM answers too: no row can hold it (and the database would refuse it).
            raise model.DoesNotExist(f"{model._meta.object_name} matching query does not exist.")
        params = list(compiled.params)
        params[compiled.key_position] = key
        with prepared_cursor(compiled.db) as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchmany(2)
        if not rows:
            raise model.DoesNotExist(f"{model._meta.object_name} matching query does not exist.")
        if len(rows) > 1:
            raise model.MultipleObjectsReturned(
                f"get() returned more than one {model._meta.object_name}."
            )
        row = rows[0]
        if compiled.converters:
            (row,) = compiled.compiler.apply_converters(rows, compiled.converters)
        instance = model.from_db(compiled.db, compiled.init_list, row[compiled.model_columns])
        for populator in compiled.related_populators:
            populator.populate(row, instance)
        return instance

    def _compiled(self) -> _Compiled:
        compiled = getattr(self.local, "compiled", None)
        # A new connection object (tests switch databases) needs the query compiled for it.
        if compiled is None or compiled.compiler.connection is not connections[compiled.db]:
            compiled = self.local.compiled = self._compile()
        return compiled

    def _compile(self) -> _Compiled:
        queryset = self.queryset_for(self.marker).order_by()[:2]
        query = queryset.query
        if query.annotations or query.extra or queryset._prefetch_related_lookups:
            raise ImproperlyConfigured("KeyedGet reads plain model instances only.")
        compiler = query.get_compiler(using=queryset.db)
        sql, params = compiler.as_sql()
        positions = [
            index
            for index, value in enumerate(params)
            if type(value) is self.key_type and value == self.marker
        ]
        if len(positions) != 1:
            raise ImproperlyConfigured("The key must appear exactly once in the query.")
        klass_info = compiler.klass_info
        first, last = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        return _Compiled(
            db=queryset.db,
            model=queryset.model,
            compiler=compiler,
            sql=sql,
            params=tuple(params),
            key_position=positions[0],
            converters=compiler.get_converters(
                [column[0] for column in compiler.select[: compiler.col_count]]
            ),
            init_list=[column[0].target.attname for column in compiler.select[first:last]],
            model_columns=slice(first, last),
            related_populators=get_related_populators(klass_info, compiler.select, queryset.db),
        )
