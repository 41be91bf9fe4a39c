"""The workflows list: create, search, filter, activate, duplicate, delete, import and export."""

import json

from playwright.sync_api import Page, expect

MANUAL = {"nodes": [{"id": "t", "name": "Start", "type": "manual_trigger", "position": [0, 0]}],
          "connections": []}
HOOK = {"nodes": [{"id": "h", "name": "Hook", "type": "webhook", "position": [0, 0],
                   "parameters": {"path": "list-test"}}], "connections": []}


def _row(page: Page, name: str):
    return page.get_by_test_id("workflow-row").filter(has=page.get_by_role("link", name=name, exact=True))


def test_create_opens_the_editor(signed_in_page: Page, base_url: str):
    page = signed_in_page
    expect(page.get_by_text("No workflows yet")).to_be_visible()
    page.get_by_role("button", name="New workflow").click()
    page.get_by_label("Workflow name").fill("Invoices")
    page.get_by_role("button", name="Create").click()
    expect(page).to_have_url(f"{base_url}/workflows/" + page.url.rsplit("/", 1)[-1])
    expect(page.get_by_label("Workflow name")).to_have_value("Invoices")
    expect(page.get_by_test_id("canvas")).to_be_visible()


def test_search_tags_activate_duplicate_delete(signed_in_page: Page, base_url: str, account):
    page = signed_in_page
    account.api.post("/workflows", json={"name": "Orders sync", "tags": ["sales"], "definition": HOOK})
    account.api.post("/workflows", json={"name": "Nightly report", "tags": ["ops"], "definition": MANUAL})
    page.reload()
    expect(page.get_by_test_id("workflow-row")).to_have_count(2)

    page.get_by_label("Search workflows").fill("orders")
    expect(page.get_by_test_id("workflow-row")).to_have_count(1)
    page.get_by_label("Search workflows").fill("")
    expect(page.get_by_test_id("workflow-row")).to_have_count(2)
    page.get_by_label("Filter by tag").click()
    page.get_by_role("option", name="ops").click()
    expect(page.get_by_test_id("workflow-row")).to_have_count(1)
    expect(_row(page, "Nightly report")).to_be_visible()
    page.get_by_label("Filter by tag").click()
    page.get_by_role("option", name="All tags").click()

    page.get_by_role("switch", name="Active: Orders sync").click()
    expect(page.get_by_role("switch", name="Active: Orders sync")).to_be_checked()
    page.get_by_role("radio", name="Active", exact=True).click()
    expect(page.get_by_test_id("workflow-row")).to_have_count(1)
    page.get_by_role("radio", name="All", exact=True).click()
    # A manual trigger cannot start a workflow on its own: the API says so and the switch stays off.
    page.get_by_role("switch", name="Active: Nightly report").click()
    expect(page.get_by_text("no trigger that can start it on its own")).to_be_visible()
    expect(page.get_by_role("switch", name="Active: Nightly report")).not_to_be_checked()

    page.get_by_role("button", name="Actions for Nightly report", exact=True).click()
    page.get_by_role("menuitem", name="Duplicate").click()
    expect(page.get_by_test_id("workflow-row")).to_have_count(3)

    page.get_by_role("button", name="Actions for Nightly report", exact=True).click()
    page.get_by_role("menuitem", name="Delete").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Nightly report")
    dialog.get_by_role("button", name="Delete").click()
    expect(page.get_by_test_id("workflow-row")).to_have_count(2)
    assert [w["name"] for w in account.api.get("/workflows").json()["items"]].count("Nightly report") == 0


def test_export_then_import_round_trips(signed_in_page: Page, account, tmp_path):
    page = signed_in_page
    account.api.post("/workflows", json={"name": "Exported", "tags": ["io"], "definition": MANUAL})
    page.reload()
    page.get_by_role("button", name="Actions for Exported", exact=True).click()
    with page.expect_download() as download:
        page.get_by_role("menuitem", name="Export").click()
    exported = json.loads(download.value.path().read_text())
    assert exported["name"] == "Exported" and exported["nodes"][0]["type"] == "manual_trigger"

    file = tmp_path / "imported.json"
    file.write_text(json.dumps({**exported, "name": "Imported copy"}))
    page.locator("#workflow-import input[type=file]").set_input_files(str(file))
    expect(_row(page, "Imported copy")).to_be_visible()

    broken = tmp_path / "broken.json"
    broken.write_text("{ not json")
    page.locator("#workflow-import input[type=file]").set_input_files(str(broken))
    expect(page.get_by_text("is not a JSON workflow file")).to_be_visible()
