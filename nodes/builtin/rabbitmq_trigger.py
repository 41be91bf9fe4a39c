"""The RabbitMQ Trigger: every message of a queue starts an execution.

Like n8n's RabbitMQ Trigger: ``queue`` (declared ``durable`` when ``assert_queue`` is on, else it must exist),
an optional binding of the queue to ``binding_exchange`` with ``binding_routing_key`` (the exchange must
exist), ``prefetch`` (how many unacknowledged messages RabbitMQ hands over at a time), ``json_parse_body`` and
``only_content``. The item has n8n's shape: ``{"content", "fields": {"exchange", "routingKey", "redelivered",
"deliveryTag", "consumerTag"}, "properties": {"contentType", "headers", "messageId", ...}}``, the content
parsed as JSON when ``json_parse_body`` is on and it is JSON (else text).

No message is lost: a message is acknowledged only after its execution is committed to the database
(``ctx.emit`` returned); when queueing fails it is rejected back to the queue (requeued). A process killed
in between leaves the message unacknowledged, and RabbitMQ delivers it again (``fields.redelivered`` true) to
the listener that takes over: at least once, so a workflow that must not act twice on one message can check
``properties.messageId`` (or the message's own id). The server's address is checked against the address policy.
"""

from __future__ import annotations

import asyncio
import json
import math

from pydantic import Field, model_validator

from nodes.builtin._amqp import amqp_error, connect, where
from nodes.sdk import Node, NodeError, NodeParameters, NodeTransientError, TriggerSpec
from nodes.sdk.net import AddressPolicy, checked_addresses_async

_NAME = {"max_length": 255, "pattern": r"^[^\x00-\x1f]*$"}
MAX_CONTENT_DEPTH = 200  # as every JSON LinkFlow accepts (backend/json_limits.py); deeper content stays text


class RabbitMqTriggerParameters(NodeParameters):
    queue: str = Field(min_length=1, **_NAME, description="The queue to consume")
    assert_queue: bool = Field(True, description="Declare the queue if it does not exist (off: it must exist)")
    durable: bool = Field(True, description="assert_queue: declare the queue durable (survives a broker restart)")
    auto_delete: bool = Field(False, description="assert_queue: delete the queue once its last consumer goes")
    binding_exchange: str = Field("", **_NAME, description="Bind the queue to this exchange (empty: no binding)")
    binding_routing_key: str = Field("", **_NAME, description="The binding's routing key ('#' for all on a topic)")
    prefetch: int = Field(10, ge=1, le=1000, description="Unacknowledged messages RabbitMQ hands over at a time")
    json_parse_body: bool = Field(True, description="Parse the content as JSON when it is JSON")
    only_content: bool = Field(False, description="The item is the (parsed) content alone")

    @model_validator(mode="after")
    def _binding(self) -> RabbitMqTriggerParameters:
        if self.binding_routing_key and not self.binding_exchange:
            raise ValueError("binding_routing_key needs binding_exchange: the exchange to bind the queue to")
        return self


class RabbitMqTrigger(Node):
    type = "rabbitmq_trigger"
    display_name = "RabbitMQ Trigger"
    group = "trigger"
    icon = "rabbit"
    description = ("Starts the workflow for every message of a RabbitMQ queue (acknowledged only once the "
                   "execution is queued; redelivered after a crash), while the workflow is active.")
    inputs = ()
    trigger = TriggerSpec(kind="listener")
    Parameters = RabbitMqTriggerParameters
    credential_slots = {"rabbitmq": ("rabbitmq",)}
    side_effects = False

    async def execute(self, ctx, items):
        if any(item.get("json") for item in items):
            return items
        return [{"json": {"content": None, "fields": {"exchange": "", "routingKey": "", "redelivered": False},
                          "properties": {}}}]

    async def listen(self, ctx) -> None:
        p: RabbitMqTriggerParameters = ctx.params
        login = await ctx.credentials("rabbitmq")
        addresses = await checked_addresses_async(login["host"], login["port"], AddressPolicy.from_settings(ctx.settings))
        place = where(login)
        connection = await connect(login, addresses)
        try:
            channel = await connection.channel(publisher_confirms=False)
            queue = await _declare(channel, p)
            bound = f" bound to {p.binding_exchange!r}" if p.binding_exchange else ""
            ctx.listening(f"consuming queue {p.queue!r}{bound} on {place} (prefetch {p.prefetch})")
            await _consume(channel, queue, ctx, p)
            raise NodeTransientError(f"{place}: the server closed the connection, the channel or the consumer (a "
                                     "restart, a forced close, a deleted queue); the listener connects again")
        except NodeError:
            raise
        except Exception as exc:  # noqa: BLE001 - amqp_error sorts refusals from lost connections
            if type(exc).__module__.startswith(("aiormq", "aio_pika", "pamqp")) or isinstance(exc, OSError):
                raise amqp_error(exc, place) from None
            raise
        finally:
            await connection.close()


async def _declare(channel, p: RabbitMqTriggerParameters):
    await channel.set_qos(prefetch_count=p.prefetch)
    if p.assert_queue:
        queue = await channel.declare_queue(p.queue, durable=p.durable, auto_delete=p.auto_delete)
    else:
        queue = await channel.declare_queue(p.queue, passive=True)
    if p.binding_exchange:
        await queue.bind(p.binding_exchange, routing_key=p.binding_routing_key)
    return queue


async def _consume(channel, queue, ctx, p: RabbitMqTriggerParameters) -> None:
    """Queue an execution per message, then acknowledge it; return when the server ends the consumer."""
    ended = asyncio.Event()  # the broker cancels a consumer (a deleted queue) without closing the channel
    (await channel.get_underlay_channel()).on_consumer_cancel_callbacks.add(lambda frame: ended.set())
    waiting_end = asyncio.ensure_future(ended.wait())
    arrival: asyncio.Future | None = None
    try:
        async with queue.iterator() as messages:
            while True:
                arrival = asyncio.ensure_future(anext(messages))
                await asyncio.wait({arrival, waiting_end}, return_when=asyncio.FIRST_COMPLETED)
                if not arrival.done():
                    return
                try:
                    message = arrival.result()
                except StopAsyncIteration:  # the channel or the connection closed
                    return
                try:
                    await ctx.emit([_item(message, p)])  # durably queued first ...
                except Exception:
                    await message.reject(requeue=True)  # ... else back to the queue
                    raise
                await message.ack()  # ... then acknowledged
    finally:  # also when the listener is cancelled (deactivation) while waiting
        waiting_end.cancel()
        if arrival is not None:
            arrival.cancel()


def _item(message, p: RabbitMqTriggerParameters) -> dict:
    text = _text((message.body or b"").decode("utf-8", errors="replace"))
    content = text
    if p.json_parse_body:
        try:
            content = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
        except (ValueError, RecursionError):
            content = text
        if not _storable(content):
            content = text  # JSON the execution could not store stays text: never a message requeued forever
    if p.only_content:
        return {"json": content if isinstance(content, dict) else {"content": content}}
    return {"json": {"content": content,
                     "fields": {"exchange": message.exchange or "", "routingKey": message.routing_key or "",
                                "redelivered": bool(message.redelivered), "deliveryTag": message.delivery_tag,
                                "consumerTag": message.consumer_tag},
                     "properties": _properties(message)}}


def _properties(message) -> dict:
    found = {"contentType": message.content_type, "contentEncoding": message.content_encoding,
             "headers": {k: _plain(v) for k, v in (message.headers or {}).items()},
             "deliveryMode": int(message.delivery_mode) if message.delivery_mode else None,
             "priority": message.priority or None, "correlationId": message.correlation_id, "replyTo": message.reply_to,
             "messageId": message.message_id, "type": message.type, "appId": message.app_id,
             "timestamp": message.timestamp.isoformat() if message.timestamp else None}
    return {k: v for k, v in found.items() if v not in (None, "")}


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} is too large for JSON")
    return value


def _text(text: str) -> str:
    """Text PostgreSQL can store (no NUL character)."""
    return text.replace("\x00", "\ufffd")


def _storable(value, max_depth: int = MAX_CONTENT_DEPTH) -> bool:
    """Whether parsed JSON nests at most ``max_depth`` levels and holds only text PostgreSQL can store."""
    pending = [(value, 1)]
    while pending:
        current, depth = pending.pop()
        if depth > max_depth:
            return False
        if isinstance(current, dict):
            pending += [(k, depth) for k in current] + [(v, depth + 1) for v in current.values()]
        elif isinstance(current, list):
            pending += [(v, depth + 1) for v in current]
        elif isinstance(current, str) and ("\x00" in current or not current.isascii() and not _encodable(current)):
            return False
    return True


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a "\\ud800" escape
        return False
    return True


def _plain(value):
    """Header values as JSON: bytes as text, timestamps as ISO text, nested tables and lists kept."""
    if isinstance(value, str):
        return _text(value) if _encodable(value) else value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, bytes | bytearray):
        return _text(bytes(value).decode("utf-8", errors="replace"))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, int | float | bool) or value is None:
        return value
    return str(value)
