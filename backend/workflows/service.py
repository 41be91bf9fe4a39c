"""Workflows and their immutable versions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import NotFound
from backend.workflows.models import Workflow, WorkflowVersion


def get_workflow(session: Session, team_id: str, workflow_id: str) -> Workflow:
    """The team's workflow; another team's id answers exactly like a missing one."""
    workflow = session.get(Workflow, workflow_id)
    if workflow is None or workflow.team_id != team_id:
        raise NotFound(f"workflow {workflow_id} not found")
    return workflow


def save_version(session: Session, workflow: Workflow, definition: dict, *, user_id: str | None = None,
                 message: str = "") -> WorkflowVersion:
    workflow.latest_version += 1
    version = WorkflowVersion(workflow_id=workflow.id, number=workflow.latest_version, definition=definition,
                              created_by=user_id, message=message)
    session.add(version)
    session.flush()
    return version


def runnable_definition(session: Session, team_id: str, workflow_id: str) -> tuple[str, dict]:
    """(version id, definition) that runs for triggers: the active version, else the newest."""
    workflow = get_workflow(session, team_id, workflow_id)
    query = select(WorkflowVersion).where(WorkflowVersion.workflow_id == workflow.id)
    if workflow.active_version_id:
        query = query.where(WorkflowVersion.id == workflow.active_version_id)
    version = session.scalars(query.order_by(WorkflowVersion.number.desc()).limit(1)).first()
    if version is None:
        raise NotFound(f"workflow {workflow_id} has no saved version yet")
    return version.id, version.definition
