"""The React Flow canvas as a Reflex component (flow_canvas.jsx next to this file does the drawing).

@xyflow/react is pinned to an exact version; bump it here and rebuild so reflex.lock/ follows.
"""

from __future__ import annotations

import reflex as rx

from ui.components.assets import shared_asset

XYFLOW = "@xyflow/react@12.12.1"

_SOURCE = shared_asset("flow_canvas.jsx")
shared_asset("flow_canvas.css")  # imported by the .jsx; linked next to it


def _one(value):
    return [value]


class FlowCanvas(rx.NoSSRComponent):
    library = _SOURCE.importable_path
    tag = "FlowCanvas"
    lib_dependencies: list[str] = [XYFLOW]

    graph_nodes: rx.Var[list[dict]]
    graph_edges: rx.Var[list[dict]]
    runs: rx.Var[dict]  # node id -> {status, items, error}
    problems: rx.Var[dict]  # node id -> [message]
    revision: rx.Var[int]  # bump to fit the view to a newly loaded graph
    dirty: rx.Var[bool]  # unsaved changes: the browser asks before leaving the page
    read_only: rx.Var[bool]  # viewers: no dragging, connecting, deleting or dropping

    on_nodes_moved: rx.EventHandler[_one]
    on_connect_ports: rx.EventHandler[lambda source, output, target, input_: [source, output, target, input_]]
    on_drop_node: rx.EventHandler[lambda node_type, x, y: [node_type, x, y]]
    on_delete_items: rx.EventHandler[lambda node_ids, edge_ids: [node_ids, edge_ids]]
    on_selection_changed: rx.EventHandler[_one]
    on_node_open: rx.EventHandler[_one]
    on_pane_clicked: rx.EventHandler[lambda: []]
    on_undo: rx.EventHandler[lambda: []]
    on_redo: rx.EventHandler[lambda: []]
    on_copy_nodes: rx.EventHandler[_one]
    on_paste_nodes: rx.EventHandler[lambda text, x, y: [text, x, y]]
    on_save: rx.EventHandler[lambda: []]
    on_sticky_changed: rx.EventHandler[lambda note_id, changes: [note_id, changes]]
    on_run: rx.EventHandler[lambda: []]  # Ctrl+Enter

    def add_custom_code(self) -> list[str]:
        # Start fetching the canvas chunk as soon as the page module runs, instead of when the
        # client-only wrapper first mounts: the editor becomes usable a few hundred ms sooner.
        return [f'if (typeof window !== "undefined") import("{self._get_import_name()}");']


flow_canvas = FlowCanvas.create
