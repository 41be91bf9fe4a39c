"""/health latency while anonymous callers run heavy inline webhook workflows.

    .venv/bin/python bench/health_under_load.py                # 4 heavy callers for 10 s
    .venv/bin/python bench/health_under_load.py --callers 8 --duration 20

The attack of issue #11 part 5: a webhook with ``respond: last_node`` runs its workflow
while the caller waits. The workflow here is CPU work in expressions only (no Code node):
Webhook -> Split Out (200 rows from the body) -> Set with ten ``{{ len(str($input)) }}``
fields, i.e. 2,000 evaluations that each turn the 200 items into text (about half a second
of CPU per call on the 2-core development VM).

It starts `linkflow serve --role webhook` (uvicorn, one process) on a fresh SQLite database
(setup through the service layer in a child process, like bench/webhook.py), then for
``--duration`` seconds ``--callers`` connections each POST the heavy webhook back to back,
while one more connection GETs /health every 20 ms and another calls a light webhook
(Webhook -> Set, respond last_node) every 50 ms. It prints the latency of each kind
(p50 / p95 / p99 / max) and how the heavy calls were answered (200, or 503 when the
server is overloaded). Everything runs on 127.0.0.1 and every loop is bounded by time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINKFLOW = str(Path(sys.executable).parent / "linkflow")
HEALTH_EVERY_S = 0.02
LIGHT_EVERY_S = 0.05


def heavy_workflow() -> dict:
    fields = [{"name": f"f{i}", "value": "{{ len(str($input)) }}"} for i in range(10)]
    return {
        "nodes": [
            {"id": "hook", "name": "Webhook", "type": "webhook", "position": [0, 0],
             "parameters": {"path": "heavy", "method": "POST", "respond": "last_node"}},
            {"id": "split", "name": "Split", "type": "split_out", "position": [1, 0],
             "parameters": {"field": "body.rows", "destination_field": "row"}},
            {"id": "set", "name": "Heavy", "type": "set", "position": [2, 0],
             "parameters": {"keep_only_set": True, "fields": fields}},
        ],
        "connections": [{"from": "hook", "to": "split"}, {"from": "split", "to": "set"}],
    }


def light_workflow() -> dict:
    return {
        "nodes": [
            {"id": "hook", "name": "Webhook", "type": "webhook", "position": [0, 0],
             "parameters": {"path": "light", "method": "POST", "respond": "last_node"}},
            {"id": "set", "name": "Set", "type": "set", "position": [1, 0],
             "parameters": {"keep_only_set": True, "fields": [{"name": "double", "value": "{{ $json.body.n * 2 }}"}]}},
        ],
        "connections": [{"from": "hook", "to": "set"}],
    }


def heavy_body(rows: int) -> bytes:
    return json.dumps({"rows": [{"i": i, "name": f"row {i}", "tags": ["a", "b", "c"]} for i in range(rows)]}).encode()


# ---------------------------------------------------------------- setup (child process)

def setup() -> None:
    from backend.db import migrate
    from backend.db.session import session_scope
    from backend.settings import get_settings
    from backend.users.service import create_user
    from backend.workflows import activation
    from backend.workflows.service import create_workflow

    migrate.upgrade(get_settings().database_url)
    with session_scope() as session:
        user, team = create_user(session, email="bench@example.com", password="benchmark password")
        for name, definition in (("heavy", heavy_workflow()), ("light", light_workflow())):
            flow = create_workflow(session, team_id=team.id, user_id=user.id, name=name, definition=definition)
            activation.activate(session, flow, user_id=user.id)


# ---------------------------------------------------------------- load (in this process)

async def _timed(client, method: str, url: str, **kwargs) -> tuple[float, int]:
    started = time.perf_counter()
    response = await client.request(method, url, **kwargs)
    return time.perf_counter() - started, response.status_code


async def _every(client, period_s: float, stop_at: float, call, latencies: list, statuses: Counter) -> None:
    while time.monotonic() < stop_at:
        started = time.monotonic()
        elapsed, status = await call(client)
        latencies.append(elapsed)
        statuses[status] += 1
        await asyncio.sleep(max(0.0, period_s - (time.monotonic() - started)))


async def _heavy_caller(base: str, body: bytes, stop_at: float, latencies: list, statuses: Counter) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        while time.monotonic() < stop_at:
            elapsed, status = await _timed(client, "POST", "/webhook/heavy", content=body,
                                           headers={"content-type": "application/json"})
            latencies.append(elapsed)
            statuses[status] += 1
            if status == 503:
                await asyncio.sleep(0.05)


async def drive(base: str, callers: int, duration_s: float, rows: int) -> dict:
    import httpx

    body = heavy_body(rows)
    stop_at = time.monotonic() + duration_s
    health, light, heavy = [], [], []
    health_status, light_status, heavy_status = Counter(), Counter(), Counter()
    n = iter(range(10**9))

    async def get_health(client):
        return await _timed(client, "GET", "/health")

    async def call_light(client):
        return await _timed(client, "POST", "/webhook/light", json={"n": next(n)})

    async with httpx.AsyncClient(base_url=base, timeout=120) as health_client, \
            httpx.AsyncClient(base_url=base, timeout=120) as light_client:
        await asyncio.gather(
            _every(health_client, HEALTH_EVERY_S, stop_at, get_health, health, health_status),
            _every(light_client, LIGHT_EVERY_S, stop_at, call_light, light, light_status),
            *(_heavy_caller(base, body, stop_at, heavy, heavy_status) for _ in range(callers)))
    return {"health": (health, health_status), "light webhook": (light, light_status),
            "heavy webhook": (heavy, heavy_status)}


async def idle_health(base: str, count: int) -> list[float]:
    import httpx

    latencies = []
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        for _ in range(count):
            latencies.append((await _timed(client, "GET", "/health"))[0])
            await asyncio.sleep(HEALTH_EVERY_S)
    return latencies


def summary(latencies: list[float]) -> str:
    if len(latencies) < 2:
        return f"{len(latencies)} calls"
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return (f"{len(latencies):>5} calls  p50 {cuts[49] * 1000:7.1f}  p95 {cuts[94] * 1000:7.1f}  "
            f"p99 {cuts[98] * 1000:7.1f}  max {max(latencies) * 1000:7.1f} ms")


# ---------------------------------------------------------------- orchestration

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(base: str, server: subprocess.Popen, timeout_s: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the server exited during start-up")
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("the server did not become healthy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=4, help="concurrent heavy callers")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load")
    parser.add_argument("--rows", type=int, default=200, help="items the heavy workflow works on")
    parser.add_argument("--setup", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup:
        return setup()
    data_dir = tempfile.mkdtemp(prefix="linkflow-bench-health-")
    env = {**os.environ, "LINKFLOW_DATA_DIR": data_dir, "LINKFLOW_LOG_LEVEL": "WARNING"}
    env.pop("LINKFLOW_DATABASE_URL", None)
    server = None
    try:
        subprocess.run([sys.executable, __file__, "--setup"], env=env, cwd=ROOT, check=True, timeout=120)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([LINKFLOW, "serve", "--role", "webhook", "--host", "127.0.0.1", "--port", str(port)],
                                  env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_healthy(base, server)
        print(f"# {args.callers} heavy callers x {min(args.duration, 300):g} s, {args.rows} rows; "
              f"{os.cpu_count()} CPUs; commit {_commit()}")
        print(f"/health idle          {summary(asyncio.run(idle_health(base, 100)))}")
        results = asyncio.run(drive(base, args.callers, min(args.duration, 300), args.rows))
        for name, (latencies, statuses) in results.items():
            print(f"{name + ' (loaded)':<21} {summary(latencies)}  answers {dict(sorted(statuses.items()))}")
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(data_dir, ignore_errors=True)


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    return done.stdout.strip() + ("+changes" if dirty else "")


if __name__ == "__main__":
    main()
