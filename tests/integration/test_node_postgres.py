"""The PostgreSQL node against the real server of `make infra-up` (a fresh database per test)."""

from __future__ import annotations

from urllib.parse import urlsplit

import psycopg
import pytest

from nodes.builtin.postgres import Postgres
from nodes.sdk import NodeUserError
from nodes.sdk.net import AddressRefused
from nodes.sdk.testing import run_node

LOOPBACK = {"http_allow_list": ["127.0.0.1"]}


@pytest.fixture
def login(postgres_url):
    url = urlsplit(postgres_url.replace("postgresql+psycopg://", "postgresql://"))
    with psycopg.connect(postgres_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute("CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, score numeric(6,2), "
                     "tags jsonb, seen timestamptz)")
        conn.execute("INSERT INTO customers (id, name, score) VALUES (1, 'Ada', 9.5), (2, 'Bob', 3)")
    return {"host": url.hostname, "port": url.port, "dbname": url.path.lstrip("/"), "user": url.username,
            "password": url.password, "sslmode": "disable"}


def _rows(login: dict, query: str) -> list[tuple]:
    with psycopg.connect(host=login["host"], port=login["port"], dbname=login["dbname"], user=login["user"],
                         password=login["password"]) as conn:
        return conn.execute(query).fetchall()


async def _run(login: dict, params, items):
    return (await run_node(Postgres, items, params=params, credentials={"postgres": login},
                           settings=LOOPBACK))["main"]


async def test_query_with_parameters_per_item(login):
    out = await _run(login, [{"query": "SELECT id, name, score FROM customers WHERE id = $1 AND name <> $2",
                              "query_parameters": [1, "x"]},
                             {"query": "SELECT id, name, score FROM customers WHERE id = $1 AND name <> $2",
                              "query_parameters": [2, "x"]}],
                     [{"json": {}}, {"json": {}}])
    assert [o["json"] for o in out] == [{"id": 1, "name": "Ada", "score": "9.50"},
                                        {"id": 2, "name": "Bob", "score": "3.00"}]


async def test_parameters_are_bound_never_pasted(login):
    evil = "x'; DROP TABLE customers; --"
    out = await _run(login, {"query": "SELECT count(*) AS n FROM customers WHERE name = $1 AND '%' = '%'",
                             "query_parameters": [evil]}, [{"json": {}}])
    assert out == [{"json": {"n": 0}}]
    assert _rows(login, "SELECT count(*) FROM customers") == [(2,)]


async def test_insert_upsert_update_select_delete(login):
    items = [{"json": {"id": 3, "name": "Cy", "tags": ["vip"], "ignored": True}}]
    inserted = await _run(login, {"operation": "insert", "table": "customers", "columns": ["id", "name", "tags"]},
                          items)
    assert inserted[0]["json"]["tags"] == ["vip"] and inserted[0]["json"]["name"] == "Cy"
    upserted = await _run(login, {"operation": "upsert", "table": "customers", "match_columns": ["id"],
                                  "columns": ["id", "name"]},
                          [{"json": {"id": 3, "name": "Cyd"}}, {"json": {"id": 4, "name": "Di"}}])
    assert [o["json"]["name"] for o in upserted] == ["Cyd", "Di"]
    updated = await _run(login, {"operation": "update", "table": "customers", "match_columns": ["id"],
                                 "columns": ["score"]}, [{"json": {"id": 1, "score": 10}}])
    assert updated[0]["json"]["score"] == "10.00"
    selected = await _run(login, {"operation": "select", "table": "customers", "match_columns": ["name"]},
                          [{"json": {"name": "Di"}}])
    assert [o["json"]["id"] for o in selected] == [4]
    deleted = await _run(login, {"operation": "delete", "table": "customers", "match_columns": ["id"]},
                         [{"json": {"id": 2}}])
    assert deleted[0]["json"]["name"] == "Bob"
    assert _rows(login, "SELECT id, name FROM customers ORDER BY id") == [(1, "Ada"), (3, "Cyd"), (4, "Di")]


async def test_a_failing_item_rolls_the_whole_transaction_back(login):
    items = [{"json": {"id": 10, "name": "New"}}, {"json": {"id": 1, "name": "Duplicate key"}}]
    with pytest.raises(NodeUserError) as caught:
        await _run(login, {"operation": "insert", "table": "customers"}, items)
    assert "item 1" in str(caught.value) and "duplicate key value violates unique constraint" in str(caught.value)
    assert _rows(login, "SELECT count(*) FROM customers WHERE id = 10") == [(0,)]
    with pytest.raises(NodeUserError):
        await _run(login, {"operation": "insert", "table": "customers", "mode": "independently"}, items)
    assert _rows(login, "SELECT count(*) FROM customers WHERE id = 10") == [(1,)]


async def test_errors_name_the_servers_message(login):
    with pytest.raises(NodeUserError, match='relation "nope" does not exist'):
        await _run(login, {"query": "SELECT * FROM nope"}, [{"json": {}}])
    with pytest.raises(NodeUserError, match=r"uses \$2 but query_parameters has 1"):
        await _run(login, {"query": "SELECT $1, $2", "query_parameters": [1]}, [{"json": {}}])
    out = await _run(login, {"query": "UPDATE customers SET score = 0"}, [{"json": {}}])
    assert out == [{"json": {"success": True, "rowcount": 2}}]


async def test_loopback_is_refused_without_the_allow_list(login):
    with pytest.raises(AddressRefused):
        await run_node(Postgres, [{"json": {}}], params={"query": "SELECT 1"}, credentials={"postgres": login})


async def test_a_run_streams_a_query_in_batches_past_the_list_limit(login):
    """In a workflow run the engine calls produce: 250,000 rows (over the 100,000 a list may hold) arrive in
    batches of 1,000, read from the server row by row; the largest batch is all a step holds at once."""
    from nodes.builtin.postgres import BATCH_ROWS, MAX_ROWS
    from nodes.sdk.testing import FakeContext

    rows = 250_000
    params = {"query": f"SELECT g AS n, repeat('x', 100) AS pad FROM generate_series(1, {rows}) g"}
    with pytest.raises(NodeUserError, match="more than 100,000 rows"):  # the list path keeps its limit
        await _run(login, params, [{"json": {}}])
    ctx = FakeContext(Postgres, params, credentials={"postgres": login}, settings=LOOPBACK)
    count, largest, last = 0, 0, 0
    async for batch in Postgres().produce(ctx, [{"json": {}}]):
        count += len(batch)
        largest = max(largest, len(batch))
        last = batch[-1]["json"]["n"]
    assert (count, largest, last) == (rows, BATCH_ROWS, rows) and rows > MAX_ROWS


async def test_a_streamed_write_in_a_with_statement_still_runs(login):
    params = {"query": "WITH gone AS (DELETE FROM customers WHERE id = 2 RETURNING id) SELECT count(*) AS n FROM gone"}
    assert [i["json"] for i in await _run(login, params, [{"json": {}}])] == [{"n": 1}]
    assert _rows(login, "SELECT id FROM customers ORDER BY id") == [(1,)]
