"""The Twilio node against tests/fakes/twilio: a local server answering as Twilio's REST API 2010-04-01 documents
it (Twilio is a third-party service this machine cannot reach, so it is mocked, with its real shapes)."""

from __future__ import annotations

import time

import pytest

from backend.credentials.types.twilio import Twilio as TwilioCredential
from backend.credentials.types.twilio import TwilioFields
from nodes.builtin.twilio import Twilio
from nodes.sdk import NodeUserError
from nodes.sdk.testing import run_node
from tests.fakes.twilio.server import ACCOUNT_SID, AUTH_TOKEN, HISTORY, NUMBER, FakeTwilio

LOOPBACK = {"http_allow_list": ["127.0.0.1"]}


@pytest.fixture
def twilio():
    with FakeTwilio() as server:
        yield server


def _login(twilio, token=AUTH_TOKEN) -> dict:
    return TwilioCredential().inject(TwilioFields(account_sid=ACCOUNT_SID, auth_token=token, api_base_url=twilio.url))


async def _run(twilio, params, token=AUTH_TOKEN):
    out = await run_node(Twilio, [{"json": {}}], params=params, credentials={"twilio": _login(twilio, token)},
                         settings=LOOPBACK)
    return [o["json"] for o in out["main"]]


async def test_send_an_sms_form_encoded_with_basic_auth(twilio):
    sent = await _run(twilio, {"from_number": NUMBER, "to": "+14155550100", "message": "Your code is 1234"})
    assert sent[0]["sid"].startswith("SM") and sent[0]["status"] == "queued"
    request = twilio.requests[-1]
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.form() == {"To": "+14155550100", "From": NUMBER, "Body": "Your code is 1234"}
    whatsapp = await _run(twilio, {"from_number": NUMBER, "to": "+14155550100", "message": "hi", "to_whatsapp": True,
                                   "media_url": "https://example.com/a.png"})
    assert whatsapp[0]["to"] == "whatsapp:+14155550100" and whatsapp[0]["num_media"] == "1"


async def test_listing_follows_next_page_uri(twilio, monkeypatch):
    import nodes.builtin.twilio as twilio_module

    monkeypatch.setattr(twilio_module, "PAGE_SIZE", 50)
    everything = await _run(twilio, {"operation": "get_all", "return_all": True})
    assert [m["sid"] for m in everything] == [m["sid"] for m in HISTORY]
    assert [(r.query.get("Page"), r.query.get("PageToken")) for r in twilio.requests] == [
        (None, None), ("1", "PA50"), ("2", "PA100")]
    twilio.requests.clear()
    some = await _run(twilio, {"operation": "get_all", "limit": 3, "to": HISTORY[5]["to"]})
    assert [m["sid"] for m in some] == [HISTORY[5]["sid"]]
    assert twilio.requests[0].query == {"To": HISTORY[5]["to"], "PageSize": "3"}


async def test_a_429_is_waited_out(twilio):
    started = time.monotonic()
    sent = await _run(twilio, {"from_number": NUMBER, "to": "+15550000429", "message": "x"})
    assert sent[0]["status"] == "queued" and time.monotonic() - started >= 1.0 and len(twilio.requests) == 2


async def test_twilios_message_and_code_are_quoted(twilio):
    with pytest.raises(NodeUserError, match=r"Twilio refused POST /2010-04-01/Accounts/AC\w+/Messages.json \(400\): "
                                            r"The 'To' number 123 is not a valid phone number. \(code 21211\)"):
        await _run(twilio, {"from_number": NUMBER, "to": "123", "message": "x"})
    with pytest.raises(NodeUserError, match=r"\(401\): Authenticate \(code 20003\)"):
        await _run(twilio, {"operation": "get_all"}, token="wrong")


@pytest.mark.parametrize(("params", "message"), [
    ({"to": "+14155550100", "message": "x"}, "send needs from_number"),
    ({"from_number": NUMBER, "message": "x"}, "send needs to"),
    ({"from_number": NUMBER, "to": "+14155550100"}, "send needs message or media_url"),
])
async def test_incomplete_parameters_are_refused(twilio, params, message):
    with pytest.raises(NodeUserError, match=message):
        await _run(twilio, params)


async def test_the_credential_test_reads_the_account(twilio, monkeypatch):
    monkeypatch.setenv("LINKFLOW_HTTP_ALLOW_LIST", "127.0.0.1")
    from backend.settings import get_settings

    get_settings.cache_clear()
    try:
        good = await TwilioCredential().test(TwilioFields(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN,
                                                          api_base_url=twilio.url))
        bad = await TwilioCredential().test(TwilioFields(account_sid=ACCOUNT_SID, auth_token="nope",
                                                         api_base_url=twilio.url))
    finally:
        get_settings.cache_clear()
    assert good.ok and good.message == "account 'LinkFlow test' (active)"
    assert not bad.ok and "401: Authenticate" in bad.message
