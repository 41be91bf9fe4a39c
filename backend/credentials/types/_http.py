"""Shared by the HTTP-based credential tests: one request, read as a TestResult.

Messages name the host and the status, never a header or a body: a server may echo
what it was sent, and that would be the secret.
"""

from __future__ import annotations

import httpx

from backend.credentials.types.base import TestResult


async def request(method: str, url: str, *, headers: dict[str, str], timeout_s: float,
                  **kwargs) -> httpx.Response | TestResult:
    """The response, or a failed TestResult saying why there is none."""
    shown = shown_url(url)
    try:
        async with httpx.AsyncClient(timeout=timeout_s, trust_env=False, follow_redirects=False) as client:
            return await client.request(method, url, headers=headers, **kwargs)
    except httpx.TimeoutException:
        return TestResult(False, f"{shown} did not answer within {timeout_s:g} s")
    except (httpx.InvalidURL, httpx.UnsupportedProtocol):
        return TestResult(False, f"{shown} is not a valid http(s) URL")
    except httpx.TransportError as exc:
        return TestResult(False, f"could not reach {shown}: {type(exc).__name__}")


async def probe(url: str, headers: dict[str, str], timeout_s: float) -> TestResult:
    """GET ``url`` with ``headers``: 2xx/3xx means the credential was accepted."""
    if not url:
        return TestResult(False, "no test URL is set: add one (an endpoint that needs this credential) "
                                 "so LinkFlow can check it")
    response = await request("GET", url, headers=headers, timeout_s=timeout_s)
    if isinstance(response, TestResult):
        return response
    return judged(response, url)


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
