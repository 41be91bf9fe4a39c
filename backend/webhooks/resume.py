"""Resuming a Wait node in webhook mode: ``/webhook-waiting/<execution id>?signature=...``.

The URL is signed (HMAC-SHA256 of the execution id with the instance secret), so only
someone the workflow handed the URL to can resume it. The request item's json becomes
the resume data: the Wait node passes its items on with it under ``resume``. The rest of
the execution runs in this process, on an inline lane (``backend/isolation.py``), durably: the row is leased to it like to a worker
and each step is committed, so a crash hands it to a worker through the reaper.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import math

from sqlalchemy import select, update

from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.engine.runner import run
from backend.engine.services import ExecutionInfo
from backend.errors import Conflict, NotFound, UserError
from backend.executions import service
from backend.executions.leases import keeper
from backend.executions.links import resume_signature, signed_resume_url
from backend.executions.models import Execution
from backend.executions.models import ExecutionStatus as S
from backend.executions.sql_store import SqlStepStore
from backend.isolation import inline_lanes
from backend.webhooks.runs import WEB_WORKER_ID, finish_leased, run_services

log = logging.getLogger("linkflow.webhooks")


class BadSignature(UserError):
    status_code = 401
    code = "unauthorized"


def check_signature(execution_id: str, signature: str | None) -> None:
    if not signature or not hmac.compare_digest(signature.encode(), resume_signature(execution_id).encode()):
        raise BadSignature("missing or wrong signature; use the resume URL the workflow was given as it is")


def claim_waiting(execution_id: str) -> service.Claimed:
    """Take a webhook-waiting execution for this process; the first caller wins, later ones get 409."""
    with session_scope() as session:
        taken = session.execute(
            update(Execution)
            .where(Execution.id == execution_id, Execution.status == S.WAITING, Execution.resume_at.is_(None))
            .values(resume_at=utcnow())
        ).rowcount
        if not taken:
            status = session.scalar(select(Execution.status).where(Execution.id == execution_id))
            if status is None:
                raise NotFound(f"execution {execution_id} not found")
            raise Conflict(f"execution {execution_id} is {status}, not waiting for a webhook call; "
                           "it was resumed already or never waited for one")
        claimed = service.claim(session, execution_id, WEB_WORKER_ID)
        if claimed is None:  # cannot happen right after the update above, but never run unleased
            raise Conflict(f"execution {execution_id} could not be taken up; try again")
        return claimed


async def continue_run(execution_id: str, claimed: service.Claimed, resume_data: dict) -> None:
    """Run the rest of a claimed execution to its end (or its next wait), on an inline lane.

    Nobody waits for this answer (the caller got 202), so it waits for a turn as long as it takes.
    """
    await inline_lanes().run(lambda: _continue(execution_id, claimed, resume_data), wait_s=math.inf)


async def _continue(execution_id: str, claimed: service.Claimed, resume_data: dict) -> None:
    info = ExecutionInfo(id=execution_id, mode=claimed.mode, workflow_id=claimed.workflow_id,
                         workflow_name=claimed.definition.get("name", ""), resume_url=signed_resume_url(execution_id))
    store = SqlStepStore(execution_id, claimed.team_id)
    keeper.hold(execution_id, WEB_WORKER_ID, asyncio.current_task())
    try:
        result = await run(claimed.definition, execution=info, input_items=claimed.input,
                           store=store, resume_data=resume_data,
                           services=run_services(claimed.team_id, execution_id, claimed.definition))
    except asyncio.CancelledError:
        log.info("resumed execution stopped: cancelled or lease lost", extra={"execution_id": execution_id})
        return
    finally:
        keeper.release(execution_id)
    await asyncio.to_thread(finish_leased, execution_id, result, store)
