"""The RabbitMQ node: publish one message per item to a queue, or to an exchange with a routing key.

Like n8n's RabbitMQ node: ``mode`` ``queue`` sends to a queue (declared ``durable`` unless it exists with
other arguments, which RabbitMQ refuses with PRECONDITION_FAILED) through the default exchange; ``exchange``
declares an exchange of ``exchange_type`` and publishes with ``routing_key``. The message is the item's json
(``send_input_data``, the default) or ``message`` (objects and lists as JSON, text as it is, so
``{{ $json.body }}`` sends one field); ``persistent`` messages (delivery mode 2) survive a broker restart in a
durable queue; ``headers`` become the message's headers. Every publish waits for the broker's confirm: an
item's output ``{"success": true, ...}`` means RabbitMQ has the message. The server's address is checked
against the address policy. Refusals name RabbitMQ's reply (``NOT_FOUND``, ``ACCESS_REFUSED``,
``PRECONDITION_FAILED``); lost connections and timeouts are transient.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from nodes.builtin._amqp import amqp_error, connect, where
from nodes.sdk import Node, NodeParameters, NodeUserError
from nodes.sdk.net import AddressPolicy, checked_addresses_async

if TYPE_CHECKING:
    import aio_pika

# aio_pika is imported where it is used, not at module level (start-up time)

_NAME = {"max_length": 255, "pattern": r"^[^\x00-\x1f]*$"}  # AMQP short strings: 255 bytes, no control characters


class RabbitMqParameters(NodeParameters):
    mode: Literal["queue", "exchange"] = Field("queue", description="Send to a queue, or to an exchange")
    queue: str = Field("", **_NAME, description="mode queue: the queue (declared if it does not exist)")
    exchange: str = Field("", **_NAME, description="mode exchange: the exchange (declared if it does not exist)")
    exchange_type: Literal["direct", "fanout", "topic", "headers"] = Field(
        "fanout", description="mode exchange: how the exchange routes messages to its queues")
    routing_key: str = Field("", **_NAME, description="mode exchange: the routing key (direct and topic exchanges)")
    durable: bool = Field(True, description="Declare the queue or exchange durable (it survives a broker restart)")
    auto_delete: bool = Field(False, description="Declare it auto-deleted once its last consumer or queue goes")
    send_input_data: bool = Field(True, description="Send the item's json as the message (as JSON)")
    message: Any = Field(None, description="send_input_data off: the message (objects as JSON, text as is)")
    persistent: bool = Field(True, description="Persistent messages (delivery mode 2): kept on disk in durable queues")
    headers: dict[str, str] = Field(default_factory=dict, description="Message headers")
    content_type: str = Field("", max_length=255,
                              description="Content type (empty: application/json for JSON, text/plain for text)")

    @model_validator(mode="after")
    def _target(self) -> RabbitMqParameters:
        if self.mode == "queue" and not self.queue.strip():
            raise ValueError("mode 'queue' needs a queue name")
        if self.mode == "exchange" and not self.exchange.strip():
            raise ValueError("mode 'exchange' needs an exchange name (to send straight to a queue, use mode 'queue')")
        if len(self.headers) > 100:
            raise ValueError(f"at most 100 headers, got {len(self.headers)}")
        return self


class RabbitMq(Node):
    """Publishes one message per item, each confirmed by the broker."""

    type = "rabbitmq"
    display_name = "RabbitMQ"
    group = "integration"
    icon = "rabbit"
    description = "Send messages to a RabbitMQ queue or exchange (persistent, confirmed by the broker)."
    Parameters = RabbitMqParameters
    credential_slots = {"rabbitmq": ("rabbitmq",)}
    side_effects = True

    async def execute(self, ctx, items):
        params = [ctx.params(i) for i in range(len(items))]  # bad parameters fail before any connection
        login = await ctx.credentials("rabbitmq")
        addresses = await checked_addresses_async(login["host"], login["port"], AddressPolicy.from_settings(ctx.settings))
        place = where(login)
        connection = await connect(login, addresses)
        try:
            channel = await connection.channel(publisher_confirms=True)
            declared: dict[tuple, aio_pika.abc.AbstractExchange] = {}
            out = []
            for index, (item, p) in enumerate(zip(items, params, strict=True)):
                try:
                    exchange = await _target(channel, p, declared)
                    await exchange.publish(_message(p, item, index), routing_key=_routing_key(p))
                except NodeUserError:
                    raise
                except Exception as exc:  # noqa: BLE001 - amqp_error sorts refusals from lost connections
                    raise amqp_error(exc, place, item_index=index) from None
                out.append({"json": {"success": True, "mode": p.mode, "queue": p.queue or None,
                                     "exchange": p.exchange or None, "routing_key": _routing_key(p)}})
            return out
        finally:
            await connection.close()


async def _target(channel, p: RabbitMqParameters, declared: dict) -> aio_pika.abc.AbstractExchange:
    """The exchange to publish to, declaring the queue or exchange once per execution."""
    key = (p.mode, p.queue if p.mode == "queue" else p.exchange, p.exchange_type, p.durable, p.auto_delete)
    if key not in declared:
        if p.mode == "queue":
            await channel.declare_queue(p.queue, durable=p.durable, auto_delete=p.auto_delete)
            declared[key] = channel.default_exchange
        else:
            declared[key] = await channel.declare_exchange(p.exchange, p.exchange_type, durable=p.durable,
                                                           auto_delete=p.auto_delete)
    return declared[key]


def _routing_key(p: RabbitMqParameters) -> str:
    return p.queue if p.mode == "queue" else p.routing_key


def _message(p: RabbitMqParameters, item: dict, index: int) -> aio_pika.Message:
    import aio_pika

    value = item.get("json", {}) if p.send_input_data else p.message
    if isinstance(value, bytes):
        body, content_type = value, "application/octet-stream"
    elif isinstance(value, str):
        body, content_type = value.encode("utf-8"), "text/plain"
    else:
        try:
            body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise NodeUserError(f"item {index}: the message cannot be written as JSON ({exc})",
                                item_index=index) from None
        content_type = "application/json"
    return aio_pika.Message(
        body, headers=dict(p.headers) or None, content_type=p.content_type or content_type,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT if p.persistent else aio_pika.DeliveryMode.NOT_PERSISTENT)
