"""A vendor trigger's status in the editor: the GitHub Trigger's panel says whether its webhook is registered at
GitHub (with the URL GitHub calls) and shows GitHub's own message when activation was refused. GitHub cannot be
reached from here: a local imitation of its webhooks API (tests/fakes/github/) stands in, on the partner host."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import PARTNER_HOST
from tests.fakes.github.server import REPO, TOKEN, FakeGitHub


def _definition(credential_id: str, repository: str) -> dict:
    return {"nodes": [
        {"id": "gh", "name": "GitHub", "type": "github_trigger", "position": [100, 100],
         "parameters": {"owner": REPO[0], "repository": repository, "events": ["push"]},
         "credentials": {"github": credential_id}},
        {"id": "set", "name": "Seen", "type": "set", "position": [400, 100],
         "parameters": {"fields": [{"name": "seen", "value": "yes"}]}}],
        "connections": [{"from": "gh", "to": "set"}]}


def test_github_trigger_shows_registration_and_the_vendors_error(open_editor, account):
    with FakeGitHub(host=PARTNER_HOST) as github:
        credential = account.api.post("/credentials", json={"name": "GitHub bot", "type": "github", "values": {
            "access_token": TOKEN, "api_base_url": github.url}}).json()
        editor = open_editor("GitHub events", _definition(credential["id"], REPO[1]))
        panel = editor.open("GitHub")
        expect(panel.get_by_test_id("vendor-status")).to_have_text("Not registered")
        expect(panel.get_by_test_id("vendor-trigger")).to_contain_text("webhook at GitHub")

        assert account.api.post(f"/workflows/{editor.workflow_id}/activate").status_code == 200
        panel.get_by_role("button", name="Refresh trigger status").click()
        expect(panel.get_by_test_id("vendor-status")).to_have_text("Registered")
        [hook] = github.hooks.values()
        expect(panel.get_by_test_id("vendor-webhook-url")).to_have_text(hook["config"]["url"])
        expect(panel.get_by_test_id("vendor-error")).to_have_count(0)

        assert account.api.post(f"/workflows/{editor.workflow_id}/deactivate").status_code == 200
        assert github.hooks == {}
        assert account.api.patch(f"/workflows/{editor.workflow_id}", json={
            "definition": _definition(credential["id"], "no-such-repo")}).status_code == 200
        refused = account.api.post(f"/workflows/{editor.workflow_id}/activate")
        assert refused.status_code == 422
        editor.page.reload()
        editor.canvas.wait_for()
        panel = editor.open("GitHub")
        expect(panel.get_by_test_id("vendor-status")).to_have_text("Not registered")
        expect(panel.get_by_test_id("vendor-error")).to_contain_text(
            "GitHub refused creating a webhook on octo-org/no-such-repo (HTTP 404): Not Found")
        expect(panel.get_by_test_id("vendor-webhook-url")).to_have_count(0)
