"""The instance admin console: every user and team, failures across teams, the event backlog.

Callers have checked that the actor is an instance admin (users.is_admin). There is always at
least one active instance admin: the last one can be neither demoted nor deactivated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from backend.auth import audit, tokens, two_factor
from backend.auth.models import TwoFactorSecret
from backend.errors import Conflict, NotFound, UserError
from backend.events.models import OutboxEvent
from backend.executions.models import Execution, ExecutionStatus
from backend.users.models import Membership, Team, User
from backend.workflows.models import Workflow

MAX_PAGE = 200


def _like(text: str) -> str:
    escaped = text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise UserError(f"limit must be 1 to {MAX_PAGE} and offset 0 or more; got limit={limit}, offset={offset}")


@dataclass(frozen=True)
class UserRow:
    id: str
    email: str
    name: str
    is_admin: bool
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None
    teams: int
    two_factor_enabled: bool


def list_users(session: Session, search: str = "", *, limit: int = 50, offset: int = 0) -> tuple[list[UserRow], int]:
    """Users whose email or name contains `search`, oldest account first, and how many match."""
    _check_page(limit, offset)
    where = [or_(func.lower(User.email).like(_like(search), escape="\\"),
                 func.lower(User.name).like(_like(search), escape="\\"))] if search.strip() else []
    total = session.scalar(select(func.count()).select_from(User).where(*where)) or 0
    teams = (select(func.count()).select_from(Membership).where(Membership.user_id == User.id)
             .correlate(User).scalar_subquery())
    two_factor = (select(TwoFactorSecret.user_id).where(TwoFactorSecret.user_id == User.id,
                                                        TwoFactorSecret.confirmed_at.is_not(None))
                  .correlate(User).exists())
    rows = session.execute(select(User, teams.label("teams"), two_factor.label("two_factor")).where(*where)
                           .order_by(User.created_at, User.id).limit(limit).offset(offset))
    return [UserRow(id=u.id, email=u.email, name=u.name, is_admin=u.is_admin, is_active=u.is_active,
                    created_at=u.created_at, last_login_at=u.last_login_at, teams=n,
                    two_factor_enabled=bool(f)) for u, n, f in rows], total


def _user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


def _keep_an_admin(session: Session, user: User, verb: str) -> None:
    # FOR UPDATE (PostgreSQL): two admins demoting each other at once cannot both succeed.
    admins = session.scalars(select(User.id).where(User.is_admin.is_(True), User.is_active.is_(True))
                             .with_for_update()).all()
    if user.is_admin and user.is_active and len(admins) <= 1:
        raise Conflict(f"{user.email} is the last active instance admin and cannot be {verb}; "
                       "make another user an instance admin first")


def set_active(session: Session, actor_id: str, user_id: str, active: bool) -> User:
    """Deactivate (signs the user out everywhere; API keys stop working) or reactivate an account."""
    user = _user(session, user_id)
    if user.is_active == active:
        return user
    if not active:
        if user.id == actor_id:
            raise Conflict("you cannot deactivate your own account; ask another instance admin")
        _keep_an_admin(session, user, "deactivated")
        tokens.revoke_all_for_user(session, user.id)
    user.is_active = active
    audit.record(session, "admin.user_reactivate" if active else "admin.user_deactivate", actor_id=actor_id,
                 team_id=None, object_type="user", object_id=user.id, details={"email": user.email})
    return user


def set_admin(session: Session, actor_id: str, user_id: str, is_admin: bool) -> User:
    """Grant or revoke instance admin; the last active admin keeps it."""
    user = _user(session, user_id)
    if user.is_admin == is_admin:
        return user
    if is_admin and not user.is_active:
        raise Conflict(f"{user.email} is deactivated; reactivate the account before making it an admin")
    if not is_admin:
        _keep_an_admin(session, user, "demoted")
    user.is_admin = is_admin
    audit.record(session, "admin.grant_admin" if is_admin else "admin.revoke_admin", actor_id=actor_id,
                 team_id=None, object_type="user", object_id=user.id, details={"email": user.email})
    return user


def reset_two_factor(session: Session, actor_id: str, user_id: str) -> None:
    """Turn a user's two-factor sign-in off (a lost phone without recovery codes); audited."""
    two_factor.admin_reset(session, actor_id, _user(session, user_id))


@dataclass(frozen=True)
class TeamRow:
    id: str
    name: str
    slug: str
    created_at: datetime
    members: int
    workflows: int
    active_workflows: int
    executions: int


def list_teams(session: Session, search: str = "", *, limit: int = 50, offset: int = 0) -> tuple[list[TeamRow], int]:
    """Teams whose name or slug contains `search`, with their sizes, oldest first, and how many match."""
    _check_page(limit, offset)
    where = [or_(func.lower(Team.name).like(_like(search), escape="\\"),
                 func.lower(Team.slug).like(_like(search), escape="\\"))] if search.strip() else []
    total = session.scalar(select(func.count()).select_from(Team).where(*where)) or 0

    def count(model, *conditions):
        return (select(func.count()).select_from(model).where(model.team_id == Team.id, *conditions)
                .correlate(Team).scalar_subquery())

    query = select(Team, count(Membership), count(Workflow), count(Workflow, Workflow.active.is_(True)),
                   count(Execution)).where(*where).order_by(Team.created_at, Team.id).limit(limit).offset(offset)
    return [TeamRow(id=t.id, name=t.name, slug=t.slug, created_at=t.created_at, members=m, workflows=w,
                    active_workflows=a, executions=e) for t, m, w, a, e in session.execute(query)], total


@dataclass(frozen=True)
class FailedExecution:
    id: str
    team_id: str
    team_name: str
    workflow_id: str | None
    workflow_name: str | None
    mode: str
    node: str | None
    message: str
    finished_at: datetime | None


def recent_failures(session: Session, limit: int = 50) -> list[FailedExecution]:
    """The latest failed executions across every team, newest first."""
    _check_page(limit, 0)
    rows = session.execute(
        select(Execution.id, Execution.team_id, Team.name.label("team_name"), Execution.workflow_id,
               Workflow.name.label("workflow_name"), Execution.mode, Execution.error, Execution.finished_at,
               Execution.created_at)
        .join(Team, Team.id == Execution.team_id)
        .outerjoin(Workflow, Workflow.id == Execution.workflow_id)
        .where(Execution.status == ExecutionStatus.FAILED)
        .order_by(func.coalesce(Execution.finished_at, Execution.created_at).desc(), Execution.id.desc())
        .limit(limit))
    return [FailedExecution(id=r.id, team_id=r.team_id, team_name=r.team_name, workflow_id=r.workflow_id,
                            workflow_name=r.workflow_name, mode=r.mode, node=(r.error or {}).get("node"),
                            message=str((r.error or {}).get("message") or "failed")[:2000],
                            finished_at=r.finished_at or r.created_at) for r in rows]


@dataclass(frozen=True)
class OutboxBacklog:
    unpublished: int  # outbox rows written but not yet on the bus (a packed row holds several events)
    failing: int  # of those, the ones whose publishing already failed at least once
    oldest_unpublished_at: datetime | None
    last_errors: list[dict]  # the latest publishing failures: topic, attempts, error


def outbox_backlog(session: Session) -> OutboxBacklog:
    pending = OutboxEvent.published_at.is_(None)
    unpublished, oldest = session.execute(select(func.count(), func.min(OutboxEvent.created_at))
                                          .where(pending)).one()
    failing = session.scalar(select(func.count()).select_from(OutboxEvent)
                             .where(pending, OutboxEvent.attempts > 0)) or 0
    errors = session.execute(select(OutboxEvent.id, OutboxEvent.topic, OutboxEvent.attempts, OutboxEvent.last_error)
                             .where(pending, OutboxEvent.attempts > 0).order_by(OutboxEvent.id.desc()).limit(10))
    return OutboxBacklog(unpublished=unpublished or 0, failing=failing, oldest_unpublished_at=oldest,
                         last_errors=[{"id": e.id, "topic": e.topic, "attempts": e.attempts,
                                       "error": (e.last_error or "")[:500]} for e in errors])
