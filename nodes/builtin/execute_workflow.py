"""The Execute Workflow node: runs another workflow as a sub-workflow."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from nodes.sdk import Node, NodeParameters


class ExecuteWorkflowParameters(NodeParameters):
    workflow_id: str = Field(min_length=1, description="Id of the workflow to run")
    mode: Literal["once_for_all", "once_per_item"] = Field(
        "once_for_all",
        description="once_for_all: one run that gets all items; once_per_item: one run per item",
    )


class ExecuteWorkflow(Node):
    """Outputs what the sub-workflow's last node outputs (per item runs: concatenated in order)."""

    type = "execute_workflow"
    display_name = "Execute Workflow"
    group = "flow"
    side_effects = True
    icon = "workflow"
    description = "Runs another workflow with these items and continues with its output."
    Parameters = ExecuteWorkflowParameters

    async def execute(self, ctx, items):
        params = ctx.params(0)
        if params.mode == "once_for_all":
            return await ctx.run_workflow(params.workflow_id, items)
        out = []
        for index, item in enumerate(items):
            out += await ctx.run_workflow(ctx.params(index).workflow_id, [item])
        return out
