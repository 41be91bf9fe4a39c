"""/api/v1/api-keys: the current team's API keys. The secret is returned once, at creation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from backend.auth import api_keys, audit
from backend.auth.deps import Principal, require_role
from backend.auth.schemas import ApiKeyCreated, ApiKeyIn, ApiKeyOut
from backend.db.deps import CommittingRoute, DbSession
from backend.users.models import Role
from backend.users.roles import ensure_at_least

router = APIRouter(route_class=CommittingRoute, prefix="/api-keys", tags=["api-keys"])

Viewer = Annotated[Principal, Depends(require_role(Role.VIEWER))]
Editor = Annotated[Principal, Depends(require_role(Role.EDITOR))]


@router.get("", response_model=list[ApiKeyOut])
def list_keys(principal: Viewer, session: DbSession) -> list[ApiKeyOut]:
    """The team's live keys (never their secrets)."""
    return [ApiKeyOut.model_validate(key) for key in api_keys.list_keys(session, principal.team_id)]


@router.post("", status_code=201, response_model=ApiKeyCreated)
def create_key(body: ApiKeyIn, principal: Editor, session: DbSession) -> ApiKeyCreated:
    """A key acting in this team with your role there (it follows later role changes). Store the
    returned `key` now: it is not shown again."""
    key, raw = api_keys.create_key(session, team_id=principal.team_id, user_id=principal.user_id,
                                   name=body.name, expires_in_days=body.expires_in_days)
    audit.record(session, "api_key.create", actor_id=principal.user_id, team_id=principal.team_id,
                 object_type="api_key", object_id=key.id, details={"name": key.name, "prefix": key.prefix})
    return ApiKeyCreated(key=raw, **ApiKeyOut.model_validate(key).model_dump())


@router.delete("/{key_id}", status_code=204)
def revoke_key(key_id: str, principal: Viewer, session: DbSession) -> Response:
    """Revoke a key: its creator can, and so can the team's admins and owners."""
    key = api_keys.get_key(session, principal.team_id, key_id)
    if key.user_id != principal.user_id:
        ensure_at_least(principal.role, Role.ADMIN, principal.team_id)
    api_keys.revoke(session, key)
    audit.record(session, "api_key.revoke", actor_id=principal.user_id, team_id=principal.team_id,
                 object_type="api_key", object_id=key.id, details={"name": key.name, "prefix": key.prefix})
    return Response(status_code=204)
