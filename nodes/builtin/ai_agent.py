"""The AI Agent node: an LLM that answers a prompt and may call other nodes of the workflow as tools.

Design (how it fits the engine):

* Tools are nodes connected to the agent's ``tools`` output. The engine never runs them in the workflow's
  order; only the agent does, when the LLM asks (``ctx.call_tool``). A tool node has no other connections.
* What the LLM is told about each tool is derived from its node (``backend/engine/tools.py``): the name is the
  node's name (``[A-Za-z0-9_-]``, other characters become ``_``), the description is the node's notes (else its
  type's description), and the JSON-schema parameters are the fields its parameters read from the input item
  (``{{ $json.city }}``; in Code, ``item['json']['city']``). ``tool_parameters`` may give a tool's schema
  instead, keyed by the node's name.
* A call runs the tool node with the LLM's arguments as its one input item, through the engine's normal step
  runner: expressions, credentials, the address policy, the code sandbox, retries and timeouts all apply. Each
  call is committed as a step of the tool node (run 0, 1, ...), so the execution record shows every call with
  its input and output.
* The conversation is ``system_prompt``, then ``prompt`` (per item), then, while the LLM answers with
  ``tool_calls``, the calls' results as ``tool`` messages (the tool's output items as JSON, at most 20,000
  characters). A tool that fails, an unknown tool name, arguments that are not a JSON object, or arguments
  larger than 64 KB are reported back to the LLM as that call's result (``{"error": ...}``), not raised.
* ``max_steps`` (default 10) bounds the LLM calls per item; an LLM that still asks for tools at the limit fails
  the node with an error that says so. At most 16 tool calls of one answer are run.
* Output per item: ``output`` (the final answer), ``steps`` (every LLM call with its token usage and tool
  calls, every tool call with its arguments, status and result), ``usage`` (tokens in total),
  ``iterations`` and ``tool_calls``.

The LLM is any OpenAI-compatible chat-completions API with function calling (the ``openai`` credential).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field

from nodes.builtin import _openai
from nodes.sdk import Node, NodeParameters, NodeTransientError, NodeUserError

MAX_ARGUMENT_CHARS = 64 * 1024
MAX_ARGUMENT_DEPTH = 20
MAX_TOOL_RESULT_CHARS = 20_000
MAX_CALLS_PER_ANSWER = 16
RECORDED_TEXT_CHARS = 2_000


class AiAgentParameters(NodeParameters):
    model: str = Field(min_length=1, max_length=200, description="Model name, e.g. gpt-4o-mini, llama3.1")
    prompt: str = Field(min_length=1, max_length=1_000_000, description="The task, e.g. {{ $json.question }}")
    system_prompt: str = Field("You are a helpful assistant. Use the tools when they help.", max_length=200_000,
                               description="The system message")
    max_steps: int = Field(10, ge=1, le=100, description="At most this many LLM calls per item")
    temperature: float | None = Field(None, ge=0, le=2, description="Sampling temperature (0-2)")
    max_tokens: int | None = Field(None, ge=1, le=1_000_000, description="At most this many tokens per answer")
    tool_parameters: dict[str, dict] = Field(
        default_factory=dict, description="Tool node name -> JSON schema of its arguments (default: derived "
                                          "from the fields the node reads)")


class AiAgent(Node):
    """An LLM conversation per item, calling the nodes on the ``tools`` output when the LLM asks."""

    type = "ai_agent"
    display_name = "AI Agent"
    group = "integration"
    icon = "bot"
    description = ("An LLM (OpenAI-compatible) that answers the prompt and may call the nodes connected to its "
                   "'tools' output as tools; each call is a step of that node. max_steps bounds the LLM calls; "
                   "a failing tool is reported back to the LLM. Output: the answer, every step, token usage.")
    outputs = ("main", "tools")
    Parameters = AiAgentParameters
    credential_slots = {"openai": ("openai",)}
    side_effects = True

    async def execute(self, ctx, items):
        http, base = _openai.client(await ctx.credentials("openai"), ctx.settings)
        tools = ctx.tools()
        async with http:
            api = _openai.OpenAiApi(http, base)
            out = []
            for index in range(len(items)):
                try:
                    out.append({"json": await _Conversation(api, ctx, ctx.params(index), tools).run()})
                except (NodeUserError, NodeTransientError) as exc:
                    exc.item_index = index
                    raise
            return {"main": out}


class _Conversation:
    def __init__(self, api: _openai.OpenAiApi, ctx, p: AiAgentParameters, tools: list[dict]) -> None:
        self.api, self.ctx, self.p = api, ctx, p
        self.names = [tool["name"] for tool in tools]
        self.specs = [{"type": "function", "function": {
            "name": tool["name"], "description": tool["description"],
            "parameters": p.tool_parameters.get(tool["node"], tool["parameters"])}} for tool in tools]
        self.steps: list[dict] = []
        self.usage: dict = {}
        self.calls = 0

    async def run(self) -> dict:
        """The final answer; a failure names what the conversation did before it (the record has no output)."""
        try:
            return await self._converse()
        except (NodeUserError, NodeTransientError) as exc:
            if self.steps:
                exc.message = f"{exc.message} (before that: {self._trail()})"
            raise

    def _trail(self) -> str:
        parts = []
        for step in self.steps:
            if step["type"] == "llm":
                parts.append(f"LLM call {step['iteration']} asked for {', '.join(step['tool_calls']) or 'nothing'}")
            else:
                run = f" run {step['run_index']}" if "run_index" in step else ""
                parts.append(f"{step['tool']}{run} {step['status']}")
        text = "; ".join(parts)
        return text if len(text) <= 1000 else "..." + text[-1000:]

    async def _converse(self) -> dict:
        p = self.p
        messages: list[dict] = [{"role": "system", "content": p.system_prompt}] if p.system_prompt else []
        messages.append({"role": "user", "content": p.prompt})
        asked: list[str] = []
        for iteration in range(1, p.max_steps + 1):
            payload: dict[str, Any] = {"model": p.model, "messages": messages}
            if self.specs:
                payload["tools"] = self.specs
            if p.temperature is not None:
                payload["temperature"] = p.temperature
            if p.max_tokens is not None:
                payload["max_tokens"] = p.max_tokens
            answer = await self.api.post("/chat/completions", payload)
            choice = _openai.first_choice(answer)
            message = choice["message"]
            used = _openai.usage(answer)
            self.usage = _openai.add_usage(self.usage, used)
            raw_calls = message.get("tool_calls")
            calls = [c for c in raw_calls if isinstance(c, dict)] if isinstance(raw_calls, list) else []
            content = message.get("content") if isinstance(message.get("content"), str) else ""
            asked = [str(_function(c).get("name"))[:64] for c in calls]
            self.steps.append({"type": "llm", "iteration": iteration, "finish_reason": choice.get("finish_reason"),
                               "content": content[:RECORDED_TEXT_CHARS], "tool_calls": asked, "usage": used})
            if not calls:
                return {"output": content, "steps": self.steps, "usage": self.usage, "iterations": iteration,
                        "tool_calls": self.calls}
            echoed, results = [], []
            for index, call in enumerate(calls):
                call_id = str(call.get("id") or f"call_{iteration}_{index}")[:100]
                name, raw = _function(call).get("name"), _function(call).get("arguments")
                echoed.append({"id": call_id, "type": "function", "function": {
                    "name": str(name)[:64], "arguments": raw if isinstance(raw, str) and
                    len(raw) <= MAX_ARGUMENT_CHARS else "{}"}})
                if index >= MAX_CALLS_PER_ANSWER:
                    result = {"error": f"not run: at most {MAX_CALLS_PER_ANSWER} tool calls per answer"}
                    self.steps.append({"type": "tool", "tool": str(name)[:64], "status": "refused", **result})
                else:
                    result = await self._call(name, raw)
                results.append({"role": "tool", "tool_call_id": call_id,
                                "content": _text(result, MAX_TOOL_RESULT_CHARS)})
            messages += [{"role": "assistant", "content": content or None, "tool_calls": echoed}, *results]
        raise NodeUserError(
            f"the agent reached its step limit: after {p.max_steps} LLM calls (max_steps) the LLM still asked for "
            f"tools ({', '.join(asked)}); {self.calls} tool calls were made. Raise max_steps, or make the prompt "
            "or the tools' descriptions clearer")

    async def _call(self, name: Any, raw: Any) -> dict:
        """Run one tool call; every problem becomes the result the LLM reads (and a recorded step)."""
        record: dict[str, Any] = {"type": "tool", "tool": str(name)[:64]}
        self.steps.append(record)
        arguments, problem = _arguments(raw)
        if not isinstance(name, str) or name not in self.names:
            problem = (f"there is no tool named {str(name)[:64]!r}; the tools are: "
                       f"{', '.join(self.names) or 'none'}")
        if problem:
            record.update(status="refused", error=problem,
                          arguments=raw[:RECORDED_TEXT_CHARS] if isinstance(raw, str) else None)
            return {"error": problem}
        self.calls += 1
        called = await self.ctx.call_tool(name, arguments)
        record.update(node=called["node"], run_index=called["run_index"], arguments=arguments,
                      status=called["status"])
        if called["status"] != "succeeded":
            record["error"] = called["error"]
            return {"error": f"the tool failed: {called['error']}"}
        items = called["items"]
        result = items[0] if len(items) == 1 else {"items": items}
        record["result"] = _text(result, RECORDED_TEXT_CHARS)
        return result


def _function(call: dict) -> dict:
    function = call.get("function")
    return function if isinstance(function, dict) else {}


def _arguments(raw: Any) -> tuple[dict, str]:
    if raw is None or raw == "":
        return {}, ""
    if isinstance(raw, dict):
        text = None
    elif not isinstance(raw, str):
        return {}, "the arguments must be a JSON object written as a string"
    elif len(raw) > MAX_ARGUMENT_CHARS:
        return {}, f"the arguments are {len(raw)} characters long; at most {MAX_ARGUMENT_CHARS} are accepted"
    else:
        text = raw
    try:
        value = json.loads(text) if text is not None else raw
    except RecursionError:
        return {}, f"the arguments are nested more than {MAX_ARGUMENT_DEPTH} levels deep"
    except ValueError as exc:
        return {}, f"the arguments are not valid JSON ({exc}); send a JSON object"
    if not isinstance(value, dict):
        return {}, f"the arguments must be a JSON object, not {type(value).__name__}"
    if _depth(value, 0) > MAX_ARGUMENT_DEPTH:
        return {}, f"the arguments are nested more than {MAX_ARGUMENT_DEPTH} levels deep"
    if text is None and len(json.dumps(value, default=str)) > MAX_ARGUMENT_CHARS:
        return {}, f"the arguments are longer than {MAX_ARGUMENT_CHARS} characters"
    return value, ""


def _depth(value: Any, depth: int) -> int:
    if depth > MAX_ARGUMENT_DEPTH:
        return depth
    if isinstance(value, dict):
        return max((_depth(v, depth + 1) for v in value.values()), default=depth + 1)
    if isinstance(value, list):
        return max((_depth(v, depth + 1) for v in value), default=depth + 1)
    return depth


def _text(value: Any, limit: int) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + f"... [cut: {len(text)} characters in all]"
