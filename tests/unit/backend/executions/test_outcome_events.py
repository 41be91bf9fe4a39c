"""What a run's outcome tells the event topics, in the transaction that records it: its status (with a
cut error), its node results and its usage fact. An error of any size never keeps the outcome out."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.db import migrate
from backend.db.session import session_scope
from backend.engine.runner import RunResult
from backend.engine.store import StepRecord
from backend.events import outbox as outbox_module
from backend.events import schemas
from backend.events.models import OutboxEvent
from backend.events.packed import unpack
from backend.events.topics import TOPICS
from backend.executions import service
from backend.executions.models import Execution
from backend.settings import get_settings
from backend.users.service import create_user


@pytest.fixture(autouse=True)
def every_topic_read(monkeypatch):
    """As on Kafka, where consumers outside LinkFlow may read any topic (node results among them): every topic
    is written. On the in-process bus no consumer reads node results (tests/unit/backend/webhooks/
    test_webhook_events.py)."""
    monkeypatch.setattr(outbox_module, "_read_topics", lambda: frozenset(TOPICS))


@pytest.fixture
def execution_id() -> str:
    migrate.upgrade(get_settings().database_url)
    with session_scope() as session:
        _, team = create_user(session, email="facts@example.com", password="long enough password")
        execution = service.create_execution(session, team_id=team.id, definition={"nodes": []}, mode="manual")
        assert service.claim(session, execution.id, "w1") is not None
        return execution.id


def events(execution_id: str) -> dict[str, dict]:
    """The events about this execution (it has no workflow: the facts are keyed by its id too)."""
    with session_scope() as session:
        rows = session.scalars(select(OutboxEvent).where(OutboxEvent.key == execution_id).order_by(OutboxEvent.id))
        return {row.payload["type"]: schemas.validate(row.topic, row.key, unpack(row.payload)) for row in rows}


def test_a_huge_error_is_kept_whole_on_the_row_and_cut_in_the_events(execution_id):
    message = "the partner API answered: " + "x" * 200_000
    error = {"node": "Call", "message": message, "item_index": None, "trace": "y" * 50_000}
    step = StepRecord("call", "Call", 0, "failed", attempts=1, input={"main": [{"json": {}}] * 3},
                      error={"message": message, "type": "NodeError"})
    result = RunResult("failed", error=error, last_steps=[step])
    with session_scope() as session:
        assert service.finish(session, execution_id, "w1", status="failed", error=error, result=result)
    with session_scope() as session:
        assert session.get(Execution, execution_id).error["message"] == message
    by_type = events(execution_id)
    assert set(by_type) == {"execution.queued", "execution.failed", "nodes.finished", "usage.executions"}
    failed = by_type["execution.failed"]
    assert failed.error == {"node": "Call", "message": message[:2000], "item_index": None}
    [run] = by_type["nodes.finished"].runs
    [node] = run.nodes
    assert (node.status, node.items_in, node.items_out, len(node.error)) == ("failed", 3, 0, 500)
    [usage] = by_type["usage.executions"].executions
    assert (usage.status, usage.mode, usage.failed_node, usage.nodes) == ("failed", "manual", "Call", 1)
    assert usage.duration_ms is not None and usage.duration_ms >= 0


def test_a_waiting_run_reports_its_nodes_but_no_usage_yet(execution_id):
    step = StepRecord("wait", "Wait", 0, "waiting", attempts=1)
    with session_scope() as session:
        assert service.finish(session, execution_id, "w1", status="waiting",
                              result=RunResult("waiting", last_steps=[step]))
    assert set(events(execution_id)) == {"execution.queued", "execution.waiting", "nodes.finished"}


def test_cancel_and_retry_are_recorded_on_execution_commands(execution_id):
    from backend.executions import control

    with session_scope() as session:
        control.cancel_execution(session, session.get(Execution, execution_id))
    with session_scope() as session:
        retry = control.retry_execution(session, session.get(Execution, execution_id))
        retry_id = retry.id
    with session_scope() as session:
        commands = [(row.key, row.payload["command"]) for row in session.scalars(
            select(OutboxEvent).where(OutboxEvent.topic == "execution.commands").order_by(OutboxEvent.id))]
    assert commands == [(execution_id, "cancel"), (execution_id, "retry")]
    assert retry_id != execution_id
