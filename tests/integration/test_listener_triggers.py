"""Redis Trigger and Kafka Trigger against the real PostgreSQL, Redis and Kafka of `infra.sh`: activation starts
a listener (leader-elected), each message becomes one queued execution, deactivation stops it; and a
`linkflow scheduler` SIGKILLed while consuming a topic loses no message (offsets are committed only after the
execution is)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
import uuid
from collections import Counter
from urllib.parse import urlsplit

import pytest
import redis
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from crash_testkit import start, stop
from sqlalchemy import func, select

from backend.credentials.service import create_credential
from backend.db import migrate
from backend.db.session import session_scope
from backend.executions.models import Execution
from backend.listeners.models import TriggerListener
from backend.listeners.runner import LOCK_KEY, listener_loop
from backend.schedules.leader import PostgresLeader
from backend.users.service import create_user
from backend.workflows.activation import activate, deactivate
from backend.workflows.service import create_workflow, get_workflow

PREFIX = f"lf-integrations-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def platform(configure, postgres_url, redis_url):
    # Dispatch goes to Redis and no worker consumes it: executions stay queued, countable.
    configure(DATABASE_URL=postgres_url, REDIS_URL=redis_url, QUEUE_BACKEND="redis", HTTP_ALLOW_LIST="127.0.0.1",
              LOG_FORMAT="json")
    migrate.upgrade(postgres_url)
    with session_scope() as session:
        return create_user(session, email="listener@example.com", password="long enough")[1].id


def credential(team_id: str, type_: str, values: dict) -> str:
    with session_scope() as session:
        return create_credential(session, team_id=team_id, name=type_, type=type_, values=values).id


def active_workflow(team_id: str, node_type: str, parameters: dict, slot: str, credential_id: str) -> str:
    definition = {"nodes": [
        {"id": "t", "name": "Trigger", "type": node_type, "version": 1, "position": [0, 0],
         "parameters": parameters, "credentials": {slot: credential_id}},
        {"id": "n", "name": "Next", "type": "noop", "version": 1, "position": [1, 0]}],
        "connections": [{"from": "t", "to": "n"}]}
    with session_scope() as session:
        workflow = create_workflow(session, team_id=team_id, user_id=None, name=node_type, definition=definition)
        activate(session, workflow, user_id=None)
        return workflow.id


def inputs(workflow_id: str) -> list[dict]:
    with session_scope() as session:
        rows = session.scalars(select(Execution).where(Execution.workflow_id == workflow_id)
                               .order_by(Execution.created_at))
        return [(e.mode, e.status, e.input[0]["json"]) for e in rows]


def listener(workflow_id: str) -> TriggerListener | None:
    with session_scope() as session:
        row = session.scalars(select(TriggerListener).where(TriggerListener.workflow_id == workflow_id)).first()
        if row is not None:
            session.expunge(row)
        return row


async def until(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = await asyncio.to_thread(predicate)
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


@contextlib.asynccontextmanager
async def running_listeners(postgres_url: str):
    stop = asyncio.Event()
    task = asyncio.create_task(listener_loop(stop, PostgresLeader(postgres_url, key=LOCK_KEY, name="test:1")))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


async def test_redis_trigger_runs_once_per_published_message_until_deactivated(platform, postgres_url, redis_url):
    url = urlsplit(redis_url)
    database = int(url.path.strip("/") or 0)
    redis_id = credential(platform, "redis", {"host": url.hostname, "port": url.port, "database": database})
    workflow_id = active_workflow(platform, "redis_trigger", {
        "channels": f"{PREFIX}.orders, {PREFIX}.events.*", "json_parse_body": True}, "redis", redis_id)
    client = redis.Redis.from_url(redis_url)
    async with running_listeners(postgres_url):
        row = await until(lambda: (r := listener(workflow_id)) and r.status == "listening" and r, 20,
                          "the listener to subscribe")
        assert PREFIX in row.detail
        assert client.publish(f"{PREFIX}.orders", json.dumps({"order": 1})) == 1
        assert client.publish(f"{PREFIX}.events.paid", "plain text") == 1
        assert client.publish(f"{PREFIX}.other", "not subscribed") == 0
        runs = await until(lambda: len(r := inputs(workflow_id)) >= 2 and r, 20, "two executions")
        assert runs == [
            ("trigger", "queued", {"channel": f"{PREFIX}.orders", "message": {"order": 1}}),
            ("trigger", "queued", {"channel": f"{PREFIX}.events.paid", "message": "plain text",
                                   "pattern": f"{PREFIX}.events.*"})]
        assert listener(workflow_id).messages == 2

        with session_scope() as session:
            deactivate(session, get_workflow(session, platform, workflow_id), user_id=None)
        await until(lambda: client.publish(f"{PREFIX}.orders", "after") == 0, 10, "the listener to unsubscribe")
    assert len(inputs(workflow_id)) == 2


async def test_a_refused_redis_password_shows_on_the_trigger(platform, postgres_url, redis_url):
    url = urlsplit(redis_url)
    redis_id = credential(platform, "redis", {"host": url.hostname, "port": url.port, "username": "nobody",
                                              "password": "wrong"})
    workflow_id = active_workflow(platform, "redis_trigger", {"channels": f"{PREFIX}.x"}, "redis", redis_id)
    async with running_listeners(postgres_url):
        row = await until(lambda: (r := listener(workflow_id)) and r.status == "error" and r, 20, "the error")
    assert "refused the user name or password" in row.error and "retrying in" in row.error


@pytest.fixture
async def topic(kafka_bootstrap):
    name = f"{PREFIX}-{uuid.uuid4().hex[:6]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=2, replication_factor=1)])
        yield name
        await admin.delete_topics([name])
    finally:
        await admin.close()


async def produce(bootstrap: str, topic: str, count: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(count):
            await producer.send(topic, json.dumps({"n": i}).encode(), key=str(i % 7).encode())
        await producer.flush()
    finally:
        await producer.stop()


async def committed(bootstrap: str, group: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return sum(o.offset for o in (await admin.list_consumer_group_offsets(group)).values())
    finally:
        await admin.close()


def kafka_workflow(team_id: str, bootstrap: str, topic: str, group: str) -> str:
    kafka_id = credential(team_id, "kafka", {"bootstrap_servers": bootstrap, "security_protocol": "PLAINTEXT"})
    return active_workflow(team_id, "kafka_trigger", {"topic": topic, "group_id": group, "from_beginning": True},
                           "kafka", kafka_id)


async def test_kafka_trigger_runs_once_per_message_and_commits_after(platform, postgres_url, kafka_bootstrap, topic):
    group = f"{PREFIX}-group"
    workflow_id = kafka_workflow(platform, kafka_bootstrap, topic, group)
    await produce(kafka_bootstrap, topic, 5)
    async with running_listeners(postgres_url):
        runs = await until(lambda: len(r := inputs(workflow_id)) >= 5 and r, 60, "five executions")
        await until(lambda: asyncio.run(committed(kafka_bootstrap, group)) == 5, 20, "the offsets committed")
    assert sorted(run[2]["message"]["n"] for run in runs) == [0, 1, 2, 3, 4]
    assert {run[:2] for run in runs} == {("trigger", "queued")}
    assert all(run[2]["topic"] == topic and run[2]["key"] for run in runs)
    assert listener(workflow_id).status == "listening"


def count(workflow_id: str) -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Execution).where(Execution.workflow_id == workflow_id))


async def test_a_killed_consumer_loses_no_message(platform, postgres_url, kafka_bootstrap, topic, tmp_path):
    """The first `linkflow scheduler` dies (SIGKILL, tests/integration/crashing.py) right after its 25th execution
    is committed and before that message's offset is: the second one delivers that message again and the rest
    once each."""
    total = 200
    group = f"{PREFIX}-kill"
    workflow_id = kafka_workflow(platform, kafka_bootstrap, topic, group)
    await produce(kafka_bootstrap, topic, total)
    log_path = tmp_path / "scheduler.log"
    first = start(["scheduler"], log_path, moment="after-listener-queued")
    try:
        first.wait(90)
    finally:
        stop(first, signal.SIGKILL)
    assert first.returncode == -signal.SIGKILL, log_path.read_text()[-3000:]
    assert count(workflow_id) == 25
    second = start(["scheduler"], log_path)
    try:
        await until(lambda: count(workflow_id) >= total + 1, 120, "the second scheduler to consume the rest")
        await until(lambda: asyncio.run(committed(kafka_bootstrap, group)) == total, 30, "all offsets committed")
    finally:
        stop(second)
    output = log_path.read_text()[-3000:]
    assert second.returncode == 0, output
    runs = inputs(workflow_id)
    numbers = Counter(run[2]["message"]["n"] for run in runs)
    assert set(numbers) == set(range(total)), f"lost: {sorted(set(range(total)) - set(numbers))}\n{output}"
    doubles = {n: times for n, times in numbers.items() if times > 1}
    in_flight = runs[24][2]["message"]["n"]  # queued, not acknowledged when the process died
    assert doubles == {in_flight: 2}, output
    assert len(runs) == total + 1


async def test_two_schedulers_run_one_listener_and_the_survivor_takes_over(platform, redis_url, tmp_path):
    """Two `linkflow scheduler` replicas: a message has one subscriber (one listener across replicas); SIGKILL the
    one that listens and the other subscribes within seconds."""
    url = urlsplit(redis_url)
    redis_id = credential(platform, "redis", {"host": url.hostname, "port": url.port})
    channel = f"{PREFIX}.failover"
    workflow_id = active_workflow(platform, "redis_trigger", {"channels": channel}, "redis", redis_id)
    client = redis.Redis.from_url(redis_url)
    processes = [start(["scheduler"], tmp_path / f"scheduler-{i}.log") for i in range(2)]
    try:
        await until(lambda: client.pubsub_numsub(channel)[0][1] == 1, 30, "one replica to subscribe")
        await asyncio.sleep(2)  # the other replica keeps trying the lock meanwhile
        assert client.pubsub_numsub(channel)[0][1] == 1
        assert client.publish(channel, "one") == 1
        await until(lambda: count(workflow_id) == 1, 10, "the first execution")
        leader = next(p for p in processes if '"listener runner is now the leader"' in
                      (tmp_path / f"scheduler-{processes.index(p)}.log").read_text())
        stop(leader, signal.SIGKILL)
        survivor_log = tmp_path / f"scheduler-{1 - processes.index(leader)}.log"
        await until(lambda: '"listener runner is now the leader"' in survivor_log.read_text()
                    and client.pubsub_numsub(channel)[0][1] == 1, 30, "the other replica to subscribe")
        assert client.publish(channel, "two") == 1
        await until(lambda: count(workflow_id) == 2, 10, "the second execution")
    finally:
        for process in processes:
            stop(process)
    output = "\n".join((tmp_path / f"scheduler-{i}.log").read_text()[-2000:] for i in range(2))
    assert [run[2]["message"] for run in inputs(workflow_id)] == ["one", "two"], output
    survivor = next(p for p in processes if p is not leader)
    assert survivor.returncode == 0, output


async def test_an_imported_n8n_kafka_trigger_workflow_consumes_its_topic(platform, postgres_url, kafka_bootstrap,
                                                                         topic):
    from backend.workflows.n8n.service import import_n8n

    credential(platform, "kafka", {"bootstrap_servers": kafka_bootstrap, "security_protocol": "PLAINTEXT"})
    n8n = {"name": "Orders from Kafka", "connections": {"Kafka Trigger": {"main": [[{"node": "Next", "type": "main",
                                                                                      "index": 0}]]}},
           "nodes": [{"name": "Kafka Trigger", "type": "n8n-nodes-base.kafkaTrigger", "typeVersion": 1.1,
                      "position": [0, 0], "credentials": {"kafka": {"id": "7", "name": "kafka"}},
                      "parameters": {"topic": topic, "groupId": f"{PREFIX}-n8n",
                                     "options": {"fromBeginning": True, "jsonParseMessage": True, "onlyMessage": True}}},
                     {"name": "Next", "type": "n8n-nodes-base.noOp", "typeVersion": 1, "position": [200, 0],
                      "parameters": {}}]}
    with session_scope() as session:
        workflow, _ = import_n8n(session, n8n, team_id=platform, user_id=None)
        activate(session, workflow, user_id=None)
        workflow_id = workflow.id
    await produce(kafka_bootstrap, topic, 3)
    async with running_listeners(postgres_url):
        runs = await until(lambda: len(r := inputs(workflow_id)) >= 3 and r, 60, "three executions")
    assert sorted(run[2]["n"] for run in runs) == [0, 1, 2]  # onlyMessage: the parsed message is the item
