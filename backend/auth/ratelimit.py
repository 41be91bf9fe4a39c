"""Fixed-window rate limits on /api/v1: per client IP without credentials, per API key or user with.

A pure ASGI middleware: one counter increment per request (in-process, or one pipelined
round trip to Redis). Only credentials that prove themselves cheaply raise the limit: a
signed access token is checked here, an API key only by the database later, so a client
whose API keys keep failing is throttled by its IP's failure count as well. Behind a proxy,
run uvicorn with --proxy-headers so the client IP is the caller's, not the proxy's.
If Redis is unreachable the limit is not applied (logged): it protects the service, it must
not take it down.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.auth.api_keys import looks_like_key
from backend.auth.tokens import decode_access_token, sha256
from backend.errors import Unauthorized, error_body
from backend.settings import Settings, get_settings

log = logging.getLogger("linkflow.ratelimit")
WINDOW = 60  # seconds
PREFIX = "/api/v1/"
clock = time.time  # the wall clock: windows are aligned across processes sharing Redis


class Counters(Protocol):
    async def hit(self, bucket: str, window: int) -> int: ...  # add one, return the window's count
    async def count(self, bucket: str, window: int) -> int: ...


class MemoryCounters:
    def __init__(self) -> None:
        self._window = -1
        self._counts: dict[str, int] = {}

    def _roll(self, window: int) -> None:
        if window > self._window:  # old windows are never read again: drop them all at once
            self._window, self._counts = window, {}

    async def hit(self, bucket: str, window: int) -> int:
        self._roll(window)
        self._counts[bucket] = self._counts.get(bucket, 0) + 1
        return self._counts[bucket]

    async def count(self, bucket: str, window: int) -> int:
        self._roll(window)
        return self._counts.get(bucket, 0)


class RedisCounters:
    def __init__(self, url: str) -> None:
        self.url = url
        self._client: aioredis.Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _redis(self) -> aioredis.Redis:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:  # a client belongs to one event loop
            self._client = aioredis.from_url(self.url, socket_timeout=1, socket_connect_timeout=1)
            self._loop = loop
        return self._client

    async def hit(self, bucket: str, window: int) -> int:
        key = f"linkflow:ratelimit:{window}:{bucket}"
        async with self._redis().pipeline(transaction=False) as pipe:
            pipe.incr(key)
            pipe.expire(key, WINDOW * 2)
            count, _ = await pipe.execute()
        return int(count)

    async def count(self, bucket: str, window: int) -> int:
        return int(await self._redis().get(f"linkflow:ratelimit:{window}:{bucket}") or 0)


def counters_for(settings: Settings) -> Counters:
    return RedisCounters(settings.redis_url) if settings.cache.backend == "redis" else MemoryCounters()


def caller_identity(scope: Scope) -> str | None:
    """`key:<hash>` for an API key, `user:<id>` for a valid access token, None for anyone else."""
    credential = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            credential = token.strip() if scheme.lower() == "bearer" else credential
        elif name == b"x-api-key" and credential is None:
            credential = value.decode("latin-1").strip()
    if not credential:
        return None
    if looks_like_key(credential):
        return "key:" + sha256(credential)[:32]
    try:
        return "user:" + decode_access_token(credential)["sub"]
    except Unauthorized:
        return None


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings | None = None) -> None:
        settings = settings or get_settings()
        self.app = app
        self.anonymous = settings.security.rate_limit_anonymous_per_minute
        self.authenticated = settings.security.rate_limit_authenticated_per_minute
        self.counters = counters_for(settings)
        self._last_warning = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        now = clock()
        window = int(now // WINDOW)
        identity = caller_identity(scope)
        client_ip = scope["client"][0] if scope.get("client") else "unknown"
        limit = await self._over_limit(identity, client_ip, window)
        if limit is not None:
            await _reject(send, limit, retry_after=max(1, math.ceil((window + 1) * WINDOW - now)))
            return
        if identity is not None and identity.startswith("key:"):
            send = self._charging_failures(send, client_ip, window)
        await self.app(scope, receive, send)

    async def _over_limit(self, identity: str | None, client_ip: str, window: int) -> int | None:
        """The limit the caller is over, or None."""
        try:
            if identity is None:
                over = await self.counters.hit("ip:" + client_ip, window) > self.anonymous
                return self.anonymous if over else None
            if await self.counters.hit(identity, window) > self.authenticated:
                return self.authenticated
            if identity.startswith("key:") and await self._failures(client_ip, window) >= self.anonymous:
                return self.anonymous
        except (RedisError, OSError) as exc:
            self._warn(exc)
        return None

    async def _failures(self, client_ip: str, window: int) -> int:
        """Requests from this IP this window whose credentials were refused (401)."""
        return await self.counters.count("fail:" + client_ip, window)

    def _charging_failures(self, send: Send, client_ip: str, window: int) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                try:
                    await self.counters.hit("fail:" + client_ip, window)
                except (RedisError, OSError) as exc:
                    self._warn(exc)
            await send(message)

        return wrapped

    def _warn(self, exc: Exception) -> None:
        if time.monotonic() - self._last_warning > WINDOW:  # once a minute, not once a request
            self._last_warning = time.monotonic()
            log.warning("rate limits are not enforced: the counter store failed: %s", exc)


async def _reject(send: Send, limit: int, retry_after: int) -> None:
    message = f"too many requests: the limit is {limit} per minute; retry in {retry_after} s"
    details = {"limit": limit, "retry_after": retry_after}
    body = json.dumps(error_body("rate_limited", message, details)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"retry-after", str(retry_after).encode())]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})
