"""The global search box (Ctrl+K): the team's workflows, executions and credential names as you type."""

from __future__ import annotations

import reflex as rx

from ui.api_client import ApiError
from ui.state.auth import api_failed, call_api


def _row(result: dict) -> dict:
    return {"id": result["id"], "type": result["type"], "title": result["title"],
            "subtitle": result.get("subtitle") or "", "status": result.get("status") or "",
            "url": result["url"]}


class SearchState(rx.State):
    open: bool = False
    query: str = ""
    results: list[dict] = []
    searched: str = ""  # the query the results are for
    failed: str = ""

    @rx.event
    def show(self):
        self.open = True

    @rx.event
    def set_open(self, value: bool):
        self.open = value
        if not value:
            self.query, self.results, self.searched, self.failed = "", [], "", ""

    @rx.event
    async def set_query(self, value: str):
        self.query = value[:200]
        text = self.query.strip()
        if not text:
            self.results, self.searched, self.failed = [], "", ""
            return None
        try:
            answer = await call_api(self, "GET", "/search", params={"q": text, "limit": 6})
        except ApiError as exc:
            if exc.unauthorized:
                return api_failed(exc)
            self.results, self.failed = [], exc.message
            return None
        if text == self.query.strip():  # an older answer must not replace a newer one
            self.results, self.searched, self.failed = [_row(r) for r in answer["results"]], text, ""
        return None

    @rx.event
    def go(self, url: str):
        self.set_open(False)
        return rx.redirect(url)

    @rx.event
    def open_first(self, _form: dict | None = None):
        if self.results:
            return self.go(self.results[0]["url"])
        return None
