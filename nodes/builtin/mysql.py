"""The MySQL / MariaDB node: a query with parameters, or insert, upsert, update, delete and select rows.

The same operations as the PostgreSQL node (n8n's MySQL node shapes them alike): ``execute_query`` with
``$1, $2...`` placeholders bound to ``query_parameters`` (per item), each returned row an item, a statement
without rows ``{"success": true, "affected_rows": n, "insert_id": id}``; ``insert``, ``upsert`` (``ON
DUPLICATE KEY UPDATE``: the table's primary or unique key decides), ``update`` and ``delete`` by
``match_columns`` (output ``{"success", "affected_rows", "insert_id"}``); ``select`` rows whose
``match_columns`` equal the item's fields. ``transaction`` (default): all items in one transaction, rolled
back whole on an error; ``independently``: committed item by item. Identifiers are quoted, values always
bound. Server errors are user errors with MySQL's code and message; lost connections are transient. The
server's address is checked against the address policy and the connection goes to the checked address.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import decimal
import json
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from nodes.sdk import Node, NodeParameters, NodeTransientError, NodeUserError, show_if
from nodes.sdk.net import AddressPolicy, checked_addresses_async, open_connection

if TYPE_CHECKING:
    import pymysql

# pymysql is imported where it is used, not at module level (start-up time)

MAX_ROWS = 100_000
TIMEOUT_S = 10
_LOST = {2003, 2006, 2013, 2055}  # can't connect, gone away, lost during query, lost at handshake


class MySqlParameters(NodeParameters):
    operation: Literal["execute_query", "insert", "upsert", "update", "delete", "select"] = Field(
        "execute_query", description="What to do for each item")
    query: str = Field("", max_length=100_000, description="execute_query: SQL with $1, $2... placeholders",
                       json_schema_extra=show_if(operation=["execute_query"]))
    query_parameters: list[Any] = Field(default_factory=list, description="execute_query: values for $1, $2...",
                                        json_schema_extra=show_if(operation=["execute_query"]))
    table: str = Field("", max_length=64, description="insert/upsert/update/delete/select: the table",
                       json_schema_extra=show_if(operation=["insert", "upsert", "update", "delete", "select"]))
    columns: list[str] = Field(default_factory=list, description="insert/upsert/update: fields to write (empty: all)",
                               json_schema_extra=show_if(operation=["insert", "upsert", "update"]))
    match_columns: list[str] = Field(default_factory=list,
                                     description="update/delete/select: rows whose columns equal the item's fields",
                                     json_schema_extra=show_if(operation=["update", "delete", "select"]))
    limit: int = Field(1000, ge=1, le=MAX_ROWS, description="select: at most this many rows per item",
                       json_schema_extra=show_if(operation=["select"]))
    mode: Literal["transaction", "independently"] = Field(
        "transaction", description="transaction: all items or none; independently: commit each item")

    @model_validator(mode="after")
    def _needs(self) -> MySqlParameters:
        if self.operation == "execute_query" and not self.query.strip():
            raise ValueError("execute_query needs a query")
        if self.operation != "execute_query" and not self.table:
            raise ValueError(f"{self.operation} needs a table")
        if self.operation in ("update", "delete") and not self.match_columns:
            raise ValueError(f"{self.operation} needs match_columns: which columns identify a row")
        return self


class MySql(Node):
    """One statement per item on the MySQL or MariaDB server of the ``mysql`` credential."""

    type = "mysql"
    display_name = "MySQL / MariaDB"
    group = "integration"
    icon = "database"
    description = "Query a MySQL or MariaDB database, or insert, upsert, update, delete and select rows."
    Parameters = MySqlParameters
    credential_slots = {"mysql": ("mysql",)}
    side_effects = True

    async def execute(self, ctx, items):
        login = await ctx.credentials("mysql")
        addresses = await checked_addresses_async(login["host"], login["port"],
                                                  AddressPolicy.from_settings(ctx.settings))
        params = [ctx.params(i) for i in range(len(items))]
        return await asyncio.to_thread(_run_all, login, addresses, params, items)


def _connect(login: dict, addresses: list[str]) -> pymysql.connections.Connection:
    import pymysql

    options = {k: v for k, v in login.items() if k != "tls"}
    if login.get("tls"):
        options.update(ssl={"check_hostname": True}, ssl_verify_cert=True, ssl_verify_identity=True)
    conn = pymysql.connect(**options, connect_timeout=TIMEOUT_S, read_timeout=300, write_timeout=300,
                           autocommit=False, defer_connect=True, charset="utf8mb4")
    conn.connect(sock=open_connection(addresses, login["port"], TIMEOUT_S))  # the checked address, not the name
    return conn


def _run_all(login: dict, addresses: list[str], params: list, items: list) -> list[dict]:
    import pymysql

    where = f"MySQL {login['host']}:{login['port']}/{login['database']}"
    try:
        conn = _connect(login, addresses)
    except (pymysql.Error, OSError) as exc:
        raise _error(exc, where, None, "connect") from None
    out: list[dict] = []
    try:
        for index, p in enumerate(params):
            try:
                out += _run(conn, p, items[index]["json"], index)
            except (pymysql.Error, OSError) as exc:
                conn.rollback()
                raise _error(exc, where, index, p.operation) from None
            if p.mode == "independently":
                conn.commit()
        conn.commit()
    finally:
        conn.close()
    return out


def _error(exc: Exception, where: str, index: int | None, operation: str) -> Exception:
    import pymysql

    code = exc.args[0] if isinstance(exc, pymysql.Error) and exc.args and isinstance(exc.args[0], int) else None
    message = exc.args[1] if isinstance(exc, pymysql.Error) and len(exc.args) > 1 else str(exc)
    prefix = f"item {index}: " if index is not None else ""
    text = f"{prefix}{where} refused the {operation.replace('_', ' ')}: " + (f"({code}) " if code else "") + message
    if isinstance(exc, OSError) or code in _LOST or isinstance(exc, pymysql.err.OperationalError) and code is None:
        return NodeTransientError(text, item_index=index)
    if code == 1045:  # access denied: the login is wrong, retrying will not help
        return NodeUserError(text, item_index=index)
    return NodeUserError(text, item_index=index)


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _run(conn, p: MySqlParameters, item: dict, index: int) -> list[dict]:
    statement, values = _statement(p, item, index)
    with conn.cursor() as cursor:
        cursor.execute(statement, values)
        if cursor.description is None:
            return [{"json": {"success": True, "affected_rows": cursor.rowcount, "insert_id": cursor.lastrowid}}]
        names = [column[0] for column in cursor.description]
        rows = cursor.fetchmany(MAX_ROWS + 1)
    if len(rows) > MAX_ROWS:
        raise NodeUserError(f"item {index}: the query returned more than {MAX_ROWS:,} rows; add a LIMIT",
                            item_index=index)
    return [{"json": {n: _plain(v) for n, v in zip(names, row, strict=True)}} for row in rows]


def _fields(p: MySqlParameters, item: dict, index: int) -> dict:
    names = p.columns or list(item)
    missing = [n for n in names if n not in item]
    if missing or not names:
        raise NodeUserError(f"item {index} has no field {missing[0]!r} to write" if missing
                            else f"item {index} has no fields to write", item_index=index)
    return {n: _bound(item[n]) for n in names}


def _where(p: MySqlParameters, item: dict, index: int) -> tuple[str, list]:
    missing = [c for c in p.match_columns if c not in item]
    if missing:
        raise NodeUserError(f"item {index} has no field {missing[0]!r} to match rows on", item_index=index)
    if not p.match_columns:
        return "TRUE", []
    return " AND ".join(f"{_quoted(c)} = %s" for c in p.match_columns), [_bound(item[c]) for c in p.match_columns]


def _statement(p: MySqlParameters, item: dict, index: int) -> tuple[str, list]:
    if p.operation == "execute_query":
        return _numbered(p.query, p.query_parameters, index)
    table = _quoted(p.table)
    if p.operation in ("select", "delete"):
        where, values = _where(p, item, index)
        if p.operation == "select":
            return f"SELECT * FROM {table} WHERE {where} LIMIT {p.limit}", values
        return f"DELETE FROM {table} WHERE {where}", values
    fields = _fields(p, item, index)
    if p.operation == "update":
        where, keys = _where(p, item, index)
        changes = ", ".join(f"{_quoted(c)} = %s" for c in fields)
        return f"UPDATE {table} SET {changes} WHERE {where}", [*fields.values(), *keys]
    columns = ", ".join(map(_quoted, fields))
    statement = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
    if p.operation == "upsert":
        statement += " ON DUPLICATE KEY UPDATE " + ", ".join(f"{_quoted(c)} = VALUES({_quoted(c)})" for c in fields)
    return statement, list(fields.values())


def _numbered(query: str, parameters: list, index: int) -> tuple[str, list]:
    """``$1``-style placeholders as PyMySQL's ``%s`` (values in the order used); a literal % doubled."""
    out, values, i, quote = [], [], 0, ""
    while i < len(query):
        char = query[i]
        if quote:
            out.append("%%" if char == "%" else char)
            quote = "" if char == quote else quote
        elif char in "'\"`":
            quote = char
            out.append(char)
        elif char == "%":
            out.append("%%")
        elif char == "$" and query[i + 1 : i + 2].isdigit():
            j = i + 1
            while j < len(query) and query[j].isdigit():
                j += 1
            number = int(query[i + 1 : j])
            if not 1 <= number <= len(parameters):
                raise NodeUserError(f"item {index}: the query uses ${number} but query_parameters has "
                                    f"{len(parameters)} value(s)", item_index=index)
            values.append(_bound(parameters[number - 1]))
            out.append("%s")
            i = j
            continue
        else:
            out.append(char)
        i += 1
    return "".join(out), values


def _bound(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value


def _plain(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, bytearray)):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(bytes(value)).decode()
    return value
