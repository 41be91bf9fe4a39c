"""A workflow version made ready to answer webhook requests, once per version.

Versions never change, so a compiled ``Target`` is cached by version id for the life of
the process. Compiling here does the work a request would otherwise repeat: parsing the
trigger parameters, applying the response timeout, and compiling the engine plan, whose
own definition object is then handed to ``run`` so the engine finds the plan by identity
instead of serialising the definition (see backend/engine/plan.py).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from pydantic import ValidationError

from backend.db.session import session_scope
from backend.engine.definition import WorkflowDefinition
from backend.engine.plan import InvalidWorkflow, compile_plan
from backend.errors import NotFound
from backend.vendorhooks.service import VendorTarget, vendor_nodes
from backend.webhooks.persist import dumps
from backend.webhooks.service import webhook_nodes
from backend.workflows.models import WorkflowVersion
from backend.workflows.secrets import masked
from backend.workflows.service import production_definition
from nodes.builtin.webhook import WebhookParameters
from nodes.sdk import default_registry

DEFAULT_TIMEOUT_S = 30.0  # a synchronous answer is never held longer than this without settings.timeout_s
MAX_CACHED_TARGETS = 512


@dataclass(frozen=True, slots=True)
class Target:
    version_id: str | None
    definition: dict  # as saved: what the execution row keeps, and what a worker resumes
    definition_json: str  # the same, serialised once for the execution rows
    runnable: WorkflowDefinition | dict  # what run() gets: the cached plan's own definition
    triggers: dict[str, WebhookParameters]  # Webhook node id -> its parameters
    save_data: str  # all | errors | none
    timeout_s: float
    vars_probe: dict  # the definition when it reads $vars, else {} (engine_services scans it per call)
    vendors: dict[str, VendorTarget] = field(default_factory=dict)  # vendor trigger node id -> node and parameters


def compile_target(definition: dict, version_id: str | None = None) -> Target:
    triggers = dict(webhook_nodes(definition))  # with their secrets: requests are checked against them
    definition = masked(definition)  # what runs and what execution rows keep: never a secret
    settings = definition.get("settings") or {}
    timeout_s = float(settings.get("timeout_s") or DEFAULT_TIMEOUT_S)
    timed = {**definition, "settings": {**settings, "timeout_s": timeout_s}}
    try:
        runnable: WorkflowDefinition | dict = compile_plan(timed, default_registry()).definition
    except InvalidWorkflow:
        runnable = timed  # run() reports the problems as a failed execution
    return Target(
        version_id=version_id, definition=definition, definition_json=dumps(definition), runnable=runnable,
        triggers=triggers, save_data=settings.get("save_data", "all"),
        timeout_s=timeout_s, vars_probe=definition if "$vars" in json.dumps(definition) else {},
        vendors=_vendor_targets(definition),
    )


def _vendor_targets(definition: dict) -> dict[str, VendorTarget]:
    found = {}
    for node, trigger in vendor_nodes(definition):
        try:
            found[node["id"]] = VendorTarget(trigger, trigger.Parameters.model_validate(node.get("parameters") or {}))
        except ValidationError:
            continue  # activation refuses such a node; a request to it finds no trigger (404)
    return found


def version_target(version_id: str) -> Target:
    with _lock:
        target = _targets.get(version_id)
        if target is not None:
            _targets.move_to_end(version_id)
            return target
    with session_scope() as session:
        version = session.get(WorkflowVersion, version_id)
        if version is None:
            raise NotFound(f"workflow version {version_id} no longer exists; activate the workflow again")
        definition = production_definition(version.definition)
    target = compile_target(definition, version_id)
    with _lock:
        _targets[version_id] = target
        if len(_targets) > MAX_CACHED_TARGETS:
            _targets.popitem(last=False)
    return target


_targets: OrderedDict[str, Target] = OrderedDict()
_lock = threading.Lock()
