"""Notification rules: the only writer of `notification_rules`. A rule sends one trigger's messages
(backend/notifications/evaluation.py) for one workflow, or all of the team's, to one channel."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import NotFound, UserError
from backend.events.outbox import emit
from backend.notifications.channels import get_channel
from backend.notifications.models import NotificationRule
from backend.workflows.models import Workflow

NULLABLE = frozenset({"workflow_id", "threshold_s"})  # null: every workflow; no threshold
FIELDS = ("name", "workflow_id", "channel_id", "trigger", "threshold_s", "window_s", "enabled")


def list_rules(session: Session, team_id: str) -> list[NotificationRule]:
    return list(session.scalars(select(NotificationRule).where(NotificationRule.team_id == team_id)
                                .order_by(NotificationRule.created_at, NotificationRule.id)))


def get_rule(session: Session, team_id: str, rule_id: str) -> NotificationRule:
    rule = session.get(NotificationRule, rule_id)
    if rule is None or rule.team_id != team_id:
        raise NotFound(f"notification rule {rule_id!r} does not exist in this team")
    return rule


def create_rule(session: Session, *, team_id: str, user_id: str | None, values: dict) -> NotificationRule:
    rule = NotificationRule(team_id=team_id, created_by=user_id)
    _apply(session, rule, values)
    session.add(rule)
    session.flush()
    _audit(session, rule, "notification_rule.create", user_id)
    return rule


def update_rule(session: Session, rule: NotificationRule, *, user_id: str | None, values: dict) -> NotificationRule:
    _apply(session, rule, values)
    session.flush()
    _audit(session, rule, "notification_rule.update", user_id)
    return rule


def delete_rule(session: Session, rule: NotificationRule, *, user_id: str | None) -> None:
    _audit(session, rule, "notification_rule.delete", user_id)
    session.delete(rule)
    session.flush()


def _apply(session: Session, rule: NotificationRule, values: dict) -> None:
    """Check everything first, then change the row: a refused update changes nothing."""
    given = {k: v for k, v in values.items() if k in FIELDS and (v is not None or k in NULLABLE)}
    merged = {name: getattr(rule, name) for name in FIELDS} | given
    if merged.get("workflow_id"):
        workflow = session.get(Workflow, merged["workflow_id"])
        if workflow is None or workflow.team_id != rule.team_id:
            raise NotFound(f"workflow {merged['workflow_id']!r} does not exist in this team; choose one of "
                           "its workflows, or none for every workflow of the team")
    get_channel(session, rule.team_id, merged["channel_id"])
    if merged["trigger"] == "long_run" and not merged.get("threshold_s"):
        raise UserError("a long_run rule needs threshold_s: runs longer than this many seconds are told")
    if merged.get("window_s") is None:
        merged["window_s"] = 600
    if merged.get("enabled") is None:
        merged["enabled"] = True
    merged["name"] = (merged.get("name") or "").strip()
    if not merged["name"]:
        raise UserError("a notification rule needs a name")
    for name, value in merged.items():
        setattr(rule, name, value)


def _audit(session: Session, rule: NotificationRule, action: str, user_id: str | None) -> None:
    emit(session, "audit.log", rule.team_id, {
        "action": action, "actor_id": user_id, "actor_type": "user" if user_id else "system",
        "team_id": rule.team_id, "object_type": "notification_rule", "object_id": rule.id,
        "details": {"name": rule.name, "trigger": rule.trigger, "channel_id": rule.channel_id,
                    "workflow_id": rule.workflow_id}})
