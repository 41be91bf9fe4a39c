"""The 402 answers: a plan limit reached, saying which, how far, and how to upgrade.

Active workflows and members are counted in the caller's transaction with the team locked
(``lock_team``), so two requests at the limit cannot both pass. Executions go through the
in-process gate (gate.py), which keeps the webhook path free of queries.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.billing.plans import TeamPlan, enabled, lock_team, team_plan
from backend.errors import UserError
from backend.settings import get_settings
from backend.users.models import Invitation, Membership
from backend.workflows.models import Workflow

LIMIT_NAMES = {"executions": "executions per billing period", "active_workflows": "active workflows",
               "members": "team members"}


class QuotaExceeded(UserError):
    status_code = 402
    code = "quota_exceeded"


def upgrade_url() -> str:
    return f"{get_settings().public_url}/settings/billing"


def exceeded(plan: TeamPlan, limit: str, used: int, allowed: int, remedy: str) -> QuotaExceeded:
    """``limit`` is a key of LIMIT_NAMES; ``remedy`` says what else the caller can do than upgrade."""
    what = LIMIT_NAMES[limit]
    message = (f"team \"{plan.team_name}\" has reached its {plan.plan_name} plan's limit of {allowed:,} {what} "
               f"({used:,} used); upgrade in Settings → Billing ({upgrade_url()}){remedy}")
    return QuotaExceeded(message, {"limit": limit, "used": used, "allowed": allowed, "plan": plan.plan_id,
                                   "period_end": plan.period.end.isoformat() if limit == "executions" else None,
                                   "upgrade_url": upgrade_url()})


def check_active_workflows(session: Session, team_id: str) -> None:
    """After a workflow was marked active in this transaction: refuse if the team is now past its plan."""
    plan, allowed = _limited(session, team_id, "active_workflows")
    if allowed is None:
        return
    session.flush()
    active = session.scalar(select(func.count()).select_from(Workflow)
                            .where(Workflow.team_id == team_id, Workflow.active.is_(True))) or 0
    if active > allowed:
        raise exceeded(plan, "active_workflows", active - 1, allowed, " or deactivate another workflow first")


def check_invitation(session: Session, team_id: str, email: str) -> None:
    """Before inviting ``email``: members plus pending invitations (other than one to ``email``, which
    the new one replaces) must stay within the plan."""
    plan, allowed = _limited(session, team_id, "members")
    if allowed is None:
        return
    members = _members(session, team_id)
    pending = session.scalar(select(func.count()).select_from(Invitation).where(
        Invitation.team_id == team_id, Invitation.accepted_at.is_(None), Invitation.email != email)) or 0
    if members + pending >= allowed:
        raise exceeded(plan, "members", members + pending, allowed,
                       " or remove a member or a pending invitation first (pending invitations count)")


def check_join(session: Session, team_id: str) -> None:
    """Before accepting an invitation: there must be room in the team (e.g. after a downgrade)."""
    plan, allowed = _limited(session, team_id, "members")
    if allowed is None:
        return
    members = _members(session, team_id)
    if members >= allowed:
        raise exceeded(plan, "members", members, allowed, "; ask an owner of the team to upgrade or make room")


def _limited(session: Session, team_id: str, limit: str) -> tuple[TeamPlan | None, int | None]:
    """The team's plan and its ``limit`` (None: billing off or unlimited); when limited, the team is locked
    for the rest of the transaction so concurrent checks take turns."""
    if not enabled():
        return None, None
    plan = team_plan(session, team_id)
    allowed = getattr(plan.limits, limit) if plan else None
    if allowed is not None:
        lock_team(session, team_id)
    return plan, allowed


def _members(session: Session, team_id: str) -> int:
    return session.scalar(select(func.count()).select_from(Membership).where(Membership.team_id == team_id)) or 0
