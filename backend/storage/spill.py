"""The engine's ``ItemSpill`` port on object storage: spilled items of one team's execution.

A writer fills a local temporary file under ``<LINKFLOW_DATA_DIR>/tmp`` (on disk, not a tmpfs ``/tmp``
that would count against a container's memory; gzip data made batch by batch) and ``finish`` puts it in
storage in chunks (a multipart upload to S3 for a large one), so the object is complete and durable
before the step that made it is committed. A reference is ``{"id", "execution_id"}`` and, like a
binary reference, is never trusted as a location: the key is rebuilt under this team's prefix.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

from backend.db.base import new_id
from backend.settings import get_settings
from backend.storage import keys
from backend.storage.ports import ObjectMissing, ObjectStorage


class StorageItemSpill:
    def __init__(self, storage: ObjectStorage, team_id: str, execution_id: str) -> None:
        self.storage, self.team_id, self.execution_id = storage, team_id, execution_id

    def create(self) -> _Writer:
        return _Writer(self)

    def open(self, ref: dict) -> Iterator[bytes]:
        if not isinstance(ref, dict) or not keys.is_id(ref.get("id")) or not keys.is_id(ref.get("execution_id")):
            raise FileNotFoundError(f"spilled items {ref!r} do not exist")
        try:
            return self.storage.open(keys.items_key(self.team_id, ref["execution_id"], ref["id"]))
        except ObjectMissing:
            raise FileNotFoundError(f"spilled items {ref!r} do not exist (deleted with their execution?)") from None


def _temporary_folder() -> Path:
    folder = get_settings().data_dir / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class _Writer:
    def __init__(self, spill: StorageItemSpill) -> None:
        self.spill, self.id = spill, new_id()
        self.file = tempfile.TemporaryFile(prefix="linkflow-items-", dir=_temporary_folder())  # noqa: SIM115

    def write(self, data: bytes) -> None:
        self.file.write(data)

    def finish(self) -> dict:
        spill = self.spill
        try:
            self.file.seek(0)
            size = spill.storage.put(keys.items_key(spill.team_id, spill.execution_id, self.id), self.file)
        finally:
            self.file.close()
        return {"id": self.id, "execution_id": spill.execution_id, "bytes": size}

    def abort(self) -> None:
        self.file.close()
