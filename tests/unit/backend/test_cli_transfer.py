"""`linkflow export/import workflows|credentials`: round trips between two databases, encrypted by default."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from backend.cli import main
from backend.credentials.models import Credential
from backend.credentials.service import create_credential, resolve_for_node
from backend.db import migrate
from backend.db.session import session_scope
from backend.settings import get_settings
from backend.users.service import create_user
from backend.workflows.models import Workflow
from backend.workflows.service import create_workflow

HOOK = {"nodes": [{"id": "t", "name": "Start", "type": "manual_trigger", "position": [0, 0]},
                  {"id": "h", "name": "Call", "type": "http_request", "position": [200, 0],
                   "parameters": {"url": "https://api.example.com/x", "authentication": "credential"},
                   "credentials": {"auth": "CRED"}}],
        "connections": [{"from": "t", "to": "h"}]}


def _team(email: str) -> str:
    with session_scope() as session:
        _, team = create_user(session, email=email, password="a long enough password")
        return team.id


@pytest.fixture
def source(tmp_path, configure):
    configure(DATABASE_URL=f"sqlite:///{tmp_path / 'a.db'}")
    migrate.upgrade(get_settings().database_url)
    team_id = _team("a@x.io")
    with session_scope() as session:
        cred = create_credential(session, team_id=team_id, name="Orders API", type="api_key_header",
                                 values={"header_name": "X-Key", "api_key": "s3cret-value"}).id
        definition = json.loads(json.dumps(HOOK).replace("CRED", cred))
        create_workflow(session, team_id=team_id, user_id=None, name="Fetch orders", definition=definition,
                        tags=["io"])
    return team_id


def _into_new_database(tmp_path, configure, name: str) -> str:
    configure(DATABASE_URL=f"sqlite:///{tmp_path / name}")
    migrate.upgrade(get_settings().database_url)
    return _team("b@x.io")


def test_credentials_then_workflows_move_to_another_database(source, tmp_path, configure, capsys):
    creds, flows = tmp_path / "creds.json", tmp_path / "flows.json"
    assert main(["export", "credentials", "--output", str(creds)]) == 0
    assert main(["export", "workflows", "--team", source, "--output", str(flows)]) == 0
    assert "s3cret-value" not in creds.read_text()  # encrypted unless asked otherwise
    exported = json.loads(flows.read_text())
    assert exported[0]["name"] == "Fetch orders" and list(exported[0]["credential_names"].values()) == ["Orders API"]

    team_id = _into_new_database(tmp_path, configure, "b.db")
    capsys.readouterr()
    assert main(["import", "credentials", str(creds)]) == 0
    (new_cred,) = json.loads(capsys.readouterr().out)["credentials"]
    assert resolve_for_node(team_id, new_cred, record_use=False)["headers"] == {"X-Key": "s3cret-value"}
    assert main(["import", "workflows", str(flows)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["unbound_credentials"] == []
    with session_scope() as session:
        workflow = session.get(Workflow, summary["workflows"][0])
        from backend.workflows.service import latest_version

        nodes = latest_version(session, workflow).definition["nodes"]
        assert nodes[1]["credentials"] == {"auth": new_cred} and workflow.tags == ["io"]


def test_decrypted_export_and_refusals_change_nothing(source, tmp_path, configure, capsys):
    plain = tmp_path / "plain.json"
    assert main(["export", "credentials", "--decrypted", "--output", str(plain)]) == 0
    assert json.loads(plain.read_text())[0]["values"]["api_key"] == "s3cret-value"
    # the same names again in the same team: refused whole
    assert main(["import", "credentials", str(plain)]) == 2
    assert "nothing was changed" in capsys.readouterr().err
    tampered = tmp_path / "tampered.json"
    encrypted = tmp_path / "enc.json"
    main(["export", "credentials", "--output", str(encrypted)])
    entries = json.loads(encrypted.read_text())
    tampered.write_text(json.dumps([{**entries[0], "name": "Renamed"}]))  # the data is bound to its name
    _into_new_database(tmp_path, configure, "c.db")
    capsys.readouterr()
    assert main(["import", "credentials", str(tampered)]) == 2
    assert "cannot be decrypted" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps([{"name": "Flow", "nodes": [{"id": "x", "name": "X", "type": "nope"}]}]))
    assert main(["import", "workflows", str(broken)]) == 2
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Credential)) == 0
        assert session.scalar(select(func.count()).select_from(Workflow)) == 0


def test_a_workflow_whose_credential_is_missing_imports_unbound(source, tmp_path, configure, capsys):
    flows = tmp_path / "flows.json"
    main(["export", "workflows", "--output", str(flows)])
    _into_new_database(tmp_path, configure, "d.db")
    capsys.readouterr()
    assert main(["import", "workflows", str(flows)]) == 0
    assert json.loads(capsys.readouterr().out)["unbound_credentials"] == ["'Fetch orders' Call: auth"]
