"""Fixtures of the webhook tests: a team, workflows activated (which registers their
webhooks), and a slow local HTTP server for runs that take a while."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from webhook_testkit import SlowServer, Team

from backend.db.session import session_scope
from backend.users.service import create_user
from backend.webhooks import listeners
from backend.webhooks.service import (
    invalidate_cache,
)
from backend.workflows import activation
from backend.workflows.models import Workflow
from backend.workflows.service import save_version


@pytest.fixture(autouse=True)
def fresh_registry():
    """Each test has its own database: nothing cached in the process may outlive it."""
    invalidate_cache()
    listeners.stop_listening_all()
    yield
    invalidate_cache()
    listeners.stop_listening_all()


@pytest.fixture
def team(api) -> Team:
    with session_scope() as session:
        user, own_team = create_user(session, email="hooks@example.com", password="a long enough password")
        return Team(own_team.id, user.id)


@pytest.fixture
def deploy(team) -> Callable[..., str]:
    """deploy(definition, name=...) saves and activates a workflow (activation registers its webhooks)."""

    def make(definition: dict, *, name: str = "Orders") -> str:
        with session_scope() as session:
            workflow = Workflow(team_id=team.team_id, name=name, created_by=team.user_id)
            session.add(workflow)
            session.flush()
            save_version(session, workflow, definition, user_id=team.user_id)
            activation.activate(session, workflow, user_id=team.user_id)
            return workflow.id

    return make


@pytest.fixture
def undeploy(team) -> Callable[[str], None]:
    def stop(workflow_id: str) -> None:
        with session_scope() as session:
            activation.deactivate(session, session.get(Workflow, workflow_id), user_id=team.user_id)

    return stop


@pytest.fixture
def slow_server(configure):
    configure(HTTP_ALLOW_PRIVATE="true")  # the HTTP Request node may call 127.0.0.1 in these tests
    servers: list[SlowServer] = []

    def start(delay_s: float) -> SlowServer:
        servers.append(SlowServer(delay_s))
        return servers[-1]

    yield start
    for server in servers:
        server.server.shutdown()
        server.server.server_close()
