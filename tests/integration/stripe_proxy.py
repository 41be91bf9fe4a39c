"""A recording HTTP proxy between LinkFlow and stripe-mock (a real local server, nothing patched).

Every request is forwarded unchanged to stripe-mock and its answer returned unchanged; the proxy
only writes down what went by (method, path, Idempotency-Key, form fields), and on request can:

* ``hold(prefix)``: keep matching requests waiting before they are forwarded, until ``release()``,
  so a test can kill the calling process while "Stripe" has its request;
* ``fail_next(prefix, status)``: answer the next matching request with a Stripe-shaped error
  without forwarding it (a Stripe outage).

One addition to stripe-mock's answers: a created webhook endpoint gets the ``secret`` (``whsec_...``) that
Stripe's API reference says the create call returns (and only it); stripe-mock's fixture has none. The secrets
given out are kept in ``endpoint_secrets`` (endpoint id -> secret) so a test can sign events as Stripe does.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import httpx


@dataclass
class Seen:
    method: str
    path: str
    idempotency_key: str | None
    form: dict[str, str] = field(default_factory=dict)


class StripeProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.seen: list[Seen] = []
        self.answers: list[tuple[str, str, dict | None]] = []
        self.endpoint_secrets: dict[str, str] = {}
        self.arrived = threading.Event()  # a held request is waiting
        self._hold: str | None = None
        self._released = threading.Event()
        self._failures: dict[str, list[int]] = {}
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy._record(self.command, self.path, self.headers.get("Idempotency-Key"), body)
                status = proxy._failure(self.path)
                if status:
                    error = b'{"error": {"type": "api_error", "message": "proxy: simulated outage"}}'
                    return self._answer(status, {"Content-Type": "application/json"}, error)
                if proxy._hold and self.path.startswith(proxy._hold):
                    proxy.arrived.set()
                    proxy._released.wait(60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                answer = httpx.request(self.command, proxy.upstream + self.path, content=body, headers=headers,
                                       timeout=30)
                proxy._answered(self.command, self.path, answer)
                passed = {k: v for k, v in answer.headers.items()
                          if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding")}
                self._answer(answer.status_code, passed, proxy._with_secret(self.command, self.path, answer))

            def _answer(self, status: int, headers: dict, body: bytes) -> None:
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):  # the caller was killed meanwhile
                    pass

            do_GET = do_POST = do_DELETE = _handle  # noqa: N815 - the http.server API

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _record(self, method: str, path: str, key: str | None, body: bytes) -> None:
        form = dict(parse_qsl(body.decode(), keep_blank_values=True)) if body else {}
        with self._lock:
            self.seen.append(Seen(method, path.split("?")[0], key, form))

    def _answered(self, method: str, path: str, answer: httpx.Response) -> None:
        try:
            body = answer.json()
        except ValueError:
            body = None
        with self._lock:
            self.answers.append((method, path.split("?")[0], body))

    def _with_secret(self, method: str, path: str, answer: httpx.Response) -> bytes:
        if method != "POST" or path.split("?")[0] != "/v1/webhook_endpoints" or answer.status_code != 200:
            return answer.content
        endpoint = answer.json()
        endpoint["id"] = f"we_{secrets.token_hex(8)}"  # stripe-mock answers every create with one fixture id
        endpoint["secret"] = f"whsec_{secrets.token_hex(16)}"
        with self._lock:
            self.endpoint_secrets[endpoint["id"]] = endpoint["secret"]
        return json.dumps(endpoint).encode()

    def answer(self, path_prefix: str, method: str = "POST") -> dict | None:
        """What stripe-mock answered to the last such request (e.g. the Checkout Session and its url)."""
        with self._lock:
            found = [body for m, path, body in self.answers if m == method and path.startswith(path_prefix)]
        return found[-1] if found else None

    def _failure(self, path: str) -> int | None:
        with self._lock:
            for prefix, statuses in self._failures.items():
                if path.startswith(prefix) and statuses:
                    return statuses.pop(0)
        return None

    def hold(self, prefix: str) -> None:
        self._hold = prefix
        self.arrived.clear()
        self._released.clear()

    def release(self) -> None:
        self._hold = None
        self._released.set()

    def fail_next(self, prefix: str, *statuses: int) -> None:
        with self._lock:
            self._failures.setdefault(prefix, []).extend(statuses)

    def requests(self, path_prefix: str, method: str = "POST") -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.path.startswith(path_prefix) and s.method == method]

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()
