"""Converters for n8n's OpenAI and AI Agent nodes (``@n8n/n8n-nodes-langchain``).

* ``.agent`` (Tools Agent, and the older OpenAI Functions and Conversational agents) with an ``.lmChatOpenAi``
  model connected on its ``ai_languageModel`` input becomes one ``ai_agent`` node: the model's name,
  temperature, max tokens and credential move into it (``merge_models`` runs before the nodes are converted)
  and the model node disappears. The prompt (``text``, or ``{{ $json.chatInput }}`` for ``promptType: auto``),
  ``options.systemMessage`` and ``options.maxIterations`` are kept. n8n's tool sub-nodes (``ai_tool``), memory
  and output parsers have no counterpart: they are reported, and a LinkFlow node can be connected to the
  agent's ``tools`` output instead.
* ``.openAi`` resource ``text``, operation ``message`` becomes an ``openai`` chat (model, messages, JSON output,
  temperature, max tokens); its output is ``{content, finish_reason, model, usage}`` (n8n's is
  ``{message: {content}}``), which the report says.
* ``.lmChatOpenAi`` anywhere else (a chain, or alone) is reported: it is a sub-node without a run of its own.
"""

from __future__ import annotations

from typing import Any

from backend.workflows.n8n.js_lexer import Unsupported
from backend.workflows.n8n.nodes import Converted, NodeJob, _options

_PREFIX = "@n8n/n8n-nodes-langchain."
AGENT, CHAT_MODEL, OPENAI = _PREFIX + "agent", _PREFIX + "lmChatOpenAi", _PREFIX + "openAi"
_MODEL_KEY = "__linkflow_chat_model"  # the merged model's parameters, put inside the agent's
_AGENT_KINDS = ("toolsAgent", "openAiFunctionsAgent", "conversationalAgent")


def merge_models(nodes: list[dict], connections: dict, problem) -> tuple[list[dict], dict]:
    """Agents with an OpenAI chat model: the model's parameters and credential copied into the agent."""
    by_name = {node["name"]: node for node in nodes}
    merged: set[str] = set()
    agents: dict[str, dict] = {}
    for source, by_type in connections.items():
        if not isinstance(by_type, dict) or source not in by_name:
            continue
        for kind, outputs in by_type.items():
            targets = [t for group in outputs if isinstance(group, list) for t in group if isinstance(t, dict)] \
                if isinstance(outputs, list) else []
            for target in targets:
                agent = by_name.get(target.get("node")) if isinstance(target.get("node"), str) else None
                if agent is None or agent["type"] != AGENT:
                    continue
                if kind == "ai_languageModel" and by_name[source]["type"] == CHAT_MODEL and source not in merged:
                    model = by_name[source]
                    copy = agents.setdefault(agent["name"], {**agent, "parameters": dict(
                        agent.get("parameters") if isinstance(agent.get("parameters"), dict) else {})})
                    copy["parameters"][_MODEL_KEY] = model.get("parameters") if isinstance(
                        model.get("parameters"), dict) else {}
                    if isinstance(model.get("credentials"), dict):
                        copy["credentials"] = model["credentials"]
                    merged.add(source)
                    problem(source, f"the OpenAI chat model was merged into the AI Agent {agent['name']!r} (its "
                                    "model, temperature, max tokens and credential)", severity="warning")
                elif kind == "ai_tool":
                    problem(source, f"n8n tool sub-nodes are not converted; connect a LinkFlow node (HTTP Request, "
                                    f"Code, Set...) to the 'tools' output of {agent['name']!r} instead")
                elif kind in ("ai_memory", "ai_outputParser"):
                    problem(source, f"{kind[3:]} sub-nodes of an AI Agent have no LinkFlow counterpart; "
                                    f"{agent['name']!r} runs without it")
    nodes = [agents.get(node["name"], node) for node in nodes if node["name"] not in merged]
    connections = {source: by_type for source, by_type in connections.items() if source not in merged}
    return nodes, connections


def _value(value: Any) -> Any:
    """n8n's resource locator ``{"__rl": true, "value": "gpt-4o-mini", "mode": "list"}`` -> its value."""
    return value.get("value") if isinstance(value, dict) else value


def _agent(job: NodeJob, params: dict, version: float) -> Converted:
    model = params.get(_MODEL_KEY)
    if not isinstance(model, dict):
        raise Unsupported("the agent has no OpenAI chat model connected (only n8n's OpenAI Chat Model converts)")
    kind = params.get("agent", "toolsAgent")
    if kind not in _AGENT_KINDS:
        raise Unsupported(f"agent kind {kind!r} is not converted (Tools Agent only)")
    if params.get("hasOutputParser"):
        raise Unsupported("an output parser is not converted")
    options, model_options = _options(params), _options(model)
    prompt = params.get("text", "={{ $json.chatInput }}")
    if params.get("promptType", "auto" if version >= 1.7 else "define") == "auto":
        prompt = "={{ $json.chatInput }}"
    name = _value(model.get("model", "gpt-4o-mini"))
    if not isinstance(name, str) or not name or name.startswith("="):
        raise Unsupported("a model chosen by an expression is not converted")
    out: dict[str, Any] = {"model": name, "prompt": job.value(prompt, "text")}
    if options.get("systemMessage"):
        out["system_prompt"] = job.value(options["systemMessage"], "options.systemMessage")
    if isinstance(options.get("maxIterations"), int) and 1 <= options["maxIterations"] <= 100:
        out["max_steps"] = options["maxIterations"]
    if isinstance(model_options.get("temperature"), (int, float)):
        out["temperature"] = model_options["temperature"]
    if isinstance(model_options.get("maxTokens"), int) and model_options["maxTokens"] > 0:
        out["max_tokens"] = model_options["maxTokens"]
    if model_options.get("responseFormat") == "json_object":
        job.problems.append({"node": job.name, "parameter": "options.responseFormat", "expression": None,
                             "severity": "warning", "reason": "the agent answers text; JSON mode is not converted"})
    return Converted("ai_agent", out, outputs=["main", "tools"])


def _chat_model(job: NodeJob, params: dict, version: float) -> Converted:
    raise Unsupported("an OpenAI chat model sub-node converts only as the model of an AI Agent connected to it")


def _openai(job: NodeJob, params: dict, version: float) -> Converted:
    resource, operation = params.get("resource", "text"), params.get("operation", "message")
    if (resource, operation) != ("text", "message"):
        raise Unsupported(f"OpenAI {resource} {operation!r} is not converted (text message only)")
    name = _value(params.get("modelId", "gpt-4o-mini"))
    if not isinstance(name, str) or not name or name.startswith("="):
        raise Unsupported("a model chosen by an expression is not converted")
    messages = []
    for index, message in enumerate((params.get("messages") or {}).get("values") or []):
        if not isinstance(message, dict):
            continue
        role = message.get("role", "user")
        if role not in ("user", "assistant", "system"):
            raise Unsupported(f"message role {role!r} is not converted")
        messages.append({"role": role, "content": job.value(message.get("content", ""), f"messages[{index}]")})
    if not messages:
        raise Unsupported("the node has no messages")
    options = _options(params)
    out: dict[str, Any] = {"operation": "chat", "model": name, "messages": messages}
    if params.get("jsonOutput"):
        out["response_format"] = "json_object"
    if isinstance(options.get("temperature"), (int, float)):
        out["temperature"] = options["temperature"]
    if isinstance(options.get("maxTokens"), int) and options["maxTokens"] > 0:
        out["max_tokens"] = options["maxTokens"]
    job.problems.append({"node": job.name, "parameter": None, "expression": None, "severity": "warning",
                         "reason": "the answer is in `content` (n8n: `message.content`)"
                                   + (" and the parsed JSON in `data`" if params.get("jsonOutput") else "")
                                   + "; expressions of later nodes that read it need that change"})
    return Converted("openai", out)


CONVERTERS = {AGENT: _agent, CHAT_MODEL: _chat_model, OPENAI: _openai}
CREDENTIAL_TYPES = {"openAiApi": ("openai", "openai")}
