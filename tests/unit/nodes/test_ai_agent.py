"""The AI Agent node run by the engine, calling nodes of the workflow as tools, against tests/fakes/openai.

A real LLM (OpenAI, or a local model in Ollama) cannot run on this machine: the fake OpenAI-compatible server
stands in for it and answers with scripted tool calls, then a final answer, as a model with function calling
does. The tools are real nodes run by the engine: an HTTP Request to a server on loopback and a Set node.
"""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from backend.credentials.types.openai import OpenAi as OpenAiCredential
from backend.credentials.types.openai import OpenAiFields
from backend.engine import EngineServices, ExecutionInfo, InMemoryStepStore, run
from backend.engine.validate import validate
from nodes.sdk import default_registry
from tests.fakes.openai.server import API_KEY, FakeOpenAi, answer, looping, tool_call, tool_calls

LOOPBACK = {"http_allow_private": False, "http_allow_list": ["127.0.0.1"]}


class WeatherApi:
    """A plain HTTP API on loopback that the HTTP Request tool calls: GET /weather?city=..."""

    def __init__(self) -> None:
        self.cities: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's hook name
                city = parse_qs(urlsplit(self.path).query).get("city", [""])[0]
                api.cities.append(city)
                status, body = (200, {"city": city, "temperature_c": 21, "sky": "sunny"}) if city != "Atlantis" \
                    else (404, {"error": "no such city"})
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/weather"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def llm():
    with FakeOpenAi() as server:
        yield server


@pytest.fixture
def weather():
    api = WeatherApi()
    yield api
    api.close()


def workflow(weather_url: str, **agent_params) -> dict:
    agent = {"model": "gpt-4o-mini", "prompt": "{{ $json.question }}", **agent_params}
    return {
        "name": "agent",
        "nodes": [
            {"id": "t", "name": "Start", "type": "manual_trigger", "position": [0, 0]},
            {"id": "a", "name": "Agent", "type": "ai_agent", "position": [200, 0], "parameters": agent,
             "credentials": {"openai": "llm"}},
            {"id": "w", "name": "Get weather", "type": "http_request", "position": [200, 200],
             "notes": "The current weather in a city",
             "parameters": {"url": weather_url, "query": {"city": "{{ $json.city }}"}, "output": "body"}},
            {"id": "s", "name": "Add", "type": "set", "position": [400, 200],
             "parameters": {"keep_only_set": True, "fields": [
                 {"name": "sum", "value": "{{ $json.a + $json.b }}"}]}},
            {"id": "d", "name": "Done", "type": "noop", "position": [400, 0]},
        ],
        "connections": [
            {"from": "t", "to": "a"}, {"from": "a", "to": "d"},
            {"from": "a", "output": "tools", "to": "w"}, {"from": "a", "output": "tools", "to": "s"},
        ],
    }


async def _run(definition: dict, llm: FakeOpenAi, question: str = "Weather in Oslo, and 2+3?"):
    login = OpenAiCredential().inject(OpenAiFields(api_key=API_KEY, base_url=llm.url))

    async def credentials(credential_id: str, node_name: str) -> dict:
        assert credential_id == "llm"
        return login

    store = InMemoryStepStore()
    result = await run(definition, execution=ExecutionInfo(id=uuid.uuid4().hex, mode="manual"),
                       input_items=[{"json": {"question": question}}], store=store,
                       services=EngineServices(credentials=credentials, settings=LOOPBACK))
    return result, store


def _tool_messages(request: dict) -> list[dict]:
    return [m for m in request["messages"] if m["role"] == "tool"]


async def test_the_agent_calls_two_tools_and_every_call_is_a_step_of_the_execution(llm, weather):
    def final(request):  # answers from what the tools returned, as a model would
        results = [json.loads(m["content"]) for m in _tool_messages(request)]
        return answer(f"Oslo is {results[0]['sky']} at {results[0]['temperature_c']} C; 2+3={results[1]['sum']}")

    llm.script(tool_call("Get_weather", {"city": "Oslo"}), tool_call("Add", {"a": 2, "b": 3}), final)
    result, store = await _run(workflow(weather.url), llm)

    assert result.status == "succeeded", result.error
    [out] = [item["json"] for item in result.output]  # Done passes the agent's answer on
    assert out["output"] == "Oslo is sunny at 21 C; 2+3=5"
    assert out["iterations"] == 3 and out["tool_calls"] == 2
    assert out["usage"]["total_tokens"] == sum(s["usage"]["total_tokens"] for s in out["steps"] if s["type"] == "llm")
    assert [(s["type"], s.get("tool"), s.get("status")) for s in out["steps"]] == [
        ("llm", None, None), ("tool", "Get_weather", "succeeded"), ("llm", None, None),
        ("tool", "Add", "succeeded"), ("llm", None, None)]
    assert weather.cities == ["Oslo"]

    # what the LLM was told: the tools derived from the nodes (name, notes, the fields they read)
    tools = {t["function"]["name"]: t["function"] for t in llm.requests[0]["tools"]}
    assert tools["Get_weather"]["description"] == "The current weather in a city"
    assert tools["Get_weather"]["parameters"]["properties"].keys() == {"city"}
    assert tools["Add"]["parameters"]["required"] == ["a", "b"]
    assert tools["Add"]["description"].startswith("Edit Fields") or tools["Add"]["description"]
    assert llm.requests[0]["messages"][-1] == {"role": "user", "content": "Weather in Oslo, and 2+3?"}
    assert llm.requests[1]["messages"][-2]["tool_calls"][0]["function"]["name"] == "Get_weather"

    # the execution record: each tool call is a step of its node, with the LLM's arguments as input
    steps = {(s.node_name, s.run_index): s for s in store.steps.values()}
    assert steps[("Get weather", 0)].input == {"main": [{"json": {"city": "Oslo"}}]}
    assert steps[("Get weather", 0)].output["main"][0]["json"]["sky"] == "sunny"
    assert steps[("Add", 0)].output == {"main": [{"json": {"sum": 5}}]}
    assert steps[("Agent", 0)].status == "succeeded"
    assert result.nodes["Add"]["runs"] == 1 and result.nodes["Get weather"]["status"] == "succeeded"


async def test_tools_are_not_run_unless_the_agent_calls_them(llm, weather):
    llm.script(answer("No tools needed."))
    result, store = await _run(workflow(weather.url), llm)
    assert result.status == "succeeded" and result.output[0]["json"]["output"] == "No tools needed."
    assert {s.node_name for s in store.steps.values()} == {"Start", "Agent", "Done"}
    assert weather.cities == []


async def test_several_calls_in_one_answer_run_in_order_as_runs_of_the_node(llm, weather):
    llm.script(tool_calls(("Add", {"a": 1, "b": 1}), ("Add", {"a": 2, "b": 2}), ("Get_weather", {"city": "Rome"})),
               answer("2, 4 and Rome"))
    result, store = await _run(workflow(weather.url), llm)
    assert result.status == "succeeded", result.error
    adds = sorted((s.run_index, s.output["main"][0]["json"]["sum"]) for s in store.steps.values()
                  if s.node_name == "Add")
    assert adds == [(0, 2), (1, 4)]
    assert [json.loads(m["content"]) for m in _tool_messages(llm.requests[1])] == [
        {"sum": 2}, {"sum": 4}, {"city": "Rome", "temperature_c": 21, "sky": "sunny"}]
    assert [m["tool_call_id"] for m in _tool_messages(llm.requests[1])] == ["call_0_Add", "call_1_Add",
                                                                            "call_2_Get_weather"]


async def test_the_step_limit_stops_a_looping_llm_with_a_clear_error(llm, weather):
    llm.script(looping(tool_call("Add", {"a": 1, "b": 2})))
    result, store = await _run(workflow(weather.url, max_steps=3), llm)
    assert result.status == "failed"
    assert result.error["node"] == "Agent"
    assert result.error["message"] == (
        "the agent reached its step limit: after 3 LLM calls (max_steps) the LLM still asked for tools (Add); "
        "3 tool calls were made. Raise max_steps, or make the prompt or the tools' descriptions clearer "
        "(before that: LLM call 1 asked for Add; Add run 0 succeeded; LLM call 2 asked for Add; Add run 1 "
        "succeeded; LLM call 3 asked for Add; Add run 2 succeeded)")
    assert len(llm.requests) == 3
    assert sorted(s.run_index for s in store.steps.values() if s.node_name == "Add") == [0, 1, 2]


async def test_a_failing_tool_is_reported_back_to_the_llm(llm, weather):
    llm.script(tool_call("Get_weather", {"city": "Atlantis"}), answer("I could not find Atlantis."))
    result, store = await _run(workflow(weather.url), llm)
    assert result.status == "succeeded", result.error
    [reported] = _tool_messages(llm.requests[1])
    assert json.loads(reported["content"])["error"].startswith("the tool failed: ")
    assert "404" in reported["content"]
    failed = next(s for s in store.steps.values() if s.node_name == "Get weather")
    assert failed.status == "failed" and "404" in failed.error["message"]
    out = result.output[0]["json"]
    assert out["output"] == "I could not find Atlantis."
    assert out["steps"][1]["status"] == "failed" and "404" in out["steps"][1]["error"]


@pytest.mark.parametrize(("call", "reported"), [
    (tool_call("Delete_everything", {}), "there is no tool named 'Delete_everything'; the tools are: "
                                         "Get_weather, Add"),
    (tool_call("Add", '{"a": 1, "b":'), "the arguments are not valid JSON"),
    (tool_call("Add", "[1, 2]"), "the arguments must be a JSON object, not list"),
    (tool_call("Add", json.dumps({"a": "x" * 70_000, "b": 1})), "the arguments are 70017 characters long; "
                                                                "at most 65536 are accepted"),
    (tool_call("Add", "[" * 5000 + "]" * 5000), "nested more than 20 levels deep"),
    (tool_call("Add", json.dumps({"a": [[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]})),
     "nested more than 20 levels deep"),
])
async def test_hostile_tool_calls_are_refused_and_reported_back(llm, weather, call, reported):
    llm.script(call, answer("Sorry."))
    result, store = await _run(workflow(weather.url), llm)
    assert result.status == "succeeded", result.error
    [message] = _tool_messages(llm.requests[1])
    assert reported in json.loads(message["content"])["error"]
    assert {s.node_name for s in store.steps.values()} == {"Start", "Agent", "Done"}  # no tool ran
    assert result.output[0]["json"]["steps"][1]["status"] == "refused"
    echoed = llm.requests[1]["messages"][-2]["tool_calls"][0]["function"]["arguments"]
    assert len(echoed) <= 65536  # a huge argument is not sent back to the LLM


async def test_more_calls_in_one_answer_than_allowed_are_not_run(llm, weather):
    llm.script(tool_calls(*[("Add", {"a": n, "b": 0}, f"c{n}") for n in range(20)]), answer("ok"))
    result, store = await _run(workflow(weather.url), llm)
    assert result.status == "succeeded", result.error
    assert len([s for s in store.steps.values() if s.node_name == "Add"]) == 16
    messages = _tool_messages(llm.requests[1])
    assert len(messages) == 20 and "at most 16 tool calls per answer" in messages[-1]["content"]


async def test_an_llm_error_names_the_apis_message(llm, weather):
    result, _ = await _run(workflow(weather.url, model="missing-model"), llm)
    assert result.status == "failed"
    assert "The model `missing-model` does not exist" in result.error["message"]


async def test_tool_parameters_can_be_given_for_a_node(llm, weather):
    schema = {"type": "object", "properties": {"city": {"type": "string", "description": "A city name"}},
              "required": ["city"]}
    llm.script(answer("ok"))
    result, _ = await _run(workflow(weather.url, tool_parameters={"Get weather": schema}), llm)
    assert result.status == "succeeded", result.error
    tools = {t["function"]["name"]: t["function"] for t in llm.requests[0]["tools"]}
    assert tools["Get_weather"]["parameters"] == schema


def test_a_tool_node_may_have_no_other_connections():
    definition = workflow("http://127.0.0.1:1/weather")
    definition["connections"].append({"from": "s", "to": "d"})
    definition["connections"].append({"from": "t", "to": "w"})
    problems = {(p.node, p.message) for p in validate(definition, default_registry())}
    assert ("Add", "node 'Add' is a tool of 'Agent' (on its 'tools' output): it runs only when the agent calls it "
                   "and its output goes back to the agent, so it cannot have other connections") in problems
    assert any(node == "Get weather" and "cannot have other connections" in message for node, message in problems)
    assert validate(workflow("http://127.0.0.1:1/weather"), default_registry()) == []


async def test_a_code_tool_runs_in_the_sandbox_and_cannot_read_host_files(llm, weather):
    """The Code node as a tool runs as every Code node does: in the bwrap sandbox, without the host's files."""
    from backend.sandbox import build_sandbox
    from backend.settings import CodeSettings, HttpSettings

    code = ("text = items[0]['json']['text']\n"
            "if text == 'peek':\n"
            "    return [{'json': {'leaked': open('" + __file__ + "').read()}}]\n"
            "return [{'json': {'shout': text.upper()}}]\n")
    definition = workflow(weather.url)
    definition["nodes"].append({"id": "c", "name": "Shout", "type": "code", "position": [600, 200],
                                "parameters": {"code": code}})
    definition["connections"].append({"from": "a", "output": "tools", "to": "c"})
    llm.script(tool_call("Shout", {"text": "hello"}), tool_call("Shout", {"text": "peek"}), answer("HELLO"))
    login = OpenAiCredential().inject(OpenAiFields(api_key=API_KEY, base_url=llm.url))

    async def credentials(credential_id: str, node_name: str) -> dict:
        return login

    store = InMemoryStepStore()
    sandbox = build_sandbox(CodeSettings(sandbox="bwrap"), HttpSettings())
    result = await run(definition, execution=ExecutionInfo(id=uuid.uuid4().hex, mode="manual"),
                       input_items=[{"json": {"question": "shout hello"}}], store=store,
                       services=EngineServices(credentials=credentials, settings=LOOPBACK, code_sandbox=sandbox))
    assert result.status == "succeeded", result.error
    tools = {t["function"]["name"]: t["function"] for t in llm.requests[0]["tools"]}
    assert tools["Shout"]["parameters"]["properties"].keys() == {"text"}  # read from item['json']['text']
    assert json.loads(_tool_messages(llm.requests[1])[0]["content"]) == {"shout": "HELLO"}
    peeked = _tool_messages(llm.requests[2])[-1]["content"]
    assert "the tool failed" in peeked and "No such file or directory" in peeked
    assert "test_a_code_tool_runs_in_the_sandbox" not in peeked  # this file's text never reached the LLM


# ---- the node alone, with nodes.sdk.testing's FakeContext (tools as plain functions) ----------------------

async def test_the_node_with_a_fake_context_waits_out_a_429_and_feeds_tool_failures_back(llm):
    import time

    from nodes.builtin.ai_agent import AiAgent
    from nodes.sdk.testing import run_node

    def lookup(arguments):
        """Looks an order up"""
        if arguments["id"] == 0:
            raise ValueError("order 0 does not exist")
        return [{"json": {"id": arguments["id"], "status": "shipped"}}]

    llm.rate_limit(1)
    llm.script(tool_calls(("lookup", {"id": 0}), ("lookup", {"id": 7})), answer("Order 7 has shipped."))
    started = time.monotonic()
    out = await run_node(AiAgent, [{"json": {}}], params={"model": "llama3.1", "prompt": "order 7?", "max_steps": 2},
                         credentials={"openai": OpenAiCredential().inject(OpenAiFields(api_key=API_KEY,
                                                                                      base_url=llm.url))},
                         settings=LOOPBACK, tools={"lookup": lookup})
    assert time.monotonic() - started >= 1.0 and len(llm.requests) == 3  # the 429, then two LLM calls
    result = out["main"][0]["json"]
    assert result["output"] == "Order 7 has shipped." and result["tool_calls"] == 2
    assert [json.loads(m["content"]) for m in _tool_messages(llm.requests[2])] == [
        {"error": "the tool failed: order 0 does not exist"}, {"id": 7, "status": "shipped"}]
    assert llm.requests[1]["tools"][0]["function"]["description"] == "Looks an order up"


async def test_an_agent_run_again_replays_the_committed_tool_calls_instead_of_repeating_them(llm, weather):
    """After a failure (or a crash) the execution runs again on its committed steps: a tool call the LLM asks
    for again with the same arguments is answered from its committed step, the HTTP call is not made twice."""
    from tests.fakes.openai.server import error

    login = OpenAiCredential().inject(OpenAiFields(api_key=API_KEY, base_url=llm.url))

    async def credentials(credential_id: str, node_name: str) -> dict:
        return login

    store = InMemoryStepStore()
    execution = ExecutionInfo(id=uuid.uuid4().hex, mode="manual")
    services = EngineServices(credentials=credentials, settings=LOOPBACK)
    items = [{"json": {"question": "Weather in Oslo?"}}]
    llm.script(tool_call("Get_weather", {"city": "Oslo"}), error(400, "context_length_exceeded"))
    first = await run(workflow(weather.url), execution=execution, input_items=items, store=store, services=services)
    assert first.status == "failed" and "context_length_exceeded" in first.error["message"]
    assert first.error["message"].endswith("(before that: LLM call 1 asked for Get_weather; Get_weather run 0 "
                                           "succeeded)")
    assert weather.cities == ["Oslo"]

    llm.script(tool_call("Get_weather", {"city": "Oslo"}), tool_call("Get_weather", {"city": "Bergen"}),
               answer("Sunny in both."))
    second = await run(workflow(weather.url), execution=execution, input_items=items, store=store, services=services)
    assert second.status == "succeeded", second.error
    assert weather.cities == ["Oslo", "Bergen"]  # Oslo came from the committed step
    assert second.replayed_steps == 2  # Start and the first weather call
    assert [json.loads(m["content"])["city"] for m in _tool_messages(llm.requests[-1])] == ["Oslo", "Bergen"]


async def test_a_switch_output_named_tools_is_an_ordinary_output():
    """Only an agent's 'tools' output holds tools: a Switch rule may name its output 'tools' and its nodes run."""
    definition = {"nodes": [
        {"id": "t", "name": "Start", "type": "manual_trigger", "position": [0, 0]},
        {"id": "w", "name": "Route", "type": "switch", "position": [200, 0], "parameters": {
            "rules": [{"left": "{{ $json.kind }}", "operation": "equals", "right": "x", "output": "tools"}]}},
        {"id": "s", "name": "Mark", "type": "set", "position": [400, 0],
         "parameters": {"fields": [{"name": "routed", "value": True}]}},
    ], "connections": [{"from": "t", "to": "w"}, {"from": "w", "output": "tools", "to": "s"}]}
    assert validate(definition, default_registry()) == []
    result = await run(definition, execution=ExecutionInfo(id=uuid.uuid4().hex, mode="manual"),
                       input_items=[{"json": {"kind": "x"}}], store=InMemoryStepStore(), services=EngineServices())
    assert result.status == "succeeded" and result.output == [{"json": {"kind": "x", "routed": True}}]
