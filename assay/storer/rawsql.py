"""Raw SQL for the requests a deadline rush repeats (a student's poll, a page's live part, a
token, a tester's claim): building a query through the ORM costs 0.5–3 ms here, running the same
SELECT through a cursor 0.05 ms (docs/performance.md §12).

Only reads and simple conditional updates go this way, each written once next to the ORM code it
replaces and tested against it (tests/storer/test_poll_cost.py). Rows become model instances
through ``load``, with the conversions the ORM would apply: SQLite returns naive UTC datetimes,
PostgreSQL aware ones; JSON columns come back as text from both.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model

M = TypeVar("M", bound=Model)


def _db() -> BaseDatabaseWrapper:
    """This thread's connection itself (``connection`` is a proxy that looks it up on every
    attribute: a few µs each, many times per request)."""
    return connections[DEFAULT_DB_ALIAS]


def rows(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with _db().cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def one(sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
    with _db().cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()  # type: ignore[no-any-return]


def execute(sql: str, params: Sequence[Any] = ()) -> int:
    """An UPDATE or DELETE; the number of rows it changed."""
    with _db().cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def _field(model: type[Model], name: str) -> Field[Any, Any]:
    return model._meta.get_field(name)  # type: ignore[return-value]


@cache
def _column(field: Field[Any, Any]) -> str:
    return quote(str(field.column))


def update(
    model: type[Model], pk: Any, values: dict[str, Any], where: dict[str, Any] | None = None
) -> int:
    """``UPDATE`` the row ``pk`` with ``values`` (by field name, stored as the ORM stores them)
    if its fields equal ``where``; the number of rows changed (0 or 1)."""
    db = _db()
    fields = [_field(model, name) for name in values]
    tests = [_field(model, name) for name in where or {}]
    params = [f.get_db_prep_save(v, db) for f, v in zip(fields, values.values(), strict=True)]
    params.append(pk)
    params += [
        f.get_db_prep_save(v, db) for f, v in zip(tests, (where or {}).values(), strict=True)
    ]
    return execute(_update_sql(model, tuple(fields), tuple(tests)), params)


@cache
def _update_sql(
    model: type[Model], fields: tuple[Field[Any, Any], ...], tests: tuple[Field[Any, Any], ...]
) -> str:
    sets = ", ".join(f"{_column(f)} = %s" for f in fields)
    conditions = " AND ".join(
        [f"{_column(model._meta.pk)} = %s", *(f"{_column(f)} = %s" for f in tests)]  # type: ignore[arg-type]
    )
    return f"UPDATE {table(model)} SET {sets} WHERE {conditions}"


@cache
def _inserted(model: type[Model]) -> list[Field[Any, Any]]:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


@cache
def _insert_sql(model: type[Model], rows: int) -> str:
    fields = _inserted(model)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    names = ", ".join(_column(f) for f in fields)
    return f"INSERT INTO {table(model)} ({names}) VALUES {', '.join([row] * rows)}"


def _insert_params(objects: Sequence[Model]) -> list[Any]:
    fields, db = _inserted(type(objects[0])), _db()
    return [f.get_db_prep_save(f.pre_save(o, True), db) for o in objects for f in fields]


def insert(objects: Sequence[Model]) -> None:
    """``INSERT`` new rows of one model (their ids are not read back), in as few statements as
    the database takes."""
    if not objects:
        return
    model = type(objects[0])
    batch = max(1, _db().ops.bulk_batch_size(_inserted(model), objects))
    for start in range(0, len(objects), batch):
        chunk = objects[start : start + batch]
        execute(_insert_sql(model, len(chunk)), _insert_params(chunk))


def insert_select(
    model: type[Model],
    template: Model,
    computed: dict[str, str],
    source: str,
    params: Sequence[Any],
) -> int:
    """``INSERT INTO model (…) SELECT … <source>``: one new row per row ``source`` (a FROM and
    WHERE clause) selects, in one statement whatever their number (a multi-row ``VALUES`` is cut
    into statements of at most 999 parameters on SQLite). The fields named in ``computed`` come
    from its SQL expressions (``{"submission": "s.id"}``), every other field is ``template``'s
    value (its default, as ``save`` would store it); the number of rows inserted."""
    db = _db()
    cast = db.vendor == "postgresql"  # a bare parameter in a SELECT list would be text there
    select, values = [], []
    for f in _inserted(model):
        if f.name in computed or f.attname in computed:
            select.append(computed.get(f.name) or computed[f.attname])
            continue
        select.append(f"CAST(%s AS {f.db_type(db)})" if cast else "%s")
        values.append(f.get_db_prep_save(f.pre_save(template, True), db))
    names = ", ".join(_column(f) for f in _inserted(model))
    sql = f"INSERT INTO {table(model)} ({names}) SELECT {', '.join(select)} {source}"
    return execute(sql, [*values, *params])


def create(obj: M) -> M:
    """``INSERT`` one new row and give ``obj`` its id: ``obj.save()`` without the ORM's query
    building, and without its signals (the caller sends what its receivers would do)."""
    model = type(obj)
    pk = model._meta.pk
    assert pk is not None
    sql = _insert_sql(model, 1)
    db = _db()
    with db.cursor() as cursor:
        if db.features.can_return_columns_from_insert:
            cursor.execute(f"{sql} RETURNING {_column(pk)}", _insert_params([obj]))
            obj.pk = cursor.fetchone()[0]
        else:
            cursor.execute(sql, _insert_params([obj]))
            obj.pk = db.ops.last_insert_id(cursor, model._meta.db_table, str(pk.column))
    obj._state.adding, obj._state.db = False, DEFAULT_DB_ALIAS
    return obj


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


@cache
def table(model: type[Model]) -> str:
    return quote(model._meta.db_table)


def column(model: type[Model], name: str, alias: str = "") -> str:
    """A field's column (``name`` as in the model: ``course``, or ``course_id``)."""
    return (f"{alias}." if alias else "") + _column(_field(model, name))


@cache
def _fields(model: type[Model], names: tuple[str, ...] | None) -> tuple[tuple[str, str], ...]:
    """(attname, internal type) of the model's concrete fields in their order, or of those
    named (``names`` as attnames or field names)."""
    wanted = None if names is None else {_field(model, n).attname for n in names}
    return tuple(
        (f.attname, f.get_internal_type())
        for f in model._meta.concrete_fields
        if wanted is None or f.attname in wanted
    )


def columns(model: type[Model], alias: str, names: Sequence[str] | None = None) -> str:
    """The select list for ``load(model, values, names)``: the fields in the model's order."""
    field_of = {f.attname: f for f in model._meta.concrete_fields}
    return ", ".join(
        f"{alias}.{_column(field_of[attname])}"
        for attname, _ in _fields(model, tuple(names) if names is not None else None)
    )


def width(model: type[Model], names: Sequence[str] | None = None) -> int:
    """How many values ``columns`` selects."""
    return len(_fields(model, tuple(names) if names is not None else None))


def aware(value: Any) -> dt.datetime | None:
    """A datetime column's value as the ORM gives it (aware, UTC) from either database."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value  # type: ignore[no-any-return]


def when(value: dt.datetime) -> Any:
    """A datetime as a parameter, stored as the ORM stores it (SQLite: naive UTC text, which
    the ORM's comparisons compare as text)."""
    return _db().ops.adapt_datetimefield_value(value)


def from_json(value: Any) -> Any:
    if isinstance(value, str | bytes):
        return json.loads(value)
    return value


_CONVERT = {
    "DateTimeField": aware,
    "JSONField": from_json,
    "BooleanField": lambda v: None if v is None else bool(v),
}


def load(model: type[M], values: Sequence[Any], names: Sequence[str] | None = None) -> M:
    """A model instance from the values ``columns(model, …, names)`` selected; fields not named
    are deferred (read on first use, as with ``.only()``)."""
    fields = _fields(model, tuple(names) if names is not None else None)
    converted = []
    for (_, kind), value in zip(fields, values, strict=True):
        convert = _CONVERT.get(kind)
        converted.append(convert(value) if convert is not None and value is not None else value)
    return model.from_db(DEFAULT_DB_ALIAS, [attname for attname, _ in fields], converted)


class Joined:
    """The models of one row of a joined SELECT (``columns`` of each, in the same order), one
    after another."""

    def __init__(self, row: Sequence[Any]) -> None:
        self.values = iter(row)

    def load(self, model: type[M], names: Sequence[str] | None = None) -> M | None:
        """The next model's instance; None when its id is NULL (an outer join found none)."""
        values = [next(self.values) for _ in range(width(model, names))]
        return load(model, values, names) if values[0] is not None else None


def json_member(column_sql: str, key: str) -> str:
    """SQL for one key of a JSON column, as JSON text (SQLite) or jsonb (PostgreSQL)."""
    if connection.vendor == "postgresql":
        return f"({column_sql} -> '{key}')"
    return f"json_extract({column_sql}, '$.{key}')"
