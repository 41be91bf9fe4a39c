"""Issue #12: what is live is shown plainly, Publish makes the newest version live; two editor bugs."""

import json
import time

import httpx
from playwright.sync_api import expect


def _greeter(path: str, greeting: str) -> dict:
    return {
        "nodes": [
            {"id": "hook", "name": "Hook", "type": "webhook", "position": [0, 0],
             "parameters": {"path": path, "respond": "last_node"}},
            {"id": "greet", "name": "Greet", "type": "set", "position": [300, 0],
             "parameters": {"fields": [{"name": "greeting", "value": greeting}]}},
        ],
        "connections": [{"from": "hook", "to": "greet"}],
    }


def _greeting_becomes(url: str, expected: str, within_s: float = 15) -> str:
    """Activation reaches the webhook routes through the event bus: wait a moment for the change."""
    deadline, seen = time.monotonic() + within_s, ""
    while time.monotonic() < deadline:
        response = httpx.post(url, json={}, timeout=30)
        seen = response.json().get("greeting", "") if response.status_code == 200 else str(response.status_code)
        if seen == expected:
            return seen
        time.sleep(0.25)
    return seen


def test_saving_an_active_workflow_shows_what_is_live_and_publish_makes_the_new_version_live(open_editor, account):
    editor = open_editor("Greeter", _greeter("e2e-publish", "hello v1"))
    page = editor.page
    live = page.get_by_test_id("live-version")
    expect(live).to_have_count(0)  # inactive: nothing is live
    page.get_by_role("switch", name="Active").click()
    expect(page.get_by_text("Workflow is active: its triggers are live")).to_be_visible()
    expect(live).to_have_text("live v1")
    url = editor.open("Hook").get_by_test_id("production-url").inner_text()
    assert _greeting_becomes(url, "hello v1") == "hello v1"

    panel = editor.open("Greet")
    panel.get_by_label("Fields 1 Value").fill("hello v2")
    expect(live).to_have_text("live v1 · editing v2 (unsaved)")
    editor.save()
    expect(page.get_by_text("Version 1 is still live: Publish to make version 2 live")).to_be_visible()
    expect(live).to_have_text("live v1 · editing v2")
    assert httpx.post(url, json={}, timeout=30).json()["greeting"] == "hello v1"  # saved, not live

    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Published: version 2 is live")).to_be_visible()
    expect(live).to_have_text("live v2")
    expect(page.get_by_role("button", name="Publish")).to_have_count(0)
    assert _greeting_becomes(url, "hello v2") == "hello v2"
    workflow = account.api.get(f"/workflows/{editor.workflow_id}").json()
    assert (workflow["active_version"], workflow["latest_version"]) == (2, 2)


def test_a_missing_workflow_leaves_no_toolbar_of_the_previous_one(open_editor, base_url, account):
    editor = open_editor("Shown before", _greeter("e2e-before", "hi"))
    page = editor.page
    page.goto(f"{base_url}/workflows/0123456789abcdef0123456789abcdef")
    expect(page.get_by_role("alert").or_(page.locator(".rt-CalloutRoot"))).to_contain_text("not found")
    expect(page.get_by_role("button", name="Run", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name="Save", exact=True)).to_have_count(0)
    expect(page.get_by_role("switch", name="Active")).to_have_count(0)
    assert account.api.get("/executions", params={"workflow_id": editor.workflow_id}).json()["items"] == []


def test_test_input_belongs_to_its_workflow(open_editor, base_url):
    first = open_editor("First", _greeter("e2e-input-1", "one"))
    page = first.page
    page.get_by_role("button", name="Test input").click()
    page.get_by_label("Test input JSON").fill(json.dumps({"body": {"only": "first"}}))
    page.keyboard.press("Escape")
    second = open_editor("Second", _greeter("e2e-input-2", "two"))
    page.get_by_role("button", name="Test input").click()
    expect(page.get_by_label("Test input JSON")).to_have_value("{}")
    page.keyboard.press("Escape")
    page.goto(f"{base_url}/workflows/{first.workflow_id}")
    expect(first.canvas).to_have_attribute("data-ready", "true")
    page.get_by_role("button", name="Test input").click()
    expect(page.get_by_label("Test input JSON")).to_have_value(json.dumps({"body": {"only": "first"}}))
    assert second.workflow_id != first.workflow_id
