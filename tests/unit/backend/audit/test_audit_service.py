"""Reading the audit trail: per team, filtered, newest first, and a CSV a spreadsheet cannot run."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from backend.audit.service import AuditFilter, export_csv, list_audit, record_event
from backend.db import migrate
from backend.db.session import session_scope
from backend.errors import UserError
from backend.settings import get_settings

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def trail():
    migrate.upgrade(get_settings().database_url)
    entries = [
        ("team-a", "workflow.create", "u1", "workflow", "wf-1", 0),
        ("team-a", "workflow.activate", "u2", "workflow", "wf-1", 1),
        ("team-a", "credential.delete", "u1", "credential", "c-1", 2),
        ("team-b", "workflow.create", "u9", "workflow", "wf-9", 3),
    ]
    with session_scope() as session:
        for event_id, (team, action, actor, kind, object_id, minutes) in enumerate(entries, 1):
            record_event(session, {"event_id": event_id, "team_id": team, "action": action, "actor_id": actor,
                                   "object_type": kind, "object_id": object_id,
                                   "occurred_at": (T0 + timedelta(minutes=minutes)).isoformat()})


def actions(team_id: str, filters: AuditFilter = AuditFilter(), **page) -> tuple[list[str], int]:
    with session_scope() as session:
        rows, total = list_audit(session, team_id, filters, **page)
    return [row.action for row in rows], total


def test_a_team_sees_only_its_own_entries_newest_first():
    assert actions("team-a") == (["credential.delete", "workflow.activate", "workflow.create"], 3)
    assert actions("team-b") == (["workflow.create"], 1)


def test_filters_narrow_and_the_total_counts_every_match():
    assert actions("team-a", AuditFilter(object_id="wf-1")) == (["workflow.activate", "workflow.create"], 2)
    assert actions("team-a", AuditFilter(actor_id="u1", object_type="credential")) == (["credential.delete"], 1)
    window = AuditFilter(since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=2))
    assert actions("team-a", window) == (["workflow.activate"], 1)
    assert actions("team-a", limit=1, offset=1) == (["workflow.activate"], 3)


def test_a_page_size_out_of_range_is_refused():
    with pytest.raises(UserError, match="limit must be 1 to 500"), session_scope() as session:
        list_audit(session, "team-a", limit=501)


def test_recording_the_same_event_twice_keeps_one_row():
    with session_scope() as session:
        assert record_event(session, {"event_id": 1, "team_id": "team-a", "action": "workflow.create"}) is False
    assert actions("team-a")[1] == 3


@pytest.mark.parametrize(("payload", "message"), [
    ({"team_id": "t"}, "needs a non-empty 'action'"),
    ({"action": "x", "actor_type": "robot"}, "actor_type must be one of user, api_key, system"),
    ({"action": "x", "object_id": "o" * 33}, "'object_id' is longer than 32 characters"),
])
def test_an_event_that_cannot_be_an_audit_row_says_why(payload, message):
    with pytest.raises(UserError, match=message), session_scope() as session:
        record_event(session, payload)


def test_the_csv_export_has_a_header_the_filtered_rows_and_no_live_formulas():
    with session_scope() as session:
        record_event(session, {"event_id": 99, "team_id": "team-a", "action": "variable.update",
                               "actor_id": "u1", "object_type": "variable", "object_id": "=cmd|' /C calc'!A0",
                               "details": {"key": "REGION"}, "occurred_at": (T0 + timedelta(hours=1)).isoformat()})
        text = "".join(export_csv(session, "team-a", AuditFilter(actor_id="u1")))
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert header == ["created_at", "action", "actor_type", "actor_id", "object_type", "object_id", "ip", "details"]
    assert [row[1] for row in rows] == ["variable.update", "credential.delete", "workflow.create"]
    assert rows[0][5] == "'=cmd|' /C calc'!A0"
    assert rows[0][7] == '{"key": "REGION"}'
    assert rows[0][0] == "2026-11-01T13:00:00+00:00"
