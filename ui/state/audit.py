"""The audit viewer: the team's trail, filtered by actor, action, target and time, paged, exported as CSV."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import reflex as rx

from ui.api_client import ApiError
from ui.state.auth import AuthState, api_failed, call_api

PAGE_SIZE = 25
ANY = "__any__"
RANGES = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7),
          "30d": timedelta(days=30), "all": None}
RANGE_LABELS = [("1h", "Last hour"), ("24h", "Last 24 hours"), ("7d", "Last 7 days"), ("30d", "Last 30 days"),
                ("all", "All time")]
TARGET_TYPES = ["workflow", "credential", "variable", "user", "team", "invitation", "api_key"]


def _when(value: str) -> str:
    try:
        return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError):
        return value or ""


def _row(item: dict) -> dict:
    actor = item.get("actor_email") or item.get("actor_id") or item.get("actor_type") or "system"
    target = " ".join(x for x in (item.get("target_type"), item.get("target_id")) if x)
    return {"id": str(item["id"]), "when": _when(item["created_at"]), "action": item["action"], "actor": actor,
            "target": target or "—", "ip": item.get("ip") or "",
            "json": json.dumps(item, indent=2, sort_keys=True, ensure_ascii=False)}


class AuditState(rx.State):
    rows: list[dict] = []
    total: int = 0
    offset: int = 0
    loaded: bool = False
    loading: bool = False
    forbidden: bool = False  # the signed-in user is not an admin or owner of this team
    actor: str = ANY
    action: str = ANY
    target_type: str = ANY
    target_id: str = ""
    time_range: str = "7d"
    actors: list[dict[str, str]] = []  # [{id, label}] the team's members
    actions: list[str] = []
    detail: str = ""  # the selected entry as JSON ("" = closed)
    exporting: bool = False

    @rx.var
    def filtering(self) -> bool:
        return (self.actor != ANY or self.action != ANY or self.target_type != ANY or bool(self.target_id.strip())
                or self.time_range != "all")

    @rx.var
    def page_label(self) -> str:
        if not self.total:
            return "0 entries"
        last = min(self.offset + PAGE_SIZE, self.total)
        return f"{self.offset + 1}–{last} of {self.total}"

    @rx.var
    def has_previous(self) -> bool:
        return self.offset > 0

    @rx.var
    def has_next(self) -> bool:
        return self.offset + PAGE_SIZE < self.total

    def _params(self) -> dict:
        params: dict = {}
        if self.actor != ANY:
            params["actor"] = self.actor
        if self.action != ANY:
            params["action"] = self.action
        if self.target_type != ANY:
            params["target_type"] = self.target_type
        if self.target_id.strip():
            params["target_id"] = self.target_id.strip()
        if RANGES.get(self.time_range):
            params["since"] = (datetime.now(UTC) - RANGES[self.time_range]).isoformat()
        return params

    @rx.event
    async def open_page(self):
        """on_load: the filter menus, then the first page."""
        self.offset, self.detail, self.forbidden, self.loaded = 0, "", False, False
        try:
            self.actions = (await call_api(self, "GET", "/audit/actions"))["actions"]
            team_id = (await self.get_state(AuthState)).team_id
            if team_id:
                members = await call_api(self, "GET", f"/teams/{team_id}/members")
                self.actors = [{"id": m["user_id"], "label": m["email"]} for m in members]
        except ApiError as exc:
            return self._failed(exc)
        return await self.load()

    def _failed(self, exc: ApiError):
        if exc.status == 403:
            self.forbidden, self.loaded, self.rows, self.total = True, True, [], 0
            return None
        return api_failed(exc)

    @rx.event
    async def load(self):
        self.loading = True
        try:
            page = await call_api(self, "GET", "/audit",
                                  params={**self._params(), "limit": PAGE_SIZE, "offset": self.offset})
        except ApiError as exc:
            return self._failed(exc)
        finally:
            self.loading = False
        self.rows = [_row(item) for item in page["items"]]
        self.total, self.loaded, self.forbidden = page["total"], True, False
        return None

    async def _refilter(self):
        self.offset = 0
        return await self.load()

    @rx.event
    async def set_actor(self, value: str):
        self.actor = value
        return await self._refilter()

    @rx.event
    async def set_action(self, value: str):
        self.action = value
        return await self._refilter()

    @rx.event
    async def set_target_type(self, value: str):
        self.target_type = value
        return await self._refilter()

    @rx.event
    async def set_target_id(self, value: str):
        self.target_id = value
        return await self._refilter()

    @rx.event
    async def set_time_range(self, value: str | list[str]):
        value = value if isinstance(value, str) else (value[0] if value else "all")
        self.time_range = value if value in RANGES else "all"
        return await self._refilter()

    @rx.event
    async def clear_filters(self):
        self.actor = self.action = self.target_type = ANY
        self.target_id, self.time_range = "", "all"
        return await self._refilter()

    @rx.event
    async def next_page(self):
        if self.offset + PAGE_SIZE < self.total:
            self.offset += PAGE_SIZE
            return await self.load()
        return None

    @rx.event
    async def previous_page(self):
        self.offset = max(0, self.offset - PAGE_SIZE)
        return await self.load()

    @rx.event
    def show(self, entry_json: str):
        self.detail = entry_json

    @rx.event
    def close_detail(self, open_: bool = False):
        if not open_:
            self.detail = ""

    @rx.event
    async def export_csv(self):
        """Fetch the filtered rows through the API (the token stays in a header) and hand them to the browser."""
        self.exporting = True
        yield
        try:
            data = await call_api(self, "GET", "/audit/export.csv", params=self._params())
        except ApiError as exc:
            yield self._failed(exc)
            return
        finally:
            self.exporting = False
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        yield rx.download(data=data, filename=f"audit-{stamp}.csv", mime_type="text/csv")
