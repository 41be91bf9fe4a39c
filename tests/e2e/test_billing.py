"""Billing in Chromium, on an app with billing on whose Stripe is stripe-mock (behind a recording proxy):
an owner upgrades through Checkout and sees Pro, an over-quota activation shows the 402 message, a
viewer cannot see billing.

The browser follows the Checkout redirect to the URL the API returned; that page is Stripe's hosted
Checkout, which this machine cannot reach, so the test answers it with a stand-in page, then delivers
`checkout.session.completed` signed with the endpoint secret exactly as Stripe signs it."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import time
import uuid

import httpx
import pytest
from conftest import BILLING_SECRET, ROOT, new_account
from playwright.sync_api import Page, expect

HOOK = {"nodes": [{"id": "h", "name": "Hook", "type": "webhook", "position": [0, 0], "parameters": {}}],
        "connections": []}


def signed_post(app, kind: str, obj: dict) -> httpx.Response:
    body = json.dumps({"id": f"evt_e2e_{uuid.uuid4().hex}", "object": "event", "type": kind,
                       "created": int(time.time()), "data": {"object": obj}}).encode()
    stamp = int(time.time())
    digest = hmac.new(BILLING_SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return httpx.post(f"{app.url}/stripe/webhook", content=body,
                      headers={"Stripe-Signature": f"t={stamp},v1={digest}", "Content-Type": "application/json"})


@pytest.fixture(scope="module")
def prices(billing_app):
    """An instance admin gives Pro its Stripe prices, as the README says to."""
    email = f"staff-{uuid.uuid4().hex[:8]}@example.com"
    made = subprocess.run([sys.executable, "-m", "backend.cli", "user", "create", "--email", email, "--password",
                           "correct horse battery staple", "--admin"], cwd=ROOT, env=billing_app.env,
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    token = httpx.post(f"{billing_app.url}/api/v1/auth/login", json={
        "email": email, "password": "correct horse battery staple"}).json()["access_token"]
    edited = httpx.patch(f"{billing_app.url}/api/v1/admin/billing/plans/pro", headers={
        "Authorization": f"Bearer {token}"}, json={"stripe_price_monthly": "price_pro_month",
                                                   "stripe_price_yearly": "price_pro_year"})
    assert edited.status_code == 200, edited.text


def open_as(page: Page, app, account, team_id: str, path: str) -> None:
    page.goto(app.url + "/login")
    page.evaluate("""([access, refresh, team]) => {
        localStorage.setItem("lf_access", access);
        localStorage.setItem("lf_refresh", refresh);
        localStorage.setItem("lf_team", team);
    }""", [account.tokens["access_token"], account.tokens["refresh_token"], team_id])
    page.goto(app.url + path)


def test_an_owner_upgrades_through_checkout_and_sees_pro_and_its_limits(page: Page, billing_app, prices):
    owner = new_account(billing_app.url, name="Olga Owner")
    team_id = owner.tokens["team"]["id"]
    open_as(page, billing_app, owner, team_id, "/settings/billing")
    expect(page.get_by_test_id("current-plan")).to_have_text("Free")
    expect(page.get_by_test_id("usage-active_workflows")).to_have_text("0 of 5")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Billing")).to_be_visible()

    stand_in = []
    page.route("https://checkout.stripe.com/**", lambda route: (stand_in.append(route.request.url), route.fulfill(
        status=200, content_type="text/html", body="<h1>Stripe Checkout (stand-in)</h1>")))
    page.get_by_role("button", name="Upgrade to Pro").click()
    expect(page.get_by_role("heading", name="Stripe Checkout (stand-in)")).to_be_visible()
    session = billing_app.stripe.answer("/v1/checkout/sessions")
    assert stand_in == [session["url"]] and page.url == session["url"], "the browser went where the API said"
    sent = billing_app.stripe.requests("/v1/checkout/sessions")[-1].form
    assert sent["client_reference_id"] == team_id and sent["line_items[0][price]"] == "price_pro_month"

    customer = billing_app.stripe.answer("/v1/customers")["id"]
    completed = signed_post(billing_app, "checkout.session.completed", {
        "id": session["id"], "object": "checkout.session", "mode": "subscription", "customer": customer,
        "subscription": f"sub_e2e_{uuid.uuid4().hex[:8]}", "client_reference_id": team_id, "payment_status": "paid",
        "metadata": {"team_id": team_id, "plan_id": "pro", "interval": "month"}})
    assert completed.json()["outcome"] == "applied"
    page.goto(sent["success_url"])
    expect(page.get_by_test_id("current-plan")).to_have_text("Pro")
    expect(page.get_by_test_id("usage-active_workflows")).to_have_text("0 of 50")
    expect(page.get_by_test_id("usage-executions")).to_contain_text("0 of 10,000")
    expect(page.get_by_test_id("plan-card-pro")).to_contain_text("Current plan")
    expect(page.get_by_role("button", name="Manage billing")).to_be_visible()

    failed = signed_post(billing_app, "invoice.payment_failed", {"id": "in_e2e", "object": "invoice",
                                                                  "customer": customer})
    assert failed.json()["outcome"] == "applied"
    expect(page.get_by_test_id("payment-failed-banner")).to_contain_text("The last payment failed", timeout=15_000)
    owner.api.close()


def test_an_activation_past_the_plan_shows_the_402_message(page: Page, billing_app):
    owner = new_account(billing_app.url, name="Quinn Quota")
    team_id = owner.tokens["team"]["id"]
    for n in range(6):
        definition = {**HOOK, "nodes": [{**HOOK["nodes"][0], "parameters": {"path": f"q{uuid.uuid4().hex}"}}]}
        workflow = owner.api.post("/workflows", json={"name": f"Flow {n}", "definition": definition}).json()
        if n < 5:
            assert owner.api.post(f"/workflows/{workflow['id']}/activate").status_code == 200
    open_as(page, billing_app, owner, team_id, "/workflows")
    page.get_by_role("switch", name="Active: Flow 5").click()
    toast = page.get_by_text("plan's limit of 5 active workflows")
    expect(toast).to_be_visible()
    expect(toast).to_contain_text("upgrade in Settings → Billing")
    expect(page.get_by_role("switch", name="Active: Flow 5")).not_to_be_checked()
    owner.api.close()


def test_a_viewer_sees_no_billing(page: Page, billing_app):
    owner = new_account(billing_app.url, name="Otto Owner")
    team_id = owner.tokens["team"]["id"]
    viewer = new_account(billing_app.url, name="Vera Viewer")
    invited = owner.api.post(f"/teams/{team_id}/invitations", json={"email": viewer.email, "role": "viewer"})
    token = invited.json()["invite_url"].split("token=", 1)[1]
    assert viewer.api.post("/teams/invitations/accept", json={"token": token}).status_code == 200
    viewer.api.headers["X-Team-Id"] = team_id
    assert viewer.api.get("/billing").status_code == 403
    open_as(page, billing_app, viewer, team_id, "/workflows")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Billing")).to_have_count(0)
    page.goto(billing_app.url + "/settings/billing")
    expect(page.get_by_test_id("billing-forbidden")).to_be_visible()
    expect(page.get_by_test_id("current-plan")).to_have_count(0)
    expect(page.get_by_role("button", name="Upgrade to Pro")).to_have_count(0)
    owner.api.close()
    viewer.api.close()
