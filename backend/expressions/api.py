"""POST /api/v1/expressions/preview: the editor's live preview of a field in expression mode.

The evaluation (up to ``PREVIEW_TIME_LIMIT_S`` of CPU) and the reads it needs run on an
inline lane (``backend/isolation.py``), so previews neither hold the request loop nor
fill the thread pool the other endpoints share; when the lanes are full the answer is 503.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select

from backend.auth.deps import Principal, require_role
from backend.db.deps import CommittingRoute
from backend.db.session import session_scope
from backend.expressions.preview import preview
from backend.isolation import inline_lanes
from backend.users.models import Role
from backend.variables.models import Variable
from backend.variables.schemas import MASK
from backend.workflows.service import get_workflow, latest_version

router = APIRouter(route_class=CommittingRoute, prefix="/expressions", tags=["expressions"])

MAX_PREVIEW_INPUT_BYTES = 512_000  # items + node outputs, serialised

Viewer = Annotated[Principal, Depends(require_role(Role.VIEWER))]


class PreviewRequest(BaseModel):
    expression: str = Field(max_length=10_000, description='A parameter value, e.g. "Hi {{ $json.name }}"')
    items: list[dict[str, Any]] = Field(default_factory=list, max_length=100,
                                        description="The node's input items ($input, $json of item_index)")
    item_index: int = Field(0, ge=0, le=99)
    nodes: dict[str, list[dict[str, Any]]] = Field(
        default_factory=dict, description='Earlier nodes\' output items, for $node["Name"]')
    workflow_id: str | None = Field(None, max_length=100, description="For $workflow and the timezone")

    @model_validator(mode="after")
    def _bounded(self) -> PreviewRequest:
        if len(self.nodes) > 200:
            raise ValueError(f"nodes holds {len(self.nodes)} entries; send at most 200")
        size = len(json.dumps([self.items, self.nodes], default=str))
        if size > MAX_PREVIEW_INPUT_BYTES:
            raise ValueError(f"items and nodes are {size:,} bytes, more than {MAX_PREVIEW_INPUT_BYTES:,}; "
                             "send fewer items (the preview needs only the item it shows)")
        return self


class PreviewOut(BaseModel):
    ok: bool
    value: Any = None
    type: str | None = None
    text: str | None = None
    truncated: bool = False
    error: str | None = None


@router.post("/preview", response_model=PreviewOut, responses={503: {"description": "Too busy; see Retry-After"}})
async def preview_expression(body: PreviewRequest, who: Viewer) -> PreviewOut:
    """Evaluate with the engine's restricted interpreter; an expression's error is an answer, not a 4xx."""
    return PreviewOut(**await inline_lanes().call(_evaluate, body, who.team_id))


def _evaluate(body: PreviewRequest, team_id: str) -> dict:
    workflow, timezone = {"id": None, "name": ""}, "UTC"
    with session_scope() as db:
        if body.workflow_id:
            found = get_workflow(db, team_id, body.workflow_id)
            workflow = {"id": found.id, "name": found.name}
            timezone = (latest_version(db, found).definition.get("settings") or {}).get("timezone") or "UTC"
        variables = {v.key: MASK if v.is_secret else v.value
                     for v in db.scalars(select(Variable).where(Variable.team_id == team_id))}
    return preview(body.expression, items=body.items, item_index=body.item_index, nodes=body.nodes,
                   variables=variables, workflow=workflow, timezone=timezone)
