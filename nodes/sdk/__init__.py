"""The node SDK: everything a node type needs, and nothing from the platform behind it.

A node type is one class::

    from pydantic import Field
    from nodes.sdk import Node, NodeParameters, Item

    class Greet(Node):
        type = "greet"
        version = 1
        display_name = "Greet"
        group = "data"
        side_effects = False  # True if it calls a server, sends mail, runs code...
        description = "Adds a greeting to every item."

        class Parameters(NodeParameters):
            name: str = Field(description="Who to greet")

        async def execute(self, ctx, items):
            return [
                {"json": {**item["json"], "greeting": f"hello {ctx.params(i).name}"}}
                for i, item in enumerate(items)
            ]

Register it under the ``linkflow.nodes`` entry-point group (a list of classes).
"""

from nodes.sdk.context import NodeContext, ResponseSpec, WaitRequested
from nodes.sdk.errors import NodeError, NodeTransientError, NodeUserError
from nodes.sdk.listener import ListenerContext
from nodes.sdk.node import Item, Node, NodeParameters, Output, TriggerSpec
from nodes.sdk.registry import NodeRegistry, default_registry
from nodes.sdk.sandbox import CodeRun, CodeSandbox
from nodes.sdk.show_if import show_if

__all__ = [
    "CodeRun",
    "CodeSandbox",
    "Item",
    "ListenerContext",
    "Node",
    "NodeContext",
    "NodeError",
    "NodeParameters",
    "NodeRegistry",
    "NodeTransientError",
    "NodeUserError",
    "Output",
    "ResponseSpec",
    "TriggerSpec",
    "show_if",
    "WaitRequested",
    "default_registry",
]
