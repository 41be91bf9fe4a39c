"""execution.commands acted on by the process holding the execution: cancel stops its run or drops its wait,
resume fires its wait now, each command once; the API's resume; the in-process bus of embedded mode."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from sqlalchemy import select

from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.events.bus import Event, InMemoryBus
from backend.events.consumers import run_consumer
from backend.events.models import OutboxEvent
from backend.executions import commands, service
from backend.executions.leases import keeper
from backend.executions.models import Execution
from backend.executions.models import ExecutionStatus as S
from backend.executions.timers import WakeUps
from tests.unit.backend.executions.test_executions_api import URL, create_workflow, run


def command(kind: str, execution_id: str, command_id: str = "c-1") -> Event:
    return Event("execution.commands", execution_id, {
        "type": "execution.command", "command": kind, "execution_id": execution_id, "team_id": "t",
        "command_id": command_id, "event_id": 1})


async def test_a_cancel_stops_the_run_this_process_holds_once_and_ignores_others():
    ran_to_the_end = asyncio.Event()

    async def long_run() -> None:
        await asyncio.sleep(30)
        ran_to_the_end.set()

    task = asyncio.create_task(long_run())
    await asyncio.sleep(0)
    keeper.hold("ex-held", "worker-1", task)
    handler = commands.CommandHandler()
    try:
        await handler(command("cancel", "ex-elsewhere", "c-0"))  # held by another process: nothing to do
        assert not task.cancelled() and handler.acted == []
        await handler(command("cancel", "ex-held"))
        await asyncio.sleep(0.01)
        assert task.cancelled() and not ran_to_the_end.is_set()
        await handler(command("cancel", "ex-held"))  # redelivered: acted on once
        assert handler.acted == [("cancel", "ex-held", "run stopped")]
    finally:
        keeper.release("ex-held")


def test_cancel_drops_a_scheduled_wait_and_resume_fires_one_now(monkeypatch):
    sent: list[str] = []
    wake_ups = WakeUps(sent.append)
    monkeypatch.setattr(commands, "wake_ups", lambda: wake_ups)
    later = utcnow() + timedelta(seconds=30)
    wake_ups.schedule("ex-cancelled", later)
    wake_ups.schedule("ex-resumed", later)
    assert commands.act("cancel", "ex-cancelled") == "wait dropped"
    assert not wake_ups.holds("ex-cancelled")
    assert commands.act("resume", "ex-resumed") == "wait ended"
    for _ in range(100):
        if sent:
            break
        time.sleep(0.01)
    assert sent == ["ex-resumed"]
    assert commands.act("resume", "ex-unknown") is None and commands.act("cancel", "ex-unknown") is None


async def test_the_embedded_bus_delivers_a_cancel_to_the_holder():
    bus, stop = InMemoryBus(), asyncio.Event()
    consumer = commands.command_consumer(commands.EMBEDDED_GROUP)
    runner = asyncio.create_task(run_consumer(bus, consumer, stop))
    task = asyncio.create_task(asyncio.sleep(30))
    await asyncio.sleep(0)
    keeper.hold("ex-1", "worker-1", task)
    try:
        await bus.publish([command("cancel", "ex-1")])
        await asyncio.sleep(0.01)
        assert task.cancelled()
    finally:
        keeper.release("ex-1")
        stop.set()
        await runner


def test_resume_through_the_api_makes_a_timed_wait_due_and_writes_the_command(api, api_user, held_queue):
    owner = api_user("owner@example.com")
    other = api_user("other@example.com")
    execution_id = run(api, owner, create_workflow(api, owner))
    assert api.post(f"{URL}/{execution_id}/resume", headers=owner.headers).status_code == 409  # queued
    with session_scope() as session:
        row = session.get(Execution, execution_id)
        row.status, row.resume_at = S.WAITING, utcnow() + timedelta(days=1)
    assert api.post(f"{URL}/{execution_id}/resume", headers=other.headers).status_code == 404
    response = api.post(f"{URL}/{execution_id}/resume", headers=owner.headers)
    assert response.status_code == 200, response.text
    with session_scope() as session:
        assert session.get(Execution, execution_id).resume_at <= utcnow()
        payloads = [p for p in session.scalars(select(OutboxEvent.payload).where(
            OutboxEvent.topic == "execution.commands"))]
    assert [(p["command"], p["execution_id"]) for p in payloads] == [("resume", execution_id)]
    assert payloads[0]["command_id"]
    with session_scope() as session:
        assert service.claim(session, execution_id, "worker-1") is not None  # due now: a worker may take it


def test_a_wait_for_its_resume_url_is_not_resumed_through_the_api(api, api_user, held_queue):
    owner = api_user("owner@example.com")
    execution_id = run(api, owner, create_workflow(api, owner))
    with session_scope() as session:
        row = session.get(Execution, execution_id)
        row.status, row.resume_at = S.WAITING, None
    response = api.post(f"{URL}/{execution_id}/resume", headers=owner.headers)
    assert response.status_code == 409 and "resume URL" in response.json()["error"]["message"]
