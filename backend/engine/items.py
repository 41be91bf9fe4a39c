"""Items that need not fit in memory: a port's items spilled to storage and read back in batches.

A step's output on one port is a plain ``list`` of items as long as its JSON text stays under
``EngineServices.spill_threshold_bytes``; past it the items go, one batch of ``BATCH_ITEMS`` at a
time, into one gzip-compressed object (each line the JSON array of one batch) and the port holds an
``ItemStream`` instead: its length is known, and reading it decodes one batch at a time.

* Nodes that declare ``batchable`` (Set, Filter, Split Out) run once per batch of a streamed input,
  nodes with a ``produce`` method (Extract from File) hand their output over in batches, and nodes
  that declare ``accepts_streams`` (Convert to File) read the stream themselves. So memory holds a
  batch or two per step, not the whole data, whatever the number of items.
* Every other node gets the stream as a ``list`` (the old behaviour: the items are read back
  into memory for it).
* The object is written completely (``SpillWriter.finish``) before the step that made it is
  committed; the step row holds ``{"$spilled": {...}}`` in place of the list (``storable``), and a
  worker that resumes the execution reads the same object back (``revive``).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import uuid
import zlib
from collections.abc import Iterable, Iterator
from typing import Protocol

BATCH_ITEMS = 1000  # items per batch in a spilled object, and per call of a batchable node
SPILLED = "$spilled"  # the key that marks a spilled port in stored step data
_READ_BYTES = 1024 * 1024


class SpillWriter(Protocol):
    def write(self, data: bytes) -> None:
        """Append compressed bytes to the object being made."""

    def finish(self) -> dict:
        """Store the object (it is durable when this returns); the reference that names it."""

    def abort(self) -> None:
        """Drop what was written."""


class ItemSpill(Protocol):
    """Where spilled items go: the storage service in the platform, a temporary folder elsewhere."""

    def create(self) -> SpillWriter:
        """A writer for a new object."""

    def open(self, ref: dict) -> Iterator[bytes]:
        """The object's bytes in chunks; ``FileNotFoundError`` if it is gone."""


class TempFileSpill:
    """Spills into a private temporary folder, removed with this object (tests, ``linkflow run``)."""

    def __init__(self) -> None:
        self._folder: tempfile.TemporaryDirectory | None = None
        self._lock = threading.Lock()

    def _path(self, ref: object) -> str:
        spill_id = ref.get("id") if isinstance(ref, dict) else None
        if not isinstance(spill_id, str) or len(spill_id) != 32 or not spill_id.isalnum() or self._folder is None:
            raise FileNotFoundError(f"spilled items {ref!r} do not exist")
        return os.path.join(self._folder.name, spill_id)

    def create(self) -> SpillWriter:
        with self._lock:
            if self._folder is None:
                self._folder = tempfile.TemporaryDirectory(prefix="linkflow-items-")
        return _TempFileWriter(self._path({"id": uuid.uuid4().hex}))

    def open(self, ref: dict) -> Iterator[bytes]:
        handle = open(self._path(ref), "rb")  # noqa: SIM115 - closed by the generator
        return _chunks(handle)


def _chunks(handle) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(_READ_BYTES):
            yield chunk


class _TempFileWriter:
    def __init__(self, path: str) -> None:
        self.path, self.file, self.size = path, open(path, "wb"), 0  # noqa: SIM115 - closed in finish/abort

    def write(self, data: bytes) -> None:
        self.file.write(data)
        self.size += len(data)

    def finish(self) -> dict:
        self.file.close()
        return {"id": os.path.basename(self.path), "bytes": self.size}

    def abort(self) -> None:
        self.file.close()
        os.unlink(self.path)


class ItemStream:
    """The items of one port in a spilled object: ``len``, ``bool`` and iteration without loading them all.

    Reading starts from the beginning each time, so a node may read a stream twice (Convert to File
    finds the columns first). Indexing reads up to the item; ``list(stream)`` loads all of them.
    """

    __slots__ = ("_head", "count", "ref", "spill")

    def __init__(self, spill: ItemSpill, ref: dict, count: int) -> None:
        self.spill, self.ref, self.count = spill, ref, count
        self._head: list[dict] | None = None  # the first batch, once indexed: $node["Name"].json reads item 0

    def __len__(self) -> int:
        return self.count

    def __bool__(self) -> bool:
        return self.count > 0

    def __repr__(self) -> str:
        return f"<ItemStream of {self.count:,} items>"

    def __iter__(self) -> Iterator[dict]:
        for batch in self.batches():
            yield from batch

    def __getitem__(self, index):
        if isinstance(index, slice):
            return list(self)[index]
        if index < 0:
            index += self.count
        if not 0 <= index < self.count:
            raise IndexError("item index out of range")
        if self._head is None:
            self._head = next(self.batches(), [])
        if index < len(self._head):
            return self._head[index]
        seen = 0
        for batch in self.batches():
            if index < seen + len(batch):
                return batch[index - seen]
            seen += len(batch)
        raise IndexError("item index out of range")

    def batches(self) -> Iterator[list[dict]]:
        """The items, one batch (a list) at a time, in order."""
        pending = bytearray()
        for data in _inflate(self.spill.open(self.ref)):
            pending += data
            end = pending.rfind(b"\n")
            if end < 0:
                continue
            lines = bytes(pending[:end])
            del pending[:end + 1]
            for line in lines.split(b"\n"):
                if line:
                    yield json.loads(line)
        if pending.strip():
            yield json.loads(bytes(pending))

    def marker(self) -> dict:
        return {SPILLED: {**self.ref, "count": self.count}}


def _inflate(chunks: Iterable[bytes]) -> Iterator[bytes]:
    inflater = zlib.decompressobj(wbits=31)
    for chunk in chunks:
        while chunk:
            yield inflater.decompress(chunk, _READ_BYTES)
            chunk = inflater.unconsumed_tail
    yield inflater.flush()


class ItemCollector:
    """Gathers one port's output batch by batch: a list while small, a spilled ``ItemStream`` past the threshold."""

    def __init__(self, spill: ItemSpill | None, threshold_bytes: int) -> None:
        self.spill, self.threshold = spill, threshold_bytes
        self.items: list[dict] = []
        self.texts: list[str] = []  # JSON text of each batch held in ``items``, written out if it spills
        self.size = self.count = 0
        self.writer: SpillWriter | None = None
        self.deflater = None

    def add(self, batch: list[dict], text: str | None = None) -> None:
        """Add a batch; ``text`` is its JSON array text if the caller has it already."""
        if not batch:
            return
        if text is None:
            text = json.dumps(batch, ensure_ascii=False, allow_nan=False)
        self.count += len(batch)
        if self.writer is not None:
            return self._write(text)
        self.items += batch
        self.texts.append(text)
        self.size += len(text)
        if self.spill is not None and self.size > self.threshold:
            self.writer = self.spill.create()
            self.deflater = zlib.compressobj(1, wbits=31)
            for held in self.texts:
                self._write(held)
            self.items, self.texts = [], []

    def _write(self, text: str) -> None:
        self.writer.write(self.deflater.compress(text.encode() + b"\n"))

    def finish(self) -> list[dict] | ItemStream:
        """The port's items; a spilled object is stored completely before this returns."""
        if self.writer is None:
            self.texts = []
            return self.items
        self.writer.write(self.deflater.flush())
        ref = self.writer.finish()
        self.writer = None
        return ItemStream(self.spill, ref, self.count)

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.abort()
            self.writer = None


def spilled_list(items: list[dict], spill: ItemSpill | None, threshold_bytes: int, text: str | None
                 ) -> list[dict] | ItemStream:
    """``items`` as they are, or spilled when their JSON text (``text``, if known) is past the threshold."""
    if spill is None or text is None or len(text) <= threshold_bytes:
        return items
    collector = ItemCollector(spill, threshold_bytes)
    collector.threshold = -1  # spill from the first batch
    for start in range(0, len(items), BATCH_ITEMS):
        collector.add(items[start:start + BATCH_ITEMS])
    return collector.finish()


def as_list(items: list[dict] | ItemStream) -> list[dict]:
    return items if isinstance(items, list) else list(items)


def storable(ports: dict | None) -> dict | None:
    """Step data with each spilled port replaced by its marker, for JSON encoding."""
    if not ports or not any(isinstance(items, ItemStream) for items in ports.values()):
        return ports
    return {port: items.marker() if isinstance(items, ItemStream) else items for port, items in ports.items()}


def revive(ports: dict, spill: ItemSpill | None) -> dict:
    """Stored step data with each marker turned back into an ``ItemStream`` read from ``spill``."""
    if spill is None or not isinstance(ports, dict):
        return ports
    revived = {}
    for port, items in ports.items():
        ref = items.get(SPILLED) if isinstance(items, dict) else None
        if isinstance(ref, dict) and isinstance(ref.get("count"), int):
            items = ItemStream(spill, {k: v for k, v in ref.items() if k != "count"}, ref["count"])
        revived[port] = items
    return revived
