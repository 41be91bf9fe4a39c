"""n8n's AI Agent (with an OpenAI Chat Model) and OpenAI nodes converted, then run by the engine against
tests/fakes/openai: a real LLM cannot run on this machine, so a local fake OpenAI-compatible server answers."""

from __future__ import annotations

import json
from pathlib import Path

from backend.credentials.types.openai import OpenAi as OpenAiCredential
from backend.credentials.types.openai import OpenAiFields
from backend.engine import EngineServices, ExecutionInfo, InMemoryStepStore, run
from backend.workflows.n8n.service import convert_file
from tests.fakes.openai.server import API_KEY, FakeOpenAi, answer

FIXTURE = Path(__file__).parents[4] / "fixtures" / "n8n" / "ai_agent_openai.json"
LOOPBACK = {"http_allow_private": False, "http_allow_list": ["127.0.0.1"]}


def test_the_agent_takes_in_its_chat_model_and_the_rest_is_reported():
    result = convert_file(FIXTURE.read_bytes())
    nodes = {n["name"]: n for n in result.workflow["nodes"]}
    assert "OpenAI Chat Model" not in nodes  # merged into the agent
    assert nodes["AI Agent"]["type"] == "ai_agent" and not nodes["AI Agent"].get("disabled")
    assert nodes["AI Agent"]["parameters"] == {
        "model": "gpt-4o-mini", "prompt": "{{ $json.question }}", "system_prompt": "You answer questions about orders.",
        "max_steps": 5, "temperature": 0.3, "max_tokens": 400}
    assert nodes["Summarise"]["type"] == "openai" and nodes["Summarise"]["parameters"] == {
        "operation": "chat", "model": "gpt-4o-mini", "temperature": 0,
        "messages": [{"role": "system", "content": "Summarise in five words."},
                     {"role": "user", "content": "{{ $json.output }}"}]}
    assert nodes["Calculator"]["disabled"] is True and nodes["Calculator"]["type"] == "noop"
    by_node = {}
    for entry in result.report:
        by_node.setdefault(entry["node"], []).append(entry["reason"])
    assert any("merged into the AI Agent 'AI Agent'" in r for r in by_node["OpenAI Chat Model"])
    assert any("connect a LinkFlow node (HTTP Request, Code, Set...) to the 'tools' output of 'AI Agent'" in r
               for r in by_node["Calculator"])
    assert any("`content` (n8n: `message.content`)" in r for r in by_node["Summarise"])
    assert sorted((c["node_name"], c["type"], c["slot"], c["name"]) for c in result.credentials) == [
        ("AI Agent", "openai", "openai", "OpenAI account"), ("Summarise", "openai", "openai", "OpenAI account")]


def test_an_agent_without_an_openai_model_and_other_openai_operations_are_unsupported():
    data = json.loads(FIXTURE.read_text())
    data["connections"].pop("OpenAI Chat Model")
    summarise = next(n for n in data["nodes"] if n["name"] == "Summarise")
    summarise["parameters"] = {"resource": "image", "operation": "generate", "prompt": "a cat"}
    result = convert_file(json.dumps(data).encode())
    nodes = {n["name"]: n for n in result.workflow["nodes"]}
    reasons = {e["node"]: e["reason"] for e in result.report if e["severity"] == "error"}
    assert nodes["AI Agent"]["disabled"] and "has no OpenAI chat model connected" in reasons["AI Agent"]
    assert "converts only as the model of an AI Agent" in reasons["OpenAI Chat Model"]
    assert "OpenAI image 'generate' is not converted" in reasons["Summarise"]


async def test_the_converted_workflow_runs():
    result = convert_file(FIXTURE.read_bytes())
    nodes = {n["id"]: n for n in result.workflow["nodes"]}
    for ref in result.credentials:
        nodes[ref["node"]].setdefault("credentials", {})[ref["slot"]] = ref["name"]
    with FakeOpenAi() as llm:
        login = OpenAiCredential().inject(OpenAiFields(api_key=API_KEY, base_url=llm.url))

        async def credentials(credential_id: str, node_name: str) -> dict:
            assert credential_id == "OpenAI account"
            return login

        llm.script(answer("Order 42 ships tomorrow by express courier."), answer("Ships tomorrow by express."))
        done = await run(result.workflow, execution=ExecutionInfo(id="e1", mode="manual"),
                         input_items=[{"json": {"question": "When does order 42 ship?"}}], store=InMemoryStepStore(),
                         services=EngineServices(credentials=credentials, settings=LOOPBACK))
    assert done.status == "succeeded", done.error
    assert done.output[0]["json"]["content"] == "Ships tomorrow by express."
    first, second = llm.requests
    assert first["messages"] == [{"role": "system", "content": "You answer questions about orders."},
                                 {"role": "user", "content": "When does order 42 ship?"}]
    assert first["temperature"] == 0.3 and first["max_tokens"] == 400 and "tools" not in first
    assert second["messages"][-1] == {"role": "user", "content": "Order 42 ships tomorrow by express courier."}
