"""The engine and the sessions follow the settings: a cache one thread filled from settings that have since
changed is never what another thread gets (a test's queries once went to ./data this way)."""

from __future__ import annotations

import threading

from sqlalchemy import inspect, text

from backend.db import session as db_session
from backend.db.session import get_engine, session_scope
from backend.settings import get_settings


def _point_at(monkeypatch, path) -> None:
    monkeypatch.setenv("LINKFLOW_DATABASE_URL", f"sqlite:///{path}")
    get_settings.cache_clear()  # only the settings: a thread mid-call may have refilled any other cache


def test_sessions_use_the_database_the_settings_name_now(monkeypatch, tmp_path):
    _point_at(monkeypatch, tmp_path / "a.db")
    with session_scope() as session:
        session.execute(text("CREATE TABLE only_in_a (x INTEGER)"))
    engine_a = get_engine()
    _point_at(monkeypatch, tmp_path / "b.db")
    assert get_engine() is not engine_a and get_engine().url.database == str(tmp_path / "b.db")
    with session_scope() as session:
        assert session.execute(text("SELECT name FROM sqlite_master WHERE name = 'only_in_a'")).first() is None
    _point_at(monkeypatch, tmp_path / "a.db")  # and back: the same engine as before, not a second one
    assert get_engine() is engine_a and "only_in_a" in inspect(get_engine()).get_table_names()


def test_threads_asking_at_once_share_one_engine(monkeypatch, tmp_path):
    _point_at(monkeypatch, tmp_path / "a.db")
    db_session.dispose_engines()
    start, seen = threading.Barrier(8), []

    def ask() -> None:
        start.wait()
        seen.append(get_engine())

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8 and len({id(engine) for engine in seen}) == 1


def test_dispose_engines_forgets_every_engine(monkeypatch, tmp_path):
    _point_at(monkeypatch, tmp_path / "a.db")
    first = get_engine()
    _point_at(monkeypatch, tmp_path / "b.db")
    get_engine()
    db_session.dispose_engines()
    _point_at(monkeypatch, tmp_path / "a.db")
    assert get_engine() is not first
