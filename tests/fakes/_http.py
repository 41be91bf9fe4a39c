"""The HTTP plumbing the fake vendor APIs share: a threaded server on 127.0.0.1 that hands each request to
``answer(method, path, query, body, headers)`` and writes back ``(status, headers, json_body)``.

Each fake (``tests/fakes/<vendor>/server.py``) only says how its vendor answers; every call is recorded in
``calls`` as ``(method, path, query, body)``.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit


class FakeApi:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.calls: list[tuple[str, str, dict, Any]] = []
        self.rate_limited: set[tuple[str, str]] = set()
        self._server = ThreadingHTTPServer((host, 0), self._handler())
        self._server.daemon_threads = True

    @property
    def origin(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self):
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, method: str, path: str, query: dict, body: Any, headers) -> tuple[int, dict, Any]:
        raise NotImplementedError

    def once(self, method: str, path: str) -> bool:
        """True the first time (method, path) is asked: how the fakes answer one 429 and then succeed."""
        if (method, path) in self.rate_limited:
            return False
        self.rate_limited.add((method, path))
        return True

    def link_page(self, path: str, items: list, query: dict, *, size_param: str = "per_page",
                  default_size: int = 30) -> tuple[list, dict]:
        """A page of ``items`` by ``page``/``per_page`` and the ``Link`` header GitHub and GitLab send."""
        size = min(int(query.get(size_param) or default_size), 100)
        page = int(query.get("page") or 1)
        chunk = items[(page - 1) * size: page * size]
        links = []
        last = max((len(items) + size - 1) // size, 1)
        if page < last:
            links.append(f'<{self.origin}{path}?{urlencode({**query, "page": page + 1})}>; rel="next"')
        links.append(f'<{self.origin}{path}?{urlencode({**query, "page": last})}>; rel="last"')
        return chunk, {"Link": ", ".join(links)}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                url = urlsplit(self.path)
                query = dict(parse_qsl(url.query))
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if raw and "x-www-form-urlencoded" in (self.headers.get("Content-Type") or ""):
                    body = dict(parse_qsl(raw.decode()))  # an OAuth token request
                else:
                    body = json.loads(raw) if raw else None
                fake.calls.append((self.command, url.path, query, body))
                status, headers, answer = fake.answer(self.command, url.path, query, body, self.headers)
                payload = b"" if answer is None else json.dumps(answer).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json; charset=utf-8", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, *args) -> None:
                pass

        return Handler
