"""The GitHub Trigger: a repository's webhook events (push, pull_request, issues...) start the workflow.

Like n8n's GitHub Trigger: ``owner`` and ``repository`` name the repository, ``events`` the webhook events
(``*`` for all of them). Activating the workflow creates a repository webhook through GitHub's REST API
(``POST /repos/{owner}/{repo}/hooks``, https://docs.github.com/en/rest/repos/webhooks) that posts JSON to this
workflow's URL, signed with a random secret LinkFlow keeps encrypted; deactivating deletes it
(``DELETE /repos/{owner}/{repo}/hooks/{id}``). The token needs admin rights on the repository's hooks
(``admin:repo_hook`` or a fine-grained token with "Webhooks: write").

Each delivery's ``X-Hub-Signature-256`` (``sha256=`` and the HMAC-SHA256 of the raw body,
https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries) is checked before the body is
read; a missing or wrong one is refused with 401. GitHub's ``ping`` (sent when the hook is created) is answered
without a run. The item is ``{"body", "headers", "query"}`` as n8n gives it; ``headers["x-github-event"]`` names
the event. GitHub signs no timestamp: a captured delivery could be sent again, and GitHub's own redeliveries look
the same; ``headers["x-github-delivery"]`` is the id to deduplicate on where that matters.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

from pydantic import Field, field_validator

from nodes.sdk import NodeParameters
from nodes.sdk.vendor_webhook import Registration, VendorWebhookTrigger, same, vendor_answer

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_EVENT = re.compile(r"^(\*|[a-z_]{1,60})$")


class GitHubTriggerParameters(NodeParameters):
    owner: str = Field(description="The repository's owner (user or organisation), e.g. 'octo-org'")
    repository: str = Field(description="The repository's name, e.g. 'hello-world'")
    events: list[str] = Field(["push"], min_length=1, max_length=100,
                              description="Webhook events, e.g. push, pull_request, issues; '*' for every event")

    @field_validator("owner", "repository")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not _NAME.match(value):
            raise ValueError(f"{value!r} is not a GitHub owner or repository name (letters, digits, - _ .)")
        return value

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str]) -> list[str]:
        bad = [event for event in value if not _EVENT.match(event)]
        if bad:
            raise ValueError(f"not GitHub event names: {', '.join(map(repr, bad))} (e.g. 'push', 'issues' or '*')")
        return sorted(set(value))


class GitHubTrigger(VendorWebhookTrigger):
    type = "github_trigger"
    display_name = "GitHub Trigger"
    vendor = "GitHub"
    icon = "github"
    description = "Starts the workflow on a repository's webhook events; creates and deletes the webhook itself."
    Parameters = GitHubTriggerParameters
    credential_slots = {"github": ("github",)}

    def register(self, http, login, params, url, secret):
        hooks = f"{_base(login)}/repos/{params.owner}/{params.repository}/hooks"
        response = http.post(hooks, headers=login["headers"], json={
            "name": "web", "active": True, "events": params.events,
            "config": {"url": url, "content_type": "json", "secret": secret, "insecure_ssl": "0"}})
        answer = vendor_answer("GitHub", f"creating a webhook on {params.owner}/{params.repository}", response)
        return Registration(external_id=str(answer["id"]), secret=secret)

    def unregister(self, http, login, params, registration):
        hook = f"{_base(login)}/repos/{params.owner}/{params.repository}/hooks/{registration.external_id}"
        response = http.delete(hook, headers=login["headers"])
        if response.status_code != 404:  # already gone is what we wanted
            vendor_answer("GitHub", f"deleting webhook {registration.external_id}", response)

    def refusal(self, headers: Mapping[str, str], body: bytes, secret: str, now: float,
                params: NodeParameters) -> str | None:
        given = headers.get("x-hub-signature-256")
        if not given:
            return "no X-Hub-Signature-256 header"
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return None if same(given, expected) else "X-Hub-Signature-256 does not match the body"

    def handshake(self, headers, document) -> tuple[int, Any] | None:
        if headers.get("x-github-event") == "ping":
            return 200, {"ok": True, "hook_id": document.get("hook_id") if isinstance(document, dict) else None}
        return None

    def wanted(self, headers, document, params) -> bool:
        return "*" in params.events or headers.get("x-github-event", "") in params.events

    def item(self, request: dict) -> dict:
        return {key: request[key] for key in ("body", "headers", "query")}


def _base(login: dict) -> str:
    return str(login.get("api_base_url") or "https://api.github.com").rstrip("/")
