"""The authenticated JSON API client every SaaS node shares: rate limits waited out, answers read with a size
cap, errors naming the API's own message, and page-by-page listing up to a limit.

The GitHub, GitLab, Jira, Notion, Airtable, Google Sheets and Slack nodes call their vendor through paths under
the credential's base URL; Telegram, Discord, Stripe, Twilio, SendGrid, HubSpot and RSS Read pass whole URLs::

    async with JsonApi.open(ctx, "GitHub", base_url, headers) as api:
        issue = await api.json("GET", "/repos/octo/hello/issues/1")
        issues = await api.link_pages("/repos/octo/hello/issues", {"state": "open"}, limit=250)
    async with JsonApi.open(ctx, "Telegram", error_text=lambda body: dig(body, "description"),
                            retry_after=lambda body: dig(body, "parameters", "retry_after")) as api:
        sent = await api.json("POST", url, json={...}, label="sendMessage")  # label: the URL holds the token
        rows = await collect(lambda cursor: fetch_page(api, cursor), limit)

* Every request goes through the platform's address policy (``nodes.sdk.net``), with ``trust_env=False`` (no
  proxy from the environment) and redirects not followed unless the node asks (RSS Read: each hop is checked by
  the policy); an API answers, a redirect would carry the credential elsewhere.
* A 429 (or a 403 whose rate-limit header says nothing is left, as GitHub answers) is waited out as the answer
  says: what ``retry_after`` reads from the JSON body (Telegram's ``parameters.retry_after``, Discord's
  ``retry_after``), else the ``Retry-After`` header (seconds or an HTTP date), else the vendor's reset header
  (``X-RateLimit-Reset`` / ``RateLimit-Reset``, epoch seconds), else ``default_wait_s``; up to ``max_wait_s`` at a
  time and ``tries`` times, then reported as a transient error saying how long the vendor asked to wait. 5xx
  answers and broken connections are transient too (the engine's retry settings apply).
* A 4xx names the API's own message: ``error_text(body)`` when the node gives one, else ``api_message`` (GitHub/
  GitLab ``message``, Jira ``errorMessages``/``errors``, Notion ``message``, Airtable ``error.message``):
  ``GitHub refused POST /repos/o/r/issues (422): Validation Failed``. ``request(..., check=False)`` hands 4xx
  answers back to the node instead (RSS Read words its own message).
* Answers larger than ``MAX_ANSWER_BYTES`` are refused while they are read. Bodies go as JSON (``json=``), form
  fields (``data=``, Stripe and Twilio) or multipart (``data=`` with ``files=``, Telegram's uploads).
* ``link_pages`` follows ``Link: <...>; rel="next"`` (GitHub, GitLab) and refuses a next link to another
  origin, so the credential's headers are sent only where the credential points; ``collect`` pages any cursor
  (``starting_after``, ``after``, ``next_page_uri``...) up to a limit and stops on a cursor that repeats.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import re
import time
from collections.abc import Awaitable, Callable
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from nodes.sdk.errors import NodeTransientError, NodeUserError
from nodes.sdk.net import AddressPolicy, shared_transport

MAX_ITEMS = 10_000  # return_all stops here
MAX_ANSWER_BYTES = 50 * 1024 * 1024
MAX_WAIT_S = 30.0  # the longest rate-limit wait, unless the node says otherwise
TRIES = 3
DEFAULT_WAIT_S = 1.0  # a 429 that does not say how long
_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?([^";]+)"?')


class JsonApi:
    def __init__(self, client: httpx.AsyncClient, vendor: str, base_url: str = "", *,
                 max_wait_s: float | None = None, tries: int | None = None, default_wait_s: float | None = None,
                 error_text: Callable[[Any], str | None] | None = None,
                 retry_after: Callable[[Any], float | None] | None = None) -> None:
        self.client, self.vendor, self.base = client, vendor, base_url.rstrip("/")
        self.max_wait_s = MAX_WAIT_S if max_wait_s is None else max_wait_s
        self.tries = TRIES if tries is None else tries
        self.default_wait_s = DEFAULT_WAIT_S if default_wait_s is None else default_wait_s
        self.error_text, self.retry_after = error_text, retry_after
        self.query: dict = {}  # sent with every request (an API key in the query string)

    @classmethod
    def open(cls, ctx: Any, vendor: str, base_url: str = "", headers: dict[str, str] | None = None, *,
             auth: httpx.Auth | tuple[str, str] | None = None, timeout_s: float = 30, follow_redirects: bool = False,
             **options: Any) -> _Session:
        """A ``JsonApi`` on a guarded httpx client, closed when the ``async with`` ends; ``options`` go to it."""
        transport = shared_transport(AddressPolicy.from_settings(ctx.settings))  # connections kept between runs
        client = httpx.AsyncClient(transport=transport, headers=headers or {}, auth=auth, timeout=timeout_s,
                                   trust_env=False, follow_redirects=follow_redirects, max_redirects=5)
        return _Session(cls(client, vendor, base_url, **options))

    def _url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base + path

    async def request(self, method: str, path: str, *, params: dict | None = None, json: Any = None,
                      data: dict | None = None, files: Any = None, headers: dict[str, str] | None = None,
                      label: str = "", check: bool = True) -> httpx.Response:
        """The answer (read whole, at most ``MAX_ANSWER_BYTES``), 429s waited out; 5xx and, with ``check``, 4xx
        answers raised as errors. ``label`` names the call in messages instead of the URL's path (when the path
        holds a secret, e.g. a bot token)."""
        url = self._url(path)
        what = f"{method} {label or _path(url)}"
        for attempt in range(1, self.tries + 1):
            try:
                async with self.client.stream(method, url, params={**self.query, **(params or {})} or None,
                                              json=json, data=data, files=files, headers=headers) as streamed:
                    response = await _read(streamed, f"{self.vendor} {what}")
            except httpx.TimeoutException:
                raise NodeTransientError(f"{self.vendor} {what} did not answer in time") from None
            except httpx.TransportError as exc:
                raise NodeTransientError(f"{self.vendor} {what}: {type(exc).__name__}: {exc}") from None
            wait = self.rate_limit_wait(response)
            if wait is not None:
                if wait > self.max_wait_s or attempt == self.tries:
                    raise NodeTransientError(f"{self.vendor} rate-limited {what}; it asks to retry after "
                                             f"{wait:g} s", details={"retry_after_s": wait})
                await asyncio.sleep(wait)
                continue
            if response.status_code >= 500:
                raise NodeTransientError(f"{self.vendor} {what} answered {response.status_code}"
                                         + _suffix(self.message(response)))
            if response.status_code >= 400 and check:
                raise self.refused(what, response)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """The decoded JSON answer of a 2xx (``{}`` for an empty one); errors as ``request`` raises them."""
        response = await self.request(method, path, **kwargs)
        if response.status_code == 204 or not response.content.strip():
            return {}
        try:
            return response.json()
        except ValueError:
            shown = kwargs.get("label") or _path(self._url(path))
            raise NodeUserError(f"{self.vendor} {method} {shown} answered {response.status_code} without JSON; "
                                "check the credential's API base URL") from None

    def message(self, response: httpx.Response) -> str:
        """The vendor's own words from an error answer: the node's ``error_text`` or ``api_message``."""
        if self.error_text is None:
            return api_message(response)
        body = _decoded(response)
        return str(self.error_text(body) or "") if body is not _NOT_JSON else ""

    def refused(self, what: str, response: httpx.Response) -> NodeUserError:
        """The error for a 4xx answer to ``what`` ("POST /path"), naming the vendor's message."""
        hint = " (check the credential)" if response.status_code in (401, 403) else ""
        return NodeUserError(f"{self.vendor} refused {what} ({response.status_code}): "
                             f"{self.message(response) or response.reason_phrase}{hint}",
                             details={"status": response.status_code})

    async def link_pages(self, path: str, params: dict, limit: int, *, page_size_param: str = "per_page",
                         page_size: int = 100) -> list:
        """Items of a listing paged by ``Link: <next>; rel="next"`` headers, up to ``limit``."""
        found: list = []
        url: str | None = path
        query: dict | None = {**params, page_size_param: min(page_size, limit)}
        while url and len(found) < limit:
            response = await self.request("GET", url, params=query)
            page = response.json() if response.content else []
            if not isinstance(page, list):
                raise NodeUserError(f"{self.vendor} GET {path} did not answer a list; check the base URL")
            found += page
            url, query = next_link(response.headers.get("Link", "")), None  # the next link carries the query
            if url and not url.startswith(("http://", "https://")):
                url = str(response.request.url.join(url))
            if url and _origin(url) != _origin(self._url("/")):
                raise NodeUserError(f"{self.vendor} pointed to {httpx.URL(url).host} for the next page, not to "
                                    f"the credential's host {httpx.URL(self._url('/')).host}; it was not followed")
        return found[:limit]

    def rate_limit_wait(self, response: httpx.Response) -> float | None:
        """Seconds to wait before retrying, or None if the answer is not a rate limit."""
        headers = response.headers
        exhausted = response.status_code == 403 and headers.get("X-RateLimit-Remaining") == "0"
        if response.status_code != 429 and not exhausted:
            return None
        if self.retry_after is not None:
            body = _decoded(response)
            from_body = self.retry_after(body) if body is not _NOT_JSON else None
            if isinstance(from_body, int | float) and not isinstance(from_body, bool) and from_body >= 0:
                return float(from_body)
        retry_after = headers.get("Retry-After", "").strip()
        if retry_after:
            try:
                return max(float(retry_after), 0)
            except ValueError:
                try:
                    return max(round(parsedate_to_datetime(retry_after).timestamp() - time.time(), 3), 0)
                except (TypeError, ValueError):
                    pass
        reset = headers.get("X-RateLimit-Reset") or headers.get("RateLimit-Reset")
        if reset:
            try:  # the epoch second the window resets (GitHub, GitLab, SendGrid), at most a day away
                return min(max(float(reset) - time.time(), 0), 24 * 3600)
            except ValueError:
                pass
        return self.default_wait_s


class _Session:
    def __init__(self, api: JsonApi) -> None:
        self.api = api

    async def __aenter__(self) -> JsonApi:
        return self.api

    async def __aexit__(self, *exc: Any) -> None:
        await self.api.client.aclose()


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


def dig(answer: Any, *keys: str) -> Any:
    """``answer[k1][k2]...`` or None: for ``error_text`` functions (``dig(body, "error", "message")``)."""
    for key in keys:
        if not isinstance(answer, dict):
            return None
        answer = answer.get(key)
    return answer


def next_link(header: str) -> str | None:
    for url, rel in _LINK.findall(header or ""):
        if "next" in rel.split():
            return url
    return None


_NOT_JSON = object()


def _decoded(response: httpx.Response) -> Any:
    try:
        return jsonlib.loads(response.content) if response.content else _NOT_JSON
    except ValueError:
        return _NOT_JSON


async def _read(streamed: httpx.Response, what: str) -> httpx.Response:
    """The streamed answer read whole into a plain response; refused once it passes ``MAX_ANSWER_BYTES``."""
    declared = streamed.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
        raise NodeUserError(f"{what}: the answer is {int(declared):,} bytes; at most {MAX_ANSWER_BYTES:,} are read")
    chunks, size = [], 0
    async for chunk in streamed.aiter_bytes():
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise NodeUserError(f"{what}: the answer is larger than {MAX_ANSWER_BYTES:,} bytes; it was refused")
        chunks.append(chunk)
    # the body is decoded already: the new response must not decode it again nor trust the old length
    headers = [(k, v) for k, v in streamed.headers.multi_items()
               if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
    kept = {k: v for k, v in streamed.extensions.items() if k in ("http_version", "reason_phrase")}
    return httpx.Response(streamed.status_code, headers=headers, content=b"".join(chunks), request=streamed.request,
                          extensions=kept)


def _path(url: str) -> str:
    """The URL's path for messages: no host, no query (either may hold a secret, e.g. a bot token or a key)."""
    try:
        return httpx.URL(url).path
    except (httpx.InvalidURL, TypeError):
        return "?"


def _origin(url: str) -> httpx.URL:
    return httpx.URL(url).copy_with(path="/", query=None, fragment=None)


def api_message(response: httpx.Response) -> str:
    """The vendor's own words from an error answer (the shapes of GitHub, GitLab, Jira, Notion, Airtable)."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300].strip()
    if not isinstance(body, dict):
        return str(body)[:300]
    parts: list[str] = []
    error = body.get("error")
    if isinstance(error, dict):  # Airtable {"error": {"type", "message"}}, Google {"error": {"status", "message"}}
        parts.append(": ".join(str(error[k]) for k in ("type", "status", "message") if error.get(k)))
    elif isinstance(error, str):  # Airtable NOT_FOUND, GitLab OAuth errors
        parts.append(error + (f": {body['error_description']}" if body.get("error_description") else ""))
    message = body.get("message")
    if isinstance(message, str):  # GitHub, GitLab, Notion
        parts.append((f"{body['code']}: " if isinstance(body.get("code"), str) else "") + message)
    elif isinstance(message, dict):  # GitLab validation: {"message": {"title": ["can't be blank"]}}
        parts += [f"{k} {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in message.items()]
    elif isinstance(message, list):
        parts += [str(m) for m in message]
    parts += [str(m) for m in body.get("errorMessages") or []]  # Jira
    errors = body.get("errors")
    if isinstance(errors, dict):  # Jira: {"errors": {"summary": "You must specify a summary"}}
        parts += [f"{k}: {v}" for k, v in errors.items()]
    elif isinstance(errors, list):  # GitHub: [{"resource": "Issue", "field": "title", "code": "missing_field"}]
        parts += [e.get("message") or " ".join(str(e.get(k)) for k in ("resource", "field", "code") if e.get(k))
                  if isinstance(e, dict) else str(e) for e in errors]
    return "; ".join(p for p in parts if p)[:500]


def _suffix(message: str) -> str:
    return f": {message}" if message else ""


async def per_item(ctx: Any, items: list, one: Any) -> list:
    """``await one(params)`` for each item (its list of output items), the failing item's index on errors."""
    out: list = []
    for index in range(len(items)):
        try:
            out += await one(ctx.params(index))
        except (NodeUserError, NodeTransientError) as exc:
            exc.item_index = index
            raise
    return out


def check_operation(resource: str, operation: str, operations: dict[str, tuple[str, ...]]) -> None:
    if operation not in operations[resource]:
        raise ValueError(f"{resource} has no operation {operation!r} (choose {', '.join(operations[resource])})")


def require(params: Any, names: tuple[str, ...]) -> None:
    missing = [name for name in names if getattr(params, name) in ("", None, [], {})]
    if missing:
        raise ValueError(f"{params.resource} {params.operation} needs {' and '.join(missing)}")
