"""Helpers shared by the webhook tests (imported as a plain module, like engine_testkit)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import func, select

from backend.db.session import session_scope
from backend.executions.models import Execution
from backend.webhooks import listeners


@dataclass
class Team:
    team_id: str
    user_id: str


def node(node_id: str, name: str, type_: str, x: float, **parameters) -> dict:
    return {"id": node_id, "name": name, "type": type_, "version": 1, "position": [x, 0], "parameters": parameters}


def flow(*nodes: dict, settings: dict | None = None) -> dict:
    connections = [{"from": a["id"], "to": b["id"]} for a, b in zip(nodes, nodes[1:], strict=False)]
    return {"nodes": list(nodes), "connections": connections, "settings": settings or {}}


def hook(path: str = "orders", *, method: str = "POST", respond: str = "last_node", **auth) -> dict:
    return node("hook", "Webhook", "webhook", 0, path=path, method=method, respond=respond, **auth)


def executions(**where) -> list[Execution]:
    with session_scope() as session:
        query = select(Execution).where(*(getattr(Execution, k) == v for k, v in where.items()))
        return list(session.scalars(query.order_by(Execution.created_at)))


def execution_count() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Execution)) or 0


class SlowServer:
    """A local HTTP API that answers after ``delay_s``; ``during`` runs while a request waits."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.during: Callable[[], object] | None = None
        self.seen: list[object] = []
        slow = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                if slow.during is not None:
                    time.sleep(slow.delay_s / 2)
                    slow.seen.append(slow.during())
                    time.sleep(slow.delay_s / 2)
                else:
                    time.sleep(slow.delay_s)
                body = b'{"slow": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/slow"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()




class Listening(threading.Thread):
    """POST /api/v1/workflows/{id}/test-event in the background, as the editor's long-poll does."""

    def __init__(self, api, user, workflow_id: str, **body) -> None:
        super().__init__(daemon=True)
        self.api, self.user, self.workflow_id, self.body = api, user, workflow_id, body
        self.response = None

    def run(self) -> None:
        self.response = self.api.post(f"/api/v1/workflows/{self.workflow_id}/test-event", json=self.body,
                                      headers=self.user.headers)

    def wait_armed(self, path: str = "orders", method: str = "POST") -> None:
        deadline = time.monotonic() + 10
        while listeners.find_listener(method, path) is None:
            assert self.response is None, f"listening was refused: {self.response.text}"
            assert time.monotonic() < deadline, "the listener was never armed"
            time.sleep(0.02)

    def result(self) -> dict:
        self.join(timeout=30)
        assert self.response is not None, "the long-poll never answered"
        assert self.response.status_code == 200, self.response.text
        return self.response.json()
