"""The Insights page in a real browser: the empty state, then totals, the workflow table, time saved per run
set in the page, sorting, and the drill-down into a workflow's executions."""

from __future__ import annotations

import re
import time
import uuid

import httpx
import pytest
from playwright.sync_api import Page, expect

BAD = {"nodes": [
    {"id": "t", "name": "Start", "type": "manual_trigger", "position": [0, 0]},
    {"id": "x", "name": "Reject", "type": "stop_and_error", "position": [260, 0],
     "parameters": {"message": "order {{ $json.n }} is invalid"}}],
    "connections": [{"from": "t", "to": "x"}]}
COUNTED = 30  # s: the analytics consumer counts a finished run within this


@pytest.fixture(autouse=True)
def no_page_errors(page: Page):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield
    assert errors == []


def hook_workflow(api: httpx.Client, name: str) -> tuple[str, str]:
    path = f"orders-{uuid.uuid4().hex[:12]}"
    definition = {"nodes": [
        {"id": "h", "name": "Hook", "type": "webhook", "position": [0, 0], "parameters": {"path": path}},
        {"id": "s", "name": "Double", "type": "set", "position": [260, 0],
         "parameters": {"fields": [{"name": "double", "value": "{{ $json.body.n * 2 }}"}]}}],
        "connections": [{"from": "h", "to": "s"}]}
    workflow = api.post("/workflows", json={"name": name, "definition": definition})
    assert workflow.status_code == 201, workflow.text
    assert api.post(f"/workflows/{workflow.json()['id']}/activate").status_code == 200
    return workflow.json()["id"], path


def call(base_url: str, path: str, times: int) -> None:
    for n in range(times):
        response = httpx.post(f"{base_url}/webhook/{path}", json={"n": n}, timeout=30)
        assert response.status_code in (200, 202), response.text


def run_failing(api: httpx.Client, name: str) -> str:
    workflow_id = api.post("/workflows", json={"name": name, "definition": BAD}).json()["id"]
    execution_id = api.post(f"/workflows/{workflow_id}/run", json={"input": {"n": 7}}).json()["execution_id"]
    deadline = time.monotonic() + 30
    while api.get(f"/executions/{execution_id}").json()["status"] != "failed":
        assert time.monotonic() < deadline, "the execution did not fail"
        time.sleep(0.2)
    return workflow_id


def counted(api: httpx.Client, executions: int) -> None:
    """Wait until the analytics consumer has counted this many runs (it runs beside the app)."""
    deadline = time.monotonic() + COUNTED
    while api.get("/analytics/summary").json()["executions"] < executions:
        assert time.monotonic() < deadline, "the runs were not counted into Insights"
        time.sleep(0.3)


def rows(page: Page):
    return page.get_by_test_id("insights-row")


def test_insights_totals_table_time_saved_sort_and_drill_down(signed_in_page: Page, base_url: str, account):
    page = signed_in_page
    page.goto(f"{base_url}/insights")
    expect(page.get_by_role("heading", name="No executions in this period yet")).to_be_visible()

    orders_id, path = hook_workflow(account.api, "Orders sync")
    # time saved can be set before a workflow ever ran: runs count the value set when they finish
    page.get_by_role("button", name="Time saved per run").click()
    page.get_by_label("Workflow", exact=True).click()
    page.get_by_role("option", name="Orders sync", exact=True).click()
    page.get_by_label("Minutes saved per run").fill("1")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Time saved per run of “Orders sync” set to 1 min")).to_be_visible()
    assert account.api.get(f"/analytics/workflows/{orders_id}/time-saved").json()["minutes_per_run"] == 1
    call(base_url, path, 2)
    run_failing(account.api, "Invoice check")
    counted(account.api, 3)

    page.reload()
    expect(rows(page)).to_have_count(2)
    expect(page.get_by_test_id("total-executions").get_by_test_id("value")).to_have_text("3")
    expect(page.get_by_test_id("total-failure-rate").get_by_test_id("value")).to_have_text("33.3 %")
    expect(page.get_by_test_id("total-time-saved").get_by_test_id("value")).to_have_text("2 min")
    expect(page.get_by_test_id("total-executions").get_by_test_id("change")).to_have_text(
        "nothing to compare with in the previous 7 days")
    expect(page.get_by_test_id("chart-executions").locator(".recharts-bar-rectangle").first).to_be_visible()
    expect(page.get_by_test_id("insights-failure")).to_have_count(1)
    expect(page.get_by_test_id("insights-failure")).to_contain_text("Reject")
    expect(page.get_by_test_id("insights-failure")).to_contain_text("Invoice check")
    orders = rows(page).filter(has_text="Orders sync")
    expect(orders.get_by_test_id("runs")).to_have_text("2")
    expect(orders.get_by_test_id("time-saved")).to_have_text("2 min")
    expect(orders).to_contain_text("(1 min/run)")
    expect(rows(page).filter(has_text="Invoice check").get_by_test_id("time-saved")).to_have_text("not set")
    expect(rows(page).first).to_contain_text("Orders sync")  # by runs, most first

    # time saved per run, set in the page, counts for the runs that finish from then on
    page.get_by_role("button", name="Set time saved per run of Orders sync").click()
    minutes = page.get_by_label("Minutes saved per run")
    expect(minutes).to_have_value("1")
    minutes.fill("lots")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("not a number of minutes")
    minutes.fill("5")
    page.get_by_role("button", name="Save").click()
    expect(orders).to_contain_text("(5 min/run)")
    assert account.api.get(f"/analytics/workflows/{orders_id}/time-saved").json()["minutes_per_run"] == 5
    call(base_url, path, 2)
    counted(account.api, 5)
    page.reload()
    expect(page.get_by_test_id("total-time-saved").get_by_test_id("value")).to_have_text("12 min")  # 2×1 + 2×5
    expect(rows(page).filter(has_text="Orders sync").get_by_test_id("time-saved")).to_have_text("12 min")

    # sorting
    page.get_by_role("button", name="Sort by failures").click()
    expect(rows(page).first).to_contain_text("Invoice check")
    page.get_by_role("button", name="Sort by failures").click()  # again: fewest first
    expect(rows(page).first).to_contain_text("Orders sync")
    page.get_by_role("button", name="Sort by runs").click()
    expect(rows(page).first).to_contain_text("Orders sync")

    page.get_by_role("radio", name="24h").click()
    expect(page.get_by_test_id("total-executions").get_by_test_id("change")).to_contain_text(
        "previous 24 hours")
    expect(page.get_by_test_id("total-executions").get_by_test_id("value")).to_have_text("5")

    # drill down: the executions page, filtered to the workflow
    page.get_by_role("link", name="Executions of Orders sync", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/executions\?workflow_id={orders_id}&range=24h$"))
    executions = page.get_by_test_id("execution-row")
    expect(executions).to_have_count(4, timeout=15_000)
    for n in range(4):
        expect(executions.nth(n)).to_contain_text("Orders sync")
    expect(page.get_by_label("Filter by workflow")).to_contain_text("Orders sync")

    page.goto(f"{base_url}/insights")
    page.get_by_role("link", name="Failed executions of Invoice check", exact=True).click()
    expect(executions).to_have_count(1, timeout=15_000)
    expect(executions.first).to_have_attribute("data-status", "failed")
