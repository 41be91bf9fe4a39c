"""Waiting, resuming and replaying committed steps: a committed node never runs twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from engine_testkit import CALLS, START, chain, items, jsons, node, workflow

from backend.engine import InMemoryStepStore, NullStepStore, StepRecord


def waiting_workflow(minutes: int | None = 5) -> dict:
    return workflow(node("S", "start"), node("Before", "tag", key="before", value=True),
                    node("Wait", "pause", minutes=minutes), node("After", "tag", key="after", value=True),
                    edges=chain("S", "Before", "Wait", "After"))


async def test_a_wait_parks_the_run_and_reports_when_to_resume(harness):
    store = InMemoryStepStore()
    result = await harness.run(waiting_workflow(), items({"n": 1}), store=store)
    assert result.status == "waiting"
    assert result.resume_at == START + timedelta(minutes=5) and not result.wait_on_webhook
    assert result.nodes["Wait"]["status"] == "waiting" and "After" not in result.nodes
    assert store.steps[("wait", 0)].status == "waiting"
    assert store.steps[("wait", 0)].wait == {"resume_at": START + timedelta(minutes=5), "on_webhook": False}


async def test_a_webhook_wait_has_no_resume_time(harness):
    result = await harness.run(waiting_workflow(None))
    assert result.status == "waiting" and result.resume_at is None and result.wait_on_webhook


async def test_resuming_replays_committed_steps_and_continues(harness):
    store = InMemoryStepStore()
    await harness.run(waiting_workflow(), items({"n": 1}), store=store)
    assert dict(CALLS) == {"S": 1, "Before": 1, "Wait": 1}

    result = await harness.run(waiting_workflow(), items({"n": 1}), store=store, resume_data={"approved": True})
    assert result.status == "succeeded"
    assert dict(CALLS) == {"S": 1, "Before": 1, "Wait": 1, "After": 1}  # nothing ran twice
    assert jsons(result.output) == [{"n": 1, "before": True, "resume": {"approved": True}, "after": True}]
    assert result.replayed_steps == 2 and result.steps == 2
    assert store.steps[("wait", 0)].status == "succeeded"


async def test_resuming_without_data_passes_the_items_through(harness):
    store = InMemoryStepStore()
    await harness.run(waiting_workflow(), items({"n": 1}), store=store)
    result = await harness.run(waiting_workflow(), items({"n": 1}), store=store)
    assert jsons(result.output) == [{"n": 1, "before": True, "after": True}]


async def test_replayed_outputs_are_used_even_when_a_node_would_now_answer_differently(harness):
    # The durability contract: a committed step's recorded output is what successors see.
    store = InMemoryStepStore()
    recorded = [{"json": {"from": "the store"}}]
    await store.save_step(StepRecord("before", "Before", 0, "succeeded", attempts=1, output={"main": recorded}))
    await store.save_step(StepRecord("s", "S", 0, "succeeded", attempts=1, output={"main": [{"json": {}}]}))
    result = await harness.run(waiting_workflow(), store=store)
    assert CALLS["Before"] == 0 and CALLS["S"] == 0
    assert jsons(result.nodes["Wait"]["outputs"].get("main", [])) == []  # waiting, no output yet
    second = await harness.run(waiting_workflow(), store=store)
    assert jsons(second.output) == [{"from": "the store", "after": True}]


async def test_a_failed_step_runs_again_on_the_next_attempt(harness):
    definition = workflow(node("S", "start"), node("F", "flaky", failures=1, kind="user"), node("After"),
                          edges=chain("S", "F", "After"))
    store = InMemoryStepStore()
    first = await harness.run(definition, store=store)
    assert first.status == "failed"
    second = await harness.run(definition, store=store)
    assert second.status == "succeeded"
    assert CALLS == {"S": 1, "F": 2, "After": 1}


async def test_a_wait_inside_a_loop_resumes_in_the_right_iteration(harness):
    definition = workflow(
        node("S", "start"), node("L", "loop", x=100, batch_size=1), node("Wait", "pause", x=200),
        node("Body", "tag", x=300, key="done", value=True), node("After", x=400),
        edges=["S -> L", "L:loop -> Wait", "Wait -> Body", "Body -> L", "L:done -> After"])
    store = InMemoryStepStore()
    input_items = items({"n": 1}, {"n": 2})
    statuses = []
    for _ in range(5):
        result = await harness.run(definition, input_items, store=store)
        statuses.append(result.status)
        if result.status != "waiting":
            break
    assert statuses == ["waiting", "waiting", "succeeded"]
    assert CALLS["Wait"] == 2 and CALLS["Body"] == 2 and CALLS["After"] == 1
    assert jsons(result.output) == [{"n": 1, "done": True}, {"n": 2, "done": True}]


async def test_every_step_is_committed_before_its_successor_starts(harness, monkeypatch):
    import engine_testkit

    store = InMemoryStepStore()
    committed_when_started: dict[str, list[str]] = {}
    original = engine_testkit._Counted.execute

    async def spying(self, ctx, items):
        committed_when_started[ctx.node_name] = [s.node_name for s in store.steps.values()]
        return await original(self, ctx, items)

    monkeypatch.setattr(engine_testkit._Counted, "execute", spying)
    await harness.run(workflow(node("S", "start"), node("A"), node("B"), edges=chain("S", "A", "B")), store=store)
    assert committed_when_started == {"S": [], "A": ["S"], "B": ["S", "A"]}


async def test_the_null_store_keeps_nothing(harness):
    store = NullStepStore()
    result = await harness.run(workflow(node("S", "start"), node("A"), edges=["S -> A"]), store=store)
    assert result.status == "succeeded" and await store.load_steps() == {}


class EffectsLog(InMemoryStepStore):
    """Logs saves and the engine's notice before a node with side effects runs."""

    def __init__(self, refuse: bool = False) -> None:
        super().__init__()
        self.log: list[str] = []
        self.refuse = refuse

    async def save_step(self, step):
        self.log.append(f"save {step.node_name}")
        await super().save_step(step)

    async def before_effects(self):
        self.log.append("before effects")
        if self.refuse:
            raise ConnectionError("the database is down")


async def test_the_store_hears_before_a_node_with_side_effects_runs_and_not_for_pure_nodes(harness):
    store = EffectsLog()
    await harness.run(waiting_workflow(), items({"n": 1}), store=store)
    assert store.log == ["save S", "save Before", "before effects", "save Wait"]  # pause declares side effects


async def test_a_node_with_side_effects_that_does_not_run_needs_no_record(harness):
    store = EffectsLog()
    definition = workflow(node("S", "start"), node("Wait", "pause", disabled=True), node("After"),
                          edges=chain("S", "Wait", "After"))
    await harness.run(definition, items({"n": 1}), store=store)
    assert "before effects" not in store.log


async def test_a_store_that_cannot_record_the_execution_stops_the_run_before_the_node_acts(harness):
    store = EffectsLog(refuse=True)
    with pytest.raises(ConnectionError):
        await harness.run(waiting_workflow(), items({"n": 1}), store=store)
    assert CALLS["Wait"] == 0 and "After" not in CALLS
