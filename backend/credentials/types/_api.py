"""Shared by the SaaS API credential types (GitHub, GitLab, Jira, Notion, Airtable): "Test" is one GET of an
endpoint that needs the credential (``/user``, ``/myself``...), answered with the vendor's own words.

The vendor's error message is shown (it says what is wrong: "Bad credentials", "API token is invalid"),
with any secret the server might echo replaced by ``***``.
"""

from __future__ import annotations

from collections.abc import Callable

from backend.credentials.types._http import request, shown_url
from backend.credentials.types.base import TestResult
from nodes.sdk.jsonapi import api_message


async def api_test(vendor: str, url: str, headers: dict[str, str], timeout_s: float, *, secrets: list[str],
                   accepted: Callable[[dict], str]) -> TestResult:
    response = await request("GET", url, headers=headers, timeout_s=timeout_s)
    if isinstance(response, TestResult):
        return response
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code == 200 and isinstance(body, dict):
        return TestResult(True, accepted(body))
    if response.status_code == 200:
        return TestResult(False, f"{shown_url(url)} answered without {vendor}'s JSON; check the base URL")
    message = api_message(response) if body is not None else ""
    for value in secrets:
        if value:
            message = message.replace(value, "***")
    hint = "check the token" if response.status_code in (401, 403) else "check the base URL and the token"
    return TestResult(False, f"{vendor} at {shown_url(url)} answered {response.status_code}"
                             + (f": {message}" if message else "") + f"; {hint}")
