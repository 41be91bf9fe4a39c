"""The execution state machine: every status change goes through `transition`."""

from __future__ import annotations

from backend.executions.models import Execution
from backend.executions.models import ExecutionStatus as S

ALLOWED: dict[S, frozenset[S]] = {
    S.QUEUED: frozenset({S.RUNNING, S.CANCELLED}),
    S.RUNNING: frozenset({S.WAITING, S.SUCCEEDED, S.FAILED, S.CANCELLED, S.QUEUED}),  # QUEUED: lease lost
    S.WAITING: frozenset({S.RUNNING, S.CANCELLED, S.QUEUED}),
    S.SUCCEEDED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}
FINISHED = frozenset({S.SUCCEEDED, S.FAILED, S.CANCELLED})


class IllegalTransition(ValueError):
    pass


def check_transition(execution_id: str, current: str, to: S) -> None:
    current = S(current)
    if to not in ALLOWED[current]:
        raise IllegalTransition(
            f"execution {execution_id} cannot go from {current} to {to}; "
            f"allowed from {current}: {sorted(ALLOWED[current]) or 'nothing (it has finished)'}"
        )


def transition(execution: Execution, to: S) -> None:
    check_transition(execution.id, execution.status, to)
    execution.status = to


def sources_of(to: S) -> list[S]:
    """Every status an execution may move to ``to`` from."""
    return [source for source, targets in ALLOWED.items() if to in targets]
