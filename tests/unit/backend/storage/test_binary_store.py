"""The engine's binary port on storage: per team and execution, references that cannot be forged."""

from __future__ import annotations

import io

import pytest

from backend.storage import keys
from backend.storage.binary import StorageBinaryStore
from backend.storage.local import LocalStorage
from nodes.sdk import NodeUserError

EXECUTION = "a" * 32


@pytest.fixture
def storage(tmp_path):
    return LocalStorage(tmp_path / "files")


async def test_put_returns_a_reference_that_get_reads(storage):
    store = StorageBinaryStore(storage, "team-a", EXECUTION)
    ref = await store.put(io.BytesIO(b"col\n1\n"), mime_type="text/csv", file_name="a.csv")
    assert ref == {"id": ref["id"], "execution_id": EXECUTION, "mime_type": "text/csv", "file_name": "a.csv",
                   "size": 6}
    assert await store.get(ref) == b"col\n1\n"
    assert storage.info(keys.binary_key("team-a", EXECUTION, ref["id"])).size == 6


async def test_another_team_cannot_read_it_whatever_the_reference_says(storage):
    ref = await StorageBinaryStore(storage, "team-a", EXECUTION).put(b"secret", mime_type="text/plain")
    thief = StorageBinaryStore(storage, "team-b", EXECUTION)
    forged = [ref, {**ref, "execution_id": f"../../team-a/executions/{EXECUTION}"}, {**ref, "id": "../x"},
              {**ref, "team_id": "team-a"}, {"id": None}, [], "teams/team-a/executions"]
    for attempt in forged:
        with pytest.raises(NodeUserError, match="does not exist"):
            await thief.get(attempt)


async def test_a_reference_of_before_the_storage_service_reads_the_old_folder(storage, tmp_path):
    old_id = "b" * 32
    storage.put(f"binary/bb/{old_id}", b"old")
    store = StorageBinaryStore(storage, "team-a", EXECUTION)
    assert await store.get({"id": old_id, "mime_type": "text/plain"}) == b"old"


async def test_a_run_falls_back_to_its_own_copy_only_inside_its_team(storage):
    original, retry = "c" * 32, "d" * 32
    ref = await StorageBinaryStore(storage, "team-a", original).put(b"invoice", mime_type="application/pdf")
    storage.copy(keys.binary_key("team-a", original, ref["id"]), keys.binary_key("team-a", retry, ref["id"]))
    storage.delete_prefix(keys.execution_prefix("team-a", original))
    assert await StorageBinaryStore(storage, "team-a", retry).get(ref) == b"invoice"
    with pytest.raises(NodeUserError, match="does not exist"):
        await StorageBinaryStore(storage, "team-a", "e" * 32).get(ref)
    with pytest.raises(NodeUserError, match="does not exist"):
        await StorageBinaryStore(storage, "team-b", retry).get(ref)
