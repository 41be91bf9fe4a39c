"""What a worker does with an execution id: lease, run the engine, record the outcome."""

from __future__ import annotations

import asyncio
import logging
import threading

from backend.db.session import get_engine
from backend.engine.runner import RunResult, run
from backend.engine.services import ExecutionInfo
from backend.engine.store import NullStepStore
from backend.executions import service
from backend.executions.leases import keeper
from backend.executions.models import ExecutionStatus as S
from backend.executions.services_factory import engine_services
from backend.executions.sql_store import SqlStepStore

log = logging.getLogger("linkflow.executions")
_local = threading.local()


def execute(execution_id: str, worker_id: str) -> None:
    with get_engine().begin() as conn:  # a bare connection: this path runs for every execution
        claimed = service.claim(conn, execution_id, worker_id)
    if claimed is None:
        return  # finished, cancelled, or another worker holds the lease
    _runner().run(_run_with_lease(execution_id, worker_id, claimed))


def _runner() -> asyncio.Runner:
    # One event loop per worker thread, reused: creating a loop per execution costs a millisecond.
    runner = getattr(_local, "runner", None)
    if runner is None:
        runner = _local.runner = asyncio.Runner()
    return runner


async def _run_with_lease(execution_id: str, worker_id: str, claimed: service.Claimed) -> None:
    definition = claimed.definition
    save_data = (definition.get("settings") or {}).get("save_data", "all")
    store = NullStepStore() if save_data == "none" else SqlStepStore(execution_id)
    info = ExecutionInfo(id=execution_id, mode=claimed.mode, workflow_id=claimed.workflow_id,
                         workflow_name=definition.get("name", ""))
    keeper.hold(execution_id, worker_id, asyncio.current_task())
    try:
        result = await run(definition, execution=info, input_items=claimed.input, store=store,
                           services=engine_services(claimed.team_id, execution_id, definition),
                           resume_data={} if claimed.resumed else None)
    except asyncio.CancelledError:
        log.info("execution stopped: cancelled or lease lost", extra={"execution_id": execution_id})
        return
    finally:
        keeper.release(execution_id)
    _record(execution_id, worker_id, result)


def _record(execution_id: str, worker_id: str, result: RunResult) -> None:
    status = {"succeeded": S.SUCCEEDED, "failed": S.FAILED, "waiting": S.WAITING}[result.status]
    with get_engine().begin() as conn:
        recorded = service.finish(conn, execution_id, worker_id, status=status, output=result.output,
                                  error=result.error, resume_at=result.resume_at)
    log.info("execution finished" if recorded else "execution outcome dropped (lease lost)",
             extra={"execution_id": execution_id, "status": result.status})
