"""The "Import from n8n" dialog of the workflows list: paste, upload, the report, and refused files."""

import json
from pathlib import Path

from playwright.sync_api import Page, expect

FIXTURES = Path(__file__).parents[1] / "fixtures" / "n8n"


def test_paste_an_n8n_workflow_then_open_it(signed_in_page: Page, base_url: str, account):
    page = signed_in_page
    page.get_by_role("button", name="Import from n8n").click()
    page.get_by_label("n8n workflow JSON").fill((FIXTURES / "order_routing.json").read_text())
    page.get_by_role("button", name="Import", exact=True).click()
    result = page.get_by_test_id("n8n-import-result")
    expect(result).to_contain_text("Imported “Route paid orders”")
    expect(result).to_contain_text("Everything was converted.")
    page.get_by_role("button", name="Open workflow").click()
    expect(page.get_by_label("Workflow name")).to_have_value("Route paid orders")
    expect(page.get_by_test_id("canvas")).to_be_visible()
    saved = account.api.get("/workflows").json()["items"]
    assert [w["name"] for w in saved] == ["Route paid orders"]


def test_upload_shows_what_was_not_converted(signed_in_page: Page, account):
    page = signed_in_page
    page.get_by_role("button", name="Import from n8n").click()
    page.locator("#n8n-import-upload input[type=file]").set_input_files(str(FIXTURES / "partly_unsupported.json"))
    expect(page.get_by_label("n8n workflow JSON")).to_have_value(
        (FIXTURES / "partly_unsupported.json").read_text())
    page.get_by_role("button", name="Import", exact=True).click()
    problems = page.get_by_test_id("n8n-import-problem")
    expect(problems.first).to_be_visible()
    expect(page.get_by_test_id("n8n-import-result")).to_contain_text("Mark seen")
    expect(page.get_by_test_id("n8n-import-result")).to_contain_text("arrow functions")
    expect(page.get_by_test_id("n8n-import-result")).to_contain_text("Append to sheet")
    page.get_by_role("button", name="Close").click()
    expect(page.get_by_test_id("workflow-row")).to_have_count(1)


def test_refused_files_say_why_and_create_nothing(signed_in_page: Page, account):
    page = signed_in_page
    page.get_by_role("button", name="Import from n8n").click()
    box = page.get_by_label("n8n workflow JSON")
    box.fill("{ not json")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("This is not JSON")
    box.fill((FIXTURES / "escape_attempt.json").read_text())
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("'constructor' reaches outside the expression")
    box.fill(json.dumps({"nodes": [], "connections": {}, "pinData": {"x": [{"json": {"__proto__": {}}}]}}))
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("'__proto__'")
    assert account.api.get("/workflows").json()["items"] == []
