"""The port through which a node runs untrusted code: ``ctx.run_code(request, ...)``.

The platform decides *where* code runs (an OS sandbox on this machine, a separate
code-runner service, or — only when an administrator opts out — a plain child process);
a node only builds the request and reads the reply. The request and reply follow the
runner protocol of ``nodes/builtin/code_runner.py``: one JSON object in, one JSON object
out on stdout, everything the code printed as logs. Example::

    run = await ctx.run_code(json.dumps({"code": "return items", "mode": "once_for_all",
                                         "items": items}).encode(), time_limit_s=10, memory_mb=256)
    if run.timed_out: ...
    reply = json.loads(run.stdout)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

MAX_RESULT_BYTES = 64 * 1024 * 1024  # of the runner's reply; more is cut and reported as too big
MAX_LOG_BYTES = 16 * 1024  # of what the code printed; the rest is dropped


@dataclass(frozen=True, slots=True)
class CodeRun:
    """What one run left behind. ``returncode`` is negative when a signal ended the runner
    (``-signal.SIGXCPU`` for the CPU limit); None when the wall clock stopped it."""

    returncode: int | None
    stdout: bytes
    logs: str
    timed_out: bool = False
    output_truncated: bool = False  # the reply was longer than MAX_RESULT_BYTES


class CodeSandbox(Protocol):
    async def run(self, request: bytes, *, time_limit_s: int, memory_mb: int) -> CodeRun:
        """Run the runner on ``request`` under the limits; raise NodeUserError if it cannot start."""
