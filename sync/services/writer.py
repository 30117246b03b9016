"""The sync's fast write path: ``INSERT … ON CONFLICT (unique) DO UPDATE SET …`` for rows given
as dicts of field values.

It sends the statement Django's ``bulk_create(update_conflicts=True)`` sends, minus its cost:
no model instance per row and no per-value SQL compilation, which made the ORM path spend most
of a sync's time in Python (bench/RESULTS.md). Values are adapted with the backend's own
adapters (datetimes, JSON), so what is stored is identical; tests/bench/test_sync_writer.py
holds it to that contract. Two consequences:

* ``Field.pre_save`` never runs, so a model with a field that needs it (``auto_now``,
  ``auto_now_add``, or any field type whose ``pre_save`` is overridden) is refused when its
  writer is built, instead of silently storing the wrong value.
* Rows said to be ``new`` are COPYed on PostgreSQL (about three times cheaper for the server);
  should another transaction have inserted one since, a savepoint undoes the COPY and the
  upsert settles it.

The values of a row can be adapted ahead, on another thread (``Writer.prepare``): the
prefetch does that for a project's first sync, when every row is new.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, connection, models, transaction

PREPARED = "_prepared"  # the key of a mapped row's pre-adapted SQL values (Writer.prepare)

# Field types whose values the mappers already make plain Python values the driver takes.
PLAIN_TYPES = frozenset(
    {
        "CharField",
        "TextField",
        "URLField",
        "IntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "BigIntegerField",
        "FloatField",
        "BooleanField",
        "ForeignKey",
        "BigAutoField",
        "AutoField",
    }
)


class WriterRefused(TypeError):
    """The model has a field whose value only ``pre_save`` can give: use the ORM for it."""


def bulk_upsert(
    model,
    rows: list[dict[str, Any]],
    unique_fields: list[str] | tuple[str, ...],
    update_fields: list[str] | tuple[str, ...],
    *,
    new: bool = False,
) -> None:
    """Upsert ``rows`` (dicts of field values; missing fields get their defaults): insert
    every column, update ``update_fields`` on a conflict over ``unique_fields``. ``new``: the
    rows were not in the table when this transaction looked."""
    if rows:
        writer_for(model, tuple(unique_fields), tuple(update_fields)).write(rows, new=new)


# pre_save implementations that return the attribute as it is unless auto_now(_add) is set.
_PLAIN_PRE_SAVE = frozenset(
    {
        models.Field.pre_save,
        models.DateField.pre_save,
        models.DateTimeField.pre_save,
        models.TimeField.pre_save,
    }
)


def _needs_pre_save(field: models.Field) -> bool:
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return True
    return type(field).pre_save not in _PLAIN_PRE_SAVE


class Writer:
    """One model's upsert statement, built once per process and backend, and its adapters."""

    def __init__(self, model, unique: tuple[str, ...], update: tuple[str, ...]) -> None:
        meta = model._meta
        ops = connection.ops
        # Every column is inserted (as bulk_create does); only ``update`` is set on conflict.
        self.fields = [field for field in meta.local_concrete_fields if not field.primary_key]
        refused = [field.name for field in self.fields if _needs_pre_save(field)]
        if refused:
            raise WriterRefused(
                f"{meta.label} has fields only pre_save can fill ({', '.join(refused)}); "
                "the fast writer would store them wrong"
            )
        self.keys = [field.attname for field in self.fields]
        self.defaults = {field.attname: field.get_default for field in self.fields}
        self.adapters = [self._adapter(field, ops) for field in self.fields]
        self.plan = [
            (key, adapt, self.defaults[key])
            for key, adapt in zip(self.keys, self.adapters, strict=True)
        ]
        columns = ", ".join(ops.quote_name(field.column) for field in self.fields)
        # Identifiers come from model metadata (quoted); every value is a parameter.
        head = f"INSERT INTO {ops.quote_name(meta.db_table)} ({columns}) VALUES "  # noqa: S608
        row_sql = "(" + ", ".join(["%s"] * len(self.fields)) + ")"
        conflict = ""
        if unique:
            targets = ", ".join(ops.quote_name(meta.get_field(n).column) for n in unique)
            sets = ", ".join(
                f"{ops.quote_name(meta.get_field(n).column)} = "
                f"EXCLUDED.{ops.quote_name(meta.get_field(n).column)}"
                for n in update
            )
            conflict = f" ON CONFLICT ({targets}) DO UPDATE SET {sets}"
        self.sql = head + row_sql + conflict
        self.conflict = bool(conflict)
        self.copy_sql = f"COPY {ops.quote_name(meta.db_table)} ({columns}) FROM STDIN"

    @staticmethod
    def _adapter(field, ops) -> Callable[[Any], Any] | None:
        kind = field.get_internal_type()
        if kind == "JSONField":
            encoder = field.encoder
            return lambda value: None if value is None else ops.adapt_json_value(value, encoder)
        if kind == "DateTimeField":
            if connection.vendor == "sqlite":
                return _sqlite_datetime(connection.timezone)
            return ops.adapt_datetimefield_value
        if kind in PLAIN_TYPES:
            return None  # the mapping already made these plain Python values
        return lambda value, field=field: field.get_db_prep_save(value, connection)

    def prepare(self, fields: dict[str, Any]) -> None:
        """Adapt the mapped fields that cost the most to adapt (JSON, datetimes) ahead of
        ``params``, on the prefetch thread; kept under ``PREPARED`` in ``fields``. Touches no
        connection: the adapters are this writer's, made in the caller's thread."""
        fields[PREPARED] = {
            key: adapt(fields[key])
            for key, adapt in zip(self.keys, self.adapters, strict=True)
            if adapt is not None and key in fields
        }

    def params(self, row: dict[str, Any]) -> list[Any]:
        prepared = row.get(PREPARED) or {}
        values = []
        append = values.append
        for key, adapt, default in self.plan:
            if key in prepared:
                append(prepared[key])
            elif adapt is None:
                append(row[key] if key in row else default())
            else:
                append(adapt(row[key] if key in row else default()))
        return values

    def write(self, rows: list[dict[str, Any]], *, new: bool = False) -> None:
        params = [self.params(row) for row in rows]
        if new and connection.vendor == "postgresql":
            try:
                with (
                    transaction.atomic(),
                    connection.wrap_database_errors,
                    connection.cursor() as cursor,
                    cursor.cursor.copy(self.copy_sql) as copy,
                ):
                    for values in params:
                        copy.write_row(values)
                return
            except IntegrityError:
                if not self.conflict:
                    raise
        # executemany of a one-row statement: SQLite runs the prepared statement in a C loop and
        # psycopg pipelines it; both measured faster than multi-row VALUES (bench/RESULTS.md).
        with connection.cursor() as cursor:
            cursor.executemany(self.sql, params)


def _sqlite_datetime(zone) -> Callable[[Any], Any]:
    """SQLite's ``adapt_datetimefield_value`` (aware -> naive in the connection's zone -> text)
    without its per-call checks; the mapping only makes aware datetimes or None."""

    def adapt(value: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(zone).replace(tzinfo=None)
        return str(value)

    return adapt


_WRITERS: dict[tuple, Writer] = {}


def writer_for(model, unique: tuple[str, ...], update: tuple[str, ...]) -> Writer:
    """The model's writer for these columns, built once (per schema: a field added since is
    a new statement)."""
    schema = tuple(field.attname for field in model._meta.local_concrete_fields)
    key = (connection.vendor, connection.alias, model, schema, unique, update)
    writer = _WRITERS.get(key)
    if writer is None:
        writer = _WRITERS[key] = Writer(model, unique, update)
    return writer


def column(model, name: str) -> str:
    """A field's column, quoted for the current connection."""
    return connection.ops.quote_name(model._meta.get_field(name).column)
