"""Database helpers that the ORM has no lean spelling for."""

from collections.abc import Iterable
from contextlib import nullcontext
from typing import Any, cast

from django.db import connection, models, transaction


def set_fields(obj: models.Model, **fields: Any) -> list[str]:
    """Set the given fields that are not None on `obj`; return the names that were set,
    ready for `save(update_fields=...)`."""
    changed = [name for name, value in fields.items() if value is not None]
    for name in changed:
        setattr(obj, name, fields[name])
    return changed


def bulk_update(model: type[models.Model], objs: Iterable[models.Model], fields: list[str]) -> None:
    """Update `fields` of many rows in one statement.

    `UPDATE ... FROM (VALUES ...)`: Django's bulk_update builds a CASE expression per
    field and row, which costs more to build and to plan than the writes themselves.
    """
    rows = list(objs)
    if not rows:
        return
    meta = model._meta
    pk = cast("models.Field[Any, Any]", meta.pk)
    columns = [cast("models.Field[Any, Any]", meta.get_field(name)) for name in fields]

    def column(field: "models.Field[Any, Any]") -> str:
        return connection.ops.quote_name(str(field.column))

    assignments = ", ".join(
        f"{column(f)} = v.{column(f)}::{f.db_type(connection)}" for f in columns
    )
    names = ", ".join(column(f) for f in [pk, *columns])
    row = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
    params: list[Any] = []
    for obj in rows:
        params.append(pk.get_db_prep_value(obj.pk, connection))
        params.extend(f.get_db_prep_save(getattr(obj, f.attname), connection) for f in columns)
    # Identifiers come from model metadata; every value is a query parameter.
    sql = (
        f"UPDATE {connection.ops.quote_name(meta.db_table)} AS t SET {assignments} "  # noqa: S608
        f"FROM (VALUES {', '.join([row] * len(rows))}) AS v({names}) "
        f"WHERE t.{column(pk)} = v.{column(pk)}::{pk.db_type(connection)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _insert_select(obj: models.Model, source: str) -> tuple[str, list[Any]]:
    """`INSERT INTO <obj's table> (...) SELECT <obj's values> FROM <source>`, with params.

    Fields get their pre_save values (auto_now and friends) set on `obj`, as save() would.
    """
    meta = obj._meta
    fields = [cast("models.Field[Any, Any]", f) for f in meta.local_concrete_fields]
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    values = ", ".join(f"%s::{f.db_type(connection)}" for f in fields)
    params = [f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in fields]
    table = connection.ops.quote_name(meta.db_table)
    # Identifiers come from model metadata; every value is a query parameter.
    return f"INSERT INTO {table} ({columns}) SELECT {values} FROM {source}", params  # noqa: S608


def insert_if(guard: str, guard_params: list[Any], objs: list[models.Model]) -> bool:
    """Insert `objs` only if the `guard` statement (an UPDATE ... RETURNING one row)
    matched, in one statement: one round trip, and the guard's row lock lasts just as
    long. Returns whether the guard matched (and so the rows were inserted).

    Outside a transaction the statement is its own transaction. Inside one it runs under
    a savepoint, so that a constraint violation leaves the caller's transaction usable.
    """
    parts, params = [f"guard AS ({guard})"], list(guard_params)
    for index, obj in enumerate(objs):
        sql, values = _insert_select(obj, "guard")
        parts.append(f"insert{index} AS ({sql})")
        params.extend(values)
    sql = f"WITH {', '.join(parts)} SELECT count(*) FROM guard"  # noqa: S608
    savepoint = transaction.atomic() if connection.in_atomic_block else nullcontext()
    with savepoint, connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    matched = bool(row and row[0])
    for obj in objs if matched else []:
        obj._state.adding = False
        obj._state.db = connection.alias
    return matched
