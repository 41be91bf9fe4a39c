"""The pipelined group commit: batches written on threads, at most ``depth`` at once, none lost."""

from __future__ import annotations

import asyncio
import threading

import pytest

from backend.db.group_commit import PipelinedGroupCommit


class Writes:
    """A write whose calls block until released, so a test can see how many are in flight."""

    def __init__(self) -> None:
        self.batches: list[list] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.release = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, entries: list) -> None:
        with self._lock:
            self.batches.append(list(entries))
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if not self.release.wait(10):
                raise TimeoutError("the test never released the write")
            if "bad" in entries:
                raise ValueError("refused by the database")
        finally:
            with self._lock:
                self.in_flight -= 1


async def _until(condition, timeout_s: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.005)


@pytest.mark.parametrize("depth", [1, 2])
async def test_at_most_depth_batches_are_written_at_once_and_every_entry_is_saved(depth):
    writes = Writes()
    commit = PipelinedGroupCommit(writes, depth=depth)
    first = [asyncio.create_task(commit.save(n)) for n in range(3)]
    await _until(lambda: len(writes.batches) == 1)  # the three that came together: one batch
    second = [asyncio.create_task(commit.save(n)) for n in range(3, 5)]
    if depth == 2:  # they do not wait for the first commit: a second batch is written meanwhile
        await _until(lambda: len(writes.batches) == 2)
    third = [asyncio.create_task(commit.save(n)) for n in range(5, 8)]
    await asyncio.sleep(0.1)
    assert len(writes.batches) == depth and writes.in_flight == depth  # the rest wait for a writer to be free
    writes.release.set()
    await asyncio.gather(*first, *second, *third)
    assert writes.most_in_flight == depth
    assert writes.batches[0] == [0, 1, 2]
    assert sorted(n for batch in writes.batches for n in batch) == list(range(8))  # each entry once
    assert writes.batches[depth] == ([3, 4, 5, 6, 7] if depth == 1 else [5, 6, 7])  # the waiting ones together


async def test_an_entry_the_database_refuses_fails_alone_in_a_concurrent_batch():
    writes = Writes()
    commit = PipelinedGroupCommit(writes, depth=2)
    first = asyncio.create_task(commit.save("a"))
    await _until(lambda: len(writes.batches) == 1)
    together = [asyncio.create_task(commit.save(entry)) for entry in ("b", "bad", "c")]
    await _until(lambda: len(writes.batches) == 2)
    writes.release.set()
    outcomes = await asyncio.gather(first, *together, return_exceptions=True)
    assert outcomes[:2] == [None, None] and outcomes[3] is None
    assert isinstance(outcomes[2], ValueError)  # only its caller hears it; the others were written one by one
    assert ["b"] in writes.batches and ["c"] in writes.batches


async def test_after_a_burst_the_next_entry_starts_a_writer_again():
    writes = Writes()
    writes.release.set()
    commit = PipelinedGroupCommit(writes, depth=2)
    await asyncio.gather(*(commit.save(n) for n in range(4)))
    await commit.save(4)  # nothing in flight now: written at once, not left waiting
    assert [n for batch in writes.batches for n in batch] == list(range(5))
