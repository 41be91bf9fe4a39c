"""Vendor webhook registrations on the embedded database (SQLite), against the GitHub imitation in
tests/fakes/github/ (GitHub cannot be reached from here): a failed activation leaves nothing at the vendor,
re-activating with other parameters replaces the hook, and the sealed secrets follow a vault key rotation."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from backend.cli import main
from backend.credentials.service import create_credential
from backend.db import migrate
from backend.db.session import session_scope
from backend.settings import get_settings
from backend.users.service import create_user
from backend.vendorhooks.models import VendorWebhook
from backend.vendorhooks.service import RegistrationFailed, request_secret
from backend.workflows.activation import activate, deactivate
from backend.workflows.service import create_workflow, get_workflow, save_version
from tests.fakes.github.server import REPO, TOKEN, FakeGitHub
from tests.unit.backend.credentials.vault_testkit import vault_key


@pytest.fixture
def github(configure):
    configure(HTTP_ALLOW_LIST="127.0.0.1", SECURITY_VAULT_KEYS=f"k1:{vault_key(1)}")
    migrate.upgrade(get_settings().database_url)
    with FakeGitHub() as fake:
        yield fake


def _team_and_login(github: FakeGitHub) -> tuple[str, str]:
    with session_scope() as session:
        _, team = create_user(session, email="hooks@example.com", password="a long enough password")
        login = create_credential(session, team_id=team.id, name="gh", type="github",
                                  values={"access_token": TOKEN, "api_base_url": github.url})
        return team.id, login.id


def _definition(login: str, *repositories: str) -> dict:
    nodes = [{"id": f"gh{i}", "name": f"GitHub {i}", "type": "github_trigger", "position": [0, i * 100],
              "parameters": {"owner": REPO[0], "repository": repo}, "credentials": {"github": login}}
             for i, repo in enumerate(repositories)]
    return {"nodes": [*nodes, {"id": "n", "name": "Next", "type": "noop", "position": [300, 0]}],
            "connections": [{"from": node["id"], "to": "n"} for node in nodes]}


def _rows(workflow_id: str) -> dict[str, VendorWebhook]:
    with session_scope() as session:
        rows = session.scalars(select(VendorWebhook).where(VendorWebhook.workflow_id == workflow_id)).all()
        for row in rows:
            session.expunge(row)
        return {row.node_id: row for row in rows}


def test_a_refused_hook_activates_nothing_and_a_refused_change_keeps_the_old_hook(github):
    team_id, login = _team_and_login(github)
    with session_scope() as session:
        workflow_id = create_workflow(session, team_id=team_id, user_id=None, name="hook",
                                      definition=_definition(login, "missing-repo")).id
    with pytest.raises(RegistrationFailed) as refused, session_scope() as session:
        activate(session, get_workflow(session, team_id, workflow_id), user_id=None)
    assert "GitHub refused creating a webhook on octo-org/missing-repo (HTTP 404): Not Found" in refused.value.message
    assert github.hooks == {} and _rows(workflow_id) == {}  # rolled back with the activation
    with session_scope() as session:
        workflow = get_workflow(session, team_id, workflow_id)
        assert workflow.active is False
        save_version(session, workflow, _definition(login, REPO[1]), user_id=None)
        activate(session, workflow, user_id=None)
    [(hook_id, hook)] = github.hooks.items()
    path = _rows(workflow_id)["gh0"].path

    with pytest.raises(RegistrationFailed), session_scope() as session:  # a new version with a bad repository
        workflow = get_workflow(session, team_id, workflow_id)
        save_version(session, workflow, _definition(login, "missing-repo"), user_id=None)
        activate(session, workflow, user_id=None)
    assert list(github.hooks) == [hook_id]  # the new one is made before the old one goes: the old one still works
    assert request_secret(workflow_id, "gh0", path) == hook["config"]["secret"]


def test_changed_parameters_replace_the_hook_and_rotation_keeps_the_secret(github, configure, capsys):
    team_id, login = _team_and_login(github)
    with session_scope() as session:
        workflow = create_workflow(session, team_id=team_id, user_id=None, name="one hook",
                                   definition=_definition(login, REPO[1]))
        activate(session, workflow, user_id=None)
        workflow_id = workflow.id
    [(first_id, first)] = github.hooks.items()
    row = _rows(workflow_id)["gh0"]
    assert row.status == "registered" and row.external_id == str(first_id) and row.key_id == "k1"
    assert request_secret(workflow_id, "gh0", row.path) == first["config"]["secret"]

    with session_scope() as session:  # the same parameters: the hook stays as it is
        activate(session, get_workflow(session, team_id, workflow_id), user_id=None)
    assert list(github.hooks) == [first_id]

    changed = _definition(login, REPO[1])
    changed["nodes"][0]["parameters"]["events"] = ["issues"]
    with session_scope() as session:
        workflow = get_workflow(session, team_id, workflow_id)
        save_version(session, workflow, changed, user_id=None)
        activate(session, workflow, user_id=None)
    [(second_id, second)] = github.hooks.items()
    assert second_id != first_id and second["events"] == ["issues"]
    new_row = _rows(workflow_id)["gh0"]
    assert new_row.path != row.path and request_secret(workflow_id, "gh0", row.path) is None  # the old URL is dead

    configure(HTTP_ALLOW_LIST="127.0.0.1", SECURITY_VAULT_KEYS=f"k2:{vault_key(2)},k1:{vault_key(1)}")
    assert main(["credentials", "rotate-key"]) == 0
    assert json.loads(capsys.readouterr().out)["vendor_webhook_secrets"] == 1
    configure(HTTP_ALLOW_LIST="127.0.0.1", SECURITY_VAULT_KEYS=f"k2:{vault_key(2)}")  # k1 retired
    assert _rows(workflow_id)["gh0"].key_id == "k2"
    assert request_secret(workflow_id, "gh0", new_row.path) == second["config"]["secret"]

    with session_scope() as session:
        deactivate(session, get_workflow(session, team_id, workflow_id), user_id=None)
    assert github.hooks == {} and _rows(workflow_id)["gh0"].status == "not_registered"
    assert _rows(workflow_id)["gh0"].secret is None


def test_a_hook_deleted_at_github_meanwhile_still_deactivates(github):
    team_id, login = _team_and_login(github)
    with session_scope() as session:
        workflow = create_workflow(session, team_id=team_id, user_id=None, name="gone",
                                   definition=_definition(login, REPO[1]))
        activate(session, workflow, user_id=None)
        workflow_id = workflow.id
    github.hooks.clear()  # someone deleted it in the repository's settings
    with session_scope() as session:
        deactivate(session, get_workflow(session, team_id, workflow_id), user_id=None)
    row = _rows(workflow_id)["gh0"]
    assert row.status == "not_registered" and row.error is None  # a 404 on delete is what we wanted
