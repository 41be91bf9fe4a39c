"""The ``Node`` base class. Declarations are checked when the class is defined."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from nodes.sdk.show_if import show_if_problems

Item = dict[str, Any]  # {"json": {...}, "binary": {name: ref}}
Output = dict[str, list[Item]] | list[Item]  # per output port, or a list for the first port

GROUPS = ("trigger", "flow", "data", "integration", "core")
_TYPE_NAME = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
_PORT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_ALLOWED_ATTRS = {
    "type", "version", "display_name", "group", "icon", "description", "inputs", "outputs",
    "Parameters", "credential_slots", "trigger", "execute", "output_ports", "dynamic_outputs", "side_effects",
    "batchable", "accepts_streams", "produce",
    "vendor", "secret_header",  # vendor webhook triggers (nodes/sdk/vendor_webhook.py)
}


class NodeParameters(BaseModel):
    """Base of every node's parameter model; unknown parameters are an error.

    A parameter that holds a secret is declared write-only; viewers of the workflow and
    execution records then see it masked, while the node still gets its value::

        password: str = Field("", description="...", json_schema_extra={"writeOnly": True})
    """

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def secret_names(cls) -> tuple[str, ...]:
        """The parameters declared write-only (``json_schema_extra={"writeOnly": True}``), in order."""
        return tuple(name for name, info in cls.model_fields.items()
                     if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("writeOnly"))


@dataclass(frozen=True)
class TriggerSpec:
    """How a trigger node starts a workflow.

    ``listener``: while the workflow is active, the platform runs the node's ``async def listen(self, ctx)``
    (one at a time across replicas, see backend/listeners); it calls ``await ctx.emit(items)`` once per
    message, which returns once the execution is durably queued (see ``nodes.sdk.listener``).
    """

    kind: Literal["manual", "webhook", "schedule", "listener", "vendor_webhook"]


class Node:
    """Base class of node types. Subclass it, set the class attributes, write ``execute``."""

    type: ClassVar[str]
    version: ClassVar[int] = 1
    display_name: ClassVar[str]
    group: ClassVar[str] = "core"
    icon: ClassVar[str] = "box"
    description: ClassVar[str] = ""
    inputs: ClassVar[tuple[str, ...]] = ("main",)
    outputs: ClassVar[tuple[str, ...]] = ("main",)
    # Outputs named by parameters (switch rules): output_ports(params) says which exist.
    dynamic_outputs: ClassVar[bool] = False
    Parameters: ClassVar[type[NodeParameters]] = NodeParameters
    credential_slots: ClassVar[dict[str, tuple[str, ...]]] = {}  # slot -> accepted credential types
    trigger: ClassVar[TriggerSpec | None] = None
    # Declared by every node type, no default: True if running it acts outside LinkFlow (calls a server,
    # sends mail, runs user code, starts a sub-workflow, parks the execution); False if it only computes
    # new items from the ones it is given. An execution is recorded durably before its first node with
    # effects runs; runs of pure nodes only may stay in memory until they end (backend/webhooks/runs.py).
    side_effects: ClassVar[bool]
    # Large inputs (backend/engine/items.py). batchable: execute may be called once per batch of the input
    # items (each item's output depends on that item alone; $input holds the batch). accepts_streams:
    # execute may receive an ItemStream (iterable, len, .batches()) instead of a list. A node may also
    # define ``async def produce(self, ctx, items)``, an async generator yielding its output in batches
    # (a list, or {port: [items]}); the engine then calls it instead of execute.
    batchable: ClassVar[bool] = False
    accepts_streams: ClassVar[bool] = False
    produce: ClassVar[Any] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("abstract", False):
            return
        _check_declaration(cls)

    @classmethod
    def output_ports(cls, parameters: dict) -> tuple[str, ...]:
        """Ports this node instance has; override when ``dynamic_outputs`` is set."""
        return cls.outputs

    async def execute(self, ctx, items: list[Item]) -> Output:
        """Run once for all items arriving on the first input (multi-input nodes read ``ctx.inputs``).

        Return a list of items (for the first output) or ``{port: [items]}``. Never change
        the items you are given, or anything inside them: the engine hands the same objects
        to every successor and to the step record without copying. Build new items instead::

            return [{**item, "json": {**item["json"], "seen": True}} for item in items]
        """
        raise NotImplementedError  # pragma: no cover - _check_declaration rejects classes without it

    @classmethod
    def describe(cls) -> dict:
        """The catalog entry the editor renders a palette item and a form from."""
        return {
            "type": cls.type,
            "version": cls.version,
            "display_name": cls.display_name,
            "group": cls.group,
            "icon": cls.icon,
            "description": cls.description,
            "inputs": list(cls.inputs),
            "outputs": list(cls.outputs),
            "dynamic_outputs": cls.dynamic_outputs,
            "parameters_schema": cls.Parameters.model_json_schema(),
            "credential_slots": {k: list(v) for k, v in cls.credential_slots.items()},
            "trigger": cls.trigger.kind if cls.trigger else None,
            "side_effects": cls.side_effects,
        }


def _check_declaration(cls: type[Node]) -> None:
    where = f"{cls.__module__}.{cls.__qualname__}"

    def fail(problem: str) -> None:
        raise TypeError(f"node class {where}: {problem}")

    unknown = {k for k in cls.__dict__ if not k.startswith("_") and k not in _ALLOWED_ATTRS
               and not callable(cls.__dict__[k]) and not isinstance(cls.__dict__[k], classmethod)}
    if unknown:
        fail(f"unknown attribute(s) {sorted(unknown)}; allowed: {sorted(_ALLOWED_ATTRS)}")
    if not isinstance(getattr(cls, "type", None), str) or not _TYPE_NAME.match(cls.type):
        fail("set `type` to a lower_snake_case name such as 'http_request'")
    if not isinstance(cls.version, int) or cls.version < 1:
        fail("`version` must be an integer >= 1")
    if not isinstance(getattr(cls, "display_name", None), str) or not cls.display_name:
        fail("set `display_name` to the name shown in the editor")
    if cls.group not in GROUPS:
        fail(f"`group` is {cls.group!r}; use one of {GROUPS}")
    if not isinstance(getattr(cls, "side_effects", None), bool):
        fail("declare `side_effects = True` if running the node acts outside LinkFlow (calls a server, sends "
             "mail, runs code, starts a sub-workflow), or `side_effects = False` if it only computes items "
             "from the items it is given")
    _check_ports(cls, fail)
    if not (isinstance(cls.Parameters, type) and issubclass(cls.Parameters, NodeParameters)):
        fail("`Parameters` must subclass nodes.sdk.NodeParameters")
    problems = show_if_problems(cls.Parameters.model_json_schema())
    if problems:
        fail("; ".join(problems))
    if cls.execute is Node.execute or not inspect.iscoroutinefunction(cls.execute):
        fail("define `async def execute(self, ctx, items)`")


def _check_ports(cls: type[Node], fail) -> None:
    trigger = cls.trigger is not None
    if trigger and cls.inputs:
        fail("a trigger node has no inputs: set `inputs = ()`")
    if not trigger and not cls.inputs:
        fail("a node without inputs must declare `trigger = TriggerSpec(...)`")
    for port in (*cls.inputs, *cls.outputs):
        if not _PORT_NAME.match(port):
            fail(f"port name {port!r} must be lower_snake_case")
    if len(set(cls.outputs)) != len(cls.outputs) or len(set(cls.inputs)) != len(cls.inputs):
        fail("port names must be unique")
    if "error" in cls.outputs:
        fail("'error' is reserved for the error output the engine adds (on_error=error_output)")
