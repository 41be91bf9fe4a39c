"""The Set node: writes fields into every item."""

from __future__ import annotations

import copy
import json
import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from nodes.builtin._fields import FieldPathError, jsonable, new_item, set_field
from nodes.sdk import Node, NodeParameters, NodeUserError

FieldType = Literal["string", "number", "integer", "boolean", "object", "array"]


class FieldValue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="Field to set; dots make nested objects: 'address.city'")
    value: Any = Field(None, description="Any JSON value or an expression such as {{ $json.price * 2 }}")
    type: FieldType | None = Field(None, description="Convert the value to this type; empty keeps it as it is")


class SetParameters(NodeParameters):
    fields: list[FieldValue] = Field(default_factory=list, description="Fields to write, in order")
    keep_only_set: bool = Field(False, description="Drop every other field of the item")


class Set(Node):
    type = "set"
    display_name = "Set"
    group = "data"
    side_effects = False
    icon = "pencil"
    description = "Adds or changes fields of every item (and can drop all others)."
    Parameters = SetParameters
    batchable = True  # each item alone makes its output: runs batch by batch on a large input

    async def execute(self, ctx, items):
        return [self._set_fields(ctx.params(index), item, index) for index, item in enumerate(items)]

    @staticmethod
    def _set_fields(params: SetParameters, item: dict, index: int) -> dict:
        data = {} if params.keep_only_set else copy.deepcopy(item.get("json", {}))
        for field in params.fields:
            try:
                set_field(data, field.name, convert(jsonable(field.value), field.type))
            except (FieldPathError, ValueError) as exc:
                raise NodeUserError(f"item {index}, field {field.name!r}: {exc}", item_index=index) from None
        return new_item(data, item)


def convert(value: Any, to: FieldType | None) -> Any:
    """``value`` as type ``to``; a ValueError says which value did not fit."""
    if to is None or value is None:
        return value
    converter = {"string": _to_string, "number": _to_number, "integer": _to_integer,
                 "boolean": _to_boolean, "object": _to_object, "array": _to_array}[to]
    return converter(value)


def _to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)


def _to_number(value: Any) -> int | float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ValueError(f"{_shown(value)} is not a number") from None
    if not math.isfinite(number):  # float() reads "nan" and "inf": text, not numbers a user meant
        raise ValueError(f"{_shown(value)} is not a finite number")
    return int(number) if number.is_integer() and "." not in str(value) else number


def _shown(value: Any) -> str:
    """A value as the user sees it in JSON (the text "x", not Python's 'x')."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _to_integer(value: Any) -> int:
    number = _to_number(value)
    if float(number) != int(number):
        raise ValueError(f"{value!r} is not a whole number; use type 'number' to keep decimals")
    return int(number)


def _to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off", ""):
        return False
    raise ValueError(f"{value!r} is not a boolean; use true/false, yes/no, on/off or 1/0")


def _to_object(value: Any) -> dict:
    parsed = _parse_json(value)
    if not isinstance(parsed, dict):
        raise ValueError(f"{value!r} is not an object")
    return parsed


def _to_array(value: Any) -> list:
    parsed = _parse_json(value)
    if not isinstance(parsed, list):
        raise ValueError(f"{value!r} is not an array")
    return parsed


def _parse_json(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{value[:40]!r} is not valid JSON ({exc.msg})") from None
