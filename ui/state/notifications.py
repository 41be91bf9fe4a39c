"""The notification bell: the signed-in user's in-app notifications in the current team."""

from __future__ import annotations

from datetime import datetime

import reflex as rx

from ui.api_client import ApiError
from ui.state.auth import api_failed, call_api


def _when(value: str) -> str:
    try:
        return datetime.fromisoformat(value).strftime("%b %d, %H:%M")
    except (TypeError, ValueError):
        return value or ""


def _row(item: dict) -> dict:
    payload = item.get("payload") or {}
    execution_id = payload.get("execution_id") or ""
    return {"id": item["id"], "subject": item.get("subject", ""), "when": _when(item.get("created_at", "")),
            "unread": item.get("read_at") is None,
            "node": payload.get("node") or "",
            "href": payload.get("href") or (f"/executions/{execution_id}" if execution_id else "")}


class NotificationsState(rx.State):
    items: list[dict] = []
    unread: int = 0
    loaded: bool = False
    failed: bool = False

    @rx.event
    async def load(self):
        try:
            inbox = await call_api(self, "GET", "/notifications", params={"limit": 20})
        except ApiError as exc:
            self.failed = True
            return None if exc.unauthorized else api_failed(exc)
        self.items = [_row(item) for item in inbox["items"]]
        self.unread, self.loaded, self.failed = inbox["unread"], True, False

    @rx.event
    async def tick(self):
        """Every few seconds while a page is open (ui/components/ticker.py): the bell stays current without
        a reload. Quiet: a failed refresh is tried again on the next tick."""
        try:
            inbox = await call_api(self, "GET", "/notifications", params={"limit": 20})
        except ApiError:
            return
        self.items = [_row(item) for item in inbox["items"]]
        self.unread, self.loaded, self.failed = inbox["unread"], True, False

    @rx.event
    async def on_open(self, is_open: bool):
        if is_open:
            return NotificationsState.load

    @rx.event
    async def mark_all_read(self):
        try:
            await call_api(self, "POST", "/notifications/read", json={})
        except ApiError as exc:
            return api_failed(exc)
        return NotificationsState.load

    @rx.event
    async def open_item(self, notification_id: str, href: str):
        try:
            await call_api(self, "POST", "/notifications/read", json={"ids": [notification_id]})
        except ApiError as exc:
            return api_failed(exc)
        if href:
            return rx.redirect(href)
        return NotificationsState.load
