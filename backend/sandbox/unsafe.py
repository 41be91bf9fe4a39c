"""Code in a plain child process: resource limits and an empty environment, no isolation.

``unsafe_process`` (any process, with a warning at start-up) is for a single-user machine
where everyone who can edit a workflow may already read the server's files and secrets.
``container`` (the code-runner role only, which refuses to start holding secrets) relies on
a locked-down pod around it instead of bubblewrap; see the README's security section.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from backend.sandbox.process import run_process
from backend.sandbox.status import SandboxStatus
from nodes.builtin import code_runner
from nodes.sdk import CodeRun

RUNNER = Path(code_runner.__file__)
SCRUBBED_ENV = {"PATH": "/usr/bin:/bin"}


class ChildProcessSandbox:
    def __init__(self, mode: str, detail: str) -> None:
        self.mode = mode
        self._status = SandboxStatus(mode, True, detail)

    async def run(self, request: bytes, *, time_limit_s: int, memory_mb: int) -> CodeRun:
        with tempfile.TemporaryDirectory(prefix="linkflow-code-") as workdir:
            argv = [sys.executable, "-I", "-S", "-B", str(RUNNER), str(time_limit_s), str(memory_mb)]
            return await run_process(argv, request, time_limit_s, env=SCRUBBED_ENV, cwd=workdir)

    def status(self) -> SandboxStatus:
        return self._status
