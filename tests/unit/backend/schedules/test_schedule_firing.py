"""fire_due: executions with the schedule's input, next_run_at advanced in the same transaction."""

from __future__ import annotations

from datetime import datetime, timedelta

from schedule_testkit import T0
from sqlalchemy import select

from backend.db.session import session_scope
from backend.events.models import OutboxEvent
from backend.executions.models import Execution
from backend.schedules.firing import _fire, fire_due
from backend.schedules.models import Schedule
from backend.workflows.activation import deactivate
from backend.workflows.models import Workflow


def fire(now: datetime) -> list[str]:
    with session_scope() as session:
        return fire_due(session, now)


def schedule_of(workflow_id: str) -> Schedule:
    with session_scope() as session:
        return session.scalars(select(Schedule).where(Schedule.workflow_id == workflow_id)).one()


def executions(workflow_id: str) -> list[Execution]:
    with session_scope() as session:
        return list(session.scalars(select(Execution).where(Execution.workflow_id == workflow_id)
                                    .order_by(Execution.created_at)))


def timestamps(workflow_id: str) -> list[str]:
    return [e.input[0]["json"]["timestamp"] for e in executions(workflow_id)]


def test_a_due_schedule_starts_one_execution_and_moves_on(scheduled_workflow, held_queue):
    workflow_id = scheduled_workflow("0 * * * *")
    fired = fire(T0 + timedelta(hours=1, milliseconds=300))
    [execution] = executions(workflow_id)
    assert fired == held_queue == [execution.id]  # dispatched after the commit
    assert (execution.mode, execution.status, execution.team_id) == ("schedule", "queued", schedule_of(workflow_id).team_id)
    assert execution.input == [{"json": {"timestamp": "2026-05-04T10:00:00+00:00", "timezone": "UTC",
                                         "cron": "0 * * * *"}}]
    assert execution.version_id and execution.definition["name"] == "Hourly"
    row = schedule_of(workflow_id)
    assert row.next_run_at == T0 + timedelta(hours=2) and row.last_run_at == T0 + timedelta(hours=1)


def test_a_due_time_fires_once_however_often_the_scheduler_ticks(scheduled_workflow, held_queue):
    workflow_id = scheduled_workflow("0 * * * *")
    for _ in range(3):
        fire(T0 + timedelta(hours=1, seconds=1))
    assert len(executions(workflow_id)) == 1


def test_nothing_fires_before_it_is_due(scheduled_workflow, held_queue):
    workflow_id = scheduled_workflow("0 * * * *")
    assert fire(T0 + timedelta(minutes=59, seconds=59)) == [] and executions(workflow_id) == []


def test_inactive_workflows_and_disabled_schedules_do_not_fire(scheduled_workflow, held_queue):
    inactive, disabled = scheduled_workflow(name="inactive"), scheduled_workflow(name="disabled")
    with session_scope() as session:
        deactivate(session, session.get(Workflow, inactive), user_id=None)
        session.scalars(select(Schedule).where(Schedule.workflow_id == disabled)).one().enabled = False
    assert fire(T0 + timedelta(hours=5)) == []


def test_the_input_timestamp_is_the_planned_time_in_the_schedule_time_zone(scheduled_workflow, held_queue):
    workflow_id = scheduled_workflow("30 11 * * *", timezone="Europe/Berlin")
    fire(T0 + timedelta(minutes=31, seconds=2))
    assert timestamps(workflow_id) == ["2026-05-04T11:30:00+02:00"]


def test_the_execution_runs_from_the_schedule_node(scheduled_workflow, inline_worker):
    workflow_id = scheduled_workflow("0 * * * *")
    fire(T0 + timedelta(hours=1))
    [execution] = executions(workflow_id)
    assert execution.status == "succeeded", execution.error
    assert execution.output == [{"json": {"timestamp": "2026-05-04T10:00:00+00:00", "timezone": "UTC",
                                          "cron": "0 * * * *"}}]


def test_each_fire_is_announced_on_schedule_triggers(scheduled_workflow, held_queue):
    workflow_id = scheduled_workflow("0 * * * *")
    [execution_id] = fire(T0 + timedelta(hours=1))
    with session_scope() as session:
        [event] = session.scalars(select(OutboxEvent.payload).where(OutboxEvent.topic == "schedule.triggers"))
    assert event["type"] == "schedule.fired" and event["execution_id"] == execution_id
    assert event["workflow_id"] == workflow_id and event["scheduled_at"] == "2026-05-04T10:00:00+00:00"


def test_a_scheduler_that_planned_from_a_stale_position_fires_nothing(scheduled_workflow, held_queue):
    """Two leaders overlapping in a failover: the one that commits second must not fire again."""
    workflow_id = scheduled_workflow("0 * * * *", overlap_policy="allow")
    now = T0 + timedelta(hours=1)
    with session_scope() as stale:
        schedule = stale.scalars(select(Schedule).where(Schedule.workflow_id == workflow_id)).one()
        workflow = stale.get(Workflow, workflow_id)
        stale.commit()  # end the read transaction, keep the loaded (soon stale) rows
        assert len(fire(now)) == 1  # the other scheduler
        assert _fire(stale, schedule, workflow, now) == []
    assert len(executions(workflow_id)) == 1


def test_a_broken_schedule_is_reported_and_does_not_hold_up_the_others(scheduled_workflow, held_queue):
    broken, healthy = scheduled_workflow(name="broken"), scheduled_workflow(name="healthy")
    with session_scope() as session:
        session.scalars(select(Schedule).where(Schedule.workflow_id == broken)).one().cron = "every full moon"
    fire(T0 + timedelta(hours=1))
    assert executions(broken) == [] and schedule_of(broken).next_run_at is None
    assert len(executions(healthy)) == 1


def test_spring_forward_fires_the_missing_time_once_at_three(scheduled_workflow, held_queue):
    workflow_id = scheduled_workflow("30 2 * * *", timezone="America/New_York", overlap_policy="allow",
                                     now=datetime.fromisoformat("2026-03-07T12:00:00-05:00"))
    assert fire(datetime.fromisoformat("2026-03-08T01:59:59-05:00")) == []  # the last second before the gap
    for local in ("2026-03-08T03:00:00-04:00", "2026-03-08T03:30:00-04:00", "2026-03-08T04:00:00-04:00"):
        fire(datetime.fromisoformat(local))
    assert timestamps(workflow_id) == ["2026-03-08T03:00:00-04:00"]
