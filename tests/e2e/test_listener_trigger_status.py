"""A listener trigger's status in the editor: the Redis Trigger's panel says Not active, then Listening after
activation, counts the message published to its channel and says when it came; pointed at a server LinkFlow may
not connect to it says Error, in words, with what to do. The listener runs in the app (`linkflow up`) against the
real Redis of `infra.sh up redis`, reached through a relay on the partner host (the app refuses loopback)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
import redis
from conftest import PARTNER_HOST, new_account, partner_relay, service_missing
from playwright.sync_api import Locator, expect

CHANNEL = "e2e-orders"


@pytest.fixture
def redis_relay() -> Iterator[tuple[int, str]]:
    """(port on the partner host relaying to the test Redis, that Redis's URL)."""
    url = os.environ.get("LINKFLOW_TEST_REDIS_URL") or service_missing(
        "LINKFLOW_TEST_REDIS_URL is not set: run `bash deploy/local/infra.sh up redis` (make test does)")
    target = urlparse(url)
    with partner_relay(target.hostname, target.port or 6379) as port:
        yield port, url


def _definition(credential_id: str) -> dict:
    return {"nodes": [
        {"id": "orders", "name": "Orders", "type": "redis_trigger", "position": [100, 100],
         "parameters": {"channels": CHANNEL}, "credentials": {"redis": credential_id}},
        {"id": "set", "name": "Seen", "type": "set", "position": [400, 100],
         "parameters": {"fields": [{"name": "seen", "value": "yes"}]}}],
        "connections": [{"from": "orders", "to": "set"}]}


def _refresh_until(panel: Locator, test_id: str, text: str, timeout_s: float = 30) -> None:
    """The listener starts within about a second of activation: press Refresh until the panel says ``text``."""
    deadline = time.monotonic() + timeout_s
    while True:
        panel.get_by_role("button", name="Refresh trigger status").click()
        try:
            expect(panel.get_by_test_id(test_id)).to_contain_text(text, timeout=2000)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def test_redis_trigger_shows_listening_messages_and_its_error(open_editor, account, base_url, redis_relay):
    port, url = redis_relay
    credential = account.api.post("/credentials", json={"name": "Redis via partner host", "type": "redis", "values": {
        "host": PARTNER_HOST, "port": port, "database": int(urlparse(url).path.lstrip("/") or 0)}})
    assert credential.status_code == 201, credential.text
    editor = open_editor("Redis orders", _definition(credential.json()["id"]))
    panel = editor.open("Orders")
    expect(panel.get_by_test_id("listener-status")).to_have_text("Not active")
    expect(panel.get_by_test_id("listener-trigger")).to_contain_text("Activating the workflow starts listening")

    assert account.api.post(f"/workflows/{editor.workflow_id}/activate").status_code == 200
    _refresh_until(panel, "listener-status", "Listening")
    expect(panel.get_by_test_id("listener-messages")).to_have_text("No messages yet")
    expect(panel.get_by_test_id("listener-detail")).to_contain_text(f"subscribed to {CHANNEL}")

    client = redis.Redis.from_url(url)
    try:
        assert client.publish(CHANNEL, '{"order": 1}') >= 1  # the app's listener (and no one else) is subscribed
    finally:
        client.close()
    _refresh_until(panel, "listener-messages", "1 message")
    expect(panel.get_by_test_id("listener-last-message")).to_contain_text("UTC")
    expect(panel.get_by_test_id("listener-error")).to_have_count(0)

    # Another team's editor cannot see it: the API answers 404 as for a missing workflow (no status leaks).
    stranger = new_account(base_url, "Stranger")
    try:
        assert stranger.api.get(f"/workflows/{editor.workflow_id}/triggers").status_code == 404
    finally:
        stranger.api.close()

    # Pointed at loopback, which LinkFlow refuses to connect to: Error, said in words, with what to do.
    assert account.api.post(f"/workflows/{editor.workflow_id}/deactivate").status_code == 200
    loopback = account.api.post("/credentials", json={"name": "Redis on loopback", "type": "redis", "values": {
        "host": "127.0.0.1", "port": urlparse(url).port or 6379}})
    assert loopback.status_code == 201, loopback.text
    assert account.api.patch(f"/workflows/{editor.workflow_id}", json={
        "definition": _definition(loopback.json()["id"])}).status_code == 200
    assert account.api.post(f"/workflows/{editor.workflow_id}/activate").status_code == 200
    editor.page.reload()
    editor.canvas.wait_for()
    panel = editor.open("Orders")
    _refresh_until(panel, "listener-status", "Error")
    error = panel.get_by_test_id("listener-error")
    expect(error).to_contain_text("Not listening: refused to connect to 127.0.0.1")
    expect(error).to_contain_text("LinkFlow tries again in")
    expect(error).to_contain_text("publish the workflow to restart the listener")
    assert account.api.post(f"/workflows/{editor.workflow_id}/deactivate").status_code == 200
