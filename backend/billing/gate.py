"""The execution quota on the request path, without a query per request.

Each process keeps, per team, the plan's cap and a count of the period's executions. The count
starts from the metered usage in the database (``usage``, written by the metering consumer) and
goes up by one for every execution this process lets start; every ``LINKFLOW_BILLING_CACHE_SECONDS``
it is refreshed as ``max(database, own count)``, so this process never forgets what it let in, and
learns what other processes and schedules ran once it is metered. Within one process two requests
at the limit cannot both pass (one lock); across processes the overshoot is bounded by what the
others let in and is not metered yet (a few seconds of traffic) — the webhook grace margin absorbs it.

A start that fails before its execution exists (a body the webhook refuses, an overloaded lane)
gives its place back (``release``).
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from dataclasses import dataclass

from sqlalchemy import select

from backend.billing.limits import QuotaExceeded, exceeded
from backend.billing.models import Usage
from backend.billing.plans import TeamPlan, enabled, team_plan
from backend.db.session import session_scope
from backend.settings import get_settings

log = logging.getLogger("linkflow.billing.gate")
UNCOUNTED_MODES = frozenset({"subworkflow", "error"})  # part of the run that started them
GRACE_MODES = frozenset({"webhook", "schedule"})  # production triggers: a caller waits or a clock fires
EXECUTIONS = "executions"


@dataclass(slots=True)
class _Team:
    plan: TeamPlan
    count: int
    cap: int | None
    grace: int
    refresh_at: float  # time.monotonic()
    period_end: float  # time.time()


class ExecutionGate:
    def __init__(self, ttl_s: float, grace_percent: int) -> None:
        self.ttl_s, self.grace_percent = ttl_s, grace_percent
        self._teams: dict[str, _Team] = {}
        self._lock = threading.Lock()

    def admit(self, team_id: str, mode: str) -> None:
        """Count one execution about to start, or raise QuotaExceeded (402) naming the limit."""
        if mode in UNCOUNTED_MODES:
            return
        team = self._teams.get(team_id)
        if team is None or time.monotonic() >= team.refresh_at or time.time() >= team.period_end:
            team = self._refresh(team_id)
            if team is None:
                return  # the team is gone; whatever follows fails on its own
        with self._lock:
            if team.cap is not None:
                allowed = team.cap + (team.grace if mode in GRACE_MODES else 0)
                if team.count >= allowed:
                    raise self._refusal(team, mode)
            team.count += 1

    def admits(self, team_id: str, mode: str) -> bool:
        """``admit`` as a yes/no, for callers with nobody to answer (the scheduler)."""
        try:
            self.admit(team_id, mode)
        except QuotaExceeded as exc:
            log.warning("execution refused: %s", exc.message, extra={"team_id": team_id, "mode": mode})
            return False
        return True

    def release(self, team_id: str, mode: str) -> None:
        """An admitted execution did not start after all."""
        if mode in UNCOUNTED_MODES:
            return
        with self._lock:
            team = self._teams.get(team_id)
            if team is not None and team.count > 0:
                team.count -= 1

    def forget(self, team_id: str) -> None:
        """Re-read the team at its next execution (its plan changed in this process)."""
        with self._lock:
            team = self._teams.get(team_id)
            if team is not None:
                team.refresh_at = 0.0

    def forget_all(self) -> None:
        """Re-read every team (a plan's limits changed)."""
        with self._lock:
            for team in self._teams.values():
                team.refresh_at = 0.0

    def _refresh(self, team_id: str) -> _Team | None:
        with session_scope() as session:
            plan = team_plan(session, team_id)
            if plan is None:
                return None
            metered = session.scalar(select(Usage.quantity).where(
                Usage.team_id == team_id, Usage.period == plan.period.key, Usage.metric == EXECUTIONS)) or 0
        cap = plan.executions_cap
        fresh = _Team(plan, metered, cap, math.ceil((cap or 0) * self.grace_percent / 100),
                      time.monotonic() + self.ttl_s, plan.period.end.timestamp())
        with self._lock:
            known = self._teams.get(team_id)
            if known is not None and known.plan.period.key == plan.period.key:
                fresh.count = max(fresh.count, known.count)
            self._teams[team_id] = fresh
        return fresh

    def _refusal(self, team: _Team, mode: str) -> QuotaExceeded:
        plan = team.plan
        ends = plan.period.end.strftime("%Y-%m-%d %H:%M UTC")
        if mode in GRACE_MODES and team.grace:
            remedy = (f"; production webhooks already ran {team.grace:,} past it (the grace margin); the period "
                      f"ends {ends}")
        else:
            remedy = f", or wait for the period to end ({ends})"
        return exceeded(plan, "executions", team.count, team.cap, remedy)


@functools.cache
def execution_gate() -> ExecutionGate | None:
    """This process's gate; None when billing is off (``LINKFLOW_BILLING_BACKEND=free``)."""
    if not enabled():
        return None
    billing = get_settings().billing
    return ExecutionGate(billing.cache_seconds, billing.webhook_grace_percent)

