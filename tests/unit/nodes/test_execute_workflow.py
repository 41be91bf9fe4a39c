import pytest

from nodes.builtin.execute_workflow import ExecuteWorkflow
from nodes.sdk import NodeUserError
from nodes.sdk.testing import FakeContext, run_context

ITEMS = [{"json": {"n": 1}}, {"json": {"n": 2}}]


def doubler(items):
    return [{"json": {"n": i["json"]["n"] * 2}} for i in items]


async def test_once_for_all_runs_the_workflow_once_with_every_item():
    ctx = FakeContext(ExecuteWorkflow, {"workflow_id": "wf"}, workflows={"wf": doubler})
    out = await run_context(ExecuteWorkflow, ctx, ITEMS)
    assert out["main"] == [{"json": {"n": 2}}, {"json": {"n": 4}}]
    assert ctx.workflow_calls == [("wf", ITEMS)]


async def test_once_per_item_runs_once_per_item_in_order():
    ctx = FakeContext(ExecuteWorkflow, {"workflow_id": "wf", "mode": "once_per_item"}, workflows={"wf": doubler})
    out = await run_context(ExecuteWorkflow, ctx, ITEMS)
    assert out["main"] == [{"json": {"n": 2}}, {"json": {"n": 4}}]
    assert [call[1] for call in ctx.workflow_calls] == [ITEMS[:1], ITEMS[1:]]


async def test_errors_from_the_sub_workflow_propagate():
    ctx = FakeContext(ExecuteWorkflow, {"workflow_id": "missing"})
    with pytest.raises(NodeUserError, match="does not exist"):
        await run_context(ExecuteWorkflow, ctx, ITEMS)


async def test_workflow_id_is_required():
    with pytest.raises(NodeUserError, match="workflow_id"):
        await run_context(ExecuteWorkflow, FakeContext(ExecuteWorkflow, {}), ITEMS)
