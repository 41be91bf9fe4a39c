"""The worker's hot path binds prebuilt statements: absent JSON values must still be SQL NULL."""

from __future__ import annotations

from sqlalchemy import text

from backend.db.session import get_engine
from tests.unit.backend.executions.test_executions_api import SIMPLE, chain, create_workflow, node, run


def _sql(query: str, **params) -> list:
    with get_engine().connect() as conn:
        return list(conn.execute(text(query), params))


def test_a_succeeded_execution_stores_sql_null_for_its_absent_error(api, api_user, inline_worker):
    owner = api_user("owner@example.com")
    execution_id = run(api, owner, create_workflow(api, owner, SIMPLE), {"n": 3})
    [row] = _sql("SELECT status, error IS NULL AS no_error, output IS NOT NULL AS has_output, finished_at, "
                 "lease_owner FROM executions WHERE id = :id", id=execution_id)
    assert row.status == "succeeded" and row.no_error and row.has_output
    assert row.finished_at is not None and row.lease_owner is None
    steps = _sql("SELECT node_name, status, error IS NULL AS no_error, output FROM execution_steps "
                 "WHERE execution_id = :id ORDER BY started_at", id=execution_id)
    assert [(s.node_name, s.status, s.no_error) for s in steps] == [("Start", "succeeded", True),
                                                                   ("Double", "succeeded", True)]
    assert '"doubled": 6' in steps[1].output


def test_a_failed_execution_stores_its_error_and_finish_time(api, api_user, inline_worker):
    owner = api_user("owner@example.com")
    failing = chain(node("t", "Start", "manual_trigger", 0), node("s", "Stop", "stop_and_error", 1, message="no"))
    execution_id = run(api, owner, create_workflow(api, owner, failing))
    [row] = _sql("SELECT status, error, finished_at FROM executions WHERE id = :id", id=execution_id)
    assert row.status == "failed" and "no" in row.error and row.finished_at is not None
