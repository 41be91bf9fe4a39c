"""Listener triggers (Redis Trigger, Kafka Trigger, Email Trigger (IMAP)): one ``trigger_listeners`` row per such node of an active
workflow. Activation writes them (``sync_workflow_listeners``, in the activation's transaction, so bad
parameters refuse the activation with a message), deactivation deletes them; the listener runner
(``runner.py``) starts and stops a listener per row and writes its status here.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from backend.db.base import utcnow
from backend.errors import UserError
from backend.listeners.models import TriggerListener
from backend.workflows.models import Workflow
from backend.workflows.trigger_nodes import trigger_nodes, trigger_parameters
from nodes.sdk import default_registry

TRIGGER_KIND = "listener"
MAX_ERROR = 2000


def listener_nodes(definition: dict) -> list[dict]:
    """The enabled nodes of the definition whose type is a listener trigger."""
    return trigger_nodes(definition, TRIGGER_KIND)


def validated_parameters(node: dict):
    """The node's Parameters, or a UserError naming the node and each problem."""
    return trigger_parameters(node)


def sync_workflow_listeners(session: Session, workflow: Workflow, definition: dict) -> list[TriggerListener]:
    """Replace the workflow's listener rows with one per enabled listener node of ``definition``."""
    remove_workflow_listeners(session, workflow.id)
    rows = []
    for node in listener_nodes(definition):
        validated_parameters(node)
        missing = [slot for slot in default_registry().get(node["type"], node.get("version", 1)).credential_slots
                   if not (node.get("credentials") or {}).get(slot)]
        if missing:
            raise UserError(f"trigger node {node.get('name', node['id'])!r} has no credential chosen for "
                            f"{', '.join(missing)}; pick one in the node's credentials before activating",
                            [{"node": node.get("name"), "message": f"no credential for {', '.join(missing)}"}])
        rows.append(TriggerListener(team_id=workflow.team_id, workflow_id=workflow.id,
                                    version_id=workflow.active_version_id, node_id=node["id"],
                                    node_type=node["type"], status="starting", error=None, detail="",
                                    messages=0, updated_at=utcnow()))
    session.add_all(rows)
    session.flush()
    return rows


def remove_workflow_listeners(session: Session, workflow_id: str) -> None:
    session.execute(delete(TriggerListener).where(TriggerListener.workflow_id == workflow_id))


def list_workflow_listeners(session: Session, workflow_id: str) -> list[TriggerListener]:
    return list(session.scalars(select(TriggerListener).where(TriggerListener.workflow_id == workflow_id)
                                .order_by(TriggerListener.node_id)))


def active_listeners(session: Session) -> list[TriggerListener]:
    """Every listener of an active workflow: what the runner must be running."""
    return list(session.scalars(select(TriggerListener)
                                .join(Workflow, Workflow.id == TriggerListener.workflow_id)
                                .where(Workflow.active)))


def set_status(session: Session, listener_id: str, status: str, *, error: str | None = None,
               detail: str | None = None) -> None:
    values = {"status": status, "error": error[:MAX_ERROR] if error else None, "updated_at": utcnow()}
    if detail is not None:
        values["detail"] = detail[:500]
    session.execute(update(TriggerListener).where(TriggerListener.id == listener_id).values(**values))
