"""The base of the fake vendor servers under tests/fakes/<vendor>/: a threaded HTTP server on a loopback address
(127.0.0.1 unless told another) that records each request and answers what the subclass's ``answer`` returns.

    class FakeVendor(FakeApi):
        def answer(self, request: Request) -> tuple[int, dict, Any]:
            return 200, {"X-Header": "value"}, {"a": "JSON answer"}

    with FakeVendor() as fake:
        fake.origin     # "http://127.0.0.1:PORT"
        fake.url        # the origin too, unless the fake puts its API under a path ("http://127.0.0.1:PORT/v1")
        fake.requests   # [Request(method, path, query, headers, body), ...], in the order they came

The answer's body is a dict or list (sent as JSON with ``Content-Type: application/json`` unless the headers name
another type), a str (sent UTF-8 encoded), bytes (sent as they are) or None (no body). Content-Type is the only
header added; the others are the fake's. ``once(method, path)`` and ``link_page(...)`` are shared helpers for
the usual "429 once, then answer" and ``Link``-header paging.
"""

from __future__ import annotations

import ipaddress
import json
import threading
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]  # one value per name (the last of repeated ones); blank values kept
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))

    def data(self) -> Any:
        """The body as a vendor reads it: a form's fields if it is form-encoded, else its JSON (None if empty)."""
        if "x-www-form-urlencoded" in self.headers.get("content-type", ""):
            return self.form()
        return self.json()

    def multipart(self) -> dict[str, tuple[str | None, str, bytes]]:
        """Form fields and files of a multipart/form-data body: name -> (file name, content type, bytes)."""
        head = f"Content-Type: {self.headers.get('content-type', '')}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + self.body)
        return {part.get_param("name", header="content-disposition"):
                (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
                for part in message.iter_parts()}


class FakeApi:
    def __init__(self, host: str = "127.0.0.1") -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"a fake vendor listens on a loopback address only, not {host}")
        self.requests: list[Request] = []
        self.rate_limited: set[tuple[str, str]] = set()
        self._server = ThreadingHTTPServer((host, 0), self._handler())
        self._server.daemon_threads = True

    @property
    def origin(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        """The API base URL a credential points at; fakes whose API lives under a path override it."""
        return self.origin

    def __enter__(self):
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, request: Request) -> tuple[int, dict, Any]:
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
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(self.command, url.path, dict(parse_qsl(url.query, keep_blank_values=True)),
                                  {k.lower(): v for k, v in self.headers.items()},
                                  self.rfile.read(length) if length else b"")
                fake.requests.append(request)
                status, headers, body = fake.answer(request)
                if isinstance(body, dict | list):
                    body, headers = json.dumps(body).encode(), {"Content-Type": "application/json", **headers}
                elif isinstance(body, str):
                    body = body.encode()
                elif body is None:
                    body = b""
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve  # noqa: N815 - http.server's names

            def log_message(self, *args) -> None:
                pass

        return Handler
