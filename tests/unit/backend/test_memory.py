"""Memory a large request left behind goes back to the system (issue #18, item 5)."""

from __future__ import annotations

import gc
import sys

import pytest

from backend import memory

pytestmark = pytest.mark.skipif(sys.platform != "linux" or memory._libc is None, reason="glibc on Linux only")


def test_trim_returns_what_a_large_payload_held_in_a_cycle():
    gc.collect()
    before = memory.resident_bytes()
    payload = {"rows": [{"id": n, "text": f"row {n} " * 8} for n in range(400_000)]}
    payload["self"] = payload  # a cycle: refcounting alone never frees it
    grown = memory.resident_bytes()
    assert grown - before > 80 << 20
    del payload
    after = memory.trim()
    assert after - before < (grown - before) / 4, (before >> 20, grown >> 20, after >> 20)


def test_keep_trimmed_starts_one_watcher_per_process(monkeypatch):
    monkeypatch.setattr(memory, "_started", False)
    started = []
    monkeypatch.setattr(memory.threading, "Thread", lambda **kw: type("T", (), {"start": lambda self: started.append(kw["name"])})())
    memory.keep_trimmed()
    memory.keep_trimmed()
    assert started == ["linkflow-memory"]
