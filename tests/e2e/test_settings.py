"""Settings: profile and password, API keys, team members with invitations, notifications."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from conftest import new_account
from playwright.sync_api import Page, expect


@pytest.fixture(autouse=True)
def no_page_errors(page: Page):
    """Uncaught errors in the page (a hydration mismatch is one) fail the test."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield
    assert errors == []


def _open(page: Page, base_url: str, tab: str) -> None:
    page.goto(base_url + "/settings")
    page.get_by_role("tab", name=tab).click()


def test_changing_the_name_shows_in_the_account_menu(signed_in_page: Page, base_url: str, account):
    page = signed_in_page
    _open(page, base_url, "Profile")
    expect(page.get_by_label("Name", exact=True)).to_have_value(account.name)
    page.get_by_label("Name", exact=True).fill("Ada King")
    page.get_by_role("button", name="Save name").click()
    expect(page.get_by_role("button", name="Account")).to_contain_text("Ada King")
    page.reload()
    expect(page.get_by_role("button", name="Account")).to_contain_text("Ada King")
    assert account.api.get("/users/me").json()["name"] == "Ada King"


def test_changing_the_password_then_signing_in_with_it(signed_in_page: Page, base_url: str, account):
    page = signed_in_page
    _open(page, base_url, "Profile")
    page.get_by_label("Current password").fill("not my password")
    page.get_by_label("New password", exact=True).fill("a brand new password")
    page.get_by_label("Repeat new password").fill("a brand new password")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_contain_text("current password is wrong")

    page.get_by_label("Current password").fill(account.password)
    page.get_by_label("Repeat new password").fill("a different password")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_contain_text("differ")

    page.get_by_label("Repeat new password").fill("a brand new password")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Password changed")).to_be_visible()
    expect(page.get_by_label("Current password")).to_have_value("")  # the form was cleared
    page.reload()  # this session goes on with the fresh tokens
    expect(page.get_by_role("button", name="Account")).to_contain_text(account.name)

    page.get_by_role("button", name="Account").click()
    page.get_by_role("menuitem", name="Sign out").click()
    expect(page).to_have_url(base_url + "/login")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("email or password")
    page.get_by_label("Password").fill("a brand new password")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(base_url + "/workflows")
    refresh = httpx.post(f"{base_url}/api/v1/auth/refresh", json={"refresh_token": account.tokens["refresh_token"]})
    assert refresh.status_code == 401, "the session from before the change was signed out"


def test_an_api_key_is_shown_once_works_and_stops_working_when_revoked(signed_in_page: Page, base_url: str):
    page = signed_in_page
    _open(page, base_url, "API keys")
    expect(page.get_by_text("No API keys yet")).to_be_visible()
    page.get_by_role("button", name="Create API key").click()
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_role("alert")).to_contain_text("Give the key a name")
    page.get_by_label("Key name").fill("Nightly export")
    page.get_by_label("Key expiry").click()
    page.get_by_role("option", name="30 days").click()
    page.get_by_role("button", name="Create key").click()

    shown = page.get_by_label("New API key", exact=True)
    expect(shown).to_have_value(re.compile(r"^lf_.{20,}$"))
    expect(page.get_by_text("it will not be shown again")).to_be_visible()
    key = shown.input_value()
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_label("New API key", exact=True)).to_have_count(0)
    row = page.get_by_test_id("api-key-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Nightly export")
    expect(row).to_contain_text(f"{key[:11]}…")  # lf_ + the 8-character prefix, never the secret
    expect(row).not_to_contain_text(key)
    expect(row).to_contain_text("never")  # not used yet
    page.reload()
    page.get_by_role("tab", name="API keys").click()
    expect(page.get_by_test_id("api-key-row")).to_have_count(1)
    expect(page.get_by_label("New API key", exact=True)).to_have_count(0)

    assert httpx.get(f"{base_url}/api/v1/workflows", headers={"X-API-Key": key}).status_code == 200
    page.get_by_role("button", name="Revoke Nightly export").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("Revoked “Nightly export”")).to_be_visible()
    expect(page.get_by_test_id("api-key-row")).to_have_count(0)
    assert httpx.get(f"{base_url}/api/v1/workflows", headers={"X-API-Key": key}).status_code == 401


def test_invite_accept_change_role_and_remove_a_member(signed_in_page: Page, base_url: str, account, browser):
    page = signed_in_page
    team_id = account.tokens["team"]["id"]
    email = f"e2e-guest-{uuid.uuid4().hex[:8]}@example.com"
    _open(page, base_url, "Members")
    expect(page.get_by_test_id("member-row")).to_have_count(1)
    expect(page.get_by_text("No pending invitations.")).to_be_visible()
    page.get_by_label("Email to invite").fill(email)
    page.get_by_label("Role for the invitation").click()
    page.get_by_role("option", name="Viewer").click()
    page.get_by_role("button", name="Invite").click()

    link = page.get_by_label("Invitation link", exact=True)  # no SMTP here: the inviter passes the link on
    expect(link).to_have_value(re.compile(r"/invite\?token="))
    url = link.input_value()
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_test_id("invitation-row")).to_contain_text(email)

    guest = browser.new_context()
    try:
        other = guest.new_page()
        other.goto(url.replace(url.split("/invite")[0], base_url))
        other.get_by_role("button", name="Create an account").click()
        other.get_by_label("Name").fill("Guest User")
        other.get_by_label("Email").fill(email)
        other.get_by_label("Password").fill("a long enough password")
        other.get_by_role("button", name="Create account").click()
        expect(other.get_by_text(f"Signed in as {email}")).to_be_visible()
        other.get_by_role("button", name="Accept invitation").click()
        expect(other).to_have_url(base_url + "/workflows")
        expect(other.get_by_text("joined")).to_be_visible()
        expect(other.get_by_role("button", name="New workflow")).to_have_count(0)  # a viewer
    finally:
        guest.close()

    page.reload()
    page.get_by_role("tab", name="Members").click()
    expect(page.get_by_test_id("member-row")).to_have_count(2)
    expect(page.get_by_test_id("invitation-row")).to_have_count(0)
    members = {m["email"]: m for m in account.api.get(f"/teams/{team_id}/members").json()}
    assert members[email]["role"] == "viewer"

    page.get_by_label(f"Role of {email}").click()
    page.get_by_role("option", name="Editor").click()
    expect(page.get_by_text("is now editor")).to_be_visible()
    members = {m["email"]: m for m in account.api.get(f"/teams/{team_id}/members").json()}
    assert members[email]["role"] == "editor"

    page.get_by_label(f"Role of {account.email}").click()  # the only owner cannot step down
    page.get_by_role("option", name="Admin").click()
    expect(page.get_by_text("last owner")).to_be_visible()
    assert {m["email"]: m for m in account.api.get(f"/teams/{team_id}/members").json()}[account.email]["role"] == "owner"

    page.get_by_role("button", name=f"Remove {email}").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Remove").click()
    expect(page.get_by_test_id("member-row")).to_have_count(1)
    assert email not in {m["email"] for m in account.api.get(f"/teams/{team_id}/members").json()}


def test_an_invitation_can_be_revoked(signed_in_page: Page, base_url: str, account):
    page = signed_in_page
    _open(page, base_url, "Members")
    email = f"e2e-never-{uuid.uuid4().hex[:8]}@example.com"
    page.get_by_label("Email to invite").fill(email)
    page.get_by_role("button", name="Invite").click()
    url = page.get_by_label("Invitation link", exact=True).input_value()
    page.get_by_role("button", name="Done").click()
    page.get_by_role("button", name=f"Revoke invitation for {email}").click()
    expect(page.get_by_test_id("invitation-row")).to_have_count(0)
    invitee = new_account(base_url)
    token = url.split("token=", 1)[1]
    refused = invitee.api.post("/teams/invitations/accept", json={"token": token})
    assert refused.status_code == 400


def test_the_failure_email_preference_is_saved(signed_in_page: Page, base_url: str, account):
    page = signed_in_page
    _open(page, base_url, "Notifications")
    switch = page.get_by_role("switch", name="Email me when my workflows fail")
    expect(switch).to_be_checked()
    switch.click()
    expect(page.get_by_text("Failure emails off")).to_be_visible()
    page.reload()
    page.get_by_role("tab", name="Notifications").click()
    expect(page.get_by_role("switch", name="Email me when my workflows fail")).not_to_be_checked()
    assert account.api.get("/users/me/notifications").json() == {"email_on_failure": False}
