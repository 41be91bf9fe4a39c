"""The calls other services make into billing, one line where they start executions, activate a
workflow or add a member. With ``LINKFLOW_BILLING_BACKEND=free`` each returns at once.

    admit_execution(team_id, "webhook")      # 402 QuotaExceeded past the plan (+ grace for webhooks)
    release_execution(team_id, "webhook")    # it did not start after all
    check_active_workflows(session, team_id) # after marking a workflow active, in that transaction
"""

from __future__ import annotations

from backend.billing.gate import execution_gate
from backend.billing.limits import check_active_workflows, check_invitation, check_join
from backend.billing.plans import enabled
from backend.billing.unsaved import record_unsaved_run

__all__ = ["admit_execution", "admits_execution", "check_active_workflows", "check_invitation", "check_join",
           "release_execution", "unsaved_run"]


def admit_execution(team_id: str, mode: str) -> None:
    gate = execution_gate()
    if gate is not None:
        gate.admit(team_id, mode)


def admits_execution(team_id: str, mode: str) -> bool:
    gate = execution_gate()
    return gate is None or gate.admits(team_id, mode)


def release_execution(team_id: str, mode: str) -> None:
    gate = execution_gate()
    if gate is not None:
        gate.release(team_id, mode)


def unsaved_run(team_id: str, execution_id: str, workflow_id: str | None, mode: str, status: str) -> None:
    """A webhook run that saved no row still counts: it goes into the loop iteration's one outbox event."""
    if enabled():
        record_unsaved_run(team_id, execution_id, workflow_id, mode, status)
