"""The node details view: the open node's input, its parameters and its output side by side.

The panes' contents are computed from the editor's definition (pins) and the last run's data by
``ui.editor.ndv``; this state only keeps what each pane shows (view, search, page, source).
"""

from __future__ import annotations

import reflex as rx

from ui.api_client import ApiError
from ui.editor import ndv
from ui.executions.view import preview_kind, preview_note
from ui.state.auth import api_failed, call_api
from ui.state.editor import EditorState, on
from ui.state.node_panel import NodePanelState
from ui.state.run import RunState

VIEWS = ("table", "json", "schema")


class NdvState(rx.State):
    open: bool = False
    source: str = ndv.INPUT
    source_names: list[str] = [ndv.INPUT]

    in_view: str = "schema"
    in_search: str = ""
    in_page: int = 0
    in_columns: list[dict[str, str]] = []
    in_rows: list[list[str]] = []
    in_schema: list[dict[str, str]] = []
    in_json: str = ""
    in_files: list[dict[str, str]] = []
    in_range: str = ""
    in_pages: int = 1
    in_count: int = 0

    completions: dict = {}  # what the expression autocomplete offers (field_autocomplete.jsx)
    _variables: list[str] = []

    out_view: str = "table"
    out_search: str = ""
    out_page: int = 0
    out_columns: list[dict[str, str]] = []
    out_rows: list[list[str]] = []
    out_schema: list[dict[str, str]] = []
    out_json: str = ""
    out_files: list[dict[str, str]] = []
    out_range: str = ""
    out_pages: int = 1
    out_count: int = 0

    _shown: dict[str, list] = {}  # the items each pane shows now: what a file's key points into
    file_open: bool = False  # View: an image through a signed link, or the start of a text/PDF file
    file_name: str = ""
    file_url: str = ""
    file_text: str = ""
    file_note: str = ""

    @rx.event
    async def open_details(self):
        self.open, self.source, self.in_page, self.out_page = True, ndv.INPUT, 0, 0
        self.in_search = self.out_search = ""
        try:
            page = await call_api(self, "GET", "/variables")
            self._variables = [v["key"] for v in page.get("items", [])]
        except ApiError:  # the names only help autocomplete: without them it offers the rest
            self._variables = []
        await self.refresh()

    @rx.event
    def close_details(self):
        self.open = False

    async def refresh(self) -> None:
        """Recompute both panes from the definition and the last run (after opening, a run, a change)."""
        if not self.open:
            return
        editor = await self.get_state(EditorState)
        panel = await self.get_state(NodePanelState)
        run = await self.get_state(RunState)
        if not panel.node_id:
            self.open = False
            return
        definition, data = editor.definition(), run.all_data()
        found = ndv.sources(definition, panel.node_id, data)
        self.source_names = list(found)
        if self.source not in found:
            self.source = ndv.INPUT
        self._fill("in", found[self.source], self.source)
        self.completions = ndv.completions(found, self._variables)
        own = data.get(panel.node_id) or {}
        pins = (definition.get("pin_data") or {}).get(panel.name)
        output = list(pins) if pins else ndv.first_output(own.get("output"))
        self._fill("out", output, panel.name)

    def _fill(self, pane: str, items: list, source: str) -> None:
        view, search, page = (getattr(self, f"{pane}_{k}") for k in ("view", "search", "page"))
        shown, first, total, pages = ndv.page_of(items, search, page)
        setattr(self, f"{pane}_page", min(page, pages - 1))
        setattr(self, f"{pane}_pages", pages)
        setattr(self, f"{pane}_count", total)
        last = first + len(shown) - 1
        setattr(self, f"{pane}_range", f"Items {first}–{last} of {total}" if shown else "")
        columns, rows = ndv.table(shown, source) if view == "table" else ([], [])
        setattr(self, f"{pane}_columns", columns)
        setattr(self, f"{pane}_rows", rows)
        setattr(self, f"{pane}_schema", ndv.schema_rows(shown, source) if view == "schema" else [])
        setattr(self, f"{pane}_json", ndv.json_text(shown) if view == "json" and shown else "")
        setattr(self, f"{pane}_files", ndv.files(shown, first))
        self._shown = {**self._shown, pane: list(shown)}

    async def _file_link(self, pane: str, key: str):
        """(reference, signed link), or (what to answer instead, None). The storage API checks the team."""
        ref = ndv.file_ref(self._shown.get(pane, []) if pane in ("in", "out") else [], key)
        if ref is None:
            return rx.toast.error("That file is not in the pane any more (or not stored); run the node again"), None
        try:
            return ref, await call_api(self, "POST", "/storage/links", json=ref)
        except ApiError as exc:
            return api_failed(exc), None

    @rx.event
    async def download_file(self, pane: str, key: str):
        ref, link = await self._file_link(pane, key)
        if link is None:
            return ref
        return rx.download(url=link["url"], filename=ref["file_name"] or None)

    @rx.event
    async def view_file(self, pane: str, key: str):
        ref = ndv.file_ref(self._shown.get(pane, []) if pane in ("in", "out") else [], key)
        if ref is not None and preview_kind(ref["mime_type"]) in ("text", "pdf"):
            try:
                shown = await call_api(self, "POST", "/storage/preview", json=ref)
            except ApiError as exc:
                if exc.status != 422:
                    return api_failed(exc)
                shown = {"text": "", "note": exc.message}
            self.file_name, self.file_url = ref["file_name"] or ref["id"], ""
            self.file_text, self.file_note = shown["text"], shown.get("note") or preview_note(shown)
            self.file_open = True
            return None
        ref, link = await self._file_link(pane, key)
        if link is None:
            return ref
        self.file_name, self.file_url, self.file_text, self.file_note = ref["file_name"] or ref["id"], link["url"], "", ""
        self.file_open = True
        return None

    @rx.event
    def close_file(self, _open: bool = False):
        self.file_open = False
        self.file_url = self.file_text = self.file_note = ""

    @rx.event
    async def set_view(self, pane: str, view: str):
        if pane in ("in", "out") and view in VIEWS:
            setattr(self, f"{pane}_view", view)
            await self.refresh()

    @rx.event
    async def set_search(self, pane: str, text: str):
        if pane in ("in", "out"):
            setattr(self, f"{pane}_search", text[:200])
            setattr(self, f"{pane}_page", 0)
            await self.refresh()

    @rx.event
    async def turn_page(self, pane: str, step: int):
        if pane in ("in", "out"):
            setattr(self, f"{pane}_page", max(getattr(self, f"{pane}_page") + step, 0))
            await self.refresh()

    @rx.event
    async def set_source(self, name: str):
        self.source, self.in_page = name, 0
        await self.refresh()


# ---- what the editor's events do here (ui/state/editor.py: the editor never imports this module) ------------
@on("workflow_changed")
async def _close_for_another_workflow(editor: EditorState, workflow_id: str) -> None:
    (await editor.get_state(NdvState)).open = False


@on("run_finished", order=1)  # after the node panel took the run's data
async def _refresh_after_run(editor: EditorState) -> None:
    await (await editor.get_state(NdvState)).refresh()
