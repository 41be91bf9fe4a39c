"""backend/isolation.py: work runs on lane threads, the caller's loop stays free, turns are bounded."""

import asyncio
import threading
import time

import pytest

from backend import isolation
from backend.isolation import Gate, Lanes, Overloaded


async def _loop_lag_while(work) -> tuple[object, float]:
    """(work's result, the longest the calling loop was kept from running a 10 ms ticker meanwhile)."""
    lags: list[float] = []
    stop = asyncio.Event()

    async def ticker():
        while not stop.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - started - 0.01)

    ticking = asyncio.create_task(ticker())
    try:
        return await work, max(lags, default=0.0)
    finally:
        stop.set()
        await ticking


def _compute(seconds: float) -> str:
    """Pure-Python CPU work for ``seconds``, holding the GIL in the interpreter's slices."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        sum(range(1000))
    return threading.current_thread().name


async def _until(predicate, timeout_s: float = 10) -> None:
    """Poll the caller's loop until ``predicate()`` holds (the lanes' threads change what it reads)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "the lanes never got there"
        await asyncio.sleep(0.005)


def _compute_until(released: threading.Event) -> str:
    """Pure-Python CPU work, like ``_compute``, until ``released`` is set."""
    while not released.is_set():
        sum(range(1000))
    return threading.current_thread().name


def _compute_cpu(seconds: float) -> str:
    """Like ``_compute``, for ``seconds`` of this thread's CPU time: on a loaded machine a wall-clock second of
    work may be well under a second of CPU, and the placement measures CPU."""
    deadline = time.thread_time() + seconds
    while time.thread_time() < deadline:
        sum(range(1000))
    return threading.current_thread().name


async def test_work_runs_on_a_lane_thread_and_the_callers_loop_keeps_running():
    lanes = Lanes(threads=2, concurrency=4, wait_s=1)
    thread_name, lag = await _loop_lag_while(lanes.call(_compute, 0.5))
    assert thread_name == "linkflow-inline-0"
    # on the loop itself the ticker would have waited the whole 0.5 s; a loaded CI machine (other processes
    # on both cores, GIL hand-offs) has shown single waits near 0.1 s, so the bound is half the work
    assert lag < 0.25


async def test_results_and_errors_come_back_to_the_caller():
    lanes = Lanes(threads=1, concurrency=2, wait_s=1)

    async def fails():
        raise ValueError("from the lane")

    assert await lanes.call(lambda a, b: a + b, 2, 3) == 5
    with pytest.raises(ValueError, match="from the lane"):
        await lanes.run(fails)


async def test_beyond_the_limit_work_waits_its_turn_then_is_refused_503():
    lanes = Lanes(threads=1, concurrency=1, wait_s=0.1)
    release = threading.Event()
    first = asyncio.create_task(lanes.call(release.wait, 10))  # holds the one turn until released
    await _until(lambda: lanes.gate.held == 1)
    with pytest.raises(Overloaded) as refused:
        await lanes.call(lambda: "too late")
    assert refused.value.status_code == 503 and refused.value.headers == {"Retry-After": "2"}
    patient = asyncio.create_task(lanes.run(_value("patient"), wait_s=10))
    await _until(lambda: len(lanes.gate._waiters) == 1)  # in line behind the first
    assert not patient.done()
    release.set()
    assert await patient == "patient"  # its turn came when the first finished
    assert await first is True
    assert lanes.gate.held == 0


async def test_a_lane_busy_computing_is_passed_over():
    lanes = Lanes(threads=2, concurrency=8, wait_s=1)
    lane = lanes._lanes[0]
    released = threading.Event()
    long = asyncio.create_task(lanes.call(_compute_until, released))
    await _until(lambda: lane.started == 1)  # lane 0 is computing
    queued = asyncio.create_task(lanes.call(_compute, 0.01))  # lane 0 keeps up so far: waits behind it there
    await _until(lambda: lane.stuck(time.monotonic()))  # ...until it has waited there longer than STUCK_S
    try:
        taken_by = await asyncio.wait_for(lanes.call(lambda: threading.current_thread().name), 10)
        assert taken_by == "linkflow-inline-1"  # lane 1 took it while lane 0 was computing
    finally:
        released.set()
    assert await long == "linkflow-inline-0" and await queued == "linkflow-inline-0"


async def test_cancelling_the_caller_cancels_the_work_on_its_lane():
    lanes = Lanes(threads=1, concurrency=1, wait_s=1)
    began, stopped = threading.Event(), threading.Event()

    async def endless():
        began.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            stopped.set()
            raise

    caller = asyncio.create_task(lanes.run(endless))
    await _until(began.is_set)  # running on its lane (cancelled before it began, it would never set `stopped`)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert await asyncio.to_thread(stopped.wait, 2)
    assert lanes.gate.held == 0


async def test_the_gate_serves_waiters_in_order_and_a_cancelled_waiter_gives_its_turn_on():
    gate = Gate(1)
    assert await gate.acquire(0)
    order: list[str] = []

    async def wait(name: str) -> None:
        if await gate.acquire(5):
            order.append(name)
            gate.release()

    first, quitter, last = (asyncio.create_task(wait(n)) for n in ("first", "quitter", "last"))
    await asyncio.sleep(0.01)
    quitter.cancel()
    gate.release()
    await asyncio.gather(first, last)
    assert order == ["first", "last"] and gate.held == 0


def test_the_process_lanes_follow_the_settings(configure, monkeypatch):
    configure(HTTP_INLINE_THREADS="3", HTTP_INLINE_CONCURRENCY="7", HTTP_INLINE_WAIT_S="1.5")
    isolation.inline_lanes.cache_clear()
    lanes = isolation.inline_lanes()
    isolation.inline_lanes.cache_clear()
    assert (len(lanes._lanes), lanes.gate.limit, lanes.wait_s) == (3, 7, 1.5)


def _value(value):
    async def make():
        return value

    return make


async def test_work_cancelled_before_it_began_does_not_leave_its_lane_looking_busy():
    lanes = Lanes(threads=2, concurrency=4, wait_s=1)
    for _ in range(3):
        caller = asyncio.create_task(lanes.call(lambda: None))
        await asyncio.sleep(0)  # handed over, cancelled before the lane's loop got to it
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
    lane = lanes._lanes[0]
    await _until(lambda: lane.submitted == lane.started)  # the lane's thread has caught up with the hand-overs
    assert not lane.stuck(time.monotonic())
    assert await lanes.call(lambda: threading.current_thread().name) == "linkflow-inline-0"


def test_placement_needs_enough_short_runs_and_forgets_the_least_recently_used(monkeypatch):
    placement = isolation.Placement(0.002)
    for _ in range(isolation.PROVEN_RUNS - 1):
        placement.record("wf", 0.001, on_loop=False)
    assert not placement.on_loop("wf", 10)  # not enough runs seen yet
    placement.record("wf", 0.001, on_loop=False)
    assert placement.on_loop("wf", 10) and not placement.on_loop("wf", isolation.SMALL_INPUT_BYTES + 1)
    placement.record("wf", 0.005, on_loop=True)  # a garbage collection, a rare slower run: stays
    assert placement.on_loop("wf", 10)
    placement.record("wf", 0.1, on_loop=False)  # long runs on a lane take the average past the limit
    assert not placement.on_loop("wf", 10)
    assert not placement.on_loop("never seen", 10)
    monkeypatch.setattr(isolation, "MAX_KEYS", 3)
    for key in ("a", "b", "c"):
        placement.record(key, 0.001, on_loop=False)
    assert "wf" not in placement._records and len(placement._records) == 3


async def test_placement_measures_the_cpu_a_run_takes_on_its_thread():
    placement = isolation.Placement(0.05)

    async def work(seconds: float) -> str:
        return _compute_cpu(seconds)

    for _ in range(isolation.PROVEN_RUNS):
        assert await placement.measured("wf", work(0.001), on_loop=False) == threading.current_thread().name
    assert placement.on_loop("wf", 10)
    await placement.measured("wf", work(1.0), on_loop=True)  # 20 times the limit: sent back at once
    assert not placement.on_loop("wf", 10)
    assert placement._records["wf"].demoted_until > time.monotonic() + isolation.DEMOTED_S - 5


async def test_a_measured_run_counts_only_its_own_steps_and_passes_cancellation_through():
    placement = isolation.Placement(0.05)
    release = asyncio.Event()

    async def waits_then_computes() -> str:
        await release.wait()
        return _compute(0.001)

    async def busy_neighbour():  # computes on the same loop while the measured run waits
        _compute(0.2)
        release.set()

    neighbour = asyncio.create_task(busy_neighbour())
    await placement.measured("wf", waits_then_computes(), on_loop=True)
    await neighbour
    assert placement._records["wf"].average_s < 0.05  # the neighbour's 0.2 s were not counted

    started = asyncio.Event()

    async def cancelled_then_answers() -> str:
        started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            asyncio.current_task().uncancel()
            return "stopped"
        return "slept"

    task = asyncio.create_task(placement.measured("other", cancelled_then_answers(), on_loop=True))
    await started.wait()
    task.cancel()
    assert await task == "stopped"
