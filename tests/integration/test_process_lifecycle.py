"""`linkflow up` as a process (issue #18, finding 4): nothing of it outlives a kill -9, it never takes a
port another server holds for its own, and a stop is bounded. SQLite; the UI bundle is built once for
the fixed backend URL these tests use (each test starts the real command), in a web directory of these
tests' own (REFLEX_WEB_WORKDIR): the integration tests run on several pytest-xdist workers, so the
build is made under a file lock, and the test that kills a build does it in yet another directory."""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from crash_testkit import ROOT, wait_for

API_URL = "http://127.0.0.1:3999"  # baked into the bundle; fixed so the bundle is built once for these tests
WEB = ROOT / ".web-lifecycle"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def up(port: int, data_dir: Path, log: Path, **env) -> subprocess.Popen:
    environment = {**os.environ, "LINKFLOW_DATA_DIR": str(data_dir), "REFLEX_API_URL": API_URL,
                   "REFLEX_WEB_WORKDIR": str(WEB), **env}
    return subprocess.Popen([sys.executable, "-m", "backend.cli", "up", "--port", str(port)], cwd=ROOT,
                            env=environment, stdout=open(log, "ab"), stderr=subprocess.STDOUT,  # noqa: SIM115
                            start_new_session=True)


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, pending = set(), [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.add(child)
            pending.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def running(log: Path) -> bool:
    return log.exists() and "LinkFlow is running" in log.read_text()


def finish(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One start builds the bundle for API_URL if it is not built yet (later starts reuse it). Under a lock:
    another worker's first start waits for this build and then finds the bundle made."""
    log = tmp_path_factory.mktemp("build") / "up.log"
    with open(ROOT / ".web-lifecycle.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        proc = up(free_port(), tmp_path_factory.mktemp("data"), log)
        try:
            wait_for(lambda: running(log) or proc.poll() is not None, 400, "the first start (builds the UI)", 0.5)
        finally:
            finish(proc)
    assert running(log), log.read_text()[-3000:]


def test_a_killed_linkflow_up_leaves_nothing_running_and_a_new_start_serves_its_port(built, tmp_path):
    port = free_port()
    first = up(port, tmp_path / "data", tmp_path / "first.log")
    try:
        wait_for(lambda: running(tmp_path / "first.log"), 60, "the first start")
        family = descendants(first.pid)
        first.send_signal(signal.SIGKILL)  # the process itself, not its group: its children are on their own
        first.wait(10)
        wait_for(lambda: not any(alive(pid) for pid in family) and port_free(port), 5,
                 "every child to die with it and the port to be free")
        second = up(port, tmp_path / "data", tmp_path / "second.log")
        try:
            wait_for(lambda: running(tmp_path / "second.log") or second.poll() is not None, 60, "the second start")
            assert running(tmp_path / "second.log"), (tmp_path / "second.log").read_text()[-2000:]
            answer = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
            assert answer.status_code == 200 and answer.headers["x-linkflow-instance"]
        finally:
            finish(second)
    finally:
        finish(first)


class _Other(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


def test_a_port_another_server_answers_on_is_refused_not_announced(built, tmp_path):
    other = ThreadingHTTPServer(("127.0.0.1", 0), _Other)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    port = other.server_address[1]
    try:
        refused = up(port, tmp_path / "data", tmp_path / "up.log")
        assert refused.wait(60) == 2
    finally:
        other.shutdown()
        other.server_close()
    said = (tmp_path / "up.log").read_text()
    assert "LinkFlow is running" not in said
    assert f"port {port} on 127.0.0.1 is already in use by another program (it answers HTTP)" in said


def test_a_port_held_by_an_earlier_linkflow_names_it(built, tmp_path):
    port = free_port()
    first = up(port, tmp_path / "data", tmp_path / "first.log")
    try:
        wait_for(lambda: running(tmp_path / "first.log"), 60, "the first start")
        second = up(port, tmp_path / "data2", tmp_path / "second.log")
        assert second.wait(60) == 2
    finally:
        finish(first)
    said = (tmp_path / "second.log").read_text()
    assert "another LinkFlow server (an earlier start still running?)" in said and "is running" not in said


def test_sigterm_to_the_process_group_stops_it_within_the_limit(built, tmp_path):
    port = free_port()
    proc = up(port, tmp_path / "data", tmp_path / "up.log")
    try:
        wait_for(lambda: running(tmp_path / "up.log"), 60, "the start")
        httpx.get(f"http://127.0.0.1:{port}/", timeout=10)  # a page served: Reflex is fully up
        os.killpg(proc.pid, signal.SIGTERM)
        started = time.monotonic()
        proc.wait(30)
        took = time.monotonic() - started
    finally:
        finish(proc)
    assert took < 20, took
    assert port_free(port)


def test_up_with_its_event_pipeline_in_a_process_of_its_own_relays_and_dies_whole(built, tmp_path):
    """LINKFLOW_EVENTS_PIPELINE=process: the audit consumer of the pipeline process records an event committed to
    `linkflow up`'s database; SIGTERM to the group stops both; a kill -9 of `up` ends the pipeline process too."""
    from sqlalchemy import select

    from backend.audit.models import AuditLog
    from backend.db.session import session_scope
    from backend.events.outbox import emit

    port = free_port()
    log = tmp_path / "up.log"
    proc = up(port, tmp_path / "data", log, LINKFLOW_EVENTS_PIPELINE="process")  # this test's database too
    try:
        wait_for(lambda: running(log), 60, "the start")
        [pipeline] = [pid for pid in descendants(proc.pid)
                      if b"executors.pipeline_process" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        with session_scope() as session:
            emit(session, "audit.log", "team-1", {"action": "workflow.activate", "actor_id": "u1",
                                                  "team_id": "team-1", "object_type": "workflow",
                                                  "object_id": "wf-1", "details": {}})

        def recorded() -> bool:
            with session_scope() as session:
                return session.scalar(select(AuditLog.object_id)) == "wf-1"

        wait_for(recorded, 30, "the pipeline process to record the audit event")
        proc.send_signal(signal.SIGKILL)  # the server alone: the kernel tells the pipeline process
        proc.wait(10)
        wait_for(lambda: not alive(pipeline), 10, "the pipeline process to die with its server")
    finally:
        finish(proc)


def _gen0_collections(port: int) -> float:
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return float(next(line.rsplit(" ", 1)[1] for line in metrics.splitlines()
                      if line.startswith('python_gc_collections_total{generation="0"}')))


def test_the_collector_paused_for_start_up_runs_again_once_started(built, tmp_path):
    """Start-up runs with the cyclic GC paused (backend/observability.py); once serving, it collects again."""
    port = free_port()
    proc = up(port, tmp_path / "data", tmp_path / "up.log")
    try:
        wait_for(lambda: running(tmp_path / "up.log"), 60, "the start")
        before = _gen0_collections(port)
        for _ in range(200):  # each request allocates far more than the 700 objects of a generation-0 run
            httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=10)
        assert _gen0_collections(port) > before
    finally:
        finish(proc)


def test_the_ui_build_dies_with_a_killed_linkflow_up(tmp_path):
    port = free_port()
    log = tmp_path / "up.log"
    proc = up(port, tmp_path / "data", log, REFLEX_API_URL=f"http://127.0.0.1:{port}",  # a bundle not built yet
              REFLEX_WEB_WORKDIR=str(ROOT / ".web-lifecycle-killed"))  # not the directory the other tests use
    try:
        wait_for(lambda: "building the UI bundle" in log.read_text() and len(descendants(proc.pid)) >= 2, 60,
                 "the build to start")
        time.sleep(2)  # well into it: bun at work
        family = descendants(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        wait_for(lambda: not any(alive(pid) for pid in family), 10, "the build's processes to die with it")
    finally:
        finish(proc)
