"""HTTP API of search: /api/v1/search. Every answer is about the caller's team only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from backend.auth.deps import Principal, require_role
from backend.credentials.access import Caller
from backend.db.deps import CommittingRoute, db_session
from backend.errors import UserError
from backend.search import service
from backend.search.schemas import SearchResults
from backend.users.models import Role

router = APIRouter(route_class=CommittingRoute, prefix="/search", tags=["search"])

Db = Annotated[Session, Depends(db_session)]
Viewer = Annotated[Principal, Depends(require_role(Role.VIEWER))]
MAX_QUERY = 200


@router.get("", response_model=SearchResults)
def search(db: Db, who: Viewer,
           q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY, description="the text to find")],
           types: Annotated[str, Query(max_length=100, description="comma-separated: workflow, execution, "
                                                                   "credential (default: all three)")] = "",
           limit: Annotated[int, Query(ge=1, le=50, description="results per type")] = 8) -> SearchResults:
    """Workflows (name, description, tags, nodes), executions (status, data, errors) and credentials (by name
    only) of the caller's team, best first."""
    if not q.strip() or "\x00" in q:
        raise UserError("q must contain some text to search for (and no NUL character)")
    kinds = _kinds(types)
    return service.search(db, who.team_id, Caller(who.user_id, who.role), q, kinds, limit)


def _kinds(types: str) -> tuple[str, ...]:
    if not types.strip():
        return service.KINDS
    asked = [t.strip().lower().removesuffix("s") for t in types.split(",") if t.strip()]
    unknown = [t for t in asked if t not in service.KINDS]
    if unknown or not asked:
        raise UserError(f"unknown search type(s) {', '.join(repr(t) for t in unknown) or '(none)'}; use a "
                        f"comma-separated list of {', '.join(service.KINDS)}")
    return tuple(dict.fromkeys(asked))
