"""Request isolation: work a request waits for, but that may run long, goes off the request's event loop.

An inline webhook run (``respond: last_node`` / ``respond_node``), the rest of a resumed
Wait, and an expression preview all run user-defined work: a workflow whose expressions
take seconds of CPU would, on the request's event loop, stop every other request of the
process for as long (``/health`` included). They run instead on a few dedicated threads,
each with its own event loop ("lanes"); the request awaits the result. CPU work there still
shares the GIL with the request loop, but in slices (``sys.getswitchinterval()``, 5 ms), so
other requests keep being served.

At most ``LINKFLOW_HTTP_INLINE_CONCURRENCY`` pieces of work are in progress at once (async
runs share a lane while they wait on I/O); more wait their turn, first come first served,
for up to ``LINKFLOW_HTTP_INLINE_WAIT_S``, and are then refused with ``Overloaded`` (503
with Retry-After) instead of piling up without end.
"""

from __future__ import annotations

import asyncio
import functools
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from backend.errors import UserError
from backend.settings import get_settings

T = TypeVar("T")
RETRY_AFTER_S = 2
STUCK_S = 0.02  # a lane whose loop has not taken up new work for this long is busy computing


class Overloaded(UserError):
    status_code = 503
    code = "overloaded"
    headers = {"Retry-After": str(RETRY_AFTER_S)}


class Lanes:
    """``threads`` event loops on daemon threads (each started when first needed), behind a ``Gate``.

    Work goes to the first lane that keeps up (nothing submitted to it has waited more than
    ``STUCK_S`` to start), so under ordinary load one lane does everything and the request
    loop hands over to one thread only; a lane busy with a long computation is passed over.
    When no lane keeps up, the one with the least work in progress takes it.
    """

    def __init__(self, threads: int, concurrency: int, wait_s: float) -> None:
        self.wait_s = wait_s
        self.gate = Gate(concurrency)
        self._lanes = [_Lane(f"linkflow-inline-{n}") for n in range(max(1, threads))]
        self._lock = threading.Lock()

    async def run(self, make: Callable[[], Coroutine[Any, Any, T]], *, wait_s: float | None = None) -> T:
        """``await make()`` on a lane; Overloaded when no turn comes within ``wait_s`` (default: the
        lanes' own; ``math.inf``: wait as long as it takes, for work nobody waits on the answer of).

        Cancelling the caller cancels the work on its lane.
        """
        if not await self.gate.acquire(self.wait_s if wait_s is None else wait_s):
            raise Overloaded(f"the server is busy with {self.gate.limit} inline runs and previews; "
                             f"try again in {RETRY_AFTER_S} s")
        loop = asyncio.get_running_loop()
        handle = _Handle(loop, loop.create_future())
        lane = self._submit(handle, make)
        try:
            return await handle.done
        except asyncio.CancelledError:
            lane.loop().call_soon_threadsafe(handle.cancel)
            raise
        finally:
            with self._lock:
                lane.load -= 1
            self.gate.release()

    async def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` (blocking) on a lane, with the same turns as ``run``."""
        async def blocking() -> T:
            return fn(*args, **kwargs)

        return await self.run(blocking)

    def _submit(self, handle: _Handle, make: Callable[[], Coroutine]) -> _Lane:
        now = time.monotonic()
        with self._lock:
            lane = next((lane for lane in self._lanes if not lane.stuck(now)), None) \
                or min(self._lanes, key=lambda candidate: candidate.load)
            lane.load += 1
            if lane.submitted == lane.started:
                lane.waiting_since = now
            lane.submitted += 1
        lane.loop().call_soon_threadsafe(handle.start, lane, make)
        return lane


@dataclass(eq=False)
class _Lane:
    name: str
    load: int = 0  # work in progress on this lane
    submitted: int = 0  # handed to its loop (counted by callers, under Lanes._lock)
    started: int = 0  # taken up by its loop (counted by the lane's thread only)
    waiting_since: float = 0.0  # when the oldest work not yet taken up was handed over
    _loop: asyncio.AbstractEventLoop | None = None
    _starting: threading.Lock = field(default_factory=threading.Lock)

    def stuck(self, now: float) -> bool:
        return self.submitted > self.started and now - self.waiting_since > STUCK_S

    def took_up(self) -> None:  # on the lane's thread
        self.waiting_since = time.monotonic()  # for what was handed over after this
        self.started += 1

    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is not None:
            return self._loop
        with self._starting:
            if self._loop is None:
                self._loop = _new_loop()
                threading.Thread(target=self._loop.run_forever, name=self.name, daemon=True).start()
            return self._loop


class _Handle:
    """One piece of work: started on a lane's loop, its outcome handed back to the caller's loop.

    (Lighter than ``run_coroutine_threadsafe``: two ``call_soon_threadsafe`` and no
    ``concurrent.futures.Future`` per run; this is on every inline webhook's path.)
    """

    __slots__ = ("caller", "done", "task", "cancelled", "began")

    def __init__(self, caller: asyncio.AbstractEventLoop, done: asyncio.Future) -> None:
        self.caller, self.done = caller, done
        self.task: asyncio.Task | None = None
        self.cancelled = self.began = False

    def start(self, lane: _Lane, make: Callable[[], Coroutine]) -> None:  # on the lane's loop
        if self.cancelled:
            lane.took_up()
            return
        self.task = asyncio.get_running_loop().create_task(self._begin(lane, make))
        self.task.add_done_callback(functools.partial(self._finished, lane))

    async def _begin(self, lane: _Lane, make: Callable[[], Coroutine]) -> object:
        self.began = True
        lane.took_up()  # in the task's first step: only once the lane's loop really gets to it
        return await make()

    def cancel(self) -> None:  # on the lane's loop
        self.cancelled = True
        if self.task is not None:
            self.task.cancel()

    def _finished(self, lane: _Lane, task: asyncio.Task) -> None:  # on the lane's loop
        if not self.began:  # cancelled before its first step
            lane.took_up()
        if task.cancelled():
            self.caller.call_soon_threadsafe(_settle, self.done, True, None, None)
        else:
            error = task.exception()  # retrieved here, even when nobody waits any more
            self.caller.call_soon_threadsafe(_settle, self.done, False, error, None if error else task.result())


def _settle(done: asyncio.Future, cancelled: bool, error: BaseException | None, result: object) -> None:
    if done.done():  # the caller was cancelled meanwhile
        return
    if cancelled:
        done.cancel()
    elif error is not None:
        done.set_exception(error)
    else:
        done.set_result(result)


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop  # what uvicorn runs the request loop on, when installed
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


@dataclass(eq=False)
class _Waiter:
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future
    granted: bool = False


class Gate:
    """At most ``limit`` holders at once; the others wait in order. Usable from any event loop."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self.held = 0
        self._waiters: deque[_Waiter] = deque()
        self._lock = threading.Lock()

    async def acquire(self, wait_s: float) -> bool:
        """True once a turn is held (``release`` it); False after ``wait_s`` without one."""
        with self._lock:
            if self.held < self.limit and not self._waiters:
                self.held += 1
                return True
            loop = asyncio.get_running_loop()
            waiter = _Waiter(loop, loop.create_future())
            self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter.future, None if math.isinf(wait_s) else wait_s)
        except TimeoutError:
            pass
        except asyncio.CancelledError:
            with self._lock:
                if waiter.granted:
                    self._hand_on()  # handed to us as we were cancelled: pass it on
                else:
                    self._waiters.remove(waiter)
            raise
        with self._lock:
            if not waiter.granted:
                self._waiters.remove(waiter)
            return waiter.granted

    def release(self) -> None:
        with self._lock:
            self._hand_on()

    def _hand_on(self) -> None:
        """Give a held turn to the first waiter, or free it (called with the lock held)."""
        if not self._waiters:
            self.held -= 1
            return
        waiter = self._waiters.popleft()
        waiter.granted = True
        waiter.loop.call_soon_threadsafe(_wake, waiter.future)


def _wake(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


PROVEN_RUNS = 16  # runs seen (and the span of the running average) before a key's work may run on the request loop
DEMOTED_S = 60.0  # a key whose run on the request loop went past the limit stays on the lanes this long
SMALL_INPUT_BYTES = 16 * 1024  # and only inputs this small run there: work grows with its input
MAX_KEYS = 4096  # keys remembered (least recently used forgotten: back to the lanes until proven again)


@dataclass(eq=False, slots=True)
class _Record:
    runs: int = 0  # seen since it was last sent back to the lanes
    average_s: float = 0.0  # CPU per run, moving average over ~PROVEN_RUNS runs
    demoted_until: float = 0.0


class Placement:
    """Whether a piece of repeated work (a workflow's inline run) may run on the request's own loop.

    A hop to a lane and back costs two cross-thread wake-ups: on this 2-core VM ~200 µs of CPU for one
    run at a time, 30-50 µs under load, more than the whole run of a short workflow. So work that has
    shown it is short (over at least ``PROVEN_RUNS`` runs its moving average of CPU per run is at most
    ``limit_s``; inputs of at most ``SMALL_INPUT_BYTES``) runs on the request loop, and anything else on a
    lane, as before. A run on the request loop that takes the average past the limit sends its key back to
    the lanes for ``DEMOTED_S``: one run of more than ``PROVEN_RUNS`` times the limit does it at once, while
    a garbage collection or a rare slower run (a few ms) does not.
    CPU is the thread time of the run's own steps (``_Timed``): with 32 runs in flight on one lane, time
    around the whole run would count the others' too, and no workflow would ever look short under load.
    """

    def __init__(self, limit_s: float) -> None:
        self.limit_s = limit_s
        self._records: OrderedDict[object, _Record] = OrderedDict()
        self._lock = threading.Lock()

    def on_loop(self, key: object, input_bytes: int) -> bool:
        if self.limit_s <= 0 or input_bytes > SMALL_INPUT_BYTES:
            return False
        record = self._records.get(key)
        return (record is not None and record.runs >= PROVEN_RUNS and record.average_s <= self.limit_s
                and time.monotonic() >= record.demoted_until)

    async def measured(self, key: object, work: Coroutine[Any, Any, T], *, on_loop: bool) -> T:
        """``await work``, recording under ``key`` the CPU its own steps took (not other tasks' meanwhile)."""
        timed = _Timed(work)
        try:
            return await timed
        finally:
            self.record(key, timed.cpu_s, on_loop=on_loop)

    def record(self, key: object, cpu_s: float, *, on_loop: bool) -> None:
        with self._lock:
            record = self._records.get(key)
            if record is None:
                record = self._records[key] = _Record()
                if len(self._records) > MAX_KEYS:
                    self._records.popitem(last=False)
            else:
                self._records.move_to_end(key)
            record.average_s = cpu_s if record.runs == 0 else \
                record.average_s + (cpu_s - record.average_s) / PROVEN_RUNS
            record.runs += 1
            if on_loop and record.average_s > self.limit_s:
                record.runs, record.demoted_until = 0, time.monotonic() + DEMOTED_S


class _Timed:
    """Awaits a coroutine, adding up the thread CPU time of each of its steps (between its suspensions)."""

    __slots__ = ("work", "cpu_s")

    def __init__(self, work: Coroutine) -> None:
        self.work, self.cpu_s = work, 0.0

    def __await__(self):
        steps = self.work.__await__()
        value: Any = None
        error: BaseException | None = None
        while True:
            started = time.thread_time()
            try:
                yielded = steps.send(value) if error is None else steps.throw(error)
            except StopIteration as done:
                self.cpu_s += time.thread_time() - started
                return done.value
            except BaseException:
                self.cpu_s += time.thread_time() - started
                raise
            self.cpu_s += time.thread_time() - started
            try:
                value, error = (yield yielded), None
            except GeneratorExit:
                self.work.close()
                raise
            except BaseException as thrown:  # cancellation, passed on to the work
                value, error = None, thrown


@functools.cache
def inline_placement() -> Placement:
    """Where the process's inline webhook runs go (``LINKFLOW_HTTP_INLINE_ON_LOOP_MS``)."""
    return Placement(get_settings().http.inline_on_loop_ms / 1000)


@functools.cache
def inline_lanes() -> Lanes:
    """The process's lanes, sized by the settings read at first use."""
    http = get_settings().http
    return Lanes(http.inline_threads, http.inline_concurrency, http.inline_wait_s)
