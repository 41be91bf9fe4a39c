"""Converters for n8n's vendor webhook triggers: GitHub Trigger, Stripe Trigger, Slack Trigger, Telegram Trigger.

Their parameters are read when the workflow is activated (the webhook is registered with them), so values set by
an expression are not converted. The credentials map by type; n8n's Slack credential keeps the signing secret as
``signatureSecret``, LinkFlow's as ``signing_secret``: fill it in after importing the credential.
"""

from __future__ import annotations

from typing import Any

from backend.workflows.n8n.integrations import _locator, _static
from backend.workflows.n8n.js_lexer import Unsupported
from backend.workflows.n8n.nodes import Converted, NodeJob, _no_input

# n8n's Slack Trigger choices -> Events API event types (bot_message and file_share are kinds of message events)
_SLACK_EVENTS = {"any_event": "*", "app_mention": "app_mention", "bot_message": "message", "file_share": "message",
                 "file_public": "file_public", "message": "message", "channel_created": "channel_created",
                 "team_join": "team_join", "reaction_added": "reaction_added"}


def _list(params: dict, name: str, default: list) -> list[str]:
    value = _static(params, name, default)
    return [str(v) for v in value] if isinstance(value, list) and value else default


def _github_trigger(job: NodeJob, params: dict, version: float) -> Converted:
    if params.get("authentication", "accessToken") != "accessToken":
        raise Unsupported("GitHub OAuth2 is not converted; use a GitHub credential with an access token")
    owner, repository = _locator(_static(params, "owner")), _locator(_static(params, "repository"))
    return _no_input(Converted("github_trigger", {"owner": str(owner or ""), "repository": str(repository or ""),
                                                  "events": _list(params, "events", ["push"])}))


def _stripe_trigger(job: NodeJob, params: dict, version: float) -> Converted:
    return _no_input(Converted("stripe_trigger", {"events": _list(params, "events", ["*"])}))


def _slack_trigger(job: NodeJob, params: dict, version: float) -> Converted:
    chosen = _list(params, "trigger", ["any_event"])
    unknown = [t for t in chosen if t not in _SLACK_EVENTS]
    if unknown:
        raise Unsupported(f"Slack Trigger events {', '.join(unknown)} are not converted")
    channel: Any = _locator(params.get("channelId"))
    if not params.get("watchWorkspace", False) and channel:
        job.problems.append({"node": job.name, "parameter": "channelId", "expression": None, "severity": "warning",
                             "reason": "the channel filter is not converted: every channel's events start the "
                                       "workflow; add an If node on $json.channel"})
    return _no_input(Converted("slack_trigger", {"events": sorted({_SLACK_EVENTS[t] for t in chosen})}))


def _telegram_trigger(job: NodeJob, params: dict, version: float) -> Converted:
    if (params.get("additionalFields") or {}).get("download"):
        job.problems.append({"node": job.name, "parameter": "additionalFields.download", "expression": None,
                             "severity": "warning", "reason": "images are not downloaded; the update keeps file ids"})
    return _no_input(Converted("telegram_trigger", {"updates": _list(params, "updates", ["*"])}))


CONVERTERS = {"n8n-nodes-base.githubTrigger": _github_trigger, "n8n-nodes-base.stripeTrigger": _stripe_trigger,
              "n8n-nodes-base.slackTrigger": _slack_trigger, "n8n-nodes-base.telegramTrigger": _telegram_trigger}
CREDENTIAL_TYPES = {"githubApi": ("github", "github"), "stripeApi": ("stripe", "stripe"),
                    "telegramApi": ("telegram", "telegram")}
