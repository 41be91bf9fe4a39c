"""Pinning the open node's output as test data (the node panel's Data tab)."""

from __future__ import annotations

import json

import reflex as rx

from ui.editor import graph, pins
from ui.state.editor import EditorState


class PinState(rx.State):
    node_id: str = ""
    node_name: str = ""
    can_pin: bool = False  # one output, not a loop
    pinned: bool = False
    has_output: bool = False  # the last run gave this node an output to pin
    editing: bool = False
    pin_text: str = ""
    pin_error: str = ""

    def refresh(self, editor: EditorState, node: dict | None, output: dict | None) -> None:
        """Show the pin of `node` as the definition has it now; `output` is its last run's output."""
        if node is None:
            self.node_id = self.node_name = ""
            self.can_pin = self.pinned = self.has_output = self.editing = False
            return
        if node["id"] != self.node_id:
            self.editing, self.pin_error = False, ""
        self.node_id, self.node_name = node["id"], node["name"]
        self.can_pin = graph.can_pin(node, editor.catalog_entry(node["type"]))
        pinned = (editor.definition().get("pin_data") or {}).get(node["name"])
        self.pinned, self.has_output = pinned is not None, output is not None
        if not self.editing:
            self.pin_text = _pretty(pinned if pinned is not None else pins.first_output(output) or [{"json": {}}])

    async def _editor_and_output(self) -> tuple[EditorState, dict | None]:
        from ui.state.run import RunState

        editor = await self.get_state(EditorState)
        data = (await self.get_state(RunState)).data_of(self.node_id)
        return editor, (data or {}).get("output")

    async def _refresh_canvas_panel(self, editor: EditorState, output: dict | None) -> None:
        node = graph.node_by_id(editor.definition(), self.node_id)
        self.refresh(editor, node, output)

    @rx.event
    async def pin_output(self):
        editor, output = await self._editor_and_output()
        if output is None:
            return rx.toast.error("Run the workflow first: this node has no output to pin yet")
        editor.set_pin(self.node_name, pins.first_output(output))
        self.editing = False
        await self._refresh_canvas_panel(editor, output)
        return rx.toast.success(f"Pinned the output of {self.node_name}: manual runs use it instead of running it")

    @rx.event
    async def unpin(self):
        editor, output = await self._editor_and_output()
        editor.set_pin(self.node_name, None)
        self.editing = False
        await self._refresh_canvas_panel(editor, output)

    @rx.event
    def start_editing(self):
        self.editing, self.pin_error = True, ""

    @rx.event
    async def cancel_editing(self):
        self.editing, self.pin_error = False, ""
        editor, output = await self._editor_and_output()
        await self._refresh_canvas_panel(editor, output)

    @rx.event
    def set_pin_text(self, text: str):
        self.pin_text, self.pin_error = text, ""

    @rx.event
    async def save_pin_text(self):
        try:
            items = pins.parse_pin_text(self.pin_text)
        except ValueError as exc:
            self.pin_error = str(exc)
            return None
        size = len(json.dumps(items))
        if size > pins.MAX_PIN_BYTES:
            self.pin_error = f"Pinned data is {size:,} bytes; the limit is {pins.MAX_PIN_BYTES:,}"
            return None
        editor, output = await self._editor_and_output()
        editor.set_pin(self.node_name, items)
        self.editing = False
        await self._refresh_canvas_panel(editor, output)
        return rx.toast.success(f"Pinned {len(items)} item{'s' if len(items) != 1 else ''} on {self.node_name}")


def _pretty(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)
