"""The credentials console: list, the type-generated form, test, OAuth2 connect, sharing, usage, delete.

Only metadata ever reaches this state from the API; secrets typed into the form live here
until they are saved or the form closes, and are never read back.
"""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import quote

import reflex as rx

from ui.api_client import ApiError
from ui.state.auth import AuthState, api_failed, call_api
from ui.state.credential_form import CredField, form_fields, missing_required, values_to_send

PAGE = "/credentials"


def _when(value: str | None) -> str:
    if not value:
        return "Never"
    try:
        return datetime.fromisoformat(value).strftime("%b %d, %Y %H:%M")
    except (TypeError, ValueError):
        return value


def _person(user: dict | None) -> str:
    if not user:
        return "—"
    return user.get("name") or user.get("email") or "—"


def _sharing(item: dict) -> str:
    if item.get("shared_with_team", True):
        return "Whole team"
    others = len(item.get("shared_with") or [])
    return f"Private + {others} member{'s' if others != 1 else ''}" if others else "Private"


def _row(item: dict, catalog: dict[str, dict]) -> dict:
    entry = catalog.get(item["type"], {})
    fields = item.get("fields_set") or []
    is_oauth = item["type"] == "oauth2" and "authorize_url" in fields
    return {"id": item["id"], "name": item["name"], "type": item["type"],
            "type_label": entry.get("display_name", item["type"]), "icon": entry.get("icon", "key"),
            "owner": _person(item.get("owner")), "sharing": _sharing(item),
            "private": not item.get("shared_with_team", True), "last_used": _when(item.get("last_used_at")),
            "usage_count": int(item.get("usage_count") or 0), "can_manage": bool(item.get("can_manage")),
            "oauth": is_oauth, "connected": "access_token" in fields, "readable": bool(item.get("readable", True)),
            "fields_set": list(fields), "test": "", "test_message": ""}


def _problem(exc: ApiError) -> str:
    details = exc.details if isinstance(exc.details, list) else []
    parts = [f"{d.get('field') or d.get('node') or ''}: {d.get('message') or d.get('msg')}".lstrip(": ")
             for d in details[:4] if isinstance(d, dict) and (d.get("message") or d.get("msg"))]
    if parts and "see details" in exc.message:
        return "; ".join(parts)
    return exc.message[:1].upper() + exc.message[1:]


class CredentialsState(rx.State):
    rows: list[dict] = []
    loaded: bool = False
    load_error: str = ""
    search: str = ""
    types: list[dict] = []  # [{type, display_name, description, icon}]
    _catalog: dict[str, dict] = {}

    form_open: bool = False
    form_step: str = "type"  # type: pick a type | fields: fill the form
    form_mode: str = "new"  # new | edit
    form_id: str = ""
    form_type: str = ""
    form_type_label: str = ""
    form_name: str = ""
    form_fields: list[CredField] = []
    form_error: str = ""
    saving: bool = False

    testing_id: str = ""
    oauth_notice: str = ""  # the outcome of the last OAuth2 connection, until dismissed
    oauth_ok: bool = False

    share_id: str = ""
    share_name: str = ""
    share_team: bool = True
    share_members: list[dict] = []  # [{user_id, label, role, checked}]
    share_saving: bool = False

    usage_id: str = ""
    usage_name: str = ""
    usage_rows: list[dict] = []
    usage_loading: bool = False

    delete_id: str = ""
    delete_name: str = ""
    delete_usage: int = 0

    @rx.var
    def shown_rows(self) -> list[dict]:
        needle = self.search.strip().lower()
        if not needle:
            return self.rows
        return [r for r in self.rows if needle in f"{r['name']} {r['type_label']} {r['owner']}".lower()]

    # ---- list ---------------------------------------------------------------------------------------

    @rx.event
    async def load(self):
        return await self._refresh()

    async def _refresh(self):
        try:
            if not self._catalog:
                catalog = await call_api(self, "GET", "/credentials/types")
                self._catalog = {t["type"]: t for t in catalog}
                self.types = [{k: t.get(k, "") for k in ("type", "display_name", "description", "icon")}
                              for t in catalog]
            items = await call_api(self, "GET", "/credentials")
        except ApiError as exc:
            self.load_error = exc.message[:1].upper() + exc.message[1:]
            self.loaded = True
            return api_failed(exc)
        self.rows = [_row(item, self._catalog) for item in items]
        self.load_error, self.loaded = "", True
        return None

    @rx.event
    async def open_page(self):
        """on_load: the list, and the outcome of an OAuth2 connection the browser comes back from."""
        failed = await self._refresh()
        return failed or self._oauth_outcome()

    def _oauth_outcome(self):
        """After the OAuth2 redirect flow the browser lands on ?connected=<id> or ?oauth_error=<message>."""
        query = self.router.url.query_parameters
        connected, failed = query.get("connected", ""), query.get("oauth_error", "")
        if not connected and not failed:
            return None
        clean = rx.call_script(f"window.history.replaceState(null, '', {json.dumps(PAGE)})")
        if failed:
            self.oauth_ok, self.oauth_notice = False, f"Connecting failed: {failed}"
            return [rx.toast.error(self.oauth_notice), clean]
        name = next((r["name"] for r in self.rows if r["id"] == connected), "the credential")
        self.oauth_ok, self.oauth_notice = True, f"Connected “{name}”: its workflows can use the account now."
        return [rx.toast.success(f"Connected “{name}”"), clean]

    @rx.event
    def dismiss_notice(self):
        self.oauth_notice = ""

    @rx.event
    def set_search(self, value: str):
        self.search = value

    # ---- the form -----------------------------------------------------------------------------------

    @rx.event
    def open_new(self):
        self._reset_form()
        self.form_open, self.form_step, self.form_mode = True, "type", "new"

    @rx.event
    def choose_type(self, type_name: str):
        entry = self._catalog.get(type_name)
        if entry is None:
            return rx.toast.error(f"Unknown credential type {type_name}")
        self.form_type, self.form_type_label = type_name, entry.get("display_name", type_name)
        self.form_fields = form_fields(entry)
        self.form_step, self.form_error = "fields", ""
        return None

    @rx.event
    def back_to_types(self):
        self.form_step, self.form_fields, self.form_error = "type", [], ""

    @rx.event
    def open_edit(self, credential_id: str):
        row = next((r for r in self.rows if r["id"] == credential_id), None)
        if row is None:
            return rx.toast.error("That credential is gone; reload the page")
        self._reset_form()
        entry = self._catalog.get(row["type"], {})
        self.form_open, self.form_step, self.form_mode, self.form_id = True, "fields", "edit", row["id"]
        self.form_type, self.form_type_label, self.form_name = row["type"], row["type_label"], row["name"]
        self.form_fields = form_fields(entry, row["fields_set"])
        return None

    @rx.event
    def set_form_open(self, value: bool):
        if not value:
            self._reset_form()
        self.form_open = value

    @rx.event
    def set_form_name(self, value: str):
        self.form_name = value

    @rx.event
    def set_field(self, name: str, value: str | bool):
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        for f in self.form_fields:
            if f.name == name:
                f.value = text

    def _reset_form(self):
        self.form_fields, self.form_error, self.form_id, self.form_name = [], "", "", ""
        self.form_type = self.form_type_label = ""
        self.saving = False

    @rx.event
    async def save(self):
        name = self.form_name.strip()
        missing = missing_required(self.form_fields)
        if not name:
            self.form_error = "Give the credential a name."
            return
        if missing:
            self.form_error = f"Fill in: {', '.join(missing)}."
            return
        try:
            values = values_to_send(self.form_fields)
        except ValueError as exc:
            self.form_error = str(exc)
            return
        self.saving, self.form_error = True, ""
        yield
        try:
            if self.form_mode == "new":
                saved = await call_api(self, "POST", "/credentials",
                                       json={"name": name, "type": self.form_type, "values": values})
            else:
                body: dict = {"name": name}
                if values:
                    body["values"] = values
                saved = await call_api(self, "PATCH", f"/credentials/{self.form_id}", json=body)
        except ApiError as exc:
            self.saving = False
            self.form_error = _problem(exc)
            if exc.unauthorized:
                yield api_failed(exc)
            return
        created = self.form_mode == "new"
        self._reset_form()
        self.form_open = False
        hint = " Connect it to finish." if created and saved["type"] == "oauth2" and \
            "authorize_url" in saved.get("fields_set", []) else ""
        yield rx.toast.success(f"Saved “{saved['name']}”.{hint}")
        yield CredentialsState.load

    # ---- test and connect ---------------------------------------------------------------------------

    @rx.event
    async def test(self, credential_id: str):
        self.testing_id = credential_id
        yield
        try:
            outcome = await call_api(self, "POST", f"/credentials/{credential_id}/test")
        except ApiError as exc:
            self.testing_id = ""
            yield api_failed(exc)
            return
        self.testing_id = ""
        self.rows = [{**r, "test": "ok" if outcome["ok"] else "fail", "test_message": outcome["message"]}
                     if r["id"] == credential_id else r for r in self.rows]
        toast = rx.toast.success if outcome["ok"] else rx.toast.error
        yield toast(("Connection works: " if outcome["ok"] else "Connection failed: ") + outcome["message"])

    @rx.event
    async def connect(self, credential_id: str):
        try:
            answer = await call_api(self, "GET", f"/credentials/{credential_id}/oauth/authorize",
                                    params={"return_to": PAGE})
        except ApiError as exc:
            return api_failed(exc)
        return rx.call_script(f"window.location.assign({json.dumps(answer['authorize_url'])})")

    # ---- sharing ------------------------------------------------------------------------------------

    @rx.event
    async def open_sharing(self, credential_id: str):
        auth = await self.get_state(AuthState)
        try:
            item = await call_api(self, "GET", f"/credentials/{credential_id}")
            members = await call_api(self, "GET", f"/teams/{quote(auth.team_id)}/members")
        except ApiError as exc:
            return api_failed(exc)
        chosen = {u["id"] for u in item.get("shared_with") or []}
        owner_id = (item.get("owner") or {}).get("id")
        self.share_id, self.share_name = item["id"], item["name"]
        self.share_team = bool(item.get("shared_with_team", True))
        self.share_members = [
            {"user_id": m["user_id"], "label": f"{m['name'] or m['email']} ({m['email']})", "role": m["role"],
             "checked": m["user_id"] in chosen or m["role"] in ("owner", "admin"),
             "fixed": m["role"] in ("owner", "admin")}
            for m in members if m["user_id"] != owner_id]
        return None

    @rx.event
    def close_sharing(self):
        self._clear_sharing()

    @rx.event
    def sharing_open_change(self, value: bool):
        if not value:
            self._clear_sharing()

    def _clear_sharing(self):
        self.share_id = self.share_name = ""
        self.share_members = []

    @rx.event
    def set_share_team(self, value: bool):
        self.share_team = value

    @rx.event
    def toggle_member(self, user_id: str, value: bool):
        self.share_members = [{**m, "checked": value} if m["user_id"] == user_id and not m["fixed"] else m
                              for m in self.share_members]

    @rx.event
    async def save_sharing(self):
        user_ids = [m["user_id"] for m in self.share_members if m["checked"] and not m["fixed"]]
        self.share_saving = True
        yield
        try:
            await call_api(self, "PUT", f"/credentials/{self.share_id}/sharing",
                           json={"shared_with_team": self.share_team, "user_ids": user_ids})
        except ApiError as exc:
            self.share_saving = False
            yield api_failed(exc)
            return
        name = self.share_name
        self.share_saving = False
        self._clear_sharing()
        yield rx.toast.success(f"Sharing of “{name}” saved")
        yield CredentialsState.load

    # ---- usage and delete ---------------------------------------------------------------------------

    @rx.event
    async def open_usage(self, credential_id: str, name: str):
        self.usage_id, self.usage_name, self.usage_rows, self.usage_loading = credential_id, name, [], True
        yield
        try:
            uses = await call_api(self, "GET", f"/credentials/{credential_id}/usage")
        except ApiError as exc:
            self.usage_id, self.usage_loading = "", False
            yield api_failed(exc)
            return
        self.usage_rows = [{"id": u["id"], "name": u["name"], "active": u["active"], "nodes": ", ".join(u["nodes"])}
                           for u in uses]
        self.usage_loading = False

    @rx.event
    def close_usage(self):
        self.usage_id, self.usage_rows = "", []

    @rx.event
    def usage_open_change(self, value: bool):
        if not value:
            self.usage_id, self.usage_rows = "", []

    @rx.event
    def ask_delete(self, credential_id: str):
        row = next((r for r in self.rows if r["id"] == credential_id), None)
        if row is not None:
            self.delete_id, self.delete_name, self.delete_usage = row["id"], row["name"], row["usage_count"]

    @rx.event
    def cancel_delete(self):
        self.delete_id = self.delete_name = ""

    @rx.event
    async def confirm_delete(self):
        credential_id, name = self.delete_id, self.delete_name
        self.delete_id = self.delete_name = ""
        try:
            await call_api(self, "DELETE", f"/credentials/{credential_id}")
        except ApiError as exc:
            return api_failed(exc)
        return [rx.toast.success(f"Deleted “{name}”"), CredentialsState.load]
