"""How fast a backlog drains after a restart, against the same executions run fresh.

    .venv/bin/python bench/recovery.py                 # SQLite, 600 executions, partner latency 20 ms
    .venv/bin/python bench/recovery.py --count 1000 --latency-ms 50 --threads 4

The workflow of issue #18's campaign: Manual -> Wait 1 s -> HTTP Request -> HTTP Request, both
calls to a local partner endpoint that answers after ``--latency-ms``. Two scenarios, each on a
fresh SQLite database with one `linkflow worker` process (the in-process queue: the worker runtime
`linkflow up` embeds):

* fresh: the executions are queued, the worker starts and runs them (each parks for 1 s and is
  woken again) -- the engine's normal rate for this workflow;
* backlog: the executions are left as a process killed after they parked would leave them:
  waiting, their time long past (plus a share still running with an expired lease); the worker
  starts and drains them.

Printed: executions/s from the worker's start to the last finished execution (and from its first
partner call, which leaves out the process's start-up), and for the
fresh scenario also the wake-up delay (Wait step end - its planned time): p50 / p95 / max.
Every execution is checked to have succeeded with both calls answered. Loopback only; bounded.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def partner(latency_s: float) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            time.sleep(latency_s)
            body = b'{"ok": true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def definition(url: str) -> dict:
    call = {"type": "http_request", "version": 1, "parameters": {"url": url}}
    return {
        "name": "recovery", "nodes": [
            {"id": "t", "name": "Start", "type": "manual_trigger", "version": 1, "position": [0, 0]},
            {"id": "w", "name": "Wait", "type": "wait", "version": 1, "position": [1, 0],
             "parameters": {"mode": "duration", "amount": 1, "unit": "seconds"}},
            {"id": "a", "name": "Call A", **call, "position": [2, 0]},
            {"id": "b", "name": "Call B", **call, "position": [3, 0]},
        ],
        "connections": [{"from": "t", "to": "w"}, {"from": "w", "to": "a"}, {"from": "a", "to": "b"}],
    }


def prepare(scenario: str, count: int, url: str) -> None:
    """Runs in this process with the worker's environment: the database as the scenario needs it."""
    from sqlalchemy import insert, update

    from backend.db import migrate
    from backend.db.base import new_id, utcnow
    from backend.db.session import get_engine, session_scope
    from backend.executions import service
    from backend.executions.models import Execution, ExecutionStep
    from backend.settings import get_settings
    from backend.users.service import create_user

    migrate.upgrade(get_settings().database_url)
    with session_scope() as session:
        _, team = create_user(session, email="recovery@example.com", password="benchmark password")
        ids = [service.create_execution(session, team_id=team.id, definition=definition(url),
                                        input_items=[{"json": {"n": n}}]).id for n in range(count)]
    if scenario == "fresh":
        return
    parked = utcnow() - timedelta(seconds=120)
    running = set(ids[: count // 10])  # a tenth was mid-run in the killed process: lease long expired
    with get_engine().begin() as conn:
        for execution_id in ids:
            if execution_id in running:
                values = {"status": "running", "lease_owner": "dead:1", "lease_expires_at": parked}
            else:
                values = {"status": "waiting", "resume_at": parked + timedelta(seconds=1)}
            conn.execute(update(Execution).where(Execution.id == execution_id).values(attempts=1, **values))
        steps = [{"id": new_id(), "execution_id": execution_id, "node_id": node_id, "node_name": name,
                  "run_index": 0, "status": status, "attempts": 1, "input": {}, "output": output,
                  "started_at": parked, "finished_at": parked}
                 for execution_id in ids
                 for node_id, name, status, output in (("t", "Start", "succeeded", {"main": [{"json": {}}]}),
                                                       ("w", "Wait", "waiting", {}))
                 if execution_id not in running or node_id == "t"]
        conn.execute(insert(ExecutionStep), steps)


def outcome(since=None) -> dict:
    from sqlalchemy import func, select

    from backend.db.session import session_scope
    from backend.executions.models import Execution, ExecutionStep

    with session_scope() as session:
        by_status = dict(session.execute(select(Execution.status, func.count()).group_by(Execution.status)).all())
        finished = session.scalar(select(func.max(Execution.finished_at)))
        calls = session.scalar(select(func.count()).select_from(ExecutionStep)
                               .where(ExecutionStep.node_id.in_(["a", "b"]), ExecutionStep.status == "succeeded"))
        first = session.scalar(select(func.min(ExecutionStep.started_at))
                               .where(ExecutionStep.node_id.in_(["a", "b"]))) if since else None
        waits = session.execute(select(ExecutionStep.started_at, ExecutionStep.finished_at)
                                .where(ExecutionStep.node_id == "w", ExecutionStep.status == "succeeded")).all()
    return {"by_status": by_status, "last_finished": finished, "calls": calls, "first_call": first,
            "wake_delays": [(end - start).total_seconds() - 1.0 for start, end in waits]}


def measure(scenario: str, count: int, latency_ms: float, threads: int, timeout_s: float) -> dict:
    data_dir = tempfile.mkdtemp(prefix="linkflow-bench-recovery-")
    server = partner(latency_ms / 1000)
    env = {**os.environ, "LINKFLOW_DATA_DIR": data_dir, "LINKFLOW_LOG_LEVEL": "WARNING",
           "LINKFLOW_HTTP_ALLOW_PRIVATE": "true", "LINKFLOW_QUEUE_BACKEND": "memory",
           "LINKFLOW_QUEUE_WORKER_THREADS": str(threads)}
    env.pop("LINKFLOW_DATABASE_URL", None)
    os.environ.update(env)
    from tests.conftest import reset_caches

    reset_caches()
    worker = None
    try:
        prepare(scenario, count, f"http://127.0.0.1:{server.server_address[1]}/call")
        started = time.time()
        worker = subprocess.Popen([sys.executable, "-m", "backend.cli", "worker"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            time.sleep(0.5)
            result = outcome()
            if result["by_status"].get("succeeded", 0) + result["by_status"].get("failed", 0) >= count:
                break
        result = outcome(since=started)
        finished = result["last_finished"].timestamp() if result["last_finished"] else time.time()
        result["seconds"] = finished - started
        result["busy_seconds"] = finished - result["first_call"].timestamp() if result["first_call"] else None
        return result
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
        server.shutdown()
        server.server_close()
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=600)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--scenario", choices=["fresh", "backlog", "both"], default="both")
    args = parser.parse_args()
    count = min(args.count, 20_000)
    print(f"# {count} executions, partner latency {args.latency_ms:g} ms, {args.threads} worker threads, "
          f"load average {os.getloadavg()[0]:.1f}")
    print("| scenario | executions/s (from start / from first call) | succeeded | failed/left | both calls answered | wake-up delay p50 / p95 / max s |")
    print("|---|---|---|---|---|---|")
    for scenario in (["fresh", "backlog"] if args.scenario == "both" else [args.scenario]):
        r = measure(scenario, count, args.latency_ms, args.threads, args.timeout)
        done = r["by_status"].get("succeeded", 0)
        delays = sorted(r["wake_delays"])
        wake = (f"{statistics.median(delays):.2f} / {delays[int(len(delays) * 0.95) - 1]:.2f} / {delays[-1]:.2f}"
                if scenario == "fresh" and delays else "—")
        busy = f"{done / r['busy_seconds']:,.0f}" if r["busy_seconds"] else "—"
        print(f"| {scenario} | {done / r['seconds']:,.0f} / {busy} | {done} | {count - done} | "
              f"{r['calls'] == 2 * done} | {wake} |", flush=True)


if __name__ == "__main__":
    main()
