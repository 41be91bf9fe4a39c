"""Signing in and out, the current user and team, and the authenticated API call every feature uses."""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import quote

import reflex as rx

from ui.api_client import ApiClient, ApiError, Tokens

PUBLIC_ROUTES = ("/login", "/signup")
SECURITY_PAGE = "/settings?tab=security"
# Pages a member confined by a team's two-factor requirement may stay on (they are not about the team).
TWO_FACTOR_EXEMPT = ("/settings", "/admin")


class AuthState(rx.State):
    # Kept in the browser so a reload (or a new tab) stays signed in.
    access_token: str = rx.LocalStorage("", name="lf_access", sync=True)
    refresh_token: str = rx.LocalStorage("", name="lf_refresh", sync=True)
    team_id: str = rx.LocalStorage("", name="lf_team", sync=True)

    user_name: str = ""
    user_email: str = ""
    user_id: str = ""
    is_admin: bool = False  # instance admin: sees the Admin console
    teams: list[dict[str, str]] = []  # [{id, name, role, require_2fa, blocked}] from /auth/me ("yes" or "")
    two_factor_enabled: bool = False
    form_error: str = ""
    busy: bool = False
    # The second step of a sign-in with two-factor on: the API's mfa_token, kept on the server only.
    mfa_token: str = ""
    mfa_recovery: bool = False  # asking for a recovery code instead of the 6-digit code

    @rx.var
    def signed_in(self) -> bool:
        return bool(self.access_token or self.refresh_token)

    @rx.var
    def initials(self) -> str:
        words = (self.user_name or self.user_email or "?").replace("@", " ").split()
        return "".join(w[0] for w in words[:2]).upper()

    @rx.var
    def role(self) -> str:
        """The signed-in user's role in the current team: owner, admin, editor or viewer."""
        for team in self.teams:
            if team["id"] == self.team_id:
                return team["role"]
        return self.teams[0]["role"] if self.teams else ""

    @rx.var
    def can_edit(self) -> bool:
        """Editors and above change things; viewers see no edit buttons (the API refuses them anyway)."""
        return self.role in ("owner", "admin", "editor")

    @rx.var
    def is_team_admin(self) -> bool:
        return self.role in ("owner", "admin")

    def _current_team(self) -> dict[str, str]:
        for team in self.teams:
            if team["id"] == self.team_id:
                return team
        return self.teams[0] if self.teams else {}

    @rx.var
    def blocked_by_2fa(self) -> bool:
        """The current team requires two-factor sign-in and this account has not turned it on."""
        return self._current_team().get("blocked") == "yes"

    @rx.var
    def team_requires_2fa(self) -> bool:
        return self._current_team().get("require_2fa") == "yes"

    @rx.var
    def team_name(self) -> str:
        for team in self.teams:
            if team["id"] == self.team_id:
                return team["name"]
        return self.teams[0]["name"] if self.teams else ""

    async def request(self, method: str, path: str, **kw) -> Any:
        """Call the API as the signed-in user; keeps refreshed tokens, forgets rejected ones."""
        if not self.signed_in:
            raise ApiError(401, "sign in first", "unauthorized")
        client = ApiClient(Tokens(self.access_token, self.refresh_token, self.team_id))
        try:
            return await client.request(method, path, **kw)
        except ApiError as exc:
            if exc.unauthorized:
                self.access_token = self.refresh_token = ""
            raise
        finally:
            if client.refreshed:
                self.access_token, self.refresh_token = client.tokens.access, client.tokens.refresh

    def _login_redirect(self) -> rx.event.EventSpec:
        path = self.router.url.path or "/"
        target = "/login" if path in ("/", "/workflows") or path in PUBLIC_ROUTES else f"/login?next={quote(path)}"
        return rx.redirect(target)

    @rx.event
    async def require_session(self):
        """on_load of every signed-in page: go to /login without a session; refresh who we are and our teams."""
        if not self.signed_in:
            return self._login_redirect()
        try:
            await self._load_me()
        except ApiError as exc:
            return self._login_redirect() if exc.unauthorized else rx.toast.error(exc.message)
        if self.blocked_by_2fa and not self.router.url.path.startswith(TWO_FACTOR_EXEMPT):
            return rx.redirect(SECURITY_PAGE)  # the team answers 403 to everything else until they enrol
        return None

    async def _load_me(self) -> None:
        me = await self.request("GET", "/auth/me")
        self.user_name, self.user_email = me["user"]["name"], me["user"]["email"]
        self.user_id, self.is_admin = me["user"]["id"], bool(me["user"]["is_admin"])
        self.two_factor_enabled = bool(me.get("two_factor_enabled"))
        self.teams = [{"id": m["team"]["id"], "name": m["team"]["name"], "role": m["role"],
                       "require_2fa": "yes" if m["team"].get("require_2fa") else "",
                       "blocked": "yes" if m.get("blocked_by_2fa") else ""}
                      for m in me["memberships"]]
        if self.teams and self.team_id not in {t["id"] for t in self.teams}:
            self.team_id = self.teams[0]["id"]

    @rx.event
    def open_public_page(self):
        """on_load of /login and /signup: a signed-in visitor goes straight to the app."""
        self.form_error, self.mfa_token, self.mfa_recovery = "", "", False
        if self.signed_in and self.user_email:
            return rx.redirect(self._next_page())
        return None

    @rx.event
    async def login(self, form: dict):
        email, password = form.get("email", "").strip(), form.get("password", "")
        if not email or not password:
            self.form_error = "Enter your email and password."
            return
        async for event in self._start_session("/auth/login", {"email": email, "password": password}):
            yield event

    @rx.event
    async def signup(self, form: dict):
        body = {"email": form.get("email", "").strip(), "password": form.get("password", ""),
                "name": form.get("name", "").strip()}
        if not body["email"] or not body["password"]:
            self.form_error = "Enter an email and a password."
            return
        async for event in self._start_session("/auth/signup", body):
            yield event

    @rx.event
    async def login_code(self, form: dict):
        """The second step: the 6-digit code (or a recovery code) for the mfa_token of the first."""
        code = "".join(str(form.get("code", "")).split())
        if not code:
            self.form_error = "Enter a recovery code." if self.mfa_recovery else \
                "Enter the 6-digit code from your authenticator app."
            return
        async for event in self._start_session("/auth/login/mfa", {"mfa_token": self.mfa_token, "code": code}):
            yield event

    @rx.event
    def toggle_recovery(self):
        self.mfa_recovery, self.form_error = not self.mfa_recovery, ""

    @rx.event
    def cancel_mfa(self):
        self.mfa_token, self.mfa_recovery, self.form_error = "", False, ""

    async def _start_session(self, path: str, body: dict):
        self.form_error, self.busy = "", True
        yield
        try:
            session = await ApiClient().post(path, json=body)
            if session.get("mfa_required"):
                self.mfa_token, self.mfa_recovery = session["mfa_token"], False
                return
            self.mfa_token = ""
            self.access_token, self.refresh_token = session["access_token"], session["refresh_token"]
            self.team_id = session.get("team", {}).get("id", "")
            await self._load_me()
        except ApiError as exc:
            self.form_error = _form_message(exc)
            if exc.code == "mfa_token_invalid":
                self.mfa_token = ""  # the first step expired: back to the password
            return
        finally:
            self.busy = False
        yield rx.redirect(SECURITY_PAGE if self.blocked_by_2fa else self._next_page())

    def _next_page(self) -> str:
        """Where ?next= asks to go after signing in: a path on this site only, else the workflows."""
        target = self.router.url.query_parameters.get("next", "")
        return target if target.startswith("/") and not target.startswith("//") and "\\" not in target \
            else "/workflows"

    @rx.event
    async def logout(self):
        if self.refresh_token:
            with contextlib.suppress(ApiError):  # the token was already gone: signed out either way
                await ApiClient().post("/auth/logout", json={"refresh_token": self.refresh_token})
        self.access_token = self.refresh_token = self.team_id = ""
        self.user_name = self.user_email = ""
        self.teams, self.two_factor_enabled = [], False
        return rx.redirect("/login")

    @rx.event
    def switch_team(self, team_id: str):
        if team_id == self.team_id:
            return None
        self.team_id = team_id
        # A full load, so every page (and the one we are on) reads the new team's data.
        return rx.call_script("window.location.assign('/workflows')")


def _form_message(exc: ApiError) -> str:
    if exc.code == "validation_error" and isinstance(exc.details, list) and exc.details:
        first = exc.details[0]
        field = str(first.get("loc", ["", "value"])[-1]).replace("_", " ")
        return f"{field.capitalize()}: {first.get('msg', 'is invalid')}"
    return exc.message[:1].upper() + exc.message[1:]


async def call_api(state: rx.State, method: str, path: str, **kw) -> Any:
    """An API call as the user of `state`'s browser tab (see AuthState.request)."""
    auth = await state.get_state(AuthState)
    return await auth.request(method, path, **kw)


def api_failed(exc: ApiError) -> rx.event.EventSpec:
    """What the UI does with an API error: sign in again, or say what went wrong."""
    if exc.unauthorized:
        return rx.redirect("/login")
    return rx.toast.error(exc.message[:1].upper() + exc.message[1:])
