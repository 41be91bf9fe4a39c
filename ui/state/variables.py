"""The variables console: the team's key/value variables ($vars.KEY in expressions), secrets masked.

A secret's value never reaches this state: the API answers a mask for it, and the page shows
its own dots instead.
"""

from __future__ import annotations

import re
from datetime import datetime

import reflex as rx

from ui.api_client import ApiError
from ui.state.auth import api_failed, call_api

DOTS = "••••••••"
KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def _when(value: str) -> str:
    try:
        return datetime.fromisoformat(value).strftime("%b %d, %Y %H:%M")
    except (TypeError, ValueError):
        return value or ""


def _row(item: dict) -> dict:
    secret = bool(item.get("is_secret"))
    return {"id": item["id"], "key": item["key"], "value": DOTS if secret else item.get("value", ""),
            "is_secret": secret, "updated": _when(item.get("updated_at", ""))}


class VariablesState(rx.State):
    rows: list[dict] = []
    loaded: bool = False
    load_error: str = ""

    form_open: bool = False
    form_id: str = ""  # empty: a new variable
    form_key: str = ""
    form_value: str = ""
    form_secret: bool = False
    form_was_secret: bool = False
    form_error: str = ""
    saving: bool = False

    delete_id: str = ""
    delete_key: str = ""

    @rx.event
    async def load(self):
        try:
            page = await call_api(self, "GET", "/variables")
        except ApiError as exc:
            self.load_error, self.loaded = exc.message[:1].upper() + exc.message[1:], True
            return api_failed(exc)
        self.rows = [_row(item) for item in page["items"]]
        self.load_error, self.loaded = "", True
        return None

    @rx.event
    def open_new(self):
        self._fill("", "", "", False)

    @rx.event
    def open_edit(self, variable_id: str):
        row = next((r for r in self.rows if r["id"] == variable_id), None)
        if row is None:
            return rx.toast.error("That variable is gone; reload the page")
        self._fill(row["id"], row["key"], "" if row["is_secret"] else row["value"], row["is_secret"])
        return None

    def _fill(self, variable_id: str, key: str, value: str, secret: bool):
        self.form_id, self.form_key, self.form_value = variable_id, key, value
        self.form_secret = self.form_was_secret = secret
        self.form_error, self.saving, self.form_open = "", False, True

    @rx.event
    def set_form_open(self, value: bool):
        self.form_open = value
        if not value:
            self.form_value = ""  # a typed secret does not linger in the session

    @rx.event
    def set_form_key(self, value: str):
        self.form_key = value

    @rx.event
    def set_form_value(self, value: str):
        self.form_value = value

    @rx.event
    def set_form_secret(self, value: bool):
        self.form_secret = value

    def _body(self) -> dict | None:
        key = self.form_key.strip()
        if not KEY.match(key):
            self.form_error = ("The key must start with a letter or _, and hold only letters, digits and _ "
                               "(up to 64), so it works as $vars.KEY.")
            return None
        body: dict = {"key": key, "is_secret": self.form_secret}
        keeps_secret = self.form_id and self.form_was_secret and self.form_value == ""
        if keeps_secret and not self.form_secret:
            self.form_error = "Enter a new value to make this secret variable plain; its secret value is never shown."
            return None
        if not keeps_secret:
            body["value"] = self.form_value
        return body

    @rx.event
    async def save(self):
        body = self._body()
        if body is None:
            return
        self.saving, self.form_error = True, ""
        yield
        try:
            if self.form_id:
                await call_api(self, "PATCH", f"/variables/{self.form_id}", json=body)
            else:
                await call_api(self, "POST", "/variables", json=body)
        except ApiError as exc:
            self.saving = False
            self.form_error = exc.message[:1].upper() + exc.message[1:]
            if exc.unauthorized:
                yield api_failed(exc)
            return
        self.saving, self.form_open, self.form_value = False, False, ""
        yield rx.toast.success(f"Saved {body['key']}")
        yield VariablesState.load

    @rx.event
    def ask_delete(self, variable_id: str, key: str):
        self.delete_id, self.delete_key = variable_id, key

    @rx.event
    def cancel_delete(self):
        self.delete_id = self.delete_key = ""

    @rx.event
    async def confirm_delete(self):
        variable_id, key = self.delete_id, self.delete_key
        self.delete_id = self.delete_key = ""
        try:
            await call_api(self, "DELETE", f"/variables/{variable_id}")
        except ApiError as exc:
            return api_failed(exc)
        return [rx.toast.success(f"Deleted {key}"), VariablesState.load]
