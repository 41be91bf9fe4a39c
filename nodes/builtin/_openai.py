"""Calls to an OpenAI-compatible API, shared by the OpenAI and AI Agent nodes.

One POST per call to ``{base_url}/chat/completions`` or ``/embeddings`` with the ``openai`` credential's headers,
through the platform's address policy (a local server such as Ollama must be on the allow list). A 429 is waited
out as its ``Retry-After`` (or ``retry-after-ms``) header says, up to ``MAX_RETRY_AFTER_S`` and
``RATE_LIMIT_TRIES`` times, then reported as transient, as are 5xx answers and lost connections. Other errors
name the API's own message (``{"error": {"message": ...}}``). An answer larger than ``MAX_ANSWER_BYTES`` is
refused.
"""

from __future__ import annotations

import asyncio
import json

import httpx

from nodes.sdk import NodeTransientError, NodeUserError
from nodes.sdk.net import AddressPolicy, AsyncGuardedTransport

MAX_RETRY_AFTER_S = 30
RATE_LIMIT_TRIES = 3
MAX_ANSWER_BYTES = 8 * 1024 * 1024
TIMEOUT_S = 120  # an LLM may take a while to write a long answer


class OpenAiApi:
    def __init__(self, client: httpx.AsyncClient, base: str) -> None:
        self.client, self.base = client, base

    async def post(self, path: str, payload: dict) -> dict:
        for attempt in range(1, RATE_LIMIT_TRIES + 1):
            try:
                status, headers, body = await self._send(path, payload)
            except httpx.TransportError as exc:
                raise NodeTransientError(f"OpenAI-compatible API {path}: {type(exc).__name__}: {exc}") from None
            if status == 429:
                wait = _retry_after(headers)
                message = _api_message(body)
                if wait > MAX_RETRY_AFTER_S or attempt == RATE_LIMIT_TRIES:
                    raise NodeTransientError(f"the OpenAI-compatible API rate-limited {path}; it asks to retry "
                                             f"after {wait:g} s" + (f" ({message})" if message else ""))
                await asyncio.sleep(wait)
                continue
            return _answer(path, status, body)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(self, path: str, payload: dict) -> tuple[int, httpx.Headers, bytes]:
        async with self.client.stream("POST", f"{self.base}{path}", json=payload) as response:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    raise NodeUserError(f"the OpenAI-compatible API's answer to {path} is larger than "
                                        f"{MAX_ANSWER_BYTES:,} bytes; ask for a shorter answer (max_tokens)")
            return response.status_code, response.headers, bytes(body)


def client(login: dict, settings: dict) -> tuple[httpx.AsyncClient, str]:
    base = str(login.get("base_url") or "").rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise NodeUserError("the openai credential has no http(s) base URL; set one such as https://api.openai.com/v1")
    transport = AsyncGuardedTransport(AddressPolicy.from_settings(settings))
    return httpx.AsyncClient(transport=transport, headers=login.get("headers") or {}, timeout=TIMEOUT_S,
                             trust_env=False), base


def _retry_after(headers: httpx.Headers) -> float:
    try:
        if "retry-after-ms" in headers:
            return max(float(headers["retry-after-ms"]) / 1000, 0)
        return max(float(headers.get("Retry-After", "1")), 0)
    except ValueError:
        return 1


def _api_message(body: bytes) -> str:
    try:
        answer = json.loads(body)
    except (ValueError, RecursionError):
        return ""
    error = answer.get("error") if isinstance(answer, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error.get("code") or "")[:500]
    return str(error)[:500] if isinstance(error, str) else ""


def _answer(path: str, status: int, body: bytes) -> dict:
    message = _api_message(body) if status >= 400 else ""
    if status >= 500:
        raise NodeTransientError(f"the OpenAI-compatible API answered {path} with {status}"
                                 + (f": {message}" if message else ""))
    if status >= 400:
        hint = {401: " (check the credential's API key)", 404: " (check the model name and the base URL)"}
        raise NodeUserError(f"the OpenAI-compatible API refused {path} ({status}): {message or 'no message'}"
                            + hint.get(status, ""))
    try:
        answer = json.loads(body)
    except (ValueError, RecursionError):
        answer = None
    if not isinstance(answer, dict):
        raise NodeUserError(f"the OpenAI-compatible API answered {path} with {status} but not with its JSON; "
                            "check the credential's base URL (it usually ends in /v1)")
    return answer


def usage(answer: dict) -> dict:
    raw = answer.get("usage") if isinstance(answer.get("usage"), dict) else {}
    return {key: int(raw[key]) for key in ("prompt_tokens", "completion_tokens", "total_tokens")
            if isinstance(raw.get(key), int | float)}


def add_usage(total: dict, more: dict) -> dict:
    return {key: total.get(key, 0) + more.get(key, 0) for key in ("prompt_tokens", "completion_tokens",
                                                                  "total_tokens")}


def first_choice(answer: dict) -> dict:
    choices = answer.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict) \
            or not isinstance(choices[0].get("message"), dict):
        raise NodeUserError("the OpenAI-compatible API's chat answer has no choices[0].message")
    return choices[0]
