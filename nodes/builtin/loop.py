"""The Loop node: runs the nodes on its ``loop`` output once per batch of items."""

from __future__ import annotations

from pydantic import Field

from nodes.sdk import Node, NodeParameters


class LoopParameters(NodeParameters):
    batch_size: int = Field(1, ge=1, description="How many items go through the loop branch at a time")


class Loop(Node):
    """Loop over items in batches. The engine, not this class, implements the looping.

    The engine splits the incoming items into batches of ``batch_size`` and calls
    ``execute`` with one batch at a time; whatever the branch connected to ``loop``
    sends back into this node's input starts the next round. When the batches are
    used up the engine emits everything collected from the rounds on ``done``. A single
    call therefore only hands its items to ``loop``.
    """

    type = "loop"
    display_name = "Loop Over Items"
    group = "flow"
    side_effects = False
    icon = "repeat"
    description = "Runs the 'loop' branch once per batch of items, then continues on 'done'."
    outputs = ("loop", "done")
    Parameters = LoopParameters

    async def execute(self, ctx, items):
        return {"loop": list(items), "done": []}
