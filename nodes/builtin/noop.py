from nodes.sdk import Node


class NoOp(Node):
    type = "noop"
    display_name = "No Operation"
    group = "flow"
    side_effects = False
    icon = "arrow-right"
    description = "Passes its items on unchanged. Handy as a junction or placeholder."

    async def execute(self, ctx, items):
        return items
