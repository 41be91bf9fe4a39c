"""Vendor webhook triggers (GitHub, Stripe, Slack, Telegram): their registrations at the vendor, and their secrets.

The only writer of ``vendor_webhooks``. Activation runs in two steps around the rest of it
(backend/workflows/activation.py):

1. ``plan`` (no network): which vendor trigger nodes need a new registration (new node, changed parameters or
   credential, or not registered), each with a new random path under ``/webhook/<vendor>/``; the webhook
   registry then claims every path, kept or new;
2. ``register`` (last, so nothing else of the activation can fail after it): the vendor calls. A new
   registration is made before the one it replaces is deleted, so a failure leaves the old one working. If any
   call fails, the registrations this activation made are deleted again and ``RegistrationFailed`` (a 4xx
   naming the vendor's message) rolls the activation back; the API then records the error on the row
   (``record_failure``) for the editor to show.

The secret each request is checked with (generated, or the vendor's own: Stripe's ``whsec_``, Slack's signing
secret) is sealed with the credential vault's key, bound to its row; the API never returns it.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass, field

import httpx
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.credentials.crypto import current_vault
from backend.credentials.service import injection_in_session
from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.errors import UserError
from backend.outbound import address_policy
from backend.settings import get_settings
from backend.vendorhooks.models import VendorWebhook
from backend.workflows.models import Workflow
from backend.workflows.service import latest_version
from backend.workflows.trigger_nodes import trigger_parameters
from nodes.sdk import NodeError, default_registry
from nodes.sdk.net import GuardedTransport
from nodes.sdk.vendor_webhook import REGISTER_TIMEOUT_S, Registration, VendorWebhookTrigger

log = logging.getLogger("linkflow.vendorhooks")
KIND = "vendor_webhook"
METHOD = "POST"
MAX_ERROR = 2000


class RegistrationFailed(UserError):
    """A vendor refused (or could not be reached for) a webhook registration; the activation is rolled back."""

    status_code = 422
    code = "vendor_registration_failed"

    def __init__(self, message: str, *, team_id: str, workflow_id: str, failures: dict[str, str]) -> None:
        super().__init__(message, [{"node": node_id, "message": error} for node_id, error in failures.items()])
        self.team_id, self.workflow_id, self.failures = team_id, workflow_id, failures


@dataclass(frozen=True, slots=True)
class VendorTarget:
    """What a request to a vendor trigger's URL is checked and shaped with (backend/webhooks/vendor_intake.py)."""

    trigger: VendorWebhookTrigger
    params: object


@dataclass
class _Wanted:
    node: dict
    trigger: VendorWebhookTrigger
    params: object
    credential_id: str
    path: str
    new: bool  # needs a registration at the vendor


@dataclass
class Plan:
    workflow: Workflow
    wanted: list[_Wanted] = field(default_factory=list)
    dropped: list[VendorWebhook] = field(default_factory=list)  # registered rows whose node is gone

    @property
    def routes(self) -> list[tuple[str, str, str]]:
        """(node id, method, path) for the webhook registry."""
        return [(w.node["id"], METHOD, w.path) for w in self.wanted]


def vendor_trigger(node_type: str, version: int = 1) -> VendorWebhookTrigger | None:
    cls = default_registry().get(node_type, version)
    return cls() if cls.trigger is not None and cls.trigger.kind == KIND else None


def vendor_nodes(definition: dict) -> list[tuple[dict, VendorWebhookTrigger]]:
    found = []
    for node in definition.get("nodes") or []:
        if node.get("disabled", False):
            continue
        trigger = vendor_trigger(node["type"], node.get("version", 1))
        if trigger is not None:
            found.append((node, trigger))
    return found


def plan(session: Session, workflow: Workflow, definition: dict) -> Plan:
    rows = {row.node_id: row for row in _rows(session, workflow.id)}
    result = Plan(workflow)
    for node, trigger in vendor_nodes(definition):
        params = _parameters(node, trigger)
        slot = next(iter(trigger.credential_slots))
        credential_id = (node.get("credentials") or {}).get(slot)
        if not credential_id:
            raise UserError(f"trigger node {_name(node)!r} has no {trigger.vendor} credential chosen; pick one in "
                            "the node's credentials before activating",
                            [{"node": node.get("name"), "message": f"no credential for {slot}"}])
        row = rows.pop(node["id"], None)
        same = (row is not None and row.status == "registered" and row.credential_id == credential_id
                and row.node_type == node["type"] and row.parameters == params.model_dump(mode="json"))
        path = row.path if same else f"{trigger.vendor.lower()}/{secrets.token_hex(16)}"
        result.wanted.append(_Wanted(node, trigger, params, credential_id, path, new=not same))
    result.dropped = [row for row in rows.values() if row.status == "registered"]
    return result


def register(session: Session, planned: Plan) -> None:
    """Make the planned registrations at the vendors (see the module docstring)."""
    workflow = planned.workflow
    made: list[tuple[_Wanted, Registration, dict]] = []
    failures: dict[str, str] = {}
    for wanted in planned.wanted:
        if not wanted.new:
            continue
        try:
            login = _login(session, workflow.team_id, wanted.credential_id, wanted.trigger)
            url = f"{get_settings().webhook_url}/webhook/{wanted.path}"
            registration = _call(wanted.trigger, lambda http, w=wanted, u=url, lg=login: w.trigger.register(
                http, lg, w.params, u, _new_secret()))
        except UserError as exc:
            failures[wanted.node["id"]] = f"{_name(wanted.node)}: {exc.message}"
            break
        made.append((wanted, registration, login))
    if failures:
        for wanted, registration, login in made:  # undo: nothing of this activation stays at the vendors
            _quietly_unregister(wanted.trigger, login, wanted.params, registration)
        message = "; ".join(failures.values())
        raise RegistrationFailed(f"activation was rolled back: {message}", team_id=workflow.team_id,
                                 workflow_id=workflow.id, failures=failures)
    rows = {row.node_id: row for row in _rows(session, workflow.id)}
    for wanted, registration, _ in made:
        row = rows.get(wanted.node["id"])
        if row is not None and row.status == "registered":
            _retire(session, row)  # the old registration, now replaced
        _store(session, workflow, wanted, registration, rows.get(wanted.node["id"]))
    for row in planned.dropped:
        _retire(session, row)
        session.delete(row)
    session.flush()


def unregister_workflow(session: Session, workflow_id: str) -> None:
    """Delete every registration of the workflow at its vendor (deactivation, deletion). A vendor that refuses
    does not stop the deactivation: the row keeps the error, saying what to delete by hand."""
    for row in _rows(session, workflow_id):
        if row.status == "registered":
            _retire(session, row)
    session.flush()


def record_failure(failure: RegistrationFailed) -> None:
    """Write a failed activation's errors on the nodes' rows (in a transaction of its own, after the rollback)."""
    with session_scope() as session:
        workflow = session.get(Workflow, failure.workflow_id)
        if workflow is None or workflow.team_id != failure.team_id:
            return
        definition_nodes = {}
        for node, trigger in vendor_nodes(latest_version(session, workflow).definition):
            definition_nodes[node["id"]] = (node, trigger)
        rows = {row.node_id: row for row in _rows(session, workflow.id)}
        for node_id, error in failure.failures.items():
            row = rows.get(node_id)
            if row is None and node_id in definition_nodes:
                node, trigger = definition_nodes[node_id]
                row = VendorWebhook(team_id=workflow.team_id, workflow_id=workflow.id, node_id=node_id,
                                    node_type=node["type"], vendor=trigger.vendor, status="not_registered",
                                    parameters={})
                session.add(row)
            if row is not None:
                row.error, row.updated_at = error[:MAX_ERROR], utcnow()


def list_status(session: Session, workflow_id: str) -> list[VendorWebhook]:
    return _rows(session, workflow_id)


def public_url(row: VendorWebhook) -> str | None:
    return f"{get_settings().webhook_url}/webhook/{row.path}" if row.status == "registered" and row.path else None


def request_secret(workflow_id: str, node_id: str, path: str) -> str | None:
    """The secret a request to ``/webhook/<path>`` is checked with, or None if the node is not registered there."""
    with session_scope() as session:
        row = session.scalar(select(VendorWebhook).where(
            VendorWebhook.workflow_id == workflow_id, VendorWebhook.node_id == node_id,
            VendorWebhook.status == "registered", VendorWebhook.path == path))
        if row is None or row.secret is None or row.key_id is None:
            return None
        return current_vault().open(row.key_id, row.secret, _aad(row), f"the {row.vendor} webhook secret").decode()


def reseal_secrets(session: Session) -> int:
    """Seal every stored webhook secret again under the vault's current key (``linkflow credentials rotate-key``)."""
    vault = current_vault()
    rows = session.scalars(select(VendorWebhook).where(VendorWebhook.secret.is_not(None))
                           .order_by(VendorWebhook.id).with_for_update()).all()
    for row in rows:
        plain = vault.open(row.key_id or "", row.secret, _aad(row), f"the {row.vendor} webhook secret")
        row.key_id, row.secret = vault.seal(plain, _aad(row))
    session.flush()
    return len(rows)


# ---- helpers ---------------------------------------------------------------------------------------------------

def _rows(session: Session, workflow_id: str) -> list[VendorWebhook]:
    return list(session.scalars(select(VendorWebhook).where(VendorWebhook.workflow_id == workflow_id)
                                .order_by(VendorWebhook.node_id)))


def _parameters(node: dict, trigger: VendorWebhookTrigger):
    return trigger_parameters(node, node_class=trigger)


def _login(session: Session, team_id: str, credential_id: str, trigger: VendorWebhookTrigger) -> dict:
    kind, login = injection_in_session(session, team_id, credential_id)
    accepted = next(iter(trigger.credential_slots.values()))
    if kind not in accepted:
        raise UserError(f"the credential is of type {kind!r}; the {trigger.display_name} needs "
                        f"{' or '.join(map(repr, accepted))}")
    return login


def _call(trigger: VendorWebhookTrigger, action):
    """Run one vendor call with a client that obeys the address policy; errors become UserErrors."""
    try:
        with httpx.Client(transport=GuardedTransport(address_policy()), timeout=REGISTER_TIMEOUT_S,
                          trust_env=False) as http:
            return action(http)
    except NodeError as exc:  # the vendor's refusal (VendorRefused) or the address policy's
        raise UserError(exc.message) from None
    except httpx.TimeoutException:
        raise UserError(f"{trigger.vendor} did not answer within {REGISTER_TIMEOUT_S:g} s; try again") from None
    except httpx.HTTPError as exc:  # never the URL: Telegram's carries the bot token
        raise UserError(f"could not reach {trigger.vendor} ({type(exc).__name__}); check the credential's API "
                        "base URL and the network") from None


def _quietly_unregister(trigger: VendorWebhookTrigger, login: dict, params, registration: Registration) -> str | None:
    try:
        _call(trigger, lambda http: trigger.unregister(http, login, params, registration))
    except UserError as exc:
        log.warning("%s webhook %s could not be deleted: %s", trigger.vendor, registration.external_id, exc.message)
        return exc.message
    return None


def _retire(session: Session, row: VendorWebhook) -> None:
    """Delete the row's registration at the vendor and mark it not registered (the error kept if that failed)."""
    trigger = vendor_trigger(row.node_type)
    error = None
    try:
        login = _login(session, row.team_id, row.credential_id or "", trigger)
        params = trigger.Parameters.model_validate(row.parameters)
    except (UserError, ValidationError) as exc:
        error = getattr(exc, "message", str(exc))
    else:
        error = _quietly_unregister(trigger, login, params, Registration(row.external_id, ""))
    row.status, row.secret, row.key_id, row.path, row.updated_at = "not_registered", None, None, "", utcnow()
    row.error = (f"the {row.vendor} webhook {row.external_id} could not be deleted ({error}); delete it at "
                 f"{row.vendor} by hand")[:MAX_ERROR] if error else None
    row.external_id = ""


def _store(session: Session, workflow: Workflow, wanted: _Wanted, registration: Registration,
           row: VendorWebhook | None) -> None:
    if row is None:
        row = VendorWebhook(team_id=workflow.team_id, workflow_id=workflow.id, node_id=wanted.node["id"])
        session.add(row)
    row.node_type, row.vendor, row.status, row.path = wanted.node["type"], wanted.trigger.vendor, "registered", \
        wanted.path
    row.external_id, row.credential_id = registration.external_id, wanted.credential_id
    row.parameters = json.loads(wanted.params.model_dump_json())
    row.key_id, row.secret = current_vault().seal(registration.secret.encode(), _aad(row))
    row.error, row.registered_at, row.updated_at = None, utcnow(), utcnow()


def _aad(row: VendorWebhook) -> bytes:
    return f"vendor_webhook:{row.team_id}:{row.workflow_id}:{row.node_id}".encode()


def _new_secret() -> str:
    return secrets.token_urlsafe(32)  # letters, digits, - and _: what Telegram's secret_token allows


def _name(node: dict) -> str:
    return str(node.get("name") or node["id"])
