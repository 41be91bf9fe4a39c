"""Search across a team's workflows, executions and credential names: one interface, two backends.

`SqlSearch` (the embedded default) asks the database directly; `ElasticSearch` asks Elasticsearch, then
reads the hits' rows again, inside the caller's team, so a result is never stale or another team's, and
a document whose row is gone (deleted, pruned) is dropped from the answer and from the index.
Credentials are matched by name in the database under both backends (who may see which credential is
decided per user there), and nothing but their name, type and id ever leaves.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from backend.credentials.access import Caller, visible_to
from backend.credentials.models import Credential
from backend.errors import UserError
from backend.executions import history
from backend.executions.models import Execution
from backend.search.documents import EXECUTION, WORKFLOW
from backend.search.elastic import ElasticIndex, SearchUnavailable, get_index
from backend.search.schemas import SearchResult, SearchResults
from backend.settings import get_settings
from backend.workflows.models import Workflow

log = logging.getLogger("linkflow.search")
CREDENTIAL = "credential"
KINDS = (WORKFLOW, EXECUTION, CREDENTIAL)


class SearchDown(UserError):
    status_code = 503
    code = "search_unavailable"


@dataclass(frozen=True)
class ExecutionFilters:
    workflow_id: str | None = None
    status: str | None = None
    mode: str | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None


class SearchBackend(Protocol):
    name: str

    def find(self, session: Session, team_id: str, text: str, kinds: Sequence[str],
             limit: int) -> dict[str, tuple[list[str], int]]:
        """Per kind (workflow, execution): the ids of the team's best matches, and how many match."""

    def execution_ids(self, session: Session, team_id: str, text: str, filters: ExecutionFilters, limit: int,
                      offset: int) -> tuple[list[str], int]:
        """The executions page: matching ids newest first, and how many match."""


class SqlSearch:
    name = "sql"

    def find(self, session, team_id, text, kinds, limit):
        found: dict[str, tuple[list[str], int]] = {}
        if WORKFLOW in kinds:
            condition = (Workflow.team_id == team_id) & or_(Workflow.name.icontains(text, autoescape=True),
                                                            Workflow.description.icontains(text, autoescape=True))
            ids = session.scalars(select(Workflow.id).where(condition)
                                  .order_by(Workflow.updated_at.desc(), Workflow.id).limit(limit)).all()
            found[WORKFLOW] = (list(ids), session.scalar(select(func.count()).where(condition)) or 0)
        if EXECUTION in kinds:
            found[EXECUTION] = self.execution_ids(session, team_id, text, ExecutionFilters(), limit, 0)
        return found

    def execution_ids(self, session, team_id, text, filters, limit, offset):
        items, total = history.list_executions(
            session, team_id, workflow_id=filters.workflow_id, status=filters.status, mode=filters.mode,
            started_after=filters.started_after, started_before=filters.started_before, q=text, limit=limit,
            offset=offset)
        return [item.id for item in items], total


class ElasticSearch:
    name = "elasticsearch"

    def __init__(self, index: ElasticIndex | None = None) -> None:
        self.index = index or get_index()

    def find(self, session, team_id, text, kinds, limit):
        wanted = [kind for kind in kinds if kind in (WORKFLOW, EXECUTION)]
        try:
            answers = self.index.search(team_id, text, wanted, limit)
        except SearchUnavailable as exc:
            raise SearchDown(f"search is unavailable: {exc}") from exc
        return {kind: ([hit.id for hit in hits], total) for kind, (hits, total) in answers.items()}

    def execution_ids(self, session, team_id, text, filters, limit, offset):
        clauses: list[dict] = [{"term": {name: value}} for name, value in
                               (("workflow_id", filters.workflow_id), ("status", filters.status),
                                ("mode", filters.mode)) if value is not None]
        started = {op: moment.isoformat() for op, moment in (("gte", filters.started_after),
                                                             ("lt", filters.started_before)) if moment}
        if started:
            clauses.append({"range": {"started_at": started}})
        try:
            return self.index.search_executions(team_id, text, clauses, limit, offset)
        except SearchUnavailable as exc:
            raise SearchDown(f"search is unavailable: {exc}") from exc


def get_backend() -> SearchBackend:
    return ElasticSearch() if get_settings().search.backend == "elasticsearch" else SqlSearch()


def search(session: Session, team_id: str, caller: Caller, text: str, kinds: Sequence[str],
           limit: int = 10, backend: SearchBackend | None = None) -> SearchResults:
    """The global search: the caller's team's best matches of each kind asked for."""
    backend = backend or get_backend()
    text = text.strip()
    found = backend.find(session, team_id, text, kinds, limit)
    results: list[SearchResult] = []
    totals: dict[str, int] = {}
    if WORKFLOW in found:
        ids, totals[WORKFLOW] = found[WORKFLOW]
        results += _workflows(session, team_id, ids, backend)
    if EXECUTION in found:
        ids, totals[EXECUTION] = found[EXECUTION]
        results += _executions(session, team_id, ids, backend)
    if CREDENTIAL in kinds:
        credentials, totals[CREDENTIAL] = _credentials(session, team_id, caller, text, limit)
        results += credentials
    return SearchResults(query=text, backend=backend.name, results=results, totals=totals)


def execution_page(session: Session, team_id: str, text: str, filters: ExecutionFilters, limit: int,
                   offset: int, backend: SearchBackend | None = None):
    """The executions page's text search through the configured backend: (summaries, total)."""
    backend = backend or get_backend()
    ids, total = backend.execution_ids(session, team_id, text, filters, limit, offset)
    rows = _execution_rows(session, team_id, ids, backend)
    return [history.summary(rows[i]) for i in ids if i in rows], total


def _workflows(session, team_id, ids, backend) -> list[SearchResult]:
    rows = _team_rows(backend, WORKFLOW, team_id, ids, session.execute(
        select(Workflow.id, Workflow.team_id, Workflow.name, Workflow.description, Workflow.active,
               Workflow.updated_at).where(Workflow.id.in_(ids))) if ids else [])
    return [SearchResult(type=WORKFLOW, id=i, title=rows[i].name, subtitle=(rows[i].description or "")[:200],
                         status="active" if rows[i].active else "inactive", url=f"/workflows/{i}",
                         at=rows[i].updated_at) for i in ids if i in rows]


def _executions(session, team_id, ids, backend) -> list[SearchResult]:
    rows = _execution_rows(session, team_id, ids, backend)
    out = []
    for i in ids:
        if i in rows:
            item = history.summary(rows[i])
            out.append(SearchResult(type=EXECUTION, id=i, title=f"{item.workflow_name or 'Execution'} · {i[:8]}",
                                    subtitle=item.error or item.mode, status=item.status, url=f"/executions/{i}",
                                    at=item.started_at or item.created_at))
    return out


def _execution_rows(session, team_id, ids, backend) -> dict:
    if not ids:
        return {}
    return _team_rows(backend, EXECUTION, team_id, ids, session.execute(
        select(*history._SUMMARY_COLUMNS, Execution.team_id, Workflow.name.label("workflow_name"))
        .outerjoin(Workflow, Workflow.id == Execution.workflow_id).where(Execution.id.in_(ids))))


def _team_rows(backend: SearchBackend, kind: str, team_id: str, ids: list[str], rows) -> dict:
    """The rows of the hits, by id, kept only if they are the team's (whatever a backend answered); hits
    whose row is gone are deleted from the index."""
    by_id = {row.id: row for row in rows}
    others = [i for i, row in by_id.items() if row.team_id != team_id]
    if others:
        log.error("search backend answered another team's ids; dropped", extra={"kind": kind, "ids": others[:20]})
    _forget(backend, kind, [i for i in ids if i not in by_id])
    return {i: row for i, row in by_id.items() if row.team_id == team_id}


def _credentials(session, team_id, caller, text, limit) -> tuple[list[SearchResult], int]:
    condition = (Credential.team_id == team_id) & visible_to(caller) & Credential.name.icontains(text, autoescape=True)
    rows = session.execute(select(Credential.id, Credential.name, Credential.type, Credential.updated_at)
                           .where(condition).order_by(Credential.name).limit(limit)).all()
    total = session.scalar(select(func.count()).select_from(Credential).where(condition)) or 0
    return [SearchResult(type=CREDENTIAL, id=row.id, title=row.name, subtitle=row.type, url=f"/credentials#{row.id}",
                         at=row.updated_at) for row in rows], total


def _forget(backend: SearchBackend, kind: str, ids: list[str]) -> None:
    """Documents whose rows are gone: drop them now rather than at the month's end."""
    if ids and isinstance(backend, ElasticSearch):
        try:
            backend.index.delete_ids(kind, ids)
        except SearchUnavailable:
            log.warning("could not delete stale search documents", extra={"kind": kind, "ids": ids[:20]})
