"""Engine numbers for the engine issue, with the real built-in nodes.

    .venv/bin/python bench/engine.py            # all three measurements
    .venv/bin/python bench/engine.py overhead   # or: throughput | memory

1. Per-node overhead of a 100-node linear workflow (manual_trigger + 99 `set` nodes),
   without persistence (NullStepStore) and with SQLite persistence (SqlStepStore: one
   committed execution_steps row per node, WAL, synchronous=NORMAL).
2. Executions per second for a 3-node workflow through the embedded queue (in-process
   Dramatiq broker + worker threads), counted from the first enqueue to the last finish.
3. Peak memory (max RSS growth) of a run over 100,000 items.
Targets: <= 50 us/node without persistence; >= 500 executions/s embedded.
"""

from __future__ import annotations

import asyncio
import os
import resource
import sys
import tempfile
import time

os.environ.setdefault("LINKFLOW_DATA_DIR", tempfile.mkdtemp(prefix="linkflow-bench-"))
os.environ.setdefault("LINKFLOW_LOG_LEVEL", "WARNING")

from backend.db import migrate  # noqa: E402
from backend.db.session import session_scope  # noqa: E402
from backend.engine import EngineServices, ExecutionInfo, NullStepStore, run  # noqa: E402
from backend.executions import dispatch, service  # noqa: E402
from backend.executions.models import Execution  # noqa: E402
from backend.executions.sql_store import SqlStepStore  # noqa: E402
from backend.settings import get_settings  # noqa: E402
from backend.users.service import create_user  # noqa: E402


def linear_set_workflow(count: int) -> dict:
    nodes = [{"id": "n0", "name": "Start", "type": "manual_trigger", "version": 1, "position": [0, 0]}]
    nodes += [{"id": f"n{i}", "name": f"Set {i}", "type": "set", "version": 1, "position": [i, 0],
               "parameters": {"fields": [{"name": f"f{i % 5}", "value": i}]}} for i in range(1, count)]
    connections = [{"from": f"n{i}", "output": "main", "to": f"n{i + 1}", "input": "main"}
                   for i in range(count - 1)]
    return {"name": f"linear {count}", "nodes": nodes, "connections": connections}


def setup_team() -> str:
    migrate.upgrade(get_settings().database_url)
    with session_scope() as session:
        return create_user(session, email=f"bench{time.time_ns()}@example.com", password="benchmark!")[1].id


def new_execution(team_id: str, definition: dict) -> str:
    with session_scope() as session:
        return service.create_execution(session, team_id=team_id, definition=definition).id


async def overhead(team_id: str) -> None:
    definition, services = linear_set_workflow(100), EngineServices()
    items = [{"json": {"n": 1}}]
    for label, store_for, repeats in (("no persistence", lambda: NullStepStore(), 300),
                                      ("SQLite persistence", lambda: SqlStepStore(new_execution(team_id, definition), team_id), 10)):
        await run(definition, execution=ExecutionInfo(id="warm"), input_items=items, store=store_for(), services=services)
        stores = [store_for() for _ in range(repeats)]  # creating execution rows is not engine overhead
        began = time.perf_counter()
        for store in stores:
            result = await run(definition, execution=ExecutionInfo(id="bench"), input_items=items, store=store,
                               services=services)
        per_node = (time.perf_counter() - began) / repeats / 100 * 1e6
        assert result.status == "succeeded", result.error
        print(f"overhead  100-node set chain, {label:18}: {per_node:8.1f} us/node")


async def throughput(team_id: str, count: int = 2000, save_data: str = "all") -> None:
    from executors.embedded import run_embedded

    definition = {**linear_set_workflow(3), "settings": {"save_data": save_data}}
    async with run_embedded():
        ids = [new_execution(team_id, definition) for _ in range(count)]
        began, cpu_began = time.perf_counter(), time.process_time()
        for execution_id in ids:
            dispatch.dispatch(execution_id)
        while True:
            with session_scope() as session:
                left = session.query(Execution).filter(Execution.status.in_(("queued", "running"))).count()
            if not left:
                break
            await asyncio.sleep(0.05)
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu_began
    with session_scope() as session:
        ok = session.query(Execution).filter(Execution.id.in_(ids), Execution.status == "succeeded").count()
    print(f"throughput 3-node workflow, embedded queue ({get_settings().queue.worker_threads} threads), "
          f"save_data={save_data}: {count / elapsed:6.0f} executions/s  ({ok}/{count} succeeded in {elapsed:.2f} s; "
          f"process CPU {cpu / count * 1000:.2f} ms/execution)")


async def memory(items_count: int = 100_000) -> None:
    definition = linear_set_workflow(3)
    items = [{"json": {"n": i, "name": f"item {i}"}} for i in range(items_count)]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = await run(definition, execution=ExecutionInfo(id="mem"), input_items=items, store=NullStepStore(),
                       services=EngineServices())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert result.status == "succeeded" and len(result.output) == items_count
    print(f"memory    {items_count:,} items through manual_trigger -> set -> set: peak RSS {peak / 1024:7.1f} MB "
          f"(+{(peak - before) / 1024:.1f} MB over the {before / 1024:.1f} MB before the run)")


async def main(which: list[str]) -> None:
    team_id = setup_team()
    if not which or "overhead" in which:
        await overhead(team_id)
    if not which or "throughput" in which:
        await throughput(team_id)
        await throughput(team_id, save_data="none")
    if not which or "memory" in which:
        await memory()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
