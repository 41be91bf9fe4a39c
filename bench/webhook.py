"""Webhook throughput and latency: `webhook -> set -> respond (last_node)` over real HTTP.

    .venv/bin/python bench/webhook.py                      # embedded + PostgreSQL, save_data all + none
    .venv/bin/python bench/webhook.py --db embedded --save all --duration 5
    .venv/bin/python bench/webhook.py --db embedded --billing both --rounds 2   # metering A/B, same run
    .venv/bin/python bench/webhook.py --server up          # the embedded product (`linkflow up`) instead
    .venv/bin/python bench/webhook.py --workflow http      # webhook -> set -> HTTP Request (a node with effects)
    .venv/bin/python bench/webhook.py --root /tmp/base     # the code of another checkout (same venv): A/B
    .venv/bin/python bench/webhook.py --root /tmp/main --root .   # each in turn, every round (--rounds; A B, B A, ...)

``--server up-process`` runs `linkflow up` with its event pipeline in a process of its own
(LINKFLOW_EVENTS_PIPELINE=process); ``--server pipelines`` alternates it with ``up``.

``--server up`` runs `linkflow up` (UI, API, webhooks, worker threads, reaper; its UI bundle built
once for a fixed backend URL, before the measurement), ``webhook`` the webhook role. ``--workflow
http`` adds an HTTP Request node calling a local partner (a uvicorn process answering {"ok": true}),
so every run must be recorded before it acts. Server CPU and RSS are summed over the server's
process tree.

For each (database, save_data) pair it starts `linkflow serve --role webhook` (uvicorn, one
process) on a fresh database (embedded: SQLite in a temp LINKFLOW_DATA_DIR; postgres: a new
database on the server of LINKFLOW_TEST_POSTGRES_URL, from `eval "$(bash deploy/local/infra.sh
env)"`, dropped afterwards), creates a user, a team and the workflow through the service layer,
activates and registers it, then drives POST /webhook/bench with {"n", "name"} from a client
in a SEPARATE process (a small asyncio HTTP/1.1 keep-alive client, uvloop), checking every
answer is {"double": n*2, "greeting": "hello <name>"}:

1. load: 32 connections for 20 s -> requests/s and p50/p95/p99;
2. sequential: 500 requests on one connection -> p50/p95/p99;
3. the server's CPU time per request under load (utime + stime from /proc, all threads),
   its RSS (VmRSS) after both, and how many executions it saved.

On a 2-core machine client and server share the CPU: the client process takes a good part
of one core, so the server's real capacity is higher than the load numbers show.
Everything runs on 127.0.0.1; every loop is bounded by time and count.

``--billing both`` is the A/B of billing on the webhook path: the same server alternately with
``LINKFLOW_BILLING_BACKEND=free`` (no quota, nothing metered) and ``stripe`` (the in-process quota
check on every request, and an ``execution.unsaved`` event per run that saves no row), round after
round. The team's plan allows 10^9 executions, so every request takes the full check. Stripe itself is
never called on this path; the settings point its API at a closed port.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATH = "/webhook/bench"
MAX_REQUESTS = 2_000_000  # a hard stop for the load loop, whatever the duration


def workflow(save_data: str, partner_url: str = "") -> dict:
    nodes = [
        {"id": "hook", "name": "Webhook", "type": "webhook", "version": 1, "position": [0, 0],
         "parameters": {"path": "bench", "method": "POST", "respond": "last_node"}},
        {"id": "set", "name": "Set", "type": "set", "version": 1, "position": [1, 0],
         "parameters": {"keep_only_set": True, "fields": [
             {"name": "double", "value": "{{ $json.body.n * 2 }}"},
             {"name": "greeting", "value": '{{ "hello " + $json.body.name }}'}]}},
    ]
    connections = [{"from": "hook", "to": "set"}]
    if partner_url:  # the answer is still the Set node's item: the call's output goes nowhere
        nodes.append({"id": "call", "name": "Call", "type": "http_request", "version": 1, "position": [2, 0],
                      "parameters": {"url": partner_url}})
        nodes.append({"id": "again", "name": "Answer", "type": "set", "version": 1, "position": [3, 0],
                      "parameters": {"keep_only_set": True, "fields": [
                          {"name": "double", "value": "{{ $node[\"Set\"].json.double }}"},
                          {"name": "greeting", "value": "{{ $node[\"Set\"].json.greeting }}"}]}})
        connections += [{"from": "set", "to": "call"}, {"from": "call", "to": "again"}]
    return {"nodes": nodes, "connections": connections, "settings": {"save_data": save_data}}


# ---------------------------------------------------------------- setup (child process)

def setup(save_data: str, partner_url: str = "") -> None:
    """Runs with the server's environment: migrate, create a team and the active workflow (and with
    billing on, a plan that lets every request through the whole quota check)."""
    from backend.db import migrate
    from backend.db.session import session_scope
    from backend.settings import get_settings
    from backend.users.service import create_user
    from backend.workflows import activation
    from backend.workflows.service import create_workflow

    migrate.upgrade(get_settings().database_url)
    with session_scope() as session:
        from backend.billing.plans import update_plan

        update_plan(session, "free", {"executions_limit": 10**9, "active_workflows_limit": None})
        user, team = create_user(session, email="bench@example.com", password="benchmark password")
        flow = create_workflow(session, team_id=team.id, user_id=user.id, name="bench",
                               definition=workflow(save_data, partner_url))
        activation.activate(session, flow, user_id=user.id)  # registers the webhook


def saved_executions() -> int:
    from sqlalchemy import func, select

    from backend.db.session import session_scope
    from backend.executions.models import Execution

    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Execution)) or 0


# ---------------------------------------------------------------- client (child process)

async def _request(reader, writer, n: int) -> tuple[float, bool]:
    name = f"user{n % 997}"
    body = json.dumps({"n": n, "name": name}).encode()
    head = (f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    started = time.perf_counter()
    writer.write(head + body)
    header = await reader.readuntil(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in header.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    payload = await reader.readexactly(length)
    elapsed = time.perf_counter() - started
    ok = header.startswith(b"HTTP/1.1 200") and json.loads(payload) == {"double": n * 2, "greeting": f"hello {name}"}
    return elapsed, ok


async def _connection(port: int, numbers, stop_at: float, latencies: list, errors: list) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for n in numbers:
            if time.monotonic() >= stop_at:
                break
            elapsed, ok = await _request(reader, writer, n)
            latencies.append(elapsed)
            if not ok:
                errors.append(n)
    finally:
        writer.close()


async def _drive(port: int, connections: int, duration_s: float, count: int) -> dict:
    numbers = iter(range(count))  # shared: each request gets the next number
    latencies: list[float] = []
    errors: list[int] = []
    started = time.monotonic()
    stop_at = started + duration_s
    await asyncio.gather(*(_connection(port, numbers, stop_at, latencies, errors) for _ in range(connections)))
    wall = time.monotonic() - started
    return {"requests": len(latencies), "errors": len(errors), "seconds": wall, **_percentiles(latencies)}


def _percentiles(latencies: list[float]) -> dict:
    if len(latencies) < 2:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None}
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"p50_ms": cuts[49] * 1000, "p95_ms": cuts[94] * 1000, "p99_ms": cuts[98] * 1000}


def client(port: int, connections: int, duration_s: float, count: int) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(_drive(port, connections, duration_s, count))))


# ---------------------------------------------------------------- orchestration

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_child(args: list[str], env: dict, timeout_s: float, cwd: Path = ROOT) -> str:
    done = subprocess.run([sys.executable, __file__, *args], env=env, capture_output=True, text=True,
                          timeout=timeout_s, cwd=cwd)
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed:\n{done.stderr[-3000:]}")
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def wait_healthy(port: int, server: subprocess.Popen, timeout_s: float = 400, every_s: float = 0.2, *,
                 log: Path | None = None) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            said = f"; it said:\n{log.read_text(errors='replace')[-3000:]}" if log else ""
            raise RuntimeError(f"the server exited during start-up (exit {server.returncode}){said}")
        with contextlib.suppress(httpx.HTTPError):  # not listening yet: ask again
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return
        time.sleep(every_s)
    raise RuntimeError("the server did not become healthy")


def tree(pid: int) -> list[int]:
    """The process and every descendant (a server that runs children is measured whole)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, pending = [pid], [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process tree (all threads; finished children are not counted)."""
    total = 0
    for member in tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    total = 0
    for member in tree(pid):
        try:
            lines = Path(f"/proc/{member}/status").read_text().splitlines()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in lines if line.startswith("VmRSS:")), 0)
    return total / 1024


class Database:
    """A fresh database for one measurement: a temp SQLite file, or a new PostgreSQL database."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.data_dir = tempfile.mkdtemp(prefix="linkflow-bench-webhook-")
        self.url = ""
        self.admin_dsn = ""
        self.name = ""
        if kind == "postgres":
            base = os.environ.get("LINKFLOW_TEST_POSTGRES_URL")
            if not base:
                raise SystemExit('LINKFLOW_TEST_POSTGRES_URL is not set: eval "$(bash deploy/local/infra.sh env)"')
            import psycopg

            self.admin_dsn = base.replace("postgresql+psycopg://", "postgresql://")
            self.name = f"lf_bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(self.admin_dsn, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')
            self.url = base.rsplit("/", 1)[0] + f"/{self.name}"

    def env(self, billing: str = "free") -> dict:
        env = {**os.environ, "LINKFLOW_DATA_DIR": self.data_dir, "LINKFLOW_LOG_LEVEL": "WARNING",
               "LINKFLOW_BILLING_BACKEND": billing}
        if billing == "stripe":
            env.update({"LINKFLOW_BILLING_STRIPE_API_KEY": "sk_test_bench", "LINKFLOW_BILLING_STRIPE_API_BASE":
                        "http://127.0.0.1:9", "LINKFLOW_BILLING_STRIPE_WEBHOOK_SECRET": "whsec_bench"})
        env.pop("LINKFLOW_DATABASE_URL", None)
        if self.url:
            env["LINKFLOW_DATABASE_URL"] = self.url
        return env

    def drop(self) -> None:
        shutil.rmtree(self.data_dir, ignore_errors=True)
        if self.kind == "postgres":
            import psycopg

            with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def start_partner() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--partner", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_healthy(port, proc, 30)
    return proc, f"http://127.0.0.1:{port}/call"


async def partner_app(scope, receive, send) -> None:
    """The partner API of ``--workflow http``: answers every request at once (and /health)."""
    if scope["type"] != "http":
        return
    body = b'{"ok":true}'
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def server_command(server: str, port: int) -> list[str]:
    if server in ("up", "up-process"):
        return [sys.executable, "-m", "backend.cli", "up", "--host", "127.0.0.1", "--port", str(port)]
    return [sys.executable, "-m", "backend.cli", "serve", "--role", "webhook", "--host", "127.0.0.1",
            "--port", str(port)]


def measure(kind: str, save_data: str, connections: int, duration_s: float, sequential: int, *,
            billing: str = "free", server_kind: str = "webhook", flow: str = "set", root: Path = ROOT) -> dict:
    database = Database(kind)
    server = partner = server_log = None
    try:
        env = database.env(billing)
        env["PYTHONPATH"] = str(root)
        env["REFLEX_API_URL"] = "http://127.0.0.1:3999"  # `up`: the bundle is built once for this URL
        env["LINKFLOW_HTTP_ALLOW_PRIVATE"] = "true"  # the partner of --workflow http is on loopback
        if server_kind == "up-process":  # `linkflow up` with its event pipeline in a process of its own
            env["LINKFLOW_EVENTS_PIPELINE"] = "process"
        partner_url = ""
        if flow == "http":
            partner, partner_url = start_partner()
        run_child(["--setup", save_data, "--partner-url", partner_url], env, 120, cwd=root)
        port = free_port()
        server_log = tempfile.NamedTemporaryFile(prefix="bench-server-", suffix=".log", delete=False)  # noqa: SIM115
        server = subprocess.Popen(server_command(server_kind, port), env=env, cwd=root, stdout=server_log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        wait_healthy(port, server, log=Path(server_log.name))
        run_child(["--client", str(port), "--connections", "4", "--duration", "3", "--count", "1000"], env, 60)
        cpu_before = cpu_seconds(server.pid)
        load = json.loads(run_child(["--client", str(port), "--connections", str(connections),
                                     "--duration", str(duration_s), "--count", str(MAX_REQUESTS)],
                                    env, duration_s + 120))
        load["server_cpu_us"] = (cpu_seconds(server.pid) - cpu_before) / max(load["requests"], 1) * 1e6
        seq = json.loads(run_child(["--client", str(port), "--connections", "1", "--duration", "120",
                                    "--count", str(sequential)], env, 300))
        rss = rss_mb(server.pid)
        saved = int(run_child(["--count-saved"], env, 60, cwd=root))
        return {"db": kind, "save_data": save_data, "billing": billing, "load": load, "sequential": seq,
                "rss_mb": rss, "saved": saved, "server": server_kind, "workflow": flow}
    finally:
        for proc in (server, partner):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM) if proc is server else proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL) if proc is server else proc.kill()
        if server_log is not None:
            server_log.close()
            Path(server_log.name).unlink(missing_ok=True)
        database.drop()


def report(row: dict) -> str:
    load, seq = row["load"], row["sequential"]
    return (f"| {row['server']} | {row['workflow']} | {row['db']} | {row['save_data']} | {row['billing']} | "
            f"{load['requests'] / load['seconds']:,.0f} | "
            f"{load['p50_ms']:.1f} / {load['p95_ms']:.1f} / {load['p99_ms']:.1f} | "
            f"{seq['p50_ms']:.2f} / {seq['p95_ms']:.2f} / {seq['p99_ms']:.2f} | {load['server_cpu_us']:.0f} | "
            f"{row['rss_mb']:.0f} | "
            f"{load['errors'] + seq['errors']} | {row['saved']:,} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["embedded", "postgres", "both"], default="both")
    parser.add_argument("--save", choices=["all", "none", "both"], default="both")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--sequential", type=int, default=500)
    parser.add_argument("--billing", choices=["free", "stripe", "both"], default="free",
                        help="both: the A/B of billing on the webhook path, alternating, --rounds times")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--server", choices=["webhook", "up", "up-process", "both", "pipelines"], default="webhook",
                        help="both: `linkflow up` and the webhook role alternately, every round; up-process: "
                             "`linkflow up` with LINKFLOW_EVENTS_PIPELINE=process; pipelines: up and up-process")
    parser.add_argument("--workflow", choices=["set", "http"], default="set")
    parser.add_argument("--root", type=Path, action="append",
                        help="run the code of this checkout (A/B); repeated: each in turn, every round")
    parser.add_argument("--setup", metavar="SAVE_DATA", help=argparse.SUPPRESS)
    parser.add_argument("--partner-url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--partner", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--client", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=MAX_REQUESTS, help=argparse.SUPPRESS)
    parser.add_argument("--count-saved", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup:
        return setup(args.setup, args.partner_url)
    if args.partner:
        import uvicorn

        return uvicorn.run(partner_app, host="127.0.0.1", port=args.partner, log_level="warning")
    if args.client:
        return client(args.client, args.connections, min(args.duration, 600), min(args.count, MAX_REQUESTS))
    if args.count_saved:
        return print(saved_executions())
    dbs = ["embedded", "postgres"] if args.db == "both" else [args.db]
    saves = ["all", "none"] if args.save == "both" else [args.save]
    print(f"# {args.connections} connections x {args.duration:g} s, then {args.sequential} sequential; "
          f"{os.cpu_count()} CPUs, client in its own process")
    roots = args.root or [ROOT]
    print(f"# code: {', '.join(map(str, roots))}; load average {os.getloadavg()[0]:.1f}")
    billings = ["free", "stripe"] if args.billing == "both" else [args.billing]
    servers = {"both": ["up", "webhook"], "pipelines": ["up", "up-process"]}.get(args.server, [args.server])
    print("| code | server | workflow | database | save_data | billing | req/s | load p50 / p95 / p99 ms "
          "| sequential p50 / p95 / p99 ms | server CPU µs/req | server RSS MB | errors | executions saved |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for kind, save_data in itertools.product(dbs, saves):
        for round_ in range(max(1, min(args.rounds, 20))):
            # every other round in reverse order (A B, B A, ...): on this VM the run second in a pair tends to win
            # (2026-12-07: one A/B's +22 % turned into -5 % with the order swapped), which alternation cancels
            order = list(itertools.product(billings, roots, servers))
            for billing, root, server in order if round_ % 2 == 0 else order[::-1]:
                row = measure(kind, save_data, args.connections, args.duration, args.sequential, billing=billing,
                              server_kind=server, flow=args.workflow, root=root)
                print(f"| {root.name} " + report(row), flush=True)


if __name__ == "__main__":
    main()
