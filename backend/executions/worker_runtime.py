"""What a worker does with an execution id: lease, run the engine, record the outcome."""

from __future__ import annotations

import asyncio
import logging
import threading

from backend.db.session import session_scope
from backend.engine.runner import run
from backend.engine.services import ExecutionInfo
from backend.engine.store import NullStepStore
from backend.executions import service
from backend.executions.models import ExecutionStatus as S
from backend.executions.services_factory import engine_services
from backend.executions.sql_store import SqlStepStore

log = logging.getLogger("linkflow.executions")


def execute(execution_id: str, worker_id: str) -> None:
    with session_scope() as session:
        execution = service.claim(session, execution_id, worker_id)
        if execution is None:
            return  # finished, cancelled, or another worker holds the lease
        snapshot = {"definition": execution.definition, "input": execution.input, "mode": execution.mode,
                    "workflow_id": execution.workflow_id, "team_id": execution.team_id,
                    "resumed": execution.resume_at is not None}
    asyncio.run(_run_with_lease(execution_id, worker_id, snapshot))


async def _run_with_lease(execution_id: str, worker_id: str, snap: dict) -> None:
    definition = snap["definition"] or {}
    save_data = (definition.get("settings") or {}).get("save_data", "all")
    store = NullStepStore() if save_data == "none" else SqlStepStore(execution_id)
    info = ExecutionInfo(id=execution_id, mode=snap["mode"], workflow_id=snap["workflow_id"],
                         workflow_name=definition.get("name", ""))
    task = asyncio.current_task()
    stop = threading.Event()
    heartbeat = threading.Thread(target=_heartbeat, daemon=True,
                                 args=(execution_id, worker_id, stop, asyncio.get_running_loop(), task))
    heartbeat.start()
    try:
        result = await run(definition, execution=info, input_items=snap["input"] or [], store=store,
                           services=engine_services(snap["team_id"], execution_id),
                           resume_data={} if snap["resumed"] else None)
    except asyncio.CancelledError:
        log.info("execution stopped: cancelled or lease lost", extra={"execution_id": execution_id})
        return
    finally:
        stop.set()
    _record(execution_id, worker_id, result)


def _record(execution_id: str, worker_id: str, result) -> None:
    status = {"succeeded": S.SUCCEEDED, "failed": S.FAILED, "waiting": S.WAITING}[result.status]
    with session_scope() as session:
        recorded = service.finish(session, execution_id, worker_id, status=status, output=result.output,
                                  error=result.error, resume_at=result.resume_at)
    log.info("execution finished" if recorded else "execution outcome dropped (lease lost)",
             extra={"execution_id": execution_id, "status": result.status})


def _heartbeat(execution_id: str, worker_id: str, stop: threading.Event, loop, task) -> None:
    while not stop.wait(service.lease().total_seconds() / 3):
        try:
            with session_scope() as session:
                status = service.renew_lease(session, execution_id, worker_id)
        except Exception:  # a blip in the database: try again next beat
            log.exception("lease renewal failed", extra={"execution_id": execution_id})
            continue
        if status != S.RUNNING:
            loop.call_soon_threadsafe(task.cancel)  # cancelled by a user, or the lease went elsewhere
            return
