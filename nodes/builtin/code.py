"""The Code node: runs the user's Python on the items, in a separate, limited process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError

from nodes.sdk import Node, NodeParameters, NodeUserError

RUNNER = Path(__file__).with_name("code_runner.py")
SCRUBBED_ENV = {"PATH": "/usr/bin:/bin"}
STARTUP_GRACE_S = 1.0  # interpreter start-up on top of the user's time limit
MAX_LOG_BYTES = 16 * 1024
MAX_RESULT_BYTES = 64 * 1024 * 1024
_EXAMPLE = "# `items` is the list of input items: [{'json': {...}}, ...]\nreturn [{'json': {**item['json'], 'seen': True}} for item in items]\n"


class CodeParameters(NodeParameters):
    code: str = Field(
        _EXAMPLE,
        min_length=1,
        description="Python (standard library only). once_for_all: `items` is the list of items, return a "
        "list; once_per_item: `item` is one item, return a dict or a list. Plain dicts become {'json': ...}",
        json_schema_extra={"format": "python", "expressions": False},  # the editor shows a code box
    )
    mode: Literal["once_for_all", "once_per_item"] = Field(
        "once_for_all", description="Run the code once with all items, or once for each item"
    )
    time_limit_s: int = Field(10, ge=1, le=300, description="CPU and wall-clock seconds the code may use")
    memory_mb: int = Field(256, ge=64, le=4096, description="Memory (address space) the code may use, in MB")


class Code(Node):
    """Runs ``code_runner.py`` with ``python -I -S -B`` as a child process.

    Its parameters are read as written (``ctx.raw_parameters()``): expressions are not
    evaluated, so ``{{`` in Python (f-strings, nested dicts) is left alone; the code reads
    the items itself.

    Isolation: only the items' JSON is sent (never credentials, settings or the database);
    the environment is just PATH; the working directory is a fresh temporary directory;
    the runner caps CPU time, address space, open files (32), file size (0: no writes) and
    processes (RLIMIT_NPROC, which Linux ignores for root) before it reads any input; a
    wall-clock timer kills the whole process group. This is not a filesystem sandbox: the
    code can read what the worker's user can read. Run workers as an unprivileged user, or
    in a container, for that.
    """

    type = "code"
    display_name = "Code"
    group = "data"
    icon = "code"
    description = "Runs your Python on the items, in a separate process with time and memory limits."
    Parameters = CodeParameters

    async def execute(self, ctx, items):
        params = _parameters(ctx)
        request = json.dumps({"code": params.code, "mode": params.mode, "items": items}, default=str).encode()
        run = await _run_runner(request, params)
        return _result_items(_reply(run, params), params.mode)


def _parameters(ctx) -> CodeParameters:
    """The parameters as written: no ``{{ }}`` evaluation, so braces in Python code stay Python."""
    try:
        return CodeParameters.model_validate(ctx.raw_parameters())
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'parameters'}: {e['msg']}" for e in exc.errors())
        raise NodeUserError(f"invalid Code parameters: {problems}") from None


@dataclass
class _Run:
    returncode: int | None
    stdout: bytes
    logs: str
    timed_out: bool


async def _run_runner(request: bytes, params: CodeParameters) -> _Run:
    with tempfile.TemporaryDirectory(prefix="linkflow-code-") as workdir:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-I", "-S", "-B", str(RUNNER), str(params.time_limit_s), str(params.memory_mb),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            cwd=workdir, env=SCRUBBED_ENV, start_new_session=True,
        )
        try:
            return await _collect(process, request, params.time_limit_s + STARTUP_GRACE_S)
        finally:
            _kill_group(process.pid)  # also ends anything the code started
            await process.wait()


async def _collect(process: asyncio.subprocess.Process, request: bytes, timeout: float) -> _Run:
    async def talk() -> tuple[bytes, bytes]:
        out_task = asyncio.create_task(_read(process.stdout, MAX_RESULT_BYTES))
        err_task = asyncio.create_task(_read(process.stderr, MAX_LOG_BYTES))
        try:
            await _send(process, request)
            out = await out_task  # only the runner holds the result pipe: end of file means it has exited
            _kill_group(process.pid)  # what it started may still hold the log pipe open
            err = await err_task
            await process.wait()
            return out, err
        finally:
            out_task.cancel()
            err_task.cancel()

    try:
        out, err = await asyncio.wait_for(talk(), timeout)
    except TimeoutError:
        _kill_group(process.pid)
        return _Run(None, b"", "", timed_out=True)
    return _Run(process.returncode, out, err.decode(errors="replace"), timed_out=False)


async def _send(process: asyncio.subprocess.Process, request: bytes) -> None:
    try:
        process.stdin.write(request)
        await process.stdin.drain()
        process.stdin.close()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the runner died early (e.g. input too big for its memory); its exit code tells why


async def _read(stream: asyncio.StreamReader, limit: int) -> bytes:
    """Read to the end but keep at most ``limit`` bytes, so a chatty program cannot fill our memory."""
    kept = bytearray()
    while chunk := await stream.read(65536):
        kept += chunk[: max(0, limit - len(kept))]
    return bytes(kept)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
        os.killpg(pid, signal.SIGKILL)


def _reply(run: _Run, params: CodeParameters) -> dict:
    cpu_killed = run.returncode in (-signal.SIGXCPU, -signal.SIGKILL)
    if run.timed_out or cpu_killed:
        raise NodeUserError(f"code exceeded its time limit of {params.time_limit_s}s", details={"logs": run.logs})
    try:
        reply = json.loads(run.stdout)
    except ValueError:
        raise _crashed(run, params) from None
    if not reply.get("ok"):
        raise _user_error(reply.get("error") or {}, run.logs, params)
    return reply


def _crashed(run: _Run, params: CodeParameters) -> NodeUserError:
    if len(run.stdout) >= MAX_RESULT_BYTES:
        return NodeUserError(f"the code returned more than {MAX_RESULT_BYTES // 2**20} MB of items; return less")
    if "MemoryError" in run.logs or run.returncode == -signal.SIGSEGV:
        return _memory_error(run.logs, params)
    return NodeUserError(
        f"the code's process ended without a result (exit code {run.returncode}); see the logs",
        details={"logs": run.logs},
    )


def _memory_error(logs: str, params: CodeParameters) -> NodeUserError:
    return NodeUserError(
        f"code exceeded its memory limit of {params.memory_mb} MB; process fewer items at once or raise memory_mb",
        details={"logs": logs},
    )


def _user_error(error: dict, logs: str, params: CodeParameters) -> NodeUserError:
    if error.get("kind") == "memory":
        return _memory_error(logs, params)
    line = error.get("line")
    message = error.get("message") or "the code failed"
    if line:
        message = f"{message} (line {line})"
    return NodeUserError(message, item_index=error.get("item_index"), details={"line": line, "logs": logs})


def _result_items(reply: dict, mode: str) -> list[dict]:
    result = reply["result"]
    if mode == "once_per_item":
        items = []
        for index, value in enumerate(result):
            items += _as_items(value, f"item {index}: the code", index)
        return items
    return _as_items(result, "the code", None)


def _as_items(value, who: str, index: int | None) -> list[dict]:
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise NodeUserError(
            f"{who} returned {type(value).__name__ if value is not None else 'nothing'}; "
            "end it with `return items` (a list of dicts) or return a dict",
            item_index=index,
        )
    return [_as_item(element, who, index) for element in value]


def _as_item(value, who: str, index: int | None) -> dict:
    if not isinstance(value, dict):
        raise NodeUserError(f"{who} returned a list containing a {type(value).__name__}; every element must be a dict",
                            item_index=index)
    is_item = isinstance(value.get("json"), dict) and set(value) <= {"json", "binary"}
    return value if is_item else {"json": value}
