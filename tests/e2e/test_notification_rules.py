"""Settings > Notifications: a Slack channel pointing at a local receiver (it stands in for Slack, a
third-party SaaS) and an on-failure rule, made in the UI; "Send test" reaches it; a failing run sends the
rule's message there, and the bell counts the failure without a page reload."""

from __future__ import annotations

import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PARTNER_HOST
from tests.http_receiver import Receiver


@pytest.fixture(autouse=True)
def no_page_errors(page: Page):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield
    assert errors == []


@pytest.fixture
def slack():
    with Receiver(host=PARTNER_HOST) as receiver:  # the app may reach this address (LINKFLOW_HTTP_ALLOW_LIST)
        yield receiver


def failing_workflow(account, name: str) -> str:
    path = f"rule-{uuid.uuid4().hex[:8]}"
    definition = {"nodes": [
        {"id": "hook", "name": "Webhook", "type": "webhook", "position": [0, 0],
         "parameters": {"path": path, "method": "POST", "respond": "last_node"}},
        {"id": "stop", "name": "Check stock", "type": "stop_and_error", "position": [250, 0],
         "parameters": {"message": "order has no customer"}}],
        "connections": [{"from": "hook", "to": "stop"}]}
    workflow = account.api.post("/workflows", json={"name": name, "definition": definition}).json()
    assert account.api.post(f"/workflows/{workflow['id']}/activate").status_code == 200
    return path


def test_an_on_failure_rule_made_in_the_ui_posts_to_slack_and_the_bell_updates_live(
        signed_in_page: Page, base_url: str, account, slack):
    page = signed_in_page
    name = f"Rule orders {uuid.uuid4().hex[:4]}"
    path = failing_workflow(account, name)

    page.goto(base_url + "/settings")
    page.get_by_role("tab", name="Notifications").click()
    page.get_by_label("Channel name").fill("Ops Slack")
    page.get_by_label("Channel kind").select_option("slack")
    page.get_by_label("Webhook URL").fill(slack.url("/services/T1/B1/e2e-secret"))
    page.get_by_role("button", name="Add channel").click()
    row = page.get_by_test_id("channel-row").filter(has_text="Ops Slack")
    expect(row).to_contain_text("webhook_url")
    expect(page.get_by_text("e2e-secret")).to_have_count(0)  # the URL is never shown back

    row.get_by_role("button", name="Send test to Ops Slack").click()
    expect(page.get_by_test_id("channel-test-result")).to_contain_text("Ops Slack: sent")
    [test] = slack.wait_for(1)
    assert test.path == "/services/T1/B1/e2e-secret" and "Test message" in test.json()["text"]

    page.get_by_label("Rule name").fill("Orders failing")
    page.get_by_label("Rule trigger").select_option("failure")
    page.get_by_label("Rule workflow").select_option(label=name)
    page.get_by_label("Rule channel").select_option(label="Ops Slack")
    page.get_by_role("button", name="Add rule").click()
    rule = page.get_by_test_id("rule-row").filter(has_text="Orders failing")
    expect(rule).to_contain_text(name)
    expect(rule).to_contain_text("on")
    rule.get_by_role("button", name="Pause or resume rule Orders failing").click()
    expect(rule).to_contain_text("paused")
    assert [r["enabled"] for r in account.api.get("/notifications/rules").json()["items"]] == [False]
    rule.get_by_role("button", name="Pause or resume rule Orders failing").click()
    expect(rule).not_to_contain_text("paused")

    bell = page.get_by_role("button", name="Notifications")
    expect(bell).not_to_contain_text("1")
    failed = httpx.post(f"{base_url}/webhook/{path}", json={"id": 1}, timeout=30)
    assert failed.status_code == 500
    execution_id = failed.json()["error"]["details"]["execution_id"]

    _, message = slack.wait_for(2, timeout_s=60)
    assert f'Workflow "{name}" failed' in message.json()["text"] and execution_id in message.json()["text"]
    expect(bell).to_contain_text("1", timeout=30_000)  # no reload: the bell refreshed itself
