"""Sticky notes on the canvas: kept in the definition's ``sticky_notes``, never run.

Each note is ``{"id", "text", "position": [x, y], "size": [w, h], "color"}``; the canvas
draws it as a React Flow node of type "sticky" behind the workflow's nodes.
"""

from __future__ import annotations

import uuid

from ui.editor.graph import normalized

DEFAULT_SIZE = (260, 160)
MAX_TEXT = 20_000
NEW_TEXT = "## Note\nDouble-click to edit. **Bold**, `code`, - lists"


def canvas_sticky(note: dict) -> dict:
    x, y = (note.get("position") or [0, 0])[:2]
    width, height = (note.get("size") or DEFAULT_SIZE)[:2]
    return {"id": note["id"], "type": "sticky", "position": {"x": x, "y": y}, "width": width, "height": height,
            "zIndex": -1, "data": {"text": note.get("text", ""), "color": note.get("color", "yellow")}}


def add_sticky(definition: dict, position: tuple[float, float]) -> tuple[dict, dict]:
    definition = normalized(definition)
    note = {"id": f"sticky-{uuid.uuid4().hex[:8]}", "text": NEW_TEXT,
            "position": [round(position[0]), round(position[1])], "size": list(DEFAULT_SIZE), "color": "yellow"}
    definition["sticky_notes"] = [*definition.get("sticky_notes", []), note]
    return definition, note


def update_sticky(definition: dict, note_id: str, changes: dict) -> dict | None:
    """The definition with one note's text, size or position changed; None if nothing changed."""
    definition = normalized(definition)
    note = next((n for n in definition.get("sticky_notes", []) if n["id"] == note_id), None)
    if note is None:
        return None
    before = dict(note)
    if isinstance(changes.get("text"), str):
        note["text"] = changes["text"][:MAX_TEXT]
    if _number(changes.get("width")) and _number(changes.get("height")):
        note["size"] = [max(80, round(changes["width"])), max(60, round(changes["height"]))]
    if _number(changes.get("x")) and _number(changes.get("y")):
        note["position"] = [round(changes["x"]), round(changes["y"])]
    if changes.get("color") in ("yellow", "blue", "green", "pink", "gray"):
        note["color"] = changes["color"]
    return definition if note != before else None


def is_sticky(definition: dict, item_id: str) -> bool:
    return any(n["id"] == item_id for n in definition.get("sticky_notes", []))


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
