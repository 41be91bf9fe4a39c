"""The notification-rules consumer on a real database: execution events of a workflow become
notification.requested events in the outbox, per the team's rules; a redelivered event changes nothing;
manual runs, other workflows' rules and disabled rules stay quiet."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from backend.db.session import session_scope
from backend.events.models import OutboxEvent
from backend.executions import service as executions
from backend.executions.models import Execution, ExecutionStatus
from backend.notifications.evaluator import evaluate, evaluate_batch

URL = "/api/v1/notifications"


def run(team_id: str, workflow_id: str, status: str, mode: str = "webhook") -> dict:
    """A run the engine finishes with `status`; the execution event that tells it."""
    with session_scope() as session:
        execution_id = executions.create_execution(session, team_id=team_id, definition={}, mode=mode,
                                                   workflow_id=workflow_id).id
    with session_scope() as session:
        assert executions.claim(session, execution_id, "worker-1") is not None
        assert executions.finish(session, execution_id, "worker-1", status=status,
                                 error={"message": "boom"} if status == ExecutionStatus.FAILED else None)
    return {"type": f"execution.{status}", "execution_id": execution_id, "workflow_id": workflow_id,
            "team_id": team_id, "mode": mode, "status": status,
            "error": {"message": "boom"} if status == ExecutionStatus.FAILED else None}


def requested() -> list[dict]:
    with session_scope() as session:
        return [row.payload for row in session.scalars(select(OutboxEvent).where(
            OutboxEvent.topic == "notification.events").order_by(OutboxEvent.id))]


def setup(api, who) -> tuple[str, str, str]:
    workflow = api.post("/api/v1/workflows", json={"name": "Orders", "definition": {"nodes": [], "connections": []}},
                        headers=who.headers).json()["id"]
    other = api.post("/api/v1/workflows", json={"name": "Other", "definition": {"nodes": [], "connections": []}},
                     headers=who.headers).json()["id"]
    bell = api.post(f"{URL}/channels", json={"name": "Bell", "kind": "in_app"}, headers=who.headers).json()["id"]
    return workflow, other, bell


def rule(api, who, **body) -> str:
    created = api.post(f"{URL}/rules", json={"name": body.get("trigger", "r"), **body}, headers=who.headers)
    assert created.status_code == 201, created.text
    return created.json()["id"]


def test_failures_and_recovery_become_requests_once(api, api_user):
    ada = api_user("ada@example.com")
    workflow, other, bell = setup(api, ada)
    rule(api, ada, channel_id=bell, trigger="failure", workflow_id=workflow)
    rule(api, ada, channel_id=bell, trigger="recovery")  # every workflow of the team
    disabled = rule(api, ada, channel_id=bell, trigger="failure", workflow_id=workflow)
    api.patch(f"{URL}/rules/{disabled}", json={"enabled": False}, headers=ada.headers)
    rule(api, ada, channel_id=bell, trigger="failure", workflow_id=other)

    first = run(ada.team_id, workflow, ExecutionStatus.FAILED)
    assert evaluate(first) == 1
    assert evaluate(first) == 0  # redelivered
    assert evaluate(run(ada.team_id, workflow, ExecutionStatus.FAILED)) == 0  # same burst: counted
    assert evaluate(run(ada.team_id, workflow, ExecutionStatus.FAILED, mode="manual")) == 0  # editor run
    success = run(ada.team_id, workflow, ExecutionStatus.SUCCEEDED)
    assert evaluate(success) == 2  # the recovery, and the failure rule's held-back count
    assert evaluate(success) == 0

    titles = sorted((p["kind"], p["title"], p["count"]) for p in requested())
    assert titles == [("rule.failure", '1 more failure of "Orders" in the last 1 min, then a run succeeded', 1),
                      ("rule.failure", 'Workflow "Orders" failed', 1),
                      ("rule.recovery", 'Workflow "Orders" recovered after 2 failures', 2)]
    payload = requested()[0]
    assert payload["execution_id"] == first["execution_id"] and payload["channel_id"] == bell
    assert "boom" in payload["body"] and payload["link"].endswith(f"/executions/{first['execution_id']}")


def test_long_runs_and_error_workflows(api, api_user):
    ada = api_user("ada@example.com")
    workflow, _, bell = setup(api, ada)
    rule(api, ada, channel_id=bell, trigger="long_run", threshold_s=3600, workflow_id=workflow)
    rule(api, ada, channel_id=bell, trigger="error_workflow", workflow_id=workflow)
    assert evaluate(run(ada.team_id, workflow, ExecutionStatus.SUCCEEDED)) == 0  # far below an hour
    slow = run(ada.team_id, workflow, ExecutionStatus.SUCCEEDED)
    with session_scope() as session:  # it started two hours before it finished
        execution = session.get(Execution, slow["execution_id"])
        execution.started_at = execution.finished_at - timedelta(hours=2)
    assert evaluate(slow) == 1
    with session_scope() as session:
        execution_id = executions.create_execution(session, team_id=ada.team_id, definition={}, mode="error",
                                                   workflow_id=workflow).id
    queued = {"type": "execution.queued", "execution_id": execution_id, "workflow_id": workflow,
              "team_id": ada.team_id, "mode": "error", "status": "queued"}
    assert evaluate(queued) == 1
    assert [p["title"] for p in requested()] == ['A run of "Orders" took longer than 3600 s',
                                                 'Error workflow "Orders" fired']
    assert "took 7200.0 s" in requested()[0]["body"]


def test_the_bookkeeping_is_pruned_after_keep_days(api, api_user, configure):
    from datetime import timedelta

    from backend.db.base import utcnow
    from backend.notifications.models import NotificationDelivery, NotificationSeen
    from backend.notifications.retention import prune

    configure(NOTIFICATIONS_KEEP_DAYS="7")
    ada = api_user("ada@example.com")
    workflow, _, bell = setup(api, ada)
    rule(api, ada, channel_id=bell, trigger="failure", workflow_id=workflow)
    assert evaluate(run(ada.team_id, workflow, ExecutionStatus.FAILED)) == 1
    assert prune(utcnow() + timedelta(days=6)) == 0
    assert prune(utcnow() + timedelta(days=8)) == 2  # the evaluated event and its delivery
    with session_scope() as session:
        assert session.scalars(select(NotificationSeen)).all() == []
        assert session.scalars(select(NotificationDelivery)).all() == []


def test_a_batch_evaluates_only_the_events_of_teams_with_enabled_rules_in_order(api, api_user):
    """The consumer's batch path (Kafka fetches, and the in-memory bus in embedded mode): one query finds the
    teams with rules; another team's events and a team whose only rule is disabled are skipped."""
    ada, bob, cy = api_user("ada@example.com"), api_user("bob@example.com"), api_user("cy@example.com")
    workflow, _, bell = setup(api, ada)
    rule(api, ada, channel_id=bell, trigger="failure", workflow_id=workflow)
    rule(api, ada, channel_id=bell, trigger="recovery")
    bobs, _, bobs_bell = setup(api, bob)
    cys, _, cys_bell = setup(api, cy)
    off = rule(api, cy, channel_id=cys_bell, trigger="failure")
    api.patch(f"{URL}/rules/{off}", json={"enabled": False}, headers=cy.headers)

    failed = run(ada.team_id, workflow, ExecutionStatus.FAILED)
    batch = [failed, run(bob.team_id, bobs, ExecutionStatus.FAILED), run(cy.team_id, cys, ExecutionStatus.FAILED),
             run(ada.team_id, workflow, ExecutionStatus.SUCCEEDED), failed]  # the last: redelivered
    assert evaluate_batch(batch) == 2  # ada's failure, then her recovery (in the batch's order)
    assert sorted(p["kind"] for p in requested()) == ["rule.failure", "rule.recovery"]
    assert {p["team_id"] for p in requested()} == {ada.team_id}
    assert evaluate_batch(batch) == 0  # the whole batch again: nothing twice
