"""Start one runner process, feed it the request, keep bounded output, and end everything it started."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Sequence

from nodes.sdk.sandbox import MAX_LOG_BYTES, MAX_RESULT_BYTES, CodeRun

STARTUP_GRACE_S = 1.0  # interpreter (and sandbox) start-up on top of the user's time limit


async def run_process(argv: Sequence[str], request: bytes, time_limit_s: int, *, env: dict[str, str],
                      cwd: str | None = None, pass_fds: Sequence[int] = ()) -> CodeRun:
    """Run ``argv`` in a new session; the wall clock (time limit + grace) kills its whole group."""
    process = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        cwd=cwd, env=env, start_new_session=True, pass_fds=tuple(pass_fds),
    )
    try:
        return await _collect(process, request, time_limit_s + STARTUP_GRACE_S)
    finally:
        kill_group(process.pid)  # also ends anything the code started
        await process.wait()


async def _collect(process: asyncio.subprocess.Process, request: bytes, timeout: float) -> CodeRun:
    async def talk() -> tuple[bytes, bool, bytes]:
        out_task = asyncio.create_task(_read(process.stdout, MAX_RESULT_BYTES))
        err_task = asyncio.create_task(_read(process.stderr, MAX_LOG_BYTES))
        try:
            await _send(process, request)
            out, truncated = await out_task  # only the runner holds the result pipe: end of file means it exited
            kill_group(process.pid)  # what it started may still hold the log pipe open
            err, _ = await err_task
            await process.wait()
            return out, truncated, err
        finally:
            out_task.cancel()
            err_task.cancel()

    try:
        out, truncated, err = await asyncio.wait_for(talk(), timeout)
    except TimeoutError:
        kill_group(process.pid)
        return CodeRun(None, b"", "", timed_out=True)
    return CodeRun(process.returncode, out, err.decode(errors="replace"), output_truncated=truncated)


async def _send(process: asyncio.subprocess.Process, request: bytes) -> None:
    try:
        process.stdin.write(request)
        await process.stdin.drain()
        process.stdin.close()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the runner died early (e.g. input too big for its memory); its exit code tells why


async def _read(stream: asyncio.StreamReader, limit: int) -> tuple[bytes, bool]:
    """Read to the end but keep at most ``limit`` bytes, so a chatty program cannot fill our memory."""
    kept, truncated = bytearray(), False
    while chunk := await stream.read(65536):
        room = limit - len(kept)
        truncated = truncated or len(chunk) > room
        kept += chunk[: max(0, room)]
    return bytes(kept), truncated


def kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
        os.killpg(pid, signal.SIGKILL)
