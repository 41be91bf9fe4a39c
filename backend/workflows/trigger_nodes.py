"""The trigger nodes of a definition that a trigger service runs (schedules, listeners), and their parameters."""

from __future__ import annotations

from pydantic import BaseModel, ValidationError

from backend.errors import UserError
from nodes.sdk import default_registry


def trigger_nodes(definition: dict, kind: str) -> list[dict]:
    """The enabled nodes of the definition whose type is a trigger of `kind` ("schedule", "listener")."""
    registry = default_registry()
    found = []
    for node in definition.get("nodes") or []:
        trigger = registry.get(node["type"], node.get("version", 1)).trigger
        if trigger is not None and trigger.kind == kind and not node.get("disabled", False):
            found.append(node)
    return found


def trigger_parameters(node: dict, what: str = "trigger node", node_class: type | None = None) -> BaseModel:
    """The node's Parameters (of `node_class`, else its registered type), or a UserError naming the node (as
    `what`) and each problem."""
    node_class = node_class or default_registry().get(node["type"], node.get("version", 1))
    try:
        return node_class.Parameters.model_validate(node.get("parameters") or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'parameters'}: {e['msg']}" for e in exc.errors())
        raise UserError(f"{what} {str(node.get('name') or node['id'])!r} has invalid parameters: {problems}",
                        [{"node": node.get("name"), "message": problems}]) from None
