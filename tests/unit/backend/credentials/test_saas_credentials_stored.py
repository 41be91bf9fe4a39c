"""The GitHub, GitLab, Jira, Notion, Airtable and Google Sheets credentials through the vault (SQLite): stored,
described without their secrets, tested by the credentials' Test, resolved for a node as a run does, and used by
the node against the fake vendor API (tests/fakes/: the vendors cannot be reached from here, so they are mocked
with their documented shapes)."""

from __future__ import annotations

import json

import pytest

from backend.credentials import service as vault
from backend.db.session import session_scope
from nodes.builtin.airtable import Airtable
from nodes.builtin.github import GitHub
from nodes.builtin.gitlab import GitLab
from nodes.builtin.google_sheets import GoogleSheets
from nodes.builtin.jira import Jira
from nodes.builtin.notion import Notion
from nodes.sdk.testing import run_node
from tests.fakes.airtable import server as airtable
from tests.fakes.github import server as github
from tests.fakes.gitlab import server as gitlab
from tests.fakes.google_sheets import server as sheets
from tests.fakes.jira import server as jira
from tests.fakes.notion import server as notion

# vendor: (fake, credential type, values given the fake, secret, node, parameters of a read, what it returns)
CASES = {
    "github": (github.FakeGitHub, lambda f: {"access_token": github.TOKEN, "api_base_url": f.url}, github.TOKEN,
               GitHub, {"resource": "repository", "operation": "get", "owner": "octo", "repository": "hello"},
               lambda out: out[0]["full_name"] == "octo/hello"),
    "gitlab": (gitlab.FakeGitLab, lambda f: {"access_token": gitlab.TOKEN, "server_url": f.url}, gitlab.TOKEN,
               GitLab, {"resource": "repository", "operation": "get", "owner": "group", "repository": "app"},
               lambda out: out[0]["path_with_namespace"] == "group/app"),
    "jira": (jira.FakeJira, lambda f: {"site_url": f.url, "email": jira.EMAIL, "api_token": jira.TOKEN}, jira.TOKEN,
             Jira, {"operation": "get_all", "jql": "project = OPS"}, lambda out: out == []),
    "notion": (notion.FakeNotion, lambda f: {"api_key": notion.TOKEN, "api_base_url": f.url}, notion.TOKEN,
               Notion, {"database_id": notion.DB}, lambda out: out == []),
    "airtable": (airtable.FakeAirtable, lambda f: {"access_token": airtable.TOKEN, "api_base_url": f.url},
                 airtable.TOKEN, Airtable, {"base_id": airtable.BASE, "table": "Tasks"}, lambda out: out == []),
    "google_sheets": (sheets.FakeSheets, lambda f: {"auth_type": "api_key", "api_key": sheets.API_KEY,
                                                    "api_base_url": f.url}, sheets.API_KEY,
                      GoogleSheets, {"spreadsheet_id": sheets.SPREADSHEET, "range": "Sheet1"}, lambda out: out == []),
}


@pytest.mark.parametrize("kind", sorted(CASES))
async def test_stored_tested_resolved_and_used(team_id, allow_loopback, kind):
    fake_class, values, secret, node, params, expected = CASES[kind]
    with fake_class() as fake:
        with session_scope() as session:
            credential_id = vault.create_credential(session, team_id=team_id, name=f"{kind} account", type=kind,
                                                    values=values(fake)).id
            described = vault.get_credential(session, team_id, credential_id).model_dump(mode="json")
            assert secret not in json.dumps(described)
            result = await vault.test_connection(session, team_id, credential_id)
        assert result.ok is True, result.message
        injection = vault.resolve_for_node(team_id, credential_id, node_name="Step")
        out = await run_node(node, [{"json": {}}], params=params, credentials={kind: injection},
                             settings={"http_allow_list": ["127.0.0.1"]})
        assert expected([o["json"] for o in out["main"]])


async def test_a_wrong_secret_fails_the_test_with_the_vendors_words(team_id, allow_loopback):
    with github.FakeGitHub() as fake, session_scope() as session:
        credential_id = vault.create_credential(session, team_id=team_id, name="wrong", type="github", values={
            "access_token": "ghp_wrong", "api_base_url": fake.url}).id
        result = await vault.test_connection(session, team_id, credential_id)
    assert result.ok is False and "answered 401: Bad credentials; check the token" in result.message
