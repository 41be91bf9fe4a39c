"""Scaled out: webhook intake on the API role and executions on 1, 2 and 4 workers (PostgreSQL + Redis).

Run it as bench/queue.py (this module is its body; see that file for why).

    eval "$(bash deploy/local/infra.sh env)"
    .venv/bin/python bench/queue.py                         # workers 1, 2, 4
    .venv/bin/python bench/queue.py --workers 2 --duration 5 --count 1000
    .venv/bin/python bench/queue.py --root /tmp/base       # the code of another checkout (same venv): A/B
    .venv/bin/python bench/queue.py --workers 0 --connections 32   # the intake alone, 32 connections

For each worker count, on a fresh PostgreSQL database (on the server of LINKFLOW_TEST_POSTGRES_URL)
and a Redis database of its own (LINKFLOW_BENCH_REDIS_URL, default db 9 of the test Redis, flushed
before and after), it starts `linkflow serve --role api` and that many `linkflow worker` processes
(LINKFLOW_QUEUE_BACKEND=redis), activates `webhook (respond immediately) -> set -> set`, then:

(``--workers 0``: the intake alone, nothing runs the executions.)

``--wait MS`` puts an HTTP Request node first (``webhook -> HTTP Request -> set -> set``): it POSTs the webhook's
body to a local partner process that answers with it after MS milliseconds. Each execution then spends most of
its time waiting, not computing, so executions/s shows what more workers add when the CPU is not the limit (on
this 2-core VM the CPU-bound workflow stops growing at two workers: the API, the workers, PostgreSQL, Redis and
the client all share the two cores). ``--duration 0`` skips step 1 (its backlog would take minutes to drain at
a few dozen executions/s).

1. accepted: 16 connections (``--connections``) POST for ``--duration`` s; every answer must be 202 with an execution id
   -> accepted webhooks/s (and the API process's CPU per request);
2. end to end: once that backlog is done, ``--count`` webhooks at 16 at a time -> executions/s from
   the first accepted to the last finished, the p50 / p95 of finished_at - created_at, and the workers'
   CPU time per execution (all worker processes, user + system, over the phase: steadier than
   executions/s on a VM whose speed moves).

Every accepted execution must end succeeded with the right output. The client is a separate
process (asyncio HTTP/1.1 keep-alive). Loopback only; every loop is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from webhook import ROOT, Database, cpu_seconds, free_port, wait_healthy  # noqa: E402

PATH = "/webhook/queue-bench"
CONNECTIONS = 16  # the figure; --connections


def workflow(partner_url: str = "") -> dict:
    nodes = [
        {"id": "hook", "name": "Webhook", "type": "webhook", "version": 1, "position": [0, 0],
         "parameters": {"path": "queue-bench", "method": "POST", "respond": "immediately"}},
        {"id": "a", "name": "Double", "type": "set", "version": 1, "position": [1, 0],
         "parameters": {"keep_only_set": True, "fields": [{"name": "double", "value": "{{ $json.body.n * 2 }}"}]}},
        {"id": "b", "name": "Plus", "type": "set", "version": 1, "position": [2, 0],
         "parameters": {"fields": [{"name": "plus", "value": "{{ $json.double + 1 }}"}]}},
    ]
    connections = [{"from": "hook", "to": "a"}, {"from": "a", "to": "b"}]
    if partner_url:  # the partner answers with the body it got: {status, headers, body: {n}} goes on to Double
        nodes.insert(1, {"id": "call", "name": "Call", "type": "http_request", "version": 1, "position": [1, 1],
                         "parameters": {"method": "POST", "url": partner_url, "body_type": "json",
                                        "body": "{{ $json.body }}"}})
        connections = [{"from": "hook", "to": "call"}, {"from": "call", "to": "a"}, {"from": "a", "to": "b"}]
    return {"nodes": nodes, "connections": connections}


def setup(partner_url: str = "") -> None:
    from backend.db import migrate
    from backend.db.session import session_scope
    from backend.settings import get_settings
    from backend.users.service import create_user
    from backend.workflows import activation
    from backend.workflows.service import create_workflow

    migrate.upgrade(get_settings().database_url)
    with session_scope() as session:
        user, team = create_user(session, email="queue@example.com", password="benchmark password")
        flow = create_workflow(session, team_id=team.id, user_id=user.id, name="queue",
                               definition=workflow(partner_url))
        activation.activate(session, flow, user_id=user.id)


def state() -> dict:
    """Counts by status, and for finished ones: first created, last finished, latencies, wrong outputs."""
    from sqlalchemy import func, select

    from backend.db.session import session_scope
    from backend.executions.models import Execution

    with session_scope() as session:
        by_status = dict(session.execute(select(Execution.status, func.count()).group_by(Execution.status)).all())
        rows = session.execute(select(Execution.created_at, Execution.finished_at, Execution.input, Execution.output)
                               .where(Execution.status == "succeeded")).all()
    wrong = sum(1 for row in rows if row.output != [{"json": {"double": row.input[0]["json"]["body"]["n"] * 2,
                                                              "plus": row.input[0]["json"]["body"]["n"] * 2 + 1}}])
    return {"by_status": by_status, "wrong": wrong,
            "first": min((r.created_at.timestamp() for r in rows), default=0),
            "last": max((r.finished_at.timestamp() for r in rows), default=0),
            "latencies": sorted((r.finished_at - r.created_at).total_seconds() for r in rows)}


# ---------------------------------------------------------------- client (child process)

async def _post(reader, writer, n: int) -> bool:
    body = json.dumps({"n": n}).encode()
    writer.write((f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
    header = await reader.readuntil(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in header.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    payload = await reader.readexactly(length)
    return header.startswith(b"HTTP/1.1 202") and len(json.loads(payload).get("execution_id", "")) == 32


async def _drive(port: int, duration_s: float, count: int, connections: int) -> dict:
    numbers = iter(range(count))
    accepted, refused = [0], [0]
    stop_at = time.monotonic() + duration_s

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for n in numbers:
                if time.monotonic() >= stop_at:
                    break
                if await _post(reader, writer, n):
                    accepted[0] += 1
                else:
                    refused[0] += 1
        finally:
            writer.close()

    started = time.monotonic()
    await asyncio.gather(*(connection() for _ in range(connections)))
    return {"accepted": accepted[0], "refused": refused[0], "seconds": time.monotonic() - started}


def client(port: int, duration_s: float, count: int, connections: int) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(_drive(port, duration_s, count, connections))))


# ---------------------------------------------------------------- the partner of --wait (child process)

def partner(port: int, delay_s: float) -> None:
    """Answers every POST with the JSON body it got, after ``delay_s`` (and GET /health at once)."""
    import uvicorn

    async def app(scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["method"] == "POST":
            await asyncio.sleep(delay_s)
        answer = body or b'{"ok":true}'
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", backlog=4096)


# ---------------------------------------------------------------- orchestration

def child(args: list[str], env: dict, root: Path, timeout_s: float) -> str:
    done = subprocess.run([sys.executable, __file__, *args], env=env, capture_output=True, text=True,
                          timeout=timeout_s, cwd=root)
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed:\n{done.stderr[-3000:]}")
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def wait_done(env: dict, root: Path, expected: int, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        result = json.loads(child(["--state"], env, root, 120))
        finished = sum(result["by_status"].get(s, 0) for s in ("succeeded", "failed", "cancelled"))
        if finished >= expected or time.monotonic() > deadline:
            return result
        time.sleep(1)


def measure(workers: int, duration_s: float, count: int, root: Path, redis_url: str, wait_ms: float = 0,
            connections: int = CONNECTIONS) -> dict:
    import redis

    database = Database("postgres")
    procs: list[subprocess.Popen] = []
    store = redis.Redis.from_url(redis_url)
    store.flushdb()
    try:
        env = {**database.env(), "PYTHONPATH": str(root), "LINKFLOW_REDIS_URL": redis_url,
               "LINKFLOW_QUEUE_BACKEND": "redis", "LINKFLOW_CACHE_BACKEND": "redis"}
        partner_url = ""
        if wait_ms:
            env["LINKFLOW_HTTP_ALLOW_PRIVATE"] = "true"  # the partner is on loopback
            partner_port = free_port()
            procs.append(subprocess.Popen([sys.executable, __file__, "--partner", str(partner_port),
                                           "--wait", str(wait_ms)], stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, start_new_session=True))
            wait_healthy(partner_port, procs[-1], 30)
            partner_url = f"http://127.0.0.1:{partner_port}/echo"
        child(["--setup", "--partner-url", partner_url], env, root, 120)
        port = free_port()
        api = subprocess.Popen([sys.executable, "-m", "backend.cli", "serve", "--role", "api", "--host", "127.0.0.1",
                                "--port", str(port)], env=env, cwd=root, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
        procs.append(api)
        for _ in range(workers):
            procs.append(subprocess.Popen([sys.executable, "-m", "backend.cli", "worker"], env=env, cwd=root,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          start_new_session=True))
        wait_healthy(port, api)
        time.sleep(3)  # the workers' start-up
        warm_up = 300 if not wait_ms else 20
        clients = ["--client", str(port), "--connections", str(connections)]
        child([*clients, "--duration", "2", "--count", str(warm_up)], env, root, 60)
        load, api_cpu_us = {"accepted": 0, "refused": 0, "seconds": 0}, None
        if duration_s > 0:
            cpu_before = cpu_seconds(api.pid)
            load = json.loads(child([*clients, "--duration", str(duration_s), "--count", "1000000"],
                                    env, root, duration_s + 120))
            api_cpu_us = (cpu_seconds(api.pid) - cpu_before) / max(load["accepted"], 1) * 1e6
        if workers == 0:  # the intake alone: nothing runs the executions
            return {"workers": 0, "accepted_per_s": load["accepted"] / max(load["seconds"], 1e-9),
                    "refused": load["refused"], "worker_cpu_ms": None,
                    "api_cpu_us": api_cpu_us, "executions_per_s": 0, "p50": None, "p95": None, "wrong": 0,
                    "failed": 0, "left": 0}
        backlog = wait_done(env, root, 0, 0)
        total = sum(backlog["by_status"].values())
        wait_done(env, root, total, 600)
        before = json.loads(child(["--state"], env, root, 120))
        workers_cpu = sum(cpu_seconds(proc.pid) for proc in procs[-workers:])
        e2e = json.loads(child([*clients, "--duration", "600", "--count", str(count)], env, root, 700))
        final = wait_done(env, root, total + e2e["accepted"], 600)
        workers_cpu = sum(cpu_seconds(proc.pid) for proc in procs[-workers:]) - workers_cpu
        runs = json.loads(child(["--state-since", str(before["last"])], env, root, 120))
        return {"workers": workers,
                "accepted_per_s": load["accepted"] / load["seconds"] if load["seconds"] else None,
                "refused": load["refused"] + e2e["refused"], "api_cpu_us": api_cpu_us,
                "executions_per_s": runs["count"] / runs["span"] if runs["span"] else 0,
                "worker_cpu_ms": workers_cpu / max(runs["count"], 1) * 1e3,
                "p50": runs["p50"], "p95": runs["p95"], "wrong": final["wrong"],
                "failed": final["by_status"].get("failed", 0),
                "left": sum(v for k, v in final["by_status"].items() if k not in ("succeeded", "failed"))}
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        store.flushdb()
        database.drop()


def state_since(after: float) -> dict:
    """The executions of the end-to-end phase: created after ``after`` (the previous phase's last finish)."""
    from sqlalchemy import select

    from backend.db.session import session_scope
    from backend.executions.models import Execution

    with session_scope() as session:
        rows = [r for r in session.execute(select(Execution.created_at, Execution.finished_at)
                                           .where(Execution.status == "succeeded")).all()
                if r.created_at.timestamp() > after]
    if not rows:
        return {"count": 0, "span": 0, "p50": None, "p95": None}
    latencies = sorted((r.finished_at - r.created_at).total_seconds() for r in rows)
    span = max(r.finished_at.timestamp() for r in rows) - min(r.created_at.timestamp() for r in rows)
    cuts = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    return {"count": len(rows), "span": span, "p50": cuts[49], "p95": cuts[94]}


def bench_redis_url() -> str:
    """LINKFLOW_BENCH_REDIS_URL, else db 9 of the test Redis (flushed before and after each measurement)."""
    base = os.environ.get("LINKFLOW_TEST_REDIS_URL", "redis://127.0.0.1:56379/0")
    return os.environ.get("LINKFLOW_BENCH_REDIS_URL", base.rsplit("/", 1)[0] + "/9")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--wait", type=float, default=0, metavar="MS",
                        help="an HTTP Request node first, to a partner answering after MS milliseconds")
    parser.add_argument("--setup", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--partner-url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--partner", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--state", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--state-since", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--client", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--connections", type=int, default=CONNECTIONS,
                        help=f"the client's connections ({CONNECTIONS}: the issue's figure)")
    args = parser.parse_args()
    if args.setup:
        return setup(args.partner_url)
    if args.partner:
        return partner(args.partner, min(args.wait, 60_000) / 1000)
    if args.state:
        result = state()
        return print(json.dumps({**result, "latencies": []}))
    if args.state_since is not None:
        return print(json.dumps(state_since(args.state_since)))
    connections = max(1, min(args.connections, 256))
    if args.client:
        return client(args.client, min(args.duration, 600), min(args.count, 1_000_000), connections)
    redis_url = bench_redis_url()
    flow = f"webhook -> HTTP Request (partner answers after {args.wait:g} ms) -> set -> set" if args.wait else \
        "webhook -> set -> set"
    print(f"# {flow}; {connections} connections x {args.duration:g} s accepted, then {args.count} end to end; "
          f"code {args.root}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print("| workers | accepted webhooks/s | API CPU µs/request | executions/s (end to end) | worker CPU ms/execution "
          "| e2e latency p50 / p95 s | refused | failed / wrong / left |")
    print("|---|---|---|---|---|---|---|---|")
    for workers in args.workers:
        r = measure(workers, args.duration, min(args.count, 100_000), args.root, redis_url, min(args.wait, 60_000),
                    connections)
        p50 = f"{r['p50']:.2f} / {r['p95']:.2f}" if r["p50"] is not None else "—"
        accepted = f"{r['accepted_per_s']:,.0f}" if r["accepted_per_s"] is not None else "—"
        cpu = f"{r['api_cpu_us']:.0f}" if r["api_cpu_us"] is not None else "—"
        worker_cpu = f"{r['worker_cpu_ms']:.1f}" if r["worker_cpu_ms"] is not None else "—"
        print(f"| {workers} | {accepted} | {cpu} | {r['executions_per_s']:,.0f} | {worker_cpu} | "
              f"{p50} | {r['refused']} | {r['failed']} / {r['wrong']} / {r['left']} |", flush=True)


if __name__ == "__main__":
    main()
