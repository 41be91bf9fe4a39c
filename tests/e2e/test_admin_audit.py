"""The admin console (instance admins only) and the audit viewer (team admins only), in Chromium."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from conftest import ROOT, Account, new_account
from playwright.sync_api import Page, expect

PASSWORD = "correct horse battery staple"
HOOK = {"nodes": [{"id": "h", "name": "Hook", "type": "webhook", "position": [0, 0],
                   "parameters": {"path": f"audit-{uuid.uuid4().hex[:8]}"}}], "connections": []}


@pytest.fixture(scope="module")
def admin(base_url, app_data_dir) -> Account:
    """An instance admin made the documented way: `linkflow user create --admin` on the server's data dir."""
    email = f"root-{uuid.uuid4().hex[:8]}@example.com"
    env = {**os.environ, "LINKFLOW_DATA_DIR": str(app_data_dir)}
    subprocess.run([sys.executable, "-m", "backend.cli", "user", "create", "--email", email, "--password", PASSWORD,
                    "--name", "Root Admin", "--admin"], cwd=ROOT, env=env, check=True, capture_output=True)
    tokens = httpx.post(f"{base_url}/api/v1/auth/login", json={"email": email, "password": PASSWORD}).json()
    me = httpx.get(f"{base_url}/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    tokens["team"] = me["memberships"][0]["team"]
    client = httpx.Client(base_url=f"{base_url}/api/v1", timeout=30,
                          headers={"Authorization": f"Bearer {tokens['access_token']}"})
    yield Account(email, PASSWORD, "Root Admin", tokens, client)
    client.close()


FAILING = {"nodes": [{"id": "t", "name": "Start", "type": "manual_trigger", "position": [0, 0]},
                     {"id": "s", "name": "Refuse", "type": "stop_and_error", "position": [200, 0],
                      "parameters": {"message": "order {{ $json.id }} has no customer"}}],
           "connections": [{"from": "t", "to": "s"}]}


def sign_in(page: Page, base_url: str, account: Account, team_id: str | None = None) -> None:
    page.goto(base_url + "/login")
    page.evaluate("""([access, refresh, team]) => {
        localStorage.setItem("lf_access", access);
        localStorage.setItem("lf_refresh", refresh);
        localStorage.setItem("lf_team", team);
    }""", [account.tokens["access_token"], account.tokens["refresh_token"], team_id or account.tokens["team"]["id"]])


def test_an_admin_sees_users_teams_the_live_embedded_worker_and_health(page: Page, base_url: str, admin, account):
    sign_in(page, base_url, admin)
    page.goto(base_url + "/workflows")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    expect(page).to_have_url(base_url + "/admin")

    users = page.get_by_test_id("admin-user-row")
    expect(users.filter(has_text=admin.email)).to_contain_text("admin")
    expect(users.filter(has_text=account.email)).to_contain_text("active")
    page.get_by_label("Search users").fill(account.email)
    expect(users).to_have_count(1)
    users.first.get_by_role("button", name=f"Actions for {account.email}").click()
    page.get_by_role("menuitem", name="Deactivate").click()
    expect(users.first).to_contain_text("deactivated")
    assert account.api.get("/auth/me").status_code == 401  # signed out at once
    users.first.get_by_role("button", name=f"Actions for {account.email}").click()
    page.get_by_role("menuitem", name="Reactivate").click()
    expect(users.first).not_to_contain_text("deactivated")
    login = httpx.post(f"{base_url}/api/v1/auth/login", json={"email": account.email, "password": account.password})
    assert login.status_code == 200  # back in, with a new sign-in (the old sessions stay signed out)
    account.api.headers["Authorization"] = f"Bearer {login.json()['access_token']}"

    page.get_by_role("tab", name="Teams").click()
    expect(page.get_by_test_id("admin-team-row").filter(has_text=admin.tokens["team"]["name"])).to_be_visible()

    page.get_by_role("tab", name="Workers & queue").click()
    embedded = page.get_by_test_id("worker-row").filter(has_text="embedded")
    expect(embedded).to_contain_text("alive")
    expect(embedded).to_contain_text("queues: executions")
    expect(page.get_by_text("Live", exact=True)).to_be_visible()  # refreshed every few seconds while open
    first_refresh = page.get_by_test_id("refreshed-at").inner_text()
    expect(page.get_by_test_id("refreshed-at")).not_to_have_text(first_refresh, timeout=15_000)
    expect(page.get_by_test_id("queue-queued")).to_be_visible()

    workflow = account.api.post("/workflows", json={"name": "Doomed import", "definition": FAILING}).json()
    run = account.api.post(f"/workflows/{workflow['id']}/run", json={"input": {"id": 42}}).json()
    deadline = time.monotonic() + 20
    while account.api.get(f"/executions/{run['execution_id']}").json()["status"] != "failed":
        assert time.monotonic() < deadline, "the failing run did not fail"
        time.sleep(0.3)
    page.get_by_role("tab", name="Errors").click()
    failure = page.get_by_test_id("failure-row").filter(has_text="Doomed import")
    expect(failure).to_contain_text("Refuse")
    expect(failure).to_contain_text("order 42 has no customer")
    expect(failure).to_contain_text(account.tokens["team"]["name"])
    expect(page.get_by_test_id("dead-letters")).to_have_text("0")

    page.get_by_role("tab", name="Audit").click()
    page.get_by_label("Filter instance audit by action").fill("admin.*")
    entries = page.get_by_test_id("admin-audit-row")
    expect(entries.filter(has_text="admin.user_deactivate")).to_contain_text(account.tokens["user"]["id"])
    expect(entries.filter(has_text="admin.user_reactivate")).to_contain_text(admin.email)

    page.get_by_role("tab", name="Health").click()
    expect(page.get_by_text("All systems ready")).to_be_visible()
    expect(page.get_by_test_id("health-row").filter(has_text="database")).to_contain_text("ok")
    expect(page.get_by_test_id("health-row").filter(has_text="failing")).to_have_count(0)
    expect(page.get_by_test_id("health-row").filter(has_text="code_sandbox")).to_contain_text("ok")
    sandbox = page.get_by_test_id("code-sandbox")  # the Code node sandbox: which mode, and that it works
    expect(sandbox).to_contain_text("bwrap")
    expect(sandbox).to_contain_text("working")
    expect(sandbox).to_contain_text("seccomp")


def test_a_non_admin_gets_403_and_sees_no_admin_console(signed_in_page: Page, base_url: str, account):
    response = account.api.get("/admin/users")
    assert response.status_code == 403 and "only instance admins" in response.json()["error"]["message"]
    page = signed_in_page
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Audit log")).to_be_visible()
    expect(nav.get_by_role("link", name="Admin")).to_have_count(0)
    page.goto(base_url + "/admin")
    expect(page.get_by_text("Admins only")).to_be_visible()
    expect(page.get_by_role("tab", name="Users")).to_have_count(0)


def wait_for_audit(account: Account, action: str, target_id: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:  # the outbox relay writes the trail within about a second
        items = account.api.get("/audit", params={"action": action, "target_id": target_id}).json()["items"]
        if items:
            return
        time.sleep(0.3)
    raise AssertionError(f"no {action} of {target_id} in the audit trail after {timeout_s}s")


def test_audit_shows_workflow_changes_filters_them_and_exports_csv(signed_in_page: Page, base_url: str, account):
    workflow = account.api.post("/workflows", json={"name": "Audited flow", "definition": HOOK}).json()
    assert account.api.post(f"/workflows/{workflow['id']}/activate").is_success
    wait_for_audit(account, "workflow.activate", workflow["id"])
    page = signed_in_page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
    rows = page.get_by_test_id("audit-row")
    expect(rows.filter(has_text="workflow.create")).to_contain_text(workflow["id"])
    expect(rows.filter(has_text="workflow.activate")).to_contain_text(account.email)

    page.get_by_label("Filter by action").click()
    page.get_by_role("option", name="workflow.activate", exact=True).click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("workflow.activate")
    expect(page.get_by_test_id("audit-total")).to_have_text("1–1 of 1")

    rows.first.get_by_role("button", name="Details of workflow.activate", exact=False).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f'"target_id": "{workflow["id"]}"')
    dialog.get_by_role("button", name="Close").click()

    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    text = Path(download.value.path()).read_text()
    assert text.splitlines()[0].startswith("created_at,action,")
    body = text.splitlines()[1:]
    assert len(body) == 1 and "workflow.activate" in body[0] and workflow["id"] in body[0]


def _invite_token(data_dir: Path, email: str, timeout_s: float = 10) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:  # the mail is written after the response
        outbox = data_dir / "outbox.jsonl"
        mails = [json.loads(line) for line in outbox.read_text().splitlines()] if outbox.exists() else []
        for mail in reversed([m for m in mails if m["to"] == email]):
            url = next(word for word in mail["body"].split() if urlparse(word).path == "/invite")
            return parse_qs(urlparse(url).query)["token"][0]
        time.sleep(0.2)
    raise AssertionError(f"no invitation mail to {email}")


def test_an_editor_gets_403_from_the_audit_api_and_a_clear_page(page: Page, base_url: str, account, app_data_dir):
    editor = new_account(base_url, name="Eddie Editor")
    try:
        assert account.api.post(f"/teams/{account.tokens['team']['id']}/invitations",
                                json={"email": editor.email, "role": "editor"}).status_code == 201
        token = _invite_token(app_data_dir, editor.email)
        assert editor.api.post("/teams/invitations/accept", json={"token": token}).status_code == 200
        team = {"X-Team-Id": account.tokens["team"]["id"]}
        for path in ("/audit", "/audit/export.csv"):
            response = editor.api.get(path, headers=team)
            assert response.status_code == 403 and "admin role" in response.json()["error"]["message"]
        sign_in(page, base_url, editor, team_id=account.tokens["team"]["id"])
        page.goto(base_url + "/audit")
        expect(page.get_by_text("Only team admins can view the audit log")).to_be_visible()
        expect(page.get_by_role("button", name="Export CSV")).to_have_count(0)
    finally:
        editor.api.close()
