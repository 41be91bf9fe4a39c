import base64
import hashlib
import hmac

import pytest
from pydantic import ValidationError

from nodes.builtin.webhook import Webhook, WebhookParameters
from nodes.sdk.testing import run_node

NOW = 1_768_478_400


async def test_passes_the_request_item_through():
    request = [{"json": {"headers": {}, "query": {"a": "1"}, "body": {"x": 1}}}]
    assert (await run_node(Webhook, request, params={"path": "orders"}))["main"] == request


def test_defaults_and_leading_slash():
    params = WebhookParameters(path="/orders/new/")
    assert (params.path, params.method, params.respond, params.auth) == ("orders/new", "POST", "immediately", "none")


@pytest.mark.parametrize("path", ["", "/", "orders new", "a//b", "ä"])
def test_unusable_paths_are_refused(path):
    with pytest.raises(ValidationError, match="not usable in a URL"):
        WebhookParameters(path=path)


def test_auth_mode_requires_its_settings():
    with pytest.raises(ValidationError, match="auth='basic' needs username and password"):
        WebhookParameters(path="p", auth="basic")
    with pytest.raises(ValidationError, match="header_value"):
        WebhookParameters(path="p", auth="header")


def test_header_auth():
    params = WebhookParameters(path="p", auth="header", header_name="X-Key", header_value="s3cret")
    assert params.refusal({"X-Key": "s3cret"}, b"", NOW) is None
    assert "X-Key" in params.refusal({"X-Key": "wrong"}, b"", NOW)
    assert params.refusal({}, b"", NOW)


def test_basic_auth():
    params = WebhookParameters(path="p", auth="basic", username="ada", password="pw")
    good = "Basic " + base64.b64encode(b"ada:pw").decode()
    assert params.refusal({"authorization": good}, b"", NOW) is None
    assert params.refusal({"authorization": "Basic " + base64.b64encode(b"ada:no").decode()}, b"", NOW)


def test_hmac_auth_with_timestamp():
    params = WebhookParameters(path="p", auth="hmac", hmac_secret="k")
    body = b'{"a":1}'
    signature = hmac.new(b"k", f"{NOW}.".encode() + body, hashlib.sha256).hexdigest()
    headers = {"X-Timestamp": str(NOW), "X-Signature": f"sha256={signature}"}
    assert params.refusal(headers, body, NOW + 10) is None
    assert "stale" in params.refusal(headers, body, NOW + 301)
    assert "signature" in params.refusal(headers, b'{"a":2}', NOW)


def test_hmac_auth_without_timestamp_check():
    params = WebhookParameters(path="p", auth="hmac", hmac_secret="k", timestamp_tolerance_s=0)
    signature = hmac.new(b"k", b"body", hashlib.sha256).hexdigest()
    assert params.refusal({"X-Signature": signature}, b"body", NOW) is None
