"""The Redis node against the real server of `make infra-up` (this worktree's database of LINKFLOW_TEST_REDIS_URL)."""

from __future__ import annotations

import threading
import uuid
from urllib.parse import urlsplit

import pytest
import redis

from nodes.builtin.redis_node import Redis
from nodes.sdk import NodeUserError
from nodes.sdk.net import AddressRefused
from nodes.sdk.testing import run_node

LOOPBACK = {"http_allow_list": ["127.0.0.1"]}


@pytest.fixture
def login(redis_url):
    url = urlsplit(redis_url)
    return {"host": url.hostname, "port": url.port, "db": int(url.path.lstrip("/") or 0), "username": None,
            "password": url.password, "ssl": False}


async def _run(login, params, items=None):
    items = items if items is not None else [{"json": {"id": 1}}]
    return [o["json"] for o in (await run_node(Redis, items, params=params, credentials={"redis": login},
                                               settings=LOOPBACK))["main"]]


async def test_set_get_with_json_and_expiry(login, redis_url):
    assert await _run(login, {"operation": "set", "key": "order:1", "value": {"total": 5}, "expire_s": 60}) == \
        [{"id": 1}]
    assert await _run(login, {"operation": "get", "key": "order:1", "parse_json": True,
                              "property_name": "order"}) == [{"id": 1, "order": {"total": 5}}]
    assert await _run(login, {"operation": "get", "key": "order:1"}) == [{"id": 1, "value": '{"total": 5}'}]
    assert 0 < redis.Redis.from_url(redis_url).ttl("order:1") <= 60
    assert await _run(login, {"operation": "get", "key": "missing"}) == [{"id": 1, "value": None}]
    await _run(login, {"operation": "delete", "key": "order:1"})
    assert redis.Redis.from_url(redis_url).exists("order:1") == 0


async def test_incr_per_item(login):
    out = await _run(login, {"operation": "incr", "key": "hits", "by": 5}, [{"json": {}}, {"json": {}}])
    assert out == [{"value": 5}, {"value": 10}]


async def test_lists_and_hashes(login):
    items = [{"json": {"n": i}} for i in range(3)]
    await _run(login, [{"operation": "push", "key": "queue", "value": i} for i in range(3)], items)
    assert await _run(login, {"operation": "list_range", "key": "queue"}) == [{"id": 1, "value": ["0", "1", "2"]}]
    assert await _run(login, {"operation": "pop", "key": "queue", "side": "left"}) == [{"id": 1, "value": "0"}]
    await _run(login, {"operation": "hash_set", "key": "user:1", "field": "name", "value": "Ada"})
    await _run(login, {"operation": "hash_set", "key": "user:1", "field": "tags", "value": ["x"]})
    assert await _run(login, {"operation": "hash_get", "key": "user:1", "field": "name"}) == \
        [{"id": 1, "value": "Ada"}]
    assert await _run(login, {"operation": "hash_get_all", "key": "user:1", "parse_json": True}) == \
        [{"id": 1, "value": {"name": "Ada", "tags": ["x"]}}]


async def test_publish_reaches_a_subscriber(login, redis_url):
    subscriber = redis.Redis.from_url(redis_url).pubsub()
    channel = f"lf-integrations-{uuid.uuid4().hex}"  # channels are server-wide: a name of our own
    subscriber.subscribe(channel)
    assert subscriber.get_message(timeout=2)["type"] == "subscribe"
    got: list = []
    reader = threading.Thread(target=lambda: got.append(subscriber.get_message(timeout=5)))
    reader.start()
    out = await _run(login, {"operation": "publish", "key": channel, "value": {"event": "paid"}})
    reader.join()
    assert out == [{"id": 1, "receivers": 1}]
    assert got[0]["data"] == b'{"event": "paid"}'
    subscriber.close()


async def test_wrong_type_names_the_servers_message(login):
    await _run(login, {"operation": "set", "key": "text", "value": "x"})
    with pytest.raises(NodeUserError, match="refused push on 'text': WRONGTYPE"):
        await _run(login, {"operation": "push", "key": "text", "value": 1})


async def test_loopback_is_refused_without_the_allow_list(login):
    with pytest.raises(AddressRefused):
        await run_node(Redis, [{"json": {}}], params={"operation": "get", "key": "k"}, credentials={"redis": login})
