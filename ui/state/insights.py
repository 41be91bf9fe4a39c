"""The Insights page: totals against the previous period, executions over time, and the per-workflow table."""

from __future__ import annotations

import reflex as rx

from backend.db.base import utcnow
from ui.api_client import ApiError
from ui.insights import view
from ui.state.auth import api_failed, call_api


class InsightsState(rx.State):
    period: str = "7d"
    granularity: str = "day"
    loaded: bool = False
    executions: int = 0
    previous_executions: int = 0
    cards: list[dict[str, str]] = []
    chart: list[dict] = []
    rows: list[dict[str, str]] = []
    webhook: str = ""  # webhook latency line
    failures: list[dict[str, str]] = []  # where runs failed: node, workflow, count
    sort: str = "executions"
    direction: str = "desc"

    editing: bool = False  # the time-saved dialog is open
    picking: bool = False  # ... opened from the header: the workflow is chosen in it
    workflows: list[dict[str, str]] = []  # [{id, name}] to choose from
    editing_id: str = ""  # the workflow whose time saved is being edited
    editing_name: str = ""
    editing_value: str = ""
    editing_error: str = ""

    @rx.var
    def compared_with(self) -> str:
        return view.PERIOD_NAMES.get(self.period, "")

    @rx.var
    def empty(self) -> bool:
        return self.loaded and not self.executions and not self.previous_executions

    @rx.event
    async def load(self):
        self.loaded = False
        return await self._refresh()

    async def _refresh(self):
        params = view.query(self.period, utcnow())
        try:
            summary = await call_api(self, "GET", "/analytics/summary", params=params)
            table = await call_api(self, "GET", "/analytics/workflows", params={
                **params, "sort": self.sort, "direction": self.direction, "limit": 200})
            failures = await call_api(self, "GET", "/analytics/failures", params={
                "since": params["since"], "until": params["until"], "limit": 5})
        except ApiError as exc:
            return api_failed(exc)
        self.granularity = params["granularity"]
        self.executions, self.previous_executions = summary["executions"], summary["previous"]["executions"]
        self.cards = view.cards(summary)
        self.chart = view.chart_points(summary["series"], params["granularity"])
        latency = summary["webhook_latency"]
        self.webhook = (f"Webhook runs: {latency['executions']:,} · p50 {view.duration(latency['p50_ms'])} · "
                        f"p95 {view.duration(latency['p95_ms'])} · p99 {view.duration(latency['p99_ms'])}"
                        if latency["executions"] else "")
        self.rows = view.table_rows(table["items"])
        self.failures = view.failure_rows(failures["items"])
        self.loaded = True
        return None

    @rx.event
    async def set_period(self, value: str | list[str]):
        value = value if isinstance(value, str) else (value[0] if value else "7d")
        self.period = value if value in view.PERIODS else "7d"
        return await self._refresh()

    @rx.event
    async def sort_by(self, key: str):
        if key not in view.SORTS:
            return None
        if key == self.sort:
            self.direction = "asc" if self.direction == "desc" else "desc"
        else:
            self.sort, self.direction = key, "asc" if key == "name" else "desc"
        return await self._refresh()

    # ---- time saved per run ---------------------------------------------------------------
    @rx.event
    def edit_time_saved(self, workflow_id: str, name: str, current: str):
        self.editing_id, self.editing_name, self.editing_value, self.editing_error = workflow_id, name, current, ""
        self.editing, self.picking = True, False

    @rx.event
    async def pick_time_saved(self):
        """The header's button: any workflow of the team, also one that has not run yet."""
        try:
            page = await call_api(self, "GET", "/workflows", params={"limit": 100})
        except ApiError as exc:
            return api_failed(exc)
        self.workflows = [{"id": w["id"], "name": w["name"]} for w in page["items"]]
        self.editing_id = self.editing_name = self.editing_value = self.editing_error = ""
        self.editing, self.picking = True, True
        return None

    @rx.event
    async def choose_workflow(self, workflow_id: str):
        chosen = next((w for w in self.workflows if w["id"] == workflow_id), None)
        if chosen is None:
            return None
        try:
            current = await call_api(self, "GET", f"/analytics/workflows/{workflow_id}/time-saved")
        except ApiError as exc:
            self.editing_error = exc.message
            return None
        minutes = current["minutes_per_run"]
        self.editing_id, self.editing_name = chosen["id"], chosen["name"]
        self.editing_value, self.editing_error = ("" if minutes is None else f"{minutes:g}"), ""
        return None

    @rx.event
    def set_editing_value(self, value: str):
        self.editing_value, self.editing_error = value[:20], ""

    @rx.event
    def cancel_edit(self):
        self.editing, self.editing_id = False, ""

    @rx.event
    async def save_time_saved(self):
        if not self.editing_id:
            self.editing_error = "Choose a workflow first"
            return None
        try:
            minutes = view.parse_minutes(self.editing_value)
        except ValueError as exc:
            self.editing_error = str(exc)
            return None
        try:
            await call_api(self, "PUT", f"/analytics/workflows/{self.editing_id}/time-saved",
                           json={"minutes_per_run": minutes})
        except ApiError as exc:
            self.editing_error = exc.message
            return None
        name, self.editing_id, self.editing = self.editing_name, "", False
        await self._refresh()
        return rx.toast.success(f"Time saved per run of “{name}” "
                                + (f"set to {view.minutes(minutes)}" if minutes is not None else "cleared"))
