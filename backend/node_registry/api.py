"""HTTP API of the node catalog: /api/v1/nodes (any team member may read it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from backend.auth.deps import Principal, require_role
from backend.db.deps import CommittingRoute
from backend.node_registry import service
from backend.users.models import Role

router = APIRouter(route_class=CommittingRoute, prefix="/nodes", tags=["nodes"])

Viewer = Annotated[Principal, Depends(require_role(Role.VIEWER))]


@router.get("")
def list_nodes(_: Viewer, latest_only: bool = False) -> dict:
    """The catalog: every node type (and version) with its ports, parameter schema and credential slots."""
    entries = service.catalog()
    if latest_only:
        entries = [e for e in entries if e["latest"]]
    return {"items": entries, "groups": service.groups(entries)}


@router.get("/{type_name}")
def get_node(type_name: str, _: Viewer) -> dict:
    return service.describe(type_name)


@router.get("/{type_name}/{version}")
def get_node_version(type_name: str, version: int, _: Viewer) -> dict:
    return service.describe(type_name, version)
