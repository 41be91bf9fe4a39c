"""The default code sandbox: bubblewrap namespaces, an unprivileged uid, seccomp and rlimits.

What one run looks like (as root; a non-root process starts at ``bwrap``)::

    setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs \\
      bwrap --unshare-all --unshare-user --disable-userns --die-with-parent --new-session --cap-drop ALL \\
        --ro-bind /usr /usr (+ the /bin, /lib… links) --proc /proc --dev /dev --size N --tmpfs /tmp \\
        --remount-ro / --remount-ro /dev --chdir /tmp --setenv PATH /usr/bin:/bin --seccomp FD \\
        /usr/bin/python3 -I -S -B -c <code_runner.py> <cpu s> <memory MB> <file bytes> [<egress socket>]

started with an empty environment. Inside, only PIDs 1 and 2 exist, the network is an
empty namespace (``lo`` only), the file system is the read-only runtime plus a private
tmpfs, and the runner lowers CPU, memory, file-size, open-file and process limits before
it reads the request. Dropping to uid 65534 *before* bwrap matters: root inside its own
user namespace is still host root to RLIMIT_NPROC and to files bind-mounted in.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import stat
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from backend.sandbox import seccomp
from backend.sandbox.egress import EGRESS_SOCKET, EgressProxy
from backend.sandbox.process import run_process
from backend.sandbox.status import SandboxStatus
from nodes.builtin import code_runner
from nodes.sdk import CodeRun, NodeUserError

SANDBOX_UID = 65534  # nobody/nogroup
SYSTEM_PYTHONS = ("/usr/bin/python3", "/usr/local/bin/python3")
RUNNER_SOURCE = Path(code_runner.__file__).read_text()
INNER_PATH = "/usr/bin:/bin"
CA_CERTS = "/etc/ssl/certs"  # public CA bundle, for HTTPS through the egress proxy
RETRY_FAILED_PROBE_S = 30.0
PROBE_REQUEST = b'{"code": "return items", "mode": "once_for_all", "items": []}'
PROBE_REPLY = b'{"ok": true, "result": []}'
PROBE_TIMEOUT_S = 10.0


class SandboxUnavailable(Exception):
    """The sandbox cannot start here; the message says what to install or set."""


@dataclass(frozen=True)
class BwrapOptions:
    python: str = ""  # empty: the first system python3 the sandbox user can read
    tmp_mb: int = 16
    egress: EgressProxy | None = None  # None: no network at all


class BwrapSandbox:
    mode = "bwrap"

    def __init__(self, options: BwrapOptions) -> None:
        self.options = options
        self._mounts: list[str] = []  # setpriv, bwrap and its mounts: the same for every run
        self._seal: list[str] = []  # after the per-run mounts: read-only root, working directory
        self._python = ""
        self._status: SandboxStatus | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    async def run(self, request: bytes, *, time_limit_s: int, memory_mb: int) -> CodeRun:
        status = self._status if self._status and self._status.ok else await asyncio.to_thread(self.status)
        if not status.ok:
            raise NodeUserError(f"the Code node cannot run: {status.detail}", details={"sandbox": self.mode})
        return await self._run(request, time_limit_s, memory_mb)

    def status(self) -> SandboxStatus:
        """Checked once (a real sandboxed run); a failure is checked again after 30 s."""
        with self._lock:
            stale = self._status is None or (not self._status.ok
                                             and time.monotonic() - self._checked_at > RETRY_FAILED_PROBE_S)
            if stale:
                self._status, self._checked_at = self._probe(), time.monotonic()
            return self._status

    async def _run(self, request: bytes, time_limit_s: int, memory_mb: int) -> CodeRun:
        egress = self.options.egress
        with _seccomp_fd() as filter_fd:
            async with egress.serve() if egress else contextlib.nullcontext() as socket_path:
                argv = self._argv(filter_fd, time_limit_s, memory_mb, socket_path)
                run = await run_process(argv, request, time_limit_s, env={}, pass_fds=[filter_fd])
        return _signal_codes(run)

    def _argv(self, seccomp_fd: int, time_limit_s: int, memory_mb: int, egress_socket: str | None) -> list[str]:
        argv = list(self._mounts)
        runner_args = [str(time_limit_s), str(memory_mb), str(self.options.tmp_mb * 1024 * 1024)]
        if egress_socket:
            argv += ["--ro-bind", egress_socket, EGRESS_SOCKET]
            if os.path.isdir(CA_CERTS):
                argv += ["--ro-bind", CA_CERTS, CA_CERTS]
            runner_args.append(EGRESS_SOCKET)
        argv += [*self._seal, "--seccomp", str(seccomp_fd)]
        return [*argv, self._python, "-I", "-S", "-B", "-c", RUNNER_SOURCE, *runner_args]

    def _probe(self) -> SandboxStatus:
        try:
            self._python = find_python(self.options.python)
            self._mounts, self._seal = self._build_prefix()
            with _seccomp_fd() as filter_fd:
                trial = subprocess.run(self._argv(filter_fd, 5, 128, None), input=PROBE_REQUEST, env={},
                                       capture_output=True, pass_fds=[filter_fd], timeout=PROBE_TIMEOUT_S,
                                       start_new_session=True)
        except (SandboxUnavailable, seccomp.UnsupportedArchitecture) as exc:
            return SandboxStatus(self.mode, False, str(exc))
        except subprocess.TimeoutExpired:
            return SandboxStatus(self.mode, False, f"a trial run in the sandbox took over {PROBE_TIMEOUT_S:.0f} s")
        if trial.stdout.strip() != PROBE_REPLY:
            logs = trial.stderr.decode(errors="replace") or f"exit code {trial.returncode}"
            return SandboxStatus(self.mode, False, explain_failure(logs))
        uid = SANDBOX_UID if os.geteuid() == 0 else os.geteuid()
        network = "egress through the address policy" if self.options.egress else "no network"
        return SandboxStatus(self.mode, True, f"bubblewrap, uid {uid}, seccomp, {network}, {self._python}")

    def _build_prefix(self) -> tuple[list[str], list[str]]:
        bwrap = shutil.which("bwrap")
        if not bwrap:
            raise SandboxUnavailable(
                "bubblewrap is not installed (no `bwrap` on PATH). Install it: `apt-get install bubblewrap` "
                "(make run-local and make test do this), or send code to a code-runner "
                "(LINKFLOW_CODE_SANDBOX=remote with LINKFLOW_CODE_RUNNER_URL)")
        prefix = []
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            if not setpriv:
                raise SandboxUnavailable("running as root needs `setpriv` (Debian package util-linux) to drop "
                                         "to an unprivileged user before bubblewrap starts")
            prefix = [setpriv, f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_UID}", "--clear-groups",
                      "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
        prefix += [bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
                   "--new-session", "--cap-drop", "ALL", "--ro-bind", "/usr", "/usr"]
        prefix += _root_links()
        runtime = _runtime_outside_usr(self._python)
        if runtime:
            prefix += ["--ro-bind", runtime, runtime]
        prefix += ["--proc", "/proc", "--dev", "/dev", "--size", str(self.options.tmp_mb * 1024 * 1024),
                   "--tmpfs", "/tmp"]
        seal = ["--remount-ro", "/", "--remount-ro", "/dev", "--chdir", "/tmp", "--setenv", "PATH", INNER_PATH]
        return prefix, seal


@contextlib.contextmanager
def _seccomp_fd():
    """A pipe holding the filter, for ``--seccomp FD``; bwrap reads it to the end."""
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, seccomp.program())  # ~600 bytes: fits the pipe buffer, never blocks
        os.close(write_end)
        write_end = -1
        yield read_end
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)


def _signal_codes(run: CodeRun) -> CodeRun:
    """bwrap reports a child killed by signal N as exit code 128 + N; callers expect -N like Popen."""
    code = run.returncode
    if code is not None and code > 128:
        return CodeRun(-(code - 128), run.stdout, run.logs, run.timed_out, run.output_truncated)
    return run


def _root_links() -> list[str]:
    """/bin, /lib, /lib64, /sbin as on the host: links into /usr (merged /usr), else read-only binds."""
    args = []
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/", name)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    return args


def _runtime_outside_usr(python: str) -> str | None:
    """An interpreter outside /usr (e.g. /opt/python/bin/python3) needs its prefix mounted too."""
    real = Path(os.path.realpath(python))
    if real.is_relative_to("/usr"):
        return None
    return str(real.parent.parent)


def find_python(configured: str) -> str:
    """The interpreter to run inside: ``configured`` if set, else the first system python3."""
    candidates = [configured] if configured else list(SYSTEM_PYTHONS)
    problems = []
    for candidate in candidates:
        problem = _unreadable(candidate)
        if problem is None:
            return candidate
        problems.append(problem)
    hint = ("set LINKFLOW_CODE_PYTHON to a python3 (3.8 or newer) every user can read and execute"
            if configured else "install Debian's python3 (`apt-get install python3`) or set LINKFLOW_CODE_PYTHON")
    raise SandboxUnavailable(f"no interpreter for the code sandbox: {'; '.join(problems)}; {hint}")


def _unreadable(python: str) -> str | None:
    path = Path(python)
    if not path.is_absolute():
        return f"{python} is not an absolute path"
    if not path.exists():
        return f"{python} does not exist"
    if os.geteuid() != 0:  # bwrap runs as us: what we can open, the sandbox can
        return None if os.access(path, os.R_OK | os.X_OK) else f"{python} is not readable and executable by us"
    real = Path(os.path.realpath(path))
    for parent in reversed(real.parents):
        if not os.stat(parent).st_mode & stat.S_IXOTH:
            return (f"{python} is not readable by the sandbox user (uid {SANDBOX_UID}): {parent} is mode "
                    f"{stat.S_IMODE(os.stat(parent).st_mode):04o}")
    if os.stat(real).st_mode & (stat.S_IROTH | stat.S_IXOTH) != stat.S_IROTH | stat.S_IXOTH:
        return f"{python} is not readable and executable by the sandbox user (uid {SANDBOX_UID})"
    return None


def explain_failure(logs: str) -> str:
    """bwrap's own start-up errors, with what to do about the common ones."""
    text = " ".join(logs.split())[:400]
    if "namespace" in text or "Operation not permitted" in text or "setting up uid map" in text:
        return (f"bubblewrap could not create its namespaces ({text}). Unprivileged user namespaces must be "
                "allowed (Debian: sysctl kernel.unprivileged_userns_clone=1; Ubuntu 24.04+: an AppArmor "
                "profile for bwrap). Inside a Kubernetes pod run the code-runner role instead (see the README)")
    return f"a trial run in the sandbox failed: {text}"
