"""The workflows list: search, filters, create, duplicate, delete, import, export, activate."""

from __future__ import annotations

import json
from datetime import datetime

import reflex as rx

from ui.api_client import ApiError
from ui.state.auth import api_failed, call_api

ACTIVE_FILTERS = {"all": None, "active": "true", "inactive": "false"}


def _when(value: str) -> str:
    try:
        return datetime.fromisoformat(value).strftime("%b %d, %Y %H:%M")
    except (TypeError, ValueError):
        return value or ""


def _row(item: dict) -> dict:
    return {"id": item["id"], "name": item["name"], "description": item.get("description", ""),
            "tags": list(item.get("tags", [])), "active": bool(item.get("active")),
            "version": item.get("latest_version", 1), "updated": _when(item.get("updated_at", ""))}


class WorkflowsState(rx.State):
    rows: list[dict] = []
    total: int = 0
    loaded: bool = False
    search: str = ""
    tag: str = ""
    active_filter: str = "all"
    known_tags: list[str] = []
    create_open: bool = False
    create_error: str = ""
    delete_id: str = ""
    delete_name: str = ""
    importing: bool = False

    @rx.var
    def filtering(self) -> bool:
        return bool(self.search or self.tag or self.active_filter != "all")

    @rx.event
    async def load(self):
        params = {"limit": 100}
        if self.search.strip():
            params["search"] = self.search.strip()
        if self.tag:
            params["tag"] = self.tag
        if ACTIVE_FILTERS.get(self.active_filter):
            params["active"] = ACTIVE_FILTERS[self.active_filter]
        try:
            page = await call_api(self, "GET", "/workflows", params=params)
        except ApiError as exc:
            return api_failed(exc)
        self.rows = [_row(item) for item in page["items"]]
        self.total = page["total"]
        self.known_tags = sorted(set(self.known_tags) | {t for row in self.rows for t in row["tags"]})
        self.loaded = True
        return None

    @rx.event
    async def set_search(self, value: str):
        self.search = value
        return await self.load()

    @rx.event
    async def set_tag(self, value: str):
        self.tag = "" if value == "__all__" else value
        return await self.load()

    @rx.event
    async def set_active_filter(self, value: str | list[str]):
        self.active_filter = value if isinstance(value, str) else (value[0] if value else "all")
        return await self.load()

    @rx.event
    def set_create_open(self, value: bool):
        self.create_open, self.create_error = value, ""

    @rx.event
    async def create(self, form: dict):
        name = form.get("name", "").strip()
        if not name:
            self.create_error = "Give the workflow a name."
            return None
        try:
            workflow = await call_api(self, "POST", "/workflows", json={"name": name})
        except ApiError as exc:
            self.create_error = exc.message
            return None if not exc.unauthorized else api_failed(exc)
        self.create_open = False
        return rx.redirect(f"/workflows/{workflow['id']}")

    @rx.event
    async def duplicate(self, workflow_id: str):
        try:
            copy = await call_api(self, "POST", f"/workflows/{workflow_id}/duplicate")
        except ApiError as exc:
            return api_failed(exc)
        return [rx.toast.success(f"Created “{copy['name']}”"), WorkflowsState.load]

    @rx.event
    def ask_delete(self, workflow_id: str, name: str):
        self.delete_id, self.delete_name = workflow_id, name

    @rx.event
    def cancel_delete(self):
        self.delete_id = self.delete_name = ""

    @rx.event
    async def confirm_delete(self):
        workflow_id, name = self.delete_id, self.delete_name
        self.delete_id = self.delete_name = ""
        try:
            await call_api(self, "DELETE", f"/workflows/{workflow_id}")
        except ApiError as exc:
            return api_failed(exc)
        return [rx.toast.success(f"Deleted “{name}”"), WorkflowsState.load]

    @rx.event
    async def set_active(self, workflow_id: str, active: bool):
        action = "activate" if active else "deactivate"
        try:
            await call_api(self, "POST", f"/workflows/{workflow_id}/{action}")
        except ApiError as exc:
            return [api_failed(exc), WorkflowsState.load]
        for row in self.rows:
            if row["id"] == workflow_id:
                row["active"] = active
        self.rows = list(self.rows)
        return None

    @rx.event
    async def export(self, workflow_id: str):
        try:
            data = await call_api(self, "GET", f"/workflows/{workflow_id}/export")
        except ApiError as exc:
            return api_failed(exc)
        filename = "".join(c if c.isalnum() or c in "-_" else "_" for c in data.get("name", ""))[:80]
        return rx.download(data=json.dumps(data, indent=2), filename=f"{filename or 'workflow'}.json",
                           mime_type="application/json")

    @rx.event
    async def import_files(self, files: list[rx.UploadFile]):
        imported = []
        for upload in files:
            try:
                body = json.loads((await upload.read()).decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                return rx.toast.error(f"{upload.name} is not a JSON workflow file: {exc}")
            try:
                workflow = await call_api(self, "POST", "/workflows/import", json=body)
            except ApiError as exc:
                return [api_failed(ApiError(exc.status, f"{upload.name}: {_details(exc)}", exc.code)),
                        WorkflowsState.load]
            imported.append(workflow["name"])
        return [rx.toast.success(f"Imported {', '.join(imported)}"), WorkflowsState.load]


def _details(exc: ApiError) -> str:
    if isinstance(exc.details, list) and exc.details:
        parts = []
        for d in exc.details[:3]:
            where = d.get("node") or ".".join(str(x) for x in d.get("loc", [])[1:])
            parts.append(f"{where}: {d.get('message') or d.get('msg')}" if where else str(d.get("message")))
        return exc.message + " — " + "; ".join(parts)
    return exc.message
