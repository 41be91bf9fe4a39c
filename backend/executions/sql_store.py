"""The engine's StepStore on the execution_steps table: one commit per finished node.

A *waiting* step is the exception: it is not committed on its own but held (``parked``) and
written by ``write_parked`` in the transaction that marks the execution waiting (see
``record_outcome``). Committed apart, a worker that died between the two commits left a
waiting step under a running execution; the reaper handed it on, and the next attempt took
the committed waiting step for a resumed one and ended the wait early. Now either both are
committed or neither is, and a run that never parked runs its Wait node again.
"""

from __future__ import annotations

import asyncio
import weakref
from pathlib import Path

from sqlalchemy import Connection, Insert, Text, bindparam, cast, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB

from backend import json_limits
from backend.db.base import new_id
from backend.db.failures import refusal, unavailable
from backend.db.group_commit import GroupCommit, per_loop
from backend.db.session import get_engine, write_transaction
from backend.engine.items import revive, storable
from backend.engine.store import StepNotStored, StepRecord
from backend.executions.models import ExecutionStep
from backend.settings import get_settings
from backend.storage import keys
from backend.storage.ports import read_all
from backend.storage.service import get_storage
from backend.storage.spill import StorageItemSpill


class SqlStepStore:
    def __init__(self, execution_id: str, team_id: str,
                 preloaded: dict[tuple[str, int], StepRecord] | None = None) -> None:
        self.execution_id, self.team_id = execution_id, team_id
        self._preloaded = preloaded  # steps the caller already read (in its claim transaction)
        self._inline_limit = get_settings().storage.inline_limit_bytes
        self._dialect = get_engine().dialect.name
        self.parked: dict | None = None  # the waiting step's row, written with the execution's outcome

    async def load_steps(self) -> dict[tuple[str, int], StepRecord]:
        if self._preloaded is not None:
            steps, self._preloaded = self._preloaded, None
        else:
            steps = self._load()
        spill = StorageItemSpill(get_storage(), self.team_id, self.execution_id)
        for step in steps.values():  # spilled ports are read from storage again, a batch at a time
            step.input, step.output = revive(step.input, spill), revive(step.output, spill)
        return steps

    async def save_step(self, step: StepRecord) -> None:
        try:
            if step.status == "waiting":
                self.parked = self._params(step)  # encoded now: data that cannot be stored fails the node
            else:
                await self._save(step)
        except Exception as exc:
            if unavailable(exc):
                raise  # the next attempt (another worker, through the reaper) stores it
            raise StepNotStored(refusal(exc)) from exc

    async def before_effects(self) -> None:
        return None  # every step is committed: the execution has its row already

    def write_parked(self, conn: Connection) -> None:
        """Write the waiting step, in the caller's transaction that records the execution as waiting (kept:
        should that transaction fail, the outcome is written again, the waiting step with it)."""
        if self.parked is not None:
            conn.execute(_upsert(self._dialect), self.parked)

    def _load(self) -> dict[tuple[str, int], StepRecord]:
        with get_engine().connect() as conn:
            return load_steps(conn, self.execution_id)

    async def _save(self, step: StepRecord) -> None:
        """Commit ``step``'s row, in one transaction with the other steps due on this event loop."""
        await per_loop(_step_writers, _step_writer).save(self._params(step))

    def _params(self, step: StepRecord) -> dict:
        output, output_ref = self._maybe_offload(step, "output", _output_text(step))
        step_input, input_ref = self._maybe_offload(step, "input", encode(storable(step.input)))
        error = None if step.error is None else encode(step.error)
        return {
            "id": new_id(),
            "execution_id": self.execution_id,
            "node_id": step.node_id,
            "node_name": step.node_name,
            "run_index": step.run_index,
            "status": step.status,
            "attempts": step.attempts,
            "input": step_input,
            "input_ref": input_ref,
            "output": output,
            "output_ref": output_ref,
            "error": error,
            "started_at": step.started_at,
            "finished_at": step.finished_at,
        }

    def _maybe_offload(self, step: StepRecord, kind: str, encoded: str) -> tuple[str | None, str | None]:
        """The text for the row, or None and the object it went to (encoded once, bound as text)."""
        if len(encoded) <= self._inline_limit:
            return encoded, None
        return None, offload_step(self.team_id, self.execution_id, step, kind, encoded)


# A worker runs up to LINKFLOW_QUEUE_CONCURRENCY executions on each of its event loops, and a step is
# written in the loop itself (a thread hop per step cost more than the write): the steps that finish
# in one loop iteration share a transaction, so one commit's wait blocks the loop once for all of them,
# not once each. Each execution still waits for its step's commit before its next node starts.
_step_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GroupCommit] = weakref.WeakKeyDictionary()


def _step_writer(_loop: asyncio.AbstractEventLoop) -> GroupCommit:
    return GroupCommit(_write_steps)


def _write_steps(rows: list[dict]) -> None:
    with write_transaction() as conn:
        conn.execute(_upsert(get_engine().dialect.name), rows)


def offload_step(team_id: str, execution_id: str, step: StepRecord, kind: str, encoded: str) -> str:
    """Store step data too large for its row; the reference the row keeps (``storage:<key>``)."""
    key = keys.step_key(team_id, execution_id, step.node_id, step.run_index, kind)
    get_storage().put(key, encoded.encode())
    return keys.STEP_REF_SCHEME + key


def encode(value: object) -> str:
    """Strict JSON text: NaN, Infinity and non-JSON objects raise instead of being written."""
    return json_limits.strict_text(value)


def _output_text(step: StepRecord) -> str:
    """``encode(step.output)``, put together from the text the engine made when it checked the items."""
    texts = step.encoded_output
    if not texts or any(port not in texts for port in step.output):
        return encode(storable(step.output))
    return "{" + ", ".join(f"{encode(port)}: {texts[port]}" for port in step.output) + "}"


def load_steps(conn: Connection, execution_id: str) -> dict[tuple[str, int], StepRecord]:
    """The recorded steps of an execution, by (node id, run index)."""
    steps = load_steps_many(conn, [execution_id])[execution_id]
    if isinstance(steps, Exception):
        raise steps
    return steps


def load_steps_many(conn: Connection, execution_ids: list[str]) -> dict[str, dict[tuple[str, int], StepRecord] | Exception]:
    """``load_steps`` for several executions in one query; an execution whose steps cannot be read (their data
    gone from storage, or not what we write) maps to that error instead, and the others are still read."""
    loaded: dict[str, dict[tuple[str, int], StepRecord] | Exception] = {i: {} for i in execution_ids}
    for row in conn.execute(_SELECT_STEPS_MANY, {"p_ids": execution_ids}):
        steps = loaded[row.execution_id]
        if isinstance(steps, Exception):
            continue
        try:
            record = _to_record(row)
        except Exception as exc:
            if unavailable(exc):
                raise
            loaded[row.execution_id] = exc
        else:
            steps[record.key] = record
    return loaded


def _to_record(row) -> StepRecord:
    return StepRecord(
        node_id=row.node_id,
        node_name=row.node_name,
        run_index=row.run_index,
        status=row.status,
        attempts=row.attempts,
        input=resolve_payload(row.input, row.input_ref),
        output=resolve_payload(row.output, row.output_ref),
        error=row.error,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def resolve_payload(inline: dict | None, ref: str | None) -> dict:
    """Step data, from the row or from storage; ValueError if the object holds no data we would write,
    ``ObjectMissing``/``OSError`` if it is gone."""
    if ref:
        return json_limits.loads(read_step_ref(ref), limit=STEP_DATA_DEPTH, what=f"the step data in {ref}")
    return inline or {}


def read_step_ref(ref: str) -> str:
    if ref.startswith(keys.STEP_REF_SCHEME):
        return read_all(get_storage(), ref.removeprefix(keys.STEP_REF_SCHEME)).decode()
    return Path(ref).read_text()  # a row written before the storage service: a file path


STEP_DATA_DEPTH = json_limits.MAX_ITEM_DEPTH + 3  # {port: [{"json": ...}]}


_STEPS = ExecutionStep.__table__
_SELECT_STEPS_MANY = select(_STEPS).where(_STEPS.c.execution_id.in_(bindparam("p_ids", expanding=True)))
_UPSERTS: dict[str, Insert] = {}
_UPDATED = (
    "status",
    "attempts",
    "input",
    "input_ref",
    "output",
    "output_ref",
    "error",
    "started_at",
    "finished_at",
)
_JSON_COLUMNS = ("input", "output", "error")


def _json_text(name: str, dialect: str):
    text = bindparam(name, type_=Text)
    return cast(text, JSONB) if dialect == "postgresql" else text


def _upsert(dialect: str) -> Insert:
    """One upsert per step (a resumed waiting step replaces its row), built once per dialect.

    Core, not the ORM, on this hot path; only the parameters change per call. JSON columns are
    bound as text encoded once by ``_save`` (a CAST to JSONB on PostgreSQL); None is SQL NULL.
    """
    statement = _UPSERTS.get(dialect)
    if statement is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        values = {c.name: _json_text(c.name, dialect) if c.name in _JSON_COLUMNS else bindparam(c.name, type_=c.type)
                  for c in _STEPS.columns}
        statement = insert(_STEPS).values(**values)
        statement = _UPSERTS[dialect] = statement.on_conflict_do_update(
            index_elements=["execution_id", "node_id", "run_index"],
            set_={name: statement.excluded[name] for name in _UPDATED},
        )
    return statement
