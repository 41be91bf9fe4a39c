"""get_settings() keeps what it read until cache_clear(); a read that began before the environment changed does
not outlive the clear (a background thread's stale settings once sent a test's queries to ./data)."""

from __future__ import annotations

import threading

from backend import settings as module
from backend.settings import get_settings


def test_settings_are_read_once_and_again_after_a_clear(monkeypatch, tmp_path):
    monkeypatch.setenv("LINKFLOW_DATA_DIR", str(tmp_path / "a"))
    get_settings.cache_clear()
    first = get_settings()
    monkeypatch.setenv("LINKFLOW_DATA_DIR", str(tmp_path / "b"))
    assert get_settings() is first  # kept: the environment is read once
    get_settings.cache_clear()
    assert get_settings().data_dir == tmp_path / "b"


def test_a_read_under_way_when_the_environment_changes_is_cleared_with_it(monkeypatch, tmp_path):
    reading, finish = threading.Event(), threading.Event()

    class SlowToRead(module.Settings):
        def __init__(self, **values) -> None:
            super().__init__(**values)  # the environment is read here, before the change below
            if threading.current_thread().name == "background":
                reading.set()
                finish.wait(10)

    monkeypatch.setattr(module, "Settings", SlowToRead)
    monkeypatch.setenv("LINKFLOW_DATA_DIR", str(tmp_path / "old"))
    get_settings.cache_clear()
    background = threading.Thread(target=get_settings, name="background")
    background.start()
    assert reading.wait(10)
    monkeypatch.setenv("LINKFLOW_DATA_DIR", str(tmp_path / "new"))  # a test's setup: new environment, then clear
    clearing = threading.Thread(target=get_settings.cache_clear)
    clearing.start()
    clearing.join(0.2)
    assert clearing.is_alive()  # the clear waits for the read in progress...
    finish.set()
    background.join(10)
    clearing.join(10)
    assert get_settings().data_dir == tmp_path / "new"  # ...so what that read stored is gone


def test_the_database_url_is_worked_out_once_per_settings(monkeypatch, tmp_path):
    """get_engine() reads it on every call (twice per saved webhook run): resolving the path each time cost
    ~30 µs of system calls per call, ~14 % of a short webhook run's CPU."""
    monkeypatch.setenv("LINKFLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("LINKFLOW_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    resolved = []
    real_resolve = module.Path.resolve

    def resolve(path, *args, **kwargs):
        resolved.append(path)
        return real_resolve(path, *args, **kwargs)

    monkeypatch.setattr(module.Path, "resolve", resolve)
    settings = get_settings()
    urls = {settings.database_url for _ in range(100)}
    assert urls == {f"sqlite:///{tmp_path / 'data' / 'linkflow.db'}"}
    assert len(resolved) == 1
    get_settings.cache_clear()
    monkeypatch.setenv("LINKFLOW_DATA_DIR", str(tmp_path / "other"))
    assert get_settings().database_url == f"sqlite:///{tmp_path / 'other' / 'linkflow.db'}"  # new settings, new URL
