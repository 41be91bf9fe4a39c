"""What billing tells a team's owners, in the app and by mail: 80 % and 100 % of the period's
executions (once each per period), a failed payment, and the move to Free."""

from __future__ import annotations

import math

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.billing.plans import TeamPlan
from backend.notifications import once
from backend.notifications.mail import Mail
from backend.settings import get_settings
from backend.users.models import Membership, Role, User

THRESHOLDS = (80, 100)
BILLING_HREF = "/settings/billing"


def usage_notices(plan: TeamPlan, before: int, now: int) -> list[once.Notice]:
    """The notices due when the period's count went from ``before`` to ``now``."""
    included = plan.limits.executions
    if not included:
        return []
    due = []
    for percent in THRESHOLDS:
        mark = math.ceil(included * percent / 100)
        if before < mark <= now:
            due.append(_usage_notice(plan, percent, now))
    return due


def _usage_notice(plan: TeamPlan, percent: int, used: int) -> once.Notice:
    included, ends = plan.limits.executions, plan.period.end.strftime("%B %d, %Y")
    if percent >= 100 and plan.bills_overage:
        after = "Further executions are billed as overage"
    elif percent >= 100:
        after = "Production webhooks get a small grace margin, then answer 402 until the period ends; manual runs stop now"
    else:
        after = "At 100 % runs stop (production webhooks after a small grace margin)"
    subject = f"{plan.team_name}: {percent} % of this period's executions used"
    body = (f"Team \"{plan.team_name}\" has run {used:,} of the {included:,} executions its {plan.plan_name} plan "
            f"includes this billing period, which ends {ends}.\n\n{after}. Upgrade or see the usage in "
            f"Settings → Billing: {get_settings().public_url}{BILLING_HREF}")
    return once.Notice(f"billing.usage_{percent}", f"{plan.team_id}:{plan.period.key}", plan.team_id, subject, body,
                       {"href": BILLING_HREF, "percent": percent, "period": plan.period.key})


def payment_failed_notice(plan: TeamPlan, key: str) -> once.Notice:
    until = plan.grace_until.strftime("%B %d, %Y") if plan.grace_until else "soon"
    body = (f"The last payment for team \"{plan.team_name}\" ({plan.plan_name} plan) failed. Update the payment "
            f"method under Settings → Billing → Manage billing before {until}; after that the team moves to the Free "
            f"plan and workflows beyond its limits are deactivated (not deleted).\n\n"
            f"{get_settings().public_url}{BILLING_HREF}")
    return once.Notice("billing.payment_failed", key, plan.team_id, f"{plan.team_name}: payment failed", body,
                       {"href": BILLING_HREF})


def downgraded_notice(team_id: str, team_name: str, key: str, deactivated: list[str]) -> once.Notice:
    listed = "".join(f"\n  - {name}" for name in deactivated[:50])
    body = (f"Team \"{team_name}\" is on the Free plan now. "
            + (f"These workflows were deactivated to fit its limits (they are kept; activate them again after "
               f"upgrading):{listed}" if deactivated else "Every workflow fits its limits.")
            + f"\n\n{get_settings().public_url}{BILLING_HREF}")
    return once.Notice("billing.downgraded", key, team_id, f"{team_name}: moved to the Free plan", body,
                       {"href": BILLING_HREF, "deactivated": len(deactivated)})


def record_for_owners(session: Session, notices: list[once.Notice]) -> list[tuple[str, Mail]]:
    """Write each notice for every owner of its team; the mails still to send (after commit)."""
    pending = []
    for notice in notices:
        owners = session.execute(select(User.id, User.email).join(Membership, Membership.user_id == User.id)
                                 .where(Membership.team_id == notice.team_id, Membership.role == Role.OWNER,
                                        User.is_active.is_(True)))
        for user_id, email in owners:
            mail = once.record(session, notice, user_id, email)
            if mail is not None:
                pending.append(mail)
    return pending
