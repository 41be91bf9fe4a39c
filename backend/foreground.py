"""Requests come first: background work that shares the server's event loop gives way to the requests in flight.

`linkflow up` runs its event pipeline (the outbox relay and the in-process consumers) in the process that
serves webhooks. On threads, that work held the interpreter lock in bursts of 10-15 ms (the relay checking a
batch of events against their schemas, analytics summing them): a request that released the lock for a
moment of I/O (a socket write, a step of SQLite) waited up to the 5 ms switch interval to get it back, several
times over, so one request in a hundred took 10-15 ms where the others took 1 (bench/webhook_app.py
--concurrency 1, bench/README.md). On an in-process database the pipeline now runs on the loop itself, cut in
slices of at most `SLICE_S` of the loop's time; between slices it waits while a request is in flight, at most
`GIVE_WAY_MAX_S`. Under sustained load that would starve it, so once its oldest unsent event is `BEHIND_S` old
(the relay tells, `lagging`), it stops waiting and takes its turn with the requests' steps: its backlog cannot
grow without end.

`MetricsMiddleware` (backend/observability.py), the outermost layer of the HTTP app, counts the requests.
`backend.db.session.in_process_database()` says whether the pipeline works this way. This module imports no
database code: the code sandbox's server imports it through the logging and metrics modules.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import Iterator

SLICE_S = 0.0005  # of the loop's time, at most, before background work gives way
GIVE_WAY_MAX_S = 0.01  # the longest it waits for the requests in flight to finish
BEHIND_S = 1.0  # once the pipeline lags this far behind (its oldest unsent event), it no longer waits: turns


class _Foreground:
    """The requests in flight on one loop, and the background work waiting for them to finish."""

    __slots__ = ("behind", "in_flight", "waiters")

    def __init__(self) -> None:
        self.in_flight = 0
        self.waiters: list[asyncio.Future] = []
        self.behind = False


_loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Foreground] = weakref.WeakKeyDictionary()


_last: tuple[weakref.ref, _Foreground] = (weakref.ref(_Foreground), _Foreground())  # the last loop asked about


def _here() -> _Foreground:
    """The requests of the running loop. One loop asks nearly every time, twice per request, so the last answer
    is kept: a WeakKeyDictionary lookup makes a new weak reference each time (~1 µs)."""
    global _last
    loop = asyncio.get_running_loop()
    if _last[0]() is loop:
        return _last[1]
    here = _loops.get(loop)
    if here is None:
        here = _loops[loop] = _Foreground()
    _last = (weakref.ref(loop), here)
    return here


def request_started() -> None:
    _here().in_flight += 1


def request_finished() -> None:
    here = _here()
    here.in_flight -= 1
    if here.in_flight == 0 and here.waiters:
        waiters, here.waiters = here.waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


@contextlib.contextmanager
def parked() -> Iterator[None]:
    """A request that only waits, for long (the editor's long-poll for a test event, up to two minutes), does not
    count as in flight meanwhile: the pipeline would otherwise wait for it at every slice until it fell a second
    behind."""
    request_finished()
    try:
        yield
    finally:
        request_started()


def in_flight() -> int:
    """Requests in flight on the running loop."""
    return _here().in_flight


def lagging(lag_s: float) -> None:
    """The event pipeline on this loop says how far behind it is (the outbox relay, each batch)."""
    _here().behind = lag_s > BEHIND_S


async def give_way(max_wait_s: float | None = None) -> None:
    """Let the requests in flight on this loop go first: return when none is left, or after `max_wait_s`. With
    none in flight, or once the pipeline is behind (`lagging`), still let whatever is ready to run (a request
    just read, the next step of one in flight) run first: under sustained load the two then take turns, and
    the pipeline keeps up."""
    here = _here()
    if here.in_flight == 0 or here.behind:
        # Two turns: a request read while this slice ran has its task queued behind this one's next turn, and
        # counts itself in flight only once that task starts.
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        if here.in_flight == 0 or here.behind:
            return
        # a request started meanwhile: it goes first
    loop = asyncio.get_running_loop()
    waiter = loop.create_future()
    here.waiters.append(waiter)
    timer = loop.call_later(GIVE_WAY_MAX_S if max_wait_s is None else max_wait_s, _wake, waiter)
    try:
        await waiter
    finally:
        timer.cancel()
        if waiter in here.waiters:  # woken by the timer: under sustained load the list would only grow
            here.waiters.remove(waiter)


def _wake(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_result(None)


class Slices:
    """Cut background work on the loop into slices: call `await slices.tick()` between its small steps; once
    the current slice has used `slice_s` of the loop's time, it gives way (`give_way`)."""

    __slots__ = ("_slice_s", "_since")

    def __init__(self, slice_s: float | None = None) -> None:
        self._slice_s = SLICE_S if slice_s is None else slice_s
        self._since = time.perf_counter()

    async def tick(self) -> None:
        if time.perf_counter() - self._since >= self._slice_s:
            await give_way()
            self._since = time.perf_counter()
