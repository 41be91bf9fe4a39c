"""/api/v1/notifications/channels and /rules: where the team's notifications go, and when.

Viewers read, editors and above write. Channel secrets (webhook URLs, the signing secret) are
write-only: answers list which are set (`secrets_set`), never their values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from backend.auth.deps import Principal, require_role
from backend.db.base import new_id
from backend.db.deps import CommittingRoute, DbSession
from backend.errors import TransientError, UserError
from backend.notifications import channels, rules
from backend.notifications.channels import Kind
from backend.notifications.evaluation import Trigger
from backend.notifications.models import NotificationChannel, NotificationRule
from backend.notifications.senders import Message, send
from backend.users.models import Role

router = APIRouter(route_class=CommittingRoute, prefix="/notifications", tags=["notifications"])

Viewer = Annotated[Principal, Depends(require_role(Role.VIEWER))]
Editor = Annotated[Principal, Depends(require_role(Role.EDITOR))]
Name = Annotated[str, Field(min_length=1, max_length=100)]
Settings = Annotated[dict[str, Any], Field(max_length=20)]


class ChannelCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    kind: Kind
    config: Settings = Field(default_factory=dict, description="email: recipients; slack: mode, channel, "
                                                                "credential_id")
    secrets: Settings = Field(default_factory=dict, description="slack/teams: webhook_url; webhook: url, "
                                                                 "signing_secret. Never returned.")


class ChannelUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    config: Settings | None = None
    secrets: Settings | None = Field(None, description="replaces the secrets named; the others stay")


class ChannelOut(BaseModel):
    id: str
    name: str
    kind: str
    config: dict
    secrets_set: list[str]
    created_at: datetime
    updated_at: datetime


class ChannelList(BaseModel):
    items: list[ChannelOut]


class TestOut(BaseModel):
    ok: bool
    message: str


class RuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    channel_id: Annotated[str, Field(min_length=1, max_length=32)]
    trigger: Trigger
    workflow_id: Annotated[str, Field(min_length=1, max_length=32)] | None = Field(
        None, description="none: every workflow of the team")
    threshold_s: Annotated[int, Field(ge=1, le=7 * 86_400)] | None = Field(None, description="long_run only")
    window_s: Annotated[int, Field(ge=0, le=86_400)] = Field(600, description="one message per this many seconds")
    enabled: bool = True


class RuleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    channel_id: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    trigger: Trigger | None = None
    workflow_id: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    threshold_s: Annotated[int, Field(ge=1, le=7 * 86_400)] | None = None
    window_s: Annotated[int, Field(ge=0, le=86_400)] | None = None
    enabled: bool | None = None


class RuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    channel_id: str
    trigger: str
    workflow_id: str | None
    threshold_s: int | None
    window_s: int
    enabled: bool
    created_at: datetime
    updated_at: datetime


class RuleList(BaseModel):
    items: list[RuleOut]


def _channel_out(channel: NotificationChannel) -> ChannelOut:
    return ChannelOut(id=channel.id, name=channel.name, kind=channel.kind, config=channel.config,
                      secrets_set=channels.secret_names(channel), created_at=channel.created_at,
                      updated_at=channel.updated_at)


@router.get("/channels", response_model=ChannelList)
def list_channels(who: Viewer, session: DbSession) -> ChannelList:
    return ChannelList(items=[_channel_out(c) for c in channels.list_channels(session, who.team_id)])


@router.post("/channels", response_model=ChannelOut, status_code=201)
def create_channel(body: ChannelCreate, who: Editor, session: DbSession) -> ChannelOut:
    channel = channels.create_channel(session, team_id=who.team_id, user_id=who.user_id, name=body.name,
                                      kind=body.kind, config=body.config, secrets=body.secrets)
    return _channel_out(channel)


@router.get("/channels/{channel_id}", response_model=ChannelOut)
def get_channel(channel_id: str, who: Viewer, session: DbSession) -> ChannelOut:
    return _channel_out(channels.get_channel(session, who.team_id, channel_id))


@router.patch("/channels/{channel_id}", response_model=ChannelOut)
def update_channel(channel_id: str, body: ChannelUpdate, who: Editor, session: DbSession) -> ChannelOut:
    channel = channels.get_channel(session, who.team_id, channel_id)
    channels.update_channel(session, channel, user_id=who.user_id, name=body.name, config=body.config,
                            secrets=body.secrets)
    return _channel_out(channel)


@router.delete("/channels/{channel_id}", status_code=204)
def delete_channel(channel_id: str, who: Editor, session: DbSession) -> Response:
    channels.delete_channel(session, channels.get_channel(session, who.team_id, channel_id), user_id=who.user_id)
    return Response(status_code=204)


@router.post("/channels/{channel_id}/test", response_model=TestOut)
async def test_channel(channel_id: str, who: Editor, session: DbSession) -> TestOut:
    """Send a test message on the channel now (not through notification.events: you see the answer)."""
    channel = channels.get_channel(session, who.team_id, channel_id)
    secrets = channels.open_secrets(channel)
    message = Message(request_id=new_id(), team_id=who.team_id, kind="test",
                      title=f"Test message from LinkFlow for channel \"{channel.name}\"",
                      body="If you can read this, the channel works.")
    try:
        detail = await send(channel, secrets, message)
    except (UserError, TransientError) as exc:
        return TestOut(ok=False, message=str(exc))
    return TestOut(ok=True, message=detail)


@router.get("/rules", response_model=RuleList)
def list_rules(who: Viewer, session: DbSession) -> RuleList:
    return RuleList(items=[RuleOut.model_validate(r) for r in rules.list_rules(session, who.team_id)])


@router.post("/rules", response_model=RuleOut, status_code=201)
def create_rule(body: RuleCreate, who: Editor, session: DbSession) -> RuleOut:
    rule = rules.create_rule(session, team_id=who.team_id, user_id=who.user_id, values=body.model_dump())
    return RuleOut.model_validate(rule)


@router.get("/rules/{rule_id}", response_model=RuleOut)
def get_rule(rule_id: str, who: Viewer, session: DbSession) -> RuleOut:
    return RuleOut.model_validate(rules.get_rule(session, who.team_id, rule_id))


@router.patch("/rules/{rule_id}", response_model=RuleOut)
def update_rule(rule_id: str, body: RuleUpdate, who: Editor, session: DbSession) -> RuleOut:
    rule: NotificationRule = rules.get_rule(session, who.team_id, rule_id)
    rules.update_rule(session, rule, user_id=who.user_id, values=body.model_dump(exclude_unset=True))
    return RuleOut.model_validate(rule)


@router.delete("/rules/{rule_id}", status_code=204)
def delete_rule(rule_id: str, who: Editor, session: DbSession) -> Response:
    rules.delete_rule(session, rules.get_rule(session, who.team_id, rule_id), user_id=who.user_id)
    return Response(status_code=204)
