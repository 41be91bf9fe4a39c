"""The Kafka node: produce one message per item to a topic of the cluster in the ``kafka`` credential.

Like n8n's Kafka node: ``topic``, an optional ``key`` (messages with one key keep their order), the
message is the item's json (``send_input_data``, the default) or ``message`` (objects and lists as JSON,
text as it is), and ``headers``. The producer is idempotent and waits for every in-sync replica
(``acks=all``): an item's output ``{"topic", "partition", "offset", "key"}`` means the cluster has it.
The bootstrap servers and every broker the cluster advertises are checked against the address policy
before anything is sent. Errors name Kafka's error (``UnknownTopicOrPartitionError`` ...); lost brokers
and timeouts are transient.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator

from nodes.sdk import Node, NodeParameters, NodeTransientError, NodeUserError, show_if
from nodes.sdk.net import AddressPolicy, checked_addresses_async

if TYPE_CHECKING:
    from aiokafka import AIOKafkaProducer

# aiokafka is imported where it is used, not at module level (start-up time)

TIMEOUT_S = 30
_TOPIC_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


class KafkaParameters(NodeParameters):
    topic: str = Field(min_length=1, max_length=249, description="The topic to produce to")
    key: str = Field("", max_length=10_000, description="Message key (empty: none; one key keeps its order)")
    send_input_data: bool = Field(True, description="Send the item's json as the message")
    message: Any = Field(None, description="send_input_data off: the message (objects as JSON, text as is)",
                         json_schema_extra=show_if(send_input_data=[False]))
    headers: dict[str, str] = Field(default_factory=dict, description="Message headers")

    @field_validator("topic")
    @classmethod
    def _topic_name(cls, value: str) -> str:
        if not set(value) <= _TOPIC_CHARS or value in (".", ".."):
            raise ValueError(f"topic {value!r} may only hold letters, digits, '.', '_' and '-'")
        return value


class Kafka(Node):
    """Produces one message per item."""

    type = "kafka"
    display_name = "Kafka"
    group = "integration"
    icon = "radio-tower"
    description = "Send messages to a Kafka topic."
    Parameters = KafkaParameters
    credential_slots = {"kafka": ("kafka",)}
    side_effects = True

    async def execute(self, ctx, items):
        from aiokafka import AIOKafkaProducer
        from aiokafka.errors import KafkaError, KafkaTimeoutError

        login = await ctx.credentials("kafka")
        policy = AddressPolicy.from_settings(ctx.settings)
        for server in login["bootstrap_servers"]:
            host, _, port = server.rpartition(":")
            await checked_addresses_async(host or server, int(port or 9092), policy)
        producer = AIOKafkaProducer(**login, acks="all", enable_idempotence=True,
                                    request_timeout_ms=TIMEOUT_S * 1000)
        where = f"Kafka {','.join(login['bootstrap_servers'])}"
        try:
            await asyncio.wait_for(producer.start(), TIMEOUT_S)
            for broker in producer.client.cluster.brokers():
                await checked_addresses_async(broker.host, broker.port, policy)
            return [await _send(producer, ctx.params(i), item, i, where) for i, item in enumerate(items)]
        except (KafkaTimeoutError, TimeoutError, OSError) as exc:
            raise NodeTransientError(f"{where}: {type(exc).__name__}: {exc}") from None
        except KafkaError as exc:
            if getattr(exc, "retriable", False):
                raise NodeTransientError(f"{where}: {type(exc).__name__}: {exc}") from None
            raise NodeUserError(f"{where}: {type(exc).__name__}: {exc}") from None
        finally:
            await producer.stop()


def _value(p: KafkaParameters, item: dict) -> bytes:
    value = item["json"] if p.send_input_data else p.message
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


async def _send(producer: AIOKafkaProducer, p: KafkaParameters, item: dict, index: int, where: str) -> dict:
    from aiokafka.errors import UnknownTopicOrPartitionError

    try:
        sent = await producer.send_and_wait(
            p.topic, _value(p, item), key=p.key.encode("utf-8") if p.key else None,
            headers=[(name, value.encode("utf-8")) for name, value in p.headers.items()] or None)
    except UnknownTopicOrPartitionError:
        raise NodeUserError(f"item {index}: {where} has no topic {p.topic!r} (and does not create it); "
                            "create the topic first", item_index=index) from None
    return {"json": {"topic": sent.topic, "partition": sent.partition, "offset": sent.offset, "key": p.key or None}}
