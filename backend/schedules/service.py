"""Schedules: one row per Schedule trigger of an active workflow. The only writer of their rows
(firing them lives in ``firing.py``).

Workflow activation calls ``sync_workflow_schedules`` with the definition that becomes active;
deactivation calls ``remove_workflow_schedules``. Deleting a workflow deletes its rows by
foreign-key cascade.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend.db.base import utcnow
from backend.schedules.cron import Cron
from backend.schedules.models import Schedule
from backend.workflows.models import Workflow
from backend.workflows.trigger_nodes import trigger_nodes, trigger_parameters

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
    return trigger_nodes(definition, TRIGGER_KIND)


def _schedule_for(workflow: Workflow, node: dict, now: datetime) -> Schedule:
    params = trigger_parameters(node, "schedule node")
    cron = Cron(params.cron, params.timezone)
    return Schedule(team_id=workflow.team_id, workflow_id=workflow.id, node_id=node["id"], cron=cron.expression,
                    timezone=params.timezone, misfire_policy=params.misfire_policy,
                    overlap_policy=params.overlap_policy, enabled=True, next_run_at=cron.next_after(now),
                    backlog=[], backlog_size=0)
