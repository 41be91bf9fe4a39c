"""Two in-process costs of a saved webhook run in `linkflow up` (issue #18), measured without HTTP or threads:

* writing executions and their steps into SQLite at the schema before migration 0017 (an index on
  ``execution_steps.execution_id`` beside the unique constraint that leads with it, full indexes on
  ``executions.resume_at`` and ``parent_execution_id``) and at head, alternating rounds in one run;
* the in-memory bus handing a relay batch of 500 events to four consumer groups (µs of the loop's CPU per
  event), for the code on ``sys.path``: run it with ``PYTHONPATH=<another checkout>`` for the A/B.

    .venv/bin/python bench/embedded_write_path.py
    PYTHONPATH=/tmp/before .venv/bin/python bench/embedded_write_path.py   # another checkout's bus
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import tempfile
import time

BEFORE_0017 = "0016_vendor_webhooks"
RUNS_PER_COMMIT = 20
COMMITS = 300
ROUNDS = 6
EVENTS, GROUPS, PUBLISHES = 500, 4, 400

_EXECUTION = ("INSERT INTO executions (id, team_id, workflow_id, version_id, status, mode, output, created_at, "
              "attempts, lost_attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
_STEP = ("INSERT INTO execution_steps (id, execution_id, node_id, node_name, run_index, status, attempts, output, "
         "started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")


def _database(revision: str) -> str:
    from backend.db import migrate

    path = f"{tempfile.mkdtemp(prefix='lf-write-path-')}/lf.db"
    migrate.upgrade(f"sqlite:///{path}", revision)
    return path


def _write_us(path: str, first: int) -> float:
    """µs of CPU per execution: COMMITS transactions of RUNS_PER_COMMIT runs of two steps (webhook -> set)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    output, moment = json.dumps([{"json": {"a": 1}}]), "2026-12-06 21:00:00.000000"
    started = time.thread_time()  # CPU of this thread (SQLite's work included): steadier than wall time here
    number = first
    for _ in range(COMMITS):
        executions, steps = [], []
        for _ in range(RUNS_PER_COMMIT):
            number += 1
            execution_id = f"{number:032d}"
            executions.append((execution_id, "t", "w", "v", "success", "webhook", output, moment, 1, 0))
            steps += [(f"{number:031d}{n}", execution_id, node, node, 0, "succeeded", 1, output, moment)
                      for n, node in enumerate(("webhook", "set"))]
        conn.execute("BEGIN")
        conn.executemany(_EXECUTION, executions)
        conn.executemany(_STEP, steps)
        conn.execute("COMMIT")
    conn.close()
    return (time.thread_time() - started) / (COMMITS * RUNS_PER_COMMIT) * 1e6


async def _bus_us() -> float:
    from backend.events.bus import Event, InMemoryBus

    groups = {f"group-{n}": ("execution.events",) for n in range(GROUPS)}
    bus, stop = InMemoryBus(groups), asyncio.Event()

    async def handle_batch(events: list) -> None:
        return None

    consumers = [asyncio.create_task(bus.run_consumer(name, topics, None, stop, batch_handler=handle_batch))
                 for name, topics in groups.items()]
    await asyncio.sleep(0)
    events = [Event("execution.events", f"key-{n % 50}", {"n": n}) for n in range(EVENTS)]
    for _ in range(20):
        await bus.publish(events)
    started = time.thread_time()
    for _ in range(PUBLISHES):
        await bus.publish(events)
    spent = time.thread_time() - started
    stop.set()
    await asyncio.gather(*consumers)
    return spent / (PUBLISHES * EVENTS) * 1e6


def main() -> None:
    import uvloop

    databases = {"before 0017": _database(BEFORE_0017), "head": _database("head")}
    print(f"# SQLite: {RUNS_PER_COMMIT} runs of two steps per transaction, {COMMITS} transactions a round")
    print("| schema | " + " | ".join(f"round {n + 1}" for n in range(ROUNDS)) + " |  (µs of CPU per execution written)")
    print("|---|" + "---|" * ROUNDS)
    rows: dict[str, list[float]] = {name: [] for name in databases}
    for round_ in range(ROUNDS):
        for name, path in databases.items():
            rows[name].append(_write_us(path, round_ * COMMITS * RUNS_PER_COMMIT))
    for name, values in rows.items():
        print(f"| {name} | " + " | ".join(f"{value:.1f}" for value in values) + " |")
    bus = [uvloop.run(_bus_us()) for _ in range(3)]
    print(f"\n# in-memory bus: {EVENTS} events to {GROUPS} groups, {PUBLISHES} publishes, loop CPU per event")
    print("µs per event: " + " / ".join(f"{value:.2f}" for value in bus))


if __name__ == "__main__":
    main()
