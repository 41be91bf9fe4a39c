"""What a worker does with an execution id: lease, run the engine, record the outcome."""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import threading
import time
import weakref
from dataclasses import dataclass, replace
from datetime import timedelta

from backend.db.failures import refusal, unavailable
from backend.db.group_commit import GroupCommit, per_loop
from backend.db.session import get_engine, write_transaction
from backend.engine.definition import WorkflowDefinition
from backend.engine.runner import RunResult, report_failure, run
from backend.engine.services import ExecutionInfo
from backend.engine.step import storable_text
from backend.engine.store import NullStepStore
from backend.executions import service
from backend.executions.leases import keeper
from backend.executions.links import signed_resume_url
from backend.executions.models import ExecutionStatus as S
from backend.executions.services_factory import engine_services
from backend.executions.sql_store import SqlStepStore, load_steps_many
from backend.executions.timers import schedule_wake_up
from backend.settings import get_settings

log = logging.getLogger("linkflow.executions")
_local = threading.local()


def execute(execution_id: str, worker_id: str) -> None:
    """Run the execution to its end (or its wait) if it can be claimed; returns when it has.

    For callers that need the outcome (a sub-workflow's parent, tests); the queue's actor uses ``submit``.
    On PostgreSQL it runs on this thread's own event loop; on SQLite on the process's shared loop
    (see ``submit``).
    """
    if get_engine().dialect.name == "sqlite":
        asyncio.run_coroutine_threadsafe(_execute(execution_id, worker_id), _loops().pick()).result()
    else:
        _runner().run(_execute(execution_id, worker_id))


def submit(execution_id: str, worker_id: str) -> None:
    """Start the execution on one of the process's execution loops; return once it is under way.

    A worker thread used to wait for each execution to end, so a process had as many executions
    in flight as worker threads: four executions waiting on a slow partner API held the queue
    (issue #18: a backlog drained at 20-30/s). Now up to ``LINKFLOW_QUEUE_CONCURRENCY``
    executions interleave at their awaits, and a worker thread waits only for a free slot. The
    message is acknowledged when the execution has started; the database stays the truth (a
    process that dies with executions in flight leaves their leases to expire, and the reaper
    hands them on).

    On SQLite every execution runs on one shared loop: writes take turns anyway, and worker threads
    contending for the GIL and the write lock cost a third more CPU per execution (bench/engine.py).
    On PostgreSQL there is one loop per worker thread, so database round trips of executions on
    different loops overlap.
    """
    loops = _loops()
    loops.slots.acquire()
    future = asyncio.run_coroutine_threadsafe(_execute(execution_id, worker_id), loops.pick())
    future.add_done_callback(lambda done: _settled(done, execution_id, loops))


def _settled(done: concurrent.futures.Future, execution_id: str, loops: _Loops) -> None:
    loops.slots.release()
    if not done.cancelled() and done.exception() is not None:  # the reaper hands it on after its lease
        log.error("execution attempt failed", exc_info=done.exception(), extra={"execution_id": execution_id})


def drain(timeout_s: float) -> int:
    """Wait up to ``timeout_s`` for the executions in flight to end; returns how many are still running."""
    loops = _current_loops
    if loops is None:
        return 0
    deadline = time.monotonic() + timeout_s
    while loops.in_flight() and time.monotonic() < deadline:
        time.sleep(0.05)
    return loops.in_flight()


class _Loops:
    """Event loops on daemon threads, and the slots that bound the executions in flight across them."""

    def __init__(self, count: int, concurrency: int) -> None:
        self.concurrency = max(1, concurrency)
        self.slots = threading.BoundedSemaphore(self.concurrency)
        self._loops: list[asyncio.AbstractEventLoop] = []
        for n in range(max(1, count)):
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name=f"linkflow-executions-{n}", daemon=True).start()
            self._loops.append(loop)
        self._next = itertools.cycle(self._loops)
        self._lock = threading.Lock()

    def pick(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            return next(self._next)

    def in_flight(self) -> int:
        return self.concurrency - self.slots._value  # noqa: SLF001 - a read for shutdown, not a decision


_current_loops: _Loops | None = None
_loops_lock = threading.Lock()


def _loops() -> _Loops:
    """The process's execution loops, made on first use (one on SQLite, one per worker thread otherwise)."""
    global _current_loops
    with _loops_lock:
        if _current_loops is None:
            queue = get_settings().queue
            count = 1 if get_engine().dialect.name == "sqlite" else queue.worker_threads
            _current_loops = _Loops(count, queue.concurrency)
        return _current_loops


async def _execute(execution_id: str, worker_id: str) -> None:
    taken = await per_loop(_claimers, _claimer).save(_Claim(execution_id, worker_id))
    claimed = taken.claimed
    if claimed is None:
        return  # finished, cancelled, or another worker holds the lease
    if taken.gave_up is not None:
        log.error("execution failed: too many lost attempts", extra={"execution_id": execution_id})
        return await _report_give_up(execution_id, claimed, taken.gave_up)
    try:
        if taken.unreadable is not None:
            raise taken.unreadable
        await _run_with_lease(execution_id, worker_id, claimed, taken.steps)
    except Exception as exc:
        _release_lost(execution_id, worker_id, claimed, exc)


@dataclass(frozen=True)
class _Claim:
    execution_id: str
    worker_id: str


@dataclass(frozen=True)
class _Taken:
    """What claiming an execution found: None if it was not ours to run; else its row, and either the steps an
    earlier attempt recorded, the error that kept them from being read, or the error it failed with because
    its attempts keep breaking off."""

    claimed: service.Claimed | None
    steps: dict | None = None
    unreadable: Exception | None = None
    gave_up: dict | None = None


_claimers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GroupCommit] = weakref.WeakKeyDictionary()


def _claimer(_loop: asyncio.AbstractEventLoop) -> GroupCommit:
    """The claims that come due together on a loop share one transaction, like its steps and outcomes: a worker
    takes messages in bursts, and a transaction per claim blocked the loop for a round trip and a commit each
    (py-spy of a PostgreSQL worker: the claims took a third of its loop)."""
    return GroupCommit(_claim_all, returns=True)


def _claim_all(claims: list[_Claim]) -> list[_Taken]:
    """One transaction, one UPDATE ... RETURNING per worker id (a process has one; tests use several) and one
    query for the steps of those that have them: the claims of a burst cost the round trips of one."""
    taken: dict[int, _Taken] = {}
    with write_transaction() as conn:  # a bare connection: this path runs for every execution
        by_worker: dict[str, list[int]] = {}
        for position, claim in enumerate(claims):
            by_worker.setdefault(claim.worker_id, []).append(position)
        for worker_id, positions in by_worker.items():
            held = service.claim_many(conn, list(dict.fromkeys(claims[p].execution_id for p in positions)), worker_id)
            for position in positions:  # an id sent twice is claimed by its first message only
                taken[position] = _Taken(held.pop(claims[position].execution_id, None))
            _taken_further(conn, worker_id, [(p, claims[p].execution_id) for p in positions], taken)
    return [taken[position] for position in range(len(claims))]


def _taken_further(conn, worker_id: str, held: list[tuple[int, str]], taken: dict[int, _Taken]) -> None:
    """Executions whose attempts keep breaking off fail now; the others get the steps an earlier attempt
    recorded (or copied by retry-from-failed), read in the same transaction and skipped when the execution
    saves no data."""
    load: dict[str, int] = {}
    for position, execution_id in held:
        claimed = taken[position].claimed
        if claimed is None:
            continue
        if claimed.lost_attempts >= get_settings().executions.max_attempts:
            taken[position] = _Taken(claimed, gave_up=service.give_up(conn, execution_id, worker_id, claimed))
        elif _save_data(claimed) != "none":
            load[execution_id] = position
    if not load:
        return
    for execution_id, steps in load_steps_many(conn, list(load)).items():
        position = load[execution_id]
        if isinstance(steps, Exception):  # keep the claim: this attempt is lost and counted, like a crash
            taken[position] = replace(taken[position], unreadable=steps)
        else:
            taken[position] = replace(taken[position], steps=steps)


def _release_lost(execution_id: str, worker_id: str, claimed: service.Claimed, exc: Exception) -> None:
    """An unexpected error broke this attempt off: back to the queue after a pause, counted as lost.

    A bug or a value that cannot be stored would break every attempt the same way; the count makes
    the attempt after the limit fail the execution (above) instead of retrying it forever.
    """
    log.error("execution attempt broke off", exc_info=exc, extra={"execution_id": execution_id})
    retry_in = timedelta(seconds=min(2 ** (claimed.lost_attempts + 1), 60))
    error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    try:
        with write_transaction() as conn:
            service.release_lost(conn, execution_id, worker_id, error=storable_text(error), retry_in=retry_in)
    except Exception:  # the database is gone too: the lease expires and the reaper counts the attempt
        log.exception("could not hand the execution back", extra={"execution_id": execution_id})
        raise exc from None


async def _report_give_up(execution_id: str, claimed: service.Claimed, error: dict) -> None:
    """The error workflow hears of it, as of any failed execution."""
    try:
        definition = WorkflowDefinition.model_validate(claimed.definition)
    except ValueError:
        return  # an invalid definition names no error workflow that could run
    info = ExecutionInfo(id=execution_id, mode=claimed.mode, workflow_id=claimed.workflow_id,
                         workflow_name=definition.name)
    services = engine_services(claimed.team_id, execution_id, {})
    await report_failure(definition, info, services, error)


def _runner() -> asyncio.Runner:
    # One event loop per worker thread, reused: creating a loop per execution costs a millisecond.
    runner = getattr(_local, "runner", None)
    if runner is None:
        runner = _local.runner = asyncio.Runner()
    return runner


def _save_data(claimed: service.Claimed) -> str:
    return (claimed.definition.get("settings") or {}).get("save_data", "all")


async def _run_with_lease(execution_id: str, worker_id: str, claimed: service.Claimed,
                          steps: dict | None) -> None:
    definition = claimed.definition
    store = NullStepStore() if steps is None else SqlStepStore(execution_id, claimed.team_id, preloaded=steps)
    info = ExecutionInfo(id=execution_id, mode=claimed.mode, workflow_id=claimed.workflow_id,
                         workflow_name=definition.get("name", ""), resume_url=signed_resume_url(execution_id))
    keeper.hold(execution_id, worker_id, asyncio.current_task())
    try:
        result = await run(definition, execution=info, input_items=claimed.input, store=store,
                           services=engine_services(claimed.team_id, execution_id, definition),
                           resume_data={} if claimed.resumed else None,
                           destination_node=(definition.get("run_options") or {}).get("destination_node"))
    except asyncio.CancelledError:
        log.info("execution stopped: cancelled or lease lost", extra={"execution_id": execution_id})
        return
    finally:
        keeper.release(execution_id)
    recorded = await record_outcome_together(execution_id, worker_id, result, store)
    log.info("execution finished" if recorded else "execution outcome dropped (lease lost)",
             extra={"execution_id": execution_id, "status": result.status})


def record_outcome(execution_id: str, worker_id: str, result: RunResult,
                   store: SqlStepStore | NullStepStore | None = None) -> bool:
    """Record how the run ended, if ``worker_id`` still holds the lease; False when it does not.

    A run that parked writes its waiting step in the same transaction (``SqlStepStore.parked``).
    """
    outcome = _Outcome(execution_id, worker_id, result, store)
    try:
        return _scheduled(outcome, _write_outcomes([outcome])[0])
    except Exception as exc:
        if unavailable(exc):
            raise
        return _refused(outcome, exc)


async def record_outcome_together(execution_id: str, worker_id: str, result: RunResult,
                                  store: SqlStepStore | NullStepStore | None = None) -> bool:
    """``record_outcome``, in one transaction with the other outcomes due on this event loop.

    A worker runs up to LINKFLOW_QUEUE_CONCURRENCY executions per loop; each outcome committed on
    its own blocked the loop for a transaction each (bench/queue.py). Should the shared transaction
    fail, each outcome is written alone, so only the one at fault is refused.
    """
    outcome = _Outcome(execution_id, worker_id, result, store)
    try:
        return _scheduled(outcome, await per_loop(_outcome_writers, _outcome_writer).save(outcome))
    except Exception as exc:
        if unavailable(exc):
            raise
        return _refused(outcome, exc)


@dataclass(frozen=True)
class _Outcome:
    execution_id: str
    worker_id: str
    result: RunResult
    store: SqlStepStore | NullStepStore | None


_STATUS = {"succeeded": S.SUCCEEDED, "failed": S.FAILED, "waiting": S.WAITING}
_outcome_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GroupCommit] = weakref.WeakKeyDictionary()


def _outcome_writer(_loop: asyncio.AbstractEventLoop) -> GroupCommit:
    return GroupCommit(lambda outcomes: _write_outcomes(outcomes), returns=True)


def _write_outcomes(outcomes: list[_Outcome]) -> list[bool]:
    """One transaction; whether each outcome was recorded (False: its lease was lost)."""
    recorded = []
    outbox = service.Outbox()  # the outbox rows of all of them: one insert
    with write_transaction() as conn:
        for outcome in outcomes:
            result = outcome.result
            done = service.finish(conn, outcome.execution_id, outcome.worker_id, status=_STATUS[result.status],
                                  output=result.output, error=result.error, resume_at=result.resume_at, result=result,
                                  outbox=outbox)
            if done and isinstance(outcome.store, SqlStepStore):
                outcome.store.write_parked(conn)
            recorded.append(done)
        outbox.write(conn)
    return recorded


def _scheduled(outcome: _Outcome, recorded: bool) -> bool:
    if recorded and outcome.result.status == "waiting":
        schedule_wake_up(outcome.execution_id, outcome.result.resume_at)
    return recorded


def _refused(outcome: _Outcome, exc: Exception) -> bool:
    """The database refused the outcome (the same would happen on every attempt): fail the run with why."""
    error = {"node": None, "item_index": None, "message": f"the outcome could not be stored: {refusal(exc)}"}
    with write_transaction() as conn:
        return service.finish(conn, outcome.execution_id, outcome.worker_id, status=S.FAILED, error=error)
