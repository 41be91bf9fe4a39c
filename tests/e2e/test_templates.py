"""The templates gallery as a new user meets it: from the empty workflows list to a workflow in the editor."""

import re

from playwright.sync_api import Page, expect


def _cards(page: Page):
    return page.get_by_test_id("template-card")


def test_start_from_a_template_creates_a_workflow_that_opens_in_the_editor(signed_in_page: Page, base_url: str,
                                                                          account):
    page = signed_in_page
    expect(page.get_by_text("No workflows yet")).to_be_visible()
    page.get_by_role("button", name="Start from a template").click()
    expect(page).to_have_url(f"{base_url}/templates")
    expect(_cards(page).first).to_be_visible()
    assert _cards(page).count() >= 20

    page.get_by_label("Search templates").fill("csv postgres")
    expect(_cards(page)).to_have_count(1)
    expect(_cards(page)).to_contain_text("Import a CSV from S3 into PostgreSQL")
    expect(_cards(page)).to_contain_text("Credentials to pick: AWS S3, PostgreSQL")
    page.get_by_label("Search templates").fill("")
    page.get_by_label("Filter by category").click()
    page.get_by_role("option", name="Events").click()
    expect(_cards(page)).to_have_count(3)
    page.get_by_label("Filter by category").click()
    page.get_by_role("option", name="All categories").click()
    expect(_cards(page).nth(19)).to_be_visible()

    page.get_by_role("button", name="Preview Import a CSV from S3 into PostgreSQL").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_test_id("template-node")).to_have_count(4)
    expect(dialog.get_by_test_id("template-need")).to_have_text(["Download CSV: AWS S3", "Insert rows: PostgreSQL"])
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_have_count(0)

    page.get_by_role("button", name="Preview Webhook → transform → respond").click()
    expect(dialog.get_by_test_id("template-node")).to_have_count(3)
    expect(dialog.get_by_role("img", name="Template preview")).to_contain_text("Shape order")
    dialog.get_by_role("button", name="Use template").click()

    expect(page).to_have_url(re.compile(re.escape(base_url) + r"/workflows/[0-9a-f]{32}$"))
    expect(page.get_by_label("Workflow name")).to_have_value("Webhook → transform → respond")
    expect(page.get_by_test_id("canvas")).to_have_attribute("data-node-count", "3")
    workflows = account.api.get("/workflows").json()
    assert [w["name"] for w in workflows["items"]] == ["Webhook → transform → respond"]
    assert workflows["items"][0]["active"] is False


def test_the_empty_canvas_offers_the_gallery(open_editor, base_url):
    editor = open_editor("Blank")
    editor.page.get_by_role("link", name="or start from a template").click()
    expect(editor.page).to_have_url(f"{base_url}/templates")
    expect(_cards(editor.page).first).to_be_visible()
