"""The orphan sweeper: objects whose execution row is gone, older than a day, are removed."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from executions_testkit import add_execution

from backend.db import migrate
from backend.db.base import utcnow
from backend.settings import get_settings
from backend.storage import keys, service
from backend.storage.service import get_storage, sweep_orphans


def _age(key: str, days: float) -> None:
    path = get_settings().storage_path / key
    then = (utcnow() - timedelta(days=days)).timestamp()
    os.utime(path, (then, then))


@pytest.mark.parametrize("batch", [500, 1])
def test_only_old_objects_of_executions_without_a_row_go(api_user, monkeypatch, batch):
    monkeypatch.setattr(service, "_SWEEP_BATCH", batch)  # checked against the rows as the listing goes
    team = api_user("owner@example.com").team_id
    live = add_execution(team, created_at=utcnow() - timedelta(days=3))
    gone, fresh_gone = "c" * 32, "d" * 32
    storage = get_storage()
    placed = {name: keys.binary_key(team, execution, "e" * 32)
              for name, execution in (("live", live), ("gone", gone), ("fresh", fresh_gone))}
    for name, key in placed.items():
        storage.put(key, name.encode())
    storage.put(keys.step_key(team, gone, "n", 0, "output"), b"{}")
    storage.put("binary/ab/" + "f" * 32, b"legacy")  # of before the storage service: not the sweeper's
    for key in (placed["live"], placed["gone"], keys.step_key(team, gone, "n", 0, "output")):
        _age(key, 2)

    assert sweep_orphans() == 2
    left = {o.key for o in storage.list("")}
    assert left == {placed["live"], placed["fresh"], "binary/ab/" + "f" * 32}
    assert sweep_orphans(now=utcnow() + timedelta(days=2)) == 1  # the fresh one, a day later
    assert sweep_orphans() == 0


def test_an_empty_storage_sweeps_nothing():
    migrate.upgrade(get_settings().database_url)
    assert sweep_orphans() == 0
