"""The global search box: Ctrl+K (or the sidebar's button) opens it on every page with the sidebar; it finds
the team's workflows, executions and credentials by name as you type, and a result opens its page. Embedded SQL backend (the
Elasticsearch backend answers the same API; tests/integration/test_search_elasticsearch.py covers it)."""

from __future__ import annotations

import uuid

import pytest
from conftest import new_account
from playwright.sync_api import Page, expect


@pytest.fixture(autouse=True)
def no_page_errors(page: Page):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield
    assert errors == []


def test_ctrl_k_finds_workflows_executions_and_credentials(signed_in_page: Page, base_url: str, account):
    page = signed_in_page
    word = f"quokka{uuid.uuid4().hex[:6]}"
    definition = {"nodes": [{"id": "t", "name": "Start", "type": "manual_trigger", "position": [0, 0]}],
                  "connections": []}
    workflow = account.api.post("/workflows", json={"name": f"Invoices {word}", "definition": definition}).json()
    run = account.api.post(f"/workflows/{workflow['id']}/run", json={"input": [{"order": f"{word}-77"}]})
    assert run.status_code == 202, run.text
    execution_id = run.json()["execution_id"]
    credential = account.api.post("/credentials", json={"name": f"Portal {word}", "type": "http_basic",
                                                        "values": {"username": "ops", "password": "pw-not-shown"}})
    assert credential.status_code == 201, credential.text
    stranger = new_account(base_url, "Someone Else")
    stranger.api.post("/workflows", json={"name": f"Stranger {word}", "definition": definition})

    dialog = page.get_by_role("dialog")
    page.keyboard.press("Control+k")
    expect(dialog).to_be_visible()
    box = dialog.get_by_role("textbox", name="Search everything")
    expect(box).to_be_focused()
    box.fill(word)
    results = dialog.get_by_test_id("search-result")
    # the workflow, its execution (the word is in its trigger data) and the credential; never the other team's
    expect(results).to_have_count(3)
    expect(results.nth(0)).to_contain_text(f"Invoices {word}")
    expect(results.nth(0)).to_contain_text("workflow")
    expect(results.nth(1)).to_contain_text(f"Invoices {word} · {execution_id[:8]}")
    expect(results.nth(2)).to_contain_text(f"Portal {word}")
    expect(dialog).not_to_contain_text("Stranger")
    expect(dialog).not_to_contain_text("pw-not-shown")
    results.nth(0).click()
    expect(page).to_have_url(f"{base_url}/workflows/{workflow['id']}")
    expect(dialog).to_have_count(0)

    # the sidebar's button opens it too (the editor has no sidebar: back to a page that has one); data inside
    # an execution finds the execution; Enter opens it
    page.goto(base_url + "/executions")
    page.get_by_role("button", name="Search (Ctrl+K)").click()
    box = page.get_by_role("dialog").get_by_role("textbox", name="Search everything")
    box.fill(f"{word}-77")
    expect(page.get_by_role("dialog").get_by_test_id("search-result")).to_have_count(1)
    expect(page.get_by_role("dialog").get_by_test_id("search-result")).to_contain_text("succeeded")
    box.press("Enter")
    expect(page).to_have_url(f"{base_url}/executions/{execution_id}")
    # the URL changes before the execution page has replaced the list's; a dialog opened on the page being left
    # goes with it (and the text typed into it), so wait for the new page before opening the search again
    expect(page.get_by_role("heading", name="Execution", exact=True)).to_be_visible()
    expect(page.get_by_test_id("execution-status")).to_contain_text("succeeded")

    page.keyboard.press("Control+k")
    box = page.get_by_role("dialog").get_by_role("textbox", name="Search everything")
    box.fill("no-such-thing-" + word)
    expect(page.get_by_role("dialog")).to_contain_text("Nothing found for")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    stranger.api.close()
