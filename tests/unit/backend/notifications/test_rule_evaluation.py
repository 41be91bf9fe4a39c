"""Rule evaluation (backend/notifications/evaluation.py): recovery, one message per failure burst with its
count, long runs, error workflows; a run of outcomes through `decide` as the evaluator feeds them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backend.notifications.evaluation import Outcome, RuleSpec, State, decide, title

T0 = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def run(rule: RuleSpec, outcomes: list[Outcome]) -> list[str]:
    """The titles of the messages the outcomes lead to, in order."""
    state, sent = State(), []
    for outcome in outcomes:
        state, decision = decide(rule, state, outcome)
        if decision is not None:
            sent.append(title(decision, "Orders", rule.threshold_s))
    return sent


def failed(minutes: float) -> Outcome:
    return Outcome("failed", at(minutes), 1.0, "boom")


def succeeded(minutes: float, duration_s: float = 1.0) -> Outcome:
    return Outcome("succeeded", at(minutes), duration_s)


def test_a_burst_of_failures_is_one_message_then_one_with_the_count():
    rule = RuleSpec("failure", window_s=600)
    assert run(rule, [failed(0), failed(1), failed(2), failed(3)]) == ['Workflow "Orders" failed']
    # after the window, the next failure tells the three held back and itself
    assert run(rule, [failed(0), failed(1), failed(2), failed(3), failed(11)]) == [
        'Workflow "Orders" failed', '4 failures of "Orders" in the last 10 min']


def test_a_success_closes_the_burst_and_tells_what_was_held_back():
    rule = RuleSpec("failure", window_s=600)
    assert run(rule, [failed(0), failed(1), failed(4), succeeded(5), failed(6)]) == [
        'Workflow "Orders" failed', '2 more failures of "Orders" in the last 4 min, then a run succeeded',
        'Workflow "Orders" failed']  # a new burst is told at once
    assert run(rule, [failed(0), succeeded(1), succeeded(2)]) == ['Workflow "Orders" failed']


def test_recovery_is_the_first_success_after_failures_only():
    rule = RuleSpec("recovery")
    assert run(rule, [succeeded(0), failed(1), failed(2), failed(3), succeeded(4), succeeded(5)]) == [
        'Workflow "Orders" recovered after 3 failures']
    assert run(rule, [failed(1), succeeded(2), failed(3), succeeded(4)]) == [
        'Workflow "Orders" recovered after 1 failure', 'Workflow "Orders" recovered after 1 failure']
    assert run(rule, [succeeded(0), succeeded(1)]) == []


def test_long_runs_count_both_outcomes_above_the_threshold_and_are_rate_limited():
    rule = RuleSpec("long_run", window_s=600, threshold_s=30)
    outcomes = [succeeded(0, 31), succeeded(1, 30), Outcome("failed", at(2), 45.0), succeeded(3, 5),
                succeeded(12, 60)]
    assert run(rule, outcomes) == ['A run of "Orders" took longer than 30 s',
                                   '2 runs of "Orders" took longer than 30 s in the last 10 min']
    assert run(rule, [Outcome("succeeded", at(0), None)]) == []  # no duration known: nothing to say


def test_error_workflow_firing():
    rule = RuleSpec("error_workflow", window_s=60)
    fired = [Outcome("error_started", at(m)) for m in (0, 0.5, 2)]
    assert run(rule, fired + [failed(3)]) == ['Error workflow "Orders" fired',
                                              'Error workflow "Orders" fired 2 times in the last 2 min']


def test_a_window_of_zero_sends_every_occurrence():
    assert run(RuleSpec("failure", window_s=0), [failed(0), failed(0), failed(1)]) == [
        'Workflow "Orders" failed'] * 3


def test_the_state_keeps_failures_in_a_row_for_any_trigger():
    state, _ = decide(RuleSpec("long_run", threshold_s=10), State(), failed(0))
    state, _ = decide(RuleSpec("long_run", threshold_s=10), state, failed(1))
    assert state.failures_in_row == 2
    state, _ = decide(RuleSpec("long_run", threshold_s=10), state, succeeded(2))
    assert state.failures_in_row == 0
