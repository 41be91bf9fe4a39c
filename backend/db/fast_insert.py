"""Bulk inserts of the webhook group commit on SQLite, straight to the driver.

SQLAlchemy's executemany spends more CPU per row than SQLite does inserting it: it builds a
parameter dict per row from the compiled statement and runs a bind processor per value (a
datetime becomes text through a %-format of seven fields). On the embedded default that was about
a third of a saved webhook run's write (py-spy, bench/README.md). Here a table's INSERT is
written once, and each row becomes a tuple with the same values SQLAlchemy would have bound:

* UTC datetimes as SQLAlchemy's SQLite DATETIME text (``YYYY-MM-DD HH:MM:SS.ffffff``, in UTC);
* JSON columns the caller already encoded (``text_json``) as they are, other JSON values encoded
  strictly (``backend.db.session._json_text``, as the engine's serializer);
* columns a row leaves out get their Python-side default (``created_at``, ``attempts``), once per batch.

``tests/unit/backend/db/test_fast_insert.py`` checks that the stored rows are byte for byte the ones
SQLAlchemy's own insert stores.

On PostgreSQL, ``copy_many`` writes the same rows with ``COPY ... FROM STDIN`` through the connection's
psycopg cursor, inside the caller's transaction: psycopg's executemany (even pipelined) did per-row
Python work that made the scaled-out intake's group commit cost ~100 µs of CPU per queued webhook at the
batch sizes seen under load, COPY ~75 (bench/README.md). JSON columns go as their text (PostgreSQL
parses it into jsonb), datetimes as psycopg adapts them; ``tests/integration/test_fast_insert_postgres.py``
compares the stored rows with SQLAlchemy's insert.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from operator import itemgetter

from sqlalchemy import JSON, Connection, Table

from backend.db.base import UtcDateTime
from backend.db.session import _json_text

Convert = Callable[[object], object]


def sqlite_datetime(value: datetime | None) -> str | None:
    """What UtcDateTime binds on SQLite: the UTC wall time with microseconds, no offset."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given; use backend.db.base.utcnow()")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]  # without the "+00:00"


def _json(value: object) -> str:
    return _json_text(value)  # JSON(none_as_null=False): None is stored as the JSON text null, as SQLAlchemy does


def _keep(value: object) -> object:
    return value


def insert_many(conn: Connection, table: Table, rows: Sequence[dict], *, text_json: frozenset[str] = frozenset()) -> None:
    """INSERT ``rows`` (dicts with the same keys) into ``table``; SQLite only."""
    if rows:
        sql, values = _prepared(table, rows, text_json, "sqlite")
        conn.exec_driver_sql(sql, [tuple(value) for value in values])


def insert_on_driver(conn: sqlite3.Connection, table: Table, rows: Sequence[dict], *,
                     text_json: frozenset[str] = frozenset()) -> None:
    """``insert_many`` on a `sqlite3` connection itself (backend.db.session.driver_transaction)."""
    if rows:
        sql, values = _prepared(table, rows, text_json, "sqlite")
        conn.executemany(sql, values)


def copy_many(conn: Connection, table: Table, rows: Sequence[dict], *, text_json: frozenset[str] = frozenset()) -> None:
    """INSERT ``rows`` (dicts with the same keys) into ``table`` with COPY; PostgreSQL (psycopg) only."""
    if not rows:
        return
    sql, values = _prepared(table, rows, text_json, "postgresql")
    cursor = conn.connection.driver_connection.cursor()
    try:
        with cursor.copy(sql) as copy:
            for value in values:
                copy.write_row(value)
    finally:
        cursor.close()


def bulk_insert(conn: Connection, table: Table, rows: Sequence[dict], *,
                text_json: frozenset[str] = frozenset()) -> None:
    """``insert_many`` on SQLite, ``copy_many`` on PostgreSQL (the two databases LinkFlow runs on)."""
    (insert_many if conn.dialect.name == "sqlite" else copy_many)(conn, table, rows, text_json=text_json)


def _prepared(table: Table, rows: Sequence[dict], text_json: frozenset[str],
              dialect: str) -> tuple[str, Iterator[list]]:
    """The statement, and each row's values in its column order, converted as the dialect's bind would."""
    sql, get, converting, defaults = _plan(table, tuple(rows[0]), text_json, dialect)
    extra = [default() for default in defaults]

    def values() -> Iterator[list]:
        for row in rows:
            value = [*get(row), *extra]
            for index, convert in converting:
                value[index] = convert(value[index])
            yield value

    return sql, values()


@functools.cache
def _plan(table: Table, given: tuple[str, ...], text_json: frozenset[str], dialect: str) -> tuple[
        str, Callable[[dict], tuple], tuple[tuple[int, Convert], ...], tuple[Callable[[], object], ...]]:
    """The INSERT (SQLite) or COPY (PostgreSQL), a getter of the given values in order, which of them need
    converting, and the defaults of the columns left out."""
    columns = {column.name: column for column in table.c}
    unknown = [name for name in given if name not in columns]
    if unknown:
        raise ValueError(f"{table.name} has no column(s) {unknown}")
    converters = tuple(_converter(columns[name], name in text_json, dialect) for name in given)
    missing = [column for column in table.c if column.name not in given and column.default is not None
               and not column.primary_key]
    defaults = tuple(_default(column, dialect) for column in missing)
    names = [*given, *(column.name for column in missing)]
    quoted = ", ".join(f'"{name}"' for name in names)
    sql = (f'INSERT INTO "{table.name}" ({quoted}) VALUES ({", ".join("?" for _ in names)})' if dialect == "sqlite"
           else f'COPY "{table.name}" ({quoted}) FROM STDIN')
    get = itemgetter(*given) if len(given) > 1 else lambda row: (row[given[0]],)
    converting = tuple((index, convert) for index, convert in enumerate(converters) if convert is not _keep)
    return sql, get, converting, defaults


def _aware(value: datetime | None) -> datetime | None:
    """What UtcDateTime binds on PostgreSQL: an aware datetime (in UTC); a naive one is refused."""
    if value is not None and value.tzinfo is None:
        raise ValueError("naive datetime given; use backend.db.base.utcnow()")
    return value


def _converter(column, already_text: bool, dialect: str = "sqlite") -> Convert:
    """How a value of `column` is bound: datetimes as SQLite's text or checked aware for PostgreSQL; JSON values
    encoded (unless the caller gave text); strings (StrEnum members too), numbers and NULLs as they are, which
    psycopg adapts as SQLAlchemy's executemany does."""
    kind = column.type
    if isinstance(kind, UtcDateTime):
        return sqlite_datetime if dialect == "sqlite" else _aware
    if isinstance(kind, JSON) and not already_text:
        return _json
    return _keep


def _default(column, dialect: str) -> Callable[[], object]:
    default = column.default
    convert = _converter(column, False, dialect)
    if default.is_callable:
        make = default.arg  # SQLAlchemy wraps a plain callable to take the execution context
        return lambda: convert(make(None))
    value = convert(default.arg)
    return lambda: value
