"""Firing due schedules: one execution per due time, exactly once across scheduler replicas.

Exactly once comes from two things. Only the leader fires (``leader.py``). And the
execution rows and the schedule's new ``next_run_at`` are written in one transaction,
on rows locked with ``SELECT ... FOR UPDATE SKIP LOCKED`` and updated with a
compare-and-set on the old position, so even two leaders overlapping during a failover
cannot fire the same due time twice: the second sees the schedule already advanced.

Runs missed while no scheduler was up (``next_run_at`` older than ``MISFIRE_GRACE``)
follow the misfire policy: ``skip`` none, ``run_once`` one for the latest missed time,
``run_all`` one per missed time (the oldest ``MAX_RUNS``). A due time within the grace is
not a misfire: it runs, however the policy reads.

The overlap policy looks at executions of the workflow started by a schedule that are
queued, running or waiting: ``skip`` fires nothing while there is one, ``allow`` fires
anyway, ``queue`` keeps the due times in the schedule's ``backlog`` and fires the oldest
when there is none. (Creating the execution at once and holding back its dispatch would
not hold: the reaper re-sends queued executions it thinks lost.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from backend.billing import hooks as billing
from backend.errors import UserError
from backend.events.outbox import emit
from backend.executions.dispatch import commit_then_dispatch
from backend.executions.models import Execution
from backend.executions.models import ExecutionStatus as S
from backend.executions.service import create_execution, trigger_fired
from backend.schedules.cron import Cron
from backend.schedules.models import Schedule
from backend.workflows.models import Workflow
from backend.workflows.service import runnable_definition

log = logging.getLogger("linkflow.schedules")

MODE = "schedule"
MISFIRE_GRACE = timedelta(seconds=60)
MAX_RUNS = 100  # per schedule: catch-up runs of run_all, and the queue policy's backlog
BATCH = 200
MAX_BATCHES = 50
ACTIVE = (S.QUEUED, S.RUNNING, S.WAITING)


@dataclass(frozen=True)
class Plan:
    """What one schedule does this tick: the due times to run, and its new state."""

    run: list[datetime]
    next_run_at: datetime | None
    backlog: list[datetime]


def fire_due(session: Session, now: datetime) -> list[str]:
    """Fire every schedule due at ``now``; commits, then dispatches. Returns the new execution ids."""
    fired: list[str] = []
    for _ in range(MAX_BATCHES):
        rows = session.execute(_due_query(now)).all()
        ids = [execution_id for schedule, workflow in rows for execution_id in _fire(session, schedule, workflow, now)]
        commit_then_dispatch(session, *ids)
        fired += ids
        if len(rows) < BATCH:
            break
    return fired


def _due_query(now: datetime):
    previous_active = exists().where(Execution.workflow_id == Schedule.workflow_id, Execution.mode == MODE,
                                     Execution.status.in_(ACTIVE))
    return (select(Schedule, Workflow)
            .join(Workflow, Workflow.id == Schedule.workflow_id)
            .where(Schedule.enabled, Workflow.active,
                   or_(Schedule.next_run_at <= now, and_(Schedule.backlog_size > 0, ~previous_active)))
            .order_by(Schedule.next_run_at)
            .limit(BATCH)
            .with_for_update(of=Schedule, skip_locked=True)
            .execution_options(populate_existing=True))


def _fire(session: Session, schedule: Schedule, workflow: Workflow, now: datetime) -> list[str]:
    try:
        plan = plan_runs(schedule, Cron(schedule.cron, schedule.timezone), now,
                         previous_active=_previous_active(session, schedule))
        version_id, definition = _definition(session, workflow) if plan.run else ("", {})
    except UserError as exc:  # nothing written yet: move past the due time, so it is reported once
        log.error("schedule cannot fire: %s", exc.message, extra={"schedule_id": schedule.id,
                                                                  "workflow_id": schedule.workflow_id})
        plan, version_id, definition = Plan(run=[], next_run_at=_next_or_none(schedule, now), backlog=[]), "", {}
    if not _advance(session, schedule, plan):
        log.warning("schedule advanced by another scheduler; not firing", extra={"schedule_id": schedule.id})
        return []
    return [_start(session, schedule, definition, version_id, at) for at in plan.run
            if billing.admits_execution(schedule.team_id, MODE)]  # past the quota (+ grace): skipped, logged


def _definition(session: Session, workflow: Workflow) -> tuple[str, dict]:
    """The active version's (id, definition), named like the workflow for the execution history."""
    version_id, definition = runnable_definition(session, workflow.team_id, workflow.id)
    return version_id, {"name": workflow.name, **definition}


def plan_runs(schedule: Schedule, cron: Cron, now: datetime, *, previous_active: bool) -> Plan:
    """Apply the misfire policy to the due times, then the overlap policy to them and the backlog."""
    due: list[datetime] = []
    next_run_at = schedule.next_run_at
    if next_run_at is not None and next_run_at <= now:
        due = _due_times(schedule, cron, now)
        next_run_at = cron.next_after(now)
    pending = [datetime.fromisoformat(at) for at in schedule.backlog or []] + due
    policy = schedule.overlap_policy
    if policy == "allow":
        return Plan(run=pending, next_run_at=next_run_at, backlog=[])
    if policy == "skip":
        run = [] if previous_active else pending[:1]
        if len(pending) > len(run):
            log.info("overlap policy skip: not firing while a previous run is active",
                     extra={"schedule_id": schedule.id, "skipped": len(pending) - len(run)})
        return Plan(run=run, next_run_at=next_run_at, backlog=[])
    run, held = ([], pending) if previous_active else (pending[:1], pending[1:])
    if len(held) > MAX_RUNS:
        log.warning("overlap policy queue: backlog full, dropping the newest due times",
                    extra={"schedule_id": schedule.id, "dropped": len(held) - MAX_RUNS})
    return Plan(run=run, next_run_at=next_run_at, backlog=held[:MAX_RUNS])


def _due_times(schedule: Schedule, cron: Cron, now: datetime) -> list[datetime]:
    first = schedule.next_run_at
    policy = schedule.misfire_policy if now - first > MISFIRE_GRACE else "on_time"
    if policy in ("on_time", "run_all"):
        times = [first, *cron.fire_times(first, now, MAX_RUNS)]
        if len(times) > MAX_RUNS:
            log.warning("misfire: more due times than MAX_RUNS, running the oldest",
                        extra={"schedule_id": schedule.id, "max_runs": MAX_RUNS})
        due = times[:MAX_RUNS]
    elif policy == "run_once":
        due = [cron.last_at_or_before(now, not_before=first) or first]
    else:
        due = []
    if policy != "on_time":
        log.warning("schedule misfired: applying its misfire policy",
                    extra={"schedule_id": schedule.id, "policy": policy, "missed_since": first.isoformat(),
                           "running": len(due)})
    return due


def _previous_active(session: Session, schedule: Schedule) -> bool:
    if schedule.overlap_policy == "allow":
        return False
    return bool(session.scalar(select(exists().where(
        Execution.workflow_id == schedule.workflow_id, Execution.mode == MODE, Execution.status.in_(ACTIVE)))))


def _advance(session: Session, schedule: Schedule, plan: Plan) -> bool:
    """Compare-and-set on the position we planned from: False if someone else moved it first."""
    values = {"next_run_at": plan.next_run_at, "backlog": [at.isoformat() for at in plan.backlog],
              "backlog_size": len(plan.backlog)}
    if plan.run:
        values["last_run_at"] = max(plan.run)
    position = (Schedule.next_run_at.is_(None) if schedule.next_run_at is None
                else Schedule.next_run_at == schedule.next_run_at)
    result = session.execute(update(Schedule)
                             .where(Schedule.id == schedule.id, position,
                                    Schedule.backlog_size == schedule.backlog_size)
                             .values(**values)
                             .execution_options(synchronize_session=False))
    return result.rowcount == 1


def _start(session: Session, schedule: Schedule, definition: dict, version_id: str, at: datetime) -> str:
    item = {"json": {"timestamp": at.astimezone(ZoneInfo(schedule.timezone)).isoformat(),
                     "timezone": schedule.timezone, "cron": schedule.cron}}
    execution = create_execution(session, team_id=schedule.team_id, definition=definition, mode=MODE,
                                 input_items=[item], workflow_id=schedule.workflow_id, version_id=version_id)
    emit(session, "schedule.triggers", schedule.workflow_id, {
        "type": "schedule.fired", "schedule_id": schedule.id, "workflow_id": schedule.workflow_id,
        "team_id": schedule.team_id, "node_id": schedule.node_id, "execution_id": execution.id,
        "scheduled_at": at.isoformat()})
    trigger_fired(session, execution, "schedule", schedule.node_id)
    return execution.id


def _next_or_none(schedule: Schedule, now: datetime) -> datetime | None:
    try:
        return Cron(schedule.cron, schedule.timezone).next_after(now)
    except UserError:
        return None


def next_due_at(session: Session) -> datetime | None:
    """The earliest next run of any enabled schedule (the scheduler sleeps until then)."""
    return session.scalar(select(func.min(Schedule.next_run_at)).where(Schedule.enabled))
