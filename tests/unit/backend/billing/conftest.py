"""Fixtures of the billing tests: billing on (``LINKFLOW_BILLING_BACKEND=stripe``) with Stripe's API
pointed at a closed port, so a unit test that reached Stripe would fail instead of passing quietly
(the tests that call Stripe run against stripe-mock in tests/integration)."""

from __future__ import annotations

import pytest
from billing_testkit import STRIPE_SETTINGS

from backend.webhooks import listeners
from backend.webhooks.service import invalidate_cache

CLOSED_PORT = "http://127.0.0.1:9"


@pytest.fixture(autouse=True)
def fresh_webhook_registry():
    invalidate_cache()
    listeners.stop_listening_all()
    yield
    invalidate_cache()
    listeners.stop_listening_all()


@pytest.fixture
def billing_on(configure):
    configure(**STRIPE_SETTINGS, BILLING_STRIPE_API_BASE=CLOSED_PORT)


@pytest.fixture
def owner(billing_on, api, api_user):
    return api_user("owner@example.com")


@pytest.fixture
def create_workflow(api):
    def make(who, definition: dict, name: str = "W") -> str:
        response = api.post("/api/v1/workflows", json={"name": name, "definition": definition}, headers=who.headers)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    return make
