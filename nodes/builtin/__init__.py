"""Built-in node types. NODE_TYPES is what the ``linkflow.nodes`` entry point exposes."""

from nodes.builtin.manual_trigger import ManualTrigger
from nodes.builtin.noop import NoOp

NODE_TYPES = [ManualTrigger, NoOp]
