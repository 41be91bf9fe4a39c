"""Redis Trigger and Kafka Trigger: parameters, and the item each message becomes (listening itself runs against
the real servers in tests/integration/test_listener_triggers.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from nodes.builtin.kafka_trigger import KafkaTriggerParameters
from nodes.builtin.kafka_trigger import _item as kafka_item
from nodes.builtin.redis_trigger import RedisTriggerParameters
from nodes.builtin.redis_trigger import _item as redis_item
from nodes.sdk.testing import run_node


def test_redis_channels_split_into_names_and_patterns():
    p = RedisTriggerParameters(channels=" orders , events.* ,user.[ab] ,")
    assert p.channels == "orders,events.*,user.[ab]"
    assert p.split() == (["orders"], ["events.*", "user.[ab]"])
    with pytest.raises(ValidationError, match="name at least one channel"):
        RedisTriggerParameters(channels=" , ")


def test_a_redis_message_becomes_an_item():
    p = RedisTriggerParameters(channels="o.*", json_parse_body=True)
    message = {"type": "pmessage", "pattern": b"o.*", "channel": b"o.paid", "data": b'{"id": 7}'}
    assert redis_item(message, p) == {"json": {"channel": "o.paid", "message": {"id": 7}, "pattern": "o.*"}}
    not_json = {"type": "message", "pattern": None, "channel": b"o", "data": b"hello"}
    assert redis_item(not_json, p) == {"json": {"channel": "o", "message": "hello"}}
    only = RedisTriggerParameters(channels="o", json_parse_body=True, only_message=True)
    assert redis_item(message, only) == {"json": {"id": 7}}
    assert redis_item(not_json, only) == {"json": {"message": "hello"}}


def test_kafka_parameters_are_checked():
    with pytest.raises(ValidationError, match="may only hold letters"):
        KafkaTriggerParameters(topic="bad topic", group_id="g")
    with pytest.raises(ValidationError, match="group_id"):
        KafkaTriggerParameters(topic="t", group_id="g/1")
    assert KafkaTriggerParameters(topic="orders", group_id="linkflow:orders").from_beginning is False


def test_a_kafka_record_becomes_an_item():
    record = SimpleNamespace(topic="orders", partition=1, offset=41, key=b"c-7", value=b'{"total": 3}',
                             timestamp=1764950400000, headers=[("source", b"shop")])
    p = KafkaTriggerParameters(topic="orders", group_id="g")
    assert kafka_item(record, p) == {"json": {"topic": "orders", "partition": 1, "offset": 41, "key": "c-7",
                                              "message": {"total": 3}, "timestamp": 1764950400000,
                                              "headers": {"source": "shop"}}}
    raw = KafkaTriggerParameters(topic="orders", group_id="g", json_parse_message=False, only_message=True)
    assert kafka_item(record, raw) == {"json": {"message": '{"total": 3}'}}


async def test_in_a_run_the_trigger_passes_the_message_on():
    from nodes.builtin.redis_trigger import RedisTrigger

    item = {"json": {"channel": "o", "message": "hi"}}
    assert (await run_node(RedisTrigger, [item], params={"channels": "o"}))["main"] == [item]
