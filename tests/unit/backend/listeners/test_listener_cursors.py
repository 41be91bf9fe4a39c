"""A listener's cursor (the IMAP trigger's UIDVALIDITY + last UID) on SQLite: saved in the commit that queues the
execution, untouched by an emit that is refused, kept across deactivation; the files of a message are stored
under the execution that emit then creates."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from backend.credentials.service import create_credential
from backend.db.session import session_scope
from backend.errors import UserError
from backend.executions.models import Execution
from backend.listeners import runner
from backend.listeners.models import TriggerListener
from backend.storage.binary import StorageBinaryStore
from backend.storage.service import get_storage


def imap_workflow(api, user) -> str:
    with session_scope() as session:
        credential_id = create_credential(session, team_id=user.team_id, name="inbox", type="imap", values={
            "host": "imap.example.com", "user": "me", "password": "imap-pass-8121"}).id
    definition = {"nodes": [
        {"id": "t", "name": "Mail", "type": "email_read_imap", "version": 1, "position": [0, 0],
         "parameters": {"mailbox": "INBOX"}, "credentials": {"imap": credential_id}},
        {"id": "n", "name": "Noop", "type": "noop", "version": 1, "position": [200, 0]}],
        "connections": [{"from": "t", "output": "main", "to": "n", "input": "main"}]}
    created = api.post("/api/v1/workflows", json={"name": "mail", "definition": definition}, headers=user.headers)
    assert created.status_code == 201, created.text
    workflow_id = created.json()["id"]
    assert api.post(f"/api/v1/workflows/{workflow_id}/activate", headers=user.headers).status_code == 200
    return workflow_id


def context(workflow_id: str) -> runner.Context:
    with session_scope() as session:
        row = session.scalars(select(TriggerListener).where(TriggerListener.workflow_id == workflow_id)).one()
        listener = runner._Row(row.id, row.team_id, row.workflow_id, row.version_id, row.node_id)
    return runner._prepare(listener)[1]


def test_the_cursor_moves_with_each_queued_execution_and_outlives_deactivation(api, api_user, held_queue):
    owner = api_user("owner@example.com")
    workflow_id = imap_workflow(api, owner)
    ctx = context(workflow_id)
    assert asyncio.run(ctx.load_state()) == {}
    ref = asyncio.run(ctx.put_binary(b"%PDF", mime_type="application/pdf", file_name="a.pdf"))
    first = asyncio.run(ctx.emit([{"json": {"subject": "1"}, "binary": {"attachment_0": ref}}],
                                 state={"mailbox": "INBOX", "uidvalidity": 7, "last_uid": 3}))
    assert ref["execution_id"] == first and held_queue == [first]
    assert asyncio.run(StorageBinaryStore(get_storage(), owner.team_id, first).get(ref)) == b"%PDF"
    second = asyncio.run(ctx.emit([{"json": {"subject": "2"}}], state={"mailbox": "INBOX", "uidvalidity": 7,
                                                                         "last_uid": 4}))
    assert second != first
    assert asyncio.run(ctx.load_state()) == {"mailbox": "INBOX", "uidvalidity": 7, "last_uid": 4}

    assert api.post(f"/api/v1/workflows/{workflow_id}/deactivate", headers=owner.headers).status_code == 200
    with pytest.raises(UserError, match="deactivated"):  # refused: no run, and the cursor stays
        asyncio.run(ctx.emit([{"json": {"subject": "3"}}], state={"mailbox": "INBOX", "uidvalidity": 7,
                                                                    "last_uid": 5}))
    assert api.post(f"/api/v1/workflows/{workflow_id}/activate", headers=owner.headers).status_code == 200
    assert asyncio.run(context(workflow_id).load_state())["last_uid"] == 4
    with session_scope() as session:
        subjects = [e.input[0]["json"]["subject"] for e in session.scalars(
            select(Execution).where(Execution.workflow_id == workflow_id).order_by(Execution.created_at))]
    assert subjects == ["1", "2"]


def test_the_imap_password_is_never_returned(api, api_user):
    owner = api_user("owner@example.com")
    imap_workflow(api, owner)
    listed = api.get("/api/v1/credentials", headers=owner.headers)
    assert listed.status_code == 200 and listed.json()
    for credential in listed.json() if isinstance(listed.json(), list) else listed.json()["items"]:
        shown = api.get(f"/api/v1/credentials/{credential['id']}", headers=owner.headers)
        assert shown.status_code == 200 and "imap-pass-8121" not in shown.text
    assert "imap-pass-8121" not in listed.text
