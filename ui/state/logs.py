"""The editor's bottom panel: the current run's logs (node timeline) and this workflow's executions."""

from __future__ import annotations

import reflex as rx

from ui.api_client import ApiError
from ui.editor import logs
from ui.state.auth import api_failed, call_api
from ui.state.editor import EditorState, on
from ui.state.run import RunState

PAGE = 20


class LogsState(rx.State):
    open: bool = False
    tab: str = "logs"
    executions: list[dict[str, str]] = []

    @rx.event
    async def toggle(self):
        self.open = not self.open
        if self.open and self.tab == "executions":
            return await self._load()
        return None

    @rx.event
    async def set_tab(self, tab: str):
        self.tab = tab if tab in ("logs", "executions") else "logs"
        if self.tab == "executions":
            return await self._load()
        return None

    async def _load(self):
        editor = await self.get_state(EditorState)
        if not editor.workflow_id:
            self.executions = []
            return None
        try:
            page = await call_api(self, "GET", "/executions", params={"workflow_id": editor.workflow_id,
                                                                      "limit": PAGE})
        except ApiError as exc:
            return api_failed(exc)
        self.executions = logs.execution_rows(page.get("items", []))
        return None

    @rx.event
    async def show(self, execution_id: str):
        """Show a past run on the canvas and its timeline in the logs tab."""
        try:
            execution = await call_api(self, "GET", f"/executions/{execution_id}")
        except ApiError as exc:
            return api_failed(exc)
        editor = await self.get_state(EditorState)
        if execution.get("workflow_id") != editor.workflow_id:
            return rx.toast.error("That execution belongs to another workflow")
        (await self.get_state(RunState)).show_execution(execution)
        self.tab = "logs"
        return None


# ---- what the editor's events do here (ui/state/editor.py: the editor never imports this module) ------------
@on("workflow_changed")
async def _forget_executions(editor: EditorState, workflow_id: str) -> None:
    (await editor.get_state(LogsState)).executions = []  # the list belongs to the workflow shown before
