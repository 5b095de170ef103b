"""Database helpers that the ORM has no lean spelling for."""

from collections.abc import Iterable
from typing import Any, cast

from django.db import connection, models


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
