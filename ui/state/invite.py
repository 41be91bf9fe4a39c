"""/invite?token=...: join a team with an invitation link, after signing in or up."""

from __future__ import annotations

import contextlib
from urllib.parse import quote

import reflex as rx

from ui.api_client import ApiClient, ApiError
from ui.state.auth import AuthState, call_api


class InviteState(rx.State):
    token: str = ""
    opened: bool = False
    signed_in_as: str = ""
    error: str = ""
    accepting: bool = False

    @rx.var
    def return_path(self) -> str:
        """Where sign-in and sign-up send the visitor back to (this page, with its token)."""
        return quote(f"/invite?token={self.token}", safe="")

    @rx.event
    async def open(self):
        self.token = self.router.url.query_parameters.get("token", "")
        self.error, self.signed_in_as, self.opened = "", "", False
        if not self.token:
            self.error = "This link has no invitation token. Open the link from the invitation as it was sent."
        auth = await self.get_state(AuthState)
        if auth.signed_in:
            with contextlib.suppress(ApiError):  # a dead session: treated as signed out
                me = await call_api(self, "GET", "/auth/me")
                self.signed_in_as = me["user"]["email"]
        self.opened = True

    @rx.event
    async def accept(self):
        self.accepting, self.error = True, ""
        yield
        try:
            joined = await call_api(self, "POST", "/teams/invitations/accept", json={"token": self.token})
        except ApiError as exc:
            self.error = exc.message[:1].upper() + exc.message[1:]
            if exc.unauthorized:
                self.signed_in_as = ""
            return
        finally:
            self.accepting = False
        auth = await self.get_state(AuthState)
        auth.team_id = joined["team"]["id"]
        yield rx.toast.success(f"You joined {joined['team']['name']} as {joined['role']}")
        yield rx.redirect("/workflows")

    @rx.event
    async def use_another_account(self):
        """Sign out here, then come back to this invitation after signing in as someone else."""
        auth = await self.get_state(AuthState)
        if auth.refresh_token:
            with contextlib.suppress(ApiError):
                await ApiClient().post("/auth/logout", json={"refresh_token": auth.refresh_token})
        auth.access_token = auth.refresh_token = auth.team_id = ""
        auth.user_name = auth.user_email = ""
        auth.teams = []
        return rx.redirect(f"/login?next={self.return_path}")
