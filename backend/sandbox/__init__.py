"""Where the Code node's user Python runs: the code sandbox, chosen by ``LINKFLOW_CODE_SANDBOX``.

* ``bwrap`` (default): an OS sandbox on this machine (bwrap.py) — namespaces, uid 65534,
  seccomp, a private tmpfs, no network unless ``LINKFLOW_CODE_ALLOW_NETWORK`` (egress.py).
* ``remote``: HTTP to ``linkflow serve --role code-runner`` (remote.py, server.py), a process
  that holds no secrets and runs the code in its own sandbox.
* ``unsafe_process``: the old plain child process (unsafe.py), for a single-user machine.
* ``container``: the code-runner role only, inside a pod that is itself the sandbox.

Nodes never import this package: the engine hands the sandbox to a node through
``ctx.run_code`` (``EngineServices.code_sandbox``). When the sandbox cannot start, a Code
node fails with a message saying what to install or set; it never falls back to running
the code unsandboxed.
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Protocol

from backend.sandbox.status import SandboxStatus
from backend.settings import CodeSettings, HttpSettings, get_settings
from nodes.sdk import CodeRun, NodeUserError

log = logging.getLogger("linkflow.sandbox")


class PlatformSandbox(Protocol):
    mode: str

    async def run(self, request: bytes, *, time_limit_s: int, memory_mb: int) -> CodeRun: ...

    def status(self) -> SandboxStatus:
        """Whether it works (probed once, cached); may block for a moment: call it off the event loop."""


class MisconfiguredSandbox:
    def __init__(self, mode: str, problem: str) -> None:
        self.mode = mode
        self._status = SandboxStatus(mode, False, problem)

    async def run(self, request: bytes, *, time_limit_s: int, memory_mb: int) -> CodeRun:
        raise NodeUserError(f"the Code node cannot run: {self._status.detail}", details={"sandbox": self.mode})

    def status(self) -> SandboxStatus:
        return self._status


def build_sandbox(code: CodeSettings, http: HttpSettings, *, in_code_runner: bool = False) -> PlatformSandbox:
    if code.sandbox == "bwrap":
        from backend.sandbox.bwrap import SANDBOX_UID, BwrapOptions, BwrapSandbox
        from backend.sandbox.egress import EgressProxy, policy_from

        egress = None
        if code.allow_network:
            owner = SANDBOX_UID if os.geteuid() == 0 else None
            egress = EgressProxy(policy_from(http.allow_private, http.allow_list), owner)
        return BwrapSandbox(BwrapOptions(python=code.python, tmp_mb=code.tmp_mb, egress=egress))
    if code.sandbox == "remote":
        from backend.sandbox.remote import RemoteSandbox

        return RemoteSandbox(code.runner_url)
    from backend.sandbox.unsafe import ChildProcessSandbox

    if code.sandbox == "container":
        if not in_code_runner:
            return MisconfiguredSandbox("container", (
                "LINKFLOW_CODE_SANDBOX=container is only for `linkflow serve --role code-runner` inside a "
                "locked-down pod; here use bwrap (the default) or remote"))
        return ChildProcessSandbox("container", "child process as the pod's user; the pod is the sandbox "
                                                "(no secrets in this role, read-only root, no egress)")
    return ChildProcessSandbox("unsafe_process", "UNSANDBOXED child process: code can read what this "
                                                 "process can read (LINKFLOW_CODE_SANDBOX=unsafe_process)")


@functools.cache
def code_sandbox() -> PlatformSandbox:
    """This process's sandbox, from its settings (``reset_caches`` in tests clears it)."""
    settings = get_settings()
    return build_sandbox(settings.code, settings.http)


def check_at_startup(sandbox: PlatformSandbox | None = None) -> SandboxStatus:
    """Probe once when a process that runs Code nodes starts, and say loudly what is wrong."""
    status = (sandbox or code_sandbox()).status()
    if status.mode == "unsafe_process":
        log.warning("Code nodes run WITHOUT a sandbox (LINKFLOW_CODE_SANDBOX=unsafe_process): any workflow "
                    "editor can read this process's secrets and files. Only for a single-user machine.")
    elif not status.ok:
        log.error("Code nodes cannot run: %s", status.detail, extra={"code_sandbox": status.mode})
    else:
        log.info("code sandbox ready", extra={"code_sandbox": status.mode, "detail": status.detail})
    return status
