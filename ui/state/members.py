"""The Members tab of Settings: the team's members, pending invitations, roles and removals."""

from __future__ import annotations

import reflex as rx

from ui.api_client import ApiError
from ui.state.auth import AuthState, api_failed, call_api
from ui.state.settings import current_team_id, sentence, when


def _member(m: dict) -> dict:
    return {"user_id": m["user_id"], "email": m["email"], "name": m["name"] or m["email"], "role": m["role"],
            "joined": when(m.get("joined_at"))}


def _invitation(i: dict) -> dict:
    return {"id": i["id"], "email": i["email"], "role": i["role"], "expires": when(i.get("expires_at"))}


class MembersState(rx.State):
    members: list[dict[str, str]] = []
    invitations: list[dict[str, str]] = []
    loaded: bool = False
    error: str = ""
    invite_role: str = "viewer"
    invite_error: str = ""
    inviting: bool = False
    invite_url: str = ""  # shown once when no mail server delivers the link
    invite_email: str = ""
    remove_id: str = ""
    remove_name: str = ""

    @rx.event
    async def load(self):
        auth = await self.get_state(AuthState)
        team_id = await current_team_id(self)
        try:
            members = await call_api(self, "GET", f"/teams/{team_id}/members")
            pending = (await call_api(self, "GET", f"/teams/{team_id}/invitations")
                       if auth.is_team_admin else [])
        except ApiError as exc:
            self.error = sentence(exc.message)
            return api_failed(exc) if exc.unauthorized else None
        self.members, self.invitations = [_member(m) for m in members], [_invitation(i) for i in pending]
        self.loaded, self.error = True, ""
        return None

    @rx.event
    def set_invite_role(self, role: str):
        self.invite_role = role

    @rx.event
    async def invite(self, form: dict):
        email = str(form.get("email", "")).strip()
        if not email:
            self.invite_error = "Enter the email address to invite."
            return None
        self.inviting, self.invite_error = True, ""
        team_id = await current_team_id(self)
        try:
            created = await call_api(self, "POST", f"/teams/{team_id}/invitations",
                                     json={"email": email, "role": self.invite_role})
        except ApiError as exc:
            self.invite_error = sentence(exc.message)
            return api_failed(exc) if exc.unauthorized else None
        finally:
            self.inviting = False
        if created.get("invite_url"):
            self.invite_url, self.invite_email = created["invite_url"], created["email"]
            events = []
        else:
            events = [rx.toast.success(f"Invitation mailed to {created['email']}")]
        return [*events, rx.set_value("invite-email", ""), MembersState.load]

    @rx.event
    def close_invite_link(self, _open: bool = False):
        self.invite_url = self.invite_email = ""

    @rx.event
    def copy_invite_link(self):
        return [rx.set_clipboard(self.invite_url), rx.toast.success("Invitation link copied")]

    @rx.event
    async def cancel_invitation(self, invitation_id: str, email: str):
        team_id = await current_team_id(self)
        try:
            await call_api(self, "DELETE", f"/teams/{team_id}/invitations/{invitation_id}")
        except ApiError as exc:
            return [api_failed(exc), MembersState.load]
        return [rx.toast.success(f"Invitation for {email} revoked"), MembersState.load]

    @rx.event
    async def change_role(self, user_id: str, role: str):
        team_id = await current_team_id(self)
        try:
            member = await call_api(self, "PATCH", f"/teams/{team_id}/members/{user_id}", json={"role": role})
        except ApiError as exc:
            return [api_failed(exc), MembersState.load]  # the select goes back to the real role
        auth = await self.get_state(AuthState)
        events = [rx.toast.success(f"{member['name'] or member['email']} is now {member['role']}"), MembersState.load]
        if user_id == auth.user_id:
            events.append(AuthState.require_session)  # our own role changed: controls follow
        return events

    @rx.event
    def ask_remove(self, user_id: str, name: str):
        self.remove_id, self.remove_name = user_id, name

    @rx.event
    def cancel_remove(self):
        self.remove_id = self.remove_name = ""

    @rx.event
    async def confirm_remove(self):
        user_id, name = self.remove_id, self.remove_name
        self.remove_id = self.remove_name = ""
        team_id = await current_team_id(self)
        try:
            await call_api(self, "DELETE", f"/teams/{team_id}/members/{user_id}")
        except ApiError as exc:
            return [api_failed(exc), MembersState.load]
        return [rx.toast.success(f"Removed {name} from the team"), MembersState.load]
