"""`linkflow serve --role code-runner`, started for real on a loopback port, and workers sending code to it."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sandbox_testkit import code_node_failure, run_code_node

LINKFLOW = str(Path(sys.executable).with_name("linkflow"))
REPO = Path(__file__).resolve().parents[4]


def free_port() -> int:
    """A free port below the ephemeral range (a polled ephemeral port can be taken by a self-connect)."""
    while True:
        port = random.randint(20000, 32000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue


def runner_env(**extra: str) -> dict[str, str]:
    """What a code-runner pod gets: its mode, code and HTTP settings, and no secret at all."""
    return {"PATH": os.environ["PATH"], "LINKFLOW_MODE": "production", "LINKFLOW_LOG_FORMAT": "text", **extra}


def start_runner(port: int, **env: str) -> subprocess.Popen:
    return subprocess.Popen([LINKFLOW, "serve", "--role", "code-runner", "--host", "127.0.0.1", "--port", str(port)],
                            env=runner_env(**env), cwd="/", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope="module")
def runner():
    port = free_port()
    process = start_runner(port, LINKFLOW_CODE_RUNNER_CONCURRENCY="1", LINKFLOW_CODE_RUNNER_MAX_BODY_BYTES="200000")
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail(f"the code runner did not become ready: {process.communicate()[0]}")
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def remote(runner, configure):
    configure(CODE_SANDBOX="remote", CODE_RUNNER_URL=runner)
    return runner


def test_it_starts_in_production_without_secrets_and_reports_its_sandbox(runner):
    body = httpx.get(f"{runner}/ready").json()
    assert body["status"] == "ok" and body["code_sandbox"]["mode"] == "bwrap" and body["code_sandbox"]["ok"]


async def test_a_worker_runs_code_there(remote):
    out = await run_code_node("import os\nreturn {'n': items[0]['json']['n'] * 2, 'pids': os.listdir('/proc')[-2:]}",
                              [{"json": {"n": 21}}])
    assert out == {"n": 42, "pids": ["1", "2"]}


async def test_errors_logs_and_limits_come_back_as_from_a_local_sandbox(remote):
    failure = await code_node_failure("print('about to fail')\nraise KeyError('x')")
    assert failure.message == "KeyError: 'x' (line 2)" and "about to fail" in failure.details["logs"]
    out = await run_code_node("while True:\n    pass", time_limit_s=1)
    assert out["error"] == "code exceeded its time limit of 1s"


async def test_a_request_over_the_body_limit_is_refused(remote):
    out = await run_code_node("return items", [{"json": {"blob": "x" * 300_000}}])
    assert out["error"].startswith("the items are too large for the code runner")


def test_bad_limits_are_refused(runner):
    response = httpx.post(f"{runner}/run", params={"time_limit_s": 9999, "memory_mb": 256}, content=b"{}")
    assert response.status_code == 422
    assert response.json()["error"]["message"] == "time_limit_s must be a whole number from 1 to 300, not '9999'"


async def test_runs_beyond_the_concurrency_limit_wait_for_a_slot(remote):
    started = time.monotonic()
    first, second = await asyncio.gather(run_code_node("import time\ntime.sleep(1)\nreturn {'a': 1}"),
                                         run_code_node("import time\ntime.sleep(1)\nreturn {'b': 2}"))
    assert (first, second) == ({"a": 1}, {"b": 2})
    assert time.monotonic() - started >= 1.9  # one slot (LINKFLOW_CODE_RUNNER_CONCURRENCY=1): one after the other


async def test_an_unreachable_runner_is_a_transient_error(configure):
    configure(CODE_SANDBOX="remote", CODE_RUNNER_URL=f"http://127.0.0.1:{free_port()}")
    out = await run_code_node("return items")
    assert out["error"].startswith("the code runner at http://127.0.0.1:")
    assert "is `linkflow serve --role code-runner` running there?" in out["error"]


def test_it_refuses_to_start_in_production_with_secrets_in_its_environment():
    process = start_runner(free_port(), LINKFLOW_DATABASE_URL="postgresql+psycopg://u:p@db/linkflow",
                           LINKFLOW_SECURITY_VAULT_KEYS="k1:c2VjcmV0")
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 2
    assert ("refusing to start the code-runner role in production with secrets in its environment "
            "(LINKFLOW_DATABASE_URL, LINKFLOW_SECURITY_VAULT_KEYS)") in output


def test_it_refuses_to_send_code_to_itself():
    process = start_runner(free_port(), LINKFLOW_CODE_SANDBOX="remote", LINKFLOW_CODE_RUNNER_URL="http://x")
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 2 and "the code-runner role runs code itself" in output


def test_the_role_never_loads_the_database_layer():
    check = ("import sys, backend.cli, backend.sandbox.server\n"
             "print(sorted(m for m in sys.modules if m.startswith(('backend.db', 'sqlalchemy', 'backend.credentials',"
             " 'backend.auth', 'psycopg'))))")
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr


def test_the_role_makes_itself_undumpable_so_jobs_cannot_read_its_memory():
    # Non-dumpable: /proc/<pid>/mem, environ and ptrace are closed to processes of the same uid
    # (the container mode's jobs), the kernel's own protection for setuid programs.
    check = ("import ctypes\nfrom backend.sandbox.server import make_undumpable\n"
             "libc = ctypes.CDLL(None)\nbefore = libc.prctl(3, 0, 0, 0, 0)\nmake_undumpable()\n"
             "print(before, libc.prctl(3, 0, 0, 0, 0))")  # PR_GET_DUMPABLE
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.stdout.split() == ["1", "0"], done.stderr
