"""Two overlapping activations at the same instant on SQLite: one wins, the other is refused.

The PostgreSQL twin (advisory lock) is tests/integration/test_webhook_claims_postgres.py.
Each activation is held just before it inserts its registration until the other one gets
there too (or 3 s pass): only one may have passed the overlap check by then.
"""

from __future__ import annotations

import contextlib
import threading

from sqlalchemy import event, select
from webhook_testkit import flow, hook

from backend.db.session import get_engine, session_scope
from backend.errors import Conflict
from backend.users.service import create_user
from backend.webhooks.models import Webhook
from backend.workflows import activation
from backend.workflows.models import Workflow
from backend.workflows.service import save_version


def saved_workflow(email: str, path: str) -> str:
    with session_scope() as session:
        user, team = create_user(session, email=email, password="a long enough password")
        workflow = Workflow(team_id=team.id, name=email, created_by=user.id)
        session.add(workflow)
        session.flush()
        save_version(session, workflow, flow(hook(path, method="GET")), user_id=user.id)
        return workflow.id


def test_only_one_of_two_concurrent_overlapping_activations_succeeds(api):
    ids = [saved_workflow("a@example.com", "orders/:id"), saved_workflow("b@example.com", "orders/42")]
    barrier, outcomes = threading.Barrier(2), {}

    def hold_before_insert(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO WEBHOOKS"):
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=3)

    def activate(workflow_id: str) -> None:
        try:
            with session_scope() as session:
                activation.activate(session, session.get(Workflow, workflow_id), user_id=None)
            outcomes[workflow_id] = "active"
        except Conflict:
            outcomes[workflow_id] = "refused"

    event.listen(get_engine(), "before_cursor_execute", hold_before_insert)
    try:
        threads = [threading.Thread(target=activate, args=(workflow_id,)) for workflow_id in ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        event.remove(get_engine(), "before_cursor_execute", hold_before_insert)
    assert sorted(outcomes.values()) == ["active", "refused"]
    with session_scope() as session:
        assert session.scalars(select(Webhook.workflow_id)).all() == [
            next(i for i, outcome in outcomes.items() if outcome == "active")]
