"""The OpenAI node and the openai credential type against tests/fakes/openai: a local server answering as
OpenAI's API documents it. A real LLM (OpenAI, or a local model in Ollama) cannot run on this machine, so the
fake stands in for it, with OpenAI's request and answer shapes and scripted replies."""

from __future__ import annotations

import time

import pytest

from backend.credentials.types.base import TestResult
from backend.credentials.types.openai import OpenAi as OpenAiCredential
from backend.credentials.types.openai import OpenAiFields
from backend.settings import get_settings
from nodes.builtin.openai import OpenAi
from nodes.sdk import NodeTransientError, NodeUserError
from nodes.sdk.net import AddressRefused
from nodes.sdk.testing import run_node
from tests.fakes.openai.server import API_KEY, FakeOpenAi, answer, error

LOOPBACK = {"http_allow_list": ["127.0.0.1"]}


@pytest.fixture
def llm():
    with FakeOpenAi() as server:
        yield server


def _login(llm: FakeOpenAi, key: str = API_KEY) -> dict:
    # what the openai credential type injects: the node gets exactly this from ctx.credentials("openai")
    return OpenAiCredential().inject(OpenAiFields(api_key=key, base_url=llm.url + "/"))


async def _run(llm, params, items=None, key=API_KEY):
    out = await run_node(OpenAi, items or [{"json": {}}], params=params, credentials={"openai": _login(llm, key)},
                         settings=LOOPBACK)
    return [o["json"] for o in out["main"]]


async def test_a_chat_completion_sends_the_conversation_and_returns_content_and_usage(llm):
    llm.script(answer("Paris is the capital of France."))
    [out] = await _run(llm, {"model": "gpt-4o-mini", "system_prompt": "Be brief.", "prompt": "Capital of France?",
                             "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}],
                             "temperature": 0.2, "max_tokens": 50})
    assert out["content"] == "Paris is the capital of France." and out["finish_reason"] == "stop"
    assert out["model"] == "gpt-4o-mini"
    assert out["usage"] == {"prompt_tokens": 7, "completion_tokens": 6, "total_tokens": 13}
    [sent] = llm.requests
    assert sent["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                                {"role": "assistant", "content": "Hello"},
                                {"role": "user", "content": "Capital of France?"}]
    assert sent["temperature"] == 0.2 and sent["max_tokens"] == 50 and "response_format" not in sent


async def test_one_call_per_item(llm):
    llm.script(answer("one"), answer("two"))
    out = await _run(llm, [{"model": "m1", "prompt": "a"}, {"model": "m2", "prompt": "b"}],
                     items=[{"json": {}}, {"json": {}}])
    assert [o["content"] for o in out] == ["one", "two"]
    assert [r["model"] for r in llm.requests] == ["m1", "m2"]


async def test_json_mode_asks_for_json_and_parses_it(llm):
    llm.script(answer('{"sentiment": "positive", "score": 0.9}'), answer("not json at all"))
    [out] = await _run(llm, {"model": "gpt-4o-mini", "prompt": "Rate: great!", "response_format": "json_object"})
    assert out["data"] == {"sentiment": "positive", "score": 0.9}
    assert llm.requests[0]["response_format"] == {"type": "json_object"}
    with pytest.raises(NodeUserError, match="asked for JSON but answered something else: 'not json at all'"):
        await _run(llm, {"model": "gpt-4o-mini", "prompt": "x", "response_format": "json_object"})


async def test_embeddings_return_the_vector(llm):
    [out] = await _run(llm, {"operation": "embeddings", "model": "text-embedding-3-small", "input": "hello world"})
    assert out["dimensions"] == 8 == len(out["embedding"]) and all(isinstance(x, float) for x in out["embedding"])
    assert out["usage"] == {"prompt_tokens": 2, "total_tokens": 2}
    assert llm.requests == [{"model": "text-embedding-3-small", "input": "hello world"}]


async def test_a_429_is_waited_out_as_retry_after_says(llm):
    llm.rate_limit(1)
    llm.script(answer("after the wait"))
    started = time.monotonic()
    [out] = await _run(llm, {"model": "gpt-4o-mini", "prompt": "x"})
    assert out["content"] == "after the wait" and time.monotonic() - started >= 1.0
    assert len(llm.requests) == 2


async def test_a_long_retry_after_is_transient_and_names_the_apis_message(llm, monkeypatch):
    import nodes.builtin._openai as api

    monkeypatch.setattr(api, "MAX_RETRY_AFTER_S", 0)
    llm.rate_limit(5)
    with pytest.raises(NodeTransientError, match=r"rate-limited /chat/completions; it asks to retry after 5 s "
                                                 r"\(Rate limit reached for requests\)"):
        await _run(llm, {"model": "gpt-4o-mini", "prompt": "x"})


async def test_the_apis_error_messages_are_named(llm):
    with pytest.raises(NodeUserError, match=r"refused /chat/completions \(404\): The model `missing-model` does "
                                            r"not exist.*check the model name"):
        await _run(llm, {"model": "missing-model", "prompt": "x"})
    with pytest.raises(NodeUserError, match=r"\(401\): Incorrect API key provided.*check the credential's API key"):
        await _run(llm, {"model": "gpt-4o-mini", "prompt": "x"}, key="sk-wrong")
    llm.script(error(500, "The server had an error while processing your request."))
    with pytest.raises(NodeTransientError, match="answered /chat/completions with 500: The server had an error"):
        await _run(llm, {"model": "gpt-4o-mini", "prompt": "x"})
    llm.script(b"<html>a proxy page</html>")
    with pytest.raises(NodeUserError, match="not with its JSON; check the credential's base URL"):
        await _run(llm, {"model": "gpt-4o-mini", "prompt": "x"})


@pytest.mark.parametrize(("params", "message"), [
    ({"model": "m"}, "a chat needs a prompt or messages"),
    ({"model": "m", "operation": "embeddings"}, "embeddings need an input text"),
    ({"model": "m", "prompt": "x", "temperature": 3}, "temperature"),
    ({"model": "m", "messages": [{"role": "tool", "content": "x"}]}, "role"),
])
async def test_bad_parameters_are_refused(llm, params, message):
    with pytest.raises(NodeUserError, match=message):
        await _run(llm, params)
    assert llm.requests == []


async def test_loopback_is_refused_without_the_allow_list(llm):
    with pytest.raises(AddressRefused):
        await run_node(OpenAi, [{"json": {}}], params={"model": "m", "prompt": "x"},
                       credentials={"openai": _login(llm)})


async def test_a_local_server_without_a_key_gets_no_authorization_header():
    with FakeOpenAi(api_key=None) as local:  # like Ollama: no key
        login = OpenAiCredential().inject(OpenAiFields(base_url=local.url))
        assert login == {"headers": {}, "base_url": local.url}
        local.script(answer("from the local model"))
        out = await run_node(OpenAi, [{"json": {}}], params={"model": "llama3.1", "prompt": "x"},
                             credentials={"openai": login}, settings=LOOPBACK)
        assert out["main"][0]["json"]["content"] == "from the local model"


async def test_the_credential_test_lists_the_models(llm, monkeypatch):
    monkeypatch.setenv("LINKFLOW_HTTP_ALLOW_LIST", "127.0.0.1")
    get_settings.cache_clear()
    try:
        good = await OpenAiCredential().test(OpenAiFields(api_key=API_KEY, base_url=llm.url))
        bad = await OpenAiCredential().test(OpenAiFields(api_key="sk-wrong", base_url=llm.url))
        lost = await OpenAiCredential().test(OpenAiFields(api_key=API_KEY, base_url=llm.url.removesuffix("/v1")))
    finally:
        get_settings.cache_clear()
    assert good == TestResult(True, "3 model(s) available: gpt-4o-mini, text-embedding-3-small, llama3.1")
    assert bad.ok is False and "answered 401: Incorrect API key provided" in bad.message
    assert lost.ok is False and "check the base URL (it usually ends in /v1)" in lost.message
    assert llm.paths[0] == "GET /v1/models"


async def test_an_answer_larger_than_the_limit_is_refused(llm, monkeypatch):
    import nodes.builtin._openai as api

    monkeypatch.setattr(api, "MAX_ANSWER_BYTES", 100_000)
    llm.script(answer("word " * 50_000))
    with pytest.raises(NodeUserError, match=r"answer to /chat/completions is larger than 100,000 bytes; ask for a shorter answer \(max_tokens\)"):
        await _run(llm, {"model": "gpt-4o-mini", "prompt": "x"})
