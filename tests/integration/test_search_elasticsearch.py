"""Search on a real Elasticsearch 8.19 node fed by the `search` consumer group from a real Kafka, over a real
PostgreSQL: documents appear from events, every query stays inside the caller's team (crafted queries too),
a deleted workflow disappears, poison events land in dlq.events with the reason, reindex rebuilds from the
database, and old months of executions are dropped with their indices."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from elasticsearch import ApiError, Elasticsearch
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.auth.tokens import issue_access_token
from backend.db import migrate
from backend.db.session import session_scope
from backend.events import kafka_admin
from backend.events.bus import create_bus
from backend.events.consumers import RetryPolicy, run_consumer
from backend.events.relay import relay_once
from backend.executions import dispatch
from backend.executions.worker_runtime import execute
from backend.search import cli as search_cli
from backend.search.consumers import CONSUMER
from backend.search.elastic import get_index
from backend.search.indexer import reindex
from backend.users.service import create_user

pytestmark = pytest.mark.integration


def definition(note: str) -> dict:
    return {"nodes": [
        {"id": "t", "name": "Start", "type": "manual_trigger", "position": [0, 0]},
        {"id": "m", "name": "Tag the order", "type": "set", "position": [1, 0],
         "parameters": {"fields": [{"name": "note", "value": note}]}},
    ], "connections": [{"from": "t", "to": "m"}]}


@pytest.fixture
def stack(configure, postgres_url, kafka_bootstrap, elasticsearch_url):
    run = uuid.uuid4().hex[:10]
    prefix, index_prefix = f"lfsearch-{run}.", f"lftest-{run}"
    configure(DATABASE_URL=postgres_url, EVENTS_BACKEND="kafka", EVENTS_KAFKA_BOOTSTRAP=kafka_bootstrap,
              EVENTS_TOPIC_PREFIX=prefix, SEARCH_BACKEND="elasticsearch",
              SEARCH_ELASTICSEARCH_URL=elasticsearch_url, SEARCH_INDEX_PREFIX=index_prefix)
    migrate.upgrade(postgres_url)
    previous = dispatch._dispatcher
    dispatch.register(lambda execution_id: execute(execution_id, "search-test-worker"))
    es = Elasticsearch(elasticsearch_url)
    with TestClient(create_app()) as client:
        yield client, prefix, es
    dispatch._dispatcher = previous
    for name in es.options(ignore_status=404).indices.get_alias(index=f"{index_prefix}-*").body:
        es.indices.delete(index=name)  # by name: the node refuses wildcard deletes
    for kind in ("workflows", "executions", "audit"):
        es.options(ignore_status=404).indices.delete_index_template(name=f"{index_prefix}-{kind}")
    asyncio.run(_drop_topics(kafka_bootstrap, prefix))


async def _drop_topics(bootstrap: str, prefix: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        if ours := [topic for topic in await admin.list_topics() if topic.startswith(prefix)]:
            await admin.delete_topics(ours)
    finally:
        await admin.close()


def sign_in(email: str) -> dict:
    with session_scope() as session:
        user, team = create_user(session, email=email, password="a long enough password")
        user_id, team_id = user.id, team.id
    return {"Authorization": f"Bearer {issue_access_token(user_id)[0]}", "X-Team-Id": team_id}


async def index_everything(es: Elasticsearch, until) -> None:
    """Relay the outbox to Kafka and run the search consumer group until `until()` holds."""
    await kafka_admin.ensure_topics()
    bus, stop = create_bus(), asyncio.Event()
    consumer = asyncio.create_task(run_consumer(bus, CONSUMER, stop, RetryPolicy(first_delay_s=0.05)))
    try:
        async with asyncio.timeout(90):
            while True:
                while await relay_once(bus):
                    pass
                await asyncio.to_thread(get_index().refresh)
                if await asyncio.to_thread(until):
                    return
                await asyncio.sleep(0.3)
    finally:
        stop.set()
        await consumer
        await bus.close()


def count(es: Elasticsearch, suffix: str) -> int:
    """Documents in the test's indices; 0 while a just-made index has no started shard yet (Elasticsearch answers
    503 then, which on a busy machine lasts long enough to be seen)."""
    try:
        return es.count(index=f"{get_index().prefix}-{suffix}", ignore_unavailable=True,
                        allow_no_indices=True)["count"]
    except ApiError as exc:
        if exc.meta.status != 503:
            raise
        return 0


def found(client: TestClient, headers: dict, q: str, types: str = "") -> list[tuple[str, str]]:
    answer = client.get("/api/v1/search", params={"q": q, **({"types": types} if types else {})}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["backend"] == "elasticsearch"
    return [(r["type"], r["id"]) for r in answer.json()["results"]]


def test_search_from_kafka_stays_inside_the_team(stack):
    client, prefix, es = stack
    alice, bob = sign_in("alice@example.com"), sign_in("bob@example.com")
    wf_a = client.post("/api/v1/workflows", json={"name": "Invoice reconciliation", "description": "matches ledgers",
                                                  "tags": ["finance"], "definition": definition("a")},
                       headers=alice).json()["id"]
    wf_b = client.post("/api/v1/workflows", json={"name": "Bob's invoices", "definition": definition("b")},
                       headers=bob).json()["id"]
    run = client.post(f"/api/v1/workflows/{wf_a}/run", json={"input": [{"customer": "zebracorp-4411"}]},
                      headers=alice)
    assert run.status_code == 202, run.text
    execution_a = run.json()["execution_id"]
    credential = client.post("/api/v1/credentials", json={"name": "Invoice API token", "type": "http_basic",
                                                          "values": {"username": "ops", "password": "s3cret-value"}},
                             headers=alice)
    assert credential.status_code == 201, credential.text

    def indexed() -> bool:
        return count(es, "workflows") == 2 and count(es, "executions-*") >= 1

    asyncio.run(index_everything(es, indexed))
    # the consumer wrote the documents: straight from the index, before any API call
    doc = es.get(index=get_index().index_for("workflow"), id=wf_a)["_source"]
    assert doc["node_names"] == ["Start", "Tag the order"] and doc["tags"] == ["finance"]
    assert "manual_trigger" in doc["node_types"]

    assert ("workflow", wf_a) in found(client, alice, "invoice")
    assert ("workflow", wf_b) not in found(client, alice, "invoice")
    assert found(client, alice, "recon")[0] == ("workflow", wf_a)  # a word's beginning is enough
    assert found(client, alice, "zebracorp-4411", "execution") == [("execution", execution_a)]
    assert ("workflow", wf_a) in found(client, alice, "tag the order", "workflow")  # a node's name
    credentials = client.get("/api/v1/search", params={"q": "invoice api", "types": "credential"},
                             headers=alice).json()
    assert [r["title"] for r in credentials["results"]] == ["Invoice API token"]
    assert "s3cret" not in json.dumps(credentials)

    # Bob's team sees none of Alice's documents, however the query is written
    team_a = alice["X-Team-Id"]
    for crafted in ("invoice", "zebracorp-4411", wf_a, execution_a, "*", f"team_id:{team_a}",
                    f'* OR team_id:"{team_a}"', '{"match_all": {}}', "reconciliation OR bob"):
        assert all(hit[1] not in (wf_a, execution_a) for hit in found(client, bob, crafted)), crafted
        # and Elasticsearch itself answers nothing of Alice's (the API re-checks rows; this is the index)
        answers = get_index().search(bob["X-Team-Id"], crafted, ["workflow", "execution"], 50)
        assert all(hit.source["team_id"] == bob["X-Team-Id"] for hits, _ in answers.values() for hit in hits)
    assert found(client, bob, "invoice", "workflow") == [("workflow", wf_b)]
    page = client.get("/api/v1/executions", params={"q": "zebracorp"}, headers=bob).json()
    assert page["total"] == 0 and page["items"] == []
    page = client.get("/api/v1/executions", params={"q": "zebracorp", "status": "succeeded"}, headers=alice).json()
    assert [item["id"] for item in page["items"]] == [execution_a] and page["total"] == 1
    assert client.get("/api/v1/executions", params={"q": "zebracorp", "status": "failed"},
                      headers=alice).json()["total"] == 0

    # a deleted workflow leaves the index through its events
    assert client.delete(f"/api/v1/workflows/{wf_a}", headers=alice).status_code == 204

    def gone() -> bool:
        return not es.exists(index=get_index().index_for("workflow"), id=wf_a)

    asyncio.run(index_everything(es, gone))
    assert ("workflow", wf_a) not in found(client, alice, "invoice")


def test_bad_requests_are_refused_clearly(stack):
    client, _, _ = stack
    alice = sign_in("carol@example.com")
    unknown = client.get("/api/v1/search", params={"q": "x", "types": "workflow,secrets"}, headers=alice)
    assert unknown.status_code == 400 and "'secret'" in unknown.json()["error"]["message"]
    assert client.get("/api/v1/search", params={"q": "x" * 201}, headers=alice).status_code == 422
    assert client.get("/api/v1/search", params={"q": "   "}, headers=alice).status_code == 400
    assert client.get("/api/v1/search", params={"q": "x"}).status_code == 401


def test_poison_events_go_to_the_dlq_with_the_reason(stack, kafka_bootstrap):
    client, prefix, es = stack

    async def scenario() -> list[dict]:
        await kafka_admin.ensure_topics()
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(prefix + "execution.events", b'{"type": "execution.failed"}', key=b"x1")
            await producer.send_and_wait(prefix + "workflow.events", b"not json at all", key=b"x2")
        finally:
            await producer.stop()
        bus, stop = create_bus(), asyncio.Event()
        task = asyncio.create_task(run_consumer(bus, CONSUMER, stop, RetryPolicy(first_delay_s=0.05)))
        dlq = AIOKafkaConsumer(prefix + "dlq.events", bootstrap_servers=kafka_bootstrap,
                               auto_offset_reset="earliest", group_id=f"t-{uuid.uuid4().hex[:6]}")
        await dlq.start()
        dead: list[dict] = []
        try:
            async with asyncio.timeout(60):
                while len(dead) < 2:
                    for records in (await dlq.getmany(timeout_ms=500)).values():
                        dead += [json.loads(r.value) for r in records]
        finally:
            await dlq.stop()
            stop.set()
            await task
            await bus.close()
        return dead

    dead = asyncio.run(scenario())
    assert {d["service"] for d in dead} == {"search"}
    reasons = " | ".join(d["error"] for d in dead)
    assert "execution_id" in reasons  # the schema says what was missing


def test_reindex_rebuilds_and_prune_drops_old_months(stack):
    client, _, es = stack
    alice, bob = sign_in("dave@example.com"), sign_in("erin@example.com")
    wf = client.post("/api/v1/workflows", json={"name": "Nightly export", "definition": definition("n")},
                     headers=alice).json()["id"]
    client.post("/api/v1/workflows", json={"name": "Nightly import", "definition": definition("m")}, headers=bob)
    executions = [client.post(f"/api/v1/workflows/{wf}/run", json={"input": [{"k": f"walrus-{n}"}]},
                              headers=alice).json()["execution_id"] for n in range(3)]
    index = get_index()
    counts = reindex(index, batch=2, max_chars=4096)  # no consumer ran: the database alone
    index.refresh()
    assert counts == {"workflow": 2, "execution": 3}
    assert sorted(i for _, i in found(client, alice, "walrus", "execution")) == sorted(executions)
    assert found(client, bob, "walrus", "execution") == []
    assert [t for t, _ in found(client, bob, "nightly", "workflow")] == ["workflow"]

    # an execution document from three months ago: hidden by retention at once, its month dropped by prune
    old = (datetime.now(UTC) - timedelta(days=95)).replace(day=1)
    doc = {"id": "old-execution", "team_id": alice["X-Team-Id"], "workflow_id": wf, "workflow_name": "Nightly export",
           "status": "succeeded", "mode": "manual", "created_at": old.isoformat(), "started_at": old.isoformat(),
           "finished_at": old.isoformat(), "error_message": "", "trigger_data": "walrus-old", "output": "",
           "errors": "", "truncated": False}
    old_index = index.index_for("execution", old.isoformat())
    assert index.bulk([("index", old_index, "old-execution", doc)]) == {}
    index.refresh()
    ids, total = index.search_executions(alice["X-Team-Id"], "walrus-old", [], 10, 0)
    assert (ids, total) == ([], 0)  # LINKFLOW_EXECUTIONS_RETENTION_DAYS is 30 by default
    assert old_index in search_cli.prune(index, 30)
    assert not es.indices.exists(index=old_index)
    assert count(es, "executions-*") == 3  # this month's stay
