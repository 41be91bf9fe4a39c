"""Running listener triggers: one listener per active Redis/Kafka/IMAP/RabbitMQ trigger node, on one replica at a time.

``listener_loop`` runs beside the scheduler loop (``linkflow scheduler``, and inside the web process in
embedded mode). Every replica runs it; only the holder of the listener lock (a PostgreSQL advisory lock of
its own, ``LOCK_KEY``; see backend/schedules/leader.py) runs listeners. Once a second it compares the
``trigger_listeners`` rows of active workflows with the listeners it runs: it starts the new ones and
cancels those whose workflow was deactivated (or re-activated with another version). Losing the lock
cancels them all; the replica that takes the lock over starts them again.

A listener calls ``ctx.emit(items)`` per message: one transaction creates the queued execution and counts
the message, then the execution is dispatched. Only then does the node acknowledge the message to its source
(the Kafka trigger commits the offset): a process killed in between delivers the message again (at least once).
A listener that keeps its own position (the IMAP trigger: UIDVALIDITY and last UID) hands it to ``emit`` as
``state``; it is saved in that same transaction (``listener_cursors``), so a restart neither skips nor repeats.
A failing listener (refused credential, address policy, server down) writes its error to its row, which
``GET /api/v1/workflows/{id}/triggers`` shows, and is restarted after a growing pause (1 s ... 60 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass, field

from sqlalchemy import update

from backend.billing import hooks as billing
from backend.credentials.runtime import credentials_resolver
from backend.db.base import new_id, utcnow
from backend.db.session import session_scope
from backend.errors import UserError
from backend.executions.dispatch import commit_then_dispatch
from backend.executions.models import ExecutionMode
from backend.executions.service import create_execution, trigger_fired
from backend.listeners import service
from backend.listeners.models import ListenerCursor, TriggerListener
from backend.outbound import node_settings
from backend.schedules.leader import InProcessLeader, Leadership, PostgresLeader
from backend.settings import get_settings
from backend.storage.binary import StorageBinaryStore
from backend.storage.service import get_storage
from backend.workflows.service import get_workflow, runnable_definition
from nodes.sdk import NodeError, default_registry

log = logging.getLogger("linkflow.listeners")

LOCK_KEY = 0x4C46_4C49_5354_4E31  # "LFLISTN1": the advisory lock of the listener runner
MODE = ExecutionMode.TRIGGER
RECONCILE_S = 1.0
BACKOFF_S = (1, 2, 5, 10, 30, 60)


def make_listener_leader() -> Leadership:
    settings = get_settings()
    if settings.database_url.startswith("postgresql"):
        return PostgresLeader(settings.database_url, key=LOCK_KEY,
                              name=f"linkflow-listeners:{os.getpid()}")
    return InProcessLeader()


@dataclass
class _Row:
    id: str
    team_id: str
    workflow_id: str
    version_id: str
    node_id: str


@dataclass
class Context:
    """The ``ListenerContext`` of one listener (nodes/sdk/listener.py)."""

    row: _Row
    node_name: str
    params: object
    definition: dict
    node_credentials: dict
    settings: dict = field(default_factory=node_settings)
    _next_execution_id: str | None = None  # the files of the next message are stored under it

    @property
    def workflow_id(self) -> str:
        return self.row.workflow_id

    async def credentials(self, slot: str) -> dict:
        credential_id = self.node_credentials.get(slot)
        if not credential_id:
            raise UserError(f"trigger node {self.node_name!r} has no credential chosen for {slot!r}; "
                            "pick one in the node's credentials")
        return await credentials_resolver(self.row.team_id, f"listener:{self.row.id}")(credential_id,
                                                                                       self.node_name)

    async def emit(self, items: list[dict], *, state: dict | None = None) -> str:
        return await asyncio.to_thread(self._queue, items, state)

    async def put_binary(self, data, *, mime_type: str, file_name: str = "") -> dict:
        if self._next_execution_id is None:
            self._next_execution_id = new_id()
        store = StorageBinaryStore(get_storage(), self.row.team_id, self._next_execution_id)
        return await store.put(data, mime_type=mime_type, file_name=file_name)

    async def load_state(self) -> dict:
        return await asyncio.to_thread(self._load_state)

    def _load_state(self) -> dict:
        with session_scope() as session:
            cursor = session.get(ListenerCursor, (self.row.workflow_id, self.row.node_id))
            return dict(cursor.state) if cursor is not None else {}

    def _queue(self, items: list[dict], state: dict | None = None) -> str:
        with session_scope() as session:
            if session.get(TriggerListener, self.row.id, with_for_update=True) is None:
                # Deactivated (or re-activated as another version) since this listener started: no run,
                # and no acknowledgement (the Kafka trigger leaves the offset for the next listener).
                raise UserError("the workflow was deactivated or changed; this listener stops")
            if not billing.admits_execution(self.row.team_id, MODE):
                raise UserError("the team's plan admits no more executions this period; the message is left "
                                "unacknowledged and delivered again when runs are admitted")
            execution = create_execution(session, team_id=self.row.team_id, definition=self.definition,
                                         mode=MODE, input_items=items, workflow_id=self.row.workflow_id,
                                         version_id=self.row.version_id, execution_id=self._next_execution_id)
            if state is not None:  # the source's position moves in the same commit as the run it started
                session.merge(ListenerCursor(workflow_id=self.row.workflow_id, node_id=self.row.node_id,
                                             state=state, updated_at=utcnow()))
            trigger_fired(session, execution, "listener", self.row.node_id)
            session.execute(update(TriggerListener).where(TriggerListener.id == self.row.id).values(
                messages=TriggerListener.messages + 1, last_message_at=utcnow(), status="listening",
                error=None))
            commit_then_dispatch(session, execution.id)
            self._next_execution_id = None
            return execution.id

    def listening(self, detail: str = "") -> None:
        _write_status(self.row.id, "listening", detail=detail)


def _write_status(listener_id: str, status: str, *, error: str | None = None, detail: str | None = None) -> None:
    try:
        with session_scope() as session:
            service.set_status(session, listener_id, status, error=error, detail=detail)
    except Exception:  # noqa: BLE001 - a status that cannot be written must not stop the listener
        log.exception("writing a listener's status failed", extra={"listener_id": listener_id})


def _prepare(row: _Row) -> tuple[type, Context]:
    with session_scope() as session:
        workflow = get_workflow(session, row.team_id, row.workflow_id)
        version_id, definition = runnable_definition(session, row.team_id, row.workflow_id)
        definition = {"name": workflow.name, **definition}  # named like the workflow for the history
    if version_id != row.version_id:
        raise UserError("the workflow's active version changed; the listener restarts with the new one")
    node = next((n for n in definition.get("nodes") or [] if n["id"] == row.node_id), None)
    if node is None:
        raise UserError(f"node {row.node_id} is not in the workflow's active version")
    node_class = default_registry().get(node["type"], node.get("version", 1))
    params = service.validated_parameters(node)
    context = Context(row=row, node_name=node.get("name", node["id"]), params=params,
                      definition=definition,
                      node_credentials=dict(node.get("credentials") or {}))
    return node_class, context


async def run_listener(row: _Row) -> None:
    """Run one listener until cancelled; report each failure on its row and start it again after a pause."""
    failures = 0
    while True:
        try:
            node_class, context = await asyncio.to_thread(_prepare, row)
            await node_class().listen(context)
            raise UserError("the listener stopped without an error; restarting it")
        except asyncio.CancelledError:
            raise
        except (UserError, NodeError) as exc:
            message = getattr(exc, "message", None) or str(exc)
        except Exception as exc:  # noqa: BLE001 - any failure is shown to the user and retried
            message = f"{type(exc).__name__}: {exc}"
            log.exception("listener failed", extra={"listener_id": row.id, "workflow_id": row.workflow_id})
        pause = BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]
        failures += 1
        log.warning("listener failed: %s; restarting in %ss", message, pause,
                    extra={"listener_id": row.id, "workflow_id": row.workflow_id})
        await asyncio.to_thread(_write_status, row.id, "error", error=f"{message} (retrying in {pause}s)")
        await asyncio.sleep(pause)


class ListenerRunner:
    """The listeners this process runs, keyed by row id (a re-activation writes new rows)."""

    def __init__(self) -> None:
        self.tasks: dict[str, asyncio.Task] = {}

    async def reconcile(self) -> None:
        rows = await asyncio.to_thread(_wanted)
        wanted = {row.id: row for row in rows}
        for listener_id in [i for i in self.tasks if i not in wanted]:
            await self._cancel(listener_id)
        for listener_id, row in wanted.items():
            task = self.tasks.get(listener_id)
            if task is None or task.done():
                log.info("starting listener", extra={"listener_id": listener_id, "workflow_id": row.workflow_id})
                self.tasks[listener_id] = asyncio.create_task(run_listener(row), name=f"listener:{listener_id}")

    async def stop_all(self) -> None:
        for listener_id in list(self.tasks):
            await self._cancel(listener_id)

    async def _cancel(self, listener_id: str) -> None:
        task = self.tasks.pop(listener_id)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        log.info("stopped listener", extra={"listener_id": listener_id})


def _wanted() -> list[_Row]:
    with session_scope() as session:
        return [_Row(r.id, r.team_id, r.workflow_id, r.version_id, r.node_id)
                for r in service.active_listeners(session)]


async def listener_loop(stop: asyncio.Event, leader: Leadership | None = None) -> None:
    """Run the listeners of active workflows while this process holds the listener lock."""
    leader = leader or make_listener_leader()
    runner = ListenerRunner()
    leading = False
    try:
        while not stop.is_set():
            try:
                now_leading = await asyncio.to_thread(leader.is_leader)
                if now_leading != leading:
                    log.info("listener runner is now the leader" if now_leading
                             else "listener runner lost the leadership", extra={"pid": os.getpid()})
                    leading = now_leading
                if leading:
                    await runner.reconcile()
                else:
                    await runner.stop_all()
            except Exception:  # keep the loop alive; the next round retries
                log.exception("listener reconcile failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RECONCILE_S)
    finally:
        await runner.stop_all()
        await asyncio.to_thread(leader.release)
