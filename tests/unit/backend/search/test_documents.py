"""Search documents: data fields are JSON text cut at the cap (and say so); audit entries without a team are
not indexed; redelivered audit events keep one id."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from backend.events.bus import Event
from backend.search.documents import audit_doc, execution_doc, workflow_doc


def execution(**over):
    now = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    return SimpleNamespace(**{"id": "e1", "team_id": "t1", "workflow_id": "w1", "status": "failed", "mode": "webhook",
                              "input": [{"json": {"order": "o-1"}}], "output": None,
                              "error": {"message": "boom", "node": "Fetch"}, "created_at": now, "started_at": None,
                              "finished_at": now, **over})


def test_an_execution_document_caps_its_data_and_keeps_the_errors():
    doc = execution_doc(execution(input=[{"json": {"blob": "x" * 5000}}]), "Orders", [{"message": "step failed"}],
                        max_chars=1024)
    assert len(doc["trigger_data"]) == 1024 and doc["truncated"] is True
    assert doc["error_message"] == "boom" and "step failed" in doc["errors"]
    assert doc["started_at"] == doc["created_at"] == "2026-12-05T10:00:00+00:00"  # queued: started = created
    small = execution_doc(execution(), None, [], max_chars=1024)
    assert small["truncated"] is False and small["output"] == "" and '"o-1"' in small["trigger_data"]


def test_a_workflow_document_lists_node_types_and_names():
    row = SimpleNamespace(id="w1", team_id="t1", name="Orders", description=None, tags=["eu"], active=True,
                          updated_at=datetime(2026, 12, 5, 10, 0))
    doc = workflow_doc(row, {"nodes": [{"type": "webhook", "name": "Hook"}, {"type": "set", "name": "Tag"},
                                       {"type": "set", "name": "Tag 2"}, "not a node"]})
    assert doc["node_types"] == ["set", "webhook"] and doc["node_names"] == ["Hook", "Tag", "Tag 2"]
    assert doc["description"] == "" and doc["updated_at"] == "2026-12-05T10:00:00Z"
    assert workflow_doc(row, None)["node_types"] == []


def test_audit_documents_need_a_team_and_keep_one_id_when_redelivered():
    payload = {"action": "workflow.update", "team_id": "t1", "object_type": "workflow", "object_id": "w1",
               "details": {"name": "x"}, "occurred_at": "2026-12-05T10:00:00+00:00"}
    first = audit_doc(Event("audit.log", "t1", {**payload, "event_id": 7}), 1024)
    again = audit_doc(Event("audit.log", "t1", {**payload, "event_id": 7}), 1024)
    assert first["id"] == again["id"] == "e7" and first["created_at"] == payload["occurred_at"]
    no_id = [audit_doc(Event("audit.log", "t1", payload), 1024)["id"] for _ in range(2)]
    assert no_id[0] == no_id[1] and no_id[0].startswith("h")
    assert audit_doc(Event("audit.log", "u1", {**payload, "team_id": None}), 1024) is None
