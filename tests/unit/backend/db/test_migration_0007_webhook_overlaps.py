"""Migration 0007: registrations that took another team's requests are removed on upgrade."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from backend.db import migrate
from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.settings import get_settings
from backend.users.service import create_user
from backend.webhooks.models import Webhook
from backend.workflows.models import Workflow


def active_workflow(session, team_id: str, name: str, method: str, path: str, age_s: int) -> str:
    workflow = Workflow(team_id=team_id, name=name, active=True, active_version_id="v" * 32)
    session.add(workflow)
    session.flush()
    session.add(Webhook(team_id=team_id, workflow_id=workflow.id, node_id="hook", method=method, path=path,
                        created_at=utcnow() - timedelta(seconds=age_s)))
    return workflow.id


def test_later_overlapping_registrations_of_another_team_are_deactivated():
    url = get_settings().database_url
    migrate.upgrade(url)  # the models are today's: seed at head, then go back to before 0007 with the rows
    with session_scope() as session:
        _, a = create_user(session, email="a@example.com", password="a long enough password")
        _, b = create_user(session, email="b@example.com", password="a long enough password")
        victim = active_workflow(session, a.id, "A orders", "GET", "orders/:id", age_s=100)
        exact = active_workflow(session, b.id, "B exact", "GET", "orders/42", age_s=50)
        wildcard = active_workflow(session, b.id, "B wildcard", "GET", ":a/:b", age_s=40)
        other_method = active_workflow(session, b.id, "B post", "POST", "orders/42", age_s=30)
        own_team = active_workflow(session, a.id, "A me", "GET", "orders/me", age_s=20)
        older_than_victim = active_workflow(session, b.id, "B first", "GET", "invoices/:id", age_s=200)
        later_a = active_workflow(session, a.id, "A invoices", "GET", "invoices/7", age_s=10)
    migrate.downgrade(url, "0006_sharing_heartbeats")
    migrate.upgrade(url)
    with session_scope() as session:
        registered = set(session.scalars(select(Webhook.workflow_id)))
        active = set(session.scalars(select(Workflow.id).where(Workflow.active.is_(True))))
    assert registered == active == {victim, other_method, own_team, older_than_victim}
    assert not {exact, wildcard, later_a} & active
    migrate.downgrade(url, "0006_sharing_heartbeats")  # restores nothing, fails on nothing
