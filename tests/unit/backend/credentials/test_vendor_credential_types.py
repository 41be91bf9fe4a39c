"""The GitHub and Telegram credential types' Test, against the local imitations of their APIs in tests/fakes/
(neither vendor can be reached from here): a good token passes naming the account, a bad one fails with the
vendor's answer, and the Telegram token (part of the URL) never appears in a message."""

from __future__ import annotations

import pytest

from backend.credentials.registry import default_registry
from tests.fakes.github.server import TOKEN as GITHUB_TOKEN
from tests.fakes.github.server import FakeGitHub
from tests.fakes.telegram.server import TOKEN as TELEGRAM_TOKEN
from tests.fakes.telegram.server import FakeTelegram

pytestmark = pytest.mark.usefixtures("allow_loopback")


async def _test(type_name: str, values: dict):
    ctype = default_registry().get(type_name)
    return await ctype.test(ctype.Fields.model_validate(values))


async def test_github_token_is_tested_with_get_user():
    with FakeGitHub() as github:
        good = await _test("github", {"access_token": GITHUB_TOKEN, "api_base_url": github.url})
        bad = await _test("github", {"access_token": "ghp_wrong", "api_base_url": github.url})
    assert good.ok and good.message == "authenticated as octocat"
    assert not bad.ok and "answered 401" in bad.message and "ghp_wrong" not in bad.message


async def test_telegram_token_is_tested_with_get_me_and_never_shown():
    with FakeTelegram() as telegram:
        good = await _test("telegram", {"bot_token": TELEGRAM_TOKEN, "api_base_url": telegram.url})
        bad = await _test("telegram", {"bot_token": "999:wrong-token", "api_base_url": telegram.url})
    assert good.ok and good.message == "authenticated as @linkflow_bot (LinkFlow)"
    assert not bad.ok and bad.message == "Telegram refused the token (401): Unauthorized"
    closed = await _test("telegram", {"bot_token": TELEGRAM_TOKEN, "api_base_url": "http://127.0.0.1:9"})
    assert not closed.ok and TELEGRAM_TOKEN not in closed.message and "<token>" in closed.message, closed.message


def test_github_injection_carries_the_api_headers():
    ctype = default_registry().get("github")
    login = ctype.inject(ctype.Fields.model_validate({"access_token": "ghp_x"}))
    assert login == {"headers": {"Authorization": "Bearer ghp_x", "Accept": "application/vnd.github+json",
                                 "X-GitHub-Api-Version": "2022-11-28"}, "api_base_url": "https://api.github.com"}
