"""What SaaS API nodes share: a guarded HTTP client, waiting out 429s, reading answers with a size cap,
errors that quote the vendor's own message, and page-by-page listing up to a limit.

A node makes one ``SaasClient`` per run::

    async with saas_client(ctx, "Telegram", headers={...}, error_text=lambda body: body.get("description"))
            as api:
        answer = await api.call("POST", url, json={...})      # the decoded JSON answer (or NodeError)
        rows = await collect(lambda cursor: fetch_page(api, cursor), limit)

* Every request goes through the platform's address policy (``nodes/sdk/net.py``), as HTTP Request's do, with
  ``trust_env=False`` (no proxy from the environment) and redirects not followed (an API answers, it does not
  redirect; a redirect would carry the credential elsewhere).
* A 429 is waited out as the answer says (what ``retry_after`` reads from the body, e.g. Telegram's
  ``parameters.retry_after``; else the ``Retry-After`` header in seconds or as an HTTP date; else an
  ``X-RateLimit-Reset`` epoch second; else 1 s), at most ``max_wait_s`` at a time and ``tries`` times in all;
  then a ``NodeTransientError`` says how long the vendor asked to wait.
* 5xx answers and dropped connections are transient (the engine's retry settings apply); other 4xx answers are
  user errors naming the vendor, the status and the vendor's message (``error_text`` finds it in the body).
* Answers larger than ``MAX_ANSWER_BYTES`` are refused while they are read.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx

from nodes.sdk.errors import NodeTransientError, NodeUserError
from nodes.sdk.net import AddressPolicy, AsyncGuardedTransport

MAX_ANSWER_BYTES = 50 * 1024 * 1024
MAX_WAIT_S = 30.0
TRIES = 3
DEFAULT_WAIT_S = 1.0  # a 429 that does not say how long


def _no_text(body: Any) -> str | None:
    return None


class SaasClient:
    """One vendor's API: ``call`` (decoded JSON), ``send`` (the raw ``httpx.Response``)."""

    def __init__(self, client: httpx.AsyncClient, vendor: str, *,
                 error_text: Callable[[Any], str | None] = _no_text,
                 retry_after: Callable[[Any], float | None] = _no_text,
                 max_wait_s: float | None = None, tries: int | None = None) -> None:
        self.client, self.vendor = client, vendor
        self.error_text, self.retry_after = error_text, retry_after
        self.max_wait_s = MAX_WAIT_S if max_wait_s is None else max_wait_s
        self.tries = TRIES if tries is None else tries

    async def send(self, method: str, url: str, *, label: str = "", **kwargs: Any) -> tuple[httpx.Response, bytes]:
        """The answer (any status but 429, 5xx) and its body, 429s waited out; NodeError otherwise.

        ``label`` names the call in messages instead of the URL's path (when the path holds a secret)."""
        label = label or _path(url)
        what = f"{self.vendor} {method} {label}"
        for attempt in range(1, self.tries + 1):
            try:
                async with self.client.stream(method, url, **kwargs) as response:
                    body = await _read(response, what)
            except httpx.TimeoutException:
                raise NodeTransientError(f"{what} did not answer in time") from None
            except httpx.TransportError as exc:
                raise NodeTransientError(f"{what}: {type(exc).__name__}: {exc}") from None
            if response.status_code == 429:
                wait = _wait_of(response, body, self.retry_after)
                if wait > self.max_wait_s or attempt == self.tries:
                    raise NodeTransientError(f"{self.vendor} rate-limited {method} {label}; it asks to retry "
                                             f"after {wait:g} s", details={"retry_after_s": wait})
                await asyncio.sleep(wait)
                continue
            if response.status_code >= 500:
                message = self.error_text(_decoded(body))
                raise NodeTransientError(f"{what} answered {response.status_code}"
                                         + (f": {message}" if message else ""))
            return response, body
        raise AssertionError("unreachable")  # pragma: no cover

    async def call(self, method: str, url: str, *, label: str = "", **kwargs: Any) -> Any:
        """The decoded JSON answer of a 2xx; a NodeUserError quoting the vendor's message otherwise."""
        label = label or _path(url)
        response, body = await self.send(method, url, label=label, **kwargs)
        answer = _decoded(body)
        if response.status_code >= 400:
            raise self.refused(method, label, response.status_code, answer)
        if answer is _NOT_JSON:
            if not body.strip():
                return {}
            raise NodeUserError(f"{self.vendor} {method} {label} answered {response.status_code} without "
                                "JSON; check the credential's API base URL")
        return answer

    def refused(self, method: str, label: str, status: int, answer: Any) -> NodeUserError:
        message = self.error_text(answer) if answer is not _NOT_JSON else None
        return NodeUserError(f"{self.vendor} refused {method} {label} ({status})"
                             + (f": {message}" if message else ""), details={"status": status})


@asynccontextmanager
async def saas_client(ctx, vendor: str, *, headers: dict[str, str] | None = None,
                      auth: httpx.Auth | tuple[str, str] | None = None, timeout_s: float = 30,
                      follow_redirects: bool = False, **options: Any):
    """A ``SaasClient`` on a guarded httpx client (closed on exit); ``options`` go to ``SaasClient``."""
    transport = AsyncGuardedTransport(AddressPolicy.from_settings(ctx.settings))
    async with httpx.AsyncClient(transport=transport, headers=headers or {}, auth=auth, timeout=timeout_s,
                                 trust_env=False, follow_redirects=follow_redirects, max_redirects=5) as client:
        yield SaasClient(client, vendor, **options)


async def collect(fetch: Callable[[Any], Awaitable[tuple[list, Any]]], limit: int) -> list:
    """Items of ``fetch(cursor)`` page after page (``None`` first; it returns the page's items and the next
    cursor, falsy when there is none) until ``limit`` items or the last page. A cursor that repeats stops it."""
    found: list = []
    cursor, seen = None, set()
    while len(found) < limit:
        items, cursor = await fetch(cursor)
        found += items
        if not cursor or not items or cursor in seen:
            break
        seen.add(cursor)
    return found[:limit]


_NOT_JSON = object()


def _decoded(body: bytes) -> Any:
    try:
        return json.loads(body) if body else _NOT_JSON
    except ValueError:
        return _NOT_JSON


async def _read(response: httpx.Response, what: str) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
        raise NodeUserError(f"{what}: the answer is {int(declared):,} bytes; at most {MAX_ANSWER_BYTES:,} are read")
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise NodeUserError(f"{what}: the answer is larger than {MAX_ANSWER_BYTES:,} bytes; it was refused")
        chunks.append(chunk)
    return b"".join(chunks)


def _wait_of(response: httpx.Response, body: bytes, retry_after: Callable[[Any], float | None]) -> float:
    answer = _decoded(body)
    from_body = retry_after(answer) if answer is not _NOT_JSON else None
    if isinstance(from_body, int | float) and from_body >= 0:
        return float(from_body)
    header = response.headers.get("Retry-After", "").strip()
    reset = response.headers.get("X-RateLimit-Reset", "").strip()
    if not header and reset.isdigit():  # the epoch second the window resets (SendGrid, GitHub)
        return float(min(max(int(reset) - int(time.time()), 0), 24 * 3600))
    if not header:
        return DEFAULT_WAIT_S
    try:
        return max(float(header), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError):
        return DEFAULT_WAIT_S
    return max(round(when - time.time(), 3), 0.0)


def _path(url: str) -> str:
    """The URL's path for messages: no host, no query (either may hold a secret, e.g. a bot token or a key)."""
    try:
        return httpx.URL(url).path
    except (httpx.InvalidURL, TypeError):
        return "?"


def dig(answer: Any, *keys: str) -> Any:
    """``answer[k1][k2]...`` or None: for ``error_text`` functions (``dig(body, "error", "message")``)."""
    for key in keys:
        if not isinstance(answer, dict):
            return None
        answer = answer.get(key)
    return answer
