"""/api/v1/admin: the instance admin console (users.is_admin). Everyone else gets 403."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from backend.admin import queues, service
from backend.admin.schemas import (
    AdminTeamOut,
    AdminTeamPage,
    AdminUserOut,
    AdminUserPage,
    AdminUserPatch,
    DeadLettersOut,
    ErrorsOut,
    FailedExecutionOut,
    HealthOut,
    OutboxOut,
    QueueOut,
    RedisQueueOut,
    WorkerOut,
    WorkersOut,
)
from backend.audit import api as audit_api
from backend.audit import service as audit_service
from backend.audit.schemas import AuditPage
from backend.auth.deps import Authentication, authenticate
from backend.db.deps import CommittingRoute, DbSession
from backend.db.session import session_scope
from backend.errors import Forbidden, UserError
from backend.executions import heartbeats
from backend.health import checks_for, code_sandbox_info, run_checks
from backend.settings import get_settings
from backend.users.models import User

router = APIRouter(route_class=CommittingRoute, prefix="/admin", tags=["admin"])


def instance_admin(auth: Annotated[Authentication, Depends(authenticate)]) -> User:
    if auth.api_key is not None:
        raise Forbidden("the admin API needs a signed-in admin's access token, not an API key")
    if not auth.user.is_admin:
        raise Forbidden("only instance admins can use the admin console; an admin can grant it "
                        "(the first one is made with `linkflow user create --admin`)")
    return auth.user


Admin = Annotated[User, Depends(instance_admin)]
Search = Annotated[str, Query(max_length=200, description="part of an email, name or slug")]
Limit = Annotated[int, Query(ge=1, le=service.MAX_PAGE)]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]
AuditLimit = Annotated[int, Query(ge=1, le=audit_service.MAX_PAGE)]
AuditFilters = Annotated[audit_api.AuditQuery, Depends(audit_api.audit_query)]


@router.get("/users", response_model=AdminUserPage)
def list_users(admin: Admin, session: DbSession, search: Search = "", limit: Limit = 50,
               offset: Offset = 0) -> AdminUserPage:
    """Every account of the instance, oldest first."""
    rows, total = service.list_users(session, search, limit=limit, offset=offset)
    return AdminUserPage(items=[AdminUserOut.model_validate(r) for r in rows], total=total)


@router.patch("/users/{user_id}", response_model=AdminUserOut)
def update_user(user_id: str, body: AdminUserPatch, admin: Admin, session: DbSession) -> AdminUserOut:
    """Deactivate or reactivate an account, grant or revoke instance admin. The last active admin
    can be neither deactivated nor demoted, and nobody deactivates themselves."""
    if body.is_active is None and body.is_admin is None:
        raise UserError("send is_active and/or is_admin")
    if body.is_active is not None:
        user = service.set_active(session, admin.id, user_id, body.is_active)
    if body.is_admin is not None:
        user = service.set_admin(session, admin.id, user_id, body.is_admin)
    return AdminUserOut.model_validate(user)


@router.delete("/users/{user_id}/2fa", status_code=204)
def reset_two_factor(user_id: str, admin: Admin, session: DbSession) -> Response:
    """Turn a user's two-factor sign-in off (they lost their device and recovery codes); they sign in
    with the password alone and may enrol again. Audited as admin.user_2fa_reset."""
    service.reset_two_factor(session, admin.id, user_id)
    return Response(status_code=204)


@router.get("/teams", response_model=AdminTeamPage)
def list_teams(admin: Admin, session: DbSession, search: Search = "", limit: Limit = 50,
               offset: Offset = 0) -> AdminTeamPage:
    """Every team with its member, workflow and execution counts, oldest first."""
    rows, total = service.list_teams(session, search, limit=limit, offset=offset)
    return AdminTeamPage(items=[AdminTeamOut.model_validate(r) for r in rows], total=total)


@router.get("/queue", response_model=QueueOut)
def queue(admin: Admin, session: DbSession) -> QueueOut:
    """Queued, running and waiting executions (overall and by how they started); with the Redis
    queue backend also what Dramatiq holds in Redis."""
    settings = get_settings()
    out = QueueOut(queue_backend=settings.queue.backend, executions=queues.execution_counts(session))
    try:
        found = queues.redis_queues(settings)
        out.redis = None if found is None else [RedisQueueOut.model_validate(q) for q in found]
    except Exception as exc:  # Redis is down: the database counts still answer
        out.redis_error = f"{type(exc).__name__}: {exc}"[:300]
    return out


@router.get("/workers", response_model=WorkersOut)
def workers(admin: Admin, session: DbSession) -> WorkersOut:
    """The worker, scheduler, consumer and embedded processes that sent a heartbeat."""
    items = [WorkerOut.model_validate(w) for w in heartbeats.list_workers(session)]
    return WorkersOut(items=items, alive=sum(w.alive for w in items),
                      alive_within_seconds=int(heartbeats.ALIVE_WITHIN.total_seconds()))


def _failures_and_outbox(limit: int) -> tuple[list, service.OutboxBacklog]:
    with session_scope() as session:
        return service.recent_failures(session, limit), service.outbox_backlog(session)


@router.get("/errors", response_model=ErrorsOut)
async def errors(admin: Admin, limit: Limit = 50) -> ErrorsOut:
    """The latest failed executions of every team, events stuck in the outbox, and the events
    consumers gave up on (the dlq.events topic)."""
    failures, outbox = await asyncio.to_thread(_failures_and_outbox, limit)
    dead = await queues.dead_letters(get_settings())
    return ErrorsOut(executions=[FailedExecutionOut.model_validate(f) for f in failures],
                     outbox=OutboxOut.model_validate(outbox), dead_letters=DeadLettersOut.model_validate(dead))


@router.get("/audit", response_model=AuditPage)
def audit(admin: Admin, session: DbSession, query: AuditFilters, limit: AuditLimit = 50,
          offset: Offset = 0) -> AuditPage:
    """The audit trail of the whole instance, newest first: every team's entries and the
    instance-level ones (admin actions, sign-in attempts for unknown emails) with `team_id` null."""
    rows, total = audit_service.list_audit(session, None, query.filters(session), limit=limit, offset=offset)
    return AuditPage(items=audit_api.entries(session, rows), total=total, limit=limit, offset=offset)


@router.get("/health", response_model=HealthOut)
async def health(admin: Admin) -> HealthOut:
    """The checks of /ready: the database, Redis and Kafka when configured, the code sandbox where this
    process runs Code nodes; and which code sandbox mode is configured."""
    settings = get_settings()
    results = await run_checks(checks_for(settings))
    return HealthOut(status="ok" if all(r == "ok" for r in results.values()) else "unavailable", checks=results,
                     code_sandbox=await code_sandbox_info(settings))
