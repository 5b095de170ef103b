"""Database helpers that the ORM has no lean spelling for.

Writes here are built as (sql, params) parts so that several of them can go to
PostgreSQL as one statement (`write_together`): one round trip, and whatever row locks
the statement takes are held only until the commit that follows it.
"""

from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any, cast

from django.db import connection, models, transaction
from django.db.models.fields import AutoFieldMixin

Part = tuple[str, list[Any]]
if TYPE_CHECKING:
    Field = models.Field[Any, Any]


def set_fields(obj: models.Model, **fields: Any) -> list[str]:
    """Set the given fields that are not None on `obj`; return the names that were set,
    ready for `save(update_fields=...)`."""
    changed = [name for name, value in fields.items() if value is not None]
    for name in changed:
        setattr(obj, name, fields[name])
    return changed


def _quote(name: str | None) -> str:
    return connection.ops.quote_name(str(name))


def _typed(field: "Field") -> str:
    return f"%s::{field.db_type(connection)}"


def update_rows(model: type[models.Model], objs: Iterable[models.Model], fields: list[str]) -> Part:
    """`UPDATE ... FROM (VALUES ...)` of `fields` for many rows (empty if none).

    Django's bulk_update builds a CASE expression per field and row, which costs more
    to build and to plan than the writes themselves.
    """
    rows = list(objs)
    if not rows:
        return "", []
    meta = model._meta
    pk = cast("Field", meta.pk)
    columns = [cast("Field", meta.get_field(name)) for name in fields]
    assignments = ", ".join(f"{_quote(f.column)} = v.{_quote(f.column)}" for f in columns)
    names = ", ".join(_quote(f.column) for f in [pk, *columns])
    row = "(" + ", ".join(_typed(f) for f in [pk, *columns]) + ")"
    params: list[Any] = []
    for obj in rows:
        params.append(pk.get_db_prep_value(obj.pk, connection))
        params.extend(f.get_db_prep_save(getattr(obj, f.attname), connection) for f in columns)
    # Identifiers come from model metadata; every value is a query parameter.
    sql = (
        f"UPDATE {_quote(meta.db_table)} AS t SET {assignments} "  # noqa: S608
        f"FROM (VALUES {', '.join([row] * len(rows))}) AS v({names}) "
        f"WHERE t.{_quote(pk.column)} = v.{_quote(pk.column)}"
    )
    return sql, params


def _insert_fields(meta: Any) -> list["Field"]:
    """The columns an INSERT names: an auto-incremented key is left to the database."""
    fields = [cast("Field", f) for f in meta.local_concrete_fields]
    return [f for f in fields if not (f.primary_key and isinstance(f, AutoFieldMixin))]


def _insert_values(obj: models.Model, fields: list["Field"]) -> list[Any]:
    # pre_save sets auto_now values on `obj`, as save() would.
    return [f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in fields]


def insert_rows(objs: Sequence[models.Model]) -> Part:
    """`INSERT ... VALUES` of many rows of one model (empty if none)."""
    if not objs:
        return "", []
    fields = _insert_fields(objs[0]._meta)
    row = "(" + ", ".join(_typed(f) for f in fields) + ")"
    params = [value for obj in objs for value in _insert_values(obj, fields)]
    columns = ", ".join(_quote(f.column) for f in fields)
    table = _quote(objs[0]._meta.db_table)
    return f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(objs))}", params  # noqa: S608


def _run(sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    """Execute one statement; inside a transaction under a savepoint, so that a failure
    (a constraint) leaves the caller's transaction usable. Returns its first row."""
    savepoint = transaction.atomic() if connection.in_atomic_block else nullcontext()
    with savepoint, connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() if cursor.description else None


def write_together(parts: Iterable[Part]) -> None:
    """Run data-modifying statements as one: `WITH w0 AS (...), w1 AS (...) SELECT 1`.

    They see the same snapshot, so no two may touch the same row.
    """
    written = [(sql, params) for sql, params in parts if sql]
    if not written:
        return
    ctes = ", ".join(f"w{index} AS ({sql})" for index, (sql, _) in enumerate(written))
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {ctes} SELECT 1", [v for _, params in written for v in params])


def insert_if(guard: str, guard_params: list[Any], objs: list[models.Model]) -> bool:
    """Insert `objs` only if the `guard` statement (an UPDATE ... RETURNING one row)
    matched, in one statement: one round trip, and the guard's row lock lasts just as
    long. Returns whether the guard matched (and so the rows were inserted).

    Outside a transaction the statement is its own transaction.
    """
    parts, params = [f"guard AS ({guard})"], list(guard_params)
    for index, obj in enumerate(objs):
        fields = _insert_fields(obj._meta)
        values = ", ".join(_typed(f) for f in fields)
        columns = ", ".join(_quote(f.column) for f in fields)
        parts.append(
            f"insert{index} AS (INSERT INTO {_quote(obj._meta.db_table)} ({columns}) "  # noqa: S608
            f"SELECT {values} FROM guard)"
        )
        params.extend(_insert_values(obj, fields))
    row = _run(f"WITH {', '.join(parts)} SELECT count(*) FROM guard", params)  # noqa: S608
    matched = bool(row and row[0])
    for obj in objs if matched else []:
        obj._state.adding = False
        obj._state.db = connection.alias
    return matched
