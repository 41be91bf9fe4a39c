"""Dotted field paths (``"address.city"``) into an item's json, shared by the data nodes.

A path is split on dots; each part is a dict key, or a list index when the value at
that point is a list and the part is a number (``"tags.0"``).
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Any

from nodes.sdk import Item

_MISSING = object()


class FieldPathError(ValueError):
    """A path cannot be written because something that is not an object is in the way."""


def get_field(data: Any, path: str, default: Any = None) -> Any:
    """The value at ``path`` or ``default``: ``get_field({"a": {"b": 1}}, "a.b") == 1``."""
    current = data
    for part in path.split("."):
        current = _step(current, part)
        if current is _MISSING:
            return default
    return current


def has_field(data: Any, path: str) -> bool:
    return get_field(data, path, _MISSING) is not _MISSING


def set_field(data: dict, path: str, value: Any) -> None:
    """Write ``value`` at ``path`` in ``data`` (which the caller owns), creating objects on the way."""
    parts = path.split(".")
    current = data
    for depth, part in enumerate(parts[:-1]):
        child = current.get(part)
        if child is None:
            child = current[part] = {}
        elif not isinstance(child, dict):
            where = ".".join(parts[: depth + 1])
            raise FieldPathError(
                f"cannot set {path!r}: {where!r} holds a {type(child).__name__}, not an object; "
                "rename the field or remove the old value first"
            )
        current = child
    current[parts[-1]] = value


def delete_field(data: dict, path: str) -> None:
    """Remove ``path`` from ``data`` (which the caller owns) if it is there."""
    *parents, last = path.split(".")
    current: Any = data
    for part in parents:
        current = _step(current, part)
    if isinstance(current, dict):
        current.pop(last, None)


def _step(value: Any, part: str) -> Any:
    if isinstance(value, dict):
        return value.get(part, _MISSING)
    if isinstance(value, list) and part.lstrip("-").isdigit():
        index = int(part)
        return value[index] if -len(value) <= index < len(value) else _MISSING
    return _MISSING


def jsonable(value: Any) -> Any:
    """``value`` with datetimes as ISO text and tuples as lists, so items stay plain JSON."""
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    return value


def canonical(value: Any) -> str:
    """A text that is equal for equal JSON values (key order ignored); used to compare and group."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def new_item(data: dict, source: Item | None = None) -> Item:
    """An output item with json ``data`` that keeps the binary references of ``source``."""
    item: Item = {"json": data}
    if source is not None and source.get("binary"):
        item["binary"] = dict(source["binary"])
    return item
