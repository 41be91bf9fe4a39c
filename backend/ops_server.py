"""The ops listener of the roles that serve no HTTP (worker, scheduler, consume): what their Kubernetes
probes and Prometheus read. ``GET /health`` (the process is alive), ``/ready`` (the same checks as the
web roles' /ready, plus the Code node sandbox in a worker) and ``/metrics``.

On ``LINKFLOW_METRICS_PORT`` (0, the default, starts nothing), in a daemon thread: it never touches
the role's own event loop or worker threads.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from backend import metrics
from backend.health import Check, check_code_sandbox, checks_for, run_checks
from backend.settings import get_settings

log = logging.getLogger("linkflow.ops")
ROLES = ("worker", "scheduler", "consume")


def role_checks(role: str) -> dict[str, Check]:
    checks = checks_for(get_settings())
    if role == "worker":  # a worker runs Code nodes: its sandbox (or the code-runner it calls) must work
        checks["code_sandbox"] = check_code_sandbox
    return checks


class _Handler(BaseHTTPRequestHandler):
    checks: dict[str, Check] = {}

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        if self.path == "/health":
            self._send(200, "application/json", b'{"status":"ok"}')
        elif self.path == "/ready":
            results = asyncio.run(run_checks(self.checks))
            failing = [name for name, result in results.items() if result != "ok"]
            body = {"status": "unavailable" if failing else "ok", "checks": results}
            self._send(503 if failing else 200, "application/json", json.dumps(body).encode())
        elif self.path == "/metrics":
            self._send(200, CONTENT_TYPE_LATEST, generate_latest())
        else:
            self._send(404, "application/json", b'{"error":"not found: /health, /ready or /metrics"}')

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # probes every few seconds: not worth a log line each
        return None


def start(role: str) -> ThreadingHTTPServer | None:
    """Listen for probes and scrapes if LINKFLOW_METRICS_PORT is set; returns the server (or None)."""
    settings = get_settings().metrics
    if not settings.port:
        return None
    metrics.register_pool_collector()
    handler = type("OpsHandler", (_Handler,), {"checks": role_checks(role)})
    server = ThreadingHTTPServer((settings.host, settings.port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="linkflow-ops", daemon=True).start()
    log.info("ops listener started", extra={"role": role, "address": f"{settings.host}:{settings.port}"})
    return server
