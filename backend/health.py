"""Liveness and readiness. /ready names every dependency that is down."""

from __future__ import annotations

import asyncio
import os
import secrets
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


async def check_storage() -> None:
    """The S3 bucket answers (the local folder needs no check: the disk is the process's own)."""
    from backend.storage.service import get_storage

    await asyncio.to_thread(get_storage().check)


class CodeSandboxFailing(Exception):
    pass


def runs_code_here() -> bool:
    """Whether this web process executes workflows (and so Code nodes): the embedded roles."""
    return "embedded" in os.environ.get("LINKFLOW_ROLES", "").split(",")


async def check_code_sandbox() -> None:
    from backend.sandbox import code_sandbox

    status = await asyncio.to_thread(code_sandbox().status)  # probed once, then cached
    if not status.ok:
        raise CodeSandboxFailing(f"{status.mode}: {status.detail}")


async def code_sandbox_info(settings: Settings) -> dict:
    """The Code node sandbox of this process: its mode, whether it works, and what isolates the code."""
    if not runs_code_here():
        return {"mode": settings.code.sandbox, "ok": None,
                "detail": "this process does not run Code nodes; each worker reports its own sandbox in "
                          "its heartbeat (admin console, Workers)"}
    from backend.sandbox import code_sandbox

    return (await asyncio.to_thread(code_sandbox().status)).as_dict()


def checks_for(settings: Settings) -> dict[str, Check]:
    checks: dict[str, Check] = {"database": check_database}
    if settings.redis_url:
        checks["redis"] = _redis_check(settings.redis_url)
    if settings.events.backend == "kafka":
        checks["kafka"] = _tcp_check(settings.events.kafka_bootstrap)
    if settings.storage.backend == "s3":
        checks["storage"] = check_storage
    if runs_code_here():
        checks["code_sandbox"] = check_code_sandbox
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


# A random name for this process, sent with every /health answer: `linkflow up` checks that the server
# answering on its port is itself, not a leftover of an earlier start (issue #18).
INSTANCE = secrets.token_hex(8)
INSTANCE_HEADER = "X-LinkFlow-Instance"


async def health(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"}, headers={INSTANCE_HEADER: INSTANCE})


async def ready(_: Request) -> JSONResponse:
    settings = get_settings()
    results = await run_checks(checks_for(settings))
    failing = [name for name, result in results.items() if result != "ok"]
    body = {"status": "ok" if not failing else "unavailable", "checks": results,
            "code_sandbox": await code_sandbox_info(settings)}
    if failing:
        body["failing"] = failing
    return JSONResponse(body, status_code=503 if failing else 200)
