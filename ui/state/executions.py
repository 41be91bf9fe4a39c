"""The executions dashboard: filters, the live list, charts over the chosen range, bulk delete and retry."""

from __future__ import annotations

import reflex as rx

from backend.db.base import utcnow
from ui.api_client import ApiError
from ui.executions import view
from ui.state.auth import api_failed, call_api

PAGE_SIZE = 20
STATS_EVERY = 3  # ticks: the charts refresh less often than the list


class ExecutionsState(rx.State):
    rows: list[dict[str, str]] = []
    total: int = 0
    offset: int = 0
    loaded: bool = False
    refresh_error: str = ""

    workflow_id: str = ""
    status: str = ""
    mode: str = ""
    range_key: str = "24h"
    search: str = ""
    workflows: list[dict[str, str]] = []  # [{id, name}] for the filter

    selected: list[str] = []
    confirm_delete: bool = False
    busy: bool = False

    chart: list[dict] = []
    chart_granularity: str = "hour"
    stats_loaded: bool = False
    p50: str = ""
    p95: str = ""
    finished: int = 0
    failing_workflows: list[dict] = []
    failing_nodes: list[dict] = []

    _ticks: int = 0

    @rx.var
    def filtering(self) -> bool:
        return bool(self.workflow_id or self.status or self.mode or self.search.strip())

    @rx.var
    def page_label(self) -> str:
        if not self.total:
            return ""
        return f"{self.offset + 1}–{min(self.offset + PAGE_SIZE, self.total)} of {self.total}"

    @rx.var
    def has_previous(self) -> bool:
        return self.offset > 0

    @rx.var
    def has_next(self) -> bool:
        return self.offset + PAGE_SIZE < self.total

    @rx.var
    def all_selected(self) -> bool:
        return bool(self.rows) and all(row["id"] in self.selected for row in self.rows)

    @rx.var
    def chart_has_data(self) -> bool:
        return any(sum(row.get(s) or 0 for s in view.STATUSES) for row in self.chart)

    # ---- loading ---------------------------------------------------------------------------
    @rx.event
    async def load(self):
        self.loaded, self.stats_loaded, self.selected, self.offset = False, False, [], 0
        self._apply_link()
        try:
            await self._load_workflows()
        except ApiError as exc:
            return api_failed(exc)
        return await self._refresh(with_stats=True)

    def _apply_link(self) -> None:
        """Filters named in the address (Insights links here with ?workflow_id=&status=&range=)."""
        query = self.router.url.query_parameters
        if not query:
            return
        self.workflow_id = str(query.get("workflow_id", ""))[:32]
        self.status = query.get("status", "") if query.get("status") in view.STATUSES else ""
        self.mode, self.search = "", ""
        if query.get("range") in view.RANGES:
            self.range_key = query["range"]

    async def _load_workflows(self) -> None:
        """The workflow filter's choices (the team's first 100 by last change)."""
        page = await call_api(self, "GET", "/workflows", params={"limit": 100})
        self.workflows = [{"id": w["id"], "name": w["name"]} for w in page["items"]]

    @rx.event
    async def tick(self):
        """Every few seconds while the page is open (see ui/components/ticker.py)."""
        if self.busy or not self.loaded:
            return None
        self._ticks += 1
        return await self._refresh(with_stats=self._ticks % STATS_EVERY == 0, quiet=True)

    async def _refresh(self, *, with_stats: bool, quiet: bool = False):
        try:
            await self._load_list()
            if with_stats:
                await self._load_stats()
        except ApiError as exc:
            if exc.unauthorized or not quiet:
                return api_failed(exc)
            self.refresh_error = f"Live update paused: {exc.message}"
            return None
        self.refresh_error = ""
        return None

    async def _load_list(self) -> None:
        params: dict[str, str | int] = {"limit": PAGE_SIZE, "offset": self.offset,
                                        "started_after": view.range_start(self.range_key, utcnow()).isoformat()}
        for key, value in (("workflow_id", self.workflow_id), ("status", self.status), ("mode", self.mode),
                           ("q", self.search.strip()[:200])):
            if value:
                params[key] = value
        page = await call_api(self, "GET", "/executions", params=params)
        self.rows = [view.list_row(item) for item in page["items"]]
        known = {w["id"] for w in self.workflows}
        if any(item.get("workflow_name") and item["workflow_id"] not in known for item in page["items"]):
            await self._load_workflows()  # a workflow created since the page opened
        self.total, self.loaded = page["total"], True
        if self.offset and not self.rows and self.total:  # the page emptied under us (deletes): step back
            self.offset = max(0, self.offset - PAGE_SIZE)
            await self._load_list()

    async def _load_stats(self) -> None:
        """The charts, from the Insights rollups (finished runs), not a scan of the executions."""
        params = view.rollup_query(self.range_key, utcnow())
        scoped = {**params, "workflow_id": self.workflow_id} if self.workflow_id else params
        summary = await call_api(self, "GET", "/analytics/summary", params=scoped)
        table = await call_api(self, "GET", "/analytics/workflows",
                               params={**params, "sort": "failures", "limit": 10})
        nodes = await call_api(self, "GET", "/analytics/failures",
                               params={**{k: v for k, v in scoped.items() if k != "granularity"}, "limit": 10})
        self.chart_granularity = params["granularity"]
        self.chart = view.rollup_chart_rows(summary["series"], params["granularity"])
        self.p50, self.p95 = view.duration(summary["p50_ms"]), view.duration(summary["p95_ms"])
        self.finished = summary["executions"]
        self.failing_workflows = view.failing_workflows(table["items"], self.workflow_id)
        self.failing_nodes = view.failing_nodes(nodes["items"])
        self.stats_loaded = True

    # ---- filters and pages ------------------------------------------------------------------
    async def _filters_changed(self, *, stats: bool = False):
        self.offset, self.selected = 0, []
        return await self._refresh(with_stats=stats)

    @rx.event
    async def set_workflow(self, value: str):
        self.workflow_id = "" if value == "__all__" else value
        return await self._filters_changed(stats=True)

    @rx.event
    async def set_status(self, value: str):
        self.status = "" if value == "__all__" else value
        return await self._filters_changed()

    @rx.event
    async def set_mode(self, value: str):
        self.mode = "" if value == "__all__" else value
        return await self._filters_changed()

    @rx.event
    async def set_range(self, value: str | list[str]):
        value = value if isinstance(value, str) else (value[0] if value else "24h")
        self.range_key = value if value in view.RANGES else "24h"
        return await self._filters_changed(stats=True)

    @rx.event
    async def set_search(self, value: str):
        self.search = value[:200]
        return await self._filters_changed()

    @rx.event
    async def clear_filters(self):
        self.workflow_id = self.status = self.mode = self.search = ""
        return await self._filters_changed(stats=True)

    @rx.event
    async def next_page(self):
        if self.offset + PAGE_SIZE < self.total:
            self.offset += PAGE_SIZE
        return await self._refresh(with_stats=False)

    @rx.event
    async def previous_page(self):
        self.offset = max(0, self.offset - PAGE_SIZE)
        return await self._refresh(with_stats=False)

    # ---- selection and bulk actions ---------------------------------------------------------
    @rx.event
    def toggle(self, execution_id: str, checked: bool):
        chosen = [i for i in self.selected if i != execution_id]
        self.selected = chosen + [execution_id] if checked else chosen

    @rx.event
    def toggle_all(self, checked: bool):
        self.selected = [row["id"] for row in self.rows] if checked else []

    @rx.event
    def set_confirm_delete(self, value: bool):
        self.confirm_delete = value

    @rx.event
    async def bulk_delete(self):
        self.confirm_delete = False
        return await self._bulk("bulk-delete", "Deleted")

    @rx.event
    async def bulk_retry(self):
        return await self._bulk("bulk-retry", "Retried")

    async def _bulk(self, path: str, action: str):
        if not self.selected:
            return rx.toast.info("Select executions first")
        self.busy = True
        try:
            answer = await call_api(self, "POST", f"/executions/{path}", json={"ids": self.selected})
        except ApiError as exc:
            return api_failed(exc)
        finally:
            self.busy = False
        self.selected = []
        kind, message = view.outcome_toast(action, answer["counts"], answer["results"])
        await self._refresh(with_stats=True)
        return rx.toast.success(message) if kind == "success" else rx.toast.warning(message)
