"""/api/v1/teams: your teams, their members and invitations.

A team you are not a member of answers 404 everywhere, exactly like one that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Response

from backend.auth.deps import Authentication, Principal, authenticate, current_user, team_member
from backend.db.deps import CommittingRoute, DbSession
from backend.notifications.mail import mail_is_delivered, send_in_background
from backend.users import invitations, teams
from backend.users import service as users
from backend.users.models import User
from backend.users.schemas import (
    InvitationAccept,
    InvitationCreated,
    InvitationIn,
    InvitationOut,
    MemberOut,
    MemberPatch,
    MembershipOut,
    TeamIn,
    TeamOut,
    TeamSecurityIn,
)
from backend.users.teams import Actor

router = APIRouter(route_class=CommittingRoute, prefix="/teams", tags=["teams"])

Member = Annotated[Principal, Depends(team_member)]
CurrentUser = Annotated[User, Depends(current_user)]


def _actor(principal: Principal) -> Actor:
    return Actor(user_id=principal.user_id, team_id=principal.team_id, role=principal.role)


@router.get("", response_model=list[MembershipOut])
def list_my_teams(auth: Annotated[Authentication, Depends(authenticate)],
                  session: DbSession) -> list[MembershipOut]:
    """Your teams and your role in each (with an API key: only the key's team)."""
    rows = users.memberships(session, auth.user.id)
    if auth.api_key is not None:
        rows = [(team, role) for team, role in rows if team.id == auth.api_key.team_id]
    return [MembershipOut(team=TeamOut.model_validate(team), role=role) for team, role in rows]


@router.post("", status_code=201, response_model=TeamOut)
def create_team(body: TeamIn, user: CurrentUser, session: DbSession) -> TeamOut:
    """A new team; you are its owner."""
    return TeamOut.model_validate(teams.create_team(session, user.id, body.name))


@router.post("/invitations/accept", response_model=MembershipOut)
def accept_invitation(body: InvitationAccept, user: CurrentUser, session: DbSession) -> MembershipOut:
    """Join a team with the token from an invitation mail sent to your email address."""
    team, role = invitations.accept(session, user, body.token)
    return MembershipOut(team=TeamOut.model_validate(team), role=role)


@router.get("/{team_id}", response_model=TeamOut)
def get_team(principal: Member, session: DbSession) -> TeamOut:
    return TeamOut.model_validate(teams.get_team(session, principal.team_id))


@router.patch("/{team_id}", response_model=TeamOut)
def rename_team(body: TeamIn, principal: Member, session: DbSession) -> TeamOut:
    """Rename the team (owners)."""
    return TeamOut.model_validate(teams.rename_team(session, _actor(principal), body.name))


@router.put("/{team_id}/security", response_model=TeamOut)
def set_team_security(body: TeamSecurityIn, principal: Member, session: DbSession) -> TeamOut:
    """`{"require_2fa": true}` (admins and owners, who must have two-factor sign-in on themselves):
    members without it can sign in but every call in this team answers 403 until they enable it."""
    return TeamOut.model_validate(teams.set_require_2fa(session, _actor(principal), body.require_2fa))


@router.get("/{team_id}/members", response_model=list[MemberOut])
def list_members(principal: Member, session: DbSession) -> list[MemberOut]:
    return [MemberOut(**vars(m)) for m in teams.list_members(session, principal.team_id)]


@router.patch("/{team_id}/members/{user_id}", response_model=MemberOut)
def change_role(user_id: str, body: MemberPatch, principal: Member, session: DbSession) -> MemberOut:
    """Change a member's role (admins and owners; only owners grant or take away `owner`;
    the last owner cannot be demoted)."""
    return MemberOut(**vars(teams.change_role(session, _actor(principal), user_id, body.role)))


@router.delete("/{team_id}/members/{user_id}", status_code=204)
def remove_member(user_id: str, principal: Member, session: DbSession) -> Response:
    """Remove a member (admins and owners) or leave the team (your own id). Their API keys in
    this team are revoked. The last owner cannot leave."""
    teams.remove_member(session, _actor(principal), user_id)
    return Response(status_code=204)


@router.get("/{team_id}/invitations", response_model=list[InvitationOut])
def list_invitations(principal: Member, session: DbSession) -> list[InvitationOut]:
    """Pending invitations (admins and owners)."""
    return [InvitationOut.model_validate(i) for i in invitations.list_pending(session, _actor(principal))]


@router.post("/{team_id}/invitations", status_code=201, response_model=InvitationCreated)
def invite(body: InvitationIn, principal: Member, session: DbSession,
           background: BackgroundTasks) -> InvitationCreated:
    """Invite an email address with a role (admins and owners; only owners invite owners). The
    link is mailed and works once, for 7 days. Without an SMTP server (`LINKFLOW_MAIL_SMTP_HOST`)
    no mail reaches anyone, so the answer carries the link as `invite_url`, this once, for you
    to pass on."""
    invitation, mail, link = invitations.invite(session, _actor(principal), email=body.email, role=body.role)
    background.add_task(send_in_background, mail)  # after the commit: the link works when it arrives
    created = InvitationOut.model_validate(invitation).model_dump()
    return InvitationCreated(**created, invite_url=None if mail_is_delivered() else link)


@router.delete("/{team_id}/invitations/{invitation_id}", status_code=204)
def cancel_invitation(invitation_id: str, principal: Member, session: DbSession) -> Response:
    invitations.cancel(session, _actor(principal), invitation_id)
    return Response(status_code=204)
