"""The templates gallery: search, category filter, a preview of the chosen template, and "Use template"."""

from __future__ import annotations

import reflex as rx

from ui.api_client import ApiError
from ui.editor.minigraph import layout
from ui.state.auth import api_failed, call_api

PREVIEW_W, PREVIEW_H = 560, 240
ALL = "__all__"


def _card(item: dict) -> dict:
    return {"id": item["id"], "name": item["name"], "category": item["category"],
            "description": item["description"], "nodes": " → ".join(item["node_types"]),
            "needs": ", ".join(dict.fromkeys(t for need in item["credentials"] for t in need["types"][:1]))}


class TemplatesState(rx.State):
    cards: list[dict] = []
    categories: list[str] = []
    search: str = ""
    category: str = ""
    loaded: bool = False
    # the template being previewed
    chosen_id: str = ""
    chosen: dict = {}
    boxes: list[dict] = []
    edges: list[dict] = []
    needs: list[str] = []  # "Insert rows: PostgreSQL" per empty credential slot
    using: bool = False

    @rx.event
    async def load(self):
        params = {}
        if self.search.strip():
            params["search"] = self.search.strip()[:200]
        if self.category:
            params["category"] = self.category
        try:
            page = await call_api(self, "GET", "/templates", params=params)
        except ApiError as exc:
            return api_failed(exc)
        self.cards = [_card(item) for item in page["items"]]
        self.categories = page["categories"]
        self.loaded = True
        return None

    @rx.event
    async def set_search(self, value: str):
        self.search = value
        return await self.load()

    @rx.event
    async def set_category(self, value: str):
        self.category = "" if value == ALL else value
        return await self.load()

    @rx.event
    async def preview(self, template_id: str):
        try:
            template = await call_api(self, "GET", f"/templates/{template_id}")
        except ApiError as exc:
            return api_failed(exc)
        self.chosen_id = template_id
        self.chosen = {"name": template["name"], "description": template["description"],
                       "category": template["category"]}
        self.boxes, self.edges = layout(template["nodes"], template["connections"], PREVIEW_W, PREVIEW_H)
        self.needs = [f"{n['node']}: {' or '.join(n['types'])}" for n in template["credentials"]]
        return None

    @rx.event
    def close_preview(self, open_: bool = False):
        if not open_:
            self.chosen_id = ""

    @rx.event
    async def use(self):
        if not self.chosen_id or self.using:
            return None
        self.using = True
        try:
            used = await call_api(self, "POST", f"/templates/{self.chosen_id}/use")
        except ApiError as exc:
            return api_failed(exc)
        finally:
            self.using = False
        self.chosen_id = ""
        workflow = used["workflow"]
        slots = used["credentials"]
        note = (f"Created “{workflow['name']}”. Pick credentials for: "
                + "; ".join(f"{s['node']} ({' or '.join(s['types'])})" for s in slots)) if slots else \
            f"Created “{workflow['name']}”"
        return [rx.redirect(f"/workflows/{workflow['id']}"), rx.toast.success(note, duration=8000)]
