"""`linkflow storage migrate --to s3`: move what the local folder holds into the S3 bucket.

Objects are copied under the same keys (streamed, one at a time; an object S3 already holds
with the same size is skipped, so a run that stopped can be started again). Step rows written
before the storage service point at files by path; their data is put under the step's key and
the row is changed to the ``storage:`` reference. Nothing local is deleted: switch
``LINKFLOW_STORAGE_BACKEND=s3`` once it reports no failures, then remove the folder.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import or_, select, update

from backend.db.session import session_scope
from backend.executions.models import Execution, ExecutionStep
from backend.storage import keys
from backend.storage.ports import InvalidKey, ObjectMissing, ObjectStorage

log = logging.getLogger("linkflow.storage")
_PREFIXES = ("teams", "binary")  # the layout of keys.py, and the binary folder of before it
_STEP_BATCH = 200


@dataclass
class Migrated:
    objects: int = 0
    bytes: int = 0
    skipped: int = 0
    step_refs: int = 0
    failures: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def migrate(source: ObjectStorage, target: ObjectStorage) -> Migrated:
    done = Migrated()
    for prefix in _PREFIXES:
        for info in source.list(prefix):
            _copy(source, target, info.key, info.size, done)
    _move_step_files(target, done)
    return done


def _copy(source: ObjectStorage, target: ObjectStorage, key: str, size: int, done: Migrated) -> None:
    try:
        if target.info(key).size == size:
            done.skipped += 1
            return
    except ObjectMissing:
        pass
    try:
        with _Reader(source.open(key)) as stream:
            target.put(key, stream)
    except (OSError, InvalidKey) as exc:
        log.warning("storage migrate: could not copy an object", extra={"key": key, "error": str(exc)})
        done.failures += 1
        return
    done.objects += 1
    done.bytes += size


def _move_step_files(target: ObjectStorage, done: Migrated) -> None:
    """Rows whose input_ref/output_ref is a file path: their data into storage, the row to the key."""
    last = ""
    while True:
        with session_scope() as session:
            rows = session.execute(
                select(ExecutionStep.id, ExecutionStep.execution_id, ExecutionStep.node_id, ExecutionStep.run_index,
                       ExecutionStep.input_ref, ExecutionStep.output_ref, Execution.team_id)
                .join(Execution, Execution.id == ExecutionStep.execution_id)
                .where(ExecutionStep.id > last, or_(_legacy(ExecutionStep.input_ref), _legacy(ExecutionStep.output_ref)))
                .order_by(ExecutionStep.id).limit(_STEP_BATCH)).all()
            for row in rows:
                values = {kind: _moved(target, row, kind, getattr(row, f"{kind}_ref"), done)
                          for kind in ("input", "output") if _is_path(getattr(row, f"{kind}_ref"))}
                values = {f"{kind}_ref": ref for kind, ref in values.items() if ref is not None}
                if values:
                    session.execute(update(ExecutionStep).where(ExecutionStep.id == row.id).values(**values))
        if len(rows) < _STEP_BATCH:
            return
        last = rows[-1].id


def _moved(target: ObjectStorage, row, kind: str, path: str, done: Migrated) -> str | None:
    key = keys.step_key(row.team_id, row.execution_id, row.node_id, row.run_index, kind)
    try:
        with Path(path).open("rb") as handle:
            target.put(key, handle)
    except OSError as exc:
        log.warning("storage migrate: a step's data file is unreadable", extra={"path": path, "error": str(exc)})
        done.failures += 1
        return None
    done.step_refs += 1
    return keys.STEP_REF_SCHEME + key


def _legacy(column):
    return column.is_not(None) & ~column.startswith(keys.STEP_REF_SCHEME)


def _is_path(ref: str | None) -> bool:
    return bool(ref) and not ref.startswith(keys.STEP_REF_SCHEME)


class _Reader:
    """A file-like object over an iterator of chunks, so an object is copied without being held whole."""

    def __init__(self, chunks) -> None:
        self._chunks, self._buffer = iter(chunks), b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
