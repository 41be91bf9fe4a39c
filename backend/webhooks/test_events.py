"""The editor's "Listen for test event": /api/v1/workflows/{id}/test-event.

``POST`` listens on the test URLs of the workflow's Webhook nodes (latest saved version)
(409 when one overlaps a path another workflow holds, in production or listening; see
claims.py) and holds the request open (a long-poll, at most ``MAX_LISTEN_S``) until a request to one
of them has started a run, the listening is cancelled (``DELETE``, or a newer listen), the
time is up, or the editor hangs up. The answer names the execution the event started; the
editor follows it like any run. Listeners live in this process (see listeners.py).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.requests import Request

from backend.auth.deps import Principal, require_role
from backend.db.deps import CommittingRoute, db_session
from backend.errors import UserError
from backend.foreground import parked
from backend.users.models import Role
from backend.webhooks import claims, listeners
from backend.webhooks.paths import normalise
from backend.webhooks.service import webhook_nodes
from backend.workflows.service import get_workflow, latest_version

router = APIRouter(route_class=CommittingRoute, prefix="/workflows", tags=["webhooks"])

MAX_LISTEN_S = 120.0
RUN_GRACE_S = 60.0  # after a request arrived, how long its (inline) run may take to start
POLL_S = 0.1

Db = Annotated[Session, Depends(db_session)]
Editor = Annotated[Principal, Depends(require_role(Role.EDITOR))]


class NoWebhookNode(UserError):
    status_code = 422
    code = "no_webhook_node"


class ListenRequest(BaseModel):
    timeout_s: float = Field(MAX_LISTEN_S, gt=0, le=MAX_LISTEN_S, description="How long to wait for the event")


class TestEventOut(BaseModel):
    status: Literal["received", "timeout", "cancelled", "failed"]
    execution_id: str | None = None
    node_id: str | None = None
    message: str | None = None
    listened_on: list[str] = Field(default_factory=list, description='"METHOD path" of each test URL')


@router.post("/{workflow_id}/test-event", response_model=TestEventOut)
async def listen_for_test_event(workflow_id: str, request: Request, db: Db, who: Editor,
                                body: ListenRequest | None = None) -> TestEventOut:
    body = body or ListenRequest()
    workflow = get_workflow(db, who.team_id, workflow_id)
    definition = {"name": workflow.name, **latest_version(db, workflow).definition}
    hooks = webhook_nodes(definition)
    if not hooks:
        raise NoWebhookNode(f"workflow {workflow_id} has no Webhook node to listen on; add one and save first")
    claims.refuse_test_paths(db, workflow.id, workflow.team_id,
                             [(params.method, normalise(params.path)) for _, params in hooks])
    db.commit()  # give the connection back: this request may stay open for two minutes
    session = uuid.uuid4().hex
    paths = listeners.listen_for_test(workflow.id, definition, ttl_s=body.timeout_s, session=session,
                                      team_id=workflow.team_id)
    try:
        with parked():  # waiting is not work: the event pipeline need not give way to it (backend/foreground.py)
            result = await _wait(request, session, workflow.id, body.timeout_s)
    finally:
        listeners.forget(session)
    return TestEventOut(**result, listened_on=paths)


@router.delete("/{workflow_id}/test-event", status_code=204)
def stop_listening(workflow_id: str, db: Db, who: Editor) -> Response:
    listeners.stop_listening(get_workflow(db, who.team_id, workflow_id).id)
    return Response(status_code=204)


async def _wait(request: Request, session: str, workflow_id: str, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        outcome = listeners.outcome(session)
        if outcome is not None and outcome["status"] != "taken":
            return outcome
        now = time.monotonic()
        if outcome is None and (now >= deadline or not listeners.is_listening(session)):
            listeners.stop_listening_session(workflow_id, session)
            return {"status": "timeout", "message": f"no request reached the test URL within {timeout_s:g} s"}
        if outcome is not None and now >= deadline + RUN_GRACE_S:
            return {"status": "failed", "node_id": outcome.get("node_id"),
                    "message": "a request arrived but its run did not start in time; see the executions list"}
        if await request.is_disconnected():
            listeners.stop_listening_session(workflow_id, session)
            return {"status": "cancelled", "message": "the editor stopped waiting"}
        await asyncio.sleep(POLL_S)
