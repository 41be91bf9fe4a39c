"""The storage service: the configured backend, and the lifecycle of execution data.

``get_storage()`` is the process-wide backend chosen by ``LINKFLOW_STORAGE_BACKEND``. Objects
belong to an execution (``keys.py``): ``discard_execution`` deletes them once its row is gone,
and ``sweep_orphans`` removes what a crash left behind (objects whose execution has no row).
"""

from __future__ import annotations

import functools
import logging
import shutil
from datetime import datetime, timedelta

from sqlalchemy import select

from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.executions.models import Execution
from backend.settings import StorageSettings, get_settings
from backend.storage import keys
from backend.storage.local import LocalStorage
from backend.storage.ports import ObjectStorage
from backend.storage.s3 import S3Options, S3Storage

log = logging.getLogger("linkflow.storage")
ORPHAN_AGE = timedelta(days=1)  # younger objects may belong to a run whose row is not committed yet
_SWEEP_BATCH = 500


@functools.cache
def get_storage() -> ObjectStorage:
    settings = get_settings()
    return build_storage(settings.storage, settings.storage_path)


def build_storage(settings: StorageSettings, local_path) -> ObjectStorage:
    if settings.backend == "s3":
        return S3Storage(s3_options(settings))
    return LocalStorage(local_path)


def s3_options(settings: StorageSettings) -> S3Options:
    return S3Options(
        bucket=settings.s3_bucket, prefix=settings.s3_prefix, endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region, access_key_id=settings.s3_access_key_id,
        secret_access_key=settings.s3_secret_access_key, sse=settings.s3_sse, sse_kms_key_id=settings.s3_sse_kms_key_id,
        multipart_threshold_bytes=settings.s3_multipart_threshold_bytes,
        multipart_chunk_bytes=settings.s3_multipart_threshold_bytes)  # parts as large as the threshold


def discard_execution(team_id: str, execution_id: str, storage: ObjectStorage | None = None) -> int:
    """Delete an execution's objects (call after its row is committed gone); how many went."""
    storage = storage or get_storage()
    # Step data of executions from before the storage service sat in a folder of its own.
    shutil.rmtree(get_settings().storage_path / "executions" / execution_id, ignore_errors=True)
    return storage.delete_prefix(keys.execution_prefix(team_id, execution_id))


def copy_binaries(team_id: str, source_execution: str, target_execution: str,
                  storage: ObjectStorage | None = None) -> int:
    """Give a retry its own copy of the original's files, under the same binary ids (server-side in S3).

    Items keep naming the original's execution; ``StorageBinaryStore.get`` falls back to the run's
    own prefix, so a retry still reads its files after the original was deleted.
    """
    storage = storage or get_storage()
    source = keys.execution_prefix(team_id, source_execution) + "/binary"
    copied = 0
    for info in storage.list(source):
        binary_id = info.key.rsplit("/", 1)[1]
        storage.copy(info.key, keys.binary_key(team_id, target_execution, binary_id))
        copied += 1
    return copied


def sweep_orphans(now: datetime | None = None, storage: ObjectStorage | None = None) -> int:
    """Delete objects older than a day whose execution has no row; how many went.

    The listing is checked against the database in batches as it goes, so a large bucket is
    never held in memory (a listing groups an execution's objects, so a batch sees most of them).
    """
    storage, cutoff = storage or get_storage(), (now or utcnow()) - ORPHAN_AGE
    deleted, batch = 0, {}
    for info in storage.list("teams"):
        owner = keys.owner_of(info.key)
        if owner is not None and info.modified < cutoff:
            batch[owner] = None
            if len(batch) >= _SWEEP_BATCH:
                deleted += _delete_orphans(storage, list(batch))
                batch = {}
    deleted += _delete_orphans(storage, list(batch)) if batch else 0
    if deleted:
        log.info("storage sweeper removed orphaned objects", extra={"objects": deleted})
    return deleted


def _delete_orphans(storage: ObjectStorage, owners: list[tuple[str, str]]) -> int:
    alive = _existing({execution_id for _, execution_id in owners})
    return sum(storage.delete_prefix(keys.execution_prefix(team_id, execution_id))
               for team_id, execution_id in owners if execution_id not in alive)


def _existing(execution_ids: set[str]) -> set[str]:
    with session_scope() as session:
        return set(session.scalars(select(Execution.id).where(Execution.id.in_(execution_ids))))
