"""The Stop and Error node: fails the execution with a message."""

from __future__ import annotations

from pydantic import Field

from nodes.sdk import Node, NodeParameters, NodeUserError


class StopAndErrorParameters(NodeParameters):
    message: str = Field(
        "Workflow stopped by a Stop and Error node",
        min_length=1,
        description="The error message; expressions work: 'order {{ $json.id }} has no customer'",
    )


class StopAndError(Node):
    type = "stop_and_error"
    display_name = "Stop and Error"
    group = "flow"
    side_effects = False
    icon = "octagon-x"
    description = "Fails the execution with your message (the error workflow, if any, then runs)."
    Parameters = StopAndErrorParameters

    async def execute(self, ctx, items):
        raise NodeUserError(ctx.params(0).message, item_index=0 if items else None)
