"""The signature schemes of the vendor webhook triggers, each as its vendor documents it: a good signature passes;
a wrong, missing or replayed one, or one over a body changed by a single byte, is refused with a reason."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest
from starlette.datastructures import Headers

from nodes.builtin.github_trigger import GitHubTrigger, GitHubTriggerParameters
from nodes.builtin.slack_trigger import SlackTrigger, SlackTriggerParameters
from nodes.builtin.stripe_trigger import StripeTrigger, StripeTriggerParameters
from nodes.builtin.telegram_trigger import TelegramTrigger, TelegramTriggerParameters

SECRET = "s3cr3t-of-the-hook"
BODY = b'{"action":"opened","number":7}'
NOW = 1_760_000_000.0


def flipped(body: bytes) -> bytes:
    """The body with its last byte changed (one byte, same length)."""
    return body[:-1] + bytes([body[-1] ^ 1])


def hexmac(message: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


# ---- GitHub: X-Hub-Signature-256 = sha256=HMAC(body) ---------------------------------------------------------

GITHUB = GitHubTrigger()
GITHUB_PARAMS = GitHubTriggerParameters(owner="octo-org", repository="hello-world", events=["push"])


def github(headers: dict, body: bytes = BODY) -> str | None:
    return GITHUB.refusal(Headers(headers), body, SECRET, NOW, GITHUB_PARAMS)


def test_github_good_signature_passes():
    assert github({"X-Hub-Signature-256": "sha256=" + hexmac(BODY)}) is None


@pytest.mark.parametrize("headers, reason", [
    ({}, "no X-Hub-Signature-256"),
    ({"X-Hub-Signature-256": "sha256=" + hexmac(BODY, "another secret")}, "does not match"),
    ({"X-Hub-Signature-256": hexmac(BODY)}, "does not match"),  # without the sha256= prefix GitHub sends
    ({"X-Hub-Signature": "sha1=" + hmac.new(SECRET.encode(), BODY, hashlib.sha1).hexdigest()}, "no X-Hub"),
])
def test_github_bad_or_missing_signature_is_refused(headers, reason):
    assert reason in github(headers)


def test_github_body_changed_by_one_byte_is_refused():
    assert "does not match" in github({"X-Hub-Signature-256": "sha256=" + hexmac(BODY)}, flipped(BODY))


def test_github_ping_is_answered_and_events_are_filtered():
    assert GITHUB.handshake(Headers({"X-GitHub-Event": "ping"}), {"hook_id": 5}) == (200, {"ok": True, "hook_id": 5})
    assert GITHUB.handshake(Headers({"X-GitHub-Event": "push"}), {}) is None
    assert GITHUB.wanted(Headers({"X-GitHub-Event": "push"}), {}, GITHUB_PARAMS)
    assert not GITHUB.wanted(Headers({"X-GitHub-Event": "issues"}), {}, GITHUB_PARAMS)


# ---- Stripe: Stripe-Signature: t=..., v1=HMAC("t.body") --------------------------------------------------------

STRIPE = StripeTrigger()
STRIPE_PARAMS = StripeTriggerParameters(events=["charge.succeeded"], tolerance_s=300)


def stripe_header(stamp: int, body: bytes = BODY, secret: str = SECRET) -> str:
    return f"t={stamp},v1={hexmac(str(stamp).encode() + b'.' + body, secret)},v0=deadbeef"


def stripe(header: str | None, body: bytes = BODY) -> str | None:
    return STRIPE.refusal(Headers({"Stripe-Signature": header} if header else {}), body, SECRET, NOW, STRIPE_PARAMS)


def test_stripe_good_signature_passes_also_beside_an_old_one():
    assert stripe(stripe_header(int(NOW))) is None
    rolled = f"t={int(NOW)},v1={'0' * 64},v1={stripe_header(int(NOW)).split('v1=')[1].split(',')[0]}"
    assert stripe(rolled) is None  # Stripe sends one v1 per active secret while a secret is rolled


@pytest.mark.parametrize("header, reason", [
    (None, "no Stripe-Signature"),
    ("v1=abc", "no t= timestamp"),
    (f"t={int(NOW)}", "no v1= signature"),
    (stripe_header(int(NOW), secret="whsec_other"), "no v1 signature"),
])
def test_stripe_bad_or_missing_signature_is_refused(header, reason):
    assert reason in stripe(header)


@pytest.mark.parametrize("age", [301, -301, 86_400])
def test_stripe_replayed_or_future_timestamp_is_refused_even_when_signed(age):
    assert "300 s away" in stripe(stripe_header(int(NOW) - age))


def test_stripe_timestamp_within_tolerance_passes():
    assert stripe(stripe_header(int(NOW) - 299)) is None


def test_stripe_body_changed_by_one_byte_is_refused():
    assert "no v1 signature" in stripe(stripe_header(int(NOW)), flipped(BODY))


def test_stripe_events_filter_with_wildcards():
    assert STRIPE.wanted({}, {"type": "charge.succeeded"}, STRIPE_PARAMS)
    assert not STRIPE.wanted({}, {"type": "charge.failed"}, STRIPE_PARAMS)
    assert STRIPE.wanted({}, {"type": "invoice.paid"}, StripeTriggerParameters(events=["invoice.*"]))


# ---- Slack: X-Slack-Signature = v0=HMAC("v0:ts:body"), timestamp within 5 minutes --------------------------------

SLACK = SlackTrigger()
SLACK_PARAMS = SlackTriggerParameters(events=["app_mention"])


def slack_headers(stamp: int, body: bytes = BODY, secret: str = SECRET) -> dict:
    return {"X-Slack-Request-Timestamp": str(stamp),
            "X-Slack-Signature": "v0=" + hexmac(b"v0:" + str(stamp).encode() + b":" + body, secret)}


def slack(headers: dict, body: bytes = BODY) -> str | None:
    return SLACK.refusal(Headers(headers), body, SECRET, NOW, SLACK_PARAMS)


def test_slack_good_signature_passes():
    assert slack(slack_headers(int(NOW))) is None


@pytest.mark.parametrize("headers, reason", [
    ({}, "no X-Slack-Signature"),
    ({"X-Slack-Signature": "v0=" + "0" * 64}, "no X-Slack-Signature or X-Slack-Request-Timestamp"),
    (slack_headers(int(NOW), secret="other"), "does not match"),
    ({**slack_headers(int(NOW)), "X-Slack-Request-Timestamp": str(int(NOW) + 1)}, "does not match"),
    ({**slack_headers(int(NOW)), "X-Slack-Request-Timestamp": "yesterday"}, "300 s away"),
])
def test_slack_bad_or_missing_signature_is_refused(headers, reason):
    assert reason in slack(headers)


def test_slack_replayed_timestamp_is_refused_even_when_signed():
    assert "300 s away" in slack(slack_headers(int(NOW) - 301))


def test_slack_body_changed_by_one_byte_is_refused():
    assert "does not match" in slack(slack_headers(int(NOW)), flipped(BODY))


def test_slack_url_verification_and_event_filter():
    assert SLACK.handshake({}, {"type": "url_verification", "challenge": "c-1"}) == (200, {"challenge": "c-1"})
    assert SLACK.wanted({}, {"type": "event_callback", "event": {"type": "app_mention"}}, SLACK_PARAMS)
    assert not SLACK.wanted({}, {"type": "event_callback", "event": {"type": "message"}}, SLACK_PARAMS)
    assert not SLACK.wanted({}, {"type": "event_callback"}, SLACK_PARAMS)


# ---- Telegram: X-Telegram-Bot-Api-Secret-Token equals the secret_token given to setWebhook ----------------------

TELEGRAM = TelegramTrigger()
TELEGRAM_PARAMS = TelegramTriggerParameters(updates=["message"])


def telegram(headers: dict) -> str | None:
    return TELEGRAM.refusal(Headers(headers), BODY, SECRET, time.time(), TELEGRAM_PARAMS)


def test_telegram_secret_token_passes_and_others_are_refused():
    assert telegram({"X-Telegram-Bot-Api-Secret-Token": SECRET}) is None
    assert "no X-Telegram" in telegram({})
    assert "not this trigger's secret" in telegram({"X-Telegram-Bot-Api-Secret-Token": SECRET[:-1]})
    assert "not this trigger's secret" in telegram({"X-Telegram-Bot-Api-Secret-Token": SECRET + "x"})


def test_telegram_update_kinds():
    assert TELEGRAM.wanted({}, {"update_id": 1, "message": {}}, TELEGRAM_PARAMS)
    assert not TELEGRAM.wanted({}, {"update_id": 1, "callback_query": {}}, TELEGRAM_PARAMS)
    with pytest.raises(ValueError, match="not Telegram update kinds"):
        TelegramTriggerParameters(updates=["messages"])
