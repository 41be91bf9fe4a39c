"""Misfire policies (runs missed while no scheduler ran) and overlap policies (a previous run is active)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from schedule_testkit import T0
from sqlalchemy import select

from backend.db.session import session_scope
from backend.executions import service
from backend.executions.models import Execution
from backend.executions.models import ExecutionStatus as S
from backend.schedules.firing import MAX_RUNS
from backend.schedules.models import Schedule


def fire(now: datetime) -> list[str]:
    from backend.schedules.firing import fire_due

    with session_scope() as session:
        return fire_due(session, now)


def schedule_of(workflow_id: str) -> Schedule:
    with session_scope() as session:
        return session.scalars(select(Schedule).where(Schedule.workflow_id == workflow_id)).one()


def timestamps(workflow_id: str) -> list[str]:
    with session_scope() as session:
        rows = session.scalars(select(Execution).where(Execution.workflow_id == workflow_id)
                               .order_by(Execution.created_at))
        return [row.input[0]["json"]["timestamp"][11:19] for row in rows]


def finish(execution_id: str) -> None:
    with session_scope() as session:
        assert service.claim(session, execution_id, "test-worker") is not None
        assert service.finish(session, execution_id, "test-worker", status=S.SUCCEEDED, output=[])


# Every 10 minutes from 09:10; the scheduler comes back at 12:05, having missed 09:10 .. 12:00.
BACK_AT = datetime(2026, 5, 4, 12, 5, tzinfo=UTC)
MISSED = [f"{h:02d}:{m:02d}:00" for h in (9, 10, 11, 12) for m in range(0, 60, 10)][1:-5]


@pytest.mark.parametrize(("policy", "expected"), [
    ("skip", []),
    ("run_once", ["12:00:00"]),
    ("run_all", MISSED),
])
def test_misfire_policy_decides_what_runs_for_missed_times(scheduled_workflow, held_queue, policy, expected):
    workflow_id = scheduled_workflow("*/10 * * * *", misfire_policy=policy, overlap_policy="allow")
    fire(BACK_AT)
    assert timestamps(workflow_id) == expected
    assert schedule_of(workflow_id).next_run_at == datetime(2026, 5, 4, 12, 10, tzinfo=UTC)


def test_run_all_catches_up_at_most_max_runs(scheduled_workflow, held_queue):
    workflow_id = scheduled_workflow("* * * * * *", misfire_policy="run_all", overlap_policy="allow")
    now = T0 + timedelta(hours=1, milliseconds=500)
    fire(now)
    times = timestamps(workflow_id)
    assert len(times) == MAX_RUNS and times[0] == "09:00:01" and times[-1] == "09:01:40"
    assert schedule_of(workflow_id).next_run_at == T0 + timedelta(hours=1, seconds=1)


def test_times_due_within_the_grace_are_not_misfires(scheduled_workflow, held_queue):
    workflow_id = scheduled_workflow("* * * * * *", misfire_policy="skip", overlap_policy="allow")
    fire(T0 + timedelta(seconds=5, milliseconds=200))  # a failover took five seconds
    assert timestamps(workflow_id) == ["09:00:01", "09:00:02", "09:00:03", "09:00:04", "09:00:05"]


def test_overlap_skip_fires_nothing_while_the_previous_run_is_active(scheduled_workflow, held_queue):
    workflow_id = scheduled_workflow("0 * * * *", overlap_policy="skip")
    [first] = fire(T0 + timedelta(hours=1))
    assert fire(T0 + timedelta(hours=2)) == []  # first is still queued
    assert schedule_of(workflow_id).next_run_at == T0 + timedelta(hours=3)
    finish(first)
    assert len(fire(T0 + timedelta(hours=3))) == 1
    assert timestamps(workflow_id) == ["10:00:00", "12:00:00"]


def test_overlap_skip_runs_one_of_several_times_due_at_once(scheduled_workflow, held_queue):
    workflow_id = scheduled_workflow("* * * * * *", overlap_policy="skip")
    fire(T0 + timedelta(seconds=3))
    assert timestamps(workflow_id) == ["09:00:01"]


def test_overlap_queue_holds_due_times_until_the_previous_run_finished(scheduled_workflow, held_queue):
    workflow_id = scheduled_workflow("0 * * * *", overlap_policy="queue")
    [first] = fire(T0 + timedelta(hours=1))
    assert fire(T0 + timedelta(hours=2)) == [] and fire(T0 + timedelta(hours=3)) == []
    held = schedule_of(workflow_id)
    assert held.backlog == ["2026-05-04T11:00:00+00:00", "2026-05-04T12:00:00+00:00"] and held.backlog_size == 2
    assert fire(T0 + timedelta(hours=3, minutes=10)) == []  # nothing due, previous still running

    finish(first)
    [second] = fire(T0 + timedelta(hours=3, minutes=20))  # not a due time: the backlog fires
    assert fire(T0 + timedelta(hours=3, minutes=21)) == []  # one at a time
    finish(second)
    assert len(fire(T0 + timedelta(hours=3, minutes=22))) == 1
    assert timestamps(workflow_id) == ["10:00:00", "11:00:00", "12:00:00"]
    assert schedule_of(workflow_id).backlog_size == 0


def test_overlap_allow_fires_beside_active_runs(scheduled_workflow, held_queue):
    workflow_id = scheduled_workflow("0 * * * *", overlap_policy="allow")
    fire(T0 + timedelta(hours=1))
    fire(T0 + timedelta(hours=2))
    assert timestamps(workflow_id) == ["10:00:00", "11:00:00"]
