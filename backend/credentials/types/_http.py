"""Shared by the credential tests: one HTTP request (redirects followed) or checked server addresses.

Every connection goes through the address policy (``nodes/sdk/net.py``): a host that is,
or resolves to, an internal address is refused before anything connects, so the answer
is the same whether something listens there or not. Redirects are followed by hand, up
to ``MAX_REDIRECTS``, each hop checked again; the credential's headers go only to the
origin they were set for.

Messages name the host and the status, never a header or a body: a server may echo
what it was sent, and that would be the secret.
"""

from __future__ import annotations

import httpx

from backend.credentials.types.base import TestResult
from backend.outbound import address_policy
from nodes.sdk import NodeError
from nodes.sdk.net import AsyncGuardedTransport, checked_addresses_async

MAX_REDIRECTS = 5


async def request(method: str, url: str, *, headers: dict[str, str], timeout_s: float,
                  **kwargs) -> httpx.Response | TestResult:
    """The (final) response, or a failed TestResult saying why there is none."""
    shown = shown_url(url)
    transport = AsyncGuardedTransport(address_policy())
    try:
        async with httpx.AsyncClient(timeout=timeout_s, trust_env=False, follow_redirects=False,
                                     transport=transport) as client:
            return await _follow(client, method, httpx.URL(url), headers, kwargs)
    except NodeError as exc:  # refused by the address policy, or an unknown host
        return TestResult(False, exc.message)
    except httpx.TimeoutException:
        return TestResult(False, f"{shown} did not answer within {timeout_s:g} s")
    except (httpx.InvalidURL, httpx.UnsupportedProtocol):
        return TestResult(False, f"{shown} is not a valid http(s) URL")
    except httpx.TransportError as exc:
        return TestResult(False, f"could not reach {shown}: {type(exc).__name__}")


async def _follow(client: httpx.AsyncClient, method: str, url: httpx.URL, headers: dict[str, str],
                  content: dict) -> httpx.Response | TestResult:
    for _ in range(MAX_REDIRECTS + 1):
        response = await client.request(method, url, headers=headers, **content)
        if not response.is_redirect:
            return response
        target = url.join(response.headers["location"])
        if target.scheme not in ("http", "https"):
            return TestResult(False, f"{shown_url(str(url))} redirected to a {target.scheme}: URL; "
                                     "only http and https are followed")
        if (target.scheme, target.host, target.port) != (url.scheme, url.host, url.port):
            headers = {}  # the credential was meant for the first origin only
        if response.status_code == 303 or response.status_code in (301, 302) and method == "POST":
            method, content = "GET", {}
        url = target
    return TestResult(False, f"{shown_url(str(url))} redirected more than {MAX_REDIRECTS} times; check the URL")


async def probe(url: str, headers: dict[str, str], timeout_s: float) -> TestResult:
    """GET ``url`` with ``headers`` (following redirects): 2xx means the credential was accepted."""
    if not url:
        return TestResult(False, "no test URL is set: add one (an endpoint that needs this credential) "
                                 "so LinkFlow can check it")
    response = await request("GET", url, headers=headers, timeout_s=timeout_s)
    if isinstance(response, TestResult):
        return response
    return judged(response, url)


async def server_addresses(host: str, port: int) -> list[str] | TestResult:
    """The addresses a database or mail server test may connect to, or why there are none."""
    try:
        return await checked_addresses_async(host, port, address_policy())
    except NodeError as exc:
        return TestResult(False, exc.message)


def judged(response: httpx.Response, url: str) -> TestResult:
    status, shown = response.status_code, shown_url(url)
    if status < 400:
        return TestResult(True, f"{shown} accepted the credential ({status} {response.reason_phrase})")
    if status in (401, 403):
        return TestResult(False, f"{shown} rejected the credential ({status} {response.reason_phrase}); "
                                 "check the values")
    return TestResult(False, f"{shown} answered {status} {response.reason_phrase}")


def shown_url(url: str) -> str:
    """The URL without query or user info (either may hold a secret)."""
    try:
        return str(httpx.URL(url).copy_with(query=None, fragment=None, username=None, password=None))
    except (httpx.InvalidURL, TypeError):
        return url.split("?")[0].split("@")[-1][:100]
