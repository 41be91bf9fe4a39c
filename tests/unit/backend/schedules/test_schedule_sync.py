"""Activation hands the definition to sync_workflow_schedules; deactivation removes the rows."""

from __future__ import annotations

from datetime import datetime

import pytest
from schedule_testkit import T0, schedule_definition

from backend.db.session import session_scope
from backend.errors import UserError
from backend.schedules.service import (
    list_workflow_schedules,
    remove_workflow_schedules,
    sync_workflow_schedules,
)
from backend.workflows.models import Workflow


def schedules(workflow_id: str) -> list:
    with session_scope() as session:
        return list_workflow_schedules(session, workflow_id)


def test_one_row_per_schedule_node_with_its_next_run_from_now(scheduled_workflow):
    workflow_id = scheduled_workflow("30 9 * * *", timezone="Europe/Berlin", misfire_policy="run_all",
                                     overlap_policy="queue")
    [row] = schedules(workflow_id)
    assert (row.node_id, row.cron, row.timezone, row.misfire_policy, row.overlap_policy, row.enabled) == (
        "cron", "30 9 * * *", "Europe/Berlin", "run_all", "queue", True)
    assert row.next_run_at == datetime.fromisoformat("2026-05-05T07:30:00+00:00")  # 09:30 CEST, the day after T0
    assert row.last_run_at is None and row.backlog == []


def test_sync_replaces_the_previous_rows(scheduled_workflow):
    workflow_id = scheduled_workflow("0 * * * *")
    with session_scope() as session:
        workflow = session.get(Workflow, workflow_id)
        sync_workflow_schedules(session, workflow, schedule_definition("*/5 * * * *"), now=T0)
    [row] = schedules(workflow_id)
    assert row.cron == "*/5 * * * *" and row.next_run_at == datetime.fromisoformat("2026-05-04T09:05:00+00:00")


def test_a_disabled_schedule_node_gets_no_row(scheduled_workflow):
    workflow_id = scheduled_workflow()
    with session_scope() as session:
        sync_workflow_schedules(session, session.get(Workflow, workflow_id), schedule_definition(disabled=True))
    assert schedules(workflow_id) == []


def test_remove_deletes_the_workflows_rows_only(scheduled_workflow):
    kept, removed = scheduled_workflow(name="kept"), scheduled_workflow(name="removed")
    with session_scope() as session:
        remove_workflow_schedules(session, removed)
    assert schedules(removed) == [] and len(schedules(kept)) == 1


def test_invalid_parameters_are_a_user_error_naming_the_node(scheduled_workflow):
    workflow_id = scheduled_workflow()
    broken = schedule_definition("0 * * * *", overlap_policy="sometimes")
    with session_scope() as session, pytest.raises(UserError, match="schedule node 'Every hour'.*overlap_policy"):
        sync_workflow_schedules(session, session.get(Workflow, workflow_id), broken)
