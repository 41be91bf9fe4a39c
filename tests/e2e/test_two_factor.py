"""Two-factor sign-in in the browser: enrol in Settings → Security, sign in with a code or a
recovery code, a team that requires it, and the instance admin's reset."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid

import httpx
import pyotp
import pytest
from conftest import ROOT, Account, new_account
from playwright.sync_api import Page, expect


@pytest.fixture(autouse=True)
def no_page_errors(page: Page):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield
    assert errors == []


class Authenticator:
    """The phone: codes for a secret, never the same time step twice (the server accepts a code once)."""

    def __init__(self, secret: str):
        self.totp, self.last_step = pyotp.TOTP(secret), -1

    def code(self) -> str:
        self.last_step = max(int(time.time() // 30), self.last_step + 1)  # the next step is accepted too
        return self.totp.generate_otp(self.last_step)


def sign_out(page: Page, base_url: str) -> None:
    page.get_by_role("button", name="Account").click()
    page.get_by_role("menuitem", name="Sign out").click()
    expect(page).to_have_url(base_url + "/login")


def password_step(page: Page, account: Account) -> None:
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    second_step = page.get_by_role("heading", name="Two-factor sign-in")
    for _ in range(2):
        # Right after signing out, a click can land before the login page's event connection is up and be lost
        # (seen once in a fresh-clone CI run on a loaded machine: the form stayed as it was); click again then.
        page.get_by_role("button", name="Sign in").click()
        try:
            expect(second_step).to_be_visible(timeout=7_000)
            return
        except AssertionError:
            if second_step.is_visible() or not page.get_by_role("button", name="Sign in").is_visible():
                break
    expect(second_step).to_be_visible()


def enrol_in_the_browser(page: Page) -> tuple[Authenticator, list[str]]:
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    shown = page.get_by_test_id("totp-secret")
    expect(shown).to_have_text(re.compile(r"^[A-Z2-7]{32}$"))
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    phone = Authenticator(shown.inner_text())
    page.get_by_label("Code from the app").fill(phone.code())
    page.get_by_role("button", name="Turn on").click()
    codes = page.get_by_test_id("recovery-code")
    expect(codes).to_have_count(10)
    recovery = codes.all_inner_texts()
    page.get_by_role("button", name="I saved them").click()
    expect(page.get_by_test_id("recovery-codes-left")).to_contain_text("10 recovery codes left")
    return phone, recovery


def test_enrol_then_sign_in_with_a_code_and_a_recovery_code_once(signed_in_page: Page, base_url: str, account):
    page = signed_in_page
    page.goto(base_url + "/settings?tab=security")
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    page.get_by_label("Code from the app").fill("12345")
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("alert")).to_contain_text("does not match")
    page.get_by_role("button", name="Cancel").click()
    phone, recovery = enrol_in_the_browser(page)
    page.reload()
    expect(page.get_by_test_id("totp-secret")).to_have_count(0)  # never shown again
    expect(page.get_by_test_id("recovery-codes-left")).to_be_visible()

    sign_out(page, base_url)
    password_step(page, account)
    page.get_by_label("Authentication code").fill("000000" if phone.totp.now() != "000000" else "111111")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text("code is wrong or was already used")
    page.get_by_label("Authentication code").fill(phone.code())
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(base_url + "/workflows")

    sign_out(page, base_url)
    password_step(page, account)
    page.get_by_role("button", name="Use a recovery code").click()
    page.get_by_label("Recovery code").fill(recovery[0])
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(base_url + "/workflows")
    page.goto(base_url + "/settings?tab=security")
    expect(page.get_by_test_id("recovery-codes-left")).to_contain_text("9 recovery codes left")

    sign_out(page, base_url)
    password_step(page, account)
    page.get_by_role("button", name="Use a recovery code").click()
    page.get_by_label("Recovery code").fill(recovery[0])
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text("recovery code is wrong or was already used")
    expect(page).to_have_url(base_url + "/login")


def enable_by_api(account: Account) -> Authenticator:
    phone = Authenticator(account.api.post("/auth/2fa/setup").json()["secret"])
    assert account.api.post("/auth/2fa/enable", json={"code": phone.code()}).status_code == 200
    return phone


def test_a_team_that_requires_it_confines_a_member_until_they_enrol(page: Page, base_url: str, account):
    owner, team = account, account.tokens["team"]
    enable_by_api(owner)
    member = new_account(base_url, "Grace Hopper")
    invitation = owner.api.post(f"/teams/{team['id']}/invitations", json={"email": member.email, "role": "editor"})
    token = invitation.json()["invite_url"].split("token=", 1)[1]
    assert member.api.post("/teams/invitations/accept", json={"token": token}).status_code == 200
    assert owner.api.put(f"/teams/{team['id']}/security", json={"require_2fa": True}).status_code == 200
    refused = member.api.get("/workflows", headers={"X-Team-Id": team["id"]})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "two_factor_required"

    page.goto(base_url + "/login")
    page.get_by_label("Email").fill(member.email)
    page.get_by_label("Password").fill(member.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(base_url + "/workflows")  # their own team does not require it
    page.get_by_role("combobox", name="Team").click()
    page.get_by_role("option", name=team["name"]).click()
    expect(page).to_have_url(base_url + "/settings?tab=security")
    expect(page.get_by_test_id("two-factor-required")).to_contain_text(f"{team['name']} requires two-factor sign-in")
    page.goto(base_url + "/executions")
    expect(page).to_have_url(base_url + "/settings?tab=security")

    enrol_in_the_browser(page)
    expect(page.get_by_test_id("two-factor-required")).to_have_count(0)
    page.goto(base_url + "/workflows")
    expect(page.get_by_role("button", name="New workflow")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/workflows/?$"))  # stayed: the team is open to them now
    member.api.close()


def test_a_team_admin_turns_the_requirement_on_after_enrolling(signed_in_page: Page, base_url: str, account):
    page = signed_in_page
    page.goto(base_url + "/settings?tab=security")
    requirement = page.get_by_role("switch", name="Require two-factor sign-in")
    requirement.click()
    expect(page.get_by_text("Turn on two-factor sign-in for your own account first")).to_be_visible()
    expect(requirement).not_to_be_checked()
    enrol_in_the_browser(page)
    requirement.click()
    expect(page.get_by_text("Members now need two-factor sign-in")).to_be_visible()
    expect(requirement).to_be_checked()
    assert account.api.get(f"/teams/{account.tokens['team']['id']}").json()["require_2fa"] is True


def test_an_instance_admin_resets_a_users_two_factor(page: Page, base_url: str, app_data_dir, account):
    enable_by_api(account)
    email, password = f"root-{uuid.uuid4().hex[:8]}@example.com", "correct horse battery staple"
    subprocess.run([sys.executable, "-m", "backend.cli", "user", "create", "--email", email, "--password", password,
                    "--name", "Root Admin", "--admin"], cwd=ROOT, check=True, capture_output=True,
                   env={**os.environ, "LINKFLOW_DATA_DIR": str(app_data_dir)})
    page.goto(base_url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(base_url + "/workflows")
    page.goto(base_url + "/admin")
    page.get_by_label("Search users").fill(account.email)
    expect(page.get_by_test_id("admin-user-row")).to_have_count(1)  # the search has answered
    row = page.get_by_test_id("admin-user-row").filter(has_text=account.email)
    expect(row).to_contain_text("2FA")
    row.get_by_role("button", name=f"Actions for {account.email}").click()
    page.get_by_role("menuitem", name="Reset two-factor sign-in").click()
    expect(page.get_by_text(f"Two-factor sign-in of {account.email} was reset")).to_be_visible()
    expect(row).not_to_contain_text("2FA")
    signed_in = httpx.post(f"{base_url}/api/v1/auth/login", json={"email": account.email, "password": account.password})
    assert "access_token" in signed_in.json(), "the password alone signs in again"
