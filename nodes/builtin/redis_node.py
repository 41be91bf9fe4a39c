"""The Redis node: get, set, delete, incr, publish, lists (push, pop, range) and hashes (get, set, get all).

Shaped like n8n's Redis node: one command per item on ``key``. Read results are written into the item under
``property_name`` (``get``, ``incr``, ``pop``, ``list_range``, ``hash_get``, ``hash_get_all``); writes pass
the item through (``publish`` adds ``receivers``: how many subscribers got the message). Objects and lists
are stored as JSON text; ``parse_json`` reads them back as values. ``expire_s`` sets a time to live on
``set`` and ``incr``. Redis errors are user errors quoting the server (``WRONGTYPE ...``); lost connections
are transient. The server's address is checked against the platform's address policy and pinned.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

import redis
from pydantic import Field, model_validator

from nodes.sdk import Node, NodeParameters, NodeTransientError, NodeUserError
from nodes.sdk.net import AddressPolicy, checked_addresses_async
from nodes.sdk.redis_client import pinned_redis

Operation = Literal["get", "set", "delete", "incr", "publish", "push", "pop", "list_range", "hash_get",
                    "hash_set", "hash_get_all"]
TIMEOUT_S = 10
_READS = {"get", "incr", "pop", "list_range", "hash_get", "hash_get_all"}


class RedisParameters(NodeParameters):
    operation: Operation = Field("get", description="The command to run for each item")
    key: str = Field("", max_length=10_000, description="The key (publish: the channel)")
    value: Any = Field(None, description="set/push/publish/hash_set: the value; objects and lists as JSON")
    field: str = Field("", max_length=10_000, description="hash_get/hash_set: the field of the hash")
    property_name: str = Field("value", min_length=1, description="Where a read result goes in the item")
    keep_input: bool = Field(True, description="Read results are added to the item; off: the item is only the result")
    parse_json: bool = Field(False, description="Read JSON text back as a value (get, pop, list_range, hashes)")
    expire_s: int | None = Field(None, ge=1, description="set/incr: seconds until the key expires")
    by: int = Field(1, description="incr: how much to add (negative: subtract)")
    side: Literal["left", "right"] = Field("right", description="push/pop: the list's head (left) or tail")
    start: int = Field(0, description="list_range: first index")
    stop: int = Field(-1, description="list_range: last index (-1: the end)")

    @model_validator(mode="after")
    def _key_needed(self) -> RedisParameters:
        if not self.key:
            raise ValueError(f"{self.operation} needs a key" + (" (the channel)" if self.operation == "publish" else ""))
        if self.operation in ("hash_get", "hash_set") and not self.field:
            raise ValueError(f"{self.operation} needs a field")
        return self


class Redis(Node):
    """One command per item on the Redis server of the ``redis`` credential."""

    type = "redis"
    display_name = "Redis"
    group = "integration"
    icon = "database"
    description = "Get, set, increment, publish, and work with lists and hashes in Redis."
    Parameters = RedisParameters
    credential_slots = {"redis": ("redis",)}
    side_effects = True

    async def execute(self, ctx, items):
        login = await ctx.credentials("redis")
        addresses = await checked_addresses_async(login["host"], login["port"],
                                                  AddressPolicy.from_settings(ctx.settings))
        params = [ctx.params(i) for i in range(len(items))]
        where = f"Redis {login['host']}:{login['port']}/{login.get('db', 0)}"
        try:
            return await asyncio.to_thread(_run_all, login, addresses, params, items, where)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            if isinstance(exc, redis.AuthenticationError):
                raise NodeUserError(f"{where} refused the user name or password") from None
            raise NodeTransientError(f"{where}: {type(exc).__name__}: {exc}") from None


def _run_all(login: dict, addresses: list[str], params: list, items: list, where: str) -> list[dict]:
    client = _client(login, addresses)
    try:
        return [_one(client, p, item, index, where) for index, (p, item) in enumerate(zip(params, items, strict=True))]
    finally:
        client.close()


def _one(client: redis.Redis, p: RedisParameters, item: dict, index: int, where: str) -> dict:
    try:
        result = _command(client, p)
    except redis.ResponseError as exc:
        raise NodeUserError(f"item {index}: {where} refused {p.operation} on {p.key!r}: {exc}",
                            item_index=index) from None
    out = dict(item["json"]) if p.keep_input or p.operation not in _READS else {}
    if p.operation in _READS:
        out[p.property_name] = _decoded(result, p.parse_json)
    elif p.operation == "publish":
        out["receivers"] = result
    return {"json": out}


def _command(client: redis.Redis, p: RedisParameters) -> Any:
    key, op = p.key, p.operation
    if op == "get":
        return client.get(key)
    if op == "set":
        return client.set(key, _encoded(p.value), ex=p.expire_s)
    if op == "delete":
        return client.delete(key)
    if op == "incr":
        with client.pipeline() as pipe:  # MULTI/EXEC: the counter and its expiry together
            pipe.incrby(key, p.by)
            if p.expire_s:
                pipe.expire(key, p.expire_s)
            return pipe.execute()[0]
    if op == "publish":
        return client.publish(key, _encoded(p.value))
    if op == "push":
        return (client.lpush if p.side == "left" else client.rpush)(key, _encoded(p.value))
    if op == "pop":
        return (client.lpop if p.side == "left" else client.rpop)(key)
    if op == "list_range":
        return client.lrange(key, p.start, p.stop)
    if op == "hash_get":
        return client.hget(key, p.field)
    if op == "hash_set":
        return client.hset(key, p.field, _encoded(p.value))
    return client.hgetall(key)


def _encoded(value: Any) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value


def _decoded(value: Any, parse: bool) -> Any:
    if isinstance(value, bytes):
        text = value.decode("utf-8", errors="replace")
        if parse:
            try:
                return json.loads(text)
            except ValueError:
                return text
        return text
    if isinstance(value, list):
        return [_decoded(v, parse) for v in value]
    if isinstance(value, dict):
        return {_decoded(k, False): _decoded(v, parse) for k, v in value.items()}
    return value


def _client(login: dict, addresses: list[str]) -> redis.Redis:
    return pinned_redis(login, addresses, TIMEOUT_S)
