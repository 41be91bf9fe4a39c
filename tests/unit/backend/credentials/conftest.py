"""Fixtures of the vault tests: a migrated database with a team, and real local HTTP servers."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from vault_testkit import Answer, LocalServer, Seen

from backend.db import migrate
from backend.db.session import session_scope
from backend.settings import get_settings
from backend.users.service import create_user


@pytest.fixture
def team_id() -> str:
    migrate.upgrade(get_settings().database_url)
    with session_scope() as session:
        _, team = create_user(session, email="vault@example.com", password="a long enough password")
        return team.id


@pytest.fixture
def allow_loopback(monkeypatch):
    """Lets credential tests reach this machine's test servers: LINKFLOW_HTTP_ALLOW_LIST=127.0.0.1.

    Without it the address policy refuses them, as it refuses every internal address
    (test_credential_address_policy.py shows that).
    """
    monkeypatch.setenv("LINKFLOW_HTTP_ALLOW_LIST", "127.0.0.1")
    get_settings.cache_clear()


Route = Callable[[Seen], Answer]


@pytest.fixture
def http_server():
    """http_server(route) serves route(request) -> Answer on 127.0.0.1 (or ``host``) and records every request."""
    servers: list[ThreadingHTTPServer] = []

    def start(route: Route, host: str = "127.0.0.1") -> LocalServer:
        seen: list[Seen] = []

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Seen(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
                seen.append(request)
                answer = route(request)
                payload = answer.body if isinstance(answer.body, bytes) else (
                    answer.body.encode() if isinstance(answer.body, str) else json.dumps(answer.body).encode())
                self.send_response(answer.status)
                content_type = "application/json" if isinstance(answer.body, dict | list) else "text/plain"
                for name, value in {"Content-Type": content_type, **answer.headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

            def log_message(self, *args) -> None:  # keep test output clean
                pass

        server = ThreadingHTTPServer((host, 0), Handler)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return LocalServer(f"http://{host}:{server.server_address[1]}", seen)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
