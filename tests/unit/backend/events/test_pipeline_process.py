"""`linkflow up` with LINKFLOW_EVENTS_PIPELINE=process: the relay of every topic but execution.commands and every
consumer run in a real second Python process on the same SQLite file (executors/pipeline_process.py)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter

import pytest
from sqlalchemy import func, insert, select

from backend.audit.models import AuditLog
from backend.db.session import session_scope
from backend.events.models import OutboxEvent
from backend.events.outbox import emit, outbox_row
from backend.executions.commands import TOPIC as COMMANDS
from executors import pipeline_process
from executors.pipeline_process import PipelineProcess
from executors.relay import start_event_pipeline
from tests.unit.backend.events.test_event_pipeline import wait_for_rows


def _audit(object_id: str) -> None:
    with session_scope() as session:
        emit(session, "audit.log", "team-1", {"action": "workflow.activate", "actor_id": "u1", "team_id": "team-1",
                                              "object_type": "workflow", "object_id": object_id, "details": {}})


def _command(execution_id: str) -> None:
    with session_scope() as session:
        emit(session, COMMANDS, execution_id, {"type": "execution.command", "command": "cancel",
                                               "execution_id": execution_id, "team_id": "team-1",
                                               "command_id": f"c-{execution_id}"})


def _unpublished(topic: str) -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(OutboxEvent).where(
            OutboxEvent.topic == topic, OutboxEvent.published_at.is_(None)))


async def _until(check, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout_s} s: {check}")
        await asyncio.sleep(0.05)


@pytest.fixture
def database_made():
    with session_scope() as session:  # migrated before a second process opens the file
        session.execute(select(1))


async def test_the_process_relays_and_consumes_every_topic_but_the_commands_the_server_keeps(database_made):
    child = PipelineProcess()
    child.start()
    try:
        _command("exec-1")
        _audit("wf-1")
        [row] = await wait_for_rows(1, timeout_s=30)  # written by the other process's audit consumer
        assert row.object_id == "wf-1"
        await _until(lambda: _unpublished("audit.log") == 0)  # marked once its consumers have handled it
        await asyncio.sleep(1.5)  # more than the relay's idle interval: it had its chance at the command
        assert _unpublished(COMMANDS) == 1  # not its topic: the server runs the executions the commands act on
        server_part = await start_event_pipeline("commands")
        try:
            assert server_part.services == ["executor-commands"]
            await _until(lambda: _unpublished(COMMANDS) == 0)
            _audit("wf-2")  # the server's part leaves the other topics to the process
            await wait_for_rows(2, timeout_s=30)
        finally:
            await server_part.stop()
        assert child.child.poll() is None and child.restarts == 0
    finally:
        status = await child.stop()
    assert status == 0  # SIGTERM: it stopped its relay and consumers and exited cleanly


async def test_a_killed_process_is_started_again_and_nothing_is_counted_twice(database_made, monkeypatch):
    monkeypatch.setattr(pipeline_process, "FIRST_RESTART_PAUSE_S", 0.2)
    child = PipelineProcess()
    child.start()
    try:
        _audit("wf-1")
        await wait_for_rows(1, timeout_s=30)
        first = child.child.pid
        os.kill(first, signal.SIGKILL)
        for number in range(2, 12):  # written while no process relays: they wait in the outbox
            _audit(f"wf-{number}")
        await _until(lambda: child.restarts == 1)
        assert child.child.pid != first
        rows = await wait_for_rows(11, timeout_s=30)
        await asyncio.sleep(1.5)  # a second relay tick: nothing more arrives
        with session_scope() as session:
            assert session.scalar(select(func.count()).select_from(AuditLog)) == 11
        assert sorted(row.object_id for row in rows) == sorted(f"wf-{n}" for n in range(1, 12))
    finally:
        await child.stop()


async def test_the_admin_console_counts_what_the_process_dead_lettered(database_made):
    """Its dead-letter counts live in the pipeline process; its heartbeat carries them to the server's console."""
    from backend.admin.queues import dead_letters
    from backend.events.consumers import DEAD_LETTERED
    from backend.settings import get_settings

    child = PipelineProcess()
    child.start()
    try:
        with session_scope() as session:  # a row written unchecked (a hot path's) that its schema refuses
            session.execute(insert(OutboxEvent), [outbox_row("audit.log", "team-1", {"action": 42})])
        await _until(lambda: _unpublished("audit.log") == 0)
        here = Counter(DEAD_LETTERED)  # what this process (earlier tests in it) dead-lettered itself
        deadline = time.monotonic() + 30  # the process's next heartbeat says it (every 10 s)
        while (counted := await dead_letters(get_settings())).messages == here.total() and \
                time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        assert counted.messages == here.total() + 1
        assert counted.by_service == dict(here + Counter({"outbox-relay": 1}))
    finally:
        await child.stop()


@pytest.mark.parametrize(("stable_s", "pauses"), [(60.0, [0.05, 0.1, 0.2]), (0.0, [0.05, 0.05, 0.05])])
async def test_a_process_that_keeps_dying_waits_longer_each_time_and_one_that_ran_a_while_does_not(
        monkeypatch, caplog, stable_s, pauses):
    monkeypatch.setattr(pipeline_process, "FIRST_RESTART_PAUSE_S", 0.05)
    monkeypatch.setattr(pipeline_process, "POLL_S", 0.01)
    monkeypatch.setattr(pipeline_process, "STABLE_S", stable_s)
    child = PipelineProcess([sys.executable, "-c", "import time; time.sleep(0.2)"])
    caplog.set_level("ERROR", logger="linkflow.events.pipeline")
    child.start()
    try:
        await _until(lambda: child.restarts >= 3, timeout_s=30)
    finally:
        await child.stop()
    said = [record.after_s for record in caplog.records if record.getMessage().startswith("event pipeline process")]
    assert said[:3] == pauses


async def test_stopping_a_process_that_ignores_sigterm_is_bounded(database_made, monkeypatch):
    monkeypatch.setattr(pipeline_process, "STOP_S", 1.0)
    stubborn = [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                                      "print('ready', flush=True); time.sleep(60)"]
    child = PipelineProcess(stubborn)
    child.start()
    await asyncio.sleep(0.5)
    started = time.monotonic()
    status = await child.stop()
    assert status == -signal.SIGKILL
    assert time.monotonic() - started < 5


def test_the_process_dies_with_the_server(database_made, tmp_path):
    """kill -9 of the server: the pipeline process gets SIGTERM from the kernel and ends (no orphan relaying)."""
    server = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import asyncio
        from executors.pipeline_process import PipelineProcess

        async def main():
            child = PipelineProcess()
            child.start()
            print(child.child.pid, flush=True)
            await asyncio.sleep(120)

        asyncio.run(main())
    """)], stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        pid = int(server.stdout.readline())
        time.sleep(1.0)
        assert _alive(pid)
        server.kill()
        server.wait(10)
        deadline = time.monotonic() + 15
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(pid), "the pipeline process outlived its server"
    finally:
        server.kill()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_process_started_after_its_server_died_exits_at_once(database_made):
    done = subprocess.run([sys.executable, "-m", "executors.pipeline_process"], capture_output=True, text=True,
                          timeout=60, env={**os.environ, pipeline_process.PARENT_ENV: "1"})
    assert done.returncode == 1
    assert "is gone" in done.stdout + done.stderr


async def test_process_mode_refuses_an_in_memory_database(configure):
    from executors.embedded import run_embedded

    configure(DATABASE_URL="sqlite:///:memory:", EVENTS_PIPELINE="process")
    with pytest.raises(RuntimeError, match="in-memory SQLite"):
        async with run_embedded():
            pass
