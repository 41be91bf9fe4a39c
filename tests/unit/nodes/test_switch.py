import pytest
from pydantic import ValidationError

from nodes.builtin.switch import Switch, SwitchParameters
from nodes.sdk.testing import run_node

ITEMS = [{"json": {"n": n}} for n in (1, 50, 500)]


def rules_on_n(mode="first_match", fallback="none"):
    def params(i):
        n = ITEMS[i]["json"]["n"]
        return {"mode": mode, "fallback": fallback, "rules": [
            {"output": "small", "left": n, "operation": "lt", "right": 10},
            {"output": "medium", "left": n, "operation": "lt", "right": 100},
        ]}
    return params


async def test_first_match_routes_each_item_once():
    out = await run_node(Switch, ITEMS, params=rules_on_n())
    assert out == {"small": [ITEMS[0]], "medium": [ITEMS[1]]}


async def test_all_matches_sends_to_every_matching_output():
    out = await run_node(Switch, ITEMS, params=rules_on_n(mode="all_matches"))
    assert out == {"small": [ITEMS[0]], "medium": [ITEMS[0], ITEMS[1]]}


async def test_fallback_output_gets_unmatched_items():
    out = await run_node(Switch, ITEMS, params=rules_on_n(fallback="extra"))
    assert out["fallback"] == [ITEMS[2]]


def test_output_ports_follow_the_rules():
    params = {"rules": [{"output": "a"}, {"output": "b"}, {"output": "a"}], "fallback": "extra"}
    assert Switch.output_ports(params) == ("a", "b", "fallback")


@pytest.mark.parametrize("parameters", [{}, {"rules": None}, {"rules": "junk"}, {"rules": [{"output": "Bad Name"}]}])
def test_output_ports_without_usable_rules_are_empty(parameters):
    assert Switch.output_ports(parameters) == ()


def test_rule_output_must_be_a_port_name():
    with pytest.raises(ValidationError, match="lower_snake_case"):
        SwitchParameters(rules=[{"output": "Paid Orders"}])
    with pytest.raises(ValidationError, match="not 'error'"):
        SwitchParameters(rules=[{"output": "error"}])


def test_fallback_name_clash_is_refused():
    with pytest.raises(ValidationError, match="rename it"):
        SwitchParameters(rules=[{"output": "fallback"}], fallback="extra")
