"""The storage port: objects (bytes under a key) in a local folder or an S3 bucket.

Keys are relative, ``/``-separated and made only of safe characters, so a key can never name
something outside the backend's root (no ``..``, no absolute paths, no empty segments). Data
moves in chunks: ``put`` reads from a file-like object and ``open`` yields chunks, so an
upload or a download is never held whole in memory by the storage layer.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol

CHUNK_BYTES = 1024 * 1024
_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._=-]{0,199}$")


class ObjectMissing(FileNotFoundError):
    """No object under the key (deleted by retention, never written, or another team's)."""


class InvalidKey(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    size: int
    modified: datetime  # aware, UTC


class ObjectStorage(Protocol):
    def put(self, key: str, data: bytes | BinaryIO) -> int:
        """Store ``data`` (bytes, or a readable binary file read in chunks); returns its size."""

    def open(self, key: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The object's bytes in chunks; ``ObjectMissing`` (raised at once) if there is none."""

    def info(self, key: str) -> ObjectInfo:
        """Size and time of one object; ``ObjectMissing`` if there is none."""

    def copy(self, source: str, target: str) -> None:
        """Copy an object inside the backend without passing it through this process."""

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object whose key starts with ``prefix/``; how many went."""

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object under ``prefix/`` (all of them for ``""``), in no promised order."""


def check_key(key: str) -> str:
    """``key`` if it is a safe relative key, else InvalidKey naming the bad part."""
    if not isinstance(key, str) or not key:
        raise InvalidKey(f"storage key {key!r} is empty")
    for segment in key.split("/"):
        if not _SEGMENT.match(segment):
            raise InvalidKey(f"storage key {key!r} has an unsafe part {segment!r} (allowed: letters, digits, ._=-; "
                             "not starting with '.'; at most 200 characters)")
    return key


def check_prefix(prefix: str) -> str:
    return "" if prefix == "" else check_key(prefix.rstrip("/"))


def read_all(storage: ObjectStorage, key: str) -> bytes:
    return b"".join(storage.open(key))


def as_stream(data: bytes | BinaryIO) -> BinaryIO:
    return io.BytesIO(data) if isinstance(data, bytes | bytearray | memoryview) else data
