"""A node's output must be plain JSON: anything else fails the node where it was made, by name,
item and field, and a step the store refuses fails the run instead of leaving it to retry forever."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from engine_testkit import CALLS, EMITTED, Emit, Flaky, chain, items, node, workflow

from backend.engine import InMemoryStepStore
from backend.engine.store import StepNotStored
from backend.executions.sql_store import encode


def emitting(value, **settings) -> dict:
    EMITTED["E"] = value
    return workflow(node("S", "start"), node("E", "emit", settings=settings), node("After"),
                    edges=chain("S", "E", "After"))


def _circular() -> list:
    value: list = []
    value.append(value)
    return value


NOT_JSON = [
    ((-1) ** 0.5, "`value` in item 0 is a complex number ((6.123233995736766e-17+1j)), which is not JSON"),
    (float("nan"), "`value` in item 0 is NaN (not a number), which is not JSON"),
    (float("inf"), "`value` in item 0 is Infinity, which is not JSON"),
    ({"price": -float("inf")}, "`value.price` in item 0 is -Infinity, which is not JSON"),
    (b"\x00\x01", "`value` in item 0 is bytes (2 bytes), which is not JSON; decode it to text"),
    ({1, 2}, "`value` in item 0 is a set (2 elements), which is not JSON; make it a list"),
    (datetime(2026, 1, 2, tzinfo=UTC),
     "`value` in item 0 is a datetime (2026-01-02T00:00:00+00:00), which is not JSON; write it as text"),
    (object(), "`value` in item 0 is an object of type object, which is not JSON"),
    (["ok", "a\x00b"], "`value[1]` in item 0 contains a NUL character (\\u0000), which cannot be stored"),
    ("\udc00", '`value` in item 0 contains a lone surrogate ("\\udc00"), which is not valid Unicode'),
    ({(1, 2): "x"}, "`value` in item 0 has a key that is an object of type tuple; keys must be text"),
    (10**5000, "`value` in item 0 is an integer with 16,610 bits, too long to write as JSON text"),
    (_circular(), "`value[0]` in item 0 contains itself (a circular reference)"),
    (json.loads("[" * 240 + "]" * 240), "the json of item 0 is nested more than 240 levels deep"),
]


@pytest.mark.parametrize(("value", "message"), NOT_JSON, ids=[m[:40] for _, m in NOT_JSON])
async def test_a_value_that_is_not_json_fails_the_node_naming_item_and_field(harness, value, message):
    store = InMemoryStepStore()
    result = await harness.run(emitting(value), store=store)
    assert result.status == "failed"
    assert result.error["node"] == "E"
    assert message in result.error["message"], result.error["message"]
    assert "0x" not in result.error["message"] and "object at" not in result.error["message"]
    assert "After" not in result.nodes
    step = store.steps[("e", 0)]
    assert (step.status, step.output, step.error["retryable"]) == ("failed", {}, False)
    json.dumps(step.error, allow_nan=False).encode()  # the error itself can be stored


async def test_plain_json_of_every_kind_passes(harness):
    value = {"s": "é 😀 \\u0000 is text", "i": 10**100, "f": 1.5, "b": True, "n": None, "l": [1, [2, {}]],
             "t": (1, 2), 3: "int key", "deep": json.loads("[" * 238 + "]" * 238)}
    result = await harness.run(emitting(value))
    assert result.status == "succeeded", result.error
    assert result.output[0]["json"]["value"]["s"] == "é 😀 \\u0000 is text"


async def test_the_same_list_twice_is_not_a_circular_reference(harness):
    shared = [1, 2]
    result = await harness.run(emitting({"a": shared, "b": {"c": shared}}))
    assert result.status == "succeeded", result.error


async def test_the_output_port_is_named_when_a_node_has_several(harness):
    result = await harness.run(emitting(float("nan")))
    assert result.error["message"].endswith("(output 'main')")


async def test_on_error_continue_passes_the_input_on_with_the_reason(harness):
    result = await harness.run(emitting({1, 2}, on_error="continue"))
    assert result.status == "succeeded"
    assert CALLS["After"] == 1
    assert "is a set (2 elements), which is not JSON" in result.output[0]["json"]["error"]


class RefusingStore(InMemoryStepStore):
    """Refuses the data of one node, as a database refuses a value it cannot hold."""

    def __init__(self, node_id: str, refuse_input_too: bool = False) -> None:
        super().__init__()
        self.node_id, self.refuse_input_too = node_id, refuse_input_too

    async def save_step(self, step):
        if step.node_id == self.node_id and (step.output or (self.refuse_input_too and step.input)):
            raise StepNotStored("DataError: unsupported Unicode escape sequence")
        await super().save_step(step)


async def test_a_step_the_store_refuses_fails_the_run_with_the_reason(harness):
    store = RefusingStore("a")
    definition = workflow(node("S", "start"), node("A"), node("After"), edges=chain("S", "A", "After"))
    result = await harness.run(definition, items({"x": 1}), store=store)
    assert result.status == "failed"
    assert result.error == {"node": "A", "item_index": None, "message": "the step's data could not be stored: "
                            "DataError: unsupported Unicode escape sequence"}
    step = store.steps[("a", 0)]
    assert step.status == "failed" and step.input == {"main": items({"x": 1})}  # kept: what came in
    assert "After" not in result.nodes


async def test_when_even_the_input_is_refused_the_failed_step_is_stored_without_it(harness):
    store = RefusingStore("a", refuse_input_too=True)
    definition = workflow(node("S", "start"), node("A"), edges=chain("S", "A"))
    result = await harness.run(definition, items({"x": 1}), store=store)
    assert result.status == "failed" and store.steps[("a", 0)].input == {}


class StrictStore(InMemoryStepStore):
    """Encodes like the SQL store and refuses like it."""

    async def save_step(self, step):
        try:
            encode(step.output)
        except (TypeError, ValueError) as exc:
            raise StepNotStored(f"{type(exc).__name__}: {exc}") from exc
        await super().save_step(step)


async def test_a_node_that_changes_its_input_in_place_is_caught_by_the_store(harness):
    """A list a node passes on as it came is not checked again; the strict store still refuses it."""
    EMITTED["M"] = float("nan")
    definition = workflow(node("S", "start"), node("M", "mutate"), edges=chain("S", "M"))
    result = await harness.run(definition, items({"x": 1}), store=StrictStore())
    assert result.status == "failed"
    assert result.error["message"] == ("the step's data could not be stored: ValueError: Out of range float "
                                       "values are not JSON compliant")


async def test_a_recursion_error_is_not_retried_and_says_why(harness, monkeypatch):
    async def explode(self, ctx, items):
        raise RecursionError("maximum recursion depth exceeded while decoding a JSON array")

    monkeypatch.setattr(Emit, "work", explode)
    result = await harness.run(emitting(None, retry={"max_tries": 3, "wait_ms": 0}))
    assert result.status == "failed" and harness.sleep.waits == []
    assert result.error["message"].startswith("a value is nested too deeply to process")


async def test_an_error_message_quoting_unstorable_text_is_stored_escaped(harness, monkeypatch):
    async def fail(self, ctx, items):
        raise ValueError("bad byte \x00 and \udc80 in the answer")

    monkeypatch.setattr(Flaky, "work", fail)
    result = await harness.run(workflow(node("S", "start"), node("F", "flaky"), edges=chain("S", "F")))
    message = result.error["message"]
    assert message == "ValueError: bad byte \\u0000 and \\udc80 in the answer"
    message.encode("utf-8")  # storable as text on PostgreSQL
