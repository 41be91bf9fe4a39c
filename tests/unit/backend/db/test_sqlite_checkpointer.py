"""SQLite's WAL is checkpointed by a background thread, not by whichever commit crosses 1,000 pages."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from backend.db.session import make_engine


def _wait(predicate, timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _checkpointers(path: Path) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"linkflow-sqlite-checkpoint:{path}"]


def test_writes_reach_the_database_file_without_any_commit_checkpointing(tmp_path):
    path = tmp_path / "app.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x TEXT)")
    start = path.stat().st_size
    with engine.begin() as conn:  # ~200 pages: far below the backstop, so no commit checkpoints
        conn.exec_driver_sql("INSERT INTO t SELECT hex(randomblob(2000)) FROM "
                             "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) "
                             "SELECT i FROM n)")
    assert _wait(lambda: path.stat().st_size > start + 500_000), "the WAL was not checkpointed"
    assert len(_checkpointers(path)) == 1

    engine.dispose()  # what the tests and `migrate` do with engines they are done with
    assert _wait(lambda: not _checkpointers(path), 5), "the checkpointer outlived its engine"


def test_an_in_memory_database_has_no_checkpointer():
    before = {t.name for t in threading.enumerate()}
    engine = make_engine("sqlite:///:memory:")
    with engine.begin() as conn:
        conn.exec_driver_sql("SELECT 1")
    assert {t.name for t in threading.enumerate()} - before == set()
