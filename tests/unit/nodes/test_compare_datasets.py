from nodes.builtin.compare_datasets import CompareDatasets
from nodes.sdk.testing import FakeContext, run_context


async def compare(a, b, **params):
    ctx = FakeContext(CompareDatasets, {"key_a": "id", **params},
                      inputs={"a": [{"json": j} for j in a], "b": [{"json": j} for j in b]})
    out = await run_context(CompareDatasets, ctx)
    return {port: [item["json"] for item in items] for port, items in out.items()}


async def test_four_outputs():
    out = await compare(
        [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Bob", "tags": {"x": 1, "y": 2}}, {"id": 3, "name": "Cy"}],
        [{"id": 2, "name": "Bob", "tags": {"y": 2, "x": 1}}, {"id": 3, "name": "Cyd"}, {"id": 4, "name": "Dee"}])
    assert out["in_a_only"] == [{"id": 1, "name": "Ada"}]
    assert out["same"] == [{"id": 2, "name": "Bob", "tags": {"x": 1, "y": 2}}]  # key order inside does not count
    assert out["different"] == [{"key": 3, "different": {"name": {"a": "Cy", "b": "Cyd"}},
                                 "a": {"id": 3, "name": "Cy"}, "b": {"id": 3, "name": "Cyd"}}]
    assert out["in_b_only"] == [{"id": 4, "name": "Dee"}]


async def test_other_key_names_skipped_fields_and_missing_fields():
    out = await compare([{"id": "7", "qty": 1, "seen": "mon"}], [{"sku": "7", "qty": 1, "seen": "tue", "new": 0}],
                        key_b="sku", skip_fields="seen")
    assert out["different"][0]["different"] == {"new": {"a": None, "b": 0}}
    assert (await compare([{"id": 1, "v": 1}], [{"id": 1, "v": "1"}]))["different"][0]["different"] == {
        "v": {"a": 1, "b": "1"}}


async def test_repeated_keys_pair_in_order_and_items_without_the_key_are_unpaired():
    out = await compare([{"id": 1, "n": 1}, {"id": 1, "n": 2}, {"n": 0}], [{"id": 1, "n": 1}, {"x": 9}])
    assert out["same"] == [{"id": 1, "n": 1}]
    assert out["in_a_only"] == [{"id": 1, "n": 2}, {"n": 0}]
    assert out["in_b_only"] == [{"x": 9}]


async def test_empty_inputs():
    assert await compare([], []) == {"in_a_only": [], "same": [], "different": [], "in_b_only": []}
