"""The scheduler loop (executors/scheduler.py) on SQLite: the in-process leader fires and runs a schedule."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.executions.models import Execution
from backend.schedules.leader import InProcessLeader
from executors.scheduler import scheduler_loop


def finished(workflow_id: str) -> list[Execution]:
    with session_scope() as session:
        return list(session.scalars(select(Execution).where(Execution.workflow_id == workflow_id,
                                                            Execution.status == "succeeded")))


async def test_the_loop_fires_due_schedules_until_stopped(scheduled_workflow, inline_worker):
    workflow_id = scheduled_workflow("* * * * * *", now=utcnow(), overlap_policy="allow")
    stop = asyncio.Event()
    loop = asyncio.create_task(scheduler_loop(stop, InProcessLeader()))
    for _ in range(100):
        if len(finished(workflow_id)) >= 2:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(loop, 5)
    runs = finished(workflow_id)
    assert len(runs) >= 2, "an every-second schedule ran fewer than twice in five seconds"
    assert all(run.mode == "schedule" and run.output[0]["json"]["cron"] == "* * * * * *" for run in runs)
