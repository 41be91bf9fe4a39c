"""Every operation of /api/v1/openapi.json, fuzzed by schemathesis as a signed-in team owner on
SQLite: whatever the input, never a 5xx, and every answer as the schema documents it
(api_fuzz_testkit says how). Plus the inputs that answered 500 before the fixes."""

from __future__ import annotations

import api_fuzz_testkit as kit
import pytest

from backend.app import create_app
from backend.db import migrate


@pytest.fixture(scope="module")
def database_url(tmp_path_factory) -> str:
    """One migrated database for the module: migrating once per operation would dominate the run."""
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'linkflow.db'}"
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="module")
def team(database_url) -> kit.FuzzTeam:
    return kit.make_team(database_url)


@pytest.fixture
def app(configure, database_url, inline_worker):
    configure(DATABASE_URL=database_url, **kit.NO_RATE_LIMITS)
    return create_app()


@pytest.fixture
def seeds(app, team) -> kit.Seeds:
    return kit.Seeds(app, team)


@kit.schema.parametrize()
@kit.SETTINGS
def test_no_operation_answers_a_server_error(case, app, seeds):
    kit.call_and_check(case, app, seeds)


@pytest.mark.parametrize(("method", "path", "query", "body", "status"), kit.REGRESSIONS,
                         ids=kit.REGRESSION_IDS)
def test_inputs_that_once_answered_500(seeds, method, path, query, body, status):
    response = kit.send(seeds, method, path, query, body)
    assert response.status_code == status, response.text
