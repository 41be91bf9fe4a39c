"""The Redis Trigger: every message published on a channel (or on channels matching a pattern) starts an execution.

Like n8n's Redis Trigger: ``channels`` is a comma-separated list; a name with ``*``, ``?`` or ``[`` subscribes
to a pattern (PSUBSCRIBE). Each message starts one execution whose item is ``{"channel", "message"}`` (plus
``"pattern"`` for a pattern), the message parsed as JSON when ``json_parse_body`` is on and it is JSON, and with
``only_message`` the item is the message alone. Pub/sub delivers only to subscribers connected at the time:
messages published while no listener runs (a failover takes about a second) are not seen; use a Redis list or
Kafka where every message must be processed. The server's address is checked against the address policy.
"""

from __future__ import annotations

import asyncio
import json

import redis
from pydantic import Field, field_validator

from nodes.sdk import Node, NodeParameters, NodeTransientError, NodeUserError, TriggerSpec
from nodes.sdk.net import AddressPolicy, checked_addresses_async
from nodes.sdk.redis_client import pinned_redis

POLL_S = 1.0  # a cancelled listener stops within this
TIMEOUT_S = 10  # connect and read timeout, as the Redis node


class RedisTriggerParameters(NodeParameters):
    channels: str = Field(min_length=1, max_length=2000,
                          description="Channels to subscribe to, comma-separated; '*', '?' or '[...]' make a pattern "
                                      "(e.g. 'orders.*')")
    json_parse_body: bool = Field(False, description="Parse the message as JSON when it is JSON")
    only_message: bool = Field(False, description="The item is the message alone, without the channel")

    @field_validator("channels")
    @classmethod
    def _names(cls, value: str) -> str:
        names = [name.strip() for name in value.split(",") if name.strip()]
        if not names:
            raise ValueError("name at least one channel, e.g. 'orders' or 'orders.*'")
        return ",".join(names)

    def split(self) -> tuple[list[str], list[str]]:
        names = self.channels.split(",")
        patterns = [n for n in names if any(c in n for c in "*?[")]
        return [n for n in names if n not in patterns], patterns


class RedisTrigger(Node):
    type = "redis_trigger"
    display_name = "Redis Trigger"
    group = "trigger"
    icon = "database"
    description = ("Starts the workflow for every message published on Redis channels (pub/sub), "
                   "while the workflow is active.")
    inputs = ()
    trigger = TriggerSpec(kind="listener")
    Parameters = RedisTriggerParameters
    credential_slots = {"redis": ("redis",)}
    side_effects = False

    async def execute(self, ctx, items):
        # The listener hands over the message as the items; a manual run shows what an item looks like.
        if any(item.get("json") for item in items):
            return items
        return [{"json": {"channel": "", "message": None}}]

    async def listen(self, ctx) -> None:
        p: RedisTriggerParameters = ctx.params
        login = await ctx.credentials("redis")
        addresses = await checked_addresses_async(login["host"], login["port"], AddressPolicy.from_settings(ctx.settings))
        where = f"Redis {login['host']}:{login['port']}"
        client = pinned_redis(login, addresses, TIMEOUT_S)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        channels, patterns = p.split()
        try:
            try:
                await asyncio.to_thread(_subscribe, pubsub, channels, patterns)
                ctx.listening(f"subscribed to {p.channels} on {where}")
                while True:
                    message = await asyncio.to_thread(pubsub.get_message, timeout=POLL_S)
                    if message is not None and message["type"] in ("message", "pmessage"):
                        await ctx.emit([_item(message, p)])
            except redis.AuthenticationError:
                raise NodeUserError(f"{where} refused the user name or password") from None
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                raise NodeTransientError(f"{where}: {type(exc).__name__}: {exc}") from None
            except redis.ResponseError as exc:
                raise NodeUserError(f"{where} refused the subscription to {p.channels}: {exc}") from None
        finally:
            await asyncio.to_thread(_close, pubsub, client)


def _subscribe(pubsub, channels: list[str], patterns: list[str]) -> None:
    if channels:
        pubsub.subscribe(*channels)
    if patterns:
        pubsub.psubscribe(*patterns)


def _close(pubsub, client) -> None:
    try:
        pubsub.close()
    finally:
        client.close()


def _item(message: dict, p: RedisTriggerParameters) -> dict:
    data = message["data"]
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else str(data)
    value = text
    if p.json_parse_body:
        try:
            value = json.loads(text)
        except ValueError:
            value = text
    if p.only_message:
        return {"json": value if isinstance(value, dict) else {"message": value}}
    item = {"channel": _text(message["channel"]), "message": value}
    if message.get("pattern"):
        item["pattern"] = _text(message["pattern"])
    return {"json": item}


def _text(value) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
