"""The engine's StepStore on the execution_steps table: one commit per finished node."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from backend.db.base import new_id
from backend.db.session import get_engine, session_scope
from backend.engine.store import StepRecord
from backend.executions.models import ExecutionStep
from backend.settings import get_settings


class SqlStepStore:
    def __init__(self, execution_id: str) -> None:
        self.execution_id = execution_id
        settings = get_settings()
        self._inline_limit = settings.storage.inline_limit_bytes
        self._offload_dir = offload_dir(execution_id)
        self._dialect = get_engine().dialect.name

    # Blocking calls on purpose: each execution runs on its own worker thread's event loop,
    # where nothing else waits, and a thread hop per step would cost more than the write.
    async def load_steps(self) -> dict[tuple[str, int], StepRecord]:
        return self._load()

    async def save_step(self, step: StepRecord) -> None:
        self._save(step)

    def _load(self) -> dict[tuple[str, int], StepRecord]:
        with session_scope() as session:
            rows = session.scalars(select(ExecutionStep).where(ExecutionStep.execution_id == self.execution_id))
            records = [self._to_record(row) for row in rows]
        return {r.key: r for r in records}

    def _save(self, step: StepRecord) -> None:
        output, output_ref = self._maybe_offload(step, "output", step.output)
        step_input, input_ref = self._maybe_offload(step, "input", step.input)
        values = {"status": step.status, "attempts": step.attempts, "input": step_input, "input_ref": input_ref,
                  "output": output, "output_ref": output_ref, "error": step.error,
                  "started_at": step.started_at, "finished_at": step.finished_at}
        # One upsert per step (a resumed waiting step replaces its row); Core, not the ORM, on this hot path.
        statement = _insert_for(self._dialect)(ExecutionStep).values(
            id=new_id(), execution_id=self.execution_id, node_id=step.node_id, node_name=step.node_name,
            run_index=step.run_index, **values)
        statement = statement.on_conflict_do_update(
            index_elements=["execution_id", "node_id", "run_index"], set_=values)
        with get_engine().begin() as conn:
            conn.execute(statement)

    def _maybe_offload(self, step: StepRecord, kind: str, data: dict) -> tuple[dict | None, str | None]:
        encoded = json.dumps(data, default=str)
        if len(encoded) <= self._inline_limit:
            return data, None
        self._offload_dir.mkdir(parents=True, exist_ok=True)
        path = self._offload_dir / f"{step.node_id}.{step.run_index}.{kind}.json"
        path.write_text(encoded)
        return None, str(path)

    def _to_record(self, row: ExecutionStep) -> StepRecord:
        return StepRecord(
            node_id=row.node_id, node_name=row.node_name, run_index=row.run_index, status=row.status,
            attempts=row.attempts, input=resolve_payload(row.input, row.input_ref),
            output=resolve_payload(row.output, row.output_ref), error=row.error, started_at=row.started_at,
            finished_at=row.finished_at)


def offload_dir(execution_id: str) -> Path:
    """Where step data too large to inline in the row is kept for one execution."""
    return get_settings().storage_path / "executions" / execution_id


def resolve_payload(inline: dict | None, ref: str | None) -> dict:
    if ref:
        return json.loads(Path(ref).read_text())
    return inline or {}


def _insert_for(dialect: str):
    return postgresql.insert if dialect == "postgresql" else sqlite.insert
