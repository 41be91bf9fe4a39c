"""The RabbitMQ node (and the rabbitmq credential's Test) against the real broker of `infra.sh up rabbitmq`:
messages sent are read back from the queue with their body, headers and delivery mode."""

from __future__ import annotations

import asyncio
import json
import uuid
from urllib.parse import unquote, urlsplit

import aio_pika
import pytest

from nodes.builtin.rabbitmq import RabbitMq
from nodes.sdk import NodeTransientError, NodeUserError
from nodes.sdk.net import AddressRefused
from nodes.sdk.testing import run_node

LOOPBACK = {"http_allow_list": ["127.0.0.1"]}


def login(url: str, **changes) -> dict:
    parts = urlsplit(url)
    return {"host": parts.hostname, "port": parts.port, "vhost": unquote(parts.path[1:]) or "/",
            "user": parts.username, "password": parts.password, "tls": False, **changes}


@pytest.fixture
async def broker(rabbitmq_url):
    """A channel of our own, and a name prefix; queues and exchanges with it are deleted afterwards."""
    connection = await aio_pika.connect(rabbitmq_url)
    channel = await connection.channel()
    prefix = f"lf-test-{uuid.uuid4().hex[:10]}"
    made: list[tuple[str, str]] = []
    yield channel, prefix, made
    for kind, name in made:
        if kind == "queue":
            await channel.queue_delete(name)
        else:
            await channel.exchange_delete(name)
    await connection.close()


async def read(channel, queue: str, count: int) -> list[aio_pika.abc.AbstractIncomingMessage]:
    got = []
    for _ in range(50):
        q = await channel.declare_queue(queue, passive=True)
        message = await q.get(fail=False, no_ack=True)
        if message is None:
            if len(got) >= count:
                break
            await asyncio.sleep(0.1)
            continue
        got.append(message)
    return got


async def send(rabbitmq_url, items, params):
    return (await run_node(RabbitMq, items, params=params, credentials={"rabbitmq": login(rabbitmq_url)},
                           settings=LOOPBACK))["main"]


async def test_items_are_sent_to_a_queue_and_read_back(rabbitmq_url, broker):
    channel, prefix, made = broker
    queue = f"{prefix}-orders"
    made.append(("queue", queue))
    items = [{"json": {"order": i, "note": "é"}} for i in range(3)]
    out = await send(rabbitmq_url, items, {"queue": queue, "headers": {"source": "linkflow"}})
    assert [o["json"] for o in out] == [{"success": True, "mode": "queue", "queue": queue, "exchange": None,
                                         "routing_key": queue}] * 3
    received = await read(channel, queue, 3)
    assert [json.loads(m.body) for m in received] == [i["json"] for i in items]
    first = received[0]
    assert first.headers == {"source": "linkflow"} and first.content_type == "application/json"
    assert first.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    await channel.declare_queue(queue, durable=True)  # a queue declared otherwise: PRECONDITION_FAILED


async def test_a_field_as_text_to_a_topic_exchange_reaches_the_bound_queue_only(rabbitmq_url, broker):
    channel, prefix, made = broker
    exchange, queue, other = f"{prefix}-events", f"{prefix}-eu", f"{prefix}-us"
    made += [("queue", queue), ("queue", other), ("exchange", exchange)]
    x = await channel.declare_exchange(exchange, "topic", durable=True)
    for name, key in ((queue, "orders.eu.*"), (other, "orders.us.*")):
        q = await channel.declare_queue(name)
        await q.bind(x, routing_key=key)
    await send(rabbitmq_url, [{"json": {"body": "hello"}}],
               {"mode": "exchange", "exchange": exchange, "exchange_type": "topic", "routing_key": "orders.eu.new",
                "send_input_data": False, "message": "hello", "persistent": False})
    (message,) = await read(channel, queue, 1)
    assert message.body == b"hello" and message.content_type == "text/plain"
    assert message.routing_key == "orders.eu.new" and message.exchange == exchange
    assert message.delivery_mode == aio_pika.DeliveryMode.NOT_PERSISTENT
    assert await read(channel, other, 0) == []


async def test_an_exchange_of_another_type_names_rabbitmqs_refusal(rabbitmq_url, broker):
    channel, prefix, made = broker
    exchange = f"{prefix}-fan"
    made.append(("exchange", exchange))
    await channel.declare_exchange(exchange, "fanout", durable=True)
    with pytest.raises(NodeUserError) as refused:
        await send(rabbitmq_url, [{"json": {}}], {"mode": "exchange", "exchange": exchange, "exchange_type": "topic"})
    assert "PRECONDITION_FAILED" in refused.value.message and exchange in refused.value.message
    assert refused.value.item_index == 0


async def test_a_wrong_password_and_a_closed_port_are_told_apart(rabbitmq_url):
    with pytest.raises(NodeUserError, match="refused the user name or password"):
        await run_node(RabbitMq, [{"json": {}}], params={"queue": "x"},
                       credentials={"rabbitmq": login(rabbitmq_url, password="wrong")}, settings=LOOPBACK)
    with pytest.raises(NodeUserError, match="virtual host does not exist"):
        await run_node(RabbitMq, [{"json": {}}], params={"queue": "x"},
                       credentials={"rabbitmq": login(rabbitmq_url, vhost="no-such-vhost")}, settings=LOOPBACK)
    with pytest.raises(NodeTransientError, match="127.0.0.1:1 "):
        await run_node(RabbitMq, [{"json": {}}], params={"queue": "x"},
                       credentials={"rabbitmq": login(rabbitmq_url, port=1)}, settings=LOOPBACK)


async def test_loopback_is_refused_without_the_allow_list(rabbitmq_url):
    with pytest.raises(AddressRefused):
        await run_node(RabbitMq, [{"json": {}}], params={"queue": "x"},
                       credentials={"rabbitmq": login(rabbitmq_url)})


async def test_the_credential_test_connects(rabbitmq_url, configure):
    from backend.credentials.types.rabbitmq import RabbitMq as RabbitMqCredential
    from backend.credentials.types.rabbitmq import RabbitMqFields

    configure(HTTP_ALLOW_LIST="127.0.0.1")
    values = login(rabbitmq_url)
    result = await RabbitMqCredential().test(RabbitMqFields(**values))
    assert result.ok and "RabbitMQ 3." in result.message, result.message
    refused = await RabbitMqCredential().test(RabbitMqFields(**{**values, "password": "wrong"}))
    assert not refused.ok and "refused the user name or password" in refused.message
    closed = await RabbitMqCredential().test(RabbitMqFields(**{**values, "port": 1}))
    assert not closed.ok and "127.0.0.1:1" in closed.message
