"""A retry owns copies of its original's files: deleting the original does not break it."""

from __future__ import annotations

from datetime import timedelta

from executions_testkit import add_execution

from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.executions import control
from backend.executions.models import Execution
from backend.storage import keys
from backend.storage.binary import StorageBinaryStore
from backend.storage.service import get_storage


async def test_the_retry_reads_the_files_of_a_deleted_original(api_user):
    team = api_user("owner@example.com").team_id
    original = add_execution(team, created_at=utcnow() - timedelta(minutes=5))
    ref = await StorageBinaryStore(get_storage(), team, original).put(b"%PDF", mime_type="application/pdf")
    with session_scope() as session:
        retry = control.retry_execution(session, session.get(Execution, original)).id
    assert {o.key for o in get_storage().list(keys.execution_prefix(team, retry))} == {
        keys.binary_key(team, retry, ref["id"])}
    with session_scope() as session:
        control.delete_execution(session, session.get(Execution, original))
    control.discard_offloaded(team, original)
    assert await StorageBinaryStore(get_storage(), team, retry).get(ref) == b"%PDF"
