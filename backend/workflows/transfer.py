"""Export and import: a workflow as a portable JSON file {name, nodes, connections, settings, tags, ...}."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.workflows.models import Workflow
from backend.workflows.schemas import WorkflowFile
from backend.workflows.service import create_workflow, latest_version


def export_file(session: Session, workflow: Workflow, *, credential_names: bool = False) -> dict:
    """The workflow as a file; ``credential_names``: also {credential id: name}, so that an import into
    another database can bind the credentials of the same names there."""
    definition = latest_version(session, workflow).definition
    names = _credential_names(session, workflow.team_id, definition) if credential_names else {}
    return {"name": workflow.name, "nodes": definition.get("nodes", []),
            **({"credential_names": names} if names else {}),
            "connections": definition.get("connections", []), "settings": definition.get("settings", {}),
            "tags": list(workflow.tags),
            **{key: definition[key] for key in ("pin_data", "sticky_notes") if definition.get(key)}}


def import_file(session: Session, file: WorkflowFile, *, team_id: str, user_id: str | None) -> Workflow:
    definition = {"nodes": file.nodes, "connections": file.connections, "settings": file.settings,
                  "pin_data": file.pin_data, "sticky_notes": file.sticky_notes}
    return create_workflow(session, team_id=team_id, user_id=user_id, name=file.name, definition=definition,
                           description=file.description, tags=file.tags, message="imported")


def _credential_names(session: Session, team_id: str, definition: dict) -> dict[str, str]:
    from sqlalchemy import select

    from backend.credentials.models import Credential

    ids = {cid for node in definition.get("nodes", []) for cid in (node.get("credentials") or {}).values()}
    if not ids:
        return {}
    rows = session.execute(select(Credential.id, Credential.name).where(Credential.team_id == team_id,
                                                                        Credential.id.in_(ids)))
    return {cid: name for cid, name in rows}


def rebind_credentials(session: Session, raw: dict, team_id: str) -> list[str]:
    """Credential ids of ``raw`` (an exported file) that are not in ``team_id`` are bound to the team's credential of
    the same name (``credential_names``); bindings with neither are dropped. Returns what was dropped."""
    from sqlalchemy import select

    from backend.credentials.models import Credential

    names = raw.get("credential_names") if isinstance(raw.get("credential_names"), dict) else {}
    rows = session.execute(select(Credential.id, Credential.name).where(Credential.team_id == team_id)).all()
    ours, by_name = {cid for cid, _ in rows}, {name: cid for cid, name in rows}
    dropped = []
    for node in raw.get("nodes") or []:
        slots = node.get("credentials") if isinstance(node, dict) else None
        for slot, cid in list((slots or {}).items()) if isinstance(slots, dict) else []:
            if cid in ours:
                continue
            if names.get(cid) in by_name:
                slots[slot] = by_name[names[cid]]
            else:
                del slots[slot]
                dropped.append(f"{node.get('name')}: {slot}")
    return dropped
