"""Team roles, weakest first: viewer < editor < admin < owner."""

from __future__ import annotations

from backend.errors import Forbidden
from backend.users.models import Role

RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.ADMIN: 2, Role.OWNER: 3}


def at_least(role: Role | str, minimum: Role) -> bool:
    return RANK[Role(role)] >= RANK[minimum]


def ensure_at_least(role: Role | str, minimum: Role, team_id: str) -> None:
    if not at_least(role, minimum):
        raise Forbidden(f"this needs the {minimum.value} role or higher in team {team_id}; "
                        f"you are {Role(role).value}")
