"""Scaled out: a real `linkflow worker` (Redis broker + PostgreSQL) sends a Code node to a real
`linkflow serve --role code-runner`. The code sees neither the worker's secrets nor its database."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from backend.db import migrate
from backend.db.session import session_scope
from backend.executions import dispatch, service
from backend.executions.models import Execution
from backend.users.service import create_user

LINKFLOW = str(Path(sys.executable).with_name("linkflow"))
ATTACK = """
import os
seen = {'env': dict(os.environ), 'pids': sorted(p for p in os.listdir('/proc') if p.isdigit())}
for pid in os.listdir('/proc'):
    try:
        # NUL separators become spaces: PostgreSQL's JSONB cannot store \\u0000 in text
        seen[pid] = open(f'/proc/{pid}/environ', 'rb').read().decode(errors='replace').replace('\\0', ' ')
    except OSError as exc:
        seen[pid] = type(exc).__name__
return [{'n': items[0]['json']['n'] * 2, 'seen': seen}]
"""


def _free_port() -> int:
    while True:
        port = random.randint(20000, 32000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue


def _wait_for(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_worker_runs_code_in_the_code_runner_role(configure, postgres_url, redis_url, tmp_path):
    port = _free_port()
    runner_url = f"http://127.0.0.1:{port}"
    runner = subprocess.Popen(  # a pod of its own: production mode, no secret in its environment
        [LINKFLOW, "serve", "--role", "code-runner", "--host", "127.0.0.1", "--port", str(port)],
        env={"PATH": os.environ["PATH"], "LINKFLOW_MODE": "production"}, cwd="/",
        stdout=open(tmp_path / "runner.log", "wb"), stderr=subprocess.STDOUT)  # noqa: SIM115
    secret = "worker-only-secret-" + os.urandom(8).hex()
    configure(DATABASE_URL=postgres_url, REDIS_URL=redis_url, QUEUE_BACKEND="redis",
              CODE_SANDBOX="remote", CODE_RUNNER_URL=runner_url, SECURITY_SECRET_KEY=secret)
    migrate.upgrade(postgres_url)
    worker = None
    try:
        _wait_for(lambda: _ready(runner_url), 30, "the code runner to be ready")
        with session_scope() as session:
            _, team = create_user(session, email="remote-code@example.com", password="long enough")
            execution = service.create_execution(session, team_id=team.id, input_items=[{"json": {"n": 21}}],
                                                 definition={"name": "remote code", "nodes": [
                {"id": "t", "name": "Start", "type": "manual_trigger", "version": 1, "position": [0, 0]},
                {"id": "c", "name": "Code", "type": "code", "version": 1, "position": [1, 0],
                 "parameters": {"code": ATTACK}}],
                "connections": [{"from": "t", "output": "main", "to": "c", "input": "main"}]})
            execution_id = execution.id
        dispatch.dispatch(execution_id)
        worker = subprocess.Popen([LINKFLOW, "worker"], stdout=open(tmp_path / "worker.log", "wb"),  # noqa: SIM115
                                  stderr=subprocess.STDOUT, start_new_session=True)
        final = _wait_for(lambda: _finished(execution_id), 90, "the execution to finish")
    finally:
        if worker is not None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(20)
        runner.terminate()
        runner.wait(10)
    assert final.status == "succeeded", (final.error, (tmp_path / "worker.log").read_text()[-3000:])
    [item] = final.output
    assert item["json"]["n"] == 42
    seen = item["json"]["seen"]
    assert seen["pids"] == ["1", "2"] and set(seen["env"]) <= {"PATH", "PWD", "LC_CTYPE"}
    text = str(seen)
    assert secret not in text and postgres_url.rsplit("@", 1)[-1] not in text and "LINKFLOW" not in text


def _finished(execution_id: str) -> Execution | None:
    with session_scope() as session:
        row = session.get(Execution, execution_id)
        return row if row.status in ("succeeded", "failed") else None
