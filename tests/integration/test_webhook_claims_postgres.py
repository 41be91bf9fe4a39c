"""Two teams activating overlapping webhook paths at the same instant, on real PostgreSQL.

Each activation is held just before it inserts its registration until the other one gets
there too (or 3 s pass). Without the registry lock both pass the overlap check first and
both succeed; with it the second waits for the first to commit, sees its path and is refused.
"""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from backend.db import migrate
from backend.db.base import utcnow
from backend.db.session import get_engine, session_scope
from backend.errors import Conflict
from backend.settings import get_settings
from backend.users.service import create_user
from backend.webhooks.models import Webhook
from backend.webhooks.service import invalidate_cache
from backend.workflows import activation
from backend.workflows.models import Workflow
from backend.workflows.service import save_version


def definition(path: str) -> dict:
    return {"nodes": [{"id": "hook", "name": "Webhook", "type": "webhook", "version": 1, "position": [0, 0],
                       "parameters": {"path": path, "method": "GET"}}], "connections": []}


@pytest.fixture
def database(postgres_url, configure):
    configure(DATABASE_URL=postgres_url)
    migrate.upgrade(get_settings().database_url)
    invalidate_cache()
    yield
    invalidate_cache()


def saved_workflow(email: str, path: str) -> str:
    with session_scope() as session:
        user, team = create_user(session, email=email, password="a long enough password")
        workflow = Workflow(team_id=team.id, name=f"{email} orders", created_by=user.id)
        session.add(workflow)
        session.flush()
        save_version(session, workflow, definition(path), user_id=user.id)
        return workflow.id


def activate_at_once(workflow_ids: list[str]) -> dict[str, str]:
    """Activate each workflow in its own thread and transaction; workflow id -> "active" or "refused"."""
    barrier = threading.Barrier(len(workflow_ids))

    def hold_before_insert(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO WEBHOOKS"):
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=3)

    outcomes: dict[str, str] = {}

    def activate(workflow_id: str) -> None:
        try:
            with session_scope() as session:
                activation.activate(session, session.get(Workflow, workflow_id), user_id=None)
            outcomes[workflow_id] = "active"
        except Conflict:
            outcomes[workflow_id] = "refused"

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", hold_before_insert)
    try:
        threads = [threading.Thread(target=activate, args=(workflow_id,)) for workflow_id in workflow_ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        event.remove(engine, "before_cursor_execute", hold_before_insert)
    return outcomes


@pytest.mark.parametrize(("first", "second"), [("orders/:id", "orders/:x"), ("orders/:id", "orders/42"),
                                               ("orders/42", "orders/:id")])
def test_only_one_of_two_concurrent_overlapping_activations_succeeds(database, first, second):
    a = saved_workflow("a@example.com", first)
    b = saved_workflow("b@example.com", second)
    outcomes = activate_at_once([a, b])
    assert sorted(outcomes.values()) == ["active", "refused"]
    with session_scope() as session:
        holders = session.scalars(select(Webhook.workflow_id)).all()
        active = session.scalars(select(Workflow.id).where(Workflow.active.is_(True))).all()
    winner = next(workflow_id for workflow_id, outcome in outcomes.items() if outcome == "active")
    assert holders == [winner] and active == [winner]


def test_concurrent_activations_of_paths_that_do_not_overlap_both_succeed(database):
    a = saved_workflow("a@example.com", "orders/:id")
    b = saved_workflow("b@example.com", "invoices/:id")
    assert activate_at_once([a, b]) == {a: "active", b: "active"}


def test_migration_0007_deactivates_registrations_that_took_another_teams_requests(postgres_url, configure):
    configure(DATABASE_URL=postgres_url)
    migrate.upgrade(postgres_url)  # the models are today's: seed at head, then go back to before 0007 with the rows
    with session_scope() as session:
        _, a = create_user(session, email="a@example.com", password="a long enough password")
        _, b = create_user(session, email="b@example.com", password="a long enough password")
        ids = {}
        for name, team, path, age_s in (("victim", a, "orders/:id", 100), ("intruder", b, "orders/42", 50),
                                        ("bystander", b, "invoices/:id", 40)):
            workflow = Workflow(team_id=team.id, name=name, active=True, active_version_id="v" * 32)
            session.add(workflow)
            session.flush()
            session.add(Webhook(team_id=team.id, workflow_id=workflow.id, node_id="hook", method="GET", path=path,
                                created_at=utcnow() - timedelta(seconds=age_s)))
            ids[name] = workflow.id
    migrate.downgrade(postgres_url, "0006_sharing_heartbeats")
    migrate.upgrade(postgres_url)
    with session_scope() as session:
        active = set(session.scalars(select(Workflow.id).where(Workflow.active.is_(True))))
        registered = set(session.scalars(select(Webhook.workflow_id)))
    assert active == registered == {ids["victim"], ids["bystander"]}
    migrate.downgrade(postgres_url, "0006_sharing_heartbeats")
