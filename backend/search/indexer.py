"""Keeps Elasticsearch in step with the database: from a batch of events, or all over again (reindex).

Events carry ids, so the indexer reads the current rows (one query per kind per batch) and writes them
with one bulk request: an event delivered twice, or late, writes the same current document again. A row
that is gone (deleted workflow, pruned execution) becomes a delete by id.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db.session import session_scope
from backend.events.bus import Event
from backend.executions.models import Execution, ExecutionStep
from backend.search.documents import AUDIT, EXECUTION, WORKFLOW, audit_doc, execution_doc, workflow_doc
from backend.search.elastic import ElasticIndex
from backend.workflows.models import Workflow, WorkflowVersion

log = logging.getLogger("linkflow.search")
TOPICS = ("workflow.events", "execution.events", "audit.log")
UNSAVED = "execution.unsaved"  # runs whose data was not kept: nothing to find


@dataclass
class Plan:
    """What a batch of events asks for, and which events asked (to blame the right one for a refusal)."""

    workflows: dict[str, list[int]] = field(default_factory=dict)
    executions: dict[str, list[int]] = field(default_factory=dict)
    audit: list[tuple[int, Event]] = field(default_factory=list)

    def add(self, position: int, event: Event) -> None:
        payload = event.payload
        if event.topic == "workflow.events":
            self.workflows.setdefault(payload["workflow_id"], []).append(position)
        elif event.topic == "execution.events" and payload.get("type") != UNSAVED:
            self.executions.setdefault(payload["execution_id"], []).append(position)
        elif event.topic == "audit.log":
            self.audit.append((position, event))
            if payload.get("object_type") == "workflow" and payload.get("object_id"):
                self.workflows.setdefault(payload["object_id"], []).append(position)


def index_events(index: ElasticIndex, events: Sequence[Event], max_chars: int) -> dict[int, str]:
    """Index what the events are about; {position: reason} for the events whose document was refused."""
    plan = Plan()
    for position, event in enumerate(events):
        plan.add(position, event)
    actions: list[tuple[str, str, str, dict | None]] = []
    blame: list[list[int]] = []
    with session_scope() as session:
        for action, who in _workflow_actions(index, session, plan.workflows):
            actions.append(action)
            blame.append(who)
        for action, who in _execution_actions(index, session, plan.executions, max_chars):
            actions.append(action)
            blame.append(who)
    for position, event in plan.audit:
        doc = audit_doc(event, max_chars)
        if doc is not None:
            actions.append(("index", index.index_for(AUDIT, doc["created_at"]), doc["id"], doc))
            blame.append([position])
    refused: dict[int, str] = {}
    for action_position, reason in index.bulk(actions).items():
        for position in blame[action_position]:
            refused[position] = reason
    return refused


def _workflow_actions(index: ElasticIndex, session: Session, wanted: dict[str, list[int]]) -> Iterator[tuple]:
    if not wanted:
        return
    found = {row.id: (row, definition) for row, definition in _workflow_rows(session, list(wanted))}
    for workflow_id, who in wanted.items():
        if workflow_id in found:
            doc = workflow_doc(*found[workflow_id])
            yield ("index", index.index_for(WORKFLOW), workflow_id, doc), who
        else:
            yield ("delete", index.index_for(WORKFLOW), workflow_id, None), who


def _workflow_rows(session: Session, ids: list[str] | None = None, after: str = "", limit: int = 0):
    query = (select(Workflow, WorkflowVersion.definition)
             .outerjoin(WorkflowVersion, (WorkflowVersion.workflow_id == Workflow.id)
                        & (WorkflowVersion.number == Workflow.latest_version)))
    if ids is not None:
        query = query.where(Workflow.id.in_(ids))
    else:
        query = query.where(Workflow.id > after).order_by(Workflow.id).limit(limit)
    return session.execute(query).all()


def _execution_actions(index: ElasticIndex, session: Session, wanted: dict[str, list[int]],
                       max_chars: int) -> Iterator[tuple]:
    if not wanted:
        return
    docs = {doc["id"]: doc for doc in _execution_docs(session, list(wanted), max_chars)}
    missing = [execution_id for execution_id in wanted if execution_id not in docs]
    if missing:  # pruned or deleted since: remove wherever a monthly index holds it
        index.delete_ids(EXECUTION, missing)
    for execution_id, doc in docs.items():
        yield ("index", index.index_for(EXECUTION, doc["created_at"]), execution_id, doc), wanted[execution_id]


_EXECUTION_COLUMNS = (Execution.id, Execution.team_id, Execution.workflow_id, Execution.status, Execution.mode,
                      Execution.input, Execution.output, Execution.error, Execution.created_at,
                      Execution.started_at, Execution.finished_at)


def _execution_docs(session: Session, ids: list[str] | None, max_chars: int, after: str = "",
                    limit: int = 0) -> list[dict]:
    query = (select(*_EXECUTION_COLUMNS, Workflow.name.label("workflow_name"))
             .outerjoin(Workflow, Workflow.id == Execution.workflow_id))
    if ids is not None:
        query = query.where(Execution.id.in_(ids))
    else:
        query = query.where(Execution.id > after).order_by(Execution.id).limit(limit)
    rows = session.execute(query).all()
    failed = [row.id for row in rows if row.status == "failed"]
    step_errors: dict[str, list[dict]] = {}
    if failed:
        for execution_id, error in session.execute(
                select(ExecutionStep.execution_id, ExecutionStep.error)
                .where(ExecutionStep.execution_id.in_(failed), ExecutionStep.error.is_not(None))):
            step_errors.setdefault(execution_id, []).append(error)
    return [execution_doc(row, row.workflow_name, step_errors.get(row.id, []), max_chars) for row in rows]


# ------------------------------------------------------------------ reindex --

def reindex(index: ElasticIndex, batch: int, max_chars: int, *, kinds: Sequence[str] = (WORKFLOW, EXECUTION),
            progress=None) -> dict[str, int]:
    """Write every workflow and execution of the database again (audit entries come only from events).
    Idempotent: documents have the rows' ids. {kind: documents written}."""
    index.ensure_templates()
    counts = {kind: 0 for kind in kinds}
    if WORKFLOW in kinds:
        after = ""
        while True:
            with session_scope() as session:
                rows = _workflow_rows(session, after=after, limit=batch)
            if not rows:
                break
            _write(index, [("index", index.index_for(WORKFLOW), row.id, workflow_doc(row, definition))
                           for row, definition in rows])
            counts[WORKFLOW] += len(rows)
            after = rows[-1][0].id
            progress and progress(WORKFLOW, counts[WORKFLOW])
    if EXECUTION in kinds:
        after = ""
        while True:
            with session_scope() as session:
                docs = _execution_docs(session, None, max_chars, after=after, limit=batch)
            if not docs:
                break
            _write(index, [("index", index.index_for(EXECUTION, d["created_at"]), d["id"], d) for d in docs])
            counts[EXECUTION] += len(docs)
            after = docs[-1]["id"]
            progress and progress(EXECUTION, counts[EXECUTION])
    return counts


def _write(index: ElasticIndex, actions: list) -> None:
    refused = index.bulk(actions)
    for position, reason in refused.items():
        log.error("document refused by Elasticsearch", extra={"id": actions[position][2], "reason": reason})
