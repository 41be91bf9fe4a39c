"""The GitHub node against tests/fakes/github: a local server answering as GitHub's REST API documents it
(GitHub is a third-party service this machine cannot reach, so it is mocked, with its real shapes)."""

from __future__ import annotations

import time

import pytest

from backend.credentials.types.base import TestResult
from backend.credentials.types.github import GitHub as GitHubCredential
from backend.credentials.types.github import GitHubFields
from nodes.builtin.github import GitHub
from nodes.sdk import NodeTransientError, NodeUserError
from nodes.sdk.testing import run_node
from tests.fakes.github.server import RELEASES, TOKEN, FakeGitHub

LOOPBACK = {"http_allow_list": ["127.0.0.1"]}
REPO = {"owner": "octo", "repository": "hello"}


@pytest.fixture
def github():
    with FakeGitHub() as server:
        yield server


def _login(github: FakeGitHub, token: str = TOKEN) -> dict:
    return GitHubCredential().inject(GitHubFields(access_token=token, api_base_url=github.url))


async def _run(github, params, token=TOKEN):
    out = await run_node(GitHub, [{"json": {}}], params={**REPO, **params},
                         credentials={"github": _login(github, token)}, settings=LOOPBACK)
    return [o["json"] for o in out["main"]]


async def test_create_get_update_and_comment_on_an_issue(github):
    created = await _run(github, {"title": "Crash on start", "body": "Stack trace...", "labels": ["bug"],
                                  "assignees": ["ada"]})
    assert created[0]["number"] == 1 and created[0]["labels"] == [{"name": "bug"}]
    assert (github.requests[-1].method, github.requests[-1].path) == ("POST", "/repos/octo/hello/issues")
    assert github.requests[-1].json() == {"title": "Crash on start", "body": "Stack trace...", "labels": ["bug"],
                                   "assignees": ["ada"]}
    updated = await _run(github, {"operation": "update", "issue_number": 1, "state": "closed"})
    assert updated[0]["state"] == "closed" and updated[0]["title"] == "Crash on start"
    assert github.requests[-1].json() == {"state": "closed"}  # only what was set is sent
    comment = await _run(github, {"operation": "create_comment", "issue_number": 1, "body": "Fixed in #2"})
    assert comment[0]["body"] == "Fixed in #2"
    got = await _run(github, {"operation": "get", "issue_number": 1})
    assert got[0]["comments"] == 1
    repo = await _run(github, {"resource": "repository", "operation": "get"})
    assert repo[0]["full_name"] == "octo/hello"


async def test_listings_follow_the_link_header_up_to_the_limit(github):
    github.seed("octo/hello", 230)
    issues = await _run(github, {"operation": "get_all", "return_all": True})
    assert [i["number"] for i in issues] == list(range(1, 231))
    pages = [(c.query.get("page"), c.query.get("per_page")) for c in github.requests if c.path.endswith("/issues")]
    assert pages == [(None, "100"), ("2", "100"), ("3", "100")]  # pages 2 and 3 from rel="next"
    github.requests.clear()
    assert len(await _run(github, {"operation": "get_all", "limit": 120})) == 120
    assert len(github.requests) == 2
    releases = await _run(github, {"resource": "release", "operation": "get_all", "limit": 3})
    assert [r["tag_name"] for r in releases] == [r["tag_name"] for r in RELEASES[:3]]


async def test_a_429_and_an_exhausted_rate_limit_are_waited_out(github):
    started = time.monotonic()
    repo = await _run(github, {"resource": "repository", "operation": "get", "repository": "busy"})
    assert repo[0]["full_name"] == "octo/busy" and time.monotonic() - started >= 1.0  # Retry-After: 1
    repo = await _run(github, {"resource": "repository", "operation": "get", "repository": "spent"})
    assert repo[0]["full_name"] == "octo/spent"  # 403 + x-ratelimit-remaining: 0, waited until the reset
    assert [c.path for c in github.requests] == ["/repos/octo/busy"] * 2 + ["/repos/octo/spent"] * 2


async def test_a_long_wait_is_reported_as_transient(github, monkeypatch):
    from nodes.sdk.jsonapi import JsonApi

    monkeypatch.setattr(JsonApi, "rate_limit_wait", lambda self, r: 3600 if r.status_code == 429 else None)
    with pytest.raises(NodeTransientError, match="GitHub rate-limited GET /repos/octo/busy; it asks to retry "
                                                 "after 3600 s"):
        await _run(github, {"resource": "repository", "operation": "get", "repository": "busy"})


async def test_githubs_errors_are_named(github):
    with pytest.raises(NodeUserError, match=r"GitHub refused POST /repos/octo/hello/issues \(422\): "
                                            "Validation Failed; Issue assignees invalid"):
        await _run(github, {"title": "x", "assignees": ["nobody"]})
    with pytest.raises(NodeUserError, match=r"GitHub refused GET /repos/octo/missing \(404\): Not Found"):
        await _run(github, {"resource": "repository", "operation": "get", "repository": "missing"})
    with pytest.raises(NodeUserError, match=r"\(401\): Bad credentials \(check the credential\)"):
        await _run(github, {"resource": "repository", "operation": "get"}, token="ghp_wrong")


@pytest.mark.parametrize(("params", "message"), [
    ({"operation": "get"}, "issue get needs issue_number"),
    ({"resource": "release", "operation": "create"}, "release has no operation 'create'"),
    ({"operation": "update", "issue_number": 1, "state": "all"}, "open or closed"),
])
async def test_incomplete_parameters_are_refused(github, params, message):
    with pytest.raises(NodeUserError, match=message):
        await _run(github, params)
    assert github.requests == []


async def test_the_credential_test_calls_get_user(github, monkeypatch):
    from backend.settings import get_settings

    monkeypatch.setenv("LINKFLOW_HTTP_ALLOW_LIST", "127.0.0.1")
    get_settings.cache_clear()
    credential = GitHubCredential()
    good = await credential.test(GitHubFields(access_token=TOKEN, api_base_url=github.url + "/"))
    bad = await credential.test(GitHubFields(access_token="ghp_wrong", api_base_url=github.url))
    assert good == TestResult(True, "authenticated as octocat")
    assert bad.ok is False and "answered 401: Bad credentials; check the token" in bad.message
    assert GitHubFields(access_token="x").api_base_url == "https://api.github.com"
    get_settings.cache_clear()
