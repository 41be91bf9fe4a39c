"""Pieces the crash tests share: processes started in their own session, a recording HTTP endpoint
standing in for the outside world, and polling with a deadline."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def start(args: list[str], log_path: Path, *, moment: str | None = None, env: dict | None = None) -> subprocess.Popen:
    """``linkflow ARGS`` (through the fault injector when ``moment`` is given), in its own session."""
    command = ["-m", "tests.integration.crashing", moment] if moment else ["-m", "backend.cli"]
    log = open(log_path, "ab")  # noqa: SIM115 - the child owns it
    return subprocess.Popen([sys.executable, *command, *args], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, env=env)


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout_s: float = 20) -> None:
    """Stop a process this test started (its whole session), by its id."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        except ProcessLookupError:
            pass


def wait_for(predicate, timeout_s: float, what: str, every_s: float = 0.1, explain=None):
    """Poll ``predicate`` until it is true; past the deadline fail, with what ``explain()`` says (the state
    seen, the processes' logs) when given."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}" + (f"\n{explain()}" if explain else ""))


def log_tail(path: Path, lines: int = 40) -> str:
    """The end of a process's log, for a failure message."""
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError as exc:
        return f"--- {path.name}: {exc}"
    return "\n".join([f"--- the last {len(text)} lines of {path.name}:", *text])


class Endpoint:
    """An HTTP server on 127.0.0.1 that records every call: the outside world a node has effects on.

    ``on_call`` runs in the handler before it answers (a test may kill a process there).
    ``delay_s`` holds each answer back, like a slow partner API; ``hold`` (an Event), when given, holds every
    answer back until it is set (at most a minute), whatever the machine's load.
    """

    def __init__(self, delay_s: float = 0.0, hold: threading.Event | None = None) -> None:
        self.calls: list[tuple[float, str]] = []
        self.on_call = None
        self.delay_s = delay_s
        self.hold = hold
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                endpoint.calls.append((time.time(), self.path))
                if endpoint.on_call is not None:
                    endpoint.on_call(self.path)
                if endpoint.hold is not None:
                    endpoint.hold.wait(60)
                if endpoint.delay_s:
                    time.sleep(endpoint.delay_s)
                body = b'{"ok": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def paths(self) -> list[str]:
        return [path for _, path in self.calls]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
