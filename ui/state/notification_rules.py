"""Settings > Notifications: the team's channels (with "Send test") and rules, through the REST API.

Secrets typed into the channel form go to the API once and are never read back: the list shows
which secrets a channel has, never their values.
"""

from __future__ import annotations

import reflex as rx

from ui.api_client import ApiError
from ui.state.auth import api_failed, call_api

KINDS = {"slack": "Slack", "teams": "Microsoft Teams", "webhook": "Signed webhook", "email": "Email",
         "in_app": "In-app (bell)"}
TRIGGERS = {"failure": "On failure", "recovery": "On recovery", "long_run": "Run longer than…",
            "error_workflow": "Error workflow fires"}
ALL_WORKFLOWS = "__all__"


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] if message else message


class NotificationRulesState(rx.State):
    channels: list[dict[str, str]] = []
    rules: list[dict[str, str]] = []
    workflows: list[dict[str, str]] = []
    loaded: bool = False
    error: str = ""
    kind: str = "slack"
    trigger: str = "failure"
    channel_error: str = ""
    rule_error: str = ""
    saving: bool = False
    test_result: str = ""

    @rx.event
    async def load(self):
        try:
            channels = await call_api(self, "GET", "/notifications/channels")
            rules = await call_api(self, "GET", "/notifications/rules")
            workflows = await call_api(self, "GET", "/workflows", params={"limit": 100})
        except ApiError as exc:
            self.error = _sentence(exc.message)
            return api_failed(exc) if exc.unauthorized else None
        names = {c["id"]: c["name"] for c in channels["items"]}
        flows = {w["id"]: w["name"] for w in workflows["items"]}
        self.channels = [{"id": c["id"], "name": c["name"], "kind": KINDS.get(c["kind"], c["kind"]),
                          "secrets": ", ".join(c["secrets_set"]) or "—"} for c in channels["items"]]
        self.workflows = [{"id": w["id"], "name": w["name"]} for w in workflows["items"]]
        self.rules = [{"id": r["id"], "name": r["name"], "trigger": TRIGGERS.get(r["trigger"], r["trigger"])
                       + (f" {r['threshold_s']} s" if r["trigger"] == "long_run" else ""),
                       "channel": names.get(r["channel_id"], "?"),
                       "workflow": flows.get(r["workflow_id"], "?") if r["workflow_id"] else "All workflows",
                       "window": f"{r['window_s'] // 60} min" if r["window_s"] else "none",
                       "enabled": "on" if r["enabled"] else "paused"}
                      for r in rules["items"]]
        self.loaded, self.error = True, ""
        return None

    @rx.event
    def set_kind(self, kind: str):
        self.kind, self.channel_error = kind, ""

    @rx.event
    def set_trigger(self, trigger: str):
        self.trigger, self.rule_error = trigger, ""

    @rx.event
    async def create_channel(self, form: dict):
        name, kind = str(form.get("name", "")).strip(), self.kind
        url, secret = str(form.get("url", "")).strip(), str(form.get("signing_secret", ""))
        recipients = [r.strip() for r in str(form.get("recipients", "")).split(",") if r.strip()]
        if not name:
            self.channel_error = "Give the channel a name, e.g. #ops alerts."
            return None
        body: dict = {"name": name, "kind": kind, "config": {}, "secrets": {}}
        if kind in ("slack", "teams"):
            body["secrets"] = {"webhook_url": url}
        elif kind == "webhook":
            body["secrets"] = {"url": url, "signing_secret": secret}
        elif kind == "email":
            body["config"] = {"recipients": recipients}
        return await self._create("/notifications/channels", body, "channel_error", f"Channel “{name}” added")

    @rx.event
    async def send_test(self, channel_id: str, name: str):
        try:
            result = await call_api(self, "POST", f"/notifications/channels/{channel_id}/test")
        except ApiError as exc:
            return api_failed(exc)
        self.test_result = f"{name}: {'sent' if result['ok'] else 'failed'} — {result['message']}"
        return (rx.toast.success(self.test_result) if result["ok"] else rx.toast.error(self.test_result))

    @rx.event
    async def delete_channel(self, channel_id: str):
        return await self._change("DELETE", f"/notifications/channels/{channel_id}")

    @rx.event
    async def create_rule(self, form: dict):
        name = str(form.get("name", "")).strip()
        channel_id, workflow_id = str(form.get("channel_id", "")), str(form.get("workflow_id", ALL_WORKFLOWS))
        if not name:
            self.rule_error = "Give the rule a name, e.g. Orders failing."
            return None
        if not channel_id:
            self.rule_error = "Choose a channel (add one above first)."
            return None
        body: dict = {"name": name, "trigger": self.trigger, "channel_id": channel_id,
                      "workflow_id": None if workflow_id in ("", ALL_WORKFLOWS) else workflow_id}
        for field in ("threshold_s", "window_s"):
            value = str(form.get(field, "")).strip()
            if value:
                if not value.isdigit():
                    self.rule_error = f"{'Threshold' if field == 'threshold_s' else 'Window'} must be a whole " \
                                      f"number of seconds, not “{value}”."
                    return None
                body[field] = int(value)
        if self.trigger != "long_run":
            body.pop("threshold_s", None)
        return await self._create("/notifications/rules", body, "rule_error", f"Rule “{name}” added")

    @rx.event
    async def toggle_rule(self, rule_id: str, state: str):
        return await self._change("PATCH", f"/notifications/rules/{rule_id}", {"enabled": state != "on"})

    @rx.event
    async def delete_rule(self, rule_id: str):
        return await self._change("DELETE", f"/notifications/rules/{rule_id}")

    async def _create(self, path: str, body: dict, error_field: str, done: str):
        """POST a new channel or rule; the API's refusal shows under its form (`error_field`)."""
        self.saving = True
        setattr(self, error_field, "")
        try:
            await call_api(self, "POST", path, json=body)
        except ApiError as exc:
            setattr(self, error_field, _sentence(exc.message))
            return api_failed(exc) if exc.unauthorized else None
        finally:
            self.saving = False
        return [NotificationRulesState.load, rx.toast.success(done)]

    async def _change(self, method: str, path: str, body: dict | None = None):
        """PATCH or DELETE a row of the lists, then reload them."""
        try:
            await call_api(self, method, path, **({"json": body} if body is not None else {}))
        except ApiError as exc:
            return api_failed(exc)
        return NotificationRulesState.load
