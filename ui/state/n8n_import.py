"""The "Import from n8n" dialog: paste or upload an n8n workflow, see what could not be converted."""

from __future__ import annotations

import json

import reflex as rx

from ui.api_client import ApiError
from ui.state.auth import api_failed, call_api

MAX_TEXT = 5_000_000


def _problem(p: dict) -> dict:
    where = " · ".join(str(x) for x in (p.get("node") or "workflow", p.get("parameter")) if x)
    return {"where": where, "reason": p.get("reason", ""), "expression": p.get("expression") or "",
            "severity": p.get("severity", "error")}


class N8nImportState(rx.State):
    open: bool = False
    text: str = ""
    error: str = ""
    busy: bool = False
    report: list[dict] = []
    workflow_id: str = ""
    workflow_name: str = ""

    @rx.event
    def set_open(self, value: bool):
        self.open = value
        if value:
            self.text = self.error = self.workflow_id = self.workflow_name = ""
            self.report = []

    @rx.event
    def set_text(self, value: str):
        self.text, self.error = value, ""

    @rx.event
    async def upload(self, files: list[rx.UploadFile]):
        for upload in files[:1]:
            data = await upload.read()
            if len(data) > MAX_TEXT:
                self.error = f"{upload.name} is {len(data):,} bytes; at most {MAX_TEXT:,} are accepted"
                return
            try:
                self.text, self.error = data.decode("utf-8"), ""
            except UnicodeDecodeError:
                self.error = f"{upload.name} is not a UTF-8 text file"

    @rx.event
    async def submit(self):
        try:
            body = json.loads(self.text)
        except json.JSONDecodeError as exc:
            self.error = f"This is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}). " \
                         "Paste the workflow as n8n's Download or Copy gives it."
            return
        if not isinstance(body, dict):
            self.error = "An n8n workflow is a JSON object with nodes and connections."
            return
        self.busy = True
        yield
        try:
            answer = await call_api(self, "POST", "/workflows/import/n8n", json=body)
        except ApiError as exc:
            self.busy = False
            if exc.unauthorized:
                yield api_failed(exc)
                return
            self.error = exc.message
            return
        self.busy = False
        self.report = [_problem(p) for p in answer["report"]]
        self.workflow_id, self.workflow_name = answer["workflow"]["id"], answer["workflow"]["name"]
        from ui.state.workflows import WorkflowsState

        yield WorkflowsState.load

    @rx.event
    def open_workflow(self):
        self.open = False
        return rx.redirect(f"/workflows/{self.workflow_id}")
