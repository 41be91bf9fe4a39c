"""The GitLab node against tests/fakes/gitlab: a local server answering as GitLab's REST API v4 documents it
(GitLab.com or a customer's server cannot be reached from here, so it is mocked, with its real shapes)."""

from __future__ import annotations

import time

import pytest

from backend.credentials.types.base import TestResult
from backend.credentials.types.gitlab import GitLab as GitLabCredential
from backend.credentials.types.gitlab import GitLabFields
from nodes.builtin.gitlab import GitLab
from nodes.sdk import NodeUserError
from nodes.sdk.testing import run_node
from tests.fakes.gitlab.server import TOKEN, FakeGitLab

LOOPBACK = {"http_allow_list": ["127.0.0.1"]}
PROJECT = {"owner": "group/sub", "repository": "app"}


@pytest.fixture
def gitlab():
    with FakeGitLab() as server:
        yield server


async def _run(gitlab, params, token=TOKEN):
    login = GitLabCredential().inject(GitLabFields(access_token=token, server_url=gitlab.url + "/"))
    out = await run_node(GitLab, [{"json": {}}], params={**PROJECT, **params}, credentials={"gitlab": login},
                         settings=LOOPBACK)
    return [o["json"] for o in out["main"]]


async def test_create_get_update_and_comment_on_an_issue(gitlab):
    created = await _run(gitlab, {"title": "Broken build", "body": "See job 12", "labels": ["ci", "bug"],
                                  "due_date": "2026-12-24"})
    assert created[0]["iid"] == 1 and created[0]["labels"] == ["ci", "bug"]
    sent = gitlab.requests[-1]
    method, path, body = sent.method, sent.path, sent.json()
    assert (method, path) == ("POST", "/api/v4/projects/group%2Fsub%2Fapp/issues")  # the path, URL-encoded
    assert body == {"title": "Broken build", "description": "See job 12", "due_date": "2026-12-24",
                    "labels": "ci,bug"}
    closed = await _run(gitlab, {"operation": "update", "issue_number": 1, "state": "closed"})
    assert closed[0]["state"] == "closed" and gitlab.requests[-1].json() == {"state_event": "close"}
    note = await _run(gitlab, {"operation": "create_comment", "issue_number": 1, "body": "Fixed"})
    assert note[0]["body"] == "Fixed" and note[0]["noteable_iid"] == 1
    got = await _run(gitlab, {"operation": "get", "issue_number": 1})
    assert got[0]["user_notes_count"] == 1
    project = await _run(gitlab, {"resource": "repository", "operation": "get"})
    assert project[0]["path_with_namespace"] == "group/sub/app"


async def test_listings_follow_the_link_header_up_to_the_limit(gitlab):
    gitlab.seed("group/sub/app", 205)
    issues = await _run(gitlab, {"operation": "get_all", "return_all": True})
    assert [i["iid"] for i in issues] == list(range(1, 206))
    assert [c.query.get("page") for c in gitlab.requests] == [None, "2", "3"]
    gitlab.requests.clear()
    merged = await _run(gitlab, {"resource": "merge_request", "operation": "get_all", "state": "merged"})
    assert [m["iid"] for m in merged] == [3, 6]
    opened = await _run(gitlab, {"resource": "merge_request", "operation": "get_all", "state": "opened",
                                 "limit": 2})
    assert [m["iid"] for m in opened] == [1, 2] and gitlab.requests[-1].query["per_page"] == "2"


async def test_a_429_is_waited_out_as_retry_after_says(gitlab):
    started = time.monotonic()
    project = await _run(gitlab, {"resource": "repository", "operation": "get", "repository": "busy",
                                  "owner": "group"})
    assert project[0]["path_with_namespace"] == "group/busy" and time.monotonic() - started >= 1.0
    assert len(gitlab.requests) == 2


async def test_gitlabs_errors_are_named(gitlab):
    with pytest.raises(NodeUserError, match=r"GitLab refused GET /api/v4/projects/group/missing \(404\): "
                                            "404 Project Not Found"):
        await _run(gitlab, {"resource": "repository", "operation": "get", "owner": "group",
                            "repository": "missing"})
    with pytest.raises(NodeUserError, match=r"\(404\): 404 Issue Not Found"):
        await _run(gitlab, {"operation": "get", "issue_number": 9})
    with pytest.raises(NodeUserError, match=r"\(401\): 401 Unauthorized \(check the credential\)"):
        await _run(gitlab, {"resource": "repository", "operation": "get"}, token="glpat-wrong")


@pytest.mark.parametrize(("params", "message"), [
    ({"operation": "create"}, "issue create needs title"),
    ({"operation": "get_all", "state": "merged"}, "state 'merged' does not apply to issue get_all"),
    ({"resource": "merge_request", "operation": "get"}, "merge_request has no operation 'get'"),
])
async def test_incomplete_parameters_are_refused(gitlab, params, message):
    with pytest.raises(NodeUserError, match=message):
        await _run(gitlab, params)


async def test_the_credential_test_calls_get_user(gitlab, monkeypatch):
    from backend.settings import get_settings

    monkeypatch.setenv("LINKFLOW_HTTP_ALLOW_LIST", "127.0.0.1")
    get_settings.cache_clear()
    credential = GitLabCredential()
    assert await credential.test(GitLabFields(access_token=TOKEN, server_url=gitlab.url)) == \
        TestResult(True, "authenticated as ada")
    bad = await credential.test(GitLabFields(access_token="glpat-x", server_url=gitlab.url))
    assert bad.ok is False and "answered 401: 401 Unauthorized; check the token" in bad.message
    get_settings.cache_clear()
