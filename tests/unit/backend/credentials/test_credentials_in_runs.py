"""A credential used by a real run (SQLite, the worker's execute path) reaches the server and nothing else.

The secret must not appear in execution steps, the execution row, the outbox, or any log line.
"""

import json
import logging

import pytest
from sqlalchemy import select
from vault_testkit import Answer

from backend.credentials import service as vault
from backend.credentials.models import Credential
from backend.db.session import session_scope
from backend.events.models import OutboxEvent
from backend.executions.models import Execution, ExecutionStep
from backend.executions.service import create_execution
from backend.executions.worker_runtime import execute
from backend.users.service import create_user

SECRET = "s3cr3t-VALUE-1234"


def _route(request):
    if request.path.startswith("/fail"):
        return Answer(500, "upstream exploded")
    return Answer(200, {"hello": "world"})


def _definition(url: str, credential_id: str) -> dict:
    return {
        "name": "vault run",
        "nodes": [
            {"id": "start", "name": "Start", "type": "manual_trigger", "parameters": {}},
            {"id": "call", "name": "Call API", "type": "http_request", "credentials": {"auth": credential_id},
             "parameters": {"url": url, "authentication": "credential"}},
        ],
        "connections": [{"from": "start", "to": "call"}],
    }


@pytest.fixture
def secret_credential(team_id, configure) -> str:
    configure(HTTP_ALLOW_PRIVATE="true")
    with session_scope() as session:
        return vault.create_credential(session, team_id=team_id, name="Partner API", type="api_key_header",
                                       values={"header_name": "X-Partner-Key", "api_key": SECRET}).id


def _run(team_id: str, definition: dict) -> str:
    with session_scope() as session:
        execution_id = create_execution(session, team_id=team_id, definition=definition, input_items=[{"json": {}}]).id
    execute(execution_id, "test-worker")
    return execution_id


def _everything_stored(execution_id: str) -> dict[str, str]:
    with session_scope() as session:
        execution = session.get(Execution, execution_id)
        steps = session.scalars(select(ExecutionStep).where(ExecutionStep.execution_id == execution_id)).all()
        outbox = session.scalars(select(OutboxEvent)).all()
        return {
            "execution": json.dumps({c.name: getattr(execution, c.name) for c in Execution.__table__.columns},
                                    default=str),
            "steps": json.dumps([{"input": s.input, "output": s.output, "error": s.error} for s in steps],
                                default=str),
            "outbox": json.dumps([{"payload": e.payload, "error": e.last_error} for e in outbox], default=str),
            "status": execution.status,
            "error": json.dumps(execution.error),
        }


def _logged(caplog, capsys) -> str:
    captured = capsys.readouterr()
    records = json.dumps([r.__dict__ for r in caplog.records], default=str)
    return caplog.text + records + captured.out + captured.err


def test_the_secret_reaches_the_server_and_nowhere_else(team_id, secret_credential, http_server, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    server = http_server(_route)
    execution_id = _run(team_id, _definition(server.url + "/data", secret_credential))

    stored = _everything_stored(execution_id)
    assert stored["status"] == "succeeded", stored["error"]
    assert [r.headers.get("X-Partner-Key") for r in server.seen] == [SECRET]
    assert '"hello": "world"' in stored["steps"]  # the run's data is there...
    for place, text in stored.items():
        assert SECRET not in text, f"the secret leaked into {place}"  # ...the secret is not
    assert SECRET not in _logged(caplog, capsys)
    with session_scope() as session:
        row = session.get(Credential, secret_credential)
        assert SECRET.encode() not in row.ciphertext and row.last_used_at is not None
        uses = [e.payload for e in session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "audit.log"))
                if e.payload["action"] == "credential.use"]
    assert uses == [{"action": "credential.use", "actor_id": None, "team_id": team_id, "object_type": "credential",
                     "object_id": secret_credential, "details": {"name": "Partner API", "type": "api_key_header",
                                                                 "node": "Call API", "execution_id": execution_id}}]


def test_a_failing_call_reports_the_error_without_the_secret(team_id, secret_credential, http_server, caplog,
                                                           capsys):
    caplog.set_level(logging.DEBUG)
    server = http_server(_route)
    execution_id = _run(team_id, _definition(server.url + "/fail?token=abc", secret_credential))

    stored = _everything_stored(execution_id)
    assert stored["status"] == "failed"
    assert "answered 500 Internal Server Error" in stored["error"]
    assert server.seen[0].headers.get("X-Partner-Key") == SECRET
    for place, text in stored.items():
        assert SECRET not in text, f"the secret leaked into {place}"
    assert SECRET not in _logged(caplog, capsys)


def test_another_teams_credential_fails_the_run_without_revealing_it(team_id, secret_credential, http_server,
                                                                    caplog, capsys):
    caplog.set_level(logging.DEBUG)
    with session_scope() as session:
        _, other_team = create_user(session, email="other@example.com", password="a long enough password")
        other_team_id = other_team.id
    server = http_server(_route)
    execution_id = _run(other_team_id, _definition(server.url + "/data", secret_credential))

    stored = _everything_stored(execution_id)
    assert stored["status"] == "failed"
    assert f"credential {secret_credential!r} does not exist in this team" in stored["error"]
    assert "Partner API" not in stored["error"]  # not even the other team's credential name
    assert server.seen == []
    assert SECRET not in json.dumps(stored) + _logged(caplog, capsys)
