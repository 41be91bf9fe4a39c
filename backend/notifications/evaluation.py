"""What a notification rule makes of one outcome of a workflow: pure, so every case is a unit test.

A rule fires on a trigger (a failure, a recovery, a run longer than its threshold, an error workflow
firing). Occurrences are rate-limited per rule and workflow: the first occurrence is told at once and
opens a window of `window_s`; later occurrences inside the window are counted, not sent. The next
message (the first occurrence after the window, or the success that ends a failure burst) carries
the count: "3 failures of "Orders" in the last 12 min". A recovery (the first success after
failures) is always told, with how many failures it ends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

Trigger = Literal["failure", "recovery", "long_run", "error_workflow"]
TRIGGERS: tuple[Trigger, ...] = ("failure", "recovery", "long_run", "error_workflow")
OutcomeKind = Literal["failed", "succeeded", "error_started"]


@dataclass(frozen=True)
class RuleSpec:
    trigger: Trigger
    window_s: int = 600
    threshold_s: int | None = None  # long_run only


@dataclass(frozen=True)
class State:
    failures_in_row: int = 0
    window_started_at: datetime | None = None
    suppressed: int = 0
    first_suppressed_at: datetime | None = None


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    at: datetime  # when the run finished (or, for error_started, was queued)
    duration_s: float | None = None
    error: str = ""


@dataclass(frozen=True)
class Decision:
    """A message to send: what happened, how many times, since when."""

    trigger: Trigger
    count: int
    since: datetime
    at: datetime
    summary: bool = False  # a success closed a burst: these occurrences were not told yet


def decide(rule: RuleSpec, state: State, outcome: Outcome) -> tuple[State, Decision | None]:
    """The rule's new state for this workflow, and the message to send (None: nothing now)."""
    failures_before = state.failures_in_row
    if outcome.kind == "failed":
        state = replace(state, failures_in_row=failures_before + 1)
    elif outcome.kind == "succeeded":
        state = replace(state, failures_in_row=0)

    if rule.trigger == "recovery":
        if outcome.kind == "succeeded" and failures_before > 0:
            return state, Decision("recovery", failures_before, outcome.at, outcome.at)
        return state, None
    if rule.trigger == "failure" and outcome.kind == "succeeded":
        return _burst_ends(state, outcome)
    if _occurs(rule, outcome):
        return _occurrence(rule, state, outcome)
    return state, None


def _occurs(rule: RuleSpec, outcome: Outcome) -> bool:
    if rule.trigger == "failure":
        return outcome.kind == "failed"
    if rule.trigger == "error_workflow":
        return outcome.kind == "error_started"
    if rule.trigger == "long_run":
        return (outcome.kind in ("failed", "succeeded") and outcome.duration_s is not None
                and rule.threshold_s is not None and outcome.duration_s > rule.threshold_s)
    return False


def _occurrence(rule: RuleSpec, state: State, outcome: Outcome) -> tuple[State, Decision | None]:
    opened = state.window_started_at
    if opened is not None and (outcome.at - opened).total_seconds() < rule.window_s:
        return replace(state, suppressed=state.suppressed + 1,
                       first_suppressed_at=state.first_suppressed_at or outcome.at), None
    decision = Decision(rule.trigger, state.suppressed + 1, state.first_suppressed_at or outcome.at, outcome.at)
    return replace(state, window_started_at=outcome.at, suppressed=0, first_suppressed_at=None), decision


def _burst_ends(state: State, outcome: Outcome) -> tuple[State, Decision | None]:
    """A success ends the failure burst: the failures not told yet are told now; the next failure opens
    a new burst (and is told at once)."""
    closed = replace(state, window_started_at=None, suppressed=0, first_suppressed_at=None)
    if state.suppressed == 0:
        return closed, None
    return closed, Decision("failure", state.suppressed, state.first_suppressed_at or outcome.at, outcome.at,
                            summary=True)


def minutes(decision: Decision) -> int:
    """The span the message talks about, in whole minutes (at least 1)."""
    return max(1, math.ceil((decision.at - decision.since).total_seconds() / 60))


def title(decision: Decision, workflow: str, threshold_s: int | None = None) -> str:
    name = f"\"{workflow[:200]}\""
    n, span = decision.count, f"in the last {minutes(decision)} min"
    if decision.trigger == "recovery":
        return f"Workflow {name} recovered after {n} failure{'s' if n > 1 else ''}"
    if decision.trigger == "failure":
        if decision.summary:
            return f"{n} more failure{'s' if n > 1 else ''} of {name} {span}, then a run succeeded"
        return f"Workflow {name} failed" if n == 1 else f"{n} failures of {name} {span}"
    if decision.trigger == "long_run":
        limit = f"longer than {threshold_s} s"
        return f"A run of {name} took {limit}" if n == 1 else f"{n} runs of {name} took {limit} {span}"
    return f"Error workflow {name} fired" if n == 1 else f"Error workflow {name} fired {n} times {span}"
