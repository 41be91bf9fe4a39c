"""A stand-in for an OpenAI-compatible API on 127.0.0.1, for tests: a real LLM (OpenAI, or a local model
in Ollama) cannot run on this machine, so this server plays one, answering with scripted replies.

It follows OpenAI's API reference (https://platform.openai.com/docs/api-reference): ``GET /v1/models``
(``{"object": "list", "data": [{"id", "object": "model", ...}]}``), ``POST /v1/chat/completions`` (request:
``model``, ``messages``, optional ``tools`` [{"type": "function", "function": {name, description, parameters}}],
``temperature``, ``max_tokens``, ``response_format``; answer: ``{"id", "object": "chat.completion", "model",
"choices": [{"index": 0, "message": {"role": "assistant", "content", "tool_calls": [{"id", "type": "function",
"function": {"name", "arguments": "<JSON text>"}}]}, "finish_reason": "stop" | "tool_calls"}], "usage":
{prompt_tokens, completion_tokens, total_tokens}}``), ``POST /v1/embeddings`` (``{"object": "list", "data":
[{"object": "embedding", "index": 0, "embedding": [...]}], "model", "usage"}``) and errors as
``{"error": {"message", "type", "code"}}`` with the HTTP status (401 for a wrong key, 404 for an unknown
model, 429 with ``Retry-After`` for a rate limit).

Scripting, per test::

    with FakeOpenAi() as llm:
        llm.url                                  # "http://127.0.0.1:PORT/v1"
        llm.script(tool_call("Weather", {"city": "Oslo"}), answer("It is sunny."))
        llm.requests                             # the JSON bodies received, in order
        llm.rate_limit(1)                        # the next request gets a 429 with Retry-After: 1

Each chat request takes the next scripted reply (a reply may also be a function of the request body, e.g. to
answer from the tool results it got); with the script used up it answers "done". ``looping(tool_call(...))``
repeats one reply forever. Model ``missing-model`` answers 404, as OpenAI does for an unknown model.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_KEY = "sk-test-key"
MODELS = ["gpt-4o-mini", "text-embedding-3-small", "llama3.1"]


def answer(text: str) -> dict:
    return {"role": "assistant", "content": text}


def tool_call(name: str, arguments: dict | str, call_id: str | None = None) -> dict:
    """One assistant message asking for one tool call (arguments as a dict, or raw text for hostile cases)."""
    return tool_calls((name, arguments, call_id))


def tool_calls(*calls: tuple) -> dict:
    made = []
    for index, (name, arguments, *rest) in enumerate(calls):
        call_id = (rest[0] if rest else None) or f"call_{index}_{name}"[:40]
        made.append({"id": call_id, "type": "function",
                     "function": {"name": name,
                                  "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments)}})
    return {"role": "assistant", "content": None, "tool_calls": made}


def error(status: int, message: str, headers: dict | None = None) -> tuple:
    return ("error", status, message, headers or {})


class looping:  # noqa: N801 - reads as a marker in scripts
    def __init__(self, reply: dict) -> None:
        self.reply = reply


class FakeOpenAi:
    def __init__(self, *, api_key: str | None = API_KEY) -> None:
        self.api_key = api_key
        self.requests: list[dict] = []
        self.paths: list[str] = []
        self._script: list = []
        self._rate_limits: list[int] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def script(self, *replies: dict | tuple | looping | Callable[[dict], dict]) -> None:
        self._script = list(replies)

    def rate_limit(self, retry_after: int, times: int = 1) -> None:
        self._rate_limits += [retry_after] * times

    def __enter__(self) -> FakeOpenAi:
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next_reply(self, body: dict):
        with self._lock:
            if not self._script:
                return answer("done")
            reply = self._script[0]
            if isinstance(reply, looping):
                return reply.reply
            self._script.pop(0)
        return reply(body) if callable(reply) else reply

    def respond(self, method: str, path: str, body: dict, authorization: str) -> tuple[int, dict, dict]:
        if self.api_key is not None and authorization != f"Bearer {self.api_key}":
            return _error(401, "Incorrect API key provided: check your key.", "invalid_api_key")
        with self._lock:
            wait = self._rate_limits.pop(0) if self._rate_limits else None
        if wait is not None:
            status, headers, payload = _error(429, "Rate limit reached for requests", "rate_limit_exceeded")
            return status, {**headers, "Retry-After": str(wait)}, payload
        if method == "GET" and path == "/v1/models":
            return 200, {}, {"object": "list", "data": [{"id": m, "object": "model", "created": 1700000000,
                                                         "owned_by": "system"} for m in MODELS]}
        if method != "POST" or path not in ("/v1/chat/completions", "/v1/embeddings"):
            return _error(404, f"Invalid URL ({method} {path})", None)
        model = body.get("model")
        if model == "missing-model" or not isinstance(model, str):
            return _error(404, f"The model `{model}` does not exist or you do not have access to it.",
                          "model_not_found")
        if path == "/v1/embeddings":
            text = str(body.get("input", ""))
            vector = [round(((sum(map(ord, text)) * (i + 7)) % 1000) / 1000, 3) for i in range(8)]
            return 200, {}, {"object": "list", "model": model, "data": [
                {"object": "embedding", "index": 0, "embedding": vector}],
                "usage": {"prompt_tokens": len(text.split()), "total_tokens": len(text.split())}}
        reply = self._next_reply(body)
        if isinstance(reply, tuple) and reply[0] == "error":
            _, status, message, headers = reply
            status_code, base_headers, payload = _error(status, message, "scripted")
            return status_code, {**base_headers, **headers}, payload
        if not isinstance(reply, dict):  # a reply that is not JSON the client expects: raw text
            return 200, {"raw": "1"}, reply
        prompt_tokens = sum(len(str(m.get("content") or "").split()) for m in body.get("messages", []))
        completion = len(str(reply.get("content") or "").split()) + 5 * len(reply.get("tool_calls") or [])
        return 200, {}, {
            "id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion", "created": 1700000000,
            "model": model, "choices": [{"index": 0, "message": reply,
                                         "finish_reason": "tool_calls" if reply.get("tool_calls") else "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion,
                      "total_tokens": prompt_tokens + completion}}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else {}
                with fake._lock:
                    fake.paths.append(f"{self.command} {self.path}")
                    if self.command == "POST":
                        fake.requests.append(body)
                status, headers, payload = fake.respond(self.command, self.path, body,
                                                        self.headers.get("Authorization", ""))
                data = payload if headers.pop("raw", None) else json.dumps(payload).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

            def log_message(self, *args) -> None:
                pass

        return Handler


def _error(status: int, message: str, code: str | None) -> tuple[int, dict, dict]:
    kind = {401: "invalid_request_error", 404: "invalid_request_error", 429: "requests"}.get(status, "server_error")
    return status, {}, {"error": {"message": message, "type": kind, "param": None, "code": code}}
