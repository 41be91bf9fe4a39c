"""The node catalog the editor builds its palette and forms from: read from the one node registry."""

from __future__ import annotations

from backend.errors import NotFound
from nodes.sdk import default_registry
from nodes.sdk.registry import UnknownNodeType


def catalog() -> list[dict]:
    """Every installed node type and version; ``latest`` marks the newest version of each type."""
    entries = default_registry().catalog()
    newest: dict[str, int] = {}
    for entry in entries:
        newest[entry["type"]] = max(newest.get(entry["type"], 0), entry["version"])
    return [{**entry, "latest": entry["version"] == newest[entry["type"]]} for entry in entries]


def groups(entries: list[dict]) -> list[dict]:
    """The palette sections in catalog order, each with its node types."""
    found: dict[str, list[str]] = {}
    for entry in entries:
        types = found.setdefault(entry["group"], [])
        if entry["type"] not in types:
            types.append(entry["type"])
    return [{"group": name, "types": types} for name, types in found.items()]


def describe(type_name: str, version: int | None = None) -> dict:
    """One node type's entry; without a version, its newest one."""
    try:
        cls = default_registry().get(type_name, version)
    except UnknownNodeType as exc:
        raise NotFound(f"{exc}; GET /api/v1/nodes lists the installed node types") from None
    entry = cls.describe()
    newest = default_registry().get(type_name)
    return {**entry, "latest": newest.version == cls.version}
