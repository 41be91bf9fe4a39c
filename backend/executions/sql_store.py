"""The engine's StepStore on the execution_steps table: one commit per finished node."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlalchemy import delete, select

from backend.db.session import session_scope
from backend.engine.store import StepRecord
from backend.executions.models import ExecutionStep
from backend.settings import get_settings


class SqlStepStore:
    def __init__(self, execution_id: str) -> None:
        self.execution_id = execution_id
        settings = get_settings()
        self._inline_limit = settings.storage.inline_limit_bytes
        self._offload_dir = settings.storage_path / "executions" / execution_id

    async def load_steps(self) -> dict[tuple[str, int], StepRecord]:
        return await asyncio.to_thread(self._load)

    async def save_step(self, step: StepRecord) -> None:
        await asyncio.to_thread(self._save, step)

    def _load(self) -> dict[tuple[str, int], StepRecord]:
        with session_scope() as session:
            rows = session.scalars(select(ExecutionStep).where(ExecutionStep.execution_id == self.execution_id))
            records = [self._to_record(row) for row in rows]
        return {r.key: r for r in records}

    def _save(self, step: StepRecord) -> None:
        output, output_ref = self._maybe_offload(step, "output", step.output)
        step_input, input_ref = self._maybe_offload(step, "input", step.input)
        with session_scope() as session:
            session.execute(delete(ExecutionStep).where(
                ExecutionStep.execution_id == self.execution_id, ExecutionStep.node_id == step.node_id,
                ExecutionStep.run_index == step.run_index))
            session.add(ExecutionStep(
                execution_id=self.execution_id, node_id=step.node_id, node_name=step.node_name,
                run_index=step.run_index, status=step.status, attempts=step.attempts, input=step_input,
                input_ref=input_ref, output=output, output_ref=output_ref, error=step.error,
                started_at=step.started_at, finished_at=step.finished_at))

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
            attempts=row.attempts, input=_resolve(row.input, row.input_ref),
            output=_resolve(row.output, row.output_ref), error=row.error, started_at=row.started_at,
            finished_at=row.finished_at)


def _resolve(inline: dict | None, ref: str | None) -> dict:
    if ref:
        return json.loads(Path(ref).read_text())
    return inline or {}
