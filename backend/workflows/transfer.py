"""Export and import: a workflow as a portable JSON file {name, nodes, connections, settings, tags, ...}."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.workflows.models import Workflow
from backend.workflows.schemas import WorkflowFile
from backend.workflows.service import create_workflow, latest_version


def export_file(session: Session, workflow: Workflow) -> dict:
    definition = latest_version(session, workflow).definition
    return {"name": workflow.name, "nodes": definition.get("nodes", []),
            "connections": definition.get("connections", []), "settings": definition.get("settings", {}),
            "tags": list(workflow.tags),
            **{key: definition[key] for key in ("pin_data", "sticky_notes") if definition.get(key)}}


def import_file(session: Session, file: WorkflowFile, *, team_id: str, user_id: str | None) -> Workflow:
    definition = {"nodes": file.nodes, "connections": file.connections, "settings": file.settings,
                  "pin_data": file.pin_data, "sticky_notes": file.sticky_notes}
    return create_workflow(session, team_id=team_id, user_id=user_id, name=file.name, definition=definition,
                           description=file.description, tags=file.tags, message="imported")
