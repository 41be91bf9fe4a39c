"""Sub-workflows run as child executions, inline in the parent's worker thread; error
workflows are queued like any other execution."""

from __future__ import annotations

from backend.db.session import session_scope
from backend.executions import dispatch, service
from backend.executions.models import Execution
from backend.workflows.service import runnable_definition
from nodes.sdk import NodeUserError

MAX_DEPTH = 10


def run_child_execution(team_id: str, workflow_id: str, items: list[dict], parent_execution_id: str) -> list:
    from backend.executions.worker_runtime import execute

    with session_scope() as session:
        _check_depth(session, parent_execution_id)
        version_id, definition = runnable_definition(session, team_id, workflow_id)
        child = service.create_execution(session, team_id=team_id, workflow_id=workflow_id,
                                         version_id=version_id, definition=definition, mode="subworkflow",
                                         input_items=items, parent_execution_id=parent_execution_id)
        child_id = child.id
    execute(child_id, f"inline:{parent_execution_id}")
    with session_scope() as session:
        child = session.get(Execution, child_id)
        if child.status != "succeeded":
            message = (child.error or {}).get("message", child.status)
            raise NodeUserError(f"sub-workflow {workflow_id} (execution {child_id}) {child.status}: {message}")
        return child.output or []


def _check_depth(session, execution_id: str) -> None:
    depth = 0
    while execution_id:
        depth += 1
        if depth > MAX_DEPTH:
            raise NodeUserError(f"sub-workflows are nested more than {MAX_DEPTH} deep; is a workflow calling itself?")
        execution_id = session.get(Execution, execution_id).parent_execution_id


def start_error_workflow(team_id: str, workflow_id: str, payload: dict) -> str:
    """Queue the team's error workflow with the failure details as its one input item."""
    with session_scope() as session:
        version_id, definition = runnable_definition(session, team_id, workflow_id)
        execution = service.create_execution(session, team_id=team_id, workflow_id=workflow_id,
                                             version_id=version_id, definition=definition, mode="error",
                                             input_items=[{"json": payload}])
        execution_id = execution.id
    dispatch.dispatch(execution_id)
    return execution_id
