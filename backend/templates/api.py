"""HTTP API of the templates gallery: /api/v1/templates. Members list and read; editors create from one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session

from backend.auth.deps import Principal, require_role
from backend.db.deps import CommittingRoute, db_session
from backend.templates import service
from backend.templates.schemas import TemplateOut, TemplatePage, TemplateUsed, UseTemplate
from backend.users.models import Role
from backend.workflows.api import workflow_out

router = APIRouter(route_class=CommittingRoute, prefix="/templates", tags=["templates"])

Db = Annotated[Session, Depends(db_session)]
Viewer = Annotated[Principal, Depends(require_role(Role.VIEWER))]
Editor = Annotated[Principal, Depends(require_role(Role.EDITOR))]
TemplateId = Annotated[str, Path(max_length=80)]


@router.get("", response_model=TemplatePage)
def list_templates(who: Viewer, search: Annotated[str | None, Query(max_length=200)] = None,
                   category: Annotated[str | None, Query(max_length=40)] = None) -> TemplatePage:
    items = service.list_templates(search=search, category=category)
    return TemplatePage(items=items, total=len(items), categories=service.categories())


@router.get("/{template_id}", response_model=TemplateOut)
def get_template(template_id: TemplateId, who: Viewer) -> TemplateOut:
    return service.detail(service.get_template(template_id))


@router.post("/{template_id}/use", response_model=TemplateUsed, status_code=201)
def use_template(template_id: TemplateId, db: Db, who: Editor, body: UseTemplate | None = None) -> TemplateUsed:
    """Create a draft workflow in the caller's team; its credential slots are left for the user to pick."""
    workflow = service.use_template(db, template_id, team_id=who.team_id, user_id=who.user_id,
                                    name=body.name if body else None)
    out = workflow_out(db, workflow, who)
    return TemplateUsed(workflow=out, credentials=service.credential_needs(out.definition))
