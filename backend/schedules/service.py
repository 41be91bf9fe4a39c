"""Schedules: one row per Schedule trigger of an active workflow. The only writer of their rows
(firing them lives in ``firing.py``).

Workflow activation calls ``sync_workflow_schedules`` with the definition that becomes active;
deactivation calls ``remove_workflow_schedules``. Deleting a workflow deletes its rows by
foreign-key cascade.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend.db.base import utcnow
from backend.errors import UserError
from backend.schedules.cron import Cron
from backend.schedules.models import Schedule
from backend.workflows.models import Workflow
from nodes.sdk import default_registry

TRIGGER_KIND = "schedule"


def sync_workflow_schedules(session: Session, workflow: Workflow, definition: dict,
                            now: datetime | None = None) -> list[Schedule]:
    """Replace the workflow's schedules with one per enabled Schedule node of ``definition``.

    Each starts afresh: its next run is the first fire time after ``now``, and runs held
    back by a previous activation are dropped.
    """
    now = now or utcnow()
    remove_workflow_schedules(session, workflow.id)
    schedules = [_schedule_for(workflow, node, now) for node in schedule_nodes(definition)]
    session.add_all(schedules)
    session.flush()
    return schedules


def remove_workflow_schedules(session: Session, workflow_id: str) -> None:
    session.execute(delete(Schedule).where(Schedule.workflow_id == workflow_id))


def list_workflow_schedules(session: Session, workflow_id: str) -> list[Schedule]:
    return list(session.scalars(select(Schedule).where(Schedule.workflow_id == workflow_id)
                                .order_by(Schedule.node_id)))


def schedule_nodes(definition: dict) -> list[dict]:
    """The enabled nodes of the definition whose type is a schedule trigger."""
    registry = default_registry()
    found = []
    for node in definition.get("nodes") or []:
        trigger = registry.get(node["type"], node.get("version", 1)).trigger
        if trigger is not None and trigger.kind == TRIGGER_KIND and not node.get("disabled", False):
            found.append(node)
    return found


def _schedule_for(workflow: Workflow, node: dict, now: datetime) -> Schedule:
    node_class = default_registry().get(node["type"], node.get("version", 1))
    try:
        params = node_class.Parameters.model_validate(node.get("parameters") or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'parameters'}: {e['msg']}" for e in exc.errors())
        raise UserError(f"schedule node {node.get('name', node['id'])!r} has invalid parameters: {problems}",
                        [{"node": node.get("name"), "message": problems}]) from None
    cron = Cron(params.cron, params.timezone)
    return Schedule(team_id=workflow.team_id, workflow_id=workflow.id, node_id=node["id"], cron=cron.expression,
                    timezone=params.timezone, misfire_policy=params.misfire_policy,
                    overlap_policy=params.overlap_policy, enabled=True, next_run_at=cron.next_after(now),
                    backlog=[], backlog_size=0)
