"""The Discord node against tests/fakes/discord: a local server answering as Discord's HTTP API v10 documents it
(Discord is a third-party service this machine cannot reach, so it is mocked, with its real shapes)."""

from __future__ import annotations

import time

import pytest

from backend.credentials.types.discord import (
    DiscordBot,
    DiscordBotFields,
    DiscordWebhook,
    DiscordWebhookFields,
)
from nodes.builtin.discord import Discord
from nodes.sdk import NodeTransientError, NodeUserError
from nodes.sdk.testing import run_node
from tests.fakes.discord.server import BOT_TOKEN, CHANNEL, HISTORY, FakeDiscord

LOOPBACK = {"http_allow_list": ["127.0.0.1"]}
EMBED = {"title": "Deploy", "description": "api is **down**", "color": 15158332,
         "fields": [{"name": "since", "value": "09:00", "inline": True}]}


@pytest.fixture
def discord():
    with FakeDiscord() as server:
        yield server


def _bot(discord, token=BOT_TOKEN) -> dict:
    return DiscordBot().inject(DiscordBotFields(bot_token=token, api_base_url=discord.api_url))


def _hook(discord, **kwargs) -> dict:
    return DiscordWebhook().inject(DiscordWebhookFields(webhook_url=discord.webhook_url(**kwargs)))


async def _run(login, params, items=None):
    out = await run_node(Discord, items or [{"json": {}}], params=params, credentials={"discord": login},
                         settings=LOOPBACK)
    return [o["json"] for o in out["main"]]


async def test_send_with_embeds_through_a_webhook_and_a_bot(discord):
    sent = await _run(_hook(discord), {"content": "Deploy alert", "embeds": [EMBED], "username": "Ops"})
    assert sent[0]["webhook_id"] == "1001" and sent[0]["embeds"] == [EMBED] and sent[0]["author"]["username"] == "Ops"
    assert discord.requests[-1].query == {"wait": "true"}
    in_thread = DiscordWebhook().inject(DiscordWebhookFields(webhook_url=discord.webhook_url() + "?thread_id=77"))
    await _run(in_thread, {"content": "in a thread"})
    assert discord.requests[-1].query == {"thread_id": "77", "wait": "true"}
    replied = await _run(_bot(discord), {"channel_id": CHANNEL, "content": "ack", "reply_to": sent[0]["id"]})
    assert replied[0]["message_reference"]["message_id"] == sent[0]["id"]
    assert discord.requests[-1].headers["authorization"] == f"Bot {BOT_TOKEN}"
    assert discord.posted[-1] == {"content": "ack", "message_reference": {"message_id": sent[0]["id"]}}


async def test_listing_pages_backwards_with_before(discord):
    newest_first = [m["id"] for m in HISTORY[::-1]]
    everything = await _run(_bot(discord), {"operation": "get_all", "channel_id": CHANNEL, "return_all": True})
    assert [m["id"] for m in everything] == newest_first
    pages = [r.query for r in discord.requests]
    assert pages == [{"limit": "100"}, {"limit": "100", "before": newest_first[99]},
                     {"limit": "100", "before": newest_first[199]}]
    discord.requests.clear()
    some = await _run(_bot(discord), {"operation": "get_all", "channel_id": CHANNEL, "limit": 130,
                                      "before": newest_first[9]})
    assert [m["id"] for m in some] == newest_first[10:140]
    assert [r.query for r in discord.requests] == [{"limit": "100", "before": newest_first[9]},
                                                   {"limit": "30", "before": newest_first[109]}]


async def test_a_429_is_waited_out_as_retry_after_says(discord):
    started = time.monotonic()
    sent = await _run(_bot(discord), {"channel_id": "429", "content": "hi"})
    assert sent[0]["channel_id"] == "429" and time.monotonic() - started >= 1.0
    hooked = await _run(_hook(discord, webhook_id="429", token="x"), {"content": "hi"})
    assert hooked[0]["webhook_id"] == "429"
    assert len(discord.requests) == 4


async def test_a_long_retry_after_is_transient(discord, monkeypatch):
    import nodes.sdk.saas_http as saas_http

    monkeypatch.setattr(saas_http, "MAX_WAIT_S", 0.1)
    with pytest.raises(NodeTransientError, match="Discord rate-limited POST webhook; it asks to retry after 1 s"):
        await _run(_hook(discord, webhook_id="429", token="x"), {"content": "hi"})


async def test_discords_message_is_quoted(discord):
    with pytest.raises(NodeUserError, match=r"Discord refused POST /api/v10/channels/77/messages \(404\): "
                                            r"Unknown Channel \(code 10003\)"):
        await _run(_bot(discord), {"channel_id": "77", "content": "x"})
    with pytest.raises(NodeUserError, match=r"Invalid Form Body \(code 50035\); embeds.0.image_url: Unknown field"):
        await _run(_bot(discord), {"channel_id": CHANNEL, "embeds": [{"image_url": "x"}]})
    with pytest.raises(NodeUserError, match=r"refused POST webhook \(401\): Invalid Webhook Token") as refused:
        await _run(_hook(discord, token="wrong-secret"), {"content": "x"})
    assert "wrong-secret" not in str(refused.value)
    with pytest.raises(NodeUserError, match="listing messages needs a Discord bot credential"):
        await _run(_hook(discord), {"operation": "get_all", "channel_id": CHANNEL})
    with pytest.raises(NodeUserError, match="a message needs content or embeds"):
        await _run(_hook(discord), {})


async def test_the_credential_tests(discord, monkeypatch):
    monkeypatch.setenv("LINKFLOW_HTTP_ALLOW_LIST", "127.0.0.1")
    from backend.settings import get_settings

    get_settings.cache_clear()
    try:
        bot = await DiscordBot().test(DiscordBotFields(bot_token=BOT_TOKEN, api_base_url=discord.api_url))
        bad_bot = await DiscordBot().test(DiscordBotFields(bot_token="nope", api_base_url=discord.api_url))
        hook = await DiscordWebhook().test(DiscordWebhookFields(webhook_url=discord.webhook_url()))
        bad_hook = await DiscordWebhook().test(DiscordWebhookFields(webhook_url=discord.webhook_url(token="t0p")))
    finally:
        get_settings.cache_clear()
    assert bot.ok and bot.message == "authenticated as bot LinkFlowBot"
    assert not bad_bot.ok and "401: 401: Unauthorized" in bad_bot.message
    assert hook.ok and hook.message == f"webhook 'Alerts' of channel {CHANNEL}"
    assert not bad_hook.ok and "Invalid Webhook Token" in bad_hook.message and "t0p" not in bad_hook.message
    assert discord.posted == []  # testing a webhook posts nothing
