"""Ids drawn from a seeded generator must not repeat in a forked child (uvicorn and Dramatiq fork workers)."""
from __future__ import annotations

import os

from backend.webhooks import persist
from executors import actors


def _drawn_in_child(draw) -> bytes:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.write(write, draw())
        os._exit(0)
    os.waitpid(pid, 0)
    os.close(write)
    data = os.read(read, 64)
    os.close(read)
    return data


def test_a_forked_child_draws_other_execution_ids_than_its_parent():
    draw = lambda: persist._bits(80).to_bytes(10, "big")  # noqa: E731
    child = _drawn_in_child(draw)
    assert child and child != draw()


def test_a_forked_child_draws_other_message_ids_than_its_parent():
    draw = lambda: actors._unique_id().encode()  # noqa: E731
    child = _drawn_in_child(draw)
    assert child and child != draw()
