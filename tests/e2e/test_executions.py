"""The executions dashboard and an execution's detail: live list, filters, search, charts, the failed node
and its data, retry from the failed step, bulk delete, and what a viewer may not do."""

from __future__ import annotations

import json
import re
import time
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import new_account

GOOD = {"nodes": [
    {"id": "t", "name": "Start", "type": "manual_trigger", "position": [0, 0]},
    {"id": "s", "name": "Double", "type": "set", "position": [260, 0],
     "parameters": {"fields": [{"name": "double", "value": "{{ $json.n * 2 }}"}]}}],
    "connections": [{"from": "t", "to": "s"}]}
BAD = {"nodes": [
    {"id": "t", "name": "Start", "type": "manual_trigger", "position": [0, 0]},
    {"id": "x", "name": "Reject", "type": "stop_and_error", "position": [260, 0],
     "parameters": {"message": "order {{ $json.n }} is invalid"}}],
    "connections": [{"from": "t", "to": "x"}]}
LIVE = 30_000  # ms: the list refreshes every few seconds, the charts every few refreshes


@pytest.fixture(autouse=True)
def no_page_errors(page: Page):
    """An uncaught error in the browser (a crash, a hydration mismatch) fails the test."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield
    assert errors == []


def create(api: httpx.Client, name: str, definition: dict) -> str:
    response = api.post("/workflows", json={"name": name, "definition": definition})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def run(api: httpx.Client, workflow_id: str, data: dict) -> str:
    response = api.post(f"/workflows/{workflow_id}/run", json={"input": data})
    assert response.status_code == 202, response.text
    execution_id = response.json()["execution_id"]
    deadline = time.monotonic() + 30
    while api.get(f"/executions/{execution_id}").json()["status"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, "the execution did not finish"
        time.sleep(0.2)
    return execution_id


def rows(page: Page):
    return page.get_by_test_id("execution-row")


def choose(page: Page, label: str, option: str) -> None:
    page.get_by_label(label).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_list_updates_live_filters_searches_and_charts(signed_in_page: Page, base_url: str, account):
    page = signed_in_page
    page.goto(f"{base_url}/executions")
    expect(page.get_by_role("heading", name="No executions in this range")).to_be_visible()
    good, bad = create(account.api, "Orders sync", GOOD), create(account.api, "Invoice check", BAD)
    run(account.api, good, {"n": 21, "customer": "ACME Corp"})
    run(account.api, bad, {"n": 7, "customer": "Globex"})
    expect(rows(page)).to_have_count(2, timeout=LIVE)  # no reload: the page polls while open

    expect(page.get_by_test_id("chart-per-hour").locator(".recharts-bar-rectangle").first).to_be_visible(
        timeout=LIVE)
    expect(page.get_by_test_id("failing-workflow")).to_contain_text("Invoice check", timeout=LIVE)
    expect(page.get_by_test_id("failing-node")).to_contain_text("Reject")
    expect(page.get_by_test_id("duration-summary")).to_contain_text("over 2 completed runs")
    expect(page.get_by_test_id("chart-duration").locator(".recharts-line")).to_have_count(2)

    choose(page, "Filter by status", "Failed")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_have_attribute("data-status", "failed")
    expect(rows(page).first).to_contain_text("Invoice check")
    choose(page, "Filter by status", "All statuses")
    expect(rows(page)).to_have_count(2)

    page.get_by_label("Search in execution data").fill("acme corp")
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_contain_text("Orders sync")
    page.get_by_label("Search in execution data").fill("no execution holds this")
    expect(page.get_by_role("heading", name="No executions match")).to_be_visible()
    page.get_by_role("button", name="Clear filters").click()
    expect(rows(page)).to_have_count(2)

    choose(page, "Filter by workflow", "Orders sync")
    expect(rows(page)).to_have_count(1)
    rows(page).first.get_by_text("Orders sync").click()
    expect(page).to_have_url(re.compile(rf"{re.escape(base_url)}/executions/[0-9a-f]{{32}}$"))
    expect(page.get_by_test_id("execution-status")).to_have_text("succeeded")


def test_detail_shows_the_failed_node_its_data_and_retries_from_it(signed_in_page: Page, base_url: str, account):
    page = signed_in_page
    workflow_id = create(account.api, "Invoice check", BAD)
    execution_id = run(account.api, workflow_id, {"n": 7, "customer": "Globex"})
    page.goto(f"{base_url}/executions/{execution_id}")

    expect(page.get_by_test_id("execution-status")).to_have_text("failed")
    error = page.get_by_test_id("execution-error")
    expect(error).to_contain_text("Reject")
    expect(error).to_contain_text("order 7 is invalid")
    canvas = page.get_by_test_id("canvas")
    expect(canvas.locator('[data-node-name="Reject"]')).to_have_attribute("data-run-status", "failed")
    expect(canvas.locator('[data-node-name="Start"]')).to_have_attribute("data-run-status", "succeeded")
    expect(canvas.locator('[data-node-name="Start"]').get_by_test_id("run-badge")).to_contain_text("1 item")
    expect(page.get_by_role("link", name="Debug in editor")).to_have_attribute(
        "href", f"/workflows/{workflow_id}?debug={execution_id}")

    expect(page.get_by_test_id("browser-node")).to_have_text("Reject")  # the failed node is picked first,
    expect(page.get_by_test_id("node-error")).to_contain_text("order 7 is invalid")
    expect(page.get_by_role("radio", name="Input")).to_be_checked()  # showing the items it failed on
    expect(page.get_by_test_id("item-row").first).to_contain_text("Globex")
    page.get_by_test_id("step-row").filter(has_text="Start").click()
    expect(page.get_by_test_id("browser-node")).to_have_text("Start")
    expect(page.get_by_test_id("item-row")).to_have_count(1)
    expect(page.get_by_test_id("item-row").first).to_contain_text("Globex")
    page.get_by_role("tab", name="JSON").click()
    expect(page.get_by_test_id("items-json")).to_contain_text('"customer": "Globex"')
    canvas.locator('[data-node-name="Reject"]').click()  # picking on the canvas works too
    expect(page.get_by_test_id("browser-node")).to_have_text("Reject")
    page.get_by_role("radio", name="Output").click()
    expect(page.get_by_test_id("item-count")).to_contain_text("0 item(s)")
    page.get_by_role("radio", name="Input").click()
    page.get_by_role("tab", name="Table").click()
    expect(page.get_by_test_id("item-row").first).to_contain_text("7")

    page.get_by_role("button", name="Retry from failed step").click()
    expect(page.get_by_text("Retrying from the failed step")).to_be_visible()
    expect(page).not_to_have_url(f"{base_url}/executions/{execution_id}")
    retry_id = page.url.rsplit("/", 1)[-1]
    expect(page.get_by_test_id("execution-status")).to_have_text("failed", timeout=LIVE)
    retry = account.api.get(f"/executions/{retry_id}").json()
    assert retry["mode"] == "retry" and retry["retry_of_id"] == execution_id
    start = {s["node_name"]: s for s in retry["steps"]}["Start"]
    original = {s["node_name"]: s for s in account.api.get(f"/executions/{execution_id}").json()["steps"]}
    assert start["started_at"] == original["Start"]["started_at"]  # reused, not run again

    debug = page.get_by_role("link", name="Debug in editor")  # the retry's link, not the last page's
    expect(debug).to_have_attribute("href", f"/workflows/{workflow_id}?debug={retry_id}")
    debug.click()  # the editor pins this execution's data
    expect(page).to_have_url(f"{base_url}/workflows/{workflow_id}?debug={retry_id}")
    expect(page.get_by_test_id("debug-banner")).to_contain_text(retry_id)


def test_another_teams_execution_is_not_shown_and_no_earlier_one_stays_on_screen(signed_in_page: Page, base_url: str,
                                                                                    account):
    """Opening an execution id of another team says it cannot be shown; what this user looked at just before
    (the same page, another execution) is not left on screen as if it were that one."""
    page = signed_in_page
    own = run(account.api, create(account.api, "Invoice check", BAD), {"n": 3, "customer": "Initech"})
    page.goto(f"{base_url}/executions/{own}")
    expect(page.get_by_test_id("execution-status")).to_have_text("failed")
    other = new_account(base_url, name="Mallory")
    try:
        theirs = run(other.api, create(other.api, "Payroll", GOOD), {"n": 21})
    finally:
        other.api.close()
    page.goto(f"{base_url}/executions/{theirs}")
    expect(page.get_by_text("Cannot show this execution")).to_be_visible()
    expect(page.get_by_test_id("execution-status")).to_have_count(0)
    expect(page.get_by_role("link", name="Debug in editor")).to_have_count(0)
    expect(page.get_by_text("Payroll")).to_have_count(0)
    expect(page.get_by_text("Initech")).to_have_count(0)


def test_bulk_delete_two_executions(signed_in_page: Page, base_url: str, account):
    page = signed_in_page
    workflow_id = create(account.api, "Orders sync", GOOD)
    ids = [run(account.api, workflow_id, {"n": n}) for n in (1, 2, 3)]
    page.goto(f"{base_url}/executions")
    expect(rows(page)).to_have_count(3)
    for execution_id in ids[:2]:
        page.get_by_role("checkbox", name=f"Select execution {execution_id[-8:]}").click()
    expect(page.get_by_text("2 selected")).to_be_visible()
    page.get_by_role("button", name="Delete selected").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("2 selected executions")
    dialog.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("Deleted 2 executions")).to_be_visible()
    expect(rows(page)).to_have_count(1)
    assert [account.api.get(f"/executions/{i}").status_code for i in ids] == [404, 404, 200]


@pytest.fixture
def viewer(base_url, account, tmp_path_factory):
    """Another user who joined `account`'s team as a viewer through the invitation API."""
    member = new_account(base_url, name="Vera Viewer")
    team_id = account.tokens["team"]["id"]
    invited = account.api.post(f"/teams/{team_id}/invitations", json={"email": member.email, "role": "viewer"})
    assert invited.status_code == 201, invited.text
    link = invited.json().get("invite_url") or _mailed_invite_url(tmp_path_factory, member.email)
    token = parse_qs(urlparse(link).query)["token"][0]
    accepted = member.api.post("/teams/invitations/accept", json={"token": token})
    assert accepted.status_code == 200, accepted.text
    yield member
    member.api.close()


def _mailed_invite_url(tmp_path_factory, email: str) -> str:
    """From the mail the app wrote to its outbox file (no SMTP server in the e2e run); it is written
    after the response, so it may take a moment."""
    deadline = time.monotonic() + 15
    while True:
        outboxes = list(tmp_path_factory.getbasetemp().glob("e2e-data*/outbox.jsonl"))
        sent = [json.loads(line) for path in outboxes for line in path.read_text().splitlines()]
        mine = [m for m in sent if m["to"] == email]
        if mine or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert mine, f"no invitation mail to {email} in {outboxes}"
    return next(word for word in mine[-1]["body"].split() if urlparse(word).path == "/invite")


def test_a_viewer_sees_no_bulk_or_edit_buttons_and_the_api_refuses(page: Page, base_url: str, account, viewer):
    workflow_id = create(account.api, "Invoice check", BAD)
    execution_id = run(account.api, workflow_id, {"n": 5})
    team_id = account.tokens["team"]["id"]
    page.goto(f"{base_url}/login")
    page.evaluate("""([access, refresh, team]) => {
        localStorage.setItem("lf_access", access);
        localStorage.setItem("lf_refresh", refresh);
        localStorage.setItem("lf_team", team);
    }""", [viewer.tokens["access_token"], viewer.tokens["refresh_token"], team_id])
    page.goto(f"{base_url}/executions")
    expect(rows(page)).to_have_count(1)
    expect(page.get_by_role("button", name="Delete selected")).to_have_count(0)
    expect(page.get_by_role("button", name="Retry selected")).to_have_count(0)
    expect(page.get_by_role("checkbox")).to_have_count(0)

    rows(page).first.click()
    expect(page.get_by_test_id("execution-error")).to_contain_text("order 5 is invalid")
    for name in ("Retry", "Retry from failed step", "Delete", "Cancel"):
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)

    refused = viewer.api.post("/executions/bulk-delete", json={"ids": [execution_id]},
                              headers={"X-Team-Id": team_id})
    assert refused.status_code == 403, refused.text
    assert account.api.get(f"/executions/{execution_id}").status_code == 200
