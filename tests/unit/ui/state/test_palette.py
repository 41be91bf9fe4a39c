"""The palette lists LinkFlow's own nodes by kind, then each app (an outside service) with its nodes and triggers
together under the app's name and icon (issue #17: "the palette shows the nodes grouped by app with icons")."""

from __future__ import annotations

import pytest

from backend.node_registry.service import catalog
from ui.state.editor import palette_groups


@pytest.fixture(scope="module")
def entries() -> list[dict]:
    return [e for e in catalog() if e["latest"]]


def test_own_nodes_by_kind_first_then_one_group_per_app_with_its_triggers(entries):
    groups = palette_groups(entries, "")
    labels = [g["label"] for g in groups]
    assert labels[:3] == ["Triggers", "Flow", "Data"]
    apps = {g["label"]: g for g in groups if g["group"].startswith("app:")}
    assert [g["label"] for g in groups if g["group"].startswith("app:")] == sorted(apps, key=str.lower)
    assert [i["type"] for i in apps["GitHub"]["items"]] == ["github", "github_trigger"]
    assert [i["type"] for i in apps["Redis"]["items"]] == ["redis", "redis_trigger"]
    assert [i["type"] for i in apps["OpenAI"]["items"]] == ["ai_agent", "openai"]
    assert apps["GitHub"]["icon"] == "git-branch" and apps["Email (IMAP)"]["icon"] == "mail"  # the app's own icon
    triggers = [i["type"] for i in groups[0]["items"]]
    assert {"webhook", "schedule", "manual_trigger"} <= set(triggers) and "github_trigger" not in triggers
    own = {i["type"] for g in groups if not g["group"].startswith("app:") for i in g["items"]}
    assert "http_request" in own and "set" in own  # HTTP Request is for any API: with LinkFlow's own nodes
    listed = [i["type"] for g in groups for i in g["items"]]
    assert sorted(listed) == sorted(e["type"] for e in entries)  # every node once


def test_search_matches_the_app_name_and_drops_empty_groups(entries):
    groups = palette_groups(entries, "telegram")
    assert [(g["label"], [i["type"] for i in g["items"]]) for g in groups] == [
        ("Telegram", ["telegram", "telegram_trigger"])]
    assert palette_groups(entries, "no such node") == []
