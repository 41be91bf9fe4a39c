"""Child processes that die with their parent, and a stop that cannot hang.

A ``kill -9`` of `linkflow up` used to leave its server children running as orphans that still
answered ``/health`` (issue #18). On Linux a child asks the kernel to signal it when its parent
thread dies (``prctl(PR_SET_PDEATHSIG)``), set between fork and exec; it is also made the leader
of its own process group, so its own children can be stopped with it.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable

log = logging.getLogger("linkflow.processes")
PR_SET_PDEATHSIG = 1

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True) if sys.platform == "linux" else None


def _die_with_parent() -> None:  # runs in the child between fork and exec: nothing that takes a lock
    if _libc is not None:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    os.setpgid(0, 0)


def start_child(args: list[str], **popen) -> subprocess.Popen:
    """``subprocess.Popen`` for a child that dies, with everything it started, when this process dies.

    The child runs under a small guard (``python -m backend.processes``) that gets SIGTERM when this
    process dies, however it dies, and then kills the child's whole process group (a build's bun and
    node processes too). Start it from a thread that lives as long as the child should (the signal
    follows the thread that forked it): the main thread, here.
    """
    guard = [sys.executable, "-m", "backend.processes"]
    return subprocess.Popen([*guard, *args], preexec_fn=_die_with_parent, **popen)  # noqa: PLW1509


def start_process(args: list[str], **popen) -> subprocess.Popen:
    """``subprocess.Popen`` for a Python child that dies when this process's starting thread dies and starts
    nothing of its own (no guard process): the death signal and a process group of its own, as ``start_child``.
    The child should still check at start that its parent is the one it expects (it may have died before the
    signal was armed)."""
    return subprocess.Popen(args, preexec_fn=_die_with_parent, **popen)  # noqa: PLW1509


def stop_child(child: subprocess.Popen, timeout_s: float = 10.0) -> int:
    """SIGTERM to the child's process group, SIGKILL after ``timeout_s``; returns its exit status."""
    for sig, wait_s in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
        if child.poll() is not None:
            break
        try:
            os.killpg(child.pid, sig)
        except ProcessLookupError:
            break
        try:
            child.wait(wait_s)
        except subprocess.TimeoutExpired:
            continue
    return child.wait()


def exit_within(seconds: float, on_timeout: Callable[[], None] | None = None) -> None:
    """From now on, the process ends within ``seconds`` whatever still runs (a stop that hangs is worse
    than one that cuts: executions in flight resume elsewhere once their leases expire)."""
    def cut() -> None:
        log.error("shutdown took longer than %s s; exiting now", seconds)
        if on_timeout is not None:
            on_timeout()
        logging.shutdown()
        os._exit(1)

    timer = threading.Timer(seconds, cut)
    timer.daemon = True
    timer.start()


STOP_LIMIT_S = 20.0  # a server or worker told to stop has ended within this, whatever still ran
GRACEFUL_S = 5  # open HTTP connections get this long to finish once a stop begins


def bounded_server(app, **options):
    """A uvicorn server whose stop (SIGTERM, Ctrl-C) ends the process within STOP_LIMIT_S."""
    import uvicorn

    class BoundedServer(uvicorn.Server):
        def handle_exit(self, sig, frame) -> None:
            if not self.should_exit:
                exit_within(STOP_LIMIT_S)
            super().handle_exit(sig, frame)

    config = uvicorn.Config(app, log_config=None, access_log=False, timeout_graceful_shutdown=GRACEFUL_S, **options)
    return BoundedServer(config)


def _guard(args: list[str]) -> int:
    """Run ``args`` in a process group of its own; on SIGTERM or SIGINT kill that group and exit."""
    child = subprocess.Popen(args, start_new_session=True)

    def end(signum, frame) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, end)
    signal.signal(signal.SIGINT, end)
    if os.getppid() == 1:  # the parent died before the death signal was armed
        end(signal.SIGTERM, None)
    return child.wait()


if __name__ == "__main__":
    sys.exit(_guard(sys.argv[1:]))
