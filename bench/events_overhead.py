"""The CPU the event facts add to one webhook request, measured in process (issue #14).

What a webhook request does for the event topics beyond main's status event, timed function by function
(best of 5 repeats of thousands of calls, so the shared VM's noise moves it least), on a fresh SQLite:

* every request: its `webhook.answered` and `trigger.fired` entries (`webhooks/facts.answered`) and their
  share of the deferred per-loop batch written from a thread (`events/deferred.write`);
* a saved run: its node results and usage fact (`executions/facts.run_facts`), the per-workflow rows of a
  group commit of 12 runs (`fact_rows`) and their JSON encoding for the outbox insert;
* a run that saves nothing: its usage entry (`webhooks/runs._unsaved_usage`) and its share of the batch write;
* off the request path, in the relay: expanding and checking one outbox row against its schema.

    .venv/bin/python bench/events_overhead.py
    PYTHONPATH=/tmp/before .venv/bin/python bench/events_overhead.py   # another checkout's code (A/B)
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
import timeit
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

RUNS_PER_COMMIT = 12  # runs per group commit seen under bench/webhook.py's load


def best_us(fn, number: int, per: int = 1) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number / per * 1e6


def main() -> None:
    data = tempfile.mkdtemp(prefix="lf-events-bench-")
    os.environ.update({"LINKFLOW_DATA_DIR": data, "LINKFLOW_DATABASE_URL": f"sqlite:///{data}/lf.db",
                       "LINKFLOW_MODE": "local", "LINKFLOW_LOG_LEVEL": "WARNING"})
    from backend.db import migrate
    from backend.settings import get_settings

    migrate.upgrade(get_settings().database_url)
    asyncio.run(measure())


async def measure() -> None:
    from backend.engine.runner import RunResult
    from backend.engine.store import StepRecord
    from backend.events import deferred, schemas
    from backend.executions import facts
    from backend.webhooks import facts as webhook_facts
    from backend.webhooks import runs

    now = datetime.now(UTC)
    steps = [StepRecord(node_id=f"node-{i}", node_name=f"Node {i}", run_index=0, status="succeeded",
                        input={"main": [{"json": {"n": i}}]}, output={"main": [{"json": {"n": i + 1}}]},
                        started_at=now, finished_at=now + timedelta(milliseconds=i + 1)) for i in range(3)]
    result = RunResult(status="succeeded", nodes={}, output=[{"json": {"n": 3}}], error=None, last_steps=steps)
    ids = {"team_id": "t" * 32, "workflow_id": "w" * 32}
    rows: dict[str, float] = {}

    def run_facts():
        return facts.run_facts(execution_id="e" * 32, mode="webhook", status="succeeded", result=result,
                               started_at=now, finished_at=now, **ids)

    rows["saved run: node results + usage fact"] = best_us(run_facts, 20_000)
    batch = [run_facts() for _ in range(RUNS_PER_COMMIT)]
    rows["saved run: its share of the group commit's fact rows"] = best_us(
        lambda: facts.fact_rows(batch), 2_000, RUNS_PER_COMMIT)
    encoded = facts.fact_rows(batch)
    rows["saved run: JSON of those rows (the outbox insert)"] = best_us(
        lambda: [json.dumps(row["payload"]) for row in encoded], 2_000, RUNS_PER_COMMIT)

    loop = asyncio.get_running_loop()
    started = time.perf_counter()

    def answered():
        webhook_facts.answered(node_id="hook", mode="webhook", method="POST", path="bench", status=200,
                               started=started, request_bytes=30, response_bytes=40, execution_id="e" * 32, **ids)

    deferred._batches.clear()
    rows["every request: webhook.answered + trigger.fired entries"] = best_us(answered, 20_000)
    pending = _pending(deferred, loop)
    requests = 2_000
    rows["every request: its share of the deferred batch write"] = _write_us(deferred, pending[:2 * requests], requests)

    draft = SimpleNamespace(id="e" * 32, mode="webhook", created_at=now, team_id=ids["team_id"],
                            workflow_id=ids["workflow_id"])
    rows["unsaved run: its usage entry"] = best_us(lambda: runs._unsaved_usage(draft, result), 20_000)
    pending = _pending(deferred, loop)
    rows["unsaved run: its share of the deferred batch write"] = _write_us(deferred, pending[:requests], requests)

    relay_rows = encoded  # what the relay reads back: the rows as stored
    unpack = _unpacker()

    def check():
        for row in relay_rows:
            schemas.validate(row["topic"], row["key"], unpack(row["payload"]))

    rows["relay (off the request): expand + check, per run"] = best_us(check, 500, RUNS_PER_COMMIT)

    saved = sum(v for k, v in rows.items() if k.startswith(("saved", "every")))
    unsaved = sum(v for k, v in rows.items() if k.startswith(("unsaved", "every")))
    print(f"# code: {sys.modules['backend'].__path__[0]}; load average {os.getloadavg()[0]:.1f}")
    print("| work | µs |")
    print("|---|---|")
    for name, value in rows.items():
        print(f"| {name} | {value:.1f} |")
    print(f"| **webhook process, per saved request** | **{saved:.1f}** |")
    print(f"| **webhook process, per request that saves nothing** | **{unsaved:.1f}** |")


def _pending(deferred, loop) -> list:
    batch = deferred._batches.get(loop)
    if batch is None:
        return []
    pending, batch._pending = batch._pending, []
    return pending


def _write_us(deferred, pending: list, requests: int) -> float:
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        deferred.write(pending)
        best = min(best, time.process_time() - started)
    return best / requests * 1e6


def _unpacker():
    try:
        from backend.events.packed import unpack
    except ImportError:  # code from before packed rows: payloads are the events as they are
        return lambda payload: payload
    return unpack


if __name__ == "__main__":
    main()
