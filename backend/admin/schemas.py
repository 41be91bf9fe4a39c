"""Request and response bodies of /api/v1/admin."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class AdminUserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    name: str
    is_admin: bool
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None
    teams: int | None = None  # how many teams the user is in (in lists)
    two_factor_enabled: bool | None = None  # in lists


class AdminUserPage(BaseModel):
    items: list[AdminUserOut]
    total: int


class AdminUserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    is_active: bool | None = None  # false: deactivate (signed out everywhere), true: reactivate
    is_admin: bool | None = None  # grant or revoke instance admin


class AdminTeamOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    slug: str
    created_at: datetime
    members: int
    workflows: int
    active_workflows: int
    executions: int


class AdminTeamPage(BaseModel):
    items: list[AdminTeamOut]
    total: int


class RedisQueueOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    ready: int
    delayed: int
    in_redis: int
    dead_lettered: int


class QueueOut(BaseModel):
    queue_backend: str  # memory | redis
    executions: dict[str, dict[str, int]]  # "overall" and each start mode → {queued, running, waiting}
    redis: list[RedisQueueOut] | None = None  # with the Redis queue backend
    redis_error: str | None = None  # Redis could not be read


class WorkerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    role: str
    hostname: str
    pid: int
    started_at: datetime
    last_seen_at: datetime
    alive: bool
    details: dict


class WorkersOut(BaseModel):
    items: list[WorkerOut]
    alive: int
    alive_within_seconds: int


class FailedExecutionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    team_id: str
    team_name: str
    workflow_id: str | None
    workflow_name: str | None
    mode: str
    node: str | None
    message: str
    finished_at: datetime | None


class OutboxOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    unpublished: int
    failing: int
    oldest_unpublished_at: datetime | None
    last_errors: list[dict]


class DeadLettersOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    backend: str  # memory | kafka
    topic: str
    messages: int  # kafka: records in the topic; memory: dead-lettered by this process since it started
    by_service: dict[str, int]
    error: str | None = None


class ErrorsOut(BaseModel):
    executions: list[FailedExecutionOut]
    outbox: OutboxOut
    dead_letters: DeadLettersOut


class CodeSandboxOut(BaseModel):
    mode: str  # bwrap | remote | unsafe_process | container
    ok: bool | None  # None: this process does not run Code nodes
    detail: str


class HealthOut(BaseModel):
    status: str  # ok | unavailable
    checks: dict[str, str]  # name → "ok" or "error: ..."
    code_sandbox: CodeSandboxOut
