"""`linkflow up`'s event pipeline in a process of its own (LINKFLOW_EVENTS_PIPELINE=process).

By default `linkflow up` relays the outbox and runs every consumer (audit, notifications, analytics, search,
billing) on its request loop, in slices that give way to requests (backend/foreground.py): one process, one
core. With `process` the server starts this process beside it: it relays every topic but execution.commands
and runs every registered consumer, on the same database, on the machine's other core. The server keeps the
relay of execution.commands and their consumer, since it runs the executions they act on
(executors/relay.py, `start_event_pipeline`). Requests then no longer meet the pipeline's slices on their loop;
the price is a second Python process (~90 MB RSS).

The process dies with the server (`prctl(PR_SET_PDEATHSIG)`, and it exits if the server is gone when it
starts); the server restarts it when it dies, after a pause that doubles up to `MAX_RESTART_PAUSE_S`. Delivery is
at least once as everywhere else: a row published but not yet marked when the process died is published again
by the next one, with the same `event_id`, and the consumers count each id once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time

from backend import logging as lf_logging
from backend.db.session import get_engine
from backend.processes import start_process, stop_child
from backend.settings import get_settings

log = logging.getLogger("linkflow.events.pipeline")
PARENT_ENV = "LINKFLOW_PIPELINE_PARENT"  # the server's pid, set by the server for this process only
FIRST_RESTART_PAUSE_S = 1.0
MAX_RESTART_PAUSE_S = 30.0
POLL_S = 0.5
STABLE_S = 60.0  # a process that ran this long before it died is restarted after the first pause again
STOP_S = 10.0  # SIGTERM, then SIGKILL after this


def shares_the_database() -> bool:
    """Whether another process can open this process's database: not an in-memory SQLite."""
    url = get_engine().url
    return url.get_backend_name() != "sqlite" or (url.database not in (None, "", ":memory:")
                                                  and "mode=memory" not in str(url))


class PipelineProcess:
    """The server's handle on the pipeline process: start it, restart it when it dies, stop it."""

    def __init__(self, command: list[str] | None = None) -> None:
        self.command = command or [sys.executable, "-m", "executors.pipeline_process"]
        self.child: subprocess.Popen | None = None
        self.restarts = 0
        self._started = 0.0
        self._stop = asyncio.Event()
        self._watch: asyncio.Task | None = None

    def start(self) -> None:
        """Start the process and its watch. Call it on the thread that lives as long as the server (the loop's):
        the death signal follows the thread that started the child."""
        self._spawn()
        self._watch = asyncio.get_running_loop().create_task(self._watching())

    def _spawn(self) -> None:
        self.child = start_process(self.command, env={**os.environ, PARENT_ENV: str(os.getpid())})
        self._started = time.monotonic()
        log.info("event pipeline process started", extra={"pid": self.child.pid, "restarts": self.restarts})

    async def _watching(self) -> None:
        pause = FIRST_RESTART_PAUSE_S
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), POLL_S)
            if self._stop.is_set() or self.child is None or self.child.poll() is None:
                continue
            if time.monotonic() - self._started > STABLE_S:  # it had recovered: not a crash loop
                pause = FIRST_RESTART_PAUSE_S
            log.error("event pipeline process exited; starting it again", extra={
                "pid": self.child.pid, "exit_status": self.child.returncode, "after_s": pause})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), pause)
            if self._stop.is_set():
                return
            self.restarts += 1
            self._spawn()
            pause = min(pause * 2, MAX_RESTART_PAUSE_S)

    async def stop(self) -> int | None:
        """SIGTERM, SIGKILL after `STOP_S`; returns its exit status (None if it never started)."""
        self._stop.set()
        if self._watch is not None:
            await self._watch
        if self.child is None:
            return None
        return await asyncio.to_thread(stop_child, self.child, STOP_S)


def main() -> int:
    from backend.observability import freeze_startup_heap, pause_collection_for_startup

    pause_collection_for_startup()
    settings = get_settings()
    lf_logging.configure(settings.log_level, settings.log_format)
    parent = os.environ.get(PARENT_ENV)
    if parent and os.getppid() != int(parent):  # the server died before the death signal was armed
        log.error("event pipeline process: its server (pid %s) is gone; exiting", parent)
        return 1
    asyncio.run(_until_signalled(freeze_startup_heap))
    return 0


async def _until_signalled(started=lambda: None) -> None:
    from backend.events.consumers import DEAD_LETTERED, PIPELINE_PROCESS
    from executors.heartbeat import heartbeat_loop
    from executors.relay import SCOPES, start_event_pipeline

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    pipeline = await start_event_pipeline("events")
    # Its heartbeat carries what it dead-lettered: the admin console of the server adds it to its own
    # (backend/admin/queues.py, `dead_letters`).
    beat = asyncio.create_task(heartbeat_loop(stop, "consume", lambda: {
        "service": PIPELINE_PROCESS, "groups": pipeline.services, "skips": list(SCOPES["events"].skip),
        "dead_lettered": dict(DEAD_LETTERED)}))
    started()
    log.info("event pipeline process running", extra={"pid": os.getpid(), "server": os.getppid()})
    try:
        await stop.wait()
    finally:
        await pipeline.stop()
        stop.set()
        await beat
    log.info("event pipeline process stopped", extra={"pid": os.getpid()})


if __name__ == "__main__":
    sys.exit(main())
