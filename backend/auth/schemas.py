"""Request and response bodies of /auth and /api-keys."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.users.schemas import MembershipOut, TeamOut, UserOut


class SignupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)
    name: str = Field(default="", max_length=200)


class LoginIn(BaseModel):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class MfaChallengeOut(BaseModel):
    mfa_required: Literal[True] = True
    mfa_token: str  # for POST /auth/login/mfa only; not an access token
    expires_in: int  # seconds


class MfaLoginIn(BaseModel):
    mfa_token: str = Field(min_length=1, max_length=2000)
    code: str = Field(min_length=1, max_length=64, description="the 6-digit code, or a recovery code")


class TokensOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int  # seconds until the access token expires


class SessionOut(TokensOut):
    user: UserOut


class SignupOut(SessionOut):
    team: TeamOut


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=200)


class MeOut(BaseModel):
    user: UserOut
    memberships: list[MembershipOut]
    two_factor_enabled: bool = False


class PasswordResetRequestIn(BaseModel):
    email: str = Field(min_length=1, max_length=320)


class PasswordResetConfirmIn(BaseModel):
    token: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=1024)


class Accepted(BaseModel):
    status: str = "accepted"
    message: str


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    team_id: str
    user_id: str
    name: str
    prefix: str  # the first 8 characters after `lf_`, to recognise a key
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str  # shown once; only its hash is stored


class TwoFactorStatusOut(BaseModel):
    enabled: bool
    pending: bool  # enrolment started with /setup, not confirmed with /enable yet
    enabled_at: datetime | None
    recovery_codes_left: int


class TwoFactorSetupOut(BaseModel):
    secret: str  # base32; shown while enrolment is pending, never after it is confirmed
    otpauth_uri: str
    qr_code: str  # the otpauth URI as an SVG QR code, a data: URI for <img src>


class TwoFactorCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, description="the 6-digit code, or a recovery code")


class TwoFactorDisableIn(TwoFactorCodeIn):
    password: str = Field(min_length=1, max_length=1024)


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str]  # shown once; only hashes are stored
