"""``linkflow serve --role code-runner``: runs Code node jobs for workers; holds no secrets.

Workers with ``LINKFLOW_CODE_SANDBOX=remote`` POST each run here. The role reads only its
own settings (``CodeRunnerSettings``: no database, vault or token groups), never imports the
database layer (an import-linter contract), and in production refuses to start while a
secret-bearing variable is in its environment: it exists to run untrusted code, so whatever
it holds a job could try to take.

    POST /run?time_limit_s=10&memory_mb=256   body: the runner request (JSON)
      200: one JSON line {"returncode", "timed_out", "output_truncated", "logs"}, then the reply bytes
      413: body larger than LINKFLOW_CODE_RUNNER_MAX_BODY_BYTES; 422: bad limits;
      503: every slot busy for QUEUE_WAIT_S, or the sandbox does not work here
    GET /health, GET /ready (with the sandbox's mode and status)
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import logging
import os
from collections.abc import Mapping

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from backend.sandbox import PlatformSandbox, build_sandbox, check_at_startup
from backend.settings import CodeRunnerSettings
from nodes.sdk import NodeUserError

log = logging.getLogger("linkflow.code_runner")
PR_SET_DUMPABLE = 4
QUEUE_WAIT_S = 30.0  # a job waits this long for a free slot, then gets 503 (the worker retries)
LIMITS = {"time_limit_s": (1, 300), "memory_mb": (64, 4096)}  # as the Code node's parameters allow
SECRET_VARIABLES = ("LINKFLOW_DATABASE_URL", "LINKFLOW_REDIS_URL", "LINKFLOW_SECURITY_",
                    "LINKFLOW_BILLING_STRIPE_", "LINKFLOW_MAIL_SMTP_PASSWORD", "LINKFLOW_TEST_")


def secrets_in(environ: Mapping[str, str]) -> list[str]:
    """Names of secret-bearing LINKFLOW_ variables that are set (non-empty) in ``environ``."""
    return sorted(name for name, value in environ.items() if value and name.startswith(SECRET_VARIABLES))


def check_environment(settings: CodeRunnerSettings, environ: Mapping[str, str]) -> None:
    found = secrets_in(environ)
    if settings.mode == "production":
        if found:
            raise ValueError("refusing to start the code-runner role in production with secrets in its "
                             f"environment ({', '.join(found)}): it runs untrusted code and must hold none; "
                             "give it only LINKFLOW_MODE, LINKFLOW_CODE_* and LINKFLOW_HTTP_* variables")
        if settings.code.sandbox == "unsafe_process":
            raise ValueError("refusing LINKFLOW_CODE_SANDBOX=unsafe_process in production: use bwrap, or "
                             "container inside a locked-down pod (see the README's security section)")
    elif found:
        log.warning("the code-runner role has secret-bearing variables in its environment; production mode "
                    "would refuse to start", extra={"variables": found})


def create_runner_app(sandbox: PlatformSandbox, settings: CodeRunnerSettings) -> Starlette:
    slots = asyncio.Semaphore(settings.code.runner_concurrency)
    max_body = settings.code.runner_max_body_bytes

    async def run(request: Request) -> Response:
        limits, problem = _limits(request)
        if problem:
            return _error(422, "bad_limits", problem)
        body = await _bounded_body(request, max_body)
        if body is None:
            return _error(413, "too_large", f"the request is larger than {max_body} bytes")
        try:
            await asyncio.wait_for(slots.acquire(), QUEUE_WAIT_S)
        except TimeoutError:
            return _error(503, "busy", f"all {settings.code.runner_concurrency} slots stayed busy for "
                                       f"{QUEUE_WAIT_S:.0f} s; add replicas")
        try:
            result = await sandbox.run(body, **limits)
        except NodeUserError as exc:  # the sandbox cannot start here
            return _error(503, "sandbox_unavailable", exc.message)
        finally:
            slots.release()
        head = json.dumps({"returncode": result.returncode, "timed_out": result.timed_out,
                           "output_truncated": result.output_truncated, "logs": result.logs}).encode() + b"\n"

        async def parts():  # the reply (up to 64 MB) goes out as it is, not copied behind the head
            yield head
            yield result.stdout

        return StreamingResponse(parts(), media_type="application/octet-stream")

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def ready(_: Request) -> JSONResponse:
        status = await asyncio.to_thread(sandbox.status)
        body = {"status": "ok" if status.ok else "unavailable", "code_sandbox": status.as_dict(),
                "checks": {"code_sandbox": "ok" if status.ok else f"error: {status.detail}"}}
        return JSONResponse(body, status_code=200 if status.ok else 503)

    return Starlette(routes=[Route("/run", run, methods=["POST"]), Route("/health", health),
                             Route("/ready", ready)])


def _limits(request: Request) -> tuple[dict[str, int], str]:
    limits = {}
    for name, (low, high) in LIMITS.items():
        raw = request.query_params.get(name, "")
        if not raw.isdigit() or not low <= int(raw) <= high:
            return {}, f"{name} must be a whole number from {low} to {high}, not {raw!r}"
        limits[name] = int(raw)
    return limits, ""


async def _bounded_body(request: Request, limit: int) -> bytes | None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return None
    return b"".join(chunks)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def make_undumpable() -> None:
    """Jobs run as this process's uid in ``container`` mode: without this they could read its memory
    (what earlier jobs left in it) through /proc/<pid>/mem or ptrace, and its environment."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")


def serve(host: str | None, port: int | None) -> int:
    import uvicorn

    from backend import logging as lf_logging

    settings = CodeRunnerSettings()
    lf_logging.configure(settings.log_level, settings.log_format)
    check_environment(settings, os.environ)
    make_undumpable()
    sandbox = build_sandbox(settings.code, settings.http, in_code_runner=True)
    check_at_startup(sandbox)
    app = create_runner_app(sandbox, settings)
    uvicorn.run(app, host=host or settings.http.host, port=port or settings.http.port, log_config=None,
                access_log=False)
    return 0
