"""The OpenAI node: chat completions and embeddings from OpenAI or any OpenAI-compatible server.

With the ``openai`` credential (API key optional, base URL: OpenAI, or a local Ollama / llama.cpp / vLLM
server through its ``/v1`` URL):

* ``chat`` (``POST /chat/completions``): ``model``; the conversation is ``system_prompt`` (optional), then
  ``messages`` (a list of ``{"role", "content"}``, from parameters or an expression), then ``prompt`` (one
  user message, optional); ``temperature``, ``max_tokens``; ``response_format`` ``json_object`` asks for JSON
  and parses it into ``data``. Output per item: ``content``, ``data`` (JSON mode), ``finish_reason``,
  ``model``, ``usage`` (prompt/completion/total tokens).
* ``embeddings`` (``POST /embeddings``): ``input`` text -> ``embedding`` (the vector), ``dimensions``,
  ``model``, ``usage``.

One call per item. A 429 is waited out as ``Retry-After`` says (up to 30 s, 3 times), then reported as
transient, as are 5xx answers; other errors name the API's message.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nodes.builtin import _openai
from nodes.sdk import Node, NodeParameters, NodeTransientError, NodeUserError


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "user", "assistant"] = "user"
    content: str = Field(max_length=1_000_000)


class OpenAiParameters(NodeParameters):
    operation: Literal["chat", "embeddings"] = Field("chat", description="chat: a chat completion; "
                                                     "embeddings: the vector of a text")
    model: str = Field(min_length=1, max_length=200, description="Model name, e.g. gpt-4o-mini, llama3.1")
    system_prompt: str = Field("", max_length=200_000, description="chat: the system message (optional)")
    messages: list[ChatMessage] = Field(default_factory=list, max_length=1000,
                                        description="chat: earlier messages [{role, content}] (optional)")
    prompt: str = Field("", max_length=1_000_000, description="chat: the user's message")
    temperature: float | None = Field(None, ge=0, le=2, description="chat: sampling temperature (0-2)")
    max_tokens: int | None = Field(None, ge=1, le=1_000_000, description="chat: at most this many tokens")
    response_format: Literal["text", "json_object"] = Field(
        "text", description="chat: json_object asks the model for JSON and parses it into `data`")
    input: str = Field("", max_length=1_000_000, description="embeddings: the text to embed")

    @model_validator(mode="after")
    def _fits(self) -> OpenAiParameters:
        if self.operation == "chat" and not (self.prompt or self.messages):
            raise ValueError("a chat needs a prompt or messages")
        if self.operation == "embeddings" and not self.input:
            raise ValueError("embeddings need an input text")
        return self


class OpenAi(Node):
    """One chat completion or one embedding per item."""

    type = "openai"
    display_name = "OpenAI"
    group = "integration"
    icon = "sparkles"
    description = ("Chat completions (system prompt, messages, temperature, JSON mode) and embeddings from OpenAI "
                   "or an OpenAI-compatible server such as Ollama; token usage in the output.")
    Parameters = OpenAiParameters
    credential_slots = {"openai": ("openai",)}
    side_effects = True

    async def execute(self, ctx, items):
        http, base = _openai.client(await ctx.credentials("openai"), ctx.settings)
        async with http:
            api = _openai.OpenAiApi(http, base)
            out = []
            for index in range(len(items)):
                try:
                    out.append({"json": await _one(api, ctx.params(index))})
                except (NodeUserError, NodeTransientError) as exc:
                    exc.item_index = index
                    raise
            return out


async def _one(api: _openai.OpenAiApi, p: OpenAiParameters) -> dict:
    if p.operation == "embeddings":
        answer = await api.post("/embeddings", {"model": p.model, "input": p.input})
        data = answer.get("data")
        vector = data[0].get("embedding") if isinstance(data, list) and data and isinstance(data[0], dict) else None
        if not isinstance(vector, list):
            raise NodeUserError("the OpenAI-compatible API's embeddings answer has no data[0].embedding")
        return {"embedding": vector, "dimensions": len(vector), "model": answer.get("model", p.model),
                "usage": _openai.usage(answer)}
    messages = ([{"role": "system", "content": p.system_prompt}] if p.system_prompt else [])
    messages += [m.model_dump() for m in p.messages]
    if p.prompt:
        messages.append({"role": "user", "content": p.prompt})
    payload: dict = {"model": p.model, "messages": messages}
    if p.temperature is not None:
        payload["temperature"] = p.temperature
    if p.max_tokens is not None:
        payload["max_tokens"] = p.max_tokens
    if p.response_format == "json_object":
        payload["response_format"] = {"type": "json_object"}
    answer = await api.post("/chat/completions", payload)
    choice = _openai.first_choice(answer)
    content = choice["message"].get("content") or ""
    out = {"content": content, "finish_reason": choice.get("finish_reason"), "model": answer.get("model", p.model),
           "usage": _openai.usage(answer)}
    if p.response_format == "json_object":
        try:
            out["data"] = json.loads(content)
        except (ValueError, RecursionError):
            raise NodeUserError(f"the model was asked for JSON but answered something else: {content[:200]!r}; "
                                "say in the prompt that the answer must be JSON") from None
    return out
