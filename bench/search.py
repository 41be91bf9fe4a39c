"""Search on a real Elasticsearch: indexing rate from Kafka, and query p95 over a large index.

Needs PostgreSQL, Kafka and Elasticsearch on loopback (`bash deploy/local/infra.sh up kafka elasticsearch`,
then `eval "$(bash deploy/local/infra.sh env)"`):

    .venv/bin/python bench/search.py [--kafka-executions 20000] [--docs 1000000] [--max-seed-s 600]

1. Indexing from Kafka: N executions are written to a fresh PostgreSQL database and N `execution.succeeded`
   events to fresh topics; the `search` consumer group (the code `linkflow consume --service search` runs:
   batch fetches, one DB read and one bulk request per fetch) indexes them. Reported: executions/s from the
   first event handled to the last document written.
2. Query p95: execution documents (100 teams, random words in their data) are bulk-written straight into
   the index until --docs or --max-seed-s, then team-filtered queries are timed the way the API asks them
   (the executions page's search, and the global search box). Reported with the size actually reached.
Everything it creates (database, topics, indices with a bench prefix) is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import random
import statistics
import string
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg  # noqa: E402

WORDS = ["".join(random.Random(n).choices(string.ascii_lowercase, k=random.Random(n).randint(4, 9)))
         for n in range(5000)]


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"{name} is not set: run `bash deploy/local/infra.sh up kafka elasticsearch` and "
                         "`eval \"$(bash deploy/local/infra.sh env)\"`")
    return value


def _configure(db_url: str, prefix: str, index_prefix: str) -> None:
    os.environ.update({
        "LINKFLOW_DATABASE_URL": db_url, "LINKFLOW_EVENTS_BACKEND": "kafka",
        "LINKFLOW_EVENTS_KAFKA_BOOTSTRAP": _env("LINKFLOW_TEST_KAFKA_BOOTSTRAP"),
        "LINKFLOW_EVENTS_TOPIC_PREFIX": prefix, "LINKFLOW_SEARCH_BACKEND": "elasticsearch",
        "LINKFLOW_SEARCH_ELASTICSEARCH_URL": _env("LINKFLOW_TEST_ELASTICSEARCH_URL"),
        "LINKFLOW_SEARCH_INDEX_PREFIX": index_prefix, "LINKFLOW_LOG_LEVEL": "WARNING"})


# ------------------------------------------------------------ kafka → index --

def seed_database(n: int) -> tuple[str, list[str]]:
    from sqlalchemy import insert

    from backend.db.session import session_scope
    from backend.executions.models import Execution
    from backend.users.service import create_user

    with session_scope() as session:
        _, team = create_user(session, email=f"bench-{uuid.uuid4().hex[:8]}@example.com", password="bench password 1")
        team_id = team.id
    now = datetime.now(UTC)
    ids = [uuid.uuid4().hex for _ in range(n)]
    rng = random.Random(1)
    for start in range(0, n, 5000):
        rows = [{"id": i, "team_id": team_id, "status": "succeeded", "mode": "webhook",
                 "input": [{"json": {"order": f"ord-{k}", "customer": " ".join(rng.choices(WORDS, k=4))}}],
                 "output": [{"json": {"total": k % 977, "note": " ".join(rng.choices(WORDS, k=6))}}],
                 "created_at": now, "started_at": now, "finished_at": now + timedelta(milliseconds=40)}
                for k, i in enumerate(ids[start:start + 5000], start)]
        with session_scope() as session:
            session.execute(insert(Execution), rows)
    return team_id, ids


async def produce_events(team_id: str, ids: list[str]) -> None:
    from backend.events import kafka_admin
    from backend.events.bus import Event, create_bus

    await kafka_admin.ensure_topics()
    bus = create_bus()
    try:
        for start in range(0, len(ids), 2000):
            await bus.publish([Event("execution.events", i, {
                "type": "execution.succeeded", "status": "succeeded", "execution_id": i, "team_id": team_id,
                "mode": "webhook", "event_id": start + k}) for k, i in enumerate(ids[start:start + 2000])])
    finally:
        await bus.close()


async def consume_until_indexed(n: int) -> float:
    from backend.events.bus import create_bus
    from backend.events.consumers import run_consumer
    from backend.search.consumers import CONSUMER
    from backend.search.elastic import get_index

    index = get_index()
    index.ensure_templates()
    bus, stop = create_bus(), asyncio.Event()
    started = time.perf_counter()
    first: list[float] = []

    async def timed(events):  # the consumer's own handler; notes when the first fetch arrived
        first or first.append(time.perf_counter())
        return await CONSUMER.handle_batch(events)

    consumer = dataclasses.replace(CONSUMER, handle_batch=timed)
    task = asyncio.create_task(run_consumer(bus, consumer, stop))
    try:
        while True:
            await asyncio.sleep(0.1)
            count = await asyncio.to_thread(_count, index)
            if count >= n:
                done = time.perf_counter()
                return done - started, done - first[0]
            if task.done():
                task.result()
                raise SystemExit("the consumer stopped")
    finally:
        stop.set()
        await task
        await bus.close()


def _count(index) -> int:
    from elasticsearch import ApiError

    try:
        return index.client.count(index=index.pattern("execution"), ignore_unavailable=True,
                                  allow_no_indices=True)["count"]
    except ApiError:  # a month's index just created: its shard is not started yet
        return 0


# ------------------------------------------------------------- query p95 --

def seed_index(target: int, max_s: float, teams: int) -> tuple[int, float]:
    """Bulk-write execution documents (templates varied by id, team and time) from two threads."""
    from concurrent.futures import ThreadPoolExecutor

    from backend.search.elastic import get_index

    index = get_index()
    index.ensure_templates()
    rng = random.Random(7)
    now = datetime.now(UTC)
    months = [now, now - timedelta(days=32)]
    for moment in months:  # created up front so refreshes can be paused while seeding
        index.client.options(ignore_status=400).indices.create(index=index.index_for("execution", moment.isoformat()))
    index.client.indices.put_settings(index=index.pattern("execution"), settings={"refresh_interval": "-1"})
    pool = [{"workflow_name": " ".join(rng.choices(WORDS, k=2)), "status": rng.choice(["succeeded", "failed"]),
             "mode": rng.choice(["webhook", "schedule", "manual"]), "error_message": "", "errors": "",
             "trigger_data": json.dumps({"order": f"ord-{k}", "customer": " ".join(rng.choices(WORDS, k=5))}),
             "output": json.dumps({"note": " ".join(rng.choices(WORDS, k=8))}), "truncated": False}
            for k in range(5000)]
    batch, started = 5000, time.perf_counter()

    def write(start: int) -> int:
        ops = []
        for k in range(start, min(start + batch, target)):
            moment = (months[k % 2] - timedelta(seconds=(k * 7919) % (20 * 24 * 3600))).isoformat()
            doc = {**pool[k % len(pool)], "id": f"x{k:08d}", "team_id": f"team-{k % teams:03d}",
                   "workflow_id": f"wf-{k % 997}", "created_at": moment, "started_at": moment, "finished_at": moment}
            ops.append({"index": {"_index": index.index_for("execution", moment), "_id": doc["id"]}})
            ops.append(doc)
        response = index.client.bulk(operations=ops, refresh=False)
        if response["errors"]:
            raise SystemExit(f"bulk errors: {[i for i in response['items'] if 'error' in next(iter(i.values()))][:2]}")
        return len(ops) // 2

    written = 0
    with ThreadPoolExecutor(2) as threads:
        while written < target and time.perf_counter() - started < max_s:
            starts = [s for s in (written, written + batch) if s < target]
            written += sum(threads.map(write, starts))
            if written % 100_000 < 2 * batch:
                print(f"  seeded {written:,} documents ({written / (time.perf_counter() - started):,.0f}/s)",
                      flush=True)
    elapsed = time.perf_counter() - started
    index.client.indices.put_settings(index=index.pattern("execution"), settings={"refresh_interval": "1s"})
    index.client.indices.refresh(index=index.pattern("execution"))
    index.client.indices.forcemerge(index=index.pattern("execution"), max_num_segments=5, request_timeout=600)
    return written, elapsed


def time_queries(teams: int, rounds: int) -> dict[str, list[float]]:
    from backend.search.elastic import get_index

    index = get_index()
    rng = random.Random(11)
    timings: dict[str, list[float]] = {"executions page (q + status, newest first, 20)": [],
                                       "global search (workflows + executions, 8 each)": []}
    for _ in range(rounds):
        team, word = f"team-{rng.randrange(teams):03d}", rng.choice(WORDS)
        t0 = time.perf_counter()
        index.search_executions(team, word, [{"term": {"status": "failed"}}], 20, 0)
        timings["executions page (q + status, newest first, 20)"].append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        index.search(team, word[:4], ["workflow", "execution"], 8)
        timings["global search (workflows + executions, 8 each)"].append((time.perf_counter() - t0) * 1000)
    return timings


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kafka-executions", type=int, default=20_000)
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--max-seed-s", type=float, default=600)
    parser.add_argument("--teams", type=int, default=100)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()

    admin_dsn = _env("LINKFLOW_TEST_POSTGRES_URL").replace("postgresql+psycopg://", "postgresql://")
    run = uuid.uuid4().hex[:8]
    db = f"lf_bench_search_{run}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    db_url = _env("LINKFLOW_TEST_POSTGRES_URL").rsplit("/", 1)[0] + f"/{db}"
    prefix, index_prefix = f"lfbench-{run}.", f"lfbench-{run}"
    _configure(db_url, prefix, index_prefix)
    from backend.db import migrate
    from backend.search.elastic import get_index

    migrate.upgrade(db_url)
    try:
        n = args.kafka_executions
        if n:
            t0 = time.perf_counter()
            team_id, ids = seed_database(n)
            print(f"PostgreSQL: {n:,} executions written in {time.perf_counter() - t0:.1f}s", flush=True)
            t0 = time.perf_counter()
            asyncio.run(produce_events(team_id, ids))
            print(f"Kafka: {n:,} execution.succeeded events produced in {time.perf_counter() - t0:.1f}s", flush=True)
            total, steady = asyncio.run(consume_until_indexed(n))
            print(f"INDEXING from Kafka: {n:,} executions in {steady:.1f}s from the first fetch = "
                  f"{n / steady:,.0f} executions/s ({n / total:,.0f}/s counting the consumer group's start, "
                  f"{total:.1f}s; target >= 2,000/s)", flush=True)
            index = get_index()
            index.client.indices.delete(index=",".join(index.client.indices.get_alias(
                index=index.pattern("execution")).body))
        if args.docs:
            written, seconds = seed_index(args.docs, args.max_seed_s, args.teams)
            print(f"seeded {written:,} execution documents straight into the index in {seconds:.0f}s "
                  f"({written / seconds:,.0f}/s)", flush=True)
            time_queries(args.teams, 30)  # warm-up
            for name, values in time_queries(args.teams, args.queries).items():
                print(f"QUERY {name} over {written:,} documents, {args.teams} teams: p50 {p(values, 50):.1f} ms, "
                      f"p95 {p(values, 95):.1f} ms, p99 {p(values, 99):.1f} ms ({len(values)} queries; "
                      "target p95 < 100 ms at 1,000,000)", flush=True)
    finally:
        _cleanup(admin_dsn, db, prefix, index_prefix)


def _cleanup(admin_dsn: str, db: str, prefix: str, index_prefix: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    from backend.db.session import get_engine
    from backend.search.elastic import get_index

    get_engine().dispose()
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    client = get_index().client
    names = list(client.options(ignore_status=404).indices.get_alias(index=f"{index_prefix}-*").body)
    for name in names:
        client.indices.delete(index=name)
    for kind in ("workflows", "executions", "audit"):
        client.options(ignore_status=404).indices.delete_index_template(name=f"{index_prefix}-{kind}")

    async def drop_topics() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=_env("LINKFLOW_TEST_KAFKA_BOOTSTRAP"))
        await admin.start()
        try:
            if ours := [t for t in await admin.list_topics() if t.startswith(prefix)]:
                await admin.delete_topics(ours)
        finally:
            await admin.close()

    asyncio.run(drop_topics())


if __name__ == "__main__":
    main()
