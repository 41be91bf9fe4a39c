"""The Kafka Trigger: every message of a topic starts an execution, consumed with a consumer group.

Like n8n's Kafka Trigger: ``topic``, ``group_id``, ``from_beginning`` (a group with no committed offset starts
at the oldest message rather than the newest), ``json_parse_message`` and ``only_message``. Each message starts
one execution whose item is ``{"topic", "partition", "offset", "key", "message", "headers", "timestamp"}``.

No message is lost: offsets are committed by hand, one message at a time, and only after its execution is
committed to the database (``ctx.emit`` returned). A process killed between the two delivers that message
again when the group resumes: at least once, so a workflow that must not act twice on one message can check
``offset`` (or the message's own id). Members of one group share the topic's partitions, so two LinkFlow
installations (or a failover) never both consume a message the group has committed. The bootstrap servers and
every broker the cluster advertises are checked against the address policy before anything is read.
"""

from __future__ import annotations

import asyncio
import json

from pydantic import Field, field_validator

from nodes.builtin.kafka import _TOPIC_CHARS, TIMEOUT_S
from nodes.sdk import Node, NodeParameters, NodeTransientError, NodeUserError, TriggerSpec
from nodes.sdk.net import AddressPolicy, checked_addresses_async

# aiokafka is imported where it is used, not at module level (start-up time)

_GROUP_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:")


class KafkaTriggerParameters(NodeParameters):
    topic: str = Field(min_length=1, max_length=249, description="The topic to consume")
    group_id: str = Field(min_length=1, max_length=255,
                          description="Consumer group: its committed offsets say where consuming resumes")
    from_beginning: bool = Field(False, description="A new group starts at the oldest message (off: the newest)")
    json_parse_message: bool = Field(True, description="Parse the message as JSON when it is JSON")
    only_message: bool = Field(False, description="The item is the (parsed) message alone")

    @field_validator("topic")
    @classmethod
    def _topic_name(cls, value: str) -> str:
        if not set(value) <= _TOPIC_CHARS or value in (".", ".."):
            raise ValueError(f"topic {value!r} may only hold letters, digits, '.', '_' and '-'")
        return value

    @field_validator("group_id")
    @classmethod
    def _group(cls, value: str) -> str:
        if not set(value) <= _GROUP_CHARS:
            raise ValueError(f"group_id {value!r} may only hold letters, digits, '.', '_', '-' and ':'")
        return value


class KafkaTrigger(Node):
    type = "kafka_trigger"
    display_name = "Kafka Trigger"
    group = "trigger"
    icon = "radio-tower"
    description = ("Starts the workflow for every message of a Kafka topic (consumer group; offsets committed "
                   "only once the execution is queued), while the workflow is active.")
    inputs = ()
    trigger = TriggerSpec(kind="listener")
    Parameters = KafkaTriggerParameters
    credential_slots = {"kafka": ("kafka",)}
    side_effects = False

    async def execute(self, ctx, items):
        if any(item.get("json") for item in items):
            return items
        return [{"json": {"topic": "", "partition": 0, "offset": 0, "key": None, "message": None}}]

    async def listen(self, ctx) -> None:
        from aiokafka import AIOKafkaConsumer, TopicPartition
        from aiokafka.errors import KafkaError, KafkaTimeoutError

        p: KafkaTriggerParameters = ctx.params
        login = await ctx.credentials("kafka")
        policy = AddressPolicy.from_settings(ctx.settings)
        for server in login["bootstrap_servers"]:
            host, _, port = server.rpartition(":")
            await checked_addresses_async(host or server, int(port or 9092), policy)
        where = f"Kafka {','.join(login['bootstrap_servers'])}"
        consumer = AIOKafkaConsumer(p.topic, **login, group_id=p.group_id, enable_auto_commit=False,
                                    auto_offset_reset="earliest" if p.from_beginning else "latest",
                                    request_timeout_ms=TIMEOUT_S * 1000)
        try:
            await asyncio.wait_for(consumer.start(), TIMEOUT_S)
            for broker in consumer._client.cluster.brokers():
                await checked_addresses_async(broker.host, broker.port, policy)
            topics = await consumer.topics()
            if p.topic not in topics:
                raise NodeUserError(f"{where} has no topic {p.topic!r}; create the topic first")
            ctx.listening(f"consuming {p.topic} as group {p.group_id} on {where}")
            while True:
                batch = await consumer.getmany(timeout_ms=1000, max_records=100)
                for partition, records in batch.items():
                    for record in records:
                        await ctx.emit([_item(record, p)])  # durably queued first ...
                        await consumer.commit({TopicPartition(partition.topic, partition.partition):
                                               record.offset + 1})  # ... then acknowledged
        except (KafkaTimeoutError, TimeoutError, OSError) as exc:
            raise NodeTransientError(f"{where}: {type(exc).__name__}: {exc}") from None
        except KafkaError as exc:
            if getattr(exc, "retriable", False):
                raise NodeTransientError(f"{where}: {type(exc).__name__}: {exc}") from None
            raise NodeUserError(f"{where}: {type(exc).__name__}: {exc}") from None
        finally:
            await consumer.stop()


def _item(record, p: KafkaTriggerParameters) -> dict:
    raw = record.value or b""
    text = raw.decode("utf-8", errors="replace")
    message = text
    if p.json_parse_message:
        try:
            message = json.loads(text)
        except ValueError:
            message = text
    if p.only_message:
        return {"json": message if isinstance(message, dict) else {"message": message}}
    return {"json": {"topic": record.topic, "partition": record.partition, "offset": record.offset,
                     "key": record.key.decode("utf-8", errors="replace") if record.key else None,
                     "message": message, "timestamp": record.timestamp,
                     "headers": {k: v.decode("utf-8", errors="replace") for k, v in record.headers or ()}}}
