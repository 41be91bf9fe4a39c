"""Background work on the server's loop gives way to the requests in flight (backend/foreground.py)."""

from __future__ import annotations

import asyncio

import pytest

from backend import foreground
from backend.foreground import Slices, give_way, in_flight, request_finished, request_started
from backend.observability import MetricsMiddleware


async def turns(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_with_no_request_in_flight_it_gives_one_turn_and_goes_on():
    assert in_flight() == 0
    ran = []
    asyncio.get_running_loop().call_soon(ran.append, "ready first")
    await give_way(max_wait_s=60)
    assert ran == ["ready first"]


async def test_it_waits_for_the_requests_in_flight_to_finish():
    request_started()
    request_started()
    waiting = asyncio.create_task(give_way(max_wait_s=60))
    await turns()
    request_finished()
    await turns()
    assert not waiting.done(), "one request is still in flight"
    request_finished()
    await asyncio.wait_for(waiting, 1)
    assert in_flight() == 0


async def test_a_parked_request_is_not_waited_for_while_it_waits():
    request_started()
    try:
        with foreground.parked():
            assert in_flight() == 0
            await asyncio.wait_for(give_way(max_wait_s=60), 1)
        assert in_flight() == 1, "it counts again once it has done waiting"
    finally:
        request_finished()


async def test_parking_the_last_request_in_flight_wakes_the_waiting_background():
    request_started()
    try:
        waiting = asyncio.create_task(give_way(max_wait_s=60))
        await turns()
        assert not waiting.done()
        with foreground.parked():
            await asyncio.wait_for(waiting, 1)
    finally:
        request_finished()


async def test_it_waits_at_most_its_limit_and_leaves_no_waiter_behind():
    """Under sustained load requests never all finish: the background still gets its turn, and the waiters
    the timer woke do not pile up."""
    request_started()
    try:
        for _ in range(50):
            await asyncio.wait_for(give_way(max_wait_s=0.001), 1)
        assert foreground._here().waiters == []  # noqa: SLF001
    finally:
        request_finished()


async def test_a_request_that_starts_during_its_turn_goes_first():
    loop = asyncio.get_running_loop()
    loop.call_soon(request_started)  # e.g. a request read while other tasks ran
    waiting = asyncio.create_task(give_way(max_wait_s=60))
    await turns()
    assert not waiting.done()
    request_finished()
    await asyncio.wait_for(waiting, 1)


async def test_once_the_pipeline_is_behind_it_takes_turns_instead_of_waiting():
    request_started()
    try:
        foreground.lagging(foreground.BEHIND_S + 1)
        await asyncio.wait_for(give_way(max_wait_s=60), 1)
        foreground.lagging(0.0)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(give_way(max_wait_s=60), 0.05)
    finally:
        foreground.lagging(0.0)
        request_finished()


async def test_slices_give_way_only_once_a_slice_is_used(monkeypatch):
    gave: list[int] = []

    async def counted(max_wait_s=None) -> None:
        gave.append(1)

    monkeypatch.setattr(foreground, "give_way", counted)
    slices = Slices(slice_s=60)
    for _ in range(100):
        await slices.tick()
    assert gave == []
    slices = Slices(slice_s=0)
    for _ in range(3):
        await slices.tick()
    assert len(gave) == 3


async def test_the_http_app_counts_its_requests_in_flight_even_when_one_fails():
    """MetricsMiddleware, the outermost layer of the HTTP app, counts them (and uncounts a failed one)."""
    seen: list[int] = []
    gate = asyncio.Event()

    async def endpoint(scope, receive, send) -> None:
        seen.append(in_flight())
        await gate.wait()
        if scope["path"] == "/fails":
            raise RuntimeError("boom")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app = MetricsMiddleware(endpoint)

    answered: list[int] = []

    async def call(path: str) -> None:
        async def receive() -> dict:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                answered.append(message["status"])

        await app({"type": "http", "method": "GET", "path": path, "headers": []}, receive, send)

    calls = [asyncio.create_task(call("/ok")), asyncio.create_task(call("/fails"))]
    await turns()
    assert in_flight() == 2 and seen == [1, 2]
    gate.set()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert results[0] is None and isinstance(results[1], RuntimeError) and answered == [200]
    assert in_flight() == 0


def test_each_loop_counts_its_own_requests_whichever_asked_last():
    """`_here` keeps the last loop's answer: a request counted on one loop is not seen by another, before or after
    the other asked, nor by a later loop once the first is gone."""
    first = asyncio.new_event_loop()
    second = asyncio.new_event_loop()

    async def start() -> int:
        request_started()
        return in_flight()

    async def count() -> int:
        return in_flight()

    async def finish() -> int:
        request_finished()
        return in_flight()

    try:
        assert first.run_until_complete(start()) == 1
        assert second.run_until_complete(count()) == 0
        assert first.run_until_complete(count()) == 1
        assert second.run_until_complete(start()) == 1
        assert first.run_until_complete(finish()) == 0
        assert second.run_until_complete(finish()) == 0
    finally:
        first.close()
        second.close()
    assert asyncio.run(count()) == 0
