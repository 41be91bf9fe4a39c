"""Node parameter forms generated from each node type's JSON schema (the catalog's parameters_schema).

`fields(schema, values)` describes one input per parameter; `coerce(field_schema, raw)` turns what
the user typed back into the JSON value the definition stores. Expressions (``{{ ... }}``) are
kept as text wherever they appear: the engine evaluates them at run time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

REMOVE = object()  # coerce(): drop the key so the node's default applies
NONE_OPTION = "(none)"  # the choice that leaves an optional enum unset
_PLACEHOLDERS = {"any": "a value, or an expression such as {{ $json.field }}",
                 "json-object": '{"name": "value"}', "json-array": '["value"]'}


@dataclass
class SubField:
    key: str
    label: str
    description: str = ""
    kind: str = "string"  # string | text | code | number | boolean | enum | any | json
    value: str = ""
    checked: bool = False
    options: list[str] = field(default_factory=list)
    choices: list[dict[str, str]] = field(default_factory=list)  # enum: [{value, label}] (labels from enum_labels)
    visible: bool = True  # False while the parameter's show_if does not hold
    required: bool = False
    placeholder: str = ""
    preview: str = ""  # in expression mode: the value the expression gives for the last input
    preview_error: str = ""


@dataclass
class FormField(SubField):
    error: str = ""
    rows: list[list[SubField]] = field(default_factory=list)  # kind == "collection": one row per item
    item_label: str = ""


def resolve(schema: dict, root: dict) -> dict:
    """The schema with a `$ref` followed and an optional (`anyOf [X, null]`) unwrapped."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = {**root.get("$defs", {}).get(name, {}), **{k: v for k, v in schema.items() if k != "$ref"}}
    options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    if len(options) == 1:
        schema = {**{k: v for k, v in schema.items() if k != "anyOf"}, **resolve(options[0], root)}
    return schema


def kind_of(schema: dict, root: dict) -> str:
    schema = resolve(schema, root)
    kind = schema.get("type")
    if "enum" in schema:
        return "enum"
    if kind == "boolean":
        return "boolean"
    if kind in ("integer", "number"):
        return "number"
    if kind == "string":
        if schema.get("format") in ("python", "javascript", "sql"):
            return "code"
        return "text" if schema.get("maxLength", 0) > 500 else "string"
    if kind == "array" and _item_properties(schema, root):
        return "collection"
    if kind in ("array", "object") or "anyOf" in schema:
        return "json"
    return "any"  # untyped: any JSON value, or an expression


def _item_properties(schema: dict, root: dict) -> dict:
    items = resolve(schema.get("items", {}), root)
    return items.get("properties", {}) if items.get("type") == "object" else {}


def display(kind: str, value: Any) -> str:
    """A stored value as its input shows it."""
    if value is None:
        return ""
    if kind in ("json",):
        return json.dumps(value, indent=2)
    if kind == "any" and not isinstance(value, str):
        return json.dumps(value)
    return str(value)


def _describe(key: str, schema: dict, root: dict, value: Any, required: bool) -> dict:
    resolved = resolve(schema, root)
    kind = kind_of(schema, root)
    current = resolved.get("default") if value is None else value
    examples = resolved.get("examples") or []
    options = [str(o) for o in resolved.get("enum", [])]
    if kind == "enum" and resolved.get("default") is None and not required:
        options = [NONE_OPTION, *options]
        current = NONE_OPTION if current is None else current
    labels = resolved.get("enum_labels") or {}
    return dict(
        key=key, label=resolved.get("title") or key.replace("_", " ").capitalize(),
        description=resolved.get("description", ""), kind=kind,
        value="" if kind == "collection" else display(kind, current),
        checked=bool(current) if kind == "boolean" else False,
        options=options, choices=[{"value": o, "label": str(labels.get(o, o))} for o in options],
        required=required,
        placeholder=str(examples[0]) if examples else _PLACEHOLDERS.get(
            "json-" + str(resolved.get("type")) if kind == "json" else kind, ""),
    )


def fields(schema: dict, values: dict, drafts: dict[str, tuple[str, str]] | None = None) -> list[FormField]:
    """One form field per parameter, in schema order. `drafts` keeps JSON text that does not parse yet."""
    drafts = drafts or {}
    required = set(schema.get("required", []))
    out = []
    for key, prop in schema.get("properties", {}).items():
        spec = FormField(**_describe(key, prop, schema, values.get(key), key in required),
                         visible=shown(prop, schema, values))
        if spec.kind == "collection":
            item_schema = resolve(resolve(prop, schema).get("items", {}), schema)
            spec.item_label = _words(item_schema.get("title", "Item"))
            spec.rows = [_row(item_schema, schema, item) for item in values.get(key) or []]
        if key in drafts:
            spec.value, spec.error = drafts[key]
        out.append(spec)
    return out


_PROBLEM_KEY = re.compile(r"^(?:parameters\.([A-Za-z_]\w*)|parameter '([A-Za-z_]\w*)')")


def with_problems(fields: list[FormField], problems: list[str]) -> list[FormField]:
    """Fields showing the saved draft's problems that name them ("parameters.url: …", "parameter 'url' …").

    A field's own error (a value that did not parse as typed) stays first; problems naming no field
    stay in the list above the form.
    """
    by_key: dict[str, list[str]] = {}
    for message in problems:
        found = _PROBLEM_KEY.match(message)
        if found:
            by_key.setdefault(found.group(1) or found.group(2), []).append(message)
    return [replace(f, error=f.error or "; ".join(by_key[f.key])) if f.key in by_key else f
            for f in fields]


def shown(prop: dict, schema: dict, values: dict, scope: dict | None = None) -> bool:
    """A parameter's ``show_if`` ({"other": [allowed values], ...}: all must hold) against the current values.

    ``scope`` is the object schema whose properties ``other`` names (the node's parameters, or a
    collection's item); an unset value counts as its default. A value that is an expression is only
    known at run time, so the fields depending on it stay shown.
    """
    scope = schema if scope is None else scope
    for other, allowed in (resolve(prop, schema).get("show_if") or {}).items():
        current = values.get(other, resolve(scope.get("properties", {}).get(other, {}), schema).get("default"))
        if isinstance(current, str) and "{{" in current:
            continue
        if current not in allowed:
            return False
    return True


def row_visibility(item_schema: dict, root: dict, item: Any) -> dict[str, bool]:
    """Which fields of one collection row are shown, by key (show_if inside the item's schema)."""
    item = item if isinstance(item, dict) else {}
    return {k: shown(p, root, item, item_schema) for k, p in item_schema.get("properties", {}).items()}


def _words(camel: str) -> str:
    """'SortKey' -> 'sort key': how a collection's item reads on its Add button."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", camel).lower()


def _row(item_schema: dict, root: dict, item: Any) -> list[SubField]:
    item = item if isinstance(item, dict) else {}
    required = set(item_schema.get("required", []))
    visible = row_visibility(item_schema, root, item)
    return [SubField(**_describe(k, p, root, item.get(k), k in required), visible=visible[k])
            for k, p in item_schema.get("properties", {}).items()]


def item_schema_of(schema: dict, key: str) -> dict:
    return resolve(resolve(schema.get("properties", {}).get(key, {}), schema).get("items", {}), schema)


def new_item(item_schema: dict) -> dict:
    """A new collection row: defaults where the schema has them, empty text for required fields."""
    item = {}
    required = set(item_schema.get("required", []))
    for key, prop in item_schema.get("properties", {}).items():
        if prop.get("default") is not None:
            item[key] = prop["default"]
        elif key in required:
            item[key] = ""
    return item


def coerce(prop: dict, root: dict, raw: Any) -> Any:
    """What the user entered, as the value to store; REMOVE for an empty optional value.

    Raises ValueError with a message for JSON that does not parse.
    """
    kind = kind_of(prop, root)
    if kind == "boolean":
        return bool(raw)
    text = "" if raw is None else str(raw)
    if (text.strip() == "" and kind != "code") or (kind == "enum" and text == NONE_OPTION):
        return REMOVE
    if kind == "number":
        return _number(text)
    if kind == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    if kind == "any":
        return _any(text)
    return text


def _number(text: str) -> Any:
    stripped = text.strip()
    if "{{" in stripped:
        return stripped
    try:
        return int(stripped)
    except ValueError:
        pass
    try:
        return float(stripped)
    except ValueError:
        return stripped  # left for the API's validation to name


def _any(text: str) -> Any:
    stripped = text.strip()
    if "{{" in stripped:
        return text
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        return text
