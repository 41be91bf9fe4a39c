"""Teams and their members. Callers have already checked that the actor is in the team.

Rules: admins and owners manage members; only owners grant or take away the owner role;
a team always keeps at least one owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from backend.auth import api_keys, audit, two_factor
from backend.credentials.models import Credential, CredentialShare
from backend.errors import Conflict, NotFound
from backend.users.models import Membership, Role, Team, User
from backend.users.roles import ensure_at_least
from backend.users.service import team_slug


@dataclass(frozen=True)
class Actor:
    user_id: str
    team_id: str
    role: Role


@dataclass(frozen=True)
class Member:
    user_id: str
    email: str
    name: str
    role: Role
    joined_at: datetime


def create_team(session: Session, user_id: str, name: str) -> Team:
    team = Team(name=name.strip(), slug=team_slug(name))
    session.add(team)
    session.flush()
    session.add(Membership(team_id=team.id, user_id=user_id, role=Role.OWNER))
    audit.record(session, "team.create", actor_id=user_id, team_id=team.id, object_type="team",
                 object_id=team.id, details={"name": team.name})
    return team


def get_team(session: Session, team_id: str) -> Team:
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound(f"team {team_id} not found")
    return team


def rename_team(session: Session, actor: Actor, name: str) -> Team:
    ensure_at_least(actor.role, Role.OWNER, actor.team_id)
    team = get_team(session, actor.team_id)
    audit.record(session, "team.update", actor_id=actor.user_id, team_id=team.id, object_type="team",
                 object_id=team.id, details={"name": {"from": team.name, "to": name.strip()}})
    team.name = name.strip()
    return team


def set_require_2fa(session: Session, actor: Actor, required: bool) -> Team:
    """Require two-factor sign-in of every member (admins and owners). Only an actor who has it on may
    turn it on, so nobody locks themselves out of their own team."""
    ensure_at_least(actor.role, Role.ADMIN, actor.team_id)
    team = get_team(session, actor.team_id)
    if team.require_2fa == required:
        return team
    if required and not two_factor.is_enabled(session, actor.user_id):
        raise Conflict("turn on two-factor sign-in for your own account first (Settings → Security); "
                       "the team would otherwise lock you out too")
    audit.record(session, "team.update", actor_id=actor.user_id, team_id=team.id, object_type="team",
                 object_id=team.id, details={"require_2fa": {"from": team.require_2fa, "to": required}})
    team.require_2fa = required
    return team


def list_members(session: Session, team_id: str) -> list[Member]:
    rows = session.execute(
        select(User.id, User.email, User.name, Membership.role, Membership.created_at)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.team_id == team_id)
        .order_by(Membership.created_at, Membership.id))
    return [Member(user_id=r.id, email=r.email, name=r.name, role=Role(r.role), joined_at=r.created_at)
            for r in rows]


def change_role(session: Session, actor: Actor, user_id: str, role: Role) -> Member:
    ensure_at_least(actor.role, Role.ADMIN, actor.team_id)
    membership = _membership(session, actor.team_id, user_id)
    if membership.role == role:  # nothing changes, so nothing goes into the audit trail
        return next(m for m in list_members(session, actor.team_id) if m.user_id == user_id)
    if Role.OWNER in (membership.role, role):
        ensure_at_least(actor.role, Role.OWNER, actor.team_id)
    if membership.role == Role.OWNER and role != Role.OWNER:
        _keep_an_owner(session, actor.team_id, "demoted")
    audit.record(session, "member.role_change", actor_id=actor.user_id, team_id=actor.team_id,
                 object_type="user", object_id=user_id, details={"from": membership.role, "to": role.value})
    membership.role = role.value
    session.flush()
    return next(m for m in list_members(session, actor.team_id) if m.user_id == user_id)


def remove_member(session: Session, actor: Actor, user_id: str) -> None:
    """Remove a member (admins and owners) or leave (anyone); the member's keys here are revoked."""
    leaving = user_id == actor.user_id
    if not leaving:
        ensure_at_least(actor.role, Role.ADMIN, actor.team_id)
    membership = _membership(session, actor.team_id, user_id)
    if membership.role == Role.OWNER:
        if not leaving:
            ensure_at_least(actor.role, Role.OWNER, actor.team_id)
        _keep_an_owner(session, actor.team_id, "removed")
    revoked = api_keys.revoke_user_keys(session, actor.team_id, user_id)
    # Private credentials of this team shared with them are not shared any more (nor on rejoining).
    session.execute(delete(CredentialShare).where(
        CredentialShare.user_id == user_id,
        CredentialShare.credential_id.in_(select(Credential.id).where(Credential.team_id == actor.team_id))))
    session.delete(membership)
    audit.record(session, "member.leave" if leaving else "member.remove", actor_id=actor.user_id,
                 team_id=actor.team_id, object_type="user", object_id=user_id,
                 details={"role": membership.role, "api_keys_revoked": revoked})


def _membership(session: Session, team_id: str, user_id: str) -> Membership:
    membership = session.scalar(select(Membership).where(Membership.team_id == team_id,
                                                         Membership.user_id == user_id))
    if membership is None:
        raise NotFound(f"user {user_id} is not a member of team {team_id}")
    return membership


def _keep_an_owner(session: Session, team_id: str, verb: str) -> None:
    # FOR UPDATE (PostgreSQL): two owners demoting each other at once cannot both succeed.
    owners = session.scalars(select(Membership.id)
                             .where(Membership.team_id == team_id, Membership.role == Role.OWNER)
                             .with_for_update()).all()
    if len(owners) <= 1:
        raise Conflict(f"the last owner of team {team_id} cannot be {verb}; make another member owner first")


def is_member(session: Session, team_id: str, user_id: str) -> bool:
    return bool(session.scalar(select(func.count()).select_from(Membership)
                               .where(Membership.team_id == team_id, Membership.user_id == user_id)))
