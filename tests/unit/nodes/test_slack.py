"""The Slack node against tests/fakes/slack: a local server answering as Slack's Web API documents it
(Slack itself is a third-party service this machine cannot reach, so it is mocked, with its real shapes)."""

from __future__ import annotations

import time

import pytest

from backend.credentials.types.slack import Slack as SlackCredential
from backend.credentials.types.slack import SlackFields
from nodes.builtin.slack import Slack
from nodes.sdk import NodeTransientError, NodeUserError
from nodes.sdk.net import AddressRefused
from nodes.sdk.testing import run_node
from tests.fakes.slack.server import CHANNELS, MESSAGES, TOKEN, FakeSlack

LOOPBACK = {"http_allow_list": ["127.0.0.1"]}


@pytest.fixture
def slack():
    with FakeSlack() as server:
        yield server


def _login(slack: FakeSlack, token: str = TOKEN) -> dict:
    # what the slack credential type injects: the node gets exactly this from ctx.credentials("slack")
    return SlackCredential().inject(SlackFields(bot_token=token, api_base_url=slack.url))


async def _run(slack, params, items=None, token=TOKEN):
    out = await run_node(Slack, items or [{"json": {}}], params=params, credentials={"slack": _login(slack, token)},
                         settings=LOOPBACK)
    return [o["json"] for o in out["main"]]


async def test_post_update_delete_a_message(slack):
    posted = await _run(slack, {"channel": "C001", "text": "Deploy *done*", "blocks": [{"type": "divider"}]})
    assert posted[0]["channel"] == "C001" and posted[0]["message"]["text"] == "Deploy *done*"
    assert slack.posted[0]["blocks"] == [{"type": "divider"}]
    ts = posted[0]["ts"]
    updated = await _run(slack, {"operation": "update", "channel": "C001", "ts": ts, "text": "Deploy fixed"})
    assert updated == [{"channel": "C001", "ts": ts, "text": "Deploy fixed"}]
    assert await _run(slack, {"operation": "delete", "channel": "C001", "ts": ts}) == [{"channel": "C001", "ts": ts}]


async def test_listing_follows_cursors_up_to_the_limit(slack):
    channels = await _run(slack, {"resource": "channel", "operation": "get_all", "limit": 4})
    assert [c["id"] for c in channels] == [c["id"] for c in CHANNELS[:4]]
    everything = await _run(slack, {"resource": "channel", "operation": "history", "channel": "C002",
                                    "return_all": True})
    assert [m["ts"] for m in everything] == [m["ts"] for m in MESSAGES]
    pages = [p for method, p in slack.calls if method == "conversations.history"]
    assert len(pages) == 1 and "cursor" not in pages[0]  # 7 messages fit one page of 200


async def test_small_pages_are_followed_by_their_cursor(slack, monkeypatch):
    import nodes.builtin.slack as slack_module

    monkeypatch.setattr(slack_module, "PAGE_SIZE", 2)  # pages of 2: seven messages make four pages
    messages = await _run(slack, {"resource": "channel", "operation": "history", "channel": "C002",
                                  "return_all": True})
    assert [m["ts"] for m in messages] == [m["ts"] for m in MESSAGES]
    cursors = [p.get("cursor") for method, p in slack.calls if method == "conversations.history"]
    assert cursors == [None, "2", "4", "6"]
    slack.calls.clear()
    limited = await _run(slack, {"resource": "channel", "operation": "get_all", "limit": 3})
    assert [c["id"] for c in limited] == ["C001", "C002", "C003"]
    assert [p.get("limit") for method, p in slack.calls] == ["2", "1"]


async def test_a_429_is_waited_out_as_retry_after_says(slack):
    started = time.monotonic()
    posted = await _run(slack, {"channel": "C_RATE", "text": "hello"})
    assert posted[0]["channel"] == "C_RATE"
    assert time.monotonic() - started >= 1.0  # Retry-After: 1
    assert [m for m, _ in slack.calls] == ["chat.postMessage", "chat.postMessage"]


async def test_slacks_errors_are_named(slack):
    with pytest.raises(NodeUserError, match="Slack refused chat.postMessage: channel_not_found"):
        await _run(slack, {"channel": "C404", "text": "x"})
    with pytest.raises(NodeUserError, match="Slack refused users.info: invalid_auth"):
        await _run(slack, {"resource": "user", "operation": "info", "user": "U001"}, token="xoxb-wrong")
    with pytest.raises(NodeUserError, match="message_not_found"):
        await _run(slack, {"operation": "delete", "channel": "C001", "ts": "1.2"})
    user = await _run(slack, {"resource": "user", "operation": "info", "user": "U001"})
    assert user[0]["real_name"] == "Ada Lovelace"


async def test_a_long_retry_after_is_transient(slack, monkeypatch):
    import nodes.builtin.slack as slack_module

    monkeypatch.setattr(slack_module, "MAX_RETRY_AFTER_S", 0)
    with pytest.raises(NodeTransientError, match="Slack rate-limited POST /api/chat.postMessage; it asks to retry after 1 s"):
        await _run(slack, {"channel": "C_RATE", "text": "x"})


@pytest.mark.parametrize(("params", "message"), [
    ({"channel": "C001"}, "needs text or blocks"),
    ({"resource": "user", "operation": "post", "channel": "C1", "text": "x"}, "user has no operation 'post'"),
    ({"operation": "update", "channel": "C001", "text": "x"}, "needs ts"),
])
async def test_incomplete_parameters_are_refused(slack, params, message):
    with pytest.raises(NodeUserError, match=message):
        await _run(slack, params)


async def test_loopback_is_refused_without_the_allow_list(slack):
    with pytest.raises(AddressRefused):
        await run_node(Slack, [{"json": {}}], params={"channel": "C001", "text": "x"},
                       credentials={"slack": _login(slack)})


async def test_an_n8n_slack_workflow_converts_and_runs(slack):
    """tests/fixtures/n8n/slack_alert.json: converted, its credential bound by name, run by the engine."""
    from pathlib import Path

    from backend.engine import EngineServices, ExecutionInfo, InMemoryStepStore, run
    from backend.workflows.n8n.service import convert_file

    result = convert_file((Path(__file__).parents[2] / "fixtures" / "n8n" / "slack_alert.json").read_bytes())
    nodes = {n["id"]: n for n in result.workflow["nodes"]}
    for ref in result.credentials:
        nodes[ref["node"]].setdefault("credentials", {})[ref["slot"]] = ref["name"]

    async def credentials(credential_id: str, node_name: str) -> dict:
        assert credential_id == "Ops bot"
        return _login(slack)

    done = await run(result.workflow, execution=ExecutionInfo(id="e1", mode="manual"),
                     input_items=[{"json": {"service": "api", "status": "down", "since": "09:00"}},
                                  {"json": {"service": "web", "status": "up", "since": "-"}}],
                     store=InMemoryStepStore(), services=EngineServices(credentials=credentials, settings=LOOPBACK))
    assert done.status == "succeeded", done.error
    assert [p["text"] for p in slack.posted] == [":rotating_light: api is down since 09:00"]
    assert len(done.output) == 2 and done.output[0]["json"]["ts"] == MESSAGES[0]["ts"]
