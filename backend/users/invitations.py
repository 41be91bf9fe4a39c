"""Team invitations: a mailed single-use link, valid for 7 days, for one email address."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from backend.auth import audit
from backend.auth.tokens import sha256
from backend.billing import hooks as billing
from backend.db.base import utcnow
from backend.errors import Conflict, Forbidden, NotFound, UserError
from backend.notifications.mail import Mail
from backend.settings import get_settings
from backend.users.models import Invitation, Membership, Role, Team, User
from backend.users.roles import ensure_at_least
from backend.users.service import find_by_email, normalize_email
from backend.users.teams import Actor, get_team, is_member

LIFETIME = timedelta(days=7)


def invite(session: Session, actor: Actor, *, email: str, role: Role) -> tuple[Invitation, Mail, str]:
    """(the invitation, the mail carrying its link, the link). Inviting the same email again replaces
    the old link."""
    ensure_at_least(actor.role, Role.ADMIN, actor.team_id)
    if role == Role.OWNER:
        ensure_at_least(actor.role, Role.OWNER, actor.team_id)
    email = normalize_email(email)
    invitee = find_by_email(session, email)
    if invitee is not None and is_member(session, actor.team_id, invitee.id):
        raise Conflict(f"{email} is already a member of this team")
    billing.check_invitation(session, actor.team_id, email)  # 402 past the plan's members
    session.execute(delete(Invitation).where(Invitation.team_id == actor.team_id, Invitation.email == email,
                                             Invitation.accepted_at.is_(None)))
    raw = secrets.token_urlsafe(32)
    invitation = Invitation(team_id=actor.team_id, email=email, role=role.value, token_hash=sha256(raw),
                            invited_by=actor.user_id, expires_at=utcnow() + LIFETIME)
    session.add(invitation)
    session.flush()
    audit.record(session, "invitation.create", actor_id=actor.user_id, team_id=actor.team_id,
                 object_type="invitation", object_id=invitation.id,
                 details={"email": email, "role": role.value})
    link = f"{get_settings().public_url}/invite?token={raw}"
    return invitation, _mail(get_team(session, actor.team_id), email, link), link


def _mail(team: Team, email: str, link: str) -> Mail:
    body = (f"You are invited to join the team \"{team.name}\" on LinkFlow.\n\n"
            f"Accept the invitation here (it works once, for 7 days):\n{link}\n\n"
            f"Sign in or sign up as {email} first.")
    return Mail(to=email, subject=f"Join {team.name} on LinkFlow", body=body)


def list_pending(session: Session, actor: Actor) -> list[Invitation]:
    ensure_at_least(actor.role, Role.ADMIN, actor.team_id)
    query = (select(Invitation).where(Invitation.team_id == actor.team_id, Invitation.accepted_at.is_(None))
             .order_by(Invitation.created_at, Invitation.id))
    return list(session.scalars(query))


def cancel(session: Session, actor: Actor, invitation_id: str) -> None:
    ensure_at_least(actor.role, Role.ADMIN, actor.team_id)
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or invitation.team_id != actor.team_id or invitation.accepted_at:
        raise NotFound(f"invitation {invitation_id} not found")
    session.delete(invitation)
    audit.record(session, "invitation.cancel", actor_id=actor.user_id, team_id=actor.team_id,
                 object_type="invitation", object_id=invitation_id, details={"email": invitation.email})


def accept(session: Session, user: User, raw: str) -> tuple[Team, Role]:
    invitation = session.scalar(select(Invitation).where(Invitation.token_hash == sha256(raw)))
    if invitation is None or invitation.accepted_at or invitation.expires_at <= utcnow():
        raise UserError("this invitation link is invalid, used or expired; ask the team for a new one")
    if invitation.email != user.email:
        raise Forbidden("this invitation was sent to another email address; sign in with that address")
    if is_member(session, invitation.team_id, user.id):
        raise Conflict("you are already a member of this team")
    billing.check_join(session, invitation.team_id)  # 402 when a downgrade left no room
    if not _mark_accepted(session, invitation):
        raise UserError("this invitation link was just used; ask the team for a new one")
    session.add(Membership(team_id=invitation.team_id, user_id=user.id, role=invitation.role))
    audit.record(session, "member.join", actor_id=user.id, team_id=invitation.team_id, object_type="user",
                 object_id=user.id, details={"role": invitation.role, "invitation_id": invitation.id})
    return get_team(session, invitation.team_id), Role(invitation.role)


def _mark_accepted(session: Session, invitation: Invitation) -> bool:
    result = session.execute(update(Invitation)
                             .where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None))
                             .values(accepted_at=utcnow())
                             .execution_options(synchronize_session=False))
    return result.rowcount == 1
