"""The UI's way to the REST API: HTTP to this same process, as the signed-in user.

The UI never opens database sessions or calls services directly; it is one more API client,
so whatever the editor can do, a script with a token can do too.

    client = ApiClient(tokens)
    workflows = await client.get("/workflows", params={"search": "orders"})

A 401 with a refresh token at hand refreshes once and retries; the new pair is in
``client.tokens`` for the caller to keep. Errors arrive as ``ApiError`` carrying the API's
``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from typing import Any

import httpx

from backend.settings import get_settings

API_PREFIX = "/api/v1"
SESSION_PATHS = ("/auth/login", "/auth/login/mfa", "/auth/signup", "/auth/refresh", "/auth/logout")  # never retried with a refresh
TIMEOUT = httpx.Timeout(30.0, connect=5.0)


def api_base_url() -> str:
    """Where this process serves HTTP: REFLEX_API_URL (set by `linkflow up`), else the public URL."""
    return (os.environ.get("REFLEX_API_URL") or get_settings().public_url).rstrip("/")


def webhook_base_url() -> str:
    """Where webhook callers go: LINKFLOW_HTTP_WEBHOOK_URL when set, else where this process serves."""
    return get_settings().http.webhook_url.rstrip("/") or api_base_url()


@dataclass
class Tokens:
    access: str = ""
    refresh: str = ""
    team_id: str = ""

    @property
    def signed_in(self) -> bool:
        return bool(self.access or self.refresh)


@dataclass
class ApiError(Exception):
    status: int
    message: str
    code: str = "error"
    details: Any = None

    def __str__(self) -> str:
        return self.message

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        try:
            error = response.json().get("error") or {}
        except ValueError:
            error = {}
        message = error.get("message") or f"the server answered HTTP {response.status_code}"
        return cls(response.status_code, message, error.get("code", "error"), error.get("details"))

    @property
    def unauthorized(self) -> bool:
        return self.status == 401


_clients: dict[int, httpx.AsyncClient] = {}
_refreshing: dict[str, asyncio.Future] = {}


def _http() -> httpx.AsyncClient:
    """One pooled client per event loop (an AsyncClient must not cross loops)."""
    loop_id = id(asyncio.get_running_loop())
    client = _clients.get(loop_id)
    if client is None or client.is_closed:
        client = _clients[loop_id] = httpx.AsyncClient(base_url=api_base_url() + API_PREFIX, timeout=TIMEOUT)
    return client


@dataclass
class ApiClient:
    tokens: Tokens = field(default_factory=Tokens)
    refreshed: bool = False  # the caller should store self.tokens

    async def get(self, path: str, **kw) -> Any:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, json: Any = None, **kw) -> Any:
        return await self.request("POST", path, json=json, **kw)

    async def patch(self, path: str, json: Any = None, **kw) -> Any:
        return await self.request("PATCH", path, json=json, **kw)

    async def delete(self, path: str, **kw) -> Any:
        return await self.request("DELETE", path, **kw)

    async def request(self, method: str, path: str, **kw) -> Any:
        response = await self._send(method, path, **kw)
        if response.status_code == 401 and self.tokens.refresh and path not in SESSION_PATHS:
            await self._refresh()
            response = await self._send(method, path, **kw)
        if response.status_code >= 400:
            raise ApiError.from_response(response)
        if response.status_code == 204 or not response.content:
            return None
        if "json" not in response.headers.get("content-type", "application/json"):
            return response.text  # e.g. a CSV export
        return response.json()

    async def _send(self, method: str, path: str, **kw) -> httpx.Response:
        headers = dict(kw.pop("headers", None) or {})
        if self.tokens.access:
            headers["Authorization"] = f"Bearer {self.tokens.access}"
        if self.tokens.team_id:
            headers["X-Team-Id"] = self.tokens.team_id
        try:
            return await _http().request(method, path, headers=headers, **kw)
        except httpx.TimeoutException:
            raise ApiError(504, f"the API did not answer {method} {path} in time; try again") from None
        except httpx.TransportError as exc:
            raise ApiError(503, f"cannot reach the API at {api_base_url()}: {exc}") from None

    async def _refresh(self) -> None:
        """Trade the refresh token for a new pair, once even if several requests need it at once:
        refresh tokens are single-use, and reusing one signs the whole session out."""
        old = self.tokens.refresh
        pending = _refreshing.get(old)
        if pending is None:
            pending = _refreshing[old] = asyncio.ensure_future(self._post_refresh(old))
            pending.add_done_callback(lambda _: asyncio.get_running_loop().call_later(
                30, _refreshing.pop, old, None))
        try:
            access, refresh = await asyncio.shield(pending)
        except ApiError:
            self.tokens.access, self.tokens.refresh, self.refreshed = "", "", True
            raise
        self.tokens.access, self.tokens.refresh, self.refreshed = access, refresh, True

    @staticmethod
    async def _post_refresh(refresh_token: str) -> tuple[str, str]:
        response = await _http().post("/auth/refresh", json={"refresh_token": refresh_token})
        if response.status_code >= 400:
            raise ApiError.from_response(response)
        body = response.json()
        return body["access_token"], body["refresh_token"]
