"""The HTTP Request node: calls any HTTP API, one request per item."""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, Literal

import httpx
from pydantic import Field, field_validator, model_validator

from nodes.builtin._fields import get_field, has_field
from nodes.builtin._http_auth import Injection, injection_from
from nodes.sdk import Node, NodeError, NodeParameters, NodeTransientError, NodeUserError, show_if
from nodes.sdk.net import AddressPolicy, shared_transport

CONCURRENCY = 8
MAX_REDIRECTS = 5
MAX_RESPONSE_BYTES = 100 * 1024 * 1024
SPOOL_BYTES = 1024 * 1024  # a binary answer past this waits in a temporary file, not in memory
EXCERPT_CHARS = 200
_SENSITIVE = ("authorization", "cookie", "proxy-authorization")


class HttpRequestParameters(NodeParameters):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = Field("GET", description="HTTP method")
    url: str = Field(description="Full URL, e.g. https://api.example.com/v1/orders", json_schema_extra={"format": "uri"})
    query: dict[str, Any] = Field(default_factory=dict, description="Query parameters added to the URL")
    headers: dict[str, Any] = Field(default_factory=dict, description="Request headers")
    body_type: Literal["none", "json", "form", "raw"] = Field(
        "none", description="none: no body; json: the body as JSON; form: the body object URL-encoded; raw: text"
    )
    body: Any = Field(None, description="The request body (json: any value; form: an object; raw: text)",
                      json_schema_extra=show_if(body_type=["json", "form", "raw"]))
    content_type: str = Field("text/plain; charset=utf-8", description="raw: the Content-Type of the body",
                              json_schema_extra=show_if(body_type=["raw"]))
    response_format: Literal["json", "text", "binary"] = Field(
        "json", description="How to read the answer: parsed JSON, text, or a file kept as binary data 'data'"
    )
    timeout_s: float = Field(30, gt=0, le=600, description="Seconds to wait for the server (per request)")
    follow_redirects: bool = Field(True, description=f"Follow up to {MAX_REDIRECTS} redirects")
    fail_on_status: bool = Field(True, description="Fail on 4xx/5xx answers; off: output them like any answer")
    output: Literal["response", "body"] = Field(
        "response", description="response: {status, headers, body} per request; body: the answer itself as the "
                                "item (a JSON list: one item per element; text under 'data'), as n8n does")
    authentication: Literal["none", "credential"] = Field(
        "none", description="credential: apply the credential bound to the 'auth' slot"
    )
    pagination: Literal["off", "next_url", "link_header", "page_number"] = Field(
        "off", description="off: one request; next_url: follow the URL in the answer's field next_url_field; "
                           "link_header: follow the Link header's rel=\"next\"; page_number: add page_parameter "
                           "1, 2, ... until a page has no records")
    next_url_field: str = Field("next", description="next_url: the answer's field with the next page's URL "
                                                    "(dots reach nested fields); empty or missing ends it",
                                json_schema_extra=show_if(pagination=["next_url"]))
    page_parameter: str = Field("page", min_length=1, description="page_number: the query parameter of the page",
                                json_schema_extra=show_if(pagination=["page_number"]))
    page_start: int = Field(1, ge=0, description="page_number: the first page's number",
                            json_schema_extra=show_if(pagination=["page_number"]))
    records_field: str = Field("", description="Where each page's list of records is, e.g. 'data' (empty: the "
                                               "body itself when it is a list); set: one output item per record "
                                               "instead of one per answer")
    max_pages: int = Field(100, ge=1, le=100_000, description="Pagination stops after this many pages",
                           json_schema_extra=show_if(pagination=["next_url", "link_header", "page_number"]))

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        url = value.strip()
        if not url.lower().startswith(("http://", "https://")):
            raise ValueError(f"URL {value[:80]!r} must start with http:// or https://")
        return url

    @model_validator(mode="after")
    def _body_fits_type(self) -> HttpRequestParameters:
        if self.body_type == "none" and self.body not in (None, "", {}):
            raise ValueError("a body is set but body_type is 'none': choose json, form or raw")
        if self.body_type == "form" and not isinstance(self.body, dict):
            raise ValueError("body_type 'form' needs the body to be an object of field names and values")
        if self.body_type == "raw" and isinstance(self.body, (dict, list)):
            raise ValueError("body_type 'raw' sends text; use body_type 'json' for objects and lists")
        if self.pagination != "off" and self.response_format != "json":
            raise ValueError("pagination reads JSON answers: set response_format to 'json'")
        return self


class HttpRequest(Node):
    """One request per item (up to 8 at a time; output order = input order).

    Output item json: ``{"status", "headers", "body"}``; with output=body the answer itself (n8n's shape: an
    object is the item, a list gives one item per element, text and other values go under ``data``); with response_format=binary the body
    is stored with ``ctx.put_binary`` and the item gets ``binary: {"data": ref}`` instead. A binary
    answer is streamed: past 1 MB it is spooled to a temporary file and handed to storage from
    there, so a large download is never held in memory.
    Failures: 4xx is a user error (408 and 429 are transient), 5xx, timeouts and network
    errors are transient, so the engine's retry settings apply to them.

    Addresses: private, loopback, link-local, multicast, reserved and unspecified
    addresses are refused unless ``ctx.settings["http_allow_private"]`` is true or the
    host or address matches ``ctx.settings["http_allow_list"]``; redirects are followed
    by hand, and every hop is checked and connected to the checked address (see
    ``nodes/sdk/net.py``). Proxy variables of the environment are ignored, since a proxy
    would defeat the address check.

    Credentials: with authentication='credential', ``ctx.credentials("auth")`` is applied
    as described in ``_http_auth`` (headers/query injection, or a typed credential).

    Pagination (items one after another, pages in order): each page is handed to the engine as it
    arrives (``produce``), so with ``records_field`` a long listing is spilled batch by batch rather
    than held whole. A next page on another origin than the first gets no credential headers or
    query; every page's address is checked like the first.
    """

    type = "http_request"
    display_name = "HTTP Request"
    group = "integration"
    side_effects = True
    icon = "globe"
    description = "Calls an HTTP API and outputs its answer."
    credential_slots = {"auth": ("api_key_header", "http_basic", "bearer_token", "oauth2")}
    Parameters = HttpRequestParameters

    async def execute(self, ctx, items):
        return [item async for batch in self.produce(ctx, items) for item in batch]

    async def produce(self, ctx, items):
        cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))  # no cookies carried between items
        transport = shared_transport(AddressPolicy.from_settings(ctx.settings))  # connections kept between runs
        async with httpx.AsyncClient(transport=transport, trust_env=False, follow_redirects=False,
                                     cookies=cookies) as client:
            caller = _Caller(ctx, client)
            if not any(ctx.params(index).pagination != "off" for index in range(len(items))):
                jobs = [lambda index=index: caller.item(index) for index in range(len(items))]
                yield [item for produced in await _gather_bounded(jobs, CONCURRENCY) for item in produced]
                return
            for index in range(len(items)):
                async for batch in caller.pages(index):
                    yield batch


async def _gather_bounded(jobs: list[Callable[[], Awaitable[Any]]], limit: int) -> list[Any]:
    """Run ``jobs`` with at most ``limit`` at once; results in order; the first failure cancels the rest."""
    gate = asyncio.Semaphore(limit)

    async def run(job):
        async with gate:
            return await job()

    tasks = [asyncio.create_task(run(job)) for job in jobs]
    try:
        return await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()


class _Caller:
    def __init__(self, ctx, client: httpx.AsyncClient) -> None:
        self.ctx, self.client = ctx, client
        self._injection: Injection | None = None
        self._injection_lock = asyncio.Lock()  # items run concurrently; fetch the credential once

    async def item(self, index: int) -> list[dict]:
        params = self.ctx.params(index)
        async with _failures(params, index):
            injection = await self._credential() if params.authentication == "credential" else Injection()
            response, body = await self._send(params, injection)
            try:
                _check_status(params, response, _excerpt(body))
                return _shaped(params, await self._output(params, response, body))
            finally:
                if not isinstance(body, bytes):
                    body.close()

    async def pages(self, index: int) -> AsyncIterator[list[dict]]:
        """The answers of one item's pages, a batch per page (one item, or one per record)."""
        params = self.ctx.params(index)
        if params.pagination == "off":
            yield await self.item(index)
            return
        async with _failures(params, index):
            injection = await self._credential() if params.authentication == "credential" else Injection()
            first = httpx.URL(params.url)
            url, seen = first.copy_merge_params(_query(params.query, injection)), set()
            for number in range(params.max_pages):
                if params.pagination == "page_number":
                    url = url.copy_merge_params({params.page_parameter: str(params.page_start + number)})
                same_origin = (url.scheme, url.host, url.port) == (first.scheme, first.host, first.port)
                response, body = await self._send(params, injection if same_origin else Injection(), url)
                _check_status(params, response, _excerpt(body))
                output = await self._output(params, response, body)
                records = _records(params, output["json"]["body"], number)
                yield [{"json": r if isinstance(r, dict) else {"value": r}} for r in records] if (
                    records is not None) else _shaped(params, output)
                seen.add(str(url))
                next_url = _next_page(params, response, output["json"]["body"], records)
                if next_url is None:
                    return
                if params.pagination != "page_number":
                    url = response.url.join(next_url)
                    if (url.scheme, url.host, url.port) == (first.scheme, first.host, first.port) and injection.query:
                        url = url.copy_merge_params(injection.query)  # an API key in the query, on its own origin
                    if str(url) in seen:
                        return  # an API that points back at a page already read: the listing is complete

    async def _credential(self) -> Injection:
        async with self._injection_lock:
            if self._injection is None:
                self._injection = injection_from(await self.ctx.credentials("auth"))
        return self._injection

    async def _send(self, params: HttpRequestParameters, injection: Injection,
                    url: httpx.URL | None = None) -> tuple[httpx.Response, Body]:
        first = url
        url = url or httpx.URL(params.url).copy_merge_params(_query(params.query, injection))
        method, content = params.method, _content(params)
        headers = {**_headers(params), **injection.headers}
        for _ in range(MAX_REDIRECTS + 1):
            response = await self._hop(method, url, headers, content, params.timeout_s)
            if not (params.follow_redirects and response.is_redirect):
                return response, await _read_body(response, spool=params.response_format == "binary")
            await response.aclose()
            next_url = url.join(response.headers["location"])
            method, content, headers = _redirected(response.status_code, method, content, headers)
            if (next_url.scheme, next_url.host, next_url.port) != (url.scheme, url.host, url.port):
                headers = _without_secrets(headers, injection)
            url = next_url
        raise NodeUserError(f"{_shown(str(first or params.url))} redirected more than {MAX_REDIRECTS} times; "
                            "check the URL")

    async def _hop(self, method: str, url: httpx.URL, headers: dict, content: dict, timeout: float) -> httpx.Response:
        if url.scheme not in ("http", "https"):
            raise NodeUserError(f"refused to follow a redirect to {url.scheme}: only http and https are allowed")
        request = self.client.build_request(method, url, headers=headers, timeout=timeout, **content)
        return await self.client.send(request, stream=True)  # the transport checks and pins the address

    async def _output(self, params: HttpRequestParameters, response: httpx.Response, body: Body) -> dict:
        meta = {"status": response.status_code, "headers": dict(response.headers.items())}
        if params.response_format == "binary":
            mime = response.headers.get("content-type", "application/octet-stream").split(";")[0].strip()
            ref = await self.ctx.put_binary(body, mime_type=mime, file_name=response.url.path.rsplit("/", 1)[-1])
            return {"json": meta, "binary": {"data": ref}}
        text = _as_bytes(body).decode(response.encoding or "utf-8", errors="replace")
        return {"json": {**meta, "body": _parsed(params, text) if params.response_format == "json" else text}}


def _shaped(params: HttpRequestParameters, item: dict) -> list[dict]:
    """One answer as output items: as is (output=response), or the body itself as n8n gives it (output=body)."""
    if params.output == "response":
        return [item]
    if "binary" in item:
        return [{"json": {}, "binary": item["binary"]}]
    body = item["json"]["body"]
    values = body if isinstance(body, list) else [body]
    return [{"json": v if isinstance(v, dict) else {"data": v}} for v in values]


@asynccontextmanager
async def _failures(params: HttpRequestParameters, index: int):
    """Transport failures as node errors naming the item: timeouts and network errors are transient."""
    try:
        yield
    except NodeError as exc:
        exc.item_index = index if exc.item_index is None else exc.item_index
        raise
    except httpx.TimeoutException:
        raise NodeTransientError(
            f"{params.method} {_shown(params.url)} got no answer within {params.timeout_s:g}s", item_index=index
        ) from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise NodeUserError(f"bad URL {_shown(params.url)}: {exc}", item_index=index) from None
    except httpx.TransportError as exc:
        raise NodeTransientError(
            f"{params.method} {_shown(params.url)} failed: {type(exc).__name__} {exc}", item_index=index
        ) from None


def _records(params: HttpRequestParameters, body: Any, number: int) -> list | None:
    """The page's records (a list), or None when answers are output whole."""
    if not params.records_field:
        if params.pagination == "page_number":
            if not isinstance(body, list):
                raise NodeUserError(f"page {number + 1}: page_number pagination stops at a page without records; "
                                    "the answer is not a list, so name its list in records_field")
            return body
        return None
    if not isinstance(body, dict) or not has_field(body, params.records_field):
        raise NodeUserError(f"page {number + 1}: the answer has no field {params.records_field!r} (records_field)")
    records = get_field(body, params.records_field)
    if not isinstance(records, list):
        raise NodeUserError(f"page {number + 1}: {params.records_field!r} holds {type(records).__name__}, not a list")
    return records


def _next_page(params: HttpRequestParameters, response: httpx.Response, body: Any, records: list | None) -> str | None:
    if params.pagination == "page_number":
        return None if not records else ""
    if params.pagination == "link_header":
        return response.links.get("next", {}).get("url") or None
    value = get_field(body, params.next_url_field) if isinstance(body, dict) and params.next_url_field else None
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise NodeUserError(f"{params.next_url_field!r} holds {type(value).__name__}, not the next page's URL")
    return value


def _query(query: dict[str, Any], injection: Injection) -> dict[str, Any]:
    def text(value: Any) -> Any:
        if isinstance(value, bool):
            return "true" if value else "false"
        return [text(v) for v in value] if isinstance(value, list) else str(value)

    return {**{k: text(v) for k, v in query.items() if v is not None}, **injection.query}


def _headers(params: HttpRequestParameters) -> dict[str, str]:
    headers = {name: str(value) for name, value in params.headers.items()}
    if params.body_type == "raw" and not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = params.content_type
    return headers


def _content(params: HttpRequestParameters) -> dict:
    if params.body_type == "json":
        return {"json": params.body}
    if params.body_type == "form":
        return {"data": {k: "" if v is None else str(v) for k, v in params.body.items()}}
    if params.body_type == "raw":
        return {"content": "" if params.body is None else str(params.body)}
    return {}


def _redirected(status: int, method: str, content: dict, headers: dict) -> tuple[str, dict, dict]:
    """Browsers' rule: 303 (and 301/302 after POST) continue as GET without the body."""
    if status == 303 and method != "HEAD" or status in (301, 302) and method == "POST":
        headers = {k: v for k, v in headers.items() if k.lower() not in ("content-type", "content-length")}
        return "GET", {}, headers
    return method, content, headers


def _without_secrets(headers: dict, injection: Injection) -> dict:
    secret = {name.lower() for name in injection.headers} | set(_SENSITIVE)
    return {k: v for k, v in headers.items() if k.lower() not in secret}


Body = bytes | tempfile.SpooledTemporaryFile  # a spooled body: at position 0, closed by the caller


async def _read_body(response: httpx.Response, *, spool: bool = False) -> Body:
    """The answer's bytes; with ``spool``, a file that keeps at most a megabyte in memory."""
    body = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) if spool else bytearray()  # noqa: SIM115
    size = 0
    try:
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise NodeUserError(f"the answer is larger than {MAX_RESPONSE_BYTES // 2**20} MB; this node refuses it")
            body.write(chunk) if spool else body.extend(chunk)
    except BaseException:
        if spool:
            body.close()
        raise
    finally:
        await response.aclose()
    if not spool:
        return bytes(body)
    body.seek(0)
    return body


def _excerpt(body: Body) -> bytes:
    if isinstance(body, bytes):
        return body[:EXCERPT_CHARS]
    start = body.read(EXCERPT_CHARS)
    body.seek(0)
    return start


def _as_bytes(body: Body) -> bytes:
    return body if isinstance(body, bytes) else body.read()


def _check_status(params: HttpRequestParameters, response: httpx.Response, start: bytes) -> None:
    """``start``: the first bytes of the answer, for the error message."""
    status = response.status_code
    if not params.fail_on_status or status < 400:
        return
    excerpt = start[:EXCERPT_CHARS].decode(response.encoding or "utf-8", errors="replace")
    message = f"{params.method} {_shown(params.url)} answered {status} {response.reason_phrase}: {excerpt!r}"
    details = {"status": status, "body_excerpt": excerpt}
    if status >= 500 or status in (408, 429):
        raise NodeTransientError(message, details=details)
    raise NodeUserError(message + " (turn off fail_on_status to output error answers)", details=details)


def _parsed(params: HttpRequestParameters, text: str) -> Any:
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise NodeUserError(
            f"the answer of {_shown(params.url)} is not JSON (starts with {text[:60]!r}); set response_format to 'text'"
        ) from None


def _shown(url: str) -> str:
    """The URL without query and user info, which may hold secrets (API keys from credentials)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return url.split("?")[0][:100]
    return str(parsed.copy_with(query=None, fragment=None, username=None, password=None))
