"""A Stripe secret (or restricted) API key; tested by reading the account balance."""

from __future__ import annotations

from pydantic import Field, SecretStr

from backend.credentials.types._http import request, shown_url
from backend.credentials.types.base import CredentialFields, CredentialType, TestResult, secret

STRIPE_API = "https://api.stripe.com"


class StripeFields(CredentialFields):
    secret_key: SecretStr = secret(description="Secret key (sk_...) or restricted key (rk_...)")
    api_base_url: str = Field(STRIPE_API, description="Stripe API base URL (change only for a proxy or tests)")


class Stripe(CredentialType):
    type = "stripe"
    display_name = "Stripe"
    description = "A Stripe API key, sent as a bearer token."
    documentation_url = "https://docs.stripe.com/keys"
    Fields = StripeFields

    def inject(self, values: StripeFields) -> dict:
        """The bearer header (what HTTP Request applies) and the API's base URL (what the Stripe node calls)."""
        return {"headers": {"Authorization": f"Bearer {values.secret_key.get_secret_value()}"},
                "api_base_url": values.api_base_url.rstrip("/")}

    async def test(self, values: StripeFields) -> TestResult:
        url = values.api_base_url.rstrip("/") + "/v1/balance"
        response = await request("GET", url, headers=self.inject(values)["headers"], timeout_s=self.test_timeout_s)
        if isinstance(response, TestResult):
            return response
        if response.status_code == 200:
            mode = "live" if _json(response).get("livemode") else "test"
            return TestResult(True, f"Stripe accepted the key ({mode} mode)")
        error = _json(response).get("error")
        # Stripe's error *message* quotes part of the key; its type and code do not.
        kind = error.get("code") or error.get("type") if isinstance(error, dict) else None
        return TestResult(False, f"{shown_url(url)} answered {response.status_code}"
                                 + (f" ({kind})" if kind else "") + "; check the key")


def _json(response) -> dict:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}
