import pytest
from pydantic import ValidationError

from nodes.builtin.merge import Merge, MergeParameters
from nodes.sdk.testing import run_node

USERS = [{"json": {"id": 1, "name": "Ada"}}, {"json": {"id": 2, "name": "Bob"}}, {"json": {"id": 3, "name": "Cy"}}]
ORDERS = [{"json": {"user_id": 1, "total": 10}}, {"json": {"user_id": 1, "total": 20}},
          {"json": {"user_id": 4, "total": 99}}]


async def merge(params, first, second):
    return (await run_node(Merge, params=params, inputs={"input1": first, "input2": second}))["main"]


@pytest.mark.parametrize("mode", ["append", "wait_all"])
async def test_append_and_wait_all_output_input1_then_input2(mode):
    assert await merge({"mode": mode}, USERS[:1], ORDERS[:1]) == [USERS[0], ORDERS[0]]


async def test_one_empty_input():
    assert await merge({}, [], ORDERS) == ORDERS


def keyed(join):
    return {"mode": "combine_by_key", "key1": "id", "key2": "user_id", "join": join}


async def test_inner_join_matches_every_pair():
    out = await merge(keyed("inner"), USERS, ORDERS)
    assert [i["json"] for i in out] == [{"id": 1, "name": "Ada", "user_id": 1, "total": 10},
                                        {"id": 1, "name": "Ada", "user_id": 1, "total": 20}]


async def test_left_join_keeps_every_input1_item():
    out = await merge(keyed("left"), USERS, ORDERS)
    assert [i["json"].get("total") for i in out] == [10, 20, None, None]


async def test_outer_join_keeps_unmatched_items_of_both():
    out = await merge(keyed("outer"), USERS, ORDERS)
    assert out[-1] == {"json": {"user_id": 4, "total": 99}}
    assert len(out) == 5


async def test_keys_compare_as_json_values():
    out = await merge(keyed("inner"), [{"json": {"id": "1"}}], ORDERS)
    assert out == []


async def test_combine_by_position_with_and_without_unpaired():
    first = [{"json": {"a": 1}}, {"json": {"a": 2}}]
    second = [{"json": {"b": 1}, "binary": {"f": {"id": "x"}}}]
    assert await merge({"mode": "combine_by_position"}, first, second) == [
        {"json": {"a": 1, "b": 1}, "binary": {"f": {"id": "x"}}}]
    out = await merge({"mode": "combine_by_position", "include_unpaired": True}, first, second)
    assert out[1] == {"json": {"a": 2}}


def test_combine_by_key_needs_both_keys():
    with pytest.raises(ValidationError, match="needs key1 and key2"):
        MergeParameters(mode="combine_by_key", key1="id")
