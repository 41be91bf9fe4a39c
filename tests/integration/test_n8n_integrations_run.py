"""n8n workflows with integration nodes (tests/fixtures/n8n/), converted, then run through the engine against the
real servers on loopback: PostgreSQL, Redis (our DB), Kafka (our own topic), S3 (moto, our own bucket) and an
SMTP server (aiosmtpd). Credentials are bound by the names the n8n file gives."""

from __future__ import annotations

import email
import json
import socket
import uuid
from email import policy
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import psycopg
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiosmtpd.controller import Controller

from backend.engine import EngineServices, ExecutionInfo, InMemoryStepStore, run
from backend.workflows.n8n.service import convert_file

FIXTURES = Path(__file__).parents[1] / "fixtures" / "n8n"
LOOPBACK = {"http_allow_private": False, "http_allow_list": ["127.0.0.1"]}


def _bound(name: str, logins: dict) -> tuple[dict, EngineServices]:
    result = convert_file((FIXTURES / name).read_bytes())
    nodes = {n["id"]: n for n in result.workflow["nodes"]}
    for ref in result.credentials:  # what the API import does with the team's credentials of these names
        nodes[ref["node"]].setdefault("credentials", {})[ref["slot"]] = ref["name"]

    async def credentials(credential_id: str, node_name: str) -> dict:
        return logins[credential_id]

    return result.workflow, EngineServices(credentials=credentials, settings=LOOPBACK)


async def _run(workflow: dict, services: EngineServices, items: list):
    result = await run(workflow, execution=ExecutionInfo(id=uuid.uuid4().hex, mode="manual"),
                       input_items=items, store=InMemoryStepStore(), services=services)
    assert result.status == "succeeded", result.error
    return result


async def test_redis_page_counter(redis_url):
    url = urlsplit(redis_url)
    login = {"host": url.hostname, "port": url.port, "db": int(url.path.lstrip("/")), "username": None,
             "password": None, "ssl": False}
    workflow, services = _bound("redis_page_counter.json", {"Cache": login})
    items = [{"json": {"page": "home", "user": "ada"}}, {"json": {"page": "home", "user": "bob"}}]
    result = await _run(workflow, services, items)
    assert [i["json"] for i in result.output] == [
        {"visits:home": 1, "last_visitor": "bob"}, {"visits:home": 2, "last_visitor": "bob"}]


class _Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def smtp():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


@pytest.fixture
async def topic(kafka_bootstrap):
    name = f"lf-integrations-orders-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])
    yield name
    await admin.delete_topics([name])
    await admin.close()


async def test_orders_pipeline_stores_publishes_archives_and_mails(postgres_url, kafka_bootstrap, topic,
                                                                   s3_endpoint, smtp):
    dsn = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id int PRIMARY KEY, customer text, total numeric, status text)")
        conn.execute("INSERT INTO orders VALUES (6, 'ada', 5, 'open'), (7, 'ada', 1, 'open')")
    url = urlsplit(dsn)
    aws = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1",
           "endpoint_url": s3_endpoint}
    bucket = f"lf-integrations-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", **aws).create_bucket(Bucket=bucket)
    logins = {"Shop DB": {"host": url.hostname, "port": url.port, "dbname": url.path.lstrip("/"),
                          "user": url.username, "password": url.password, "sslmode": "disable"},
              "Events": {"bootstrap_servers": [kafka_bootstrap], "security_protocol": "PLAINTEXT",
                         "client_id": "lf-test"},
              "Archive bucket": aws,
              "Mailer": {"host": "127.0.0.1", "port": smtp[0], "security": "none", "username": "", "password": ""}}
    workflow, services = _bound("orders_pipeline.json", logins)
    for node in workflow["nodes"]:  # our own topic and bucket on the shared servers
        if node["type"] == "kafka":
            node["parameters"]["topic"] = topic
        if node["type"] == "s3":
            node["parameters"]["bucket"] = bucket
    order = {"id": 7, "customer": "ADA", "total": 42, "email": "ada@example.com"}
    await _run(workflow, services, [{"json": {"headers": {}, "query": {}, "body": order}}])

    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT id, customer, total, status FROM orders WHERE id = 7").fetchall() == \
            [(7, "ada", 42, "open")]
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest",
                                group_id=f"lf-test-{uuid.uuid4().hex[:6]}")
    await consumer.start()
    try:
        records = [m for batch in (await consumer.getmany(timeout_ms=10_000)).values() for m in batch]
    finally:
        await consumer.stop()
    assert records[0].key == b"ADA" and json.loads(records[0].value) == {"open_orders": 2}
    archived = boto3.client("s3", **aws).get_object(Bucket=bucket, Key="orders/7.json")["Body"].read()
    assert json.loads(archived) == order
    (recipients, message), = smtp[1].messages
    assert recipients == ["ada@example.com", "orders@example.com"] and message["Subject"] == "Order 7 received"
    assert "You have 2 open order(s)." in message.get_body(("html",)).get_content()
    s3 = boto3.client("s3", **aws)
    s3.delete_object(Bucket=bucket, Key="orders/7.json")
    s3.delete_bucket(Bucket=bucket)


async def test_rabbitmq_order_events_queue_the_job_and_publish_the_status(rabbitmq_url):
    import aio_pika

    suffix = uuid.uuid4().hex[:8]
    queue, exchange, listener = f"lf-jobs-{suffix}", f"lf-events-{suffix}", f"lf-events-in-{suffix}"
    parts = urlsplit(rabbitmq_url)
    login = {"host": parts.hostname, "port": parts.port, "vhost": "/", "user": parts.username,
             "password": parts.password, "tls": False}
    workflow, services = _bound("rabbitmq_order_events.json", {"Broker": login})
    for node in workflow["nodes"]:  # our own queue and exchange on the shared broker
        if node["type"] == "rabbitmq" and node["parameters"]["mode"] == "queue":
            node["parameters"]["queue"] = queue
        elif node["type"] == "rabbitmq":
            node["parameters"]["exchange"] = exchange
    connection = await aio_pika.connect(rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        events = await channel.declare_exchange(exchange, "topic", durable=True)
        inbox = await channel.declare_queue(listener, auto_delete=False)
        await inbox.bind(events, routing_key="orders.*")
        try:
            result = await _run(workflow, services, [{"json": {"id": 7, "status": "PAID", "total": 42}},
                                                     {"json": {"id": 8, "status": "Open", "total": 5}}])
            assert [i["json"]["success"] for i in result.output] == [True, True]
            jobs = await channel.declare_queue(queue, durable=True)
            bodies = [await jobs.get(no_ack=True), await jobs.get(no_ack=True)]
            assert [json.loads(m.body) for m in bodies] == [{"id": 7, "status": "paid", "total": 42},
                                                            {"id": 8, "status": "open", "total": 5}]
            assert bodies[0].headers == {"source": "shop"}
            published = [await inbox.get(no_ack=True), await inbox.get(no_ack=True)]
            assert [(m.routing_key, m.body) for m in published] == [("orders.paid", b"Order 7 is paid"),
                                                                    ("orders.open", b"Order 8 is open")]
        finally:
            await channel.queue_delete(queue)
            await channel.queue_delete(listener)
            await channel.exchange_delete(exchange)
