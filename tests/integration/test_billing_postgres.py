"""Billing on a real PostgreSQL: metering from many consumers at once counts each execution once,
a Stripe event handled twice changes nothing the second time, and activations or invitations racing
at a plan's limit cannot both pass."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from backend.auth.tokens import issue_access_token
from backend.billing import stripe_events
from backend.billing.metering import meter_event
from backend.db import migrate
from backend.db.session import session_scope
from backend.users.service import create_user
from backend.webhooks.service import invalidate_cache
from tests.unit.backend.billing.billing_testkit import (
    STRIPE_SETTINGS,
    checkout_completed,
    counted,
    event,
    invoice,
    link_customer,
    records,
    set_plan,
    sign,
    subscription_of,
    webhook_flow,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def pg(configure, postgres_url, stripe_mock_url):
    configure(**STRIPE_SETTINGS, DATABASE_URL=postgres_url, BILLING_STRIPE_API_BASE=stripe_mock_url)
    migrate.upgrade(postgres_url)
    invalidate_cache()
    yield postgres_url
    invalidate_cache()


def owner(email: str = "owner@example.com") -> tuple[str, dict]:
    with session_scope() as session:
        user, team = create_user(session, email=email, password="a long enough password")
        user_id, team_id = user.id, team.id
    token, _ = issue_access_token(user_id)
    return team_id, {"Authorization": f"Bearer {token}", "X-Team-Id": team_id}


def test_consumers_metering_the_same_events_at_once_count_each_execution_once(pg):
    team_id, _ = owner()
    set_plan(executions_limit=40)
    payloads = [{"execution_id": f"exec{n:03d}", "team_id": team_id, "mode": "webhook"} for n in range(50)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(meter_event, payloads * 4))
    assert sum(o is not None for o in outcomes) == 50
    assert sorted(o.seq for o in outcomes if o is not None) == list(range(1, 51)), "one place each, no gaps"
    assert (records(team_id), counted(team_id)) == (50, 50)
    from sqlalchemy import select

    from backend.notifications.models import Notification

    with session_scope() as session:
        kinds = Counter(session.scalars(select(Notification.kind).where(Notification.channel == "in_app")))
    assert kinds == Counter({"billing.usage_80": 1, "billing.usage_100": 1})


def test_stripe_events_are_handled_once_and_in_order_on_postgres(pg):
    team_id, _ = owner()
    set_plan("pro", stripe_price_monthly="price_pro")
    link_customer(team_id, "cus_pg")
    upgrade = event("checkout.session.completed", checkout_completed(team_id, "cus_pg"), created=1_900_000_000)
    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = Counter(pool.map(lambda _: stripe_events.handle(upgrade, sign(upgrade)).status, range(8)))
    assert outcomes == Counter({"applied": 1, "duplicate": 7})
    stale = event("invoice.payment_failed", invoice("cus_pg"), created=1_899_999_999)
    assert stripe_events.handle(stale, sign(stale)).status == "stale"
    sub = subscription_of(team_id)
    assert (sub.plan_id, sub.payment_failed_at) == ("pro", None)


def test_activations_racing_at_the_limit_cannot_both_pass(pg):
    from backend.app import create_app

    team_id, headers = owner()
    set_plan(active_workflows_limit=3)
    with TestClient(create_app()) as api:
        ids = [api.post("/api/v1/workflows", json={"name": f"W{n}", "definition": webhook_flow(f"race-{n}")},
                        headers=headers).json()["id"] for n in range(8)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = Counter(pool.map(lambda i: api.post(f"/api/v1/workflows/{i}/activate", headers=headers)
                                        .status_code, ids))
        active = sum(w["active"] for w in api.get("/api/v1/workflows", headers=headers).json()["items"])
    assert statuses == Counter({200: 3, 402: 5}) and active == 3


def test_invitations_racing_at_the_member_limit_cannot_both_pass(pg):
    from backend.app import create_app

    team_id, headers = owner()
    set_plan(members_limit=4)
    with TestClient(create_app()) as api:
        def invite(n: int) -> int:
            return api.post(f"/api/v1/teams/{team_id}/invitations", json={"email": f"p{n}@example.com",
                                                                          "role": "viewer"}, headers=headers).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = Counter(pool.map(invite, range(10)))
        pending = api.get(f"/api/v1/teams/{team_id}/invitations", headers=headers).json()
    assert statuses == Counter({201: 3, 402: 7}) and len(pending) == 3
