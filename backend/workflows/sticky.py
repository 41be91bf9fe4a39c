"""Sticky notes: text on the canvas, saved with the definition, never seen by the engine.

    "sticky_notes": [{"id": "n1", "text": "# Why\\nexplains the branch", "position": [0, 0],
                      "size": [240, 160], "color": "yellow"}]
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from backend.engine.params import format_loc

MAX_STICKY_NOTES = 200
COLORS = ("yellow", "blue", "green", "pink", "gray")


class StickyNote(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=100)
    text: str = Field("", max_length=20_000)
    position: tuple[float, float] = (0.0, 0.0)
    size: tuple[float, float] = (240.0, 160.0)
    color: Literal[COLORS] = "yellow"  # type: ignore[valid-type]


_NOTES = TypeAdapter(list[StickyNote])


def sticky_note_problems(raw: Any) -> tuple[list[dict], list[str]]:
    """(the notes as stored, []) or ([], every problem with them)."""
    if raw is None:
        return [], []
    if isinstance(raw, list) and len(raw) > MAX_STICKY_NOTES:
        return [], [f"a workflow has at most {MAX_STICKY_NOTES} sticky notes, got {len(raw)}"]
    try:
        notes = _NOTES.validate_python(raw)
    except ValidationError as exc:
        return [], [f"sticky_notes{format_loc(tuple(e['loc']))}: {e['msg']}" for e in exc.errors()]
    ids = [note.id for note in notes]
    if len(set(ids)) != len(ids):
        return [], ["sticky notes must have unique ids"]
    for note in notes:
        note.size = (min(max(note.size[0], 80.0), 4000.0), min(max(note.size[1], 60.0), 4000.0))
    return [note.model_dump(mode="json") for note in notes], []
