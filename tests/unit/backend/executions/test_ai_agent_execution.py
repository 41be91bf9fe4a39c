"""An AI Agent workflow through the HTTP API and the worker: every tool call is a step in the execution record
(what the execution view shows), and another team's credential cannot be used for the LLM.

A real LLM cannot run on this machine: tests/fakes/openai stands in for it (an OpenAI-compatible server on
loopback answering with scripted tool calls, then a final answer)."""

from __future__ import annotations

import pytest

from tests.fakes.openai.server import API_KEY, FakeOpenAi, answer, looping, tool_call
from tests.unit.backend.executions.test_executions_api import create_workflow, detail, run


@pytest.fixture
def llm(configure):
    configure(HTTP_ALLOW_LIST="127.0.0.1")
    with FakeOpenAi() as server:
        yield server


def _credential(api, user, llm) -> str:
    response = api.post("/api/v1/credentials", headers=user.headers, json={
        "name": "LLM", "type": "openai", "values": {"api_key": API_KEY, "base_url": llm.url}})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _agent_workflow(credential_id: str, **agent) -> dict:
    return {"nodes": [
        {"id": "t", "name": "Start", "type": "manual_trigger", "position": [0, 0]},
        {"id": "a", "name": "Agent", "type": "ai_agent", "position": [200, 0], "credentials": {"openai": credential_id},
         "parameters": {"model": "gpt-4o-mini", "prompt": "Add {{ $json.n }} and 1", **agent}},
        {"id": "s", "name": "Add", "type": "set", "position": [200, 200], "parameters": {
            "keep_only_set": True, "fields": [{"name": "sum", "value": "{{ $json.a + $json.b }}"}]}},
    ], "connections": [{"from": "t", "to": "a"}, {"from": "a", "output": "tools", "to": "s"}]}


def test_each_tool_call_is_a_step_of_the_execution(api, api_user, inline_worker, llm):
    owner = api_user("owner@example.com")
    llm.script(tool_call("Add", {"a": 41, "b": 1}), tool_call("Add", {"a": 1, "b": 1}), answer("42"))
    execution_id = run(api, owner, create_workflow(api, owner, _agent_workflow(_credential(api, owner, llm))),
                       {"n": 41})
    execution = detail(api, owner, execution_id)
    assert execution["status"] == "succeeded", execution["error"]
    steps = [(s["node_name"], s["run_index"], s["status"]) for s in execution["steps"]]
    # in the order they started: the agent, then the tool calls it made while it ran
    assert steps == [("Start", 0, "succeeded"), ("Agent", 0, "succeeded"), ("Add", 0, "succeeded"),
                     ("Add", 1, "succeeded")]
    adds = [s for s in execution["steps"] if s["node_name"] == "Add"]
    assert adds[0]["input"]["main"] == [{"json": {"a": 41, "b": 1}}]
    assert adds[0]["output"]["main"] == [{"json": {"sum": 42}}]
    agent = execution["steps"][1]["output"]["main"][0]["json"]
    assert agent["output"] == "42" and agent["tool_calls"] == 2 and agent["usage"]["total_tokens"] > 0
    assert [s["type"] for s in agent["steps"]] == ["llm", "tool", "llm", "tool", "llm"]
    assert API_KEY not in str(execution)  # the key never shows in the record


def test_the_step_limit_fails_the_execution_with_a_clear_error(api, api_user, inline_worker, llm):
    owner = api_user("owner@example.com")
    llm.script(looping(tool_call("Add", {"a": 1, "b": 1})))
    definition = _agent_workflow(_credential(api, owner, llm), max_steps=2)
    execution = detail(api, owner, run(api, owner, create_workflow(api, owner, definition)))
    assert execution["status"] == "failed"
    assert execution["error"].startswith("node 'Agent': the agent reached its step limit: after 2 LLM calls")
    assert [s["node_name"] for s in execution["steps"]] == ["Start", "Agent", "Add", "Add"]


def test_another_teams_credential_cannot_be_used(api, api_user, inline_worker, llm):
    owner, other = api_user("owner@example.com"), api_user("other@example.com")
    theirs = _credential(api, other, llm)
    response = api.post("/api/v1/workflows", headers=owner.headers,
                        json={"name": "wf", "definition": _agent_workflow(theirs)})
    assert response.status_code == 422, response.text
    assert "node 'Agent'" in response.text and "may not use" in response.text
    assert llm.requests == []
