"""Activating a workflow: its newest version becomes the one webhooks and schedules run.

Activation registers the triggers in the same transaction as the change, so a conflicting
webhook path or a bad cron refuses the activation with a message instead of failing later:
the webhook service claims (method, path) pairs and the schedule service writes one row per
schedule node. ``workflow.events`` tells everyone else.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.billing import hooks as billing
from backend.events.outbox import emit
from backend.listeners.service import remove_workflow_listeners, sync_workflow_listeners
from backend.schedules.service import remove_workflow_schedules, sync_workflow_schedules
from backend.vendorhooks import service as vendorhooks
from backend.webhooks.service import register_workflow_webhooks, unregister_workflow_webhooks
from backend.workflows.models import Workflow
from backend.workflows.service import (
    InvalidDefinition,
    audit,
    check_activatable,
    checked_definition,
    latest_version,
)
from nodes.sdk import default_registry

# A manual trigger starts a run only when someone presses Run: nothing to activate.
ON_DEMAND_TRIGGERS = frozenset({"manual"})


def activate(session: Session, workflow: Workflow, *, user_id: str | None) -> Workflow:
    version = latest_version(session, workflow)
    check_activatable(version.definition)  # a draft's warnings, each named, before the other problems
    checked_definition(version.definition)
    _require_trigger(version.definition)
    workflow.active, workflow.active_version_id = True, version.id
    vendor_plan = vendorhooks.plan(session, workflow, version.definition)  # GitHub/Stripe/Slack/Telegram triggers
    register_workflow_webhooks(session, workflow, version.definition, vendor_plan.routes)  # Conflict names the other
    sync_workflow_schedules(session, workflow, version.definition)
    sync_workflow_listeners(session, workflow, version.definition)  # Redis/Kafka triggers: backend/listeners
    billing.check_active_workflows(session, workflow.team_id)  # 402 past the plan's active workflows
    emit(session, "workflow.events", workflow.id, {
        "type": "workflow.activated", "workflow_id": workflow.id, "team_id": workflow.team_id,
        "version_id": version.id, "version": version.number})
    audit(session, workflow, "workflow.activate", user_id, {"version": version.number})
    session.flush()
    vendorhooks.register(session, vendor_plan)  # last: calls the vendors, undoes its own calls if one fails
    return workflow


def deactivate(session: Session, workflow: Workflow, *, user_id: str | None) -> Workflow:
    was_active = workflow.active
    workflow.active, workflow.active_version_id = False, None
    unregister_workflow_webhooks(session, workflow.id)
    vendorhooks.unregister_workflow(session, workflow.id)  # deletes the webhooks at the vendors
    remove_workflow_schedules(session, workflow.id)
    remove_workflow_listeners(session, workflow.id)
    if was_active:
        emit(session, "workflow.events", workflow.id, {
            "type": "workflow.deactivated", "workflow_id": workflow.id, "team_id": workflow.team_id})
        audit(session, workflow, "workflow.deactivate", user_id, {})
    session.flush()
    return workflow


def _require_trigger(definition: dict) -> None:
    registry = default_registry()
    kinds = set()
    for node in definition.get("nodes", []):
        cls = registry.get(node["type"], node.get("version", 1))
        if cls.trigger is not None and not node.get("disabled", False):
            kinds.add(cls.trigger.kind)
    if not kinds - ON_DEMAND_TRIGGERS:
        found = f" (it has only: {', '.join(sorted(kinds))})" if kinds else ""
        raise InvalidDefinition(
            f"the workflow has no trigger that can start it on its own{found}; add a Webhook, "
            "Schedule, Redis Trigger, Kafka Trigger or a vendor trigger (GitHub, Stripe, Slack, Telegram) before activating it",
            [{"node": None, "message": "an active workflow needs a webhook, schedule or listener trigger"}])
