"""Liveness and readiness. /ready names every dependency that is down."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse

from backend.db.session import get_engine
from backend.settings import Settings, get_settings

Check = Callable[[], Awaitable[None]]
CHECK_TIMEOUT_S = 3.0


async def check_database() -> None:
    def ping() -> None:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))

    await asyncio.to_thread(ping)


def _redis_check(url: str) -> Check:
    async def check_redis() -> None:
        import redis.asyncio as aioredis

        client = aioredis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            await client.ping()
        finally:
            await client.aclose()

    return check_redis


def _tcp_check(bootstrap: str) -> Check:
    async def check_kafka() -> None:
        host, _, port = bootstrap.split(",")[0].rpartition(":")
        await asyncio.to_thread(lambda: socket.create_connection((host, int(port)), timeout=2).close())

    return check_kafka


def checks_for(settings: Settings) -> dict[str, Check]:
    checks: dict[str, Check] = {"database": check_database}
    if settings.redis_url:
        checks["redis"] = _redis_check(settings.redis_url)
    if settings.events.backend == "kafka":
        checks["kafka"] = _tcp_check(settings.events.kafka_bootstrap)
    return checks


async def run_checks(checks: dict[str, Check]) -> dict[str, str]:
    async def one(check: Check) -> str:
        try:
            await asyncio.wait_for(check(), CHECK_TIMEOUT_S)
            return "ok"
        except Exception as exc:  # any failure means "not ready"; the reason is reported
            return f"error: {type(exc).__name__}: {exc}"[:300]

    results = await asyncio.gather(*(one(c) for c in checks.values()))
    return dict(zip(checks, results, strict=True))


async def health(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def ready(_: Request) -> JSONResponse:
    results = await run_checks(checks_for(get_settings()))
    failing = [name for name, result in results.items() if result != "ok"]
    body = {"status": "ok" if not failing else "unavailable", "checks": results}
    if failing:
        body["failing"] = failing
    return JSONResponse(body, status_code=503 if failing else 200)
