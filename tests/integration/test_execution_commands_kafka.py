"""A cancel through the API reaches the worker that holds the execution over a real Kafka: PostgreSQL, Redis
(the queue), Kafka (the relay publishes execution.commands, the worker's own consumer group reads it) and a
real `linkflow worker` process. The run is inside an HTTP Request node waiting on a local server that never
answers; the lease is long (renewed every 20 s), so only the command can stop it within seconds."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.db import migrate
from backend.db.session import session_scope
from backend.executions import dispatch
from backend.executions.models import Execution

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery staple"


class SilentServer:
    """Accepts HTTP requests and never answers; records when each client hung up."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connected = threading.Event()
        self.hung_up_at: float | None = None
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        self.connected.set()
        conn.settimeout(120)
        try:
            while conn.recv(65536):
                pass
            self.hung_up_at = time.monotonic()
        except OSError:
            self.hung_up_at = time.monotonic()
        finally:
            conn.close()

    def close(self) -> None:
        self.sock.close()


def definition(port: int) -> dict:
    return {"name": "long", "nodes": [
        {"id": "t", "name": "Start", "type": "manual_trigger", "version": 1, "position": [0, 0]},
        {"id": "h", "name": "Slow partner", "type": "http_request", "version": 1, "position": [1, 0],
         "parameters": {"url": f"http://127.0.0.1:{port}/slow", "timeout_s": 120}},
        {"id": "s", "name": "After", "type": "set", "version": 1, "position": [2, 0],
         "parameters": {"fields": [{"name": "after", "value": "yes"}]}}],
        "connections": [{"from": "t", "output": "main", "to": "h", "input": "main"},
                        {"from": "h", "output": "main", "to": "s", "input": "main"}]}


def wait_for(predicate, timeout_s: float, what: str, log_path=None):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.1)
    log = log_path.read_text()[-6000:] if log_path is not None else ""
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}\n{log}")


async def committed_and_end(bootstrap: str, group: str, topic: str) -> tuple[int, int]:
    """The group's committed offsets and the topic's end offsets, summed over its partitions."""
    from aiokafka import AIOKafkaConsumer

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await probe.start()
    try:
        ends = await probe.end_offsets([tp for tp in offsets if tp.topic == topic])
    finally:
        await probe.stop()
    committed = sum(meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset >= 0)
    return committed, sum(ends.values())


def test_a_cancel_through_the_api_stops_the_run_on_the_worker_holding_it(
        configure, postgres_url, redis_url, kafka_bootstrap, tmp_path):
    prefix = f"lftest-{uuid.uuid4().hex[:10]}."
    configure(DATABASE_URL=postgres_url, REDIS_URL=redis_url, QUEUE_BACKEND="redis", QUEUE_LEASE_SECONDS="60",
              EVENTS_BACKEND="kafka", EVENTS_KAFKA_BOOTSTRAP=kafka_bootstrap, EVENTS_TOPIC_PREFIX=prefix,
              HTTP_ALLOW_PRIVATE="true")
    migrate.upgrade(postgres_url)
    server = SilentServer()
    log_path = tmp_path / "worker.log"
    worker = subprocess.Popen([sys.executable, "-m", "backend.cli", "worker"], stdout=open(log_path, "ab"),  # noqa: SIM115
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        with TestClient(create_app()) as api:
            signed_up = api.post("/api/v1/auth/signup", json={"email": "c@example.com", "password": PASSWORD}).json()
            headers = {"Authorization": f"Bearer {signed_up['access_token']}"}
            other = api.post("/api/v1/auth/signup", json={"email": "o@example.com", "password": PASSWORD}).json()
            other_headers = {"Authorization": f"Bearer {other['access_token']}"}
            group = f"{prefix}executor-commands.{socket.gethostname()}-{worker.pid}"
            wait_for(lambda: "consumer group joined" in log_path.read_text() and group in log_path.read_text(),
                     60, "the worker's command consumer to join its group")

            from backend.executions import service

            with session_scope() as session:
                execution = service.create_execution(session, team_id=signed_up["team"]["id"],
                                                     definition=definition(server.port))
                execution_id = execution.id
            dispatch.dispatch(execution_id)
            assert server.connected.wait(60), log_path.read_text()[-3000:]
            assert server.hung_up_at is None

            refused = api.post(f"/api/v1/executions/{execution_id}/cancel", headers=other_headers)
            assert refused.status_code == 404  # another team's execution does not exist for it
            assert server.hung_up_at is None
            cancelled_at = time.monotonic()
            response = api.post(f"/api/v1/executions/{execution_id}/cancel", headers=headers)
            assert response.status_code == 200, response.text
            assert response.json()["status"] == "cancelled"

            wait_for(lambda: server.hung_up_at is not None, 5, "the worker to drop the partner's request", log_path)
            assert server.hung_up_at - cancelled_at < 3.0
            text = wait_for(lambda: "run stopped" in log_path.read_text() and log_path.read_text(), 5,
                            "the worker's log of the command")
            assert execution_id in text and "execution command acted on" in text
            with session_scope() as session:
                row = session.get(Execution, execution_id)
                assert (row.status, row.lease_owner, row.output) == ("cancelled", None, None)
            committed, end = asyncio.run(committed_and_end(kafka_bootstrap, group, prefix + "execution.commands"))
            assert end >= 1 and committed == end  # consumed from Kafka by the worker's own group
            time.sleep(1.0)
            with session_scope() as session:  # the run never went on to the next node
                assert session.get(Execution, execution_id).status == "cancelled"
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)
        server.close()
        asyncio.run(_drop_topics(kafka_bootstrap, prefix))


async def _drop_topics(bootstrap: str, prefix: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        if ours := [topic for topic in await admin.list_topics() if topic.startswith(prefix)]:
            await admin.delete_topics(ours)
    finally:
        await admin.close()
