"""An authenticated JSON API client for SaaS nodes: rate limits waited out, errors naming the API's message.

The GitHub, GitLab, Jira, Notion and Airtable nodes call their vendor through one ``JsonApi``::

    async with JsonApi.open(ctx, "GitHub", base_url, headers) as api:
        issue = await api.json("GET", "/repos/octo/hello/issues/1")
        issues = await api.link_pages("/repos/octo/hello/issues", {"state": "open"}, limit=250)

* Every request goes through the platform's address policy (``nodes.sdk.net``).
* A 429 (or a 403 whose rate-limit header says nothing is left, as GitHub answers) is waited out as the
  ``Retry-After`` header says, or else until the vendor's reset header (``X-RateLimit-Reset`` /
  ``RateLimit-Reset``, epoch seconds), or else ``default_wait_s``; up to ``max_wait_s`` and ``tries`` times,
  then reported as a transient error, as are 5xx answers and broken connections.
* A 4xx names the API's own message (GitHub/GitLab ``message``, Jira ``errorMessages``/``errors``, Notion
  ``message``, Airtable ``error.message``): ``GitHub refused POST /repos/o/r/issues (422): Validation Failed``.
* ``link_pages`` follows ``Link: <...>; rel="next"`` (GitHub, GitLab) and refuses a next link to another
  origin, so the credential's headers are sent only where the credential points.
"""

from __future__ import annotations

import asyncio
import re
import time
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from nodes.sdk.errors import NodeTransientError, NodeUserError
from nodes.sdk.net import AddressPolicy, AsyncGuardedTransport

MAX_ITEMS = 10_000  # return_all stops here
_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?([^";]+)"?')


class JsonApi:
    def __init__(self, client: httpx.AsyncClient, vendor: str, base_url: str, *, max_wait_s: float = 30,
                 tries: int = 3, default_wait_s: float = 1) -> None:
        self.client, self.vendor, self.base = client, vendor, base_url.rstrip("/")
        self.max_wait_s, self.tries, self.default_wait_s = max_wait_s, tries, default_wait_s
        self.query: dict = {}  # sent with every request (an API key in the query string)

    @classmethod
    def open(cls, ctx: Any, vendor: str, base_url: str, headers: dict[str, str], **options: Any) -> _Session:
        transport = AsyncGuardedTransport(AddressPolicy.from_settings(ctx.settings))
        client = httpx.AsyncClient(transport=transport, headers=headers, timeout=30, trust_env=False)
        return _Session(cls(client, vendor, base_url, **options))

    def _url(self, path: str) -> str:
        if not path.startswith(("http://", "https://")):
            return self.base + path
        if httpx.URL(path).copy_with(path="/", query=None) != httpx.URL(self.base).copy_with(path="/", query=None):
            raise NodeUserError(f"{self.vendor} pointed to {httpx.URL(path).host} for the next page, not to the "
                                f"credential's host {httpx.URL(self.base).host}; it was not followed")
        return path

    async def request(self, method: str, path: str, *, params: dict | None = None, json: Any = None,
                      data: dict | None = None) -> httpx.Response:
        url = self._url(path)
        what = f"{method} {httpx.URL(url).path}"
        for attempt in range(1, self.tries + 1):
            try:
                response = await self.client.request(method, url, params={**self.query, **(params or {})} or None,
                                                     json=json, data=data)
            except httpx.TransportError as exc:
                raise NodeTransientError(f"{self.vendor} {what}: {type(exc).__name__}: {exc}") from None
            wait = self.rate_limit_wait(response)
            if wait is not None:
                if wait > self.max_wait_s or attempt == self.tries:
                    raise NodeTransientError(f"{self.vendor} rate-limited {what}; it asks to retry after "
                                             f"{wait:g} s")
                await asyncio.sleep(wait)
                continue
            if response.status_code >= 500:
                raise NodeTransientError(f"{self.vendor} {what} answered {response.status_code}"
                                         + _suffix(api_message(response)))
            if response.status_code >= 400:
                hint = " (check the credential)" if response.status_code in (401, 403) else ""
                raise NodeUserError(f"{self.vendor} refused {what} ({response.status_code}): "
                                    f"{api_message(response) or response.reason_phrase}{hint}")
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.request(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            raise NodeUserError(f"{self.vendor} {method} {path} answered {response.status_code} without JSON; "
                                "check the credential's base URL") from None

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
        return found[:limit]

    def rate_limit_wait(self, response: httpx.Response) -> float | None:
        """Seconds to wait before retrying, or None if the answer is not a rate limit."""
        headers = response.headers
        exhausted = response.status_code == 403 and headers.get("X-RateLimit-Remaining") == "0"
        if response.status_code != 429 and not exhausted:
            return None
        retry_after = headers.get("Retry-After")
        if retry_after:
            try:
                return max(float(retry_after), 0)
            except ValueError:
                try:
                    return max(parsedate_to_datetime(retry_after).timestamp() - time.time(), 0)
                except (TypeError, ValueError):
                    pass
        reset = headers.get("X-RateLimit-Reset") or headers.get("RateLimit-Reset")
        if reset:
            try:
                return max(float(reset) - time.time(), 0)
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


def next_link(header: str) -> str | None:
    for url, rel in _LINK.findall(header or ""):
        if "next" in rel.split():
            return url
    return None


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
