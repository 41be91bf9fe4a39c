"""Executions at chosen times, with chosen outcomes, for the history, stats and bulk tests
(unit tests on SQLite and integration tests on PostgreSQL import this module)."""

from __future__ import annotations

from datetime import datetime, timedelta

from backend.db.session import session_scope
from backend.executions.models import Execution, ExecutionStep
from backend.workflows.models import Workflow

DEFINITION = {"nodes": [{"id": "t", "name": "Start", "type": "manual_trigger", "version": 1, "position": [0, 0]}],
              "connections": []}


def add_workflow(team_id: str, name: str) -> str:
    with session_scope() as session:
        workflow = Workflow(team_id=team_id, name=name)
        session.add(workflow)
        session.flush()
        return workflow.id


def add_execution(team_id: str, *, workflow_id: str | None = None, status: str = "succeeded",
                  mode: str = "manual", created_at: datetime, duration_ms: int | None = 100,
                  failed_node: str | None = None, input_items: list | None = None,
                  step_output: dict | None = None) -> str:
    """A row as a worker would have left it; ``failed_node`` adds that node's failed step."""
    started = created_at if status not in ("queued",) else None
    finished = (created_at + timedelta(milliseconds=duration_ms)
                if status in ("succeeded", "failed", "cancelled") and duration_ms is not None else None)
    with session_scope() as session:
        execution = Execution(team_id=team_id, workflow_id=workflow_id, definition=DEFINITION, status=status,
                              mode=mode, input=input_items or [], created_at=created_at, started_at=started,
                              finished_at=finished,
                              error={"node": failed_node, "message": "boom"} if failed_node else None)
        session.add(execution)
        session.flush()
        session.add(ExecutionStep(execution_id=execution.id, node_id="t", node_name="Start", status="succeeded",
                                  input={}, output=step_output or {"main": input_items or []},
                                  started_at=created_at, finished_at=finished or created_at))
        if failed_node:
            session.add(ExecutionStep(execution_id=execution.id, node_id=failed_node.lower(), node_name=failed_node,
                                      status="failed", input={}, output={}, error={"message": "boom"},
                                      started_at=created_at, finished_at=finished or created_at))
        return execution.id


def seed_day(team_id: str, base):
    """Hour 0: 3 successes (100/200/300 ms) and a failure at Fetch (1000 ms); hour 2: Orders fails twice
    at Fetch (400, 500 ms) and Billing once at Parse (600 ms); hour 3: one still queued."""
    orders, billing = add_workflow(team_id, "Orders"), add_workflow(team_id, "Billing")
    for minute, ms in ((1, 100), (2, 200), (3, 300)):
        add_execution(team_id, workflow_id=orders, created_at=base + timedelta(minutes=minute), duration_ms=ms)
    add_execution(team_id, workflow_id=orders, status="failed", created_at=base + timedelta(minutes=50),
                  duration_ms=1000, failed_node="Fetch")
    for minute, ms in ((125, 400), (130, 500)):
        add_execution(team_id, workflow_id=orders, status="failed", created_at=base + timedelta(minutes=minute),
                      duration_ms=ms, failed_node="Fetch")
    add_execution(team_id, workflow_id=billing, status="failed", created_at=base + timedelta(minutes=170),
                  duration_ms=600, failed_node="Parse")
    add_execution(team_id, workflow_id=billing, status="queued", created_at=base + timedelta(minutes=200))
    return orders, billing
