"""RabbitMQ Trigger against the real PostgreSQL, Redis and RabbitMQ of `infra.sh`: activation starts a listener
(leader-elected), each message becomes one queued execution and is acknowledged after it, deactivation stops
consuming; a message whose execution cannot be queued goes back to the queue; and a `linkflow scheduler`
SIGKILLed mid-stream loses no message (the unacknowledged ones are redelivered and executed)."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from collections import Counter
from urllib.parse import unquote, urlsplit

import aio_pika
import pytest
import test_listener_triggers as listeners
from crash_testkit import start, stop
from test_listener_triggers import (
    active_workflow,
    count,
    credential,
    inputs,
    listener,
    running_listeners,
    until,
)

from backend.db.session import session_scope
from backend.workflows.activation import deactivate
from backend.workflows.service import get_workflow
from nodes.builtin.rabbitmq_trigger import RabbitMqTrigger, RabbitMqTriggerParameters
from nodes.sdk import NodeTransientError

platform = listeners.platform  # the fixture: a migrated database, dispatch to Redis with no worker, one team


def login(url: str) -> dict:
    parts = urlsplit(url)
    return {"host": parts.hostname, "port": parts.port, "vhost": unquote(parts.path[1:]) or "/",
            "user": parts.username, "password": parts.password}


@pytest.fixture
async def queue(rabbitmq_url):
    """A durable queue name of this test's own (declared by the trigger), deleted afterwards."""
    name = f"lf-trigger-{uuid.uuid4().hex[:10]}"
    yield name
    connection = await aio_pika.connect(rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(name)
        await channel.exchange_delete(f"{name}-x")


async def publish(url: str, routing_key: str, bodies: list[bytes], *, exchange: str = "") -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        target = await channel.get_exchange(exchange) if exchange else channel.default_exchange
        for body in bodies:
            await target.publish(aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                                                  message_id=f"m-{body.decode()[:20]}"), routing_key=routing_key)


async def queue_state(url: str, name: str) -> tuple[int, int]:
    """(messages ready, consumers) of the queue."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        declared = (await channel.declare_queue(name, passive=True)).declaration_result
        return declared.message_count, declared.consumer_count


def state(url: str, name: str) -> tuple[int, int]:
    return asyncio.run(queue_state(url, name))


def rabbitmq_workflow(team_id: str, url: str, parameters: dict) -> str:
    credential_id = credential(team_id, "rabbitmq", login(url))
    return active_workflow(team_id, "rabbitmq_trigger", parameters, "rabbitmq", credential_id)


async def test_messages_become_executions_acknowledged_after_and_deactivation_stops_consuming(
        platform, postgres_url, rabbitmq_url, queue):
    workflow_id = rabbitmq_workflow(platform, rabbitmq_url, {"queue": queue, "binding_exchange": f"{queue}-x",
                                                             "binding_routing_key": "orders.*"})
    connection = await aio_pika.connect(rabbitmq_url)
    async with connection:  # the binding's exchange exists beforehand (the trigger binds, it does not declare it)
        await (await connection.channel()).declare_exchange(f"{queue}-x", "topic", durable=True)
    async with running_listeners(postgres_url):
        row = await until(lambda: (r := listener(workflow_id)) and r.status == "listening" and r, 30,
                          "the listener to consume")
        assert queue in row.detail and "prefetch 10" in row.detail
        await publish(rabbitmq_url, queue, [json.dumps({"order": 1}).encode(), b"plain text"])
        await publish(rabbitmq_url, "orders.paid", [json.dumps({"order": 2}).encode()], exchange=f"{queue}-x")
        await publish(rabbitmq_url, "refunds.new", [b"not bound"], exchange=f"{queue}-x")
        # what PostgreSQL cannot store as JSON arrives as text instead of failing (and coming back) forever
        await publish(rabbitmq_url, queue, [b'{"a": "\\u0000"}', b"[" * 5000 + b"]" * 5000])
        runs = await until(lambda: len(r := inputs(workflow_id)) >= 5 and r, 30, "five executions")
        await until(lambda: state(rabbitmq_url, queue) == (0, 1), 10, "every message acknowledged")
        assert {run[:2] for run in runs} == {("trigger", "queued")}
        contents = [run[2]["content"] for run in runs]
        assert sorted(c for c in contents if isinstance(c, str)) == sorted(
            ["plain text", '{"a": "\\u0000"}', "[" * 5000 + "]" * 5000])
        assert sorted(c["order"] for c in contents if isinstance(c, dict)) == [1, 2]
        routed = next(run[2] for run in runs if run[2]["content"] == {"order": 2})
        assert routed["fields"]["exchange"] == f"{queue}-x" and routed["fields"]["routingKey"] == "orders.paid"
        assert routed["fields"]["redelivered"] is False and routed["properties"]["deliveryMode"] == 2
        assert listener(workflow_id).messages == 5

        with session_scope() as session:
            deactivate(session, get_workflow(session, platform, workflow_id), user_id=None)
        await until(lambda: state(rabbitmq_url, queue)[1] == 0, 15, "the consumer to go")
        await publish(rabbitmq_url, queue, [b"after deactivation"])
        await asyncio.sleep(2)
        assert await queue_state(rabbitmq_url, queue) == (1, 0)  # left in the queue for the next activation
    assert len(inputs(workflow_id)) == 5


class FailingOnce:
    """A ListenerContext whose first emit fails (as when the database is unreachable)."""

    def __init__(self, url: str, queue: str) -> None:
        self.params = RabbitMqTriggerParameters(queue=queue)
        self.settings = {"http_allow_list": ["127.0.0.1"]}
        self.node_name, self.workflow_id, self.url = "Trigger", "w", url
        self.emitted: list[dict] = []

    async def credentials(self, slot: str) -> dict:
        return login(self.url)

    async def emit(self, items: list[dict]) -> str:
        if not self.emitted:
            self.emitted.append({"failed": items[0]["json"]})
            raise RuntimeError("the database is unreachable")
        self.emitted.append(items[0]["json"])
        return "e"

    def listening(self, detail: str = "") -> None:
        pass


async def test_a_message_whose_execution_cannot_be_queued_goes_back_to_the_queue(rabbitmq_url, queue):
    ctx = FailingOnce(rabbitmq_url, queue)
    connection = await aio_pika.connect(rabbitmq_url)
    async with connection:
        await (await connection.channel()).declare_queue(queue, durable=True)
    await publish(rabbitmq_url, queue, [b'{"n": 1}'])
    with pytest.raises(RuntimeError, match="unreachable"):
        await asyncio.wait_for(RabbitMqTrigger().listen(ctx), 20)
    assert ctx.emitted[0]["failed"]["content"] == {"n": 1}
    assert (await queue_state(rabbitmq_url, queue))[0] == 1  # rejected back to the queue, not lost
    task = asyncio.create_task(RabbitMqTrigger().listen(ctx))  # the runner starts the listener again
    try:
        await until(lambda: len(ctx.emitted) == 2, 20, "the message delivered again")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert ctx.emitted[1]["content"] == {"n": 1} and ctx.emitted[1]["fields"]["redelivered"] is True
    assert await queue_state(rabbitmq_url, queue) == (0, 0)


async def test_a_killed_consumer_loses_no_message(platform, postgres_url, rabbitmq_url, queue, tmp_path):
    """The first `linkflow scheduler` dies (SIGKILL, tests/integration/crashing.py) right after its 25th execution
    is committed and before that message is acknowledged, with more messages prefetched and unacknowledged: the
    second one gets them all again, executes the in-flight one a second time (redelivered) and the rest once."""
    total = 200
    workflow_id = rabbitmq_workflow(platform, rabbitmq_url, {"queue": queue, "prefetch": 20})
    connection = await aio_pika.connect(rabbitmq_url)
    async with connection:
        await (await connection.channel()).declare_queue(queue, durable=True)
    await publish(rabbitmq_url, queue, [json.dumps({"n": i}).encode() for i in range(total)])
    log_path = tmp_path / "scheduler.log"
    first = start(["scheduler"], log_path, moment="after-listener-queued")
    try:
        first.wait(90)
    finally:
        stop(first, signal.SIGKILL)
    assert first.returncode == -signal.SIGKILL, log_path.read_text()[-3000:]
    assert count(workflow_id) == 25
    await until(lambda: state(rabbitmq_url, queue) == (total - 24, 0), 30, "the unacknowledged messages back")
    second = start(["scheduler"], log_path)
    try:
        await until(lambda: count(workflow_id) >= total + 1, 120, "the second scheduler to consume the rest")
        await until(lambda: state(rabbitmq_url, queue)[0] == 0, 30, "every message acknowledged")
    finally:
        stop(second)
    output = log_path.read_text()[-3000:]
    assert second.returncode == 0, output
    runs = inputs(workflow_id)
    numbers = Counter(run[2]["content"]["n"] for run in runs)
    assert set(numbers) == set(range(total)), f"lost: {sorted(set(range(total)) - set(numbers))}\n{output}"
    in_flight = runs[24][2]["content"]["n"]  # queued, not acknowledged when the process died
    assert {n: times for n, times in numbers.items() if times > 1} == {in_flight: 2}, output
    assert len(runs) == total + 1
    again = [run[2] for run in runs[25:] if run[2]["content"]["n"] == in_flight]
    assert again[0]["fields"]["redelivered"] is True
    assert await queue_state(rabbitmq_url, queue) == (0, 0)


async def test_an_imported_n8n_rabbitmq_trigger_workflow_consumes_its_queue(platform, postgres_url, rabbitmq_url,
                                                                          queue):
    from backend.workflows.activation import activate
    from backend.workflows.n8n.service import import_n8n

    credential(platform, "rabbitmq", login(rabbitmq_url))
    n8n = {"name": "Orders from RabbitMQ", "connections": {"RabbitMQ Trigger": {"main": [[{
               "node": "Next", "type": "main", "index": 0}]]}},
           "nodes": [{"name": "RabbitMQ Trigger", "type": "n8n-nodes-base.rabbitmqTrigger", "typeVersion": 1,
                      "position": [0, 0], "credentials": {"rabbitmq": {"id": "7", "name": "rabbitmq"}},
                      "parameters": {"queue": queue, "options": {"jsonParseBody": True, "onlyContent": True}}},
                     {"name": "Next", "type": "n8n-nodes-base.noOp", "typeVersion": 1, "position": [200, 0],
                      "parameters": {}}]}
    with session_scope() as session:
        workflow, _ = import_n8n(session, n8n, team_id=platform, user_id=None)
        activate(session, workflow, user_id=None)
        workflow_id = workflow.id
    async with running_listeners(postgres_url):
        await until(lambda: (r := listener(workflow_id)) and r.status == "listening", 30, "the listener")
        await publish(rabbitmq_url, queue, [json.dumps({"n": i}).encode() for i in range(3)])
        runs = await until(lambda: len(r := inputs(workflow_id)) >= 3 and r, 30, "three executions")
    assert sorted(run[2]["n"] for run in runs) == [0, 1, 2]  # onlyContent: the parsed content is the item


async def test_a_consumer_the_server_ends_is_a_transient_error_so_the_runner_reconnects(rabbitmq_url, queue):
    ctx = FailingOnce(rabbitmq_url, queue)
    connection = await aio_pika.connect(rabbitmq_url)
    async with connection:
        await (await connection.channel()).declare_queue(queue, durable=True)
    listening = asyncio.create_task(RabbitMqTrigger().listen(ctx))
    await until(lambda: state(rabbitmq_url, queue)[1] == 1, 20, "the consumer")
    connection = await aio_pika.connect(rabbitmq_url)
    async with connection:
        await (await connection.channel()).queue_delete(queue)  # RabbitMQ cancels the consumer
    with pytest.raises(NodeTransientError, match="the server closed the connection, the channel or the consumer"):
        await asyncio.wait_for(listening, 20)
