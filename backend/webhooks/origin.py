"""What every webhook answer carries, and which host answers webhooks (ASGI middleware).

A webhook's answer is written by a tenant's workflow (Respond to Webhook sets its status,
headers and body), yet by default it comes from the same origin as the UI, whose tokens
live in the browser's localStorage. So every answer under /webhook, /webhook-test and
/webhook-waiting, errors included, is made harmless to that origin:

* ``Content-Security-Policy: sandbox``: the document gets an opaque origin, runs no script,
  submits no form and opens no popup; JSON, text and HTML still display. Script in it
  cannot read the UI's localStorage or cookies, nor call the API as the visitor.
* ``X-Content-Type-Options: nosniff``: a JSON or text answer is never sniffed into HTML.
* headers whose effect reaches the whole origin are dropped: the two above as the workflow
  set them (ours stand), Clear-Site-Data (would sign the visitor out), HSTS, Alt-Svc,
  NEL / Report-To / Reporting-Endpoints (would report the visitor's other requests to a
  tenant), Accept-CH / Critical-CH, Origin-Agent-Cluster, Service-Worker-Allowed.
* ``Set-Cookie`` survives only for a cookie that cannot reach the app: not one of its names
  (``lf_*``; ``backend-enabled``, which Reflex's frontend reads), no ``Domain`` attribute,
  and, while webhooks share the app's host, a ``Path`` under the webhook URLs.

With ``LINKFLOW_HTTP_WEBHOOK_URL`` on another host than the public URL, the two hosts split:
the webhook host answers the webhook URLs only, and every other host refuses them (404).
Hosts are compared by the Host header, without the port when it is 80 or 443.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.errors import error_body
from backend.settings import get_settings

WEBHOOK_ROOTS = ("/webhook", "/webhook-test", "/webhook-waiting")
FORCED = [(b"content-security-policy", b"sandbox"), (b"x-content-type-options", b"nosniff")]
ORIGIN_WIDE = frozenset({
    b"content-security-policy", b"content-security-policy-report-only", b"x-content-type-options",
    b"clear-site-data", b"strict-transport-security", b"alt-svc", b"nel", b"report-to", b"reporting-endpoints",
    b"accept-ch", b"critical-ch", b"origin-agent-cluster", b"service-worker-allowed", b"set-cookie2",
})
APP_COOKIE_PREFIX = "lf_"  # every cookie LinkFlow sets (backend/auth/oauth.py STATE_COOKIE)
FRAMEWORK_COOKIES = frozenset({"backend-enabled"})  # Reflex's frontend reads it (utils/state.js)


def is_webhook_path(path: str) -> bool:
    return "/" + path.split("/", 2)[1] in WEBHOOK_ROOTS if path.startswith("/") else False


def secured_headers(raw: list[tuple[bytes, bytes]], *, shared_host: bool) -> list[tuple[bytes, bytes]]:
    """A webhook answer's headers: origin-wide ones and app cookies out, our two security headers in."""
    kept = []
    for name, value in raw:
        lower = name.lower()
        if lower in ORIGIN_WIDE or (lower == b"set-cookie" and not cookie_allowed(value.decode("latin-1"),
                                                                                  shared_host=shared_host)):
            continue
        kept.append((name, value))
    return kept + FORCED


def cookie_allowed(set_cookie: str, *, shared_host: bool) -> bool:
    first, *attributes = set_cookie.split(";")
    name, equals, _ = first.partition("=")
    name = name.strip().lower()
    if not equals or not name or name.startswith(APP_COOKIE_PREFIX) or name in FRAMEWORK_COOKIES:
        return False  # a cookie without "=" is nameless to a browser: it could pose as any name
    attrs = {key.strip().lower(): value.strip() for key, _, value in (a.partition("=") for a in attributes)}
    if "domain" in attrs:
        return False
    path = attrs.get("path", "")
    return not shared_host or any(path == root or path.startswith(root + "/") for root in WEBHOOK_ROOTS)


@dataclass(frozen=True, slots=True)
class Hosts:
    webhook: str  # normalised host of the webhook URL
    split: bool  # the webhook URL is on another host than the public URL
    webhook_url: str
    public_url: str


@functools.lru_cache(maxsize=8)
def hosts(webhook_url: str, public_url: str) -> Hosts:
    webhook = _normalised(urlsplit(webhook_url).netloc)
    return Hosts(webhook, webhook != _normalised(urlsplit(public_url).netloc), webhook_url, public_url)


def _normalised(host: str) -> str:
    host = host.strip().lower()
    for default in (":80", ":443"):
        host = host.removesuffix(default)
    return host


class WebhookOrigin:
    """The outermost middleware of the app (backend/app.py)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        settings = get_settings()
        split = hosts(settings.webhook_url, settings.public_url)
        webhook = is_webhook_path(scope["path"])
        if split.split and (_request_host(scope) == split.webhook) != webhook:
            await _refuse(scope, send, split, webhook)
            return
        if webhook and scope["type"] == "http":
            send = _securing(send, shared_host=not split.split)
        await self.app(scope, receive, send)


def _securing(send: Send, *, shared_host: bool) -> Send:
    async def secured(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": secured_headers(list(message.get("headers", [])),
                                                             shared_host=shared_host)}
        await send(message)

    return secured


def _request_host(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"host":
            return _normalised(value.decode("latin-1"))
    return ""


async def _refuse(scope: Scope, send: Send, split: Hosts, webhook: bool) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    if webhook:
        message = f"webhook URLs answer at {split.webhook_url}{scope['path']}, not on this host"
    else:
        message = f"this host answers webhook URLs only (/webhook/...); LinkFlow is at {split.public_url}"
    body = json.dumps(error_body("not_found", message)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *FORCED]
    await send({"type": "http.response.start", "status": 404, "headers": headers})
    await send({"type": "http.response.body", "body": body})
