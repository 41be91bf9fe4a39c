"""The RabbitMQ node and RabbitMQ Trigger without a broker: parameters, message bodies, the item a delivery becomes,
the AMQP URL of a login and the error sorting (the broker itself: tests/integration/test_node_rabbitmq.py and
test_rabbitmq_trigger.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import aio_pika
import pytest
from aiormq import exceptions as amqp
from aiormq.abc import DeliveredMessage
from pamqp import commands as spec
from pamqp.header import ContentHeader
from pydantic import ValidationError

from nodes.builtin._amqp import amqp_error, amqp_url
from nodes.builtin.rabbitmq import RabbitMq, RabbitMqParameters, _message
from nodes.builtin.rabbitmq_trigger import RabbitMqTriggerParameters
from nodes.builtin.rabbitmq_trigger import _item as trigger_item
from nodes.sdk import NodeTransientError, NodeUserError
from nodes.sdk.testing import run_node


@pytest.mark.parametrize(("params", "problem"), [
    ({}, "mode 'queue' needs a queue name"),
    ({"queue": "   "}, "mode 'queue' needs a queue name"),
    ({"mode": "exchange", "routing_key": "a"}, "mode 'exchange' needs an exchange name"),
    ({"mode": "exchange", "exchange": "x", "exchange_type": "x-delayed"}, "exchange_type"),
    ({"mode": "topic", "queue": "q"}, "mode"),
    ({"queue": "q" * 256}, "255"),
    ({"queue": "bad\nname"}, "pattern"),
    ({"queue": "q", "headers": {f"h{i}": "v" for i in range(101)}}, "at most 100 headers"),
    ({"queue": "q", "unknown": 1}, "Extra inputs"),
])
def test_bad_parameters_are_refused_with_the_reason(params, problem):
    with pytest.raises(ValidationError, match=problem):
        RabbitMqParameters(**params)


async def test_a_node_run_with_bad_parameters_fails_before_connecting():
    with pytest.raises(NodeUserError, match="needs an exchange name"):
        await run_node(RabbitMq, [{"json": {}}], params={"mode": "exchange"},
                       credentials={"rabbitmq": {"host": "192.0.2.1", "port": 5672, "vhost": "/", "user": "u",
                                                 "password": "p", "tls": False}})


def test_the_message_is_the_item_as_json_or_the_given_value():
    item = {"json": {"a": "é", "n": 1}}
    message = _message(RabbitMqParameters(queue="q", headers={"source": "lf"}), item, 0)
    assert message.body == '{"a":"é","n":1}'.encode()
    assert message.content_type == "application/json" and message.headers == {"source": "lf"}
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    text = _message(RabbitMqParameters(queue="q", send_input_data=False, message="hi", persistent=False), item, 0)
    assert (text.body, text.content_type, text.delivery_mode) == (b"hi", "text/plain",
                                                                  aio_pika.DeliveryMode.NOT_PERSISTENT)
    listed = _message(RabbitMqParameters(queue="q", send_input_data=False, message=[1, 2],
                                         content_type="application/vnd.lf+json"), item, 0)
    assert (listed.body, listed.content_type) == (b"[1,2]", "application/vnd.lf+json")


def test_the_trigger_refuses_a_routing_key_without_an_exchange_and_bounds_prefetch():
    with pytest.raises(ValidationError, match="binding_routing_key needs binding_exchange"):
        RabbitMqTriggerParameters(queue="q", binding_routing_key="orders.*")
    for prefetch in (0, 1001):
        with pytest.raises(ValidationError, match="prefetch"):
            RabbitMqTriggerParameters(queue="q", prefetch=prefetch)
    with pytest.raises(ValidationError, match="queue"):
        RabbitMqTriggerParameters(queue="")


def _delivery(body: bytes, **properties) -> aio_pika.IncomingMessage:
    """What aiormq hands over for one Basic.Deliver, built from the protocol's own frames."""
    deliver = spec.Basic.Deliver(consumer_tag="ctag", delivery_tag=7, redelivered=True, exchange="shop",
                                 routing_key="orders.new")
    header = ContentHeader(body_size=len(body), properties=spec.Basic.Properties(**properties))
    return aio_pika.IncomingMessage(DeliveredMessage(delivery=deliver, header=header, body=body, channel=None),
                                    no_ack=False)


def test_a_delivery_becomes_an_item_shaped_like_n8ns():
    when = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    message = _delivery(b'{"id": 7}', content_type="application/json", message_id="m-1", timestamp=when,
                        headers={"source": b"shop", "n": 3}, delivery_mode=2)
    p = RabbitMqTriggerParameters(queue="q")
    assert trigger_item(message, p) == {"json": {
        "content": {"id": 7},
        "fields": {"exchange": "shop", "routingKey": "orders.new", "redelivered": True, "deliveryTag": 7,
                   "consumerTag": "ctag"},
        "properties": {"contentType": "application/json", "headers": {"source": "shop", "n": 3}, "deliveryMode": 2,
                       "messageId": "m-1", "timestamp": "2026-12-05T10:00:00+00:00"}}}
    assert trigger_item(_delivery(b"plain"), p)["json"]["content"] == "plain"
    assert trigger_item(_delivery(b'{"id": 7}'), RabbitMqTriggerParameters(queue="q", json_parse_body=False)
                        )["json"]["content"] == '{"id": 7}'
    only = RabbitMqTriggerParameters(queue="q", only_content=True)
    assert trigger_item(message, only) == {"json": {"id": 7}}
    assert trigger_item(_delivery(b"[1]"), only) == {"json": {"content": [1]}}


def test_the_url_quotes_the_login_and_the_virtual_host():
    login = {"host": "mq.example.com", "port": 5671, "vhost": "/", "user": "a@b", "password": "p/w:#", "tls": True}
    url = amqp_url(login)
    assert str(url).startswith("amqps://a%40b:p%2Fw%3A%23@mq.example.com:5671/%2F")
    assert (url.user, url.password) == ("a@b", "p/w:#")
    assert amqp_url({**login, "vhost": "shop", "tls": False}).path == "/shop"


def test_refusals_are_user_errors_and_lost_connections_transient():
    place = "RabbitMQ h:5672 vhost '/'"
    refused = amqp_error(amqp.ChannelNotFoundEntity("NOT_FOUND - no queue 'q' in vhost '/'"), place, item_index=2)
    assert isinstance(refused, NodeUserError) and refused.item_index == 2
    assert refused.message == f"{place}: NOT_FOUND - no queue 'q' in vhost '/'"
    assert isinstance(amqp_error(amqp.ProbableAuthenticationError("ACCESS_REFUSED"), place), NodeUserError)
    assert isinstance(amqp_error(amqp.ChannelPreconditionFailed("PRECONDITION_FAILED"), place), NodeUserError)
    lost = amqp_error(amqp.AMQPConnectionError("could not connect"), place)
    assert isinstance(lost, NodeTransientError) and "AMQPConnectionError" in lost.message
    assert isinstance(amqp_error(ConnectionResetError(104, "reset"), place), NodeTransientError)


@pytest.mark.parametrize("body", [
    b"[" * 100_000 + b"]" * 100_000,  # deeper than Python's parser goes
    b"[" * 201 + b"]" * 201,  # deeper than LinkFlow accepts JSON
    b'{"a": "nul \\u0000 inside"}', b'{"a": "\\ud800"}', b'{"\\u0000": 1}',  # text PostgreSQL cannot store
    b'{"a": NaN}', b'[1e999]',  # not JSON numbers
])
def test_content_an_execution_could_not_store_stays_text_rather_than_failing_forever(body):
    item = trigger_item(_delivery(body), RabbitMqTriggerParameters(queue="q"))
    content = item["json"]["content"]
    assert isinstance(content, str) and "\x00" not in content
    content.encode("utf-8")


def test_nul_characters_in_text_and_headers_are_replaced():
    item = trigger_item(_delivery(b"a\x00b", headers={"h": "x\x00y", "b": b"\x00"}),
                        RabbitMqTriggerParameters(queue="q"))
    assert item["json"]["content"] == "a\ufffdb"
    assert item["json"]["properties"]["headers"] == {"h": "x\ufffdy", "b": "\ufffd"}
    assert trigger_item(_delivery(b"[" * 200 + b"]" * 200), RabbitMqTriggerParameters(queue="q")
                        )["json"]["content"] != "[" * 200 + "]" * 200  # 200 levels are still JSON
