"""Binary data of webhook requests (uploaded files, non-text bodies) as files on local disk.

Items carry only the reference ``{"id", "mime_type", "file_name", "size"}``; the bytes
live under ``<storage_path>/binary/<id[:2]>/<id>``. This is the engine's ``BinaryStore``
port for the local backend; S3 (settings.storage.backend == "s3") belongs to the storage
service and is not implemented here yet.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from backend.db.base import new_id
from backend.settings import get_settings
from nodes.sdk import NodeUserError

_ID = re.compile(r"^[0-9a-f]{32}$")


class LocalBinaryStore:
    def __init__(self, root: Path | None = None) -> None:
        self._root = root

    @property
    def root(self) -> Path:  # resolved on first use: most requests never store a file
        if self._root is None:
            self._root = get_settings().storage_path / "binary"
        return self._root

    async def put(self, data: bytes, *, mime_type: str, file_name: str = "") -> dict:
        binary_id = new_id()
        await asyncio.to_thread(self._write, binary_id, bytes(data))
        return {"id": binary_id, "mime_type": mime_type, "file_name": file_name, "size": len(data)}

    async def get(self, ref: dict) -> bytes:
        binary_id = ref.get("id") if isinstance(ref, dict) else None
        path = self._path(binary_id) if isinstance(binary_id, str) and _ID.match(binary_id) else None
        if path is None or not path.is_file():
            raise NodeUserError(f"binary data {ref!r} does not exist (it may have been deleted)")
        return await asyncio.to_thread(path.read_bytes)

    def _write(self, binary_id: str, data: bytes) -> None:
        path = self._path(binary_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def _path(self, binary_id: str) -> Path:
        return self.root / binary_id[:2] / binary_id
