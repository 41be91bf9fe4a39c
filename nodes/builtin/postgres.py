"""The PostgreSQL node: run a query with parameters, or insert, upsert, update, delete and select rows.

Operations (n8n's Postgres node shapes them the same way):

* ``execute_query``: ``query`` with ``$1, $2...`` placeholders bound to ``query_parameters`` (per item, so
  expressions work: ``["{{ $json.id }}"]``); each returned row becomes an item, a statement without rows
  gives ``{"success": true, "rowcount": n}``.
* ``insert`` / ``upsert`` / ``update`` / ``delete`` on ``schema.table``: the item's fields (or only
  ``columns``) are the values; ``match_columns`` say which rows (upsert: the conflict target, which needs
  a unique index); the rows written are output (``RETURNING *``).
* ``select``: rows of ``schema.table`` where ``match_columns`` equal the item's values, up to ``limit``.

Inside a workflow run the rows are streamed (the engine calls ``produce``): psycopg reads the result row by
row and the node hands it over in batches of 1,000, which the engine spills to storage past its threshold,
so a query of millions of rows runs in bounded memory (up to 100,000,000 rows per item; without streaming,
as in ``execute``, 100,000).

``transaction`` (the default) runs every item's statement in one transaction: an error rolls all of them
back and nothing is written. ``independently`` commits item by item. Identifiers are quoted, values always
bound as parameters, never pasted into SQL. SQL errors are user errors naming the server's message;
lost connections are transient (the node's retry settings apply). The server's address is checked
against the platform's address policy and pinned, as HTTP Request does.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import decimal
import re
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from nodes.sdk import Node, NodeParameters, NodeTransientError, NodeUserError, show_if
from nodes.sdk.net import AddressPolicy, checked_addresses_async

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

# psycopg is imported where it is used (not at module level): loading it costs ~0.1 s at start-up

Operation = Literal["execute_query", "insert", "upsert", "update", "delete", "select"]
MAX_ROWS = 100_000  # per item when the rows are held in a list (execute)
MAX_STREAMED_ROWS = 100_000_000  # per item when they are streamed in batches (produce)
BATCH_ROWS = 1000
_READS = re.compile(r"\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*(select|with|values|table|show|explain)\b", re.I | re.S)
CONNECT_TIMEOUT_S = 10


class PostgresParameters(NodeParameters):
    operation: Operation = Field("execute_query", description="What to do for each item")
    query: str = Field("", max_length=100_000, description="execute_query: SQL with $1, $2... placeholders",
                       json_schema_extra=show_if(operation=["execute_query"]))
    query_parameters: list[Any] = Field(default_factory=list, description="execute_query: values for $1, $2...",
                                        json_schema_extra=show_if(operation=["execute_query"]))
    schema_name: str = Field("public", min_length=1, max_length=63, description="Schema of the table",
                             json_schema_extra=show_if(operation=["insert", "upsert", "update", "delete", "select"]))
    table: str = Field("", max_length=63, description="insert/upsert/update/delete/select: the table",
                       json_schema_extra=show_if(operation=["insert", "upsert", "update", "delete", "select"]))
    columns: list[str] = Field(default_factory=list,
                               description="insert/upsert/update: fields of the item to write (empty: all)",
                               json_schema_extra=show_if(operation=["insert", "upsert", "update"]))
    match_columns: list[str] = Field(default_factory=list,
                                     description="upsert: conflict target; update/delete/select: rows whose "
                                                 "columns equal the item's fields",
                                     json_schema_extra=show_if(operation=["upsert", "update", "delete", "select"]))
    limit: int = Field(1000, ge=1, le=MAX_ROWS, description="select: at most this many rows per item",
                       json_schema_extra=show_if(operation=["select"]))
    mode: Literal["transaction", "independently"] = Field(
        "transaction", description="transaction: all items or none; independently: commit each item")

    @model_validator(mode="after")
    def _needs(self) -> PostgresParameters:
        if self.operation == "execute_query" and not self.query.strip():
            raise ValueError("execute_query needs a query")
        if self.operation != "execute_query" and not self.table:
            raise ValueError(f"{self.operation} needs a table")
        if self.operation in ("upsert", "update", "delete") and not self.match_columns:
            raise ValueError(f"{self.operation} needs match_columns: which columns identify a row")
        return self


class Postgres(Node):
    """One statement per item on the PostgreSQL server of the ``postgres`` credential."""

    type = "postgres"
    display_name = "PostgreSQL"
    group = "integration"
    icon = "database"
    description = "Query a PostgreSQL database, or insert, upsert, update, delete and select rows."
    Parameters = PostgresParameters
    credential_slots = {"postgres": ("postgres",)}
    side_effects = True

    async def execute(self, ctx, items):
        out: list[dict] = []
        async for batch in self._batches(ctx, items, MAX_ROWS):
            out += batch
        return out

    async def produce(self, ctx, items):
        """The engine's way in: the same rows as ``execute``, streamed from the server in batches."""
        async for batch in self._batches(ctx, items, MAX_STREAMED_ROWS):
            yield batch

    async def _batches(self, ctx, items, max_rows: int):
        import psycopg

        login = await ctx.credentials("postgres")
        policy = AddressPolicy.from_settings(ctx.settings)
        addresses = await checked_addresses_async(login["host"], login["port"], policy)
        params = [ctx.params(i) for i in range(len(items))]
        independent = bool(params) and params[0].mode == "independently"
        try:
            async with await _connect(login, addresses, autocommit=independent) as conn, \
                    conn.transaction() if not independent else contextlib.nullcontext():
                for index, p in enumerate(params):
                    async for batch in _run(conn, p, items[index]["json"], index, max_rows):
                        yield batch
        except psycopg.OperationalError as exc:
            raise NodeTransientError(f"PostgreSQL {login['host']}:{login['port']}: {_message(exc)}") from None


async def _connect(login: dict, addresses: list[str], *, autocommit: bool) -> psycopg.AsyncConnection:
    import psycopg

    count = len(addresses)
    return await psycopg.AsyncConnection.connect(
        host=",".join([login["host"]] * count), hostaddr=",".join(addresses),
        port=",".join([str(login["port"])] * count), dbname=login["dbname"], user=login["user"],
        password=login.get("password"), sslmode=login.get("sslmode", "prefer"), autocommit=autocommit,
        connect_timeout=CONNECT_TIMEOUT_S)


def _message(exc: psycopg.Error) -> str:
    diag = getattr(exc, "diag", None)
    primary = diag.message_primary if diag is not None else None
    text = primary or (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
    detail = diag.message_detail if diag is not None else None
    return f"{text} ({detail})" if detail else text


async def _run(conn: psycopg.AsyncConnection, p: PostgresParameters, item: dict, index: int,
               max_rows: int) -> AsyncIterator[list[dict]]:
    """The statement's rows in batches. A query (select, or execute_query starting with SELECT, WITH, VALUES,
    TABLE, SHOW or EXPLAIN) is read from the server row by row, never the whole result at once; other
    statements (writes, whose RETURNING rows are one per item) are read whole, up to MAX_ROWS."""
    import psycopg

    statement, values = _statement(p, item, index)
    cursor = conn.cursor()
    try:
        if p.operation == "select" or _READS.match(p.query):
            async for batch in _streamed(cursor, statement, values, index, max_rows):
                yield batch
            return
        await cursor.execute(statement, values)
        if cursor.description is None:
            yield [{"json": {"success": True, "rowcount": cursor.rowcount}}]
            return
        names = [column.name for column in cursor.description]
        while rows := await cursor.fetchmany(BATCH_ROWS):
            if cursor.rownumber > MAX_ROWS:
                raise NodeUserError(f"item {index}: the statement returned more than {MAX_ROWS:,} rows; "
                                    "add a LIMIT", item_index=index)
            yield [{"json": {name: _plain(value) for name, value in zip(names, row, strict=True)}} for row in rows]
    except psycopg.OperationalError:
        raise
    except psycopg.Error as exc:
        raise NodeUserError(f"item {index}: PostgreSQL refused the {p.operation.replace('_', ' ')}: "
                            f"{_message(exc)}", item_index=index) from None


async def _streamed(cursor, statement, values, index: int, max_rows: int) -> AsyncIterator[list[dict]]:
    import psycopg

    batch: list[dict] = []
    count, names = 0, None
    try:
        async for row in cursor.stream(statement, values):
            if names is None:
                names = [column.name for column in cursor.description]
            count += 1
            if count > max_rows:
                raise NodeUserError(f"item {index}: the query returned more than {max_rows:,} rows; add a LIMIT",
                                    item_index=index)
            batch.append({"json": {name: _plain(value) for name, value in zip(names, row, strict=True)}})
            if len(batch) >= BATCH_ROWS:
                yield batch
                batch = []
    except psycopg.ProgrammingError as exc:
        if "didn't produce a result" not in str(exc):
            raise
        # WITH ... a write without RETURNING: it ran, but a streamed statement reports no row count
        yield [{"json": {"success": True, "rowcount": None}}]
        return
    if batch:
        yield batch
    elif count == 0 and cursor.description is None:
        yield [{"json": {"success": True, "rowcount": cursor.rowcount}}]


def _fields(p: PostgresParameters, item: dict, index: int) -> dict:
    names = p.columns or list(item)
    missing = [n for n in names if n not in item]
    if missing:
        raise NodeUserError(f"item {index} has no field {missing[0]!r} to write into column {missing[0]!r}",
                            item_index=index)
    return {name: _bound(item[name]) for name in names}


def _where(p: PostgresParameters, item: dict, index: int) -> tuple[sql.Composable, list]:
    from psycopg import sql

    missing = [c for c in p.match_columns if c not in item]
    if missing:
        raise NodeUserError(f"item {index} has no field {missing[0]!r} to match rows on", item_index=index)
    if not p.match_columns:
        return sql.SQL("TRUE"), []
    clause = sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in p.match_columns)
    return clause, [_bound(item[c]) for c in p.match_columns]


def _statement(p: PostgresParameters, item: dict, index: int) -> tuple[Any, list | dict]:
    if p.operation == "execute_query":
        text, used = _numbered(p.query)
        if used and max(used) > len(p.query_parameters):
            raise NodeUserError(f"item {index}: the query uses ${max(used)} but query_parameters has "
                                f"{len(p.query_parameters)} value(s)", item_index=index)
        return text, {str(i + 1): _bound(v) for i, v in enumerate(p.query_parameters)}
    from psycopg import sql

    table = sql.Identifier(p.schema_name, p.table)
    if p.operation == "select":
        where, values = _where(p, item, index)
        return sql.SQL("SELECT * FROM {} WHERE {} LIMIT {}").format(table, where, sql.Literal(p.limit)), values
    if p.operation == "delete":
        where, values = _where(p, item, index)
        return sql.SQL("DELETE FROM {} WHERE {} RETURNING *").format(table, where), values
    fields = _fields(p, item, index)
    if not fields:
        raise NodeUserError(f"item {index} has no fields to write", item_index=index)
    if p.operation == "update":
        where, keys = _where(p, item, index)
        changes = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in fields)
        return sql.SQL("UPDATE {} SET {} WHERE {} RETURNING *").format(table, changes, where), \
            [*fields.values(), *keys]
    columns = sql.SQL(", ").join(map(sql.Identifier, fields))
    insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        table, columns, sql.SQL(", ").join(sql.Placeholder() * len(fields)))
    if p.operation == "upsert":
        updates = [c for c in fields if c not in p.match_columns]
        action = sql.SQL("DO UPDATE SET {}").format(sql.SQL(", ").join(
            sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in updates)) if updates \
            else sql.SQL("DO NOTHING")
        insert = sql.SQL("{} ON CONFLICT ({}) {}").format(
            insert, sql.SQL(", ").join(map(sql.Identifier, p.match_columns)), action)
    return sql.SQL("{} RETURNING *").format(insert), list(fields.values())


def _numbered(query: str) -> tuple[str, list[int]]:
    """``$1``-style placeholders (n8n's and PostgreSQL's own) as psycopg's ``%s``; literal % doubled."""
    out, i, quote = [], 0, ""
    positions: list[int] = []
    while i < len(query):
        char = query[i]
        if quote:
            out.append("%%" if char == "%" else char)
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
            out.append(char)
        elif char == "%":
            out.append("%%")
        elif char == "$" and i + 1 < len(query) and query[i + 1].isdigit():
            j = i + 1
            while j < len(query) and query[j].isdigit():
                j += 1
            positions.append(int(query[i + 1 : j]))
            out.append(f"%({query[i + 1 : j]})s")
            i = j
            continue
        else:
            out.append(char)
        i += 1
    return "".join(out), positions


def _bound(value: Any) -> Any:
    """Objects and lists are sent as JSON (for json/jsonb columns)."""
    from psycopg.types.json import Jsonb

    return Jsonb(value) if isinstance(value, (dict, list)) else value


def _plain(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return str(value)  # exact, as n8n gives numeric columns
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
