"""Fault injection for the crash tests: a `linkflow` command that SIGKILLs itself at one named moment.

    python -m tests.integration.crashing MOMENT linkflow-args...

Each moment wraps one function of the real code, so the process dies exactly where a crash would
hurt, with nothing in the product's code waiting for tests; the rest of the process is the real one.
"""

from __future__ import annotations

import os
import signal
import sys


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def before_waiting_recorded() -> None:
    """The run parked in a Wait node; the process dies before the execution is recorded as waiting."""
    from backend.executions import service

    finish = service.finish

    def dying(db, execution_id, worker_id, *, status, **kwargs):
        if status == "waiting":
            _die()
        return finish(db, execution_id, worker_id, status=status, **kwargs)

    service.finish = dying


def after_step_a_committed() -> None:
    """The step of the node named "A" is committed (its spilled items in storage); the process dies."""
    from backend.executions.sql_store import SqlStepStore

    save = SqlStepStore._save

    async def dying(self, step):
        await save(self, step)
        if step.node_name == "A":
            _die()

    SqlStepStore._save = dying


def after_listener_queued() -> None:
    """A listener trigger queued its 25th execution (committed); the process dies before the message is
    acknowledged to its source (the Kafka trigger's offset commit, the IMAP trigger's \\Seen flag)."""
    from backend.listeners.runner import Context

    queue = Context._queue
    queued = []

    def dying(self, items, *args, **kwargs):
        execution_id = queue(self, items, *args, **kwargs)
        queued.append(execution_id)
        if len(queued) == 25:
            _die()
        return execution_id

    Context._queue = dying


MOMENTS = {"before-waiting-recorded": before_waiting_recorded, "after-step-a-committed": after_step_a_committed,
           "after-listener-queued": after_listener_queued}


def main() -> int:
    moment, *argv = sys.argv[1:]
    MOMENTS[moment]()
    from backend.cli import main as linkflow

    return linkflow(argv)


if __name__ == "__main__":
    sys.exit(main())
