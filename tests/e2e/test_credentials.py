"""The credentials and variables consoles, driven in Chromium against the real app.

Two small HTTP servers run on 127.0.0.2 inside the test (the only loopback address the app may
reach: conftest's LINKFLOW_HTTP_ALLOW_LIST): a partner API that accepts one API
key (for "Test connection"), and a fake OAuth2 provider standing in for a third-party SaaS
(it auto-approves, or denies for client id "deny-me", and issues tokens).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from conftest import PARTNER_HOST, Account, new_account
from playwright.sync_api import Page, expect

SECRET = "pk-live-" + uuid.uuid4().hex
TOKEN_SECRET = "oauth-client-secret-" + uuid.uuid4().hex[:12]


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def _send(self, status: int, body: dict | None = None, location: str | None = None) -> None:
        payload = json.dumps(body or {}).encode()
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class PartnerApi(_Handler):
    """GET /me: 200 with the right X-API-Key, else 401."""

    def do_GET(self) -> None:
        self._send(200 if self.headers.get("X-API-Key") == SECRET else 401, {"me": "partner"})


class FakeOAuthProvider(_Handler):
    """A stand-in for a third-party OAuth2 provider (the only outside party here, hence faked)."""

    def do_GET(self) -> None:  # /authorize: approve at once (or deny), back to the redirect_uri
        query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
        if query.get("client_id") == "deny-me":
            back = {"error": "access_denied", "error_description": "the user declined", "state": query["state"]}
        else:
            back = {"code": "code-" + uuid.uuid4().hex[:8], "state": query["state"]}
        self._send(302, location=f"{query['redirect_uri']}?{urlencode(back)}")

    def do_POST(self) -> None:  # /token
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._send(200, {"access_token": "at-" + uuid.uuid4().hex, "refresh_token": "rt-" + uuid.uuid4().hex,
                         "token_type": "Bearer", "expires_in": 3600})


def _serve(handler) -> Iterator[str]:
    server = ThreadingHTTPServer((PARTNER_HOST, 0), handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://{PARTNER_HOST}:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def partner_api():
    yield from _serve(PartnerApi)


@pytest.fixture
def oauth_provider():
    yield from _serve(FakeOAuthProvider)


def _row(page: Page, name: str):
    return page.get_by_test_id("credential-row").filter(has_text=name)


def _sign_in(page: Page, base_url: str, account: Account, team_id: str, path: str) -> None:
    page.goto(base_url + "/login")
    page.evaluate("""([access, refresh, team]) => {
        localStorage.setItem("lf_access", access);
        localStorage.setItem("lf_refresh", refresh);
        localStorage.setItem("lf_team", team);
    }""", [account.tokens["access_token"], account.tokens["refresh_token"], team_id])
    page.goto(base_url + path)


def _member(base_url: str, owner: Account, role: str) -> Account:
    """A new account that joined `owner`'s team with `role`, through an invitation link."""
    member = new_account(base_url, name=f"{role.title()} Member")
    team_id = owner.tokens["team"]["id"]
    invited = owner.api.post(f"/teams/{team_id}/invitations", json={"email": member.email, "role": role})
    assert invited.status_code == 201, invited.text
    token = parse_qs(urlparse(invited.json()["invite_url"]).query)["token"][0]
    assert member.api.post("/teams/invitations/accept", json={"token": token}).status_code == 200
    member.api.headers["X-Team-Id"] = team_id
    return member


@pytest.fixture
def page_errors(signed_in_page: Page) -> Iterator[list[str]]:
    """Uncaught errors in the page (a hydration mismatch is one); a test asserts there were none."""
    errors: list[str] = []
    signed_in_page.on("pageerror", lambda error: errors.append(str(error)))
    yield errors


def _open_new_form(page: Page, type_label: str) -> None:
    page.get_by_role("button", name="New credential").click()
    page.get_by_role("button", name=f"Choose {type_label}").click()


def test_create_from_the_form_test_it_and_never_see_the_value_again(signed_in_page: Page, base_url: str,
                                                                    account: Account, partner_api: str,
                                                                    page_errors: list[str]):
    page = signed_in_page
    page.goto(base_url + "/credentials")
    expect(page.get_by_text("No credentials yet")).to_be_visible()

    _open_new_form(page, "API key (header)")
    expect(page.get_by_label("API key", exact=True)).to_have_attribute("type", "password")
    page.get_by_label("Credential name").fill("Partner API")
    page.get_by_label("API key", exact=True).fill(SECRET)
    page.get_by_label("Test URL").fill(partner_api + "/me")
    page.get_by_role("button", name="Save", exact=True).click()

    row = _row(page, "Partner API")
    expect(row).to_be_visible()
    expect(row).to_contain_text("API key (header)")
    expect(row).to_contain_text("Ada Lovelace")  # the owner
    expect(row).to_contain_text("Whole team")
    assert SECRET not in page.content()
    listed = account.api.get("/credentials")
    assert listed.status_code == 200 and SECRET not in listed.text
    credential_id = listed.json()[0]["id"]
    assert SECRET not in account.api.get(f"/credentials/{credential_id}").text

    page.get_by_role("button", name="Test Partner API").click()
    expect(row.get_by_test_id("test-result")).to_contain_text("accepted the credential (200 OK)")

    # Editing shows no value: the secret box is empty, with the hint; a wrong key then fails the test.
    page.get_by_role("button", name="Actions for Partner API").click()
    page.get_by_role("menuitem", name="Edit").click()
    secret_box = page.get_by_label("API key", exact=True)
    expect(secret_box).to_have_value("")
    expect(secret_box).to_have_attribute("placeholder", "Saved — leave blank to keep the saved value")
    assert SECRET not in page.content()
    secret_box.fill("a-wrong-key")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    page.get_by_role("button", name="Test Partner API").click()
    expect(row.get_by_test_id("test-result")).to_contain_text("rejected the credential (401 Unauthorized)")
    expect(page.get_by_text("Connection failed:")).to_be_visible()

    # Delete asks first.
    page.get_by_role("button", name="Actions for Partner API").click()
    page.get_by_role("menuitem", name="Delete").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_text("No credentials yet")).to_be_visible()
    assert account.api.get("/credentials").json() == []
    assert page_errors == []


def test_oauth2_connect_goes_to_the_provider_and_back(signed_in_page: Page, base_url: str, account: Account,
                                                      oauth_provider: str):
    page = signed_in_page
    page.goto(base_url + "/credentials")
    expect(page.get_by_text("No credentials yet")).to_be_visible()
    for name, client_id in (("CRM", "linkflow-app"), ("Declined CRM", "deny-me")):
        _open_new_form(page, "OAuth2")
        page.get_by_label("Credential name").fill(name)
        page.get_by_label("Client ID").fill(client_id)
        page.get_by_label("Client secret").fill(TOKEN_SECRET)
        page.get_by_label("Authorize URL").fill(oauth_provider + "/authorize")
        page.get_by_label("Token URL").fill(oauth_provider + "/token")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(_row(page, name)).to_contain_text("Not connected")

    page.get_by_role("button", name="Connect CRM", exact=True).click()
    expect(page).to_have_url(base_url + "/credentials")  # back from the provider, the query cleaned up
    expect(page.get_by_test_id("oauth-notice")).to_contain_text("Connected “CRM”")
    crm_row = page.get_by_test_id("credential-row").filter(has=page.get_by_text("CRM", exact=True))
    expect(crm_row).to_contain_text("Connected")
    expect(crm_row).not_to_contain_text("Not connected")
    expect(_row(page, "Declined CRM")).to_contain_text("Not connected")
    crm = next(c for c in account.api.get("/credentials").json() if c["name"] == "CRM")
    assert "access_token" in crm["fields_set"]

    page.get_by_role("button", name="Connect Declined CRM").click()
    expect(page.get_by_test_id("oauth-notice")).to_contain_text(
        "Connecting failed: the provider did not grant access: access_denied (the user declined)")
    # Testing the connected credential: its token is there (the provider's token is not shown).
    page.get_by_role("button", name="Test CRM", exact=True).click()
    expect(crm_row.get_by_test_id("test-result")).to_contain_text("connected; the access token is valid")
    assert TOKEN_SECRET not in page.content()
    declined = next(c for c in account.api.get("/credentials").json() if c["name"] == "Declined CRM")
    assert "access_token" not in declined["fields_set"]


def test_sharing_usage_and_a_viewer_who_cannot_edit(signed_in_page: Page, base_url: str, account: Account,
                                                    browser):
    page = signed_in_page
    viewer = _member(base_url, account, "viewer")
    credential = account.api.post("/credentials", json={"name": "Billing key", "type": "bearer_token",
                                                       "values": {"token": SECRET}}).json()
    workflow = account.api.post("/workflows", json={"name": "Charge customers", "definition": {
        "nodes": [{"id": "t", "name": "Start", "type": "manual_trigger", "position": [0, 0]},
                  {"id": "h", "name": "Call billing", "type": "http_request", "position": [200, 0],
                   "credentials": {"auth": credential["id"]},
                   "parameters": {"url": "https://billing.example.com/charge", "authentication": "credential"}}],
        "connections": [{"from": "t", "to": "h"}]}}).json()

    page.goto(base_url + "/credentials")
    row = _row(page, "Billing key")
    expect(row).to_contain_text("1 workflow")
    page.get_by_role("button", name="Usage of Billing key").click()
    usage = page.get_by_role("dialog")
    expect(usage.get_by_role("link", name="Charge customers")).to_have_attribute("href",
                                                                                f"/workflows/{workflow['id']}")
    expect(usage.get_by_test_id("usage-row")).to_contain_text("Call billing")
    usage.get_by_role("button", name="Close").click()

    page.get_by_role("button", name="Actions for Billing key").click()
    page.get_by_role("menuitem", name="Sharing").click()
    sharing = page.get_by_role("dialog")
    sharing.get_by_role("switch", name="Shared with the whole team").click()
    sharing.get_by_role("checkbox", name=f"Share with Viewer Member ({viewer.email})").click()
    sharing.get_by_role("button", name="Save sharing").click()
    expect(row).to_contain_text("Private + 1 member")
    shared = account.api.get(f"/credentials/{credential['id']}").json()
    assert shared["shared_with_team"] is False and [u["email"] for u in shared["shared_with"]] == [viewer.email]

    # The viewer sees the credential (it is shared with them) but no button that would change anything.
    viewer_page = browser.new_page()
    try:
        _sign_in(viewer_page, base_url, viewer, account.tokens["team"]["id"], "/credentials")
        expect(_row(viewer_page, "Billing key")).to_be_visible()
        expect(_row(viewer_page, "Billing key")).to_contain_text("Private + 1 member")
        for name in ("New credential", "Actions for Billing key", "Test Billing key"):
            expect(viewer_page.get_by_role("button", name=name)).to_have_count(0)
        viewer_page.goto(base_url + "/variables")
        expect(viewer_page.get_by_text("No variables yet")).to_be_visible()
        expect(viewer_page.get_by_role("button", name="New variable")).to_have_count(0)
    finally:
        viewer_page.close()
    refused = viewer.api.post("/credentials", json={"name": "Mine", "type": "bearer_token",
                                                    "values": {"token": "x" * 8}})
    assert refused.status_code == 403 and "editor role" in refused.json()["error"]["message"]
    assert viewer.api.patch(f"/credentials/{credential['id']}", json={"name": "x"}).status_code == 403
    assert viewer.api.post("/variables", json={"key": "NOPE", "value": "1"}).status_code == 403


def test_variables_with_a_masked_secret(signed_in_page: Page, base_url: str, account: Account,
                                        page_errors: list[str]):
    page = signed_in_page
    page.goto(base_url + "/variables")
    expect(page.get_by_text("No variables yet")).to_be_visible()
    expect(page.get_by_text("$vars.NAME").first).to_be_visible()

    page.get_by_role("button", name="New variable").click()
    page.get_by_label("Variable key").fill("API_BASE")
    page.get_by_label("Variable value").fill("https://api.example.com")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_test_id("variable-row").filter(has_text="API_BASE")).to_contain_text("https://api.example.com")

    page.get_by_role("button", name="New variable").click()
    page.get_by_label("Variable key").fill("PARTNER_TOKEN")
    page.get_by_role("switch", name="Secret").click()
    expect(page.get_by_label("Variable value")).to_have_attribute("type", "password")
    page.get_by_label("Variable value").fill(SECRET)
    page.get_by_role("button", name="Save", exact=True).click()
    secret_row = page.get_by_test_id("variable-row").filter(has_text="PARTNER_TOKEN")
    expect(secret_row.get_by_test_id("variable-value")).to_have_text("••••••••")
    expect(secret_row).to_contain_text("$vars.PARTNER_TOKEN")
    assert SECRET not in page.content()
    listed = account.api.get("/variables")
    assert SECRET not in listed.text
    assert {v["key"]: v["is_secret"] for v in listed.json()["items"]} == {"API_BASE": False, "PARTNER_TOKEN": True}

    # Editing a secret: the box starts empty; leaving it blank keeps the value.
    page.get_by_role("button", name="Edit PARTNER_TOKEN").click()
    expect(page.get_by_label("Variable value")).to_have_value("")
    page.get_by_label("Variable key").fill("PARTNER_KEY")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_test_id("variable-row").filter(has_text="PARTNER_KEY")).to_be_visible()
    assert SECRET not in page.content()

    page.get_by_role("button", name="Delete API_BASE").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_test_id("variable-row")).to_have_count(1)
    assert [v["key"] for v in account.api.get("/variables").json()["items"]] == ["PARTNER_KEY"]
    assert page_errors == []
