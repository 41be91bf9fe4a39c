"""How deep JSON may nest and which values may be stored, decided in backend/json_limits.py."""

from __future__ import annotations

import json

import pytest

from backend.json_limits import MAX_JSON_DEPTH, TooDeep, depth_over, loads, value_problem


def arrays(depth: int) -> str:
    return "[" * depth + "]" * depth


def objects(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def mixed(depth: int) -> str:
    return '{"a":[' * (depth // 2) + "]}" * (depth // 2)


@pytest.mark.parametrize("make", [arrays, objects, mixed])
@pytest.mark.parametrize("depth", [2, 198, 200, 202, 5_000, 100_000])
def test_the_depth_is_measured_exactly_past_the_limit(make, depth):
    found = depth_over(make(depth), 200)
    assert found == (depth if depth > 200 else None)
    assert depth_over(make(depth).encode(), 200) == found


def test_brackets_inside_strings_do_not_count():
    text = json.dumps([{"text": "[[[{{{" * 100, "quote": 'a \\" [[[ "', "slash": "\\\\[[["}] * 50)
    assert depth_over(text, 3) is None
    assert depth_over(json.dumps({"a": {"b": {"c": {"d": "[[[["}}}}), 3) == 4
    adjacent = json.dumps([["x[", "]", {"k": "}{", "": ""}, "[" * 50]] * 20)  # depth 3: list, list, object
    assert (depth_over(adjacent, 3), depth_over(adjacent, 2)) == (None, 3)
    assert depth_over(json.dumps([[["x[", "]]]", [{"k": '"[['}]]]]), 3) == 5


def test_many_shallow_items_are_not_deep():
    assert depth_over(json.dumps([{"json": {"a": [1, 2], "b": {"c": 1}}}] * 10_000), 200) is None


def test_loads_refuses_too_deep_with_the_depth_and_the_limit():
    with pytest.raises(TooDeep) as info:
        loads("[" + objects(5_000) + "]", what="the JSON body")
    assert str(info.value) == "the JSON body is nested 5,001 levels deep; at most 200 levels are accepted"
    assert loads(arrays(MAX_JSON_DEPTH)) == json.loads(arrays(MAX_JSON_DEPTH))


@pytest.mark.parametrize("text", ["NaN", "[1, Infinity]", '{"a": -Infinity}'])
def test_loads_refuses_nan_and_infinity(text):
    with pytest.raises(ValueError, match="is not valid JSON .JSON has no NaN or Infinity"):
        loads(text)


def test_value_problem_names_the_path():
    assert value_problem({"lines": [{"sku": "a"}, {"sku": float("nan")}]}) == (
        "lines[1].sku", "is NaN (not a number), which is not JSON; check for it, e.g. x if x == x else None")
    assert value_problem({"odd key": {"x": {1, 2}}})[0] == '["odd key"].x'
    assert value_problem({"plain": [1, "two", None, True, 3.5, {"k": []}]}) is None


def _true_depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_true_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_true_depth, value), default=0)
    return 0


TRICKY = ['a\\', '\\"[', '"]}{"', "\\\\[", "é[😀", "", "]]]", '\\\\"', "\\u0000 [ {"]


@pytest.mark.parametrize("slice_size", [1, 2, 3, 7, 1 << 20])
def test_big_documents_are_measured_a_slice_at_a_time_with_the_same_result(monkeypatch, slice_size):
    import backend.json_limits as json_limits

    monkeypatch.setattr(json_limits, "_SLICE", slice_size)
    documents = [[TRICKY, {"k": TRICKY, "n": [[["x"]]]}], {s: [s, {s: [[s]]}] for s in TRICKY},
                 [[[[[[[[s]]]]]]] for s in TRICKY], json.loads(arrays(30))]
    for document in documents:
        for text in (json.dumps(document), json.dumps(document, ensure_ascii=False)):
            for limit in range(0, 12):
                expected = _true_depth(document)
                assert depth_over(text, limit) == (expected if expected > limit else None), (text, limit)
