"""What changed between two workflow definitions: nodes by id, connections, settings.

    diff_definitions(old, new) == {
        "nodes": {"added": [...], "removed": [...], "changed": [{"id", "name", "fields": {...}}]},
        "connections": {"added": [...], "removed": [...]},
        "settings": {"changed": {"timezone": {"from": "UTC", "to": "Europe/Berlin"}}},
    }

A changed field is named by its dotted path inside the node (``parameters.url``); lists
are compared whole.
"""

from __future__ import annotations

from typing import Any

_MISSING = None  # a field present on one side only shows up as None on the other


def diff_definitions(old: dict, new: dict) -> dict:
    return {
        "nodes": _node_changes(old.get("nodes") or [], new.get("nodes") or []),
        "connections": _connection_changes(old.get("connections") or [], new.get("connections") or []),
        "settings": {"changed": _changed_fields(old.get("settings") or {}, new.get("settings") or {})},
    }


def _node_changes(old_nodes: list[dict], new_nodes: list[dict]) -> dict:
    old = {n.get("id"): n for n in old_nodes}
    new = {n.get("id"): n for n in new_nodes}
    changed = []
    for node_id in old.keys() & new.keys():
        fields = _changed_fields(old[node_id], new[node_id])
        if fields:
            changed.append({"id": node_id, "name": new[node_id].get("name"), "fields": fields})
    return {
        "added": [_node_ref(new[i]) for i in new if i not in old],
        "removed": [_node_ref(old[i]) for i in old if i not in new],
        "changed": sorted(changed, key=lambda c: str(c["id"])),
    }


def _node_ref(node: dict) -> dict:
    return {"id": node.get("id"), "name": node.get("name"), "type": node.get("type")}


def _connection_changes(old: list[dict], new: list[dict]) -> dict:
    old_keys = {_connection_key(c): c for c in old}
    new_keys = {_connection_key(c): c for c in new}
    return {
        "added": [_connection_out(k) for k in new_keys if k not in old_keys],
        "removed": [_connection_out(k) for k in old_keys if k not in new_keys],
    }


def _connection_key(conn: dict) -> tuple:
    return (conn.get("from"), conn.get("output", "main"), conn.get("to"), conn.get("input", "main"))


def _connection_out(key: tuple) -> dict:
    return dict(zip(("from", "output", "to", "input"), key, strict=True))


def _changed_fields(old: dict, new: dict) -> dict[str, dict]:
    flat_old, flat_new = _flatten(old), _flatten(new)
    return {
        path: {"from": flat_old.get(path, _MISSING), "to": flat_new.get(path, _MISSING)}
        for path in sorted(flat_old.keys() | flat_new.keys())
        if flat_old.get(path, _MISSING) != flat_new.get(path, _MISSING) or (path in flat_old) != (path in flat_new)
    }


def _flatten(value: dict, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, item in value.items():
        path = f"{prefix}{key}"
        if isinstance(item, dict) and item:
            flat.update(_flatten(item, f"{path}."))
        else:
            flat[path] = item
    return flat
