"""The node panel: the open node's parameter form (from its JSON schema), settings, name and notes."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import reflex as rx

from ui.api_client import ApiError
from ui.editor import forms, listeners, preview
from ui.editor.forms import FormField
from ui.state.auth import call_api
from ui.state.editor import EditorState, on
from ui.state.pins import PinState

NO_INPUT_HINT = "No input yet — run the previous node (or pin its output) to preview with real data."
PREVIEW_DELAY_S = 0.35  # typing pauses this long before the preview is evaluated

NO_CREDENTIAL = "__none__"
SETTING_NUMBERS = {"retry.max_tries": int, "retry.wait_ms": int, "timeout_s": float}
SETTING_VARS = {"retry.max_tries": "max_tries", "retry.wait_ms": "wait_ms", "timeout_s": "timeout_s",
                "on_error": "on_error", "always_output": "always_output"}


class NodePanelState(rx.State):
    node_id: str = ""
    node_type: str = ""
    title: str = ""
    description: str = ""
    icon: str = "box"
    tab: str = "parameters"
    fields: list[FormField] = []
    name: str = ""
    name_error: str = ""
    notes: str = ""
    disabled: bool = False
    max_tries: str = ""
    wait_ms: str = ""
    timeout_s: str = ""
    on_error: str = "stop"
    always_output: bool = False
    node_problems: list[str] = []
    credential_slots: list[dict] = []  # [{slot, label, types, value, options: [{id, name}]}]
    production_url: str = ""
    test_url: str = ""
    vendor: str = ""  # a vendor webhook trigger's vendor ("GitHub"...), else ""
    vendor_status: str = ""  # registered | not_registered
    vendor_url: str = ""
    vendor_error: str = ""
    listener_trigger: str = ""  # a listener trigger's name ("Redis Trigger"...), else ""
    listener: dict[str, str] = {}  # listeners.listener_view of its status
    preview_hint: str = ""  # shown under expression previews when there is no data to evaluate against

    _drafts: dict[str, tuple[str, str]] = {}
    _previews: dict[str, tuple[str, str, str]] = {}  # field id -> (text evaluated, value shown, error)
    _preview_seq: int = 0

    # ---- called by EditorState ----------------------------------------------------------------
    async def show(self, editor: EditorState, node_id: str) -> None:
        if node_id != self.node_id:
            self._drafts, self.name_error, self._previews = {}, "", {}
        self.node_id = node_id
        await self.sync(editor)
        await self._load_trigger_status(editor)
        await self._preview_all(editor)

    def close(self) -> None:
        self.node_id, self._drafts = "", {}

    async def after_run(self) -> None:
        """A run finished: the pin buttons and the previews see its data."""
        if self.node_id:
            editor = await self.get_state(EditorState)
            await self.sync(editor)
            await self._preview_all(editor)

    async def sync(self, editor: EditorState) -> None:
        """Show the open node as the definition has it now (after undo, save, restore...)."""
        node = self._node(editor)
        from ui.state.run import RunState

        data = (await self.get_state(RunState)).data_of(self.node_id) if node else None
        (await self.get_state(PinState)).refresh(editor, node, (data or {}).get("output"))
        if node is None:
            self.close()
            return
        entry = editor.catalog_entry(node["type"]) or {}
        self.node_type, self.title = node["type"], entry.get("display_name", node["type"])
        self.description, self.icon = entry.get("description", ""), entry.get("icon") or "box"
        self.node_problems = editor.problems.get(self.node_id, [])
        self.fields = forms.with_problems(self._with_previews(
            forms.fields(entry.get("parameters_schema", {}), node.get("parameters", {}), self._drafts)),
            self.node_problems)
        self.name, self.notes, self.disabled = node["name"], node.get("notes", ""), bool(node.get("disabled"))
        settings = node.get("settings", {})
        retry = settings.get("retry", {})
        self.max_tries, self.wait_ms = _text(retry.get("max_tries")), _text(retry.get("wait_ms"))
        self.timeout_s, self.on_error = _text(settings.get("timeout_s")), settings.get("on_error", "stop")
        self.always_output = bool(settings.get("always_output"))
        chosen = node.get("credentials", {})
        self.credential_slots = [
            {"slot": slot, "label": slot.replace("_", " ").capitalize(), "types": ", ".join(types),
             "value": chosen.get(slot, NO_CREDENTIAL),
             "options": [{"id": NO_CREDENTIAL, "name": "(none)"},
                         *({"id": c["id"], "name": f"{c['name']} · {c['type']}"} for c in editor.credentials_of(types))]}
            for slot, types in (entry.get("credential_slots") or {}).items()]
        self.vendor = entry.get("display_name", "").removesuffix(" Trigger") \
            if entry.get("trigger") == "vendor_webhook" else ""
        self.listener_trigger = entry.get("display_name", node["type"]) if entry.get("trigger") == "listener" else ""
        hook = next((h for h in editor.webhooks if h["id"] == self.node_id), None)
        self.production_url = hook["production_url"] if hook else ""
        self.test_url = hook["test_url"] if hook else ""

    async def _load_trigger_status(self, editor: EditorState) -> None:
        """From GET /workflows/{id}/triggers: a vendor trigger's registration at its vendor, or a listener
        trigger's status (listening, the messages it took, its error)."""
        self.vendor_status, self.vendor_url, self.vendor_error = "not_registered", "", ""
        self.listener = listeners.listener_view(None, active=False) if self.listener_trigger else {}
        if not (self.vendor or self.listener_trigger) or not editor.workflow_id:
            return
        try:
            found = await call_api(self, "GET", f"/workflows/{editor.workflow_id}/triggers")
        except ApiError as exc:
            problem = f"the trigger's status could not be read: {exc.message}"
            if self.vendor:
                self.vendor_error = problem
            else:
                self.listener = {**self.listener, "label": "Unknown", "color": "gray", "error": problem, "hint": ""}
            return
        if self.listener_trigger:
            row = next((r for r in found.get("listeners") or [] if r["node_id"] == self.node_id), None)
            self.listener = listeners.listener_view(row, active=bool(found.get("active")))
            return
        row = next((r for r in found.get("vendor_hooks") or [] if r["node_id"] == self.node_id), None)
        if row is not None:
            self.vendor_status, self.vendor_url = row["status"], row.get("url") or ""
            self.vendor_error = row.get("error") or ""

    @rx.event
    async def refresh_trigger_status(self):
        await self._load_trigger_status(await self.get_state(EditorState))

    def _node(self, editor: EditorState) -> dict | None:
        if not self.node_id:
            return None
        return next((n for n in editor.definition()["nodes"] if n["id"] == self.node_id), None)

    async def _editor(self) -> tuple[EditorState, dict]:
        editor = await self.get_state(EditorState)
        node = self._node(editor) or {}
        return editor, (editor.catalog_entry(node.get("type", "")) or {}).get("parameters_schema", {})

    # ---- expression previews ------------------------------------------------------------------
    def _with_previews(self, fields: list[FormField]) -> list[FormField]:
        """Fields with the previews already computed for exactly their current text."""
        def shown(spec, fid: str):
            cached = self._previews.get(fid)
            if cached and cached[0] == spec.value and "{{" in spec.value:
                return dataclasses.replace(spec, preview=cached[1], preview_error=cached[2])
            return spec

        return [dataclasses.replace(shown(f, f.key), rows=[[shown(sub, preview.field_id(f.key, i, sub.key))
                                                             for sub in row] for i, row in enumerate(f.rows)])
                for f in fields]

    async def _evaluate_expression(self, editor: EditorState, text: str) -> tuple[str, str]:
        from ui.state.run import RunState

        run = await self.get_state(RunState)
        items, nodes, found = preview.preview_input(editor.definition(), self.node_id, run.all_data())
        self.preview_hint = "" if found else NO_INPUT_HINT
        body = {"expression": text, "items": items, "nodes": nodes, "workflow_id": editor.workflow_id}
        try:
            answer = await call_api(self, "POST", "/expressions/preview", json=body)
        except ApiError as exc:
            return "", f"Preview unavailable: {exc.message}"
        if answer["ok"]:
            return answer.get("text") or "", ""
        # Before the first run a missing field is expected, not an error: the grey hint says what to do.
        return ("", "") if not found else ("", answer.get("error") or "error")

    async def _preview_one(self, editor: EditorState, key: str, index: int, sub: str, text: str) -> None:
        fid = preview.field_id(key, index, sub)
        if "{{" not in text:
            self._previews.pop(fid, None)
        else:
            value, error = await self._evaluate_expression(editor, text)
            self._previews[fid] = (text, value, error)
        self.fields = self._with_previews(self.fields)

    async def _preview_all(self, editor: EditorState) -> None:
        for key, index, sub, text in preview.expression_fields(self.fields):
            await self._preview_one(editor, key, index, sub, text)

    def _preview_later(self, key: str, index: int, sub: str, text: str):
        self._preview_seq += 1
        if "{{" not in text:
            self._previews.pop(preview.field_id(key, index, sub), None)
            self.fields = self._with_previews(self.fields)
            return None
        return NodePanelState.preview_field(key, index, sub, self._preview_seq)

    @rx.event(background=True)
    async def preview_field(self, key: str, index: int, sub: str, seq: int):
        """Debounced: evaluate one field once typing paused, unless newer typing came since."""
        await asyncio.sleep(PREVIEW_DELAY_S)
        async with self:
            if seq != self._preview_seq:
                return
            text = next((t for k, i, s, t in preview.expression_fields(self.fields) if (k, i, s) == (key, index, sub)),
                        "")
            await self._preview_one(await self.get_state(EditorState), key, index, sub, text)

    # ---- events from the form -----------------------------------------------------------------
    @rx.event
    def set_tab(self, tab: str):
        self.tab = tab

    @rx.event
    async def close_panel(self):
        self.close()

    @rx.event
    async def set_param(self, key: str, raw: Any):
        editor, schema = await self._editor()
        prop = schema.get("properties", {}).get(key)
        if prop is None:
            return
        try:
            value = forms.coerce(prop, schema, raw)
        except ValueError as exc:
            self._drafts[key] = (str(raw), str(exc))
            self._update_field(key, value=str(raw), error=str(exc))
            return
        self._drafts.pop(key, None)

        def change(node: dict) -> None:
            params = node.setdefault("parameters", {})
            if value is forms.REMOVE:
                params.pop(key, None)
            else:
                params[key] = value

        editor.change_node(self.node_id, change, coalesce=f"{self.node_id}:param:{key}")
        if isinstance(raw, bool):
            self._update_field(key, checked=raw, error="")
        else:
            self._update_field(key, value=str(raw), error="")
        node = self._node(editor)
        if node is not None:  # another parameter's show_if may depend on this one
            params = node.get("parameters", {})
            self.fields = [dataclasses.replace(f, visible=forms.shown(schema.get("properties", {}).get(f.key, {}),
                                                                       schema, params)) for f in self.fields]
        self._refresh_hook(editor)
        return None if isinstance(raw, bool) else self._preview_later(key, -1, "", str(raw))

    def _update_field(self, key: str, **changes) -> None:
        self.fields = [dataclasses.replace(f, **changes) if f.key == key else f for f in self.fields]

    def _refresh_hook(self, editor: EditorState) -> None:
        hook = next((h for h in editor.webhooks if h["id"] == self.node_id), None)
        if hook:
            self.production_url, self.test_url = hook["production_url"], hook["test_url"]

    @rx.event
    async def add_item(self, key: str):
        editor, schema = await self._editor()
        item = forms.new_item(forms.item_schema_of(schema, key))
        editor.change_node(self.node_id, lambda n: n.setdefault("parameters", {}).setdefault(key, []).append(item))
        await self.sync(editor)

    @rx.event
    async def remove_item(self, key: str, index: int):
        editor, _ = await self._editor()

        def change(node: dict) -> None:
            items = node.setdefault("parameters", {}).get(key) or []
            if 0 <= index < len(items):
                items.pop(index)

        editor.change_node(self.node_id, change)
        await self.sync(editor)

    @rx.event
    async def set_item(self, key: str, index: int, sub: str, raw: Any):
        editor, schema = await self._editor()
        item_schema = forms.item_schema_of(schema, key)
        prop = item_schema.get("properties", {}).get(sub)
        if prop is None:
            return
        try:
            value = forms.coerce(prop, schema, raw)
        except ValueError:
            value = str(raw)

        def change(node: dict) -> None:
            items = node.setdefault("parameters", {}).setdefault(key, [])
            if 0 <= index < len(items) and isinstance(items[index], dict):
                if value is forms.REMOVE:
                    items[index].pop(sub, None)
                else:
                    items[index][sub] = value

        editor.change_node(self.node_id, change, coalesce=f"{self.node_id}:item:{key}:{index}:{sub}")
        shown = {"checked": raw} if isinstance(raw, bool) else {"value": str(raw)}
        node = self._node(editor)
        items = (node or {}).get("parameters", {}).get(key) or []
        visible = forms.row_visibility(item_schema, schema, items[index] if 0 <= index < len(items) else {})
        self.fields = [dataclasses.replace(f, rows=[[dataclasses.replace(
            s, **(shown if s.key == sub else {}), visible=visible.get(s.key, True)) if i == index else s
            for s in row] for i, row in enumerate(f.rows)]) if f.key == key else f for f in self.fields]
        return None if isinstance(raw, bool) else self._preview_later(key, index, sub, str(raw))

    @rx.event
    async def set_credential(self, slot: str, credential_id: str):
        editor, _ = await self._editor()

        def change(node: dict) -> None:
            chosen = node.setdefault("credentials", {})
            if credential_id == NO_CREDENTIAL:
                chosen.pop(slot, None)
            else:
                chosen[slot] = credential_id
            if not chosen:
                node.pop("credentials")

        editor.change_node(self.node_id, change)
        self.credential_slots = [{**s, "value": credential_id} if s["slot"] == slot else s
                                 for s in self.credential_slots]

    @rx.event
    async def set_name(self, name: str):
        editor, _ = await self._editor()
        name = name.strip()
        taken = {n["name"] for n in editor.definition()["nodes"] if n["id"] != self.node_id}
        self.name = name
        if not name or name in taken:
            self.name_error = "A node needs a name." if not name else f"Another node is already named “{name}”."
            return
        self.name_error = ""
        editor.change_node(self.node_id, lambda n: n.update(name=name), coalesce=f"{self.node_id}:name")

    @rx.event
    async def set_notes(self, notes: str):
        editor, _ = await self._editor()
        self.notes = notes
        editor.change_node(self.node_id, lambda n: n.update(notes=notes), coalesce=f"{self.node_id}:notes")

    @rx.event
    async def set_disabled(self, disabled: bool):
        editor, _ = await self._editor()
        self.disabled = disabled
        editor.change_node(self.node_id, lambda n: n.update(disabled=disabled))

    @rx.event
    async def set_setting(self, path: str, raw: Any):
        if path not in SETTING_VARS:
            return None
        editor, _ = await self._editor()
        setattr(self, SETTING_VARS[path], raw)
        value: Any = raw
        if path in SETTING_NUMBERS:
            text = str(raw).strip()
            try:
                value = SETTING_NUMBERS[path](text) if text else None
            except ValueError:
                return rx.toast.error(f"{path.replace('_', ' ')} must be a number, got “{text}”")
        editor.change_node(self.node_id, lambda n: _put_setting(n, path, value),
                           coalesce=f"{self.node_id}:setting:{path}")
        return None


def _put_setting(node: dict, path: str, value: Any) -> None:
    settings = node.setdefault("settings", {})
    *parents, leaf = path.split(".")
    target = settings
    for part in parents:
        target = target.setdefault(part, {})
    if value is None or value == "":
        target.pop(leaf, None)
    else:
        target[leaf] = value
    if parents and not target:
        settings.pop(parents[0], None)
    if not settings:
        node.pop("settings", None)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


# ---- what the editor's events do here (ui/state/editor.py: the editor never imports this module) ------------
@on("workflow_changed")
async def _close_for_another_workflow(editor: EditorState, workflow_id: str) -> None:
    (await editor.get_state(NodePanelState)).close()


@on("canvas_clicked")
async def _close_on_canvas_click(editor: EditorState) -> None:
    (await editor.get_state(NodePanelState)).close()


@on("structure_changed")
async def _sync_with_definition(editor: EditorState) -> None:
    await (await editor.get_state(NodePanelState)).sync(editor)


@on("node_opened")
async def _show_node(editor: EditorState, node_id: str) -> None:
    await (await editor.get_state(NodePanelState)).show(editor, node_id)


@on("open_node_id")
async def _open_node_id(editor: EditorState) -> str | None:
    return (await editor.get_state(NodePanelState)).node_id or None


@on("run_finished")
async def _after_run(editor: EditorState) -> None:
    await (await editor.get_state(NodePanelState)).after_run()
