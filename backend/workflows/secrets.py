"""Secret node parameters in workflow definitions (the Webhook node's auth secrets).

A node type declares a parameter secret in its parameters model (``writeOnly``, see
``NodeParameters.secret_names``). Workflow versions keep the value, because the webhook
intake checks callers against it, but:

* viewers read it as ``MASK`` in workflows, versions, diffs and exports; editors and
  above, who may change it, read it as saved;
* execution records never hold it: the definition snapshot of every execution is masked
  when its row is written (and snapshots written before this are masked when read);
* a definition saved with ``MASK`` keeps the saved value of that node's parameter, as the
  credentials form keeps a secret left blank; ``MASK`` with nothing saved to keep is refused.
"""

from __future__ import annotations

import functools

from nodes.sdk import NodeParameters, default_registry
from nodes.sdk.registry import UnknownNodeType

MASK = "********"


def masked(definition: dict) -> dict:
    """``definition`` with every secret parameter that holds a value replaced by MASK."""
    nodes = definition.get("nodes") if isinstance(definition, dict) else None
    if not isinstance(nodes, list) or not any(_secrets_in(node) for node in nodes):
        return definition
    return {**definition, "nodes": [_masked_node(node) if _secrets_in(node) else node for node in nodes]}


def keep_saved(definition: dict, saved: dict | None) -> tuple[dict, list[dict]]:
    """``definition`` with each MASK replaced by the value ``saved`` holds for that node and
    parameter; and a {node, message} problem for each MASK there is no saved value for."""
    saved_nodes = {n.get("id"): n for n in (saved or {}).get("nodes") or [] if isinstance(n, dict)}
    problems: list[dict] = []

    def restored(node: dict) -> dict:
        parameters = dict(node.get("parameters") or {})
        before = saved_nodes.get(node.get("id"))
        old = (before.get("parameters") or {}) if before and before.get("type") == node.get("type") else {}
        for name in _secret_names(node):
            if parameters.get(name) != MASK:
                continue
            if old.get(name) and old.get(name) != MASK:
                parameters[name] = old[name]
            else:
                problems.append({"node": node.get("name"), "message": f"{name} is masked ({MASK}) and there "
                                 "is no saved value to keep; type the secret itself"})
        return {**node, "parameters": parameters}

    nodes = definition.get("nodes") or []
    if not any(MASK in (node.get("parameters") or {}).values() for node in nodes if isinstance(node, dict)):
        return definition, []
    return {**definition, "nodes": [restored(n) if isinstance(n, dict) else n for n in nodes]}, problems


def _secrets_in(node: object) -> bool:
    if not isinstance(node, dict) or not isinstance(node.get("parameters"), dict):
        return False
    return any(node["parameters"].get(name) not in (None, "", MASK) for name in _secret_names(node))


def _masked_node(node: dict) -> dict:
    secret = _secret_names(node)
    return {**node, "parameters": {k: MASK if k in secret and v not in (None, "") else v
                                   for k, v in node["parameters"].items()}}


def _secret_names(node: dict) -> tuple[str, ...]:
    try:
        cls = default_registry().get(str(node.get("type")), node.get("version", 1))
    except (UnknownNodeType, TypeError):
        return ()
    return _declared(cls.Parameters)


@functools.cache
def _declared(parameters: type[NodeParameters]) -> tuple[str, ...]:
    return parameters.secret_names()
