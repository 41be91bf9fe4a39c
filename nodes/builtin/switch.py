"""The Switch node: routes items to outputs named by its rules."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from nodes.builtin._conditions import Condition, ConditionError, holds
from nodes.sdk import Node, NodeParameters, NodeUserError

_PORT = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
FALLBACK = "fallback"


class Rule(Condition):
    """A condition plus the output an item goes to when it holds."""

    output: str = Field(description="Output port name, lower_snake_case, e.g. 'paid' (rules may share one)")

    @field_validator("output")
    @classmethod
    def _port_name(cls, value: str) -> str:
        if not _PORT.match(value) or value == "error":
            raise ValueError(
                f"output {value!r} must be lower_snake_case (a-z, 0-9, _; starting with a letter; "
                "at most 32 characters) and not 'error'"
            )
        return value


class SwitchParameters(NodeParameters):
    rules: list[Rule] = Field(default_factory=list, description="Checked in order for every item")
    mode: Literal["first_match", "all_matches"] = Field(
        "first_match", description="Send an item to the first matching rule's output, or to every match"
    )
    fallback: Literal["none", "extra"] = Field(
        "none", description="Items no rule matches: drop them, or send them to an extra 'fallback' output"
    )

    @model_validator(mode="after")
    def _fallback_name_free(self) -> SwitchParameters:
        if self.fallback == "extra" and any(rule.output == FALLBACK for rule in self.rules):
            raise ValueError("a rule's output is named 'fallback', which the extra fallback output uses; rename it")
        return self


class Switch(Node):
    type = "switch"
    display_name = "Switch"
    group = "flow"
    side_effects = False
    icon = "git-fork"
    description = "Routes each item to the output of the rule it matches."
    outputs = ()  # named by the rules: see output_ports
    dynamic_outputs = True
    Parameters = SwitchParameters

    @classmethod
    def output_ports(cls, parameters: dict) -> tuple[str, ...]:
        """The rules' outputs in order (each once), then 'fallback' if enabled; () without rules."""
        rules = parameters.get("rules") if isinstance(parameters, dict) else None
        names = [rule.get("output") for rule in rules or [] if isinstance(rule, dict)]
        ports = dict.fromkeys(name for name in names if isinstance(name, str) and _PORT.match(name))
        ports.pop("error", None)
        if isinstance(parameters, dict) and parameters.get("fallback") == "extra":
            ports[FALLBACK] = None
        return tuple(ports)

    async def execute(self, ctx, items):
        routed = {port: [] for port in self.output_ports(ctx.params(0).model_dump())}
        for index, item in enumerate(items):
            params = ctx.params(index)
            for port in _matching_outputs(params, index):
                routed[port].append(item)
        return routed


def _matching_outputs(params: SwitchParameters, index: int) -> list[str]:
    matched: list[str] = []
    try:
        for rule in params.rules:
            if rule.output not in matched and holds(rule):
                matched.append(rule.output)
                if params.mode == "first_match":
                    break
    except ConditionError as exc:
        raise NodeUserError(f"item {index}: {exc}", item_index=index) from None
    if not matched and params.fallback == "extra":
        matched.append(FALLBACK)
    return matched
