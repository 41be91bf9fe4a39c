"""The MySQL / MariaDB node (and the mysql credential's Test) against the MariaDB of `infra.sh up mariadb`."""

from __future__ import annotations

from urllib.parse import urlsplit

import pymysql
import pytest

from nodes.builtin.mysql import MySql
from nodes.sdk import NodeUserError
from nodes.sdk.net import AddressRefused
from nodes.sdk.testing import run_node

LOOPBACK = {"http_allow_list": ["127.0.0.1"]}


@pytest.fixture
def login(mariadb_url):
    url = urlsplit(mariadb_url)
    login = {"host": url.hostname, "port": url.port, "database": url.path.lstrip("/"), "user": url.username,
             "password": url.password, "tls": False}
    with _conn(login) as conn, conn.cursor() as cursor:
        cursor.execute("CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL, "
                       "score DECIMAL(6,2), tags JSON, seen DATETIME)")
        cursor.execute("INSERT INTO customers (id, name, score) VALUES (1, 'Ada', 9.5), (2, 'Bob', 3)")
        conn.commit()
    return login


def _conn(login: dict):
    return pymysql.connect(host=login["host"], port=login["port"], user=login["user"], password=login["password"],
                           database=login["database"])


def _rows(login: dict, query: str) -> list[tuple]:
    with _conn(login) as conn, conn.cursor() as cursor:
        cursor.execute(query)
        return [tuple(row) for row in cursor.fetchall()]


async def _run(login, params, items):
    return [o["json"] for o in (await run_node(MySql, items, params=params, credentials={"mysql": login},
                                               settings=LOOPBACK))["main"]]


async def test_query_with_parameters_per_item(login):
    query = "SELECT id, name, score FROM customers WHERE id = $1 AND name <> $2 AND '50%' LIKE '%'"
    out = await _run(login, [{"query": query, "query_parameters": [1, "x"]},
                             {"query": query, "query_parameters": [2, "x"]}], [{"json": {}}, {"json": {}}])
    assert out == [{"id": 1, "name": "Ada", "score": "9.50"}, {"id": 2, "name": "Bob", "score": "3.00"}]
    evil = "x' OR '1'='1"
    assert await _run(login, {"query": "SELECT count(*) AS n FROM customers WHERE name = $1",
                              "query_parameters": [evil]}, [{"json": {}}]) == [{"n": 0}]


async def test_insert_upsert_update_select_delete(login):
    out = await _run(login, {"operation": "insert", "table": "customers", "columns": ["id", "name", "tags"]},
                     [{"json": {"id": 3, "name": "Cy", "tags": ["vip"], "other": 1}}])
    assert out == [{"success": True, "affected_rows": 1, "insert_id": 0}]
    await _run(login, {"operation": "upsert", "table": "customers", "columns": ["id", "name"]},
               [{"json": {"id": 3, "name": "Cyd"}}, {"json": {"id": 4, "name": "Di"}}])
    await _run(login, {"operation": "update", "table": "customers", "match_columns": ["id"], "columns": ["score"]},
               [{"json": {"id": 1, "score": 10}}])
    selected = await _run(login, {"operation": "select", "table": "customers", "match_columns": ["id"]},
                          [{"json": {"id": 3}}])
    assert selected[0]["name"] == "Cyd" and selected[0]["tags"] == '["vip"]'
    deleted = await _run(login, {"operation": "delete", "table": "customers", "match_columns": ["id"]},
                         [{"json": {"id": 2}}])
    assert deleted == [{"success": True, "affected_rows": 1, "insert_id": 0}]
    assert _rows(login, "SELECT id, name, score FROM customers ORDER BY id") == [
        (1, "Ada", pytest.approx(10)), (3, "Cyd", None), (4, "Di", None)]


async def test_a_failing_item_rolls_the_whole_transaction_back(login):
    items = [{"json": {"id": 10, "name": "New"}}, {"json": {"id": 1, "name": "Duplicate"}}]
    with pytest.raises(NodeUserError) as caught:
        await _run(login, {"operation": "insert", "table": "customers"}, items)
    assert "item 1" in str(caught.value) and "(1062) Duplicate entry '1' for key 'PRIMARY'" in str(caught.value)
    assert _rows(login, "SELECT count(*) FROM customers WHERE id = 10") == [(0,)]
    with pytest.raises(NodeUserError):
        await _run(login, {"operation": "insert", "table": "customers", "mode": "independently"}, items)
    assert _rows(login, "SELECT count(*) FROM customers WHERE id = 10") == [(1,)]


async def test_errors_name_the_servers_message(login):
    with pytest.raises(NodeUserError, match=r"\(1146\) Table '.*\.nope' doesn't exist"):
        await _run(login, {"query": "SELECT * FROM nope"}, [{"json": {}}])
    with pytest.raises(NodeUserError, match=r"uses \$2 but query_parameters has 1"):
        await _run(login, {"query": "SELECT $1, $2", "query_parameters": [1]}, [{"json": {}}])
    with pytest.raises(NodeUserError, match=r"\(1045\) Access denied"):
        await _run({**login, "password": "wrong"}, {"query": "SELECT 1"}, [{"json": {}}])


async def test_loopback_is_refused_without_the_allow_list(login):
    with pytest.raises(AddressRefused):
        await run_node(MySql, [{"json": {}}], params={"query": "SELECT 1"}, credentials={"mysql": login})


async def test_the_credential_test(login, configure):
    from backend.credentials.types.mysql import MySql as MySqlCredential
    from backend.credentials.types.mysql import MySqlFields

    configure(HTTP_ALLOW_LIST="127.0.0.1")
    fields = {k: v for k, v in login.items() if k != "tls"}
    result = await MySqlCredential().test(MySqlFields(**fields))
    assert result.ok and "server 10." in result.message
    wrong = await MySqlCredential().test(MySqlFields(**{**fields, "password": "wrong"}))
    assert not wrong.ok and "Access denied" in wrong.message and "wrong" not in wrong.message
