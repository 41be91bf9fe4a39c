"""The embedded default: objects as files under one folder (``LINKFLOW_STORAGE_PATH``)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from backend.storage.ports import CHUNK_BYTES, ObjectInfo, ObjectMissing, as_stream, check_key, check_prefix


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def put(self, key: str, data: bytes | BinaryIO) -> int:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        source, size = as_stream(data), 0
        # Written beside the target and renamed: a reader never sees half an object.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(CHUNK_BYTES):
                    out.write(chunk)
                    size += len(chunk)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return size

    def open(self, key: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
        try:
            handle = self._path(key).open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectMissing(key) from None
        return _chunks(handle, chunk_bytes)

    def info(self, key: str) -> ObjectInfo:
        try:
            stat = self._path(key).stat()
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectMissing(key) from None
        return ObjectInfo(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))

    def copy(self, source: str, target: str) -> None:
        with _opened(self._path(source), source) as handle:
            self.put(target, handle)

    def delete_prefix(self, prefix: str) -> int:
        directory = self._dir(prefix)
        if not directory.is_dir():
            return 0
        count = sum(1 for _ in self.list(prefix))
        shutil.rmtree(directory, ignore_errors=True)
        return count

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        directory = self._dir(prefix)
        for folder, _, files in os.walk(directory):
            for name in files:
                if name.startswith(".part-"):
                    continue
                path = Path(folder) / name
                try:
                    stat = path.stat()
                except FileNotFoundError:  # deleted meanwhile
                    continue
                key = path.relative_to(self.root).as_posix()
                yield ObjectInfo(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _dir(self, prefix: str) -> Path:
        prefix = check_prefix(prefix)
        return self.root / prefix if prefix else self.root


def _opened(path: Path, key: str):
    try:
        return path.open("rb")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise ObjectMissing(key) from None


def _chunks(handle: BinaryIO, chunk_bytes: int) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(chunk_bytes):
            yield chunk
