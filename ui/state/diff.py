"""Version history's visual diff: the canvas marks nodes added, changed and removed since a version."""

from __future__ import annotations

import json

import reflex as rx

from ui.api_client import ApiError
from ui.editor import graph
from ui.state.auth import api_failed, call_api
from ui.state.editor import EditorState, on

READ_ONLY = {"draggable": False, "selectable": False, "deletable": False, "connectable": False}


def diff_canvas(current: list[dict], old_definition: dict, diff: dict, catalog: dict[str, dict]) -> list[dict]:
    """The draft's canvas nodes marked with their change, plus ghosts of the nodes the draft removed."""
    marks = {n["id"]: "added" for n in diff["nodes"]["added"]}
    notes = {}
    for change in diff["nodes"]["changed"]:
        marks[change["id"]] = "changed"
        notes[change["id"]] = "Changed: " + ", ".join(sorted(change["fields"])[:8])
    nodes = [{**n, **READ_ONLY, "data": {**n["data"], "diff": marks.get(n["id"], ""), "diffNote": notes.get(n["id"], "")}}
             for n in current]
    removed = {n["id"] for n in diff["nodes"]["removed"]}
    for node in old_definition.get("nodes", []):
        if node["id"] in removed:
            ghost = graph.canvas_node(node, catalog.get(node["type"]))
            nodes.append({**ghost, "id": f"removed:{node['id']}", **READ_ONLY,
                          "data": {**ghost["data"], "diff": "removed", "diffNote": "Removed since this version"}})
    return nodes


MAX_CHANGES_SHOWN = 30


def _shown(value) -> str:
    if value is None:
        return "(none)"
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:79] + "…"


def change_rows(diff: dict) -> list[dict[str, str]]:
    """Each changed field of each changed node, with its old and new value, for the diff's list."""
    rows = []
    for change in diff["nodes"]["changed"]:
        for path, values in sorted(change["fields"].items()):
            rows.append({"node": str(change.get("name") or change["id"]), "field": path,
                         "old": _shown(values.get("from")), "new": _shown(values.get("to"))})
    return rows[:MAX_CHANGES_SHOWN]


class DiffState(rx.State):
    version: str = ""  # the version compared with; "" when the canvas shows no diff
    canvas_nodes: list[dict] = []
    added: int = 0
    changed: int = 0
    removed: int = 0
    connections_changed: int = 0
    changes: list[dict[str, str]] = []  # [{node, field, old, new}]

    @rx.event
    async def compare(self, number: str):
        editor = await self.get_state(EditorState)
        try:
            diff = await call_api(self, "POST", f"/workflows/{editor.workflow_id}/diff",
                                  json={"from_version": int(number), "definition": editor.definition()})
            old = await call_api(self, "GET", f"/workflows/{editor.workflow_id}/versions/{number}")
        except ApiError as exc:
            return api_failed(exc)
        catalog = {n["type"]: editor.catalog_entry(n["type"]) or {} for n in old["definition"].get("nodes", [])}
        self.canvas_nodes = diff_canvas(editor.canvas_nodes, old["definition"], diff, catalog)
        self.version = number
        self.added, self.removed = len(diff["nodes"]["added"]), len(diff["nodes"]["removed"])
        self.changed = len(diff["nodes"]["changed"])
        self.connections_changed = len(diff["connections"]["added"]) + len(diff["connections"]["removed"])
        self.changes = change_rows(diff)
        editor.versions_open = False
        from ui.state.node_panel import NodePanelState

        (await self.get_state(NodePanelState)).close()  # the panel would cover the legend and its Exit button
        return None

    def clear(self) -> None:
        self.version, self.canvas_nodes, self.changes = "", [], []

    @rx.event
    def leave(self):
        self.clear()


# ---- what the editor's events do here (ui/state/editor.py: the editor never imports this module) ------------
@on("workflow_changed")
async def _leave_diff(editor: EditorState, workflow_id: str) -> None:
    (await editor.get_state(DiffState)).clear()
