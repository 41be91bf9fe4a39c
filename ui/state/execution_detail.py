"""One execution: its workflow on a read-only canvas with each node's outcome, the node data browser,
the error, and retry / retry from the failed step / cancel / delete."""

from __future__ import annotations

import reflex as rx

from ui.api_client import ApiError
from ui.editor import graph
from ui.executions import view
from ui.state.auth import api_failed, call_api


class ExecutionDetailState(rx.State):
    detail_id: str = ""
    loaded: bool = False
    load_error: str = ""
    status: str = ""
    mode: str = ""
    workflow_id: str = ""
    workflow_name: str = ""
    started: str = ""
    finished_at: str = ""
    took: str = ""
    retry_of_id: str = ""
    error: str = ""
    error_node: str = ""
    error_node_id: str = ""

    canvas_nodes: list[dict] = []
    canvas_edges: list[dict] = []
    runs: dict[str, dict] = {}
    revision: int = 0
    steps: list[dict[str, str]] = []

    node_id: str = ""
    node_name: str = ""
    direction: str = "output"
    port: str = ""
    ports: list[str] = []
    columns: list[str] = []
    table: list[list[str]] = []
    item_count: int = 0
    data_json: str = ""
    node_error: str = ""
    files: list[dict[str, str]] = []  # binary data of the shown items (view.item_files)
    preview_url: str = ""  # a signed link of the image shown in the preview dialog
    preview_name: str = ""
    preview_text: str = ""  # a text file's start or a PDF's first page, shown in the preview dialog
    preview_note: str = ""  # "first 64 KB of 1.2 MB", "page 1 of 3", or why there is no preview
    preview_open: bool = False
    confirm_delete: bool = False

    _steps: list[dict] = []
    _catalog: dict[str, dict] = {}

    @rx.var
    def running(self) -> bool:
        return self.status in ("queued", "running", "waiting")

    @rx.var
    def can_retry_from_failed(self) -> bool:
        return self.status == "failed"

    @rx.var
    def debug_href(self) -> str:
        return f"/workflows/{self.workflow_id}?debug={self.detail_id}" if self.workflow_id else ""

    @rx.event
    async def load(self):
        self._forget(self.router.url.path.rstrip("/").rsplit("/", 1)[-1])
        yield  # the spinner replaces the last execution shown before this one is fetched
        try:
            if not self._catalog:
                catalog = await call_api(self, "GET", "/nodes", params={"latest_only": "true"})
                self._catalog = {entry["type"]: entry for entry in catalog["items"]}
            execution = await call_api(self, "GET", f"/executions/{self.detail_id}")
        except ApiError as exc:
            if exc.unauthorized:
                yield api_failed(exc)
                return
            self.load_error = exc.message[:1].upper() + exc.message[1:]
            return
        await self._show(execution, fit=True)

    def _forget(self, execution_id: str) -> None:
        """Show nothing of the execution on screen until `execution_id` is loaded: its status, error and
        "Debug in editor" link must not pass for the next one's (a retry opens on the same page)."""
        self.detail_id, self.status, self.workflow_id, self.error = execution_id, "", "", ""
        self.loaded, self.load_error, self.node_id, self.confirm_delete = False, "", "", False
        self.workflow_name, self.port, self.direction, self.canvas_nodes = "", "", "output", []

    @rx.event
    async def tick(self):
        """While it runs, follow it (see ui/components/ticker.py)."""
        if not self.loaded or not self.running:
            return None
        try:
            execution = await call_api(self, "GET", f"/executions/{self.detail_id}")
        except ApiError as exc:
            return api_failed(exc) if exc.unauthorized else None
        await self._show(execution, fit=False)
        return None

    async def _show(self, execution: dict, *, fit: bool) -> None:
        self.status, self.mode = execution["status"], execution["mode"]
        self.workflow_id, self.retry_of_id = execution.get("workflow_id") or "", execution.get("retry_of_id") or ""
        self.started = view.when(execution.get("started_at") or execution.get("created_at"))
        self.finished_at, self.took = view.when(execution.get("finished_at")), view.duration(execution["duration_ms"])
        detail = execution.get("error_detail") or {}
        self.error, self.error_node = view.error_text(detail), str(detail.get("node") or "")
        definition = graph.normalized(execution.get("definition"))
        if fit or not self.canvas_nodes:
            self.canvas_nodes = [graph.canvas_node(n, self._catalog.get(n["type"])) for n in definition["nodes"]]
            self.canvas_edges = graph.canvas_edges(definition)
            self.revision += 1
        self.error_node_id = next((n["id"] for n in definition["nodes"] if n["name"] == self.error_node), "")
        self._steps = execution.get("steps", [])
        self.runs, self.steps = view.node_runs(self._steps), view.step_rows(self._steps)
        if self.status == "running":
            self.runs = view.mark_running(self.runs, definition)
        self.workflow_name = view.workflow_label(execution)
        if not self.node_id:
            self._pick(self.error_node_id or (self._steps[-1]["node_id"] if self._steps else ""))
        self._browse()
        self.loaded = True

    # ---- the node data browser ---------------------------------------------------------------
    def _browse(self) -> None:
        names = {n["id"]: n["data"]["label"] for n in self.canvas_nodes}
        self.node_name = names.get(self.node_id, "")
        ports = view.port_items(self._steps, self.node_id, self.direction)
        self.ports = list(ports)
        if self.port not in ports:
            self.port = self.ports[0] if self.ports else ""
        items = ports.get(self.port, [])
        self.item_count = len(items)
        self.columns, self.table = view.items_table(items)
        self.data_json = view.pretty(items) if self.port else ""
        self.files = view.item_files(items)
        mine = [s for s in self._steps if s["node_id"] == self.node_id and s.get("error")]
        self.node_error = view.error_text(mine[-1]["error"]) if mine else ""

    def _pick(self, node_id: str) -> None:
        """A node that failed without output shows what it was given; others show what they gave."""
        self.node_id, self.port = node_id, ""
        gave = view.port_items(self._steps, node_id, "output")
        failed = any(s["node_id"] == node_id and s["status"] == "failed" for s in self._steps)
        self.direction = "input" if failed and not any(gave.values()) else "output"

    @rx.event
    def pick_node(self, node_id: str):
        self._pick(node_id)
        self._browse()

    @rx.event
    def set_direction(self, value: str | list[str]):
        self.direction = "input" if value == "input" or value == ["input"] else "output"
        self.port = ""
        self._browse()

    @rx.event
    def set_port(self, value: str):
        self.port = value
        self._browse()

    @rx.event
    async def download(self, key: str):
        """A short-lived signed link from the storage API, opened as a download."""
        ref, link = await self._link(key)
        if link is None:
            return ref
        return rx.download(url=link["url"], filename=ref["file_name"] or None)

    @rx.event
    async def preview(self, key: str):
        items = view.port_items(self._steps, self.node_id, self.direction).get(self.port, [])
        ref = view.file_ref(items, key)
        if ref is not None and view.preview_kind(ref["mime_type"]) in ("text", "pdf"):
            return await self._preview_text(ref)
        ref, link = await self._link(key)
        if link is None:
            return ref
        self.preview_url, self.preview_name = link["url"], ref["file_name"] or ref["id"]
        self.preview_text, self.preview_note, self.preview_open = "", "", True
        return None

    async def _preview_text(self, ref: dict):
        """The storage API reads the start of the file (it checks the file is this team's)."""
        try:
            shown = await call_api(self, "POST", "/storage/preview", json=ref)
        except ApiError as exc:
            if exc.status != 422:
                return api_failed(exc)
            shown = {"kind": "text", "text": "", "note": exc.message}
        self.preview_name, self.preview_url = ref["file_name"] or ref["id"], ""
        self.preview_text = shown["text"]
        self.preview_note = shown.get("note") or view.preview_note(shown)
        self.preview_open = True
        return None

    @rx.event
    def close_preview(self, _open: bool = False):
        self.preview_url = self.preview_text = self.preview_note = ""
        self.preview_open = False

    async def _link(self, key: str):
        """(reference, signed link), or (what to answer instead, None)."""
        items = view.port_items(self._steps, self.node_id, self.direction).get(self.port, [])
        ref = view.file_ref(items, key)
        if ref is None:
            return rx.toast.error("That file is no longer in the list; pick the node again"), None
        try:
            return ref, await call_api(self, "POST", "/storage/links", json=ref)
        except ApiError as exc:
            return api_failed(exc), None

    # ---- actions -----------------------------------------------------------------------------
    @rx.event
    async def retry(self, from_failed_step: bool):
        path = "retry-from-failed" if from_failed_step else "retry"
        try:
            accepted = await call_api(self, "POST", f"/executions/{self.detail_id}/{path}")
        except ApiError as exc:
            return api_failed(exc)
        label = "from the failed step" if from_failed_step else "from the start"
        self._forget(accepted["execution_id"])
        return [rx.toast.success(f"Retrying {label}"), rx.redirect(f"/executions/{accepted['execution_id']}")]

    @rx.event
    async def cancel(self):
        try:
            await call_api(self, "POST", f"/executions/{self.detail_id}/cancel")
            execution = await call_api(self, "GET", f"/executions/{self.detail_id}")
        except ApiError as exc:
            return api_failed(exc)
        await self._show(execution, fit=False)
        return rx.toast.success("Cancelled")

    @rx.event
    def set_confirm_delete(self, value: bool):
        self.confirm_delete = value

    @rx.event
    async def delete(self):
        self.confirm_delete = False
        try:
            await call_api(self, "DELETE", f"/executions/{self.detail_id}")
        except ApiError as exc:
            return api_failed(exc)
        return [rx.toast.success("Execution deleted"), rx.redirect("/executions")]
