"""show_if declarations are checked when a node class is defined, and fail naming what to fix."""

from typing import Literal

import pytest
from pydantic import BaseModel, Field

from nodes.sdk import Node, NodeParameters, TriggerSpec, show_if
from nodes.sdk.show_if import show_if_problems


def _node(parameters: type[NodeParameters]) -> type[Node]:
    return type("Probe", (Node,), {
        "type": "probe", "display_name": "Probe", "group": "core", "side_effects": False, "inputs": (),
        "trigger": TriggerSpec(kind="manual"), "Parameters": parameters, "execute": _execute, "__module__": __name__})


async def _execute(self, ctx, items):
    return items


def test_a_condition_on_an_enum_or_a_boolean_is_accepted():
    class Fine(NodeParameters):
        mode: Literal["a", "b"] = "a"
        on: bool = False
        only_b: str = Field("", json_schema_extra=show_if(mode=["b"]))
        b_and_on: str = Field("", json_schema_extra=show_if(mode=["b"], on=[True]))

    assert _node(Fine).Parameters is Fine
    assert Fine.model_json_schema()["properties"]["b_and_on"]["show_if"] == {"mode": ["b"], "on": [True]}


@pytest.mark.parametrize(("condition", "message"), [
    ({"mood": ["b"]}, "show_if names 'mood', which is not another field here (fields: mode, on)"),
    ({"mode": ["c"]}, "show_if 'mode' lists ['c'], which 'mode' cannot be (it is one of ['a', 'b'])"),
    ({"on": ["yes"]}, "show_if 'on' lists ['yes'], which 'on' cannot be"),
    ({"mode": []}, "show_if 'mode' needs a non-empty list of values"),
    ({"field": ["x"]}, "show_if names 'field', which is not another field here"),
])
def test_a_wrong_condition_fails_when_the_node_is_defined(condition, message):
    class Wrong(NodeParameters):
        mode: Literal["a", "b"] = "a"
        on: bool = False
        field: str = Field("", json_schema_extra={"show_if": condition})

    with pytest.raises(TypeError, match="node class .*Probe: field: " + _escaped(message)):
        _node(Wrong)


def test_conditions_inside_a_collection_item_name_the_items_own_fields():
    class Row(BaseModel):
        kind: Literal["text", "attribute"] = "text"
        attribute: str = Field("", json_schema_extra=show_if(kind=["attribute"]))
        stray: str = Field("", json_schema_extra=show_if(mode=["a"]))  # mode is the node's, not the row's

    class WithRows(NodeParameters):
        mode: Literal["a", "b"] = "a"
        rows: list[Row] = []

    assert show_if_problems(WithRows.model_json_schema()) == [
        "Row.stray: show_if names 'mode', which is not another field here (fields: kind, attribute)"]


def test_show_if_needs_a_condition():
    with pytest.raises(TypeError, match="needs at least one condition"):
        show_if()


def _escaped(text: str) -> str:
    import re

    return re.escape(text)
