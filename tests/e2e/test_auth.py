"""Signing up, in and out in the browser, with the API's own error messages."""

import uuid

from playwright.sync_api import Page, expect


def test_signed_out_visitor_is_sent_to_login(page: Page, base_url: str):
    page.goto(base_url + "/workflows")
    expect(page).to_have_url(base_url + "/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_sign_up_shows_the_api_error_then_lands_in_the_app(page: Page, base_url: str):
    page.goto(base_url + "/signup")
    page.get_by_label("Name").fill("Grace Hopper")
    page.get_by_label("Email").fill(f"grace-{uuid.uuid4().hex[:8]}@example.com")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_contain_text("at least 8 characters")

    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(base_url + "/workflows")
    expect(page.get_by_text("No workflows yet")).to_be_visible()
    expect(page.get_by_role("button", name="Account")).to_contain_text("Grace Hopper")

    page.reload()  # the session is kept in the browser
    expect(page.get_by_role("button", name="Account")).to_contain_text("Grace Hopper")


def test_login_rejects_a_wrong_password_and_logout_signs_out(page: Page, base_url: str, account):
    page.goto(base_url + "/login")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("email or password")

    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(base_url + "/workflows")

    page.get_by_role("button", name="Account").click()
    page.get_by_role("menuitem", name="Sign out").click()
    expect(page).to_have_url(base_url + "/login")
    page.goto(base_url + "/workflows")
    expect(page).to_have_url(base_url + "/login")


def test_an_expired_access_token_is_refreshed(page: Page, base_url: str, account):
    page.goto(base_url + "/login")
    page.evaluate("""(refresh) => {
        localStorage.setItem("lf_access", "expired-or-forged");
        localStorage.setItem("lf_refresh", refresh);
    }""", account.tokens["refresh_token"])
    page.goto(base_url + "/workflows")
    expect(page.get_by_role("button", name="Account")).to_contain_text(account.name)
    expect(page.get_by_text("No workflows yet")).to_be_visible()
    stored = page.evaluate("() => [localStorage.getItem('lf_access'), localStorage.getItem('lf_refresh')]")
    assert stored[0] not in ("expired-or-forged", account.tokens["access_token"])
    assert stored[1] != account.tokens["refresh_token"]  # refresh tokens are single-use: it was rotated


def test_team_switcher_shows_the_other_teams_workflows(signed_in_page: Page, account):
    page = signed_in_page
    ops = account.api.post("/teams", json={"name": "Ops"}).json()
    account.api.post("/workflows", json={"name": "Ops runbook"}, headers={"X-Team-Id": ops["id"]})
    account.api.post("/workflows", json={"name": "Personal"})
    page.reload()
    expect(page.get_by_role("link", name="Personal")).to_be_visible()
    page.get_by_role("combobox", name="Team").click()
    page.get_by_role("option", name="Ops").click()
    expect(page.get_by_role("link", name="Ops runbook")).to_be_visible()
    expect(page.get_by_role("link", name="Personal")).to_have_count(0)


def test_a_signed_in_visitor_on_the_login_page_goes_where_next_says(signed_in_page: Page, base_url: str):
    page = signed_in_page
    page.goto(base_url + "/login?next=/executions")
    expect(page).to_have_url(base_url + "/executions")
    page.goto(base_url + "/login?next=//elsewhere.example.com/")  # only paths on this site
    expect(page).to_have_url(base_url + "/workflows")
