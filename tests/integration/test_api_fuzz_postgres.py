"""The schemathesis run of tests/unit/backend/test_api_fuzz.py on real PostgreSQL, which is
stricter than SQLite (NUL characters, NaN in JSONB, string lengths, integer ranges), with
fewer examples: never a 5xx there either."""

from __future__ import annotations

import pytest
from hypothesis import settings

from backend.app import create_app
from backend.db import migrate
from backend.executions import dispatch
from backend.executions.worker_runtime import execute
from tests.unit.backend import api_fuzz_testkit as kit


@pytest.fixture(scope="module")
def database_url(module_postgres_url) -> str:
    migrate.upgrade(module_postgres_url)
    return module_postgres_url


@pytest.fixture(scope="module")
def team(database_url) -> kit.FuzzTeam:
    return kit.make_team(database_url)


@pytest.fixture
def app(configure, database_url):
    configure(DATABASE_URL=database_url, **kit.NO_RATE_LIMITS)
    previous = dispatch._dispatcher
    # each run ends inside the request that starts it, like the unit tests' inline_worker
    dispatch.register(lambda execution_id: execute(execution_id, "fuzz-worker"))
    yield create_app()
    dispatch._dispatcher = previous


@pytest.fixture
def seeds(app, team) -> kit.Seeds:
    return kit.Seeds(app, team)


@kit.schema.parametrize()
@settings(kit.SETTINGS, max_examples=5)
def test_no_operation_answers_a_server_error_on_postgres(case, app, seeds):
    kit.call_and_check(case, app, seeds)


@pytest.mark.parametrize(("method", "path", "query", "body", "status"), kit.REGRESSIONS,
                         ids=kit.REGRESSION_IDS)
def test_inputs_that_once_answered_500_on_postgres(seeds, method, path, query, body, status):
    response = kit.send(seeds, method, path, query, body)
    assert response.status_code == status, response.text
