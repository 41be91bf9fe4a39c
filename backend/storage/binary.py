"""The engine's ``BinaryStore`` port on object storage, scoped to one team and execution.

An item carries ``{"id", "execution_id", "mime_type", "file_name", "size"}``. Item data is
user-editable (Set, Code), so a reference is never trusted as a location: ``get`` rebuilds
the key from the two ids under *this* team's prefix, and a reference copied from another
team's execution names nothing here. A run may read binaries of other executions of its own
team (a sub-workflow reads its parent's files; a retry reads the original's, or its own copy of
them once the original is deleted).
"""

from __future__ import annotations

import asyncio
from typing import BinaryIO

from backend.db.base import new_id
from backend.storage import keys
from backend.storage.ports import ObjectMissing, ObjectStorage, read_all
from nodes.sdk import NodeUserError


class StorageBinaryStore:
    def __init__(self, storage: ObjectStorage, team_id: str, execution_id: str) -> None:
        self.storage, self.team_id, self.execution_id = storage, team_id, execution_id

    async def put(self, data: bytes | BinaryIO, *, mime_type: str, file_name: str = "") -> dict:
        binary_id = new_id()
        key = keys.binary_key(self.team_id, self.execution_id, binary_id)
        size = await asyncio.to_thread(self.storage.put, key, data)
        return {"id": binary_id, "execution_id": self.execution_id, "mime_type": mime_type,
                "file_name": file_name, "size": size}

    async def get(self, ref: dict) -> bytes:
        key = self.key_of(ref)
        try:
            return await asyncio.to_thread(read_all, self.storage, key)
        except ObjectMissing:
            own = self._own_copy(ref)
            if own is None:
                raise _missing(ref) from None
        try:  # a retry's copy of its original's file (service.copy_binaries)
            return await asyncio.to_thread(read_all, self.storage, own)
        except ObjectMissing:
            raise _missing(ref) from None

    def open(self, ref: dict):
        """The bytes in chunks, read as they are consumed (blocking): for nodes that stream a large file."""
        key = self.key_of(ref)
        try:
            return self.storage.open(key)
        except ObjectMissing:
            own = self._own_copy(ref)
            if own is None:
                raise _missing(ref) from None
        try:
            return self.storage.open(own)
        except ObjectMissing:
            raise _missing(ref) from None

    def _own_copy(self, ref: dict) -> str | None:
        if ref.get("execution_id") in (None, self.execution_id) or not keys.is_id(self.execution_id):
            return None
        return keys.binary_key(self.team_id, self.execution_id, ref["id"])

    def key_of(self, ref: object) -> str:
        """The key behind a reference, inside this team; NodeUserError for anything else."""
        if not isinstance(ref, dict) or not keys.is_id(ref.get("id")):
            raise _missing(ref)
        execution_id = ref.get("execution_id")
        if execution_id is None:  # stored before the storage service: the shared folder of old
            return f"binary/{ref['id'][:2]}/{ref['id']}"
        if not keys.is_id(execution_id):
            raise _missing(ref)
        return keys.binary_key(self.team_id, execution_id, ref["id"])


def _missing(ref: object) -> NodeUserError:
    return NodeUserError(f"binary data {ref!r} does not exist (it may have been deleted with its execution, "
                         "or belong to another team)")
