"""The Settings console: your profile and password, the team's members, API keys, notifications.

Four small states, one per tab; each loads through the REST API like any other client and
keeps `loaded`/`error` so the page can show a spinner, an empty state or what went wrong.
"""

from __future__ import annotations

from datetime import datetime

import reflex as rx

from ui.api_client import ApiError
from ui.state.auth import AuthState, api_failed, call_api

ROLES = ("viewer", "editor", "admin", "owner")
TABS = ("profile", "security", "members", "api-keys", "notifications")


def when(value: str | None, never: str = "—") -> str:
    if not value:
        return never
    try:
        return datetime.fromisoformat(value).strftime("%b %d, %Y %H:%M")
    except (TypeError, ValueError):
        return value


def sentence(message: str) -> str:
    return message[:1].upper() + message[1:]


async def current_team_id(state: rx.State) -> str:
    auth = await state.get_state(AuthState)
    if auth.team_id:
        return auth.team_id
    return auth.teams[0]["id"] if auth.teams else ""


class SettingsTabState(rx.State):
    """Which tab of /settings is open; `/settings?tab=security` opens that one."""

    tab: str = "profile"

    @rx.event
    def open_page(self):
        # Only when asked: a tab clicked before this on_load event arrived must stay open.
        wanted = self.router.url.query_parameters.get("tab")
        if wanted in TABS:
            self.tab = wanted

    @rx.event
    def set_tab(self, tab: str):
        self.tab = tab if tab in TABS else "profile"


class ProfileState(rx.State):
    name_error: str = ""
    password_error: str = ""
    saving_name: bool = False
    saving_password: bool = False
    password_form_key: int = 0  # bumped to clear the form after a change

    @rx.event
    async def save_name(self, form: dict):
        name = str(form.get("name", "")).strip()
        if not name:
            self.name_error = "Enter a name."
            return None
        self.name_error, self.saving_name = "", True
        try:
            user = await call_api(self, "PATCH", "/users/me", json={"name": name})
        except ApiError as exc:
            self.name_error = sentence(exc.message)
            return api_failed(exc) if exc.unauthorized else None
        finally:
            self.saving_name = False
        auth = await self.get_state(AuthState)
        auth.user_name = user["name"]
        return rx.toast.success("Name saved")

    @rx.event
    async def change_password(self, form: dict):
        current, new, repeat = (str(form.get(k, "")) for k in ("current_password", "new_password", "repeat_password"))
        if not current or not new:
            self.password_error = "Enter your current password and a new one."
            return None
        if new != repeat:
            self.password_error = "The new password and its repetition differ; type them again."
            return None
        self.password_error, self.saving_password = "", True
        try:
            pair = await call_api(self, "POST", "/users/me/password",
                                  json={"current_password": current, "new_password": new})
        except ApiError as exc:
            # A wrong current password is a 403 about this form, not about the session.
            self.password_error = sentence(exc.message)
            return api_failed(exc) if exc.unauthorized else None
        finally:
            self.saving_password = False
        auth = await self.get_state(AuthState)
        auth.access_token, auth.refresh_token = pair["access_token"], pair["refresh_token"]
        self.password_form_key += 1
        return rx.toast.success("Password changed. Other sessions were signed out.")


class NotificationsState(rx.State):
    email_on_failure: bool = True
    loaded: bool = False
    error: str = ""

    @rx.event
    async def load(self):
        try:
            prefs = await call_api(self, "GET", "/users/me/notifications")
        except ApiError as exc:
            self.error = sentence(exc.message)
            return api_failed(exc) if exc.unauthorized else None
        self.email_on_failure, self.loaded, self.error = bool(prefs["email_on_failure"]), True, ""
        return None

    @rx.event
    async def set_email_on_failure(self, value: bool):
        previous, self.email_on_failure = self.email_on_failure, value
        try:
            prefs = await call_api(self, "PUT", "/users/me/notifications", json={"email_on_failure": value})
        except ApiError as exc:
            self.email_on_failure = previous
            return api_failed(exc)
        self.email_on_failure = bool(prefs["email_on_failure"])
        return rx.toast.success("Failure emails on" if value else "Failure emails off")


def _key_row(key: dict) -> dict:
    return {"id": key["id"], "name": key["name"], "prefix": f"lf_{key['prefix']}…", "user_id": key["user_id"],
            "created": when(key.get("created_at")), "last_used": when(key.get("last_used_at"), "never"),
            "expires": when(key.get("expires_at"), "never")}


class ApiKeysState(rx.State):
    rows: list[dict[str, str]] = []
    loaded: bool = False
    error: str = ""
    create_open: bool = False
    create_error: str = ""
    creating: bool = False
    new_key: str = ""  # the secret, shown once in a dialog, forgotten when it closes
    new_key_name: str = ""
    revoke_id: str = ""
    revoke_name: str = ""

    @rx.event
    async def load(self):
        try:
            keys = await call_api(self, "GET", "/api-keys")
        except ApiError as exc:
            self.error = sentence(exc.message)
            return api_failed(exc) if exc.unauthorized else None
        self.rows, self.loaded, self.error = [_key_row(k) for k in keys], True, ""
        return None

    @rx.event
    def set_create_open(self, value: bool):
        self.create_open, self.create_error = value, ""

    @rx.event
    async def create(self, form: dict):
        name, days = str(form.get("name", "")).strip(), str(form.get("expires_in_days", "")).strip()
        if not name:
            self.create_error = "Give the key a name, e.g. the script that will use it."
            return None
        body: dict = {"name": name}
        if days and days != "never":
            if not days.isdigit() or not 1 <= int(days) <= 3650:
                self.create_error = f"Expiry must be a number of days from 1 to 3650, not “{days}”."
                return None
            body["expires_in_days"] = int(days)
        self.creating, self.create_error = True, ""
        try:
            created = await call_api(self, "POST", "/api-keys", json=body)
        except ApiError as exc:
            self.create_error = sentence(exc.message)
            return api_failed(exc) if exc.unauthorized else None
        finally:
            self.creating = False
        self.create_open = False
        self.new_key, self.new_key_name = created["key"], created["name"]
        return ApiKeysState.load

    @rx.event
    def close_new_key(self, _open: bool = False):
        self.new_key = self.new_key_name = ""

    @rx.event
    def copy_new_key(self):
        return [rx.set_clipboard(self.new_key), rx.toast.success("Key copied")]

    @rx.event
    def ask_revoke(self, key_id: str, name: str):
        self.revoke_id, self.revoke_name = key_id, name

    @rx.event
    def cancel_revoke(self):
        self.revoke_id = self.revoke_name = ""

    @rx.event
    async def confirm_revoke(self):
        key_id, name = self.revoke_id, self.revoke_name
        self.revoke_id = self.revoke_name = ""
        try:
            await call_api(self, "DELETE", f"/api-keys/{key_id}")
        except ApiError as exc:
            return [api_failed(exc), ApiKeysState.load]
        return [rx.toast.success(f"Revoked “{name}”"), ApiKeysState.load]
