"""The notification bell: a failed production run of my workflow shows up, opens its execution, is read."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect


@pytest.fixture(autouse=True)
def no_page_errors(page: Page):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield
    assert errors == []


def test_a_failed_webhook_run_rings_the_bell_and_opens_the_execution(signed_in_page: Page, base_url: str, account):
    page = signed_in_page
    path = f"bell-{uuid.uuid4().hex[:8]}"
    definition = {"nodes": [
        {"id": "hook", "name": "Webhook", "type": "webhook", "position": [0, 0],
         "parameters": {"path": path, "method": "POST", "respond": "last_node"}},
        {"id": "stop", "name": "Check stock", "type": "stop_and_error", "position": [250, 0],
         "parameters": {"message": "order has no customer"}}],
        "connections": [{"from": "hook", "to": "stop"}]}
    workflow = account.api.post("/workflows", json={"name": "Bell orders", "definition": definition}).json()
    assert account.api.post(f"/workflows/{workflow['id']}/activate").status_code == 200
    bell = page.get_by_role("button", name="Notifications")
    expect(bell).to_be_visible()
    bell.click()
    expect(page.get_by_text("Nothing yet.")).to_be_visible()
    page.keyboard.press("Escape")

    failed = httpx.post(f"{base_url}/webhook/{path}", json={"id": 1}, timeout=30)
    assert failed.status_code == 500
    execution_id = failed.json()["error"]["details"]["execution_id"]

    # The notification is written by the notifications consumer once the outbox relay has passed the
    # failure on: wait for it, then reload (the bell counts unread notifications when the page loads).
    deadline = time.monotonic() + 30
    while account.api.get("/notifications").json()["unread"] == 0:
        assert time.monotonic() < deadline, "no notification 30 s after the failed run"
        time.sleep(0.25)
    page.reload()
    expect(bell).to_contain_text("1", timeout=20_000)
    bell.click()
    item = page.get_by_role("button", name="Workflow \"Bell orders\" failed")
    expect(item).to_contain_text("at node Check stock")
    item.click()
    expect(page).to_have_url(f"{base_url}/executions/{execution_id}")
    expect(bell).not_to_contain_text("1")
    inbox = account.api.get("/notifications").json()
    assert inbox["unread"] == 0 and inbox["items"][0]["payload"]["execution_id"] == execution_id
