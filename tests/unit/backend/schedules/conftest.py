"""A migrated SQLite database with a team, and active workflows started by a Schedule trigger."""

from __future__ import annotations

from datetime import datetime

import pytest
from schedule_testkit import T0, schedule_definition

from backend.db import migrate
from backend.db.session import session_scope
from backend.schedules.service import sync_workflow_schedules
from backend.settings import get_settings
from backend.users.service import create_user
from backend.workflows.activation import activate
from backend.workflows.service import create_workflow, runnable_definition


@pytest.fixture
def team_id() -> str:
    migrate.upgrade(get_settings().database_url)
    with session_scope() as session:
        return create_user(session, email="scheduler@example.com", password="long enough")[1].id


@pytest.fixture
def scheduled_workflow(team_id):
    """scheduled_workflow("*/5 * * * *", misfire_policy="run_all") -> workflow id, activated at T0."""

    def make(cron: str = "0 * * * *", *, now: datetime = T0, name: str = "Hourly", **policies: str) -> str:
        with session_scope() as session:
            workflow = create_workflow(session, team_id=team_id, user_id=None, name=name,
                                       definition=schedule_definition(cron, **policies))
            activate(session, workflow, user_id=None)
            _, definition = runnable_definition(session, team_id, workflow.id)
            sync_workflow_schedules(session, workflow, definition, now=now)
            return workflow.id

    return make
