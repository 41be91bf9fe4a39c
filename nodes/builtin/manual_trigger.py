from nodes.sdk import Node, TriggerSpec


class ManualTrigger(Node):
    type = "manual_trigger"
    display_name = "Manual Trigger"
    group = "trigger"
    side_effects = False
    icon = "mouse-pointer-click"
    description = "Starts the workflow when someone presses Run (or calls the run API)."
    inputs = ()
    trigger = TriggerSpec(kind="manual")

    async def execute(self, ctx, items):
        # The engine hands a trigger the execution's input items (an empty item if none).
        return items or [{"json": {}}]
