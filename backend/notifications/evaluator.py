"""The `notification-rules` consumer: execution.events in, notification.requested events out.

For every finished production run (and every error workflow queued) it runs the team's enabled rules
for that workflow (backend/notifications/evaluation.py). A message a rule asks for becomes a
`notification_deliveries` row and a `notification.requested` event, written in one transaction with
the rule's new state, through the outbox. A redelivered execution event finds its (rule, event) pair
in `notification_seen` and changes nothing.
"""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.events.bus import Event
from backend.events.outbox import emit
from backend.executions.models import Execution
from backend.notifications import evaluation
from backend.notifications.models import (
    NotificationChannel,
    NotificationDelivery,
    NotificationRule,
    NotificationRuleState,
    NotificationSeen,
)
from backend.settings import get_settings
from backend.workflows.models import Workflow

_IDS = uuid.UUID("3f0c9a8e-2b7d-4c51-9e64-8d1a7b2c5f90")
QUIET_MODES = frozenset({"manual", "test"})  # someone in the editor is watching the run
MAX_ERROR_CHARS = 2000


def _insert(session: Session):
    return {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[session.get_bind().dialect.name]


def outcome_kind(payload: dict) -> evaluation.OutcomeKind | None:
    kind, mode = payload.get("type"), payload.get("mode")
    if mode in QUIET_MODES or not payload.get("workflow_id"):
        return None
    if kind == "execution.failed":
        return "failed"
    if kind == "execution.succeeded":
        return "succeeded"
    if kind == "execution.queued" and mode == "error":
        return "error_started"
    return None


async def handle(event: Event) -> None:
    if outcome_kind(event.payload) is not None:
        await asyncio.to_thread(evaluate, event.payload)


async def handle_batch(events: list[Event]) -> dict[int, Exception]:
    """A batch of execution events: one query finds the teams with enabled rules, and only their events are
    evaluated (most teams have none, and most events are not outcomes)."""
    payloads = [event.payload for event in events if outcome_kind(event.payload) is not None]
    if payloads:
        await asyncio.to_thread(evaluate_batch, payloads)
    return {}


def evaluate_batch(payloads: list[dict]) -> int:
    """`evaluate` for each payload of a team that has enabled rules, in order; how many messages were requested."""
    with session_scope() as session:
        ruled = set(session.scalars(select(NotificationRule.team_id).distinct().where(
            NotificationRule.team_id.in_({payload["team_id"] for payload in payloads}),
            NotificationRule.enabled.is_(True))))
    return sum(evaluate(payload) for payload in payloads if payload["team_id"] in ruled)


def evaluate(payload: dict) -> int:
    """Run the rules an execution event concerns; how many messages were requested."""
    kind = outcome_kind(payload)
    if kind is None:
        return 0
    with session_scope() as session:
        rules = list(session.scalars(select(NotificationRule).where(
            NotificationRule.team_id == payload["team_id"], NotificationRule.enabled.is_(True),
            or_(NotificationRule.workflow_id.is_(None), NotificationRule.workflow_id == payload["workflow_id"]))
            .order_by(NotificationRule.id)))
        if not rules:
            return 0
        workflow = session.get(Workflow, payload["workflow_id"])
        if workflow is None or workflow.team_id != payload["team_id"]:
            return 0  # deleted since (or not this team's): nobody to tell about it
        outcome = _outcome(session, payload, kind)
        return sum(_apply_rule(session, rule, workflow, payload, outcome) for rule in rules)


def _outcome(session: Session, payload: dict, kind: evaluation.OutcomeKind) -> evaluation.Outcome:
    execution = session.get(Execution, payload["execution_id"])
    error = payload.get("error")
    message = (error.get("message") if isinstance(error, dict) else error) or ""
    if execution is None:
        return evaluation.Outcome(kind, utcnow(), None, str(message)[:MAX_ERROR_CHARS])
    at = execution.finished_at or execution.created_at or utcnow()
    duration = ((execution.finished_at - execution.started_at).total_seconds()
                if execution.finished_at and execution.started_at else None)
    return evaluation.Outcome(kind, at, duration, str(message)[:MAX_ERROR_CHARS])


def _apply_rule(session: Session, rule: NotificationRule, workflow: Workflow, payload: dict,
                outcome: evaluation.Outcome) -> int:
    seen_id = uuid.uuid5(_IDS, f"seen:{rule.id}:{payload['execution_id']}:{payload['type']}").hex
    inserted = session.execute(_insert(session)(NotificationSeen).values(id=seen_id, rule_id=rule.id)
                               .on_conflict_do_nothing(index_elements=["id"])).rowcount
    if not inserted:
        return 0  # this event was evaluated for this rule already
    row = _state_row(session, rule.id, workflow.id)
    state = evaluation.State(row.failures_in_row, row.window_started_at, row.suppressed, row.first_suppressed_at)
    spec = evaluation.RuleSpec(rule.trigger, rule.window_s, rule.threshold_s)
    state, decision = evaluation.decide(spec, state, outcome)
    row.failures_in_row, row.window_started_at = state.failures_in_row, state.window_started_at
    row.suppressed, row.first_suppressed_at = state.suppressed, state.first_suppressed_at
    if decision is None:
        return 0
    _request(session, rule, workflow, payload, outcome, decision)
    return 1


def _state_row(session: Session, rule_id: str, workflow_id: str) -> NotificationRuleState:
    """The rule's state for the workflow, locked (two executions of it may finish at once)."""
    session.execute(_insert(session)(NotificationRuleState).values(rule_id=rule_id, workflow_id=workflow_id)
                    .on_conflict_do_nothing(index_elements=["rule_id", "workflow_id"]))
    return session.scalars(select(NotificationRuleState).where(
        NotificationRuleState.rule_id == rule_id, NotificationRuleState.workflow_id == workflow_id)
        .with_for_update().execution_options(populate_existing=True)).one()


def _request(session: Session, rule: NotificationRule, workflow: Workflow, payload: dict,
             outcome: evaluation.Outcome, decision: evaluation.Decision) -> None:
    channel = session.get(NotificationChannel, rule.channel_id)
    request_id = uuid.uuid5(_IDS, f"request:{rule.id}:{payload['execution_id']}:{payload['type']}").hex
    title = evaluation.title(decision, workflow.name, rule.threshold_s)
    link = f"{get_settings().public_url}/executions/{payload['execution_id']}"
    body = _body(decision, workflow, outcome, payload, link)
    session.add(NotificationDelivery(id=request_id, team_id=rule.team_id, channel_id=rule.channel_id,
                                     rule_id=rule.id, title=title[:500]))
    emit(session, "notification.events", rule.team_id, {
        "type": "notification.requested", "team_id": rule.team_id, "channel": channel.kind,
        "kind": f"rule.{rule.trigger}", "title": title[:500], "body": body[:10_000],
        "execution_id": payload["execution_id"], "workflow_id": workflow.id, "request_id": request_id,
        "channel_id": channel.id, "rule_id": rule.id, "count": decision.count, "link": link[:2000]})


def _body(decision: evaluation.Decision, workflow: Workflow, outcome: evaluation.Outcome, payload: dict,
          link: str) -> str:
    lines = []
    if outcome.kind == "failed" and outcome.error:
        lines.append(f"Last error: {outcome.error}")
    if outcome.duration_s is not None and decision.trigger == "long_run":
        lines.append(f"The last run took {outcome.duration_s:.1f} s.")
    lines.append(f"Workflow: {workflow.name} · mode: {payload.get('mode')} · execution {payload['execution_id']}")
    lines.append(link)
    return "\n".join(lines)
