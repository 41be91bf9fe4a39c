"""Which workflows use a credential: those whose newest version fills a node's credential slot with it."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Text, and_, cast, or_, select
from sqlalchemy.orm import Session

from backend.credentials.access import referenced_credentials
from backend.credentials.schemas import WorkflowUse
from backend.workflows.models import Workflow, WorkflowVersion


def team_usage(session: Session, team_id: str, only: list[str] | None = None) -> dict[str, list[WorkflowUse]]:
    """{credential id: the workflows using it, by name}. One query over the team's newest versions;
    with `only` (a few credential ids) the database skips definitions that do not mention them."""
    query = (select(Workflow.id, Workflow.name, Workflow.active, WorkflowVersion.definition)
             .join(WorkflowVersion, and_(WorkflowVersion.workflow_id == Workflow.id,
                                         WorkflowVersion.number == Workflow.latest_version))
             .where(Workflow.team_id == team_id)
             .order_by(Workflow.name, Workflow.id))
    if only:
        text = cast(WorkflowVersion.definition, Text)
        query = query.where(or_(*(text.contains(credential_id, autoescape=True) for credential_id in only)))
    rows = session.execute(query)
    uses: dict[str, list[WorkflowUse]] = defaultdict(list)
    for workflow_id, name, active, definition in rows:
        nodes_by_credential: dict[str, list[str]] = defaultdict(list)
        for node, credential_id in referenced_credentials(definition if isinstance(definition, dict) else {}):
            if node not in nodes_by_credential[credential_id]:
                nodes_by_credential[credential_id].append(node)
        for credential_id, nodes in nodes_by_credential.items():
            uses[credential_id].append(WorkflowUse(id=workflow_id, name=name, active=active, nodes=nodes))
    return uses
