"""``LINKFLOW_CODE_SANDBOX=remote``: send each run to the code-runner role over HTTP.

Wire format (see backend/sandbox/server.py): ``POST /run?time_limit_s=&memory_mb=`` with
the runner request as the body; the answer is one JSON line ``{"returncode", "timed_out",
"output_truncated", "logs"}`` followed by the runner's reply bytes, so the (possibly large)
reply is never re-encoded.
"""

from __future__ import annotations

import json
import time

import httpx

from backend.sandbox.process import STARTUP_GRACE_S
from backend.sandbox.status import SandboxStatus
from nodes.sdk import CodeRun, NodeTransientError, NodeUserError

NETWORK_MARGIN_S = 10.0  # on top of the code's own time: queueing at the runner, transfer
STATUS_TTL_S = 10.0


class RemoteSandbox:
    mode = "remote"

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._status: SandboxStatus | None = None
        self._checked_at = 0.0

    async def run(self, request: bytes, *, time_limit_s: int, memory_mb: int) -> CodeRun:
        timeout = time_limit_s + STARTUP_GRACE_S + NETWORK_MARGIN_S
        try:
            async with httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=5.0)) as client:
                response = await client.post(f"{self.url}/run", content=request,
                                             params={"time_limit_s": time_limit_s, "memory_mb": memory_mb})
        except httpx.HTTPError as exc:
            raise NodeTransientError(f"the code runner at {self.url} did not answer ({type(exc).__name__}); "
                                     "is `linkflow serve --role code-runner` running there?") from None
        if response.status_code == 413:
            raise NodeUserError(f"the items are too large for the code runner ({len(request)} bytes); "
                                "process fewer items at once")
        if response.status_code != 200:
            error = _error_message(response)
            if response.status_code >= 500:
                raise NodeTransientError(f"the code runner at {self.url} failed: {error}")
            raise NodeUserError(f"the code runner refused the run: {error}")
        head, _, stdout = response.content.partition(b"\n")
        meta = json.loads(head)
        return CodeRun(meta["returncode"], stdout, meta["logs"], meta["timed_out"], meta["output_truncated"])

    def status(self) -> SandboxStatus:
        """The runner's own /ready answer, cached for a few seconds."""
        if self._status is None or time.monotonic() - self._checked_at > STATUS_TTL_S:
            self._status, self._checked_at = self._fetch_status(), time.monotonic()
        return self._status

    def _fetch_status(self) -> SandboxStatus:
        try:
            body = httpx.get(f"{self.url}/ready", timeout=3.0).json()
        except (httpx.HTTPError, ValueError) as exc:
            return SandboxStatus(self.mode, False, f"the code runner at {self.url} is unreachable: "
                                                   f"{type(exc).__name__}: {exc}"[:300])
        runner = body.get("code_sandbox") or {}
        ok = body.get("status") == "ok"
        return SandboxStatus(self.mode, ok, f"{self.url} runs code with {runner.get('mode')}: {runner.get('detail')}")


def _error_message(response: httpx.Response) -> str:
    try:
        return response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}"
