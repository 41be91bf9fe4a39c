"""Step data read back from storage (the row, or the file it was offloaded to) is held to the
same limits as data that arrives: damaged or too-deep data is shown as missing, and an execution
whose recorded steps cannot be read fails after the attempt limit instead of crashing workers."""

from __future__ import annotations

from datetime import UTC, datetime

from executions_testkit import add_execution
from sqlalchemy import update

from backend.db.session import session_scope
from backend.executions import worker_runtime
from backend.executions.models import Execution, ExecutionStep
from backend.executions.reaper import due_executions


def offload(execution_id: str, tmp_path, text: str) -> None:
    path = tmp_path / "step.output.json"
    path.write_text(text)
    with session_scope() as session:
        session.execute(update(ExecutionStep).where(ExecutionStep.execution_id == execution_id)
                        .values(output=None, output_ref=str(path)))


def test_offloaded_data_nested_too_deeply_shows_as_missing(api, api_user, tmp_path):
    user = api_user("owner@example.com")
    execution_id = add_execution(user.team_id, created_at=datetime.now(UTC))
    offload(execution_id, tmp_path, "[" * 5_000 + "]" * 5_000)
    answer = api.get(f"/api/v1/executions/{execution_id}", headers=user.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["steps"][0]["output"] is None


def test_a_worker_that_cannot_read_the_recorded_steps_gives_up_after_the_limit(api, api_user, tmp_path,
                                                                               configure):
    configure(EXECUTIONS_MAX_ATTEMPTS="2")
    user = api_user("owner@example.com")
    execution_id = add_execution(user.team_id, status="queued", created_at=datetime.now(UTC))
    offload(execution_id, tmp_path, "[" * 5_000 + "]" * 5_000)
    for attempt in range(3):
        worker_runtime.execute(execution_id, f"worker-{attempt}")
        with session_scope() as session:
            session.execute(update(Execution).where(Execution.id == execution_id)
                            .values(lease_expires_at=datetime.now(UTC)))
        due_executions()
    with session_scope() as session:
        final = session.get(Execution, execution_id)
    assert final.status == "failed"
    assert final.error["message"].startswith("gave up after 2 attempts: the worker running it stopped or crashed "
                                             "each time; last error: TooDeep: the step data in ")
    assert final.error["message"].endswith("is nested 5,000 levels deep; at most 243 levels are accepted")
