"""A viewer sees the team's workflows and members but no edit controls, and the API refuses them."""

from __future__ import annotations

import pytest
from conftest import new_account
from playwright.sync_api import Page, expect

HOOK = {"nodes": [{"id": "h", "name": "Hook", "type": "webhook", "position": [0, 0],
                   "parameters": {"path": "viewer-test"}}], "connections": []}


@pytest.fixture
def team(base_url, account):
    """The account's team with a workflow, and a viewer who joined it through an invitation link."""
    team_id = account.tokens["team"]["id"]
    workflow = account.api.post("/workflows", json={"name": "Orders sync", "definition": HOOK}).json()
    viewer = new_account(base_url, name="Vera Viewer")
    invited = account.api.post(f"/teams/{team_id}/invitations", json={"email": viewer.email, "role": "viewer"})
    token = invited.json()["invite_url"].split("token=", 1)[1]
    assert viewer.api.post("/teams/invitations/accept", json={"token": token}).json()["role"] == "viewer"
    viewer.api.headers["X-Team-Id"] = team_id
    yield team_id, workflow, viewer
    viewer.api.close()


@pytest.fixture
def viewer_page(page: Page, base_url, team):
    team_id, _, viewer = team
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))  # a hydration mismatch is one
    page.goto(base_url + "/login")
    page.evaluate("""([access, refresh, team]) => {
        localStorage.setItem("lf_access", access);
        localStorage.setItem("lf_refresh", refresh);
        localStorage.setItem("lf_team", team);
    }""", [viewer.tokens["access_token"], viewer.tokens["refresh_token"], team_id])
    page.goto(base_url + "/workflows")
    expect(page.get_by_test_id("workflow-row")).to_have_count(1)
    yield page
    assert errors == []


def test_the_workflows_list_has_no_edit_controls(viewer_page: Page):
    page = viewer_page
    expect(page.get_by_role("link", name="Orders sync")).to_be_visible()
    for name in ("New workflow", "Import"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    expect(page.get_by_role("switch")).to_have_count(0)
    expect(page.get_by_test_id("workflow-row")).to_contain_text("Inactive")
    page.get_by_role("button", name="Actions for Orders sync").click()
    expect(page.get_by_role("menuitem", name="Export")).to_be_visible()
    for name in ("Duplicate", "Delete"):
        expect(page.get_by_role("menuitem", name=name)).to_have_count(0)


def test_the_editor_is_read_only(viewer_page: Page, base_url: str, team):
    page = viewer_page
    _, workflow, _ = team
    page.goto(f"{base_url}/workflows/{workflow['id']}")
    expect(page.get_by_test_id("read-only")).to_be_visible()
    expect(page.get_by_test_id("canvas")).to_have_attribute("data-node-count", "1")
    for name in ("Save", "Run"):
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
    expect(page.get_by_role("switch", name="Active")).to_have_count(0)
    expect(page.get_by_role("region", name="Node palette")).to_have_count(0)
    expect(page.get_by_label("Workflow name")).to_have_attribute("readonly", "")
    page.locator('.react-flow__node:has([data-node-name="Hook"])').click()  # open the node: look, not touch
    panel = page.get_by_role("complementary", name="Node panel")
    expect(panel.locator("input").first).to_be_disabled()
    expect(panel.locator("input:enabled, textarea:enabled")).to_have_count(0)
    panel.get_by_role("tab", name="Settings").click()
    expect(panel.get_by_label("Node name")).to_be_disabled()
    expect(panel.get_by_role("button", name="Close panel")).to_be_enabled()


def test_settings_members_is_read_only(viewer_page: Page, base_url: str, account):
    page = viewer_page
    page.goto(base_url + "/settings")
    page.get_by_role("tab", name="Members").click()
    expect(page.get_by_test_id("member-row")).to_have_count(2)
    expect(page.get_by_text("Only the team's admins and owners")).to_be_visible()
    expect(page.get_by_label("Email to invite")).to_have_count(0)
    expect(page.get_by_role("button", name=f"Remove {account.email}")).to_have_count(0)
    expect(page.get_by_label(f"Role of {account.email}")).to_have_count(0)
    page.get_by_role("tab", name="API keys").click()
    expect(page.get_by_text("Editors and above create keys")).to_be_visible()
    expect(page.get_by_role("button", name="Create API key")).to_have_count(0)


def test_the_api_refuses_a_viewer_with_403(team):
    team_id, workflow, viewer = team
    created = viewer.api.post("/workflows", json={"name": "Sneaky"})
    assert created.status_code == 403, created.text
    assert "editor" in created.json()["error"]["message"]
    assert viewer.api.delete(f"/workflows/{workflow['id']}").status_code == 403
    invited = viewer.api.post(f"/teams/{team_id}/invitations", json={"email": "x@example.com", "role": "viewer"})
    assert invited.status_code == 403, invited.text
    assert viewer.api.post("/api-keys", json={"name": "k"}).status_code == 403
    assert viewer.api.get(f"/workflows/{workflow['id']}").status_code == 200, "reading is allowed"
