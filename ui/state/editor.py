"""The workflow editor: the definition being edited, its canvas, palette, history, saving and activation.

The definition lives here (a backend-only var); the canvas in the browser keeps positions during
a drag and reports back on drag stop, connect, drop and delete (see flow_canvas.jsx).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import reflex as rx

from ui.api_client import ApiError, webhook_base_url
from ui.editor import graph, pins, stickies
from ui.state.auth import api_failed, call_api

HISTORY_LIMIT = 100
GROUPS = [("trigger", "Triggers"), ("flow", "Flow"), ("data", "Data"), ("integration", "Integrations"),
          ("core", "Core")]


# Nodes of one outside service are listed together under its name in the palette (n8n's "apps"): the nodes with
# a credential (and RSS Read), grouped by their name without " Trigger", unless named here.
APP_OF = {"ai_agent": "OpenAI", "email_read_imap": "Email (IMAP)", "send_email": "Email (SMTP)", "rss_read": "RSS",
          "http_request": None}  # HTTP Request is for any API: it stays with the core nodes


def app_of(entry: dict) -> str | None:
    """The app a catalog entry belongs to in the palette, or None for LinkFlow's own nodes."""
    if entry["type"] in APP_OF:
        return APP_OF[entry["type"]]
    if not entry.get("credential_slots"):
        return None
    return entry["display_name"].removesuffix(" Trigger")


def palette_groups(catalog: list[dict], search: str) -> list[dict]:
    """The palette's groups: LinkFlow's own nodes by kind (Triggers, Flow, Data, ...), then one group per app
    (alphabetical, with the app's icon) holding its nodes and triggers; only entries matching `search`."""
    words = search.lower().split()
    order = {name: i for i, (name, _) in enumerate(GROUPS)}
    labels = dict(GROUPS)
    groups: dict[str, list[dict]] = {}
    apps: dict[str, list[dict]] = {}
    icons: dict[str, str] = {}
    for entry in catalog:
        app = app_of(entry)
        text = f"{entry['display_name']} {entry['type']} {entry.get('description', '')} {app or ''}".lower()
        if not all(w in text for w in words):
            continue
        item = {"type": entry["type"], "name": entry["display_name"], "icon": entry.get("icon") or "box",
                "description": entry.get("description", "")}
        if app is None:
            groups.setdefault(entry["group"], []).append(item)
            continue
        apps.setdefault(app, []).append(item)
        if entry["group"] != "trigger" or app not in icons:  # the app's own node gives the group its icon
            icons[app] = item["icon"]
    ordered = sorted(groups, key=lambda g: (order.get(g, len(order)), g))
    own = [{"group": g, "label": labels.get(g, g.capitalize()), "icon": "", "items": groups[g]} for g in ordered]
    return own + [{"group": f"app:{app}", "label": app, "icon": icons[app],
                   "items": sorted(apps[app], key=lambda i: (i["name"].endswith("Trigger"), i["name"]))}
                  for app in sorted(apps, key=str.lower)]


# ---- the panels' hooks -------------------------------------------------------------------------------
# The editor is the hub: the panels (node panel, run, NDV, logs, pins, diff, debug) import it and register
# here what they do when something happens in it; it never imports them (an import-linter contract in
# pyproject.toml keeps it so). Each hook gets the EditorState and the event's arguments; `notify` returns
# the answers that are not None, in order (lower `order` first, then registration order).
EVENTS = {
    "workflow_changed": "another workflow (its id, or '' when none) is shown: forget what belonged to the last",
    "workflow_opened": "the workflow is loaded and shown; an answer is an event to send back",
    "structure_changed": "the definition changed (edit, undo, save): show it as it is now",
    "node_opened": "a node (its id) was opened from the canvas or the palette",
    "canvas_clicked": "the empty canvas was clicked",
    "open_node_id": "which node's panel is open (answer: its id), if any",
    "run_finished": "the followed run finished",
}
Hook = Callable[..., Awaitable[Any]]
_HOOKS: dict[str, list[tuple[int, int, Hook]]] = {}


def on(event: str, order: int = 0) -> Callable[[Hook], Hook]:
    if event not in EVENTS:
        raise ValueError(f"unknown editor event {event!r}; one of {', '.join(EVENTS)}")

    def register(hook: Hook) -> Hook:
        hooks = _HOOKS.setdefault(event, [])
        hooks.append((order, len(hooks), hook))
        hooks.sort(key=lambda entry: entry[:2])
        return hook

    return register


async def notify(state: rx.State, event: str, *args: Any) -> list:
    """Run the panels' hooks for `event` with the editor (found from any `state`); their answers."""
    editor = state if isinstance(state, EditorState) else await state.get_state(EditorState)
    answers = []
    for _, _, hook in _HOOKS.get(event, []):
        if (answer := await hook(editor, *args)) is not None:
            answers.append(answer)
    return answers


def live_label(live: int, latest: int, dirty: bool) -> str:
    """The toolbar's statement of what runs: saving an active workflow does not change the live version."""
    if dirty:
        return f"live v{live} · editing v{latest + 1} (unsaved)"
    if live != latest:
        return f"live v{live} · editing v{latest}"
    return f"live v{live}"


class EditorState(rx.State):
    workflow_id: str = ""
    name: str = ""
    active: bool = False
    latest_version: int = 0
    live_version: int = 0  # the version webhooks and schedules run (0: none); saving does not change it
    loaded: bool = False
    load_error: str = ""
    dirty: bool = False
    saving: bool = False

    canvas_nodes: list[dict] = []
    canvas_edges: list[dict] = []
    problems: dict[str, list[str]] = {}  # node id -> what the API found wrong with it
    workflow_problems: list[str] = []
    revision: int = 0
    selected_ids: list[str] = []

    palette_search: str = ""
    palette: list[dict] = []
    can_undo: bool = False
    can_redo: bool = False
    webhooks: list[dict[str, str]] = []
    versions: list[dict[str, str]] = []
    versions_open: bool = False
    leave_open: bool = False  # "leave without saving?" (the browser's own prompt covers reloads and tabs)
    debug_execution_id: str = ""  # ?debug=<execution id>: its outputs were pinned (an unsaved change)
    debug_note: str = ""

    _definition: dict = {}
    _catalog: list[dict] = []
    _credentials: list[dict] = []  # the team's credentials (ids, names, types; never values)
    _past: list[str] = []
    _future: list[str] = []
    _last_edit: str = ""
    _clipboard: str = ""

    # ---- loading -------------------------------------------------------------------------
    @rx.event
    async def load(self):
        workflow_id = self.router.url.path.rstrip("/").rsplit("/", 1)[-1]
        self.loaded, self.load_error, self.versions_open = False, "", False
        try:
            if not self._catalog:
                self._catalog = (await call_api(self, "GET", "/nodes", params={"latest_only": "true"}))["items"]
            workflow = await call_api(self, "GET", f"/workflows/{workflow_id}")
            self._credentials = await self._team_credentials()
        except ApiError as exc:
            self.load_error = exc.message
            await self._forget_workflow()  # no toolbar, Run or Save may act on the workflow shown before
            return api_failed(exc) if exc.unauthorized else None
        self._open(workflow)
        self.palette = palette_groups(self._catalog, self.palette_search)
        self.debug_execution_id = self.debug_note = ""
        await notify(self, "workflow_changed", workflow["id"])
        answers = await notify(self, "workflow_opened")
        return answers[0] if answers else None

    async def _forget_workflow(self) -> None:
        self.workflow_id, self.name, self.active = "", "", False
        self.latest_version = self.live_version = 0
        self._definition = graph.normalized(None)
        self.canvas_nodes, self.canvas_edges, self.selected_ids = [], [], []
        self.dirty, self.problems, self.workflow_problems = False, {}, []
        await notify(self, "workflow_changed", "")

    @rx.event
    def back_to_list(self):
        if self.dirty:
            self.leave_open = True
            return None
        return rx.redirect("/workflows")

    @rx.event
    def set_leave_open(self, value: bool):
        self.leave_open = value

    @rx.event
    def leave_unsaved(self):
        self.leave_open, self.dirty = False, False
        return rx.redirect("/workflows")

    @rx.event
    async def save_and_leave(self):
        saved, events = await self.save_definition()
        self.leave_open = False
        return [*events, rx.redirect("/workflows")] if saved else events

    @rx.event
    def dismiss_debug(self):
        self.debug_execution_id = self.debug_note = ""

    def _open(self, workflow: dict) -> None:
        self.workflow_id, self.name = workflow["id"], workflow["name"]
        self._take_versions(workflow)
        self._definition = graph.normalized(workflow.get("definition"))
        self._past, self._future, self._last_edit = [], [], ""
        self.dirty, self.loaded = False, True
        self.problems, self.workflow_problems, self.selected_ids = {}, [], []
        self.show_problems(workflow.get("warnings") or [])  # a draft's warnings, on its nodes
        self._rebuild()
        self.revision += 1

    async def _team_credentials(self) -> list[dict]:
        try:
            return [{"id": c["id"], "name": c["name"], "type": c["type"]}
                    for c in await call_api(self, "GET", "/credentials")]
        except ApiError as exc:
            if exc.unauthorized:
                raise
            return []  # e.g. a viewer may not list them: the panel then offers none

    def credentials_of(self, types: list[str]) -> list[dict]:
        return [c for c in self._credentials if c["type"] in types]

    def catalog_entry(self, node_type: str) -> dict | None:
        return next((e for e in self._catalog if e["type"] == node_type), None)

    def definition(self) -> dict:
        return self._definition

    def _canvas_node(self, node: dict) -> dict:
        return graph.canvas_node(node, self.catalog_entry(node["type"]),
                                 pinned=node["name"] in graph.pinned_names(self._definition))

    def _rebuild(self) -> None:
        self.canvas_nodes = [*(stickies.canvas_sticky(n) for n in self._definition.get("sticky_notes", [])),
                             *(self._canvas_node(n) for n in self._definition["nodes"])]
        self.canvas_edges = graph.canvas_edges(self._definition)
        self._refresh_webhooks()
        self.can_undo, self.can_redo = bool(self._past), bool(self._future)

    def _refresh_webhooks(self) -> None:
        base = webhook_base_url()
        self.webhooks = [{**{k: str(v) for k, v in hook.items()}, "production_url": f"{base}/webhook/{hook['path']}",
                          "test_url": f"{base}/webhook-test/{hook['path']}"}
                         for hook in graph.webhook_paths(self._definition, {e["type"]: e for e in self._catalog})]

    # ---- changing the definition ----------------------------------------------------------
    def commit(self, definition: dict, *, coalesce: str = "", redraw: bool = True) -> None:
        """Make `definition` current, remembering the previous one for undo.

        Consecutive edits with the same non-empty `coalesce` key (typing into one field) are one step.
        """
        if not (coalesce and coalesce == self._last_edit):
            self._past = [*self._past[-(HISTORY_LIMIT - 1):], json.dumps(self._definition)]
        self._future, self._last_edit = [], coalesce
        self._definition, self.dirty = definition, True
        if redraw:
            self._rebuild()
        else:
            self.can_undo, self.can_redo = True, False

    def change_node(self, node_id: str, change: Callable[[dict], Any], *, coalesce: str = "") -> dict | None:
        """Apply `change` to a copy of one node; redraw its card only if what the card shows changed."""
        definition = graph.normalized(self._definition)
        node = graph.node_by_id(definition, node_id)
        if node is None:
            return None
        before = self._canvas_node(node)
        old_name = node["name"]
        change(node)
        graph.rename_pins(definition, old_name, node["name"])
        self.commit(definition, coalesce=coalesce, redraw=False)
        after = self._canvas_node(node)
        if after != before:
            self.canvas_nodes = [after if n["id"] == node_id else n for n in self.canvas_nodes]
        if after["data"]["trigger"]:
            self._refresh_webhooks()
        return node

    async def _after_structure_change(self):
        await notify(self, "structure_changed")

    @rx.event
    async def drop_node(self, node_type: str, x: float, y: float):
        entry = self.catalog_entry(node_type)
        if entry is None:
            return rx.toast.error(f"Unknown node type {node_type}")
        definition, _ = graph.add_node(self._definition, entry, (x, y))
        self.commit(definition)
        return None

    @rx.event
    async def add_node(self, node_type: str):
        """A palette click: the new node goes right of the open (or the one selected) node, connected to it."""
        entry = self.catalog_entry(node_type)
        if entry is None:
            return rx.toast.error(f"Unknown node type {node_type}")
        open_ids = await notify(self, "open_node_id")
        anchor_id = (open_ids[0] if open_ids else None) or (self.selected_ids[0] if len(self.selected_ids) == 1
                                                            else None)
        anchor = graph.node_by_id(self._definition, anchor_id) if anchor_id else None
        anchor_entry = self.catalog_entry(anchor["type"]) if anchor else None
        definition, node = graph.add_after(self._definition, entry, anchor_id if anchor else None, anchor_entry)
        self.commit(definition)
        self.selected_ids = [node["id"]]
        await self._open_node(node["id"])
        return None

    @rx.event
    async def palette_key(self, key: str):
        """Enter in the palette search adds the first match."""
        if key != "Enter" or not self.palette:
            return None
        return await self.add_node(self.palette[0]["items"][0]["type"])

    async def _open_node(self, node_id: str):
        await notify(self, "node_opened", node_id)

    def set_pin(self, name: str, items: list[dict] | None) -> None:
        """Pin (or with None unpin) a node's output; the canvas shows the pin badge."""
        self.commit(pins.with_pin(self._definition, name, items))

    @rx.event
    def tidy_up(self):
        if self._definition["nodes"]:
            self.commit(graph.tidy(self._definition))

    @rx.event
    def add_sticky(self):
        x, y = graph.next_free_position(self._definition)
        definition, _ = stickies.add_sticky(self._definition, (x, y - 200))
        self.commit(definition)

    @rx.event
    def sticky_changed(self, note_id: str, changes: dict):
        definition = stickies.update_sticky(self._definition, note_id, changes)
        if definition is not None:
            self.commit(definition, coalesce=f"sticky:{note_id}:{'text' if 'text' in changes else 'box'}")

    @rx.event
    def nodes_moved(self, moves: list[dict]):
        definition = graph.move_nodes(self._definition, moves)
        self.commit(definition, redraw=False)
        # The canvas already shows the new positions; keeping ours in step means a later redraw
        # (or an undo, which redraws from the definition) never puts a node back where it was.
        moved = {m["id"] for m in moves}
        positions = {n["id"]: n["position"] for n in [*definition["nodes"], *definition.get("sticky_notes", [])]
                     if n["id"] in moved}
        self.canvas_nodes = [{**n, "position": {"x": positions[n["id"]][0], "y": positions[n["id"]][1]}}
                             if n["id"] in positions else n for n in self.canvas_nodes]

    @rx.event
    async def connect_ports(self, source: str, output: str, target: str, input_: str):
        self.commit(graph.connect(self._definition, source, output, target, input_))
        await self._after_structure_change()

    @rx.event
    async def delete_items(self, node_ids: list[str], edge_ids: list[str]):
        self.commit(graph.delete(self._definition, node_ids, edge_ids))
        self.problems = {k: v for k, v in self.problems.items() if k not in set(node_ids)}
        self.selected_ids = [i for i in self.selected_ids if i not in set(node_ids)]
        await self._after_structure_change()

    @rx.event
    def selection_changed(self, node_ids: list[str]):
        self.selected_ids = node_ids

    @rx.event
    async def node_open(self, node_id: str):
        if stickies.is_sticky(self._definition, node_id):
            return None
        return await self._open_node(node_id)

    @rx.event
    async def pane_clicked(self):
        await notify(self, "canvas_clicked")

    @rx.event
    async def undo(self):
        if not self._past:
            return
        self._future = [json.dumps(self._definition), *self._future][:HISTORY_LIMIT]
        self._definition, self._past = json.loads(self._past[-1]), self._past[:-1]
        await self._after_history_move()

    @rx.event
    async def redo(self):
        if not self._future:
            return
        self._past = [*self._past, json.dumps(self._definition)][-HISTORY_LIMIT:]
        self._definition, self._future = json.loads(self._future[0]), self._future[1:]
        await self._after_history_move()

    async def _after_history_move(self) -> None:
        self._last_edit, self.dirty = "", True
        self._rebuild()
        await self._after_structure_change()

    @rx.event
    def copy_nodes(self, node_ids: list[str]):
        ids = node_ids or self.selected_ids
        if not ids:
            return None
        self._clipboard = graph.clipboard_text(self._definition, ids)
        return [rx.set_clipboard(self._clipboard), rx.toast(f"Copied {len(ids)} node{'s' if len(ids) > 1 else ''}")]

    @rx.event
    async def paste_nodes(self, text: str, x: float, y: float):
        parsed = graph.parse_clipboard(text) or graph.parse_clipboard(self._clipboard)
        if parsed is None:
            return None
        definition, new_ids = graph.paste(self._definition, *parsed, (x, y))
        self.commit(definition)
        pasted = set(new_ids)
        self.canvas_nodes = [{**n, "selected": n["id"] in pasted} for n in self.canvas_nodes]
        await self._after_structure_change()
        return None

    @rx.event
    def set_palette_search(self, value: str):
        self.palette_search = value
        self.palette = palette_groups(self._catalog, value)

    # ---- saving, versions, activation ---------------------------------------------------------
    @rx.event
    def rename_to(self, name: str):
        if name.strip() and name != self.name:
            self.name, self.dirty = name, True

    async def save_definition(self) -> tuple[bool, list]:
        """PATCH the workflow as a new version; False (and the problems shown on the nodes) if refused."""
        body = {"name": self.name.strip(), "definition": self._definition, "base_version": self.latest_version}
        self.saving = True
        try:
            workflow = await call_api(self, "PATCH", f"/workflows/{self.workflow_id}", json=body)
        except ApiError as exc:
            return False, [self.refused(exc, "Not saved")]
        finally:
            self.saving = False
        changed = workflow["latest_version"] != self.latest_version
        self._take_versions(workflow)
        self.dirty = False
        warnings = workflow.get("warnings") or []
        self.show_problems(warnings)
        note = f"Saved as version {self.latest_version}" if changed else "No changes to save"
        if self.behind_live:
            note += f". Version {self.live_version} is still live: Publish to make version {self.latest_version} live"
        if warnings:
            nodes = ", ".join(dict.fromkeys(str(w.get("node") or "the workflow") for w in warnings))
            return True, [rx.toast.warning(f"{note} as a draft: {len(warnings)} problem(s) on {nodes}; "
                                           "fix them before activating")]
        return True, [rx.toast.success(note)]

    def _take_versions(self, workflow: dict) -> None:
        self.latest_version, self.active = workflow["latest_version"], workflow["active"]
        self.live_version = workflow.get("active_version") or 0

    @rx.var
    def live_label(self) -> str:
        """ "live v3" when what is shown runs; "live v3 · editing v4" when it does not (yet)."""
        return live_label(self.live_version, self.latest_version, self.dirty)

    @rx.var
    def behind_live(self) -> bool:
        """Active, and the newest saved version is not the one that runs: show it, offer Publish."""
        return self.active and self.live_version != self.latest_version

    def refused(self, exc: ApiError, what: str):
        """The event that tells the user why the API refused `what` (problems go onto the nodes)."""
        if exc.unauthorized:
            return api_failed(exc)
        if exc.status == 422 and isinstance(exc.details, list):
            self.show_problems(exc.details)
            return rx.toast.error(f"{what}: {exc.message}")
        if exc.status == 409:
            return rx.toast.error(f"{what}: {exc.message}. Reload the page to get the newest version.")
        return rx.toast.error(f"{what}: {exc.message}")

    def show_problems(self, details: list[dict]) -> None:
        ids = {n["name"]: n["id"] for n in self._definition["nodes"]}
        problems: dict[str, list[str]] = {}
        general = []
        for item in details:
            message = item.get("message") or item.get("msg") or str(item)
            node_id = ids.get(item.get("node") or "")
            if node_id:
                problems.setdefault(node_id, []).append(message)
            else:
                general.append(message)
        self.problems, self.workflow_problems = problems, general

    @rx.event
    async def save(self):
        _, events = await self.save_definition()
        await notify(self, "structure_changed")
        return events

    @rx.event
    async def set_active(self, active: bool):
        if self.dirty:
            saved, events = await self.save_definition()
            if not saved:
                return events
        action = "activate" if active else "deactivate"
        try:
            workflow = await call_api(self, "POST", f"/workflows/{self.workflow_id}/{action}")
        except ApiError as exc:
            return self.refused(exc, "Not activated" if active else "Not deactivated")
        self._take_versions(workflow)
        return rx.toast.success("Workflow is active: its triggers are live" if self.active
                                else "Workflow deactivated")

    @rx.event
    async def publish(self):
        """Make the newest version (saving the draft first) the one webhooks and schedules run."""
        if self.dirty:
            saved, events = await self.save_definition()
            if not saved:
                return events
        try:
            workflow = await call_api(self, "POST", f"/workflows/{self.workflow_id}/activate")
        except ApiError as exc:
            return self.refused(exc, "Not published")
        self._take_versions(workflow)
        return rx.toast.success(f"Published: version {self.live_version} is live")

    @rx.event
    async def toggle_versions(self, open_: bool):
        self.versions_open = open_
        if not open_:
            return None
        try:
            page = await call_api(self, "GET", f"/workflows/{self.workflow_id}/versions", params={"limit": 50})
        except ApiError as exc:
            return api_failed(exc)
        self.versions = [{"number": str(v["number"]), "message": v.get("message") or "",
                          "created_at": v["created_at"][:16].replace("T", " ")} for v in page["items"]]
        return None

    @rx.event
    async def restore_version(self, number: str):
        try:
            workflow = await call_api(self, "POST", f"/workflows/{self.workflow_id}/versions/{number}/restore")
        except ApiError as exc:
            return self.refused(exc, "Not restored")
        self._open(workflow)
        self.versions_open = False
        await self._after_structure_change()
        return rx.toast.success(f"Restored version {number} as version {self.latest_version}")
