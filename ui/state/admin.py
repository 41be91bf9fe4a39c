"""The instance admin console: users, teams, workers and queue (auto-refreshed), errors, health."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import reflex as rx

from ui.api_client import ApiError
from ui.state.auth import api_failed, call_api

REFRESH_SECONDS = 5
REFRESH_FOR_SECONDS = 30 * 60  # a forgotten tab stops polling after half an hour
ROUTE = "/admin"
TABS = ("users", "teams", "workers", "errors", "health", "audit", "billing")
AUDIT_PAGE = 100


def _when(value: str | None) -> str:
    if not value:
        return "—"
    try:
        return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return value


def _ago(value: str | None) -> str:
    try:
        seconds = int((datetime.now(UTC) - datetime.fromisoformat(value)).total_seconds())
    except (TypeError, ValueError):
        return "—"
    if seconds < 90:
        return f"{max(seconds, 0)} s ago"
    return f"{seconds // 60} min ago" if seconds < 5400 else f"{seconds // 3600} h ago"


def _user(u: dict) -> dict:
    return {"id": u["id"], "email": u["email"], "name": u["name"], "is_admin": u["is_admin"],
            "is_active": u["is_active"], "two_factor": bool(u.get("two_factor_enabled")),
            "teams": str(u.get("teams") or 0), "created": _when(u["created_at"]),
            "last_login": _when(u.get("last_login_at"))}


def _team(t: dict) -> dict:
    return {"id": t["id"], "name": t["name"], "slug": t["slug"], "members": str(t["members"]),
            "workflows": f"{t['workflows']} ({t['active_workflows']} active)", "executions": str(t["executions"]),
            "created": _when(t["created_at"])}


def _worker(w: dict) -> dict:
    d = w.get("details") or {}
    facts = [f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in sorted(d.items())]
    return {"id": w["id"], "role": w["role"], "host": w["hostname"], "pid": str(w["pid"]), "alive": w["alive"],
            "seen": _ago(w["last_seen_at"]), "started": _when(w["started_at"]), "details": " · ".join(facts)}


def _failure(e: dict) -> dict:
    return {"id": e["id"], "team": e["team_name"], "workflow": e.get("workflow_name") or "(deleted or ad hoc)",
            "workflow_id": e.get("workflow_id") or "", "node": e.get("node") or "—", "message": e["message"],
            "mode": e["mode"], "when": _when(e.get("finished_at"))}


def _entry(e: dict) -> dict:
    return {"id": str(e["id"]), "when": _when(e["created_at"]), "action": e["action"],
            "actor": e.get("actor_email") or e.get("actor_id") or e.get("actor_type") or "system",
            "target": " ".join(x for x in (e.get("target_type"), e.get("target_id")) if x) or "—",
            "team": e.get("team_id") or "instance", "ip": e.get("ip") or ""}


class AdminState(rx.State):
    tab: str = "users"
    forbidden: bool = False
    users: list[dict] = []
    users_total: int = 0
    user_search: str = ""
    teams: list[dict] = []
    teams_total: int = 0
    team_search: str = ""
    queue_backend: str = ""
    queue_overall: dict[str, int] = {}
    queue_by_mode: list[dict[str, str]] = []
    redis_queues: list[dict[str, str]] = []
    redis_error: str = ""
    workers: list[dict] = []
    alive: int = 0
    failures: list[dict] = []
    outbox: dict[str, str] = {}
    outbox_errors: list[dict[str, str]] = []
    dead_letters: dict[str, str] = {}
    health_status: str = ""
    audit_rows: list[dict[str, str]] = []
    audit_total: int = 0
    audit_action: str = ""
    checks: list[dict[str, str]] = []
    code_sandbox: dict[str, str] = {}  # mode, state (working | failing | elsewhere), detail
    loaded: dict[str, bool] = {}
    live: bool = False
    refreshed_at: str = ""
    _poll_id: int = 0

    @rx.var
    def outbox_failing(self) -> bool:
        return self.outbox.get("failing", "0") != "0"

    @rx.event
    async def open_page(self):
        self.forbidden, self.loaded = False, {}
        result = await self._load(self.tab)
        if self.tab == "workers" and not self.forbidden:
            return [result, AdminState.start_refresh] if result else AdminState.start_refresh
        return result

    @rx.event
    async def set_tab(self, tab: str):
        self.tab = tab if tab in TABS else "users"
        result = await self._load(self.tab)
        if self.tab == "workers" and not self.forbidden:
            return [result, AdminState.start_refresh] if result else AdminState.start_refresh
        return result

    async def _load(self, tab: str):
        loader = {"users": self._users, "teams": self._teams, "workers": self._workers_and_queue,
                  "errors": self._errors, "health": self._health, "audit": self._audit,
                  "billing": self._billing}[tab]
        try:
            await loader()
        except ApiError as exc:
            if exc.status == 403:
                self.forbidden = True
                return None
            return api_failed(exc)
        self.loaded = {**self.loaded, tab: True}
        return None

    async def _users(self):
        params = {"limit": 200, **({"search": self.user_search.strip()} if self.user_search.strip() else {})}
        page = await call_api(self, "GET", "/admin/users", params=params)
        self.users, self.users_total = [_user(u) for u in page["items"]], page["total"]

    async def _teams(self):
        params = {"limit": 200, **({"search": self.team_search.strip()} if self.team_search.strip() else {})}
        page = await call_api(self, "GET", "/admin/teams", params=params)
        self.teams, self.teams_total = [_team(t) for t in page["items"]], page["total"]

    async def _workers_and_queue(self):
        workers = await call_api(self, "GET", "/admin/workers")
        queue = await call_api(self, "GET", "/admin/queue")
        self.workers, self.alive = [_worker(w) for w in workers["items"]], workers["alive"]
        self.queue_backend = queue["queue_backend"]
        counts = queue["executions"]
        self.queue_overall = counts.get("overall", {})
        self.queue_by_mode = [{"mode": mode, **{k: str(v) for k, v in c.items()}}
                              for mode, c in sorted(counts.items()) if mode != "overall"]
        self.redis_queues = [{k: str(v) for k, v in q.items()} for q in (queue.get("redis") or [])]
        self.redis_error = queue.get("redis_error") or ""
        self.refreshed_at = datetime.now(UTC).strftime("%H:%M:%S UTC")

    async def _errors(self):
        body = await call_api(self, "GET", "/admin/errors")
        self.failures = [_failure(e) for e in body["executions"]]
        outbox = body["outbox"]
        self.outbox = {"unpublished": str(outbox["unpublished"]), "failing": str(outbox["failing"]),
                       "oldest": _when(outbox.get("oldest_unpublished_at"))}
        self.outbox_errors = [{k: str(v) for k, v in e.items()} for e in outbox["last_errors"]]
        dead = body["dead_letters"]
        scope = "records in the topic" if dead["backend"] == "kafka" else "since this process started"
        by = ", ".join(f"{service}: {n}" for service, n in sorted(dead["by_service"].items()))
        self.dead_letters = {"messages": str(dead["messages"]), "topic": dead["topic"], "scope": scope,
                             "by_service": by, "error": dead.get("error") or ""}

    async def _billing(self):
        from ui.state.admin_billing import AdminBillingState

        await (await self.get_state(AdminBillingState)).fetch()

    async def _audit(self):
        params = {"limit": AUDIT_PAGE, **({"action": self.audit_action.strip()} if self.audit_action.strip() else {})}
        page = await call_api(self, "GET", "/admin/audit", params=params)
        self.audit_rows, self.audit_total = [_entry(e) for e in page["items"]], page["total"]

    @rx.event
    async def set_audit_action(self, value: str):
        self.audit_action = value
        return await self._load("audit")

    async def _health(self):
        body = await call_api(self, "GET", "/admin/health")
        self.health_status = body["status"]
        self.checks = [{"name": name, "result": result, "ok": "yes" if result == "ok" else "no"}
                       for name, result in body["checks"].items()]
        sandbox = body["code_sandbox"]
        state = {True: "working", False: "failing", None: "elsewhere"}[sandbox["ok"]]
        self.code_sandbox = {"mode": sandbox["mode"], "state": state, "detail": sandbox["detail"]}

    @rx.event
    async def refresh(self):
        return await self._load(self.tab)

    @rx.event
    async def set_user_search(self, value: str):
        self.user_search = value
        return await self._load("users")

    @rx.event
    async def set_team_search(self, value: str):
        self.team_search = value
        return await self._load("teams")

    async def _patch_user(self, user_id: str, body: dict, done: str):
        try:
            await call_api(self, "PATCH", f"/admin/users/{user_id}", json=body)
        except ApiError as exc:
            return [api_failed(exc), AdminState.refresh]
        await self._load("users")
        return rx.toast.success(done)

    @rx.event
    async def set_user_active(self, user_id: str, email: str, active: bool):
        verb = "Reactivated" if active else "Deactivated"
        return await self._patch_user(user_id, {"is_active": active}, f"{verb} {email}")

    @rx.event
    async def set_user_admin(self, user_id: str, email: str, is_admin: bool):
        done = f"{email} is now an instance admin" if is_admin else f"{email} is no longer an instance admin"
        return await self._patch_user(user_id, {"is_admin": is_admin}, done)

    @rx.event
    async def reset_two_factor(self, user_id: str, email: str):
        try:
            await call_api(self, "DELETE", f"/admin/users/{user_id}/2fa")
        except ApiError as exc:
            return [api_failed(exc), AdminState.refresh]
        await self._load("users")
        return rx.toast.success(f"Two-factor sign-in of {email} was reset; they sign in with the password alone")

    @rx.event(background=True)
    async def start_refresh(self):
        """Refresh workers and queue every few seconds while the Workers tab of /admin is open."""
        async with self:
            self._poll_id += 1
            poll_id, self.live = self._poll_id, True
        deadline = time.monotonic() + REFRESH_FOR_SECONDS
        while time.monotonic() < deadline:
            await asyncio.sleep(REFRESH_SECONDS)
            async with self:
                if (self._poll_id != poll_id or self.tab != "workers" or self.forbidden
                        or self.router.url.path != ROUTE):
                    break
                try:
                    await self._workers_and_queue()
                except ApiError as exc:
                    self.live = False
                    yield api_failed(exc)
                    return
        async with self:
            if self._poll_id == poll_id:
                self.live = False
