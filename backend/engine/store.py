"""Where the runner commits each step: the durability port of the engine.

The runner saves a step before any successor starts and, when it runs a definition
again with the same store, reuses committed steps instead of running their nodes a
second time. The SQL implementation lives with the executions service; the two
here serve tests, scripts and ``save_data: none`` runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

StepStatus = Literal["succeeded", "failed", "skipped", "waiting", "disabled"]

# Steps a later run may reuse as they are. A node that failed with on_error=continue or
# error_output is recorded as "succeeded" (with its error), so it is reused too.
REUSABLE_STATUSES = frozenset({"succeeded", "skipped", "disabled"})


@dataclass(slots=True)
class StepRecord:
    """One run of one node. ``run_index`` counts the runs of that node in the execution."""

    node_id: str
    node_name: str
    run_index: int
    status: StepStatus
    attempts: int = 0
    input: dict[str, list[dict]] = field(default_factory=dict)  # items per input port
    output: dict[str, list[dict]] = field(default_factory=dict)  # items per output port
    error: dict | None = None  # {"message", "type", "item_index", "retryable"}
    started_at: datetime | None = None  # aware UTC
    finished_at: datetime | None = None  # aware UTC
    wait: dict | None = None  # a waiting step: {"resume_at": datetime | None, "on_webhook": bool}
    # The JSON text of output ports, made when the engine checked them: a store may use it instead of
    # encoding the same items again. The runner drops it once the step is saved.
    encoded_output: dict[str, str] | None = None

    @property
    def key(self) -> tuple[str, int]:
        return (self.node_id, self.run_index)


class StepNotStored(Exception):  # noqa: N818 - a refusal, not a failure of the store
    """The store refused this step's data, while the store itself works (a database that is down
    raises its own error instead): the runner records the step as failed with this reason."""


class StepStore(Protocol):
    async def load_steps(self) -> dict[tuple[str, int], StepRecord]:
        """Every committed step of this execution, by (node_id, run_index)."""

    async def save_step(self, step: StepRecord) -> None:
        """Commit a step; a step with the same (node_id, run_index) replaces the earlier one.

        Raises ``StepNotStored`` if the step's data cannot be stored."""

    async def before_effects(self) -> None:
        """Called before a node with ``side_effects`` runs (each time; it is cheap when done).

        A store that keeps an execution in memory records it durably here, so nothing acts
        outside LinkFlow for an execution that a crash would leave without a trace; raising
        stops the run before the node runs. Stores that commit every step have nothing to do."""


class InMemoryStepStore:
    """Keeps steps in a dict: tests, ``linkflow run`` scripts, and resuming within a process."""

    def __init__(self) -> None:
        self.steps: dict[tuple[str, int], StepRecord] = {}
        self.saves = 0

    async def load_steps(self) -> dict[tuple[str, int], StepRecord]:
        return dict(self.steps)

    async def save_step(self, step: StepRecord) -> None:
        self.steps[step.key] = step
        self.saves += 1

    async def before_effects(self) -> None:
        return None


class NullStepStore:
    """Saves nothing: for ``save_data: none`` and benchmarks. Such a run cannot resume."""

    async def load_steps(self) -> dict[tuple[str, int], StepRecord]:
        return {}

    async def save_step(self, step: StepRecord) -> None:
        return None

    async def before_effects(self) -> None:
        return None
