"""Request and response bodies of /users and /teams."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from backend.users.models import Role


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    name: str
    is_admin: bool
    created_at: datetime
    last_login_at: datetime | None = None


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    password: str | None = Field(default=None, max_length=1024)  # needs current_password
    current_password: str | None = Field(default=None, max_length=1024)


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)


class TeamOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    slug: str
    created_at: datetime
    require_2fa: bool = False  # members without two-factor sign-in are confined to enrolling it


class TeamSecurityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    require_2fa: bool


class MembershipOut(BaseModel):
    team: TeamOut
    role: Role
    # In /auth/me: the team requires two-factor sign-in and this session does not have it, so every
    # call in the team answers 403 until the account enrols.
    blocked_by_2fa: bool = False


class MemberOut(BaseModel):
    user_id: str
    email: str
    name: str
    role: Role
    joined_at: datetime


class MemberPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role


class InvitationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320)
    role: Role = Role.VIEWER


class InvitationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    team_id: str
    email: str
    role: Role
    invited_by: str | None
    expires_at: datetime
    accepted_at: datetime | None
    created_at: datetime


class InvitationCreated(InvitationOut):
    # The link itself, only when no SMTP server is configured: the inviter passes it on by hand.
    # It is returned once, here; only its hash is stored.
    invite_url: str | None = None


class InvitationAccept(BaseModel):
    token: str = Field(min_length=1, max_length=200)
