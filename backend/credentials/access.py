"""Who may see, use and change a credential inside its team.

A credential's owner is the member who created it (``created_by``). Shared with the team
(the default), every member sees and uses it. Private (``shared_with_team`` false), only
its owner, the members listed in ``credential_shares`` and the team's admins and owners
do; everyone else gets the answer a missing credential gets. Changing, deleting,
sharing and connecting it is for its owner (editor or above) and the team's admins.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, or_, select, true
from sqlalchemy.orm import Session

from backend.credentials.models import Credential, CredentialShare
from backend.errors import Forbidden, UserError
from backend.users.models import Membership, Role
from backend.users.roles import at_least


class InvalidSharing(UserError):
    status_code = 422
    code = "invalid_sharing"


@dataclass(frozen=True)
class Caller:
    """The member acting on credentials: their id and role in the credential's team."""

    user_id: str
    role: Role

    @property
    def is_team_admin(self) -> bool:
        return at_least(self.role, Role.ADMIN)


def visible_to(caller: Caller | None) -> ColumnElement[bool]:
    """A WHERE clause: the credentials `caller` may see and use (None: the platform itself, all of them)."""
    if caller is None or caller.is_team_admin:
        return true()
    shared_with_caller = exists().where(CredentialShare.credential_id == Credential.id,
                                        CredentialShare.user_id == caller.user_id)
    return or_(Credential.shared_with_team.is_(True), Credential.created_by == caller.user_id, shared_with_caller)


def can_manage(row: Credential, caller: Caller | None) -> bool:
    if caller is None or caller.is_team_admin:
        return True
    return row.created_by == caller.user_id and at_least(caller.role, Role.EDITOR)


def ensure_manage(row: Credential, caller: Caller | None) -> None:
    if not can_manage(row, caller):
        raise Forbidden(f"only the owner of credential {row.name!r} or a team admin may change, share or "
                        "delete it; ask one of them")


def caller_in(session: Session, team_id: str, user_id: str) -> Caller:
    """`user_id` as a member of `team_id`; someone no longer in the team counts as a viewer."""
    role = session.scalar(select(Membership.role).where(Membership.team_id == team_id,
                                                        Membership.user_id == user_id))
    return Caller(user_id, Role(role) if role else Role.VIEWER)


def referenced_credentials(definition: dict) -> list[tuple[str, str]]:
    """(node name, credential id) for every credential slot a workflow definition fills."""
    found = []
    for node in definition.get("nodes") or []:
        if not isinstance(node, dict):
            continue
        slots = node.get("credentials") or {}
        if isinstance(slots, dict):
            name = str(node.get("name") or node.get("id") or "?")
            found += [(name, cid) for cid in slots.values() if isinstance(cid, str) and cid]
    return found


def unusable_credentials(session: Session, team_id: str, user_id: str | None, definition: dict) -> list[dict]:
    """{node, message} for each node of `definition` whose credential `user_id` may not use in `team_id`."""
    references = referenced_credentials(definition)
    if user_id is None or not references:
        return []
    caller = caller_in(session, team_id, user_id)
    ids = {cid for _, cid in references}
    in_team = dict(session.execute(select(Credential.id, Credential.name).where(
        Credential.team_id == team_id, Credential.id.in_(ids))).all())
    usable = set(session.scalars(select(Credential.id).where(
        Credential.team_id == team_id, Credential.id.in_(ids), visible_to(caller))))
    problems = []
    for node, cid in references:
        if cid not in in_team:
            problems.append({"node": node, "message": f"credential {cid!r} does not exist in this team; "
                                                      "choose another credential for this node"})
        elif cid not in usable:
            problems.append({"node": node, "message": f"you may not use credential {in_team[cid]!r}: it is "
                                                      "private to its owner; ask its owner or a team admin "
                                                      "to share it with you, or choose another credential"})
    return problems
