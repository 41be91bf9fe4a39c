"""Saving a webhook run that finished in memory: row, steps and event in one transaction.

A run that had to be recorded before a node with side effects ran (``write_recorded``: its row,
running and leased to this process) is finished like a worker finishes one: ``service.finish``
under the lease, then its steps, in the same shared transaction.

Hot path: Core bulk inserts with statements built once, and JSON columns bound as text
that is serialised once per value (the definition once per workflow version; step data
once, for both the inline-size check and the row), instead of once per bind by the JSON
type. PostgreSQL gets a CAST to JSONB; SQLite stores JSON as text anyway. Python None is
stored as JSON null, as the JSON column type does.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import random
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime
from json.encoder import c_make_encoder, encode_basestring_ascii

from sqlalchemy import Insert, Text, bindparam, cast, insert
from sqlalchemy.dialects.postgresql import JSONB

from backend.db.base import utcnow
from backend.db.fast_insert import bulk_insert, insert_on_driver
from backend.db.session import driver_transaction, get_engine
from backend.engine.items import storable
from backend.engine.runner import RunResult
from backend.engine.store import StepRecord
from backend.events.models import OutboxEvent
from backend.events.outbox import outbox_row
from backend.events.packed import MAX_SPLIT, OUTCOMES, PACKED, outcome_entry, outcome_event
from backend.executions import service
from backend.executions.facts import RunFacts, event_error, fact_rows, run_facts
from backend.executions.models import Execution, ExecutionStep
from backend.executions.models import ExecutionStatus as S
from backend.executions.sql_store import offload_step
from backend.settings import get_settings

log = logging.getLogger("linkflow.webhooks")
WEB_WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:web"  # the lease owner of runs this web process holds
EXECUTION_JSON = ("definition", "input", "output", "error")
STEP_JSON = ("input", "output", "error")


def ordered_id() -> str:
    """A 32-hex-digit id like ``new_id``'s that sorts by creation time (48 bits of ms, 80 random).

    Random ids scatter each batch of inserts over every leaf page of every index they are
    in (executions, steps and their execution_id indexes); ids in time order append at the
    right edge, so a commit writes a few pages instead of a few hundred. The 80 bits come from a
    generator seeded once from the system's randomness: they only have to be unique (an id grants
    nothing), and a getrandom system call per id was 12 % of the request loop's time (py-spy).
    """
    return f"{(time.time_ns() // 1_000_000) << 80 | _bits(80):032x}"


_rng = random.Random(os.urandom(32))
_bits = _rng.getrandbits
# A forked child (uvicorn or Dramatiq worker processes) would otherwise draw the same ids as its parent.
os.register_at_fork(after_in_child=lambda: _rng.seed(os.urandom(32)))


# json.dumps(value, default=str), with its C encoder built once (json.dumps builds one per call)
_C_ENCODER = c_make_encoder and c_make_encoder(None, str, encode_basestring_ascii, None, ": ", ", ", False, False,
                                               True)
_encode = json.JSONEncoder(default=str, check_circular=False).encode


def dumps(value: object) -> str:
    if _C_ENCODER is None:
        return _encode(value)
    return "".join(_C_ENCODER(value, 0))


class JsonOnce:
    """Serialises each list of items once per run, the same text ``dumps`` would give.

    The engine passes one step's output list on, as it is, as the next step's input (and
    the trigger's input list is the execution's input), so one list shows up in several
    columns; the memo is keyed by identity and lives only while one run's rows are built.
    """

    def __init__(self) -> None:
        self._texts: dict[int, tuple[list, str]] = {}

    def __call__(self, value: object) -> str:
        if value is None:
            return "null"
        if isinstance(value, list):
            return self._items(value)
        if isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, list) for k, v in value.items()):
            return "{" + ", ".join(f"{encode_basestring_ascii(k)}: {self._items(v)}" for k, v in value.items()) + "}"
        return dumps(value)

    def _items(self, items: list) -> str:
        known = self._texts.get(id(items))
        if known is None or known[0] is not items:
            known = self._texts[id(items)] = (items, dumps(items))
        return known[1]


@dataclass(slots=True)
class RunDraft:
    """What an execution row needs, known before the run starts."""

    id: str
    team_id: str
    workflow_id: str | None
    version_id: str | None
    definition_json: str  # serialised once per workflow version (targets.py)
    mode: str
    input: list
    created_at: datetime = field(default_factory=utcnow)
    traceparent: str | None = None  # of the request (tracing on): its events join that trace

    def outcome(self, status: str, error: dict | None) -> list:
        """Its `execution.<status>` event as an entry of a packed `execution.outcomes` row."""
        return outcome_entry(self.id, self.workflow_id, self.team_id, self.mode, str(status), event_error(error),
                             self.traceparent or None)

    def event(self, status: str, error: dict | None) -> dict:
        """Its `execution.<status>` event as an outbox row of its own (a run left waiting, a queued one)."""
        return outbox_row("execution.events", self.id, outcome_event(self.outcome(status, error)))

    def row(self, status: str, *, output: list | None = None, error: dict | None = None,
            encode: JsonOnce | None = None, **values) -> dict:
        encode = encode or JsonOnce()
        row = {"id": self.id, "team_id": self.team_id, "workflow_id": self.workflow_id,
               "version_id": self.version_id, "definition": self.definition_json, "status": status,
               "mode": self.mode, "input": encode(self.input), "output": encode(output), "error": encode(error),
               "parent_execution_id": None, "retry_of_id": None, "lease_owner": None, "lease_expires_at": None,
               "resume_at": None, "attempts": 1, "created_at": self.created_at, "started_at": self.created_at,
               "finished_at": None}
        row.update(values)
        return row


@dataclass(slots=True)
class FinishedRun:
    draft: RunDraft
    result: RunResult
    steps: list[StepRecord]
    recorded: bool = False  # its running row exists (write_recorded): finish it under the lease
    keep_steps: bool = True  # a recorded run whose save_data keeps no steps of this outcome: False

    @property
    def status(self) -> S:
        return {"succeeded": S.SUCCEEDED, "failed": S.FAILED}.get(self.result.status, S.WAITING)

    def rows(self) -> tuple[dict, list[dict], RunFacts]:
        """The execution row, its step rows and its facts (node results, usage)."""
        result, status, draft = self.result, self.status, self.draft
        finished_at = None if status == S.WAITING else utcnow()
        encode = JsonOnce()
        execution = draft.row(status, output=result.output, error=result.error, resume_at=result.resume_at,
                              finished_at=finished_at, encode=encode)
        facts = run_facts(execution_id=draft.id, team_id=draft.team_id, workflow_id=draft.workflow_id,
                          mode=draft.mode, status=status, result=result, started_at=draft.created_at,
                          finished_at=finished_at)
        steps = step_rows(draft.team_id, draft.id, self.steps, encode)
        return execution, steps, facts


def step_rows(team_id: str, execution_id: str, steps: list[StepRecord],
              encode: JsonOnce | None = None) -> list[dict]:
    limit, encode = get_settings().storage.inline_limit_bytes, encode or JsonOnce()
    rows = []
    for step in steps:
        step_input, input_ref = _inline_or_offload(team_id, execution_id, step, "input",
                                                   encode(storable(step.input)), limit)
        output, output_ref = _inline_or_offload(team_id, execution_id, step, "output",
                                                encode(storable(step.output)), limit)
        rows.append({"id": ordered_id(), "execution_id": execution_id, "node_id": step.node_id,
                     "node_name": step.node_name, "run_index": step.run_index, "status": step.status,
                     "attempts": step.attempts, "input": step_input, "input_ref": input_ref, "output": output,
                     "output_ref": output_ref, "error": encode(step.error), "started_at": step.started_at or utcnow(),
                     "finished_at": step.finished_at})
    return rows


def _inline_or_offload(team_id: str, execution_id: str, step: StepRecord, kind: str, encoded: str,
                       limit: int) -> tuple[str, str | None]:
    """As SqlStepStore does: data past the inline limit goes to storage; the row points at it."""
    if len(encoded) <= limit:
        return encoded, None
    return "null", offload_step(team_id, execution_id, step, kind, encoded)


@dataclass(frozen=True, slots=True)
class _Statements:
    execution: Insert
    step: Insert
    event: Insert


@functools.cache
def _statements(dialect: str) -> _Statements:
    def as_json(name: str):
        text = bindparam(name, type_=Text)
        return cast(text, JSONB) if dialect == "postgresql" else text

    return _Statements(
        execution=insert(Execution).values({name: as_json(name) for name in EXECUTION_JSON}),
        step=insert(ExecutionStep).values({name: as_json(name) for name in STEP_JSON}),
        event=insert(OutboxEvent))


def write_runs(runs: list[FinishedRun]) -> None:
    """One transaction for all of ``runs``: Core bulk inserts, no ORM unit of work.

    Their status events go into one packed `execution.outcomes` row (the relay publishes one event per run,
    backend/events/packed.py), but for a run left waiting: its later events are keyed by its own id, and a row
    keyed by another run's id would not hold them back on a relay that claims them first."""
    executions, steps, events, outcomes, facts = [], [], [], [], []
    for run in runs:
        if run.recorded:
            continue
        execution, step_list, facts_of_run = run.rows()
        executions.append(execution)
        steps += step_list
        if run.status == S.WAITING:
            events.append(run.draft.event(S.WAITING, run.result.error))
        else:
            outcomes.append(run.draft.outcome(run.status, run.result.error))
        facts.append(facts_of_run)
    events += outcome_rows(outcomes)
    events += fact_rows(facts)  # one event of each kind per workflow for the whole batch
    engine = get_engine()
    if not any(run.recorded for run in runs):
        with driver_transaction(engine) as driver:  # SQLite: no SQLAlchemy Connection at all
            if driver is not None:
                insert_on_driver(driver, Execution.__table__, executions, text_json=_EXECUTION_TEXT)
                insert_on_driver(driver, ExecutionStep.__table__, steps, text_json=_STEP_TEXT)
                insert_on_driver(driver, OutboxEvent.__table__, events)
                return
    with engine.begin() as conn:  # straight to the driver: backend/db/fast_insert.py
        bulk_insert(conn, Execution.__table__, executions, text_json=_EXECUTION_TEXT)
        for run in runs:
            if run.recorded:
                steps += _finish_recorded(conn, run)
        bulk_insert(conn, ExecutionStep.__table__, steps, text_json=_STEP_TEXT)
        bulk_insert(conn, OutboxEvent.__table__, events)


def outcome_rows(outcomes: list[list]) -> list[dict]:
    """Packed `execution.outcomes` outbox rows of these entries (``RunDraft.outcome``), keyed by the first run."""
    return [outbox_row("execution.events", chunk[0][0], {"type": OUTCOMES, "executions": chunk, PACKED: 1})
            for chunk in (outcomes[start:start + MAX_SPLIT] for start in range(0, len(outcomes), MAX_SPLIT))]


# the JSON columns the rows above carry as encoded text (bound as Text by the prebuilt statements)
_EXECUTION_TEXT = frozenset(EXECUTION_JSON)
_STEP_TEXT = frozenset(STEP_JSON)


def _finish_recorded(conn, run: FinishedRun) -> list[dict]:
    """The outcome of a run whose row was recorded (and its event); the rows of its steps to insert."""
    result = run.result
    if not service.finish(conn, run.draft.id, WEB_WORKER_ID, status=run.status, output=result.output,
                          error=result.error, resume_at=result.resume_at, result=result):
        log.warning("webhook run outcome dropped: the lease was lost (cancelled, or taken over after a stall)",
                    extra={"execution_id": run.draft.id})
        return []
    return step_rows(run.draft.team_id, run.draft.id, run.steps) if run.keep_steps else []


def write_recorded(drafts: list[RunDraft]) -> None:
    """The running rows, leased to this process, of runs about to start a node with side effects."""
    lease_until = utcnow() + service.lease()
    engine = get_engine()
    rows = [draft.row(S.RUNNING, lease_owner=WEB_WORKER_ID, lease_expires_at=lease_until) for draft in drafts]
    with driver_transaction(engine) as driver:  # SQLite
        if driver is not None:
            insert_on_driver(driver, Execution.__table__, rows, text_json=_EXECUTION_TEXT)
            return
    with engine.begin() as conn:
        conn.execute(_statements(engine.dialect.name).execution, rows)


def write_queued(drafts: list[RunDraft]) -> None:
    """Queued executions of webhooks that answer at once, with their ``execution.queued`` events: one batch.

    What ``service.create_execution`` writes for one, without the ORM unit of work, and the
    definition serialised once per workflow version (already without secrets: targets.py).
    """
    rows = [draft.row(S.QUEUED, attempts=0, started_at=None) for draft in drafts]
    events = [draft.event(S.QUEUED, None) for draft in drafts]
    engine = get_engine()
    with driver_transaction(engine) as driver:  # SQLite (on the group commit's thread: it waits for the lock there)
        if driver is not None:
            insert_on_driver(driver, Execution.__table__, rows, text_json=_EXECUTION_TEXT)
            insert_on_driver(driver, OutboxEvent.__table__, events)
            return
    with engine.begin() as conn:  # COPY on PostgreSQL: the intake's per-row cost (backend/db/fast_insert.py)
        bulk_insert(conn, Execution.__table__, rows, text_json=_EXECUTION_TEXT)
        bulk_insert(conn, OutboxEvent.__table__, events)


def write_steps(draft: RunDraft, steps: list[StepRecord]) -> None:
    """Steps done so far of a recorded run that now commits each step as it goes (past the inline budget)."""
    if steps:
        engine = get_engine()
        with engine.begin() as conn:
            conn.execute(_statements(engine.dialect.name).step, step_rows(draft.team_id, draft.id, steps))


def write_running(draft: RunDraft, steps: list[StepRecord], worker_id: str, lease_until: datetime) -> None:
    """The row of a run that outgrew memory, leased to this process, with the steps done so far."""
    engine = get_engine()
    statements = _statements(engine.dialect.name)
    with engine.begin() as conn:
        conn.execute(statements.execution, [draft.row(S.RUNNING, lease_owner=worker_id, lease_expires_at=lease_until)])
        if steps:
            conn.execute(statements.step, step_rows(draft.team_id, draft.id, steps))
