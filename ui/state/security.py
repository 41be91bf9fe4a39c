"""The Security tab of Settings: your two-factor sign-in, and the team's requirement of it.

Enrolment: "Set up" asks the API for a secret (shown with its QR code), the user confirms with
a code from the app, and the 10 recovery codes are shown once, then forgotten here too.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from ui.api_client import ApiError
from ui.state.auth import AuthState, api_failed, call_api
from ui.state.settings import current_team_id, sentence, when


def _code(form: dict) -> str:
    return "".join(str(form.get("code", "")).split())


class SecurityState(rx.State):
    loaded: bool = False
    error: str = ""
    enabled: bool = False
    enabled_at: str = ""
    codes_left: int = 0
    secret: str = ""  # only while enrolling: the API never returns it once enrolment is confirmed
    qr_code: str = ""  # an SVG data: URI
    recovery_codes: list[str] = []  # shown once, in a dialog
    busy: bool = False
    enable_error: str = ""
    disable_error: str = ""
    regenerate_error: str = ""
    disable_form_key: int = 0
    regenerate_form_key: int = 0

    @rx.event
    async def load(self):
        try:
            status = await call_api(self, "GET", "/auth/2fa")
        except ApiError as exc:
            self.error = sentence(exc.message)
            return api_failed(exc) if exc.unauthorized else None
        self.enabled, self.codes_left = bool(status["enabled"]), int(status["recovery_codes_left"])
        self.enabled_at = when(status.get("enabled_at"))
        self.loaded, self.error = True, ""
        return None

    async def _post(self, path: str, body: dict | None, error_field: str) -> tuple[bool, Any]:
        """(whether the API agreed, its answer); a refusal's message goes to `error_field`."""
        self.busy = True
        setattr(self, error_field, "")
        try:
            return True, await call_api(self, "POST", path, json=body)
        except ApiError as exc:
            if exc.unauthorized:
                raise
            setattr(self, error_field, sentence(exc.message))
            return False, None
        finally:
            self.busy = False

    @rx.event
    async def start(self):
        try:
            ok, setup = await self._post("/auth/2fa/setup", None, "enable_error")
        except ApiError as exc:
            return api_failed(exc)
        if ok:
            self.secret, self.qr_code = setup["secret"], setup["qr_code"]
        return None

    @rx.event
    def cancel(self):
        self.secret = self.qr_code = self.enable_error = ""

    @rx.event
    async def confirm(self, form: dict):
        if not _code(form):
            self.enable_error = "Enter the 6-digit code your authenticator app shows."
            return None
        try:
            ok, done = await self._post("/auth/2fa/enable", {"code": _code(form)}, "enable_error")
        except ApiError as exc:
            return api_failed(exc)
        if not ok:
            return None
        self.secret = self.qr_code = ""
        self.recovery_codes = done["recovery_codes"]
        return [SecurityState.load, AuthState.require_session]  # a team that required it opens up

    @rx.event
    async def regenerate(self, form: dict):
        if not _code(form):
            self.regenerate_error = "Enter a current code from your authenticator app (or a recovery code)."
            return None
        try:
            ok, done = await self._post("/auth/2fa/recovery-codes", {"code": _code(form)}, "regenerate_error")
        except ApiError as exc:
            return api_failed(exc)
        if not ok:
            return None
        self.recovery_codes, self.regenerate_form_key = done["recovery_codes"], self.regenerate_form_key + 1
        return SecurityState.load

    @rx.event
    async def disable(self, form: dict):
        password = str(form.get("password", ""))
        if not password or not _code(form):
            self.disable_error = "Enter your password and a current code (or a recovery code)."
            return None
        try:
            ok, _ = await self._post("/auth/2fa/disable", {"password": password, "code": _code(form)},
                                     "disable_error")
        except ApiError as exc:
            return api_failed(exc)
        if not ok:
            return None
        self.disable_form_key += 1
        return [rx.toast.success("Two-factor sign-in is off"), SecurityState.load, AuthState.require_session]

    @rx.event
    def close_codes(self, _open: bool = False):
        self.recovery_codes = []

    @rx.event
    def copy_codes(self):
        return [rx.set_clipboard("\n".join(self.recovery_codes)), rx.toast.success("Recovery codes copied")]

    @rx.event
    async def set_team_requirement(self, required: bool):
        team_id = await current_team_id(self)
        try:
            await call_api(self, "PUT", f"/teams/{team_id}/security", json={"require_2fa": required})
        except ApiError as exc:
            return [api_failed(exc), AuthState.require_session]
        done = "Members now need two-factor sign-in" if required else "Two-factor sign-in is optional again"
        return [rx.toast.success(done), AuthState.require_session]
