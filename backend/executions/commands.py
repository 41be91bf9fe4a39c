"""execution.commands acted on by the process that holds the execution.

The API changes the database first (cancel: the row is `cancelled`; resume: the wait is due now), then
writes the command to the outbox; the relay publishes it. Every process that runs executions reads every
command (on Kafka each such process is its own consumer group, `executor-commands.<host>-<pid>`, starting
at the end of the topic) and acts only on those of executions it holds:

* cancel: a run in progress here is stopped at its current await (the lease keeper's task cancel);
  a wait whose wake-up this process scheduled is dropped.
* resume: a wait whose wake-up this process scheduled fires now.
* retry: nothing to hold (the execution has finished); the API queued the new execution already.

Idempotent by `command_id` (else the outbox `event_id`): a command delivered twice is acted on once.
Without a command consumer (a worker on the in-process bus) the database path still works as before: the
lease keeper sees a cancelled row at its next renewal, and the maintenance loop's look-ahead finds a
wait made due.
"""

from __future__ import annotations

import logging
import os
import socket
from collections import OrderedDict

from backend.events.bus import Event
from backend.events.consumers import Consumer
from backend.executions.leases import keeper
from backend.executions.timers import wake_ups

log = logging.getLogger("linkflow.executions.commands")
TOPIC = "execution.commands"
EMBEDDED_GROUP = "executor-commands"
REMEMBERED = 10_000  # command ids kept for the duplicate check (a redelivery comes within a batch or two)


def process_group() -> str:
    """This process's own consumer group: every process that runs executions must see every command."""
    return f"{EMBEDDED_GROUP}.{socket.gethostname()}-{os.getpid()}"


class CommandHandler:
    def __init__(self) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.acted: list[tuple[str, str, str]] = []  # (command, execution id, what was done): the last few

    async def __call__(self, event: Event) -> None:
        payload = event.payload
        command_id = str(payload.get("command_id") or f"event-{event.event_id}")
        if command_id in self._seen:
            return
        self._seen[command_id] = None
        if len(self._seen) > REMEMBERED:
            self._seen.popitem(last=False)
        done = act(payload["command"], payload["execution_id"])
        if done:
            log.info("execution command acted on", extra={"command": payload["command"], "command_id": command_id,
                                                          "execution_id": payload["execution_id"], "done": done})
            self.acted = [*self.acted[-99:], (payload["command"], payload["execution_id"], done)]


def act(command: str, execution_id: str) -> str | None:
    """What this process did about the command; None when it does not hold the execution."""
    if command == "cancel":
        if keeper.stop(execution_id):
            return "run stopped"
        if wake_ups().drop(execution_id):
            return "wait dropped"
    elif command == "resume" and wake_ups().fire_now(execution_id):
        return "wait ended"
    return None


def command_consumer(group: str) -> Consumer:
    return Consumer(group, (TOPIC,), CommandHandler(), start_at_end=True)
