"""Parameters shown in the editor only when others have certain values: ``show_if``.

Declare it on a field of a node's ``Parameters`` (or of a collection's item model)::

    from nodes.sdk import show_if

    class Parameters(NodeParameters):
        body_type: Literal["none", "json", "raw"] = "none"
        content_type: str = Field("text/plain", json_schema_extra=show_if(body_type=["raw"]))
        auth: Literal["none", "basic"] = "none"
        password: str = Field("", json_schema_extra={"writeOnly": True, **show_if(auth=["basic"])})

Several conditions must all hold. The editor (``ui/editor/forms.py``) hides the field while they do not;
the node still receives the field's value (or default), so ``execute`` decides what it means. Each
condition is checked when the node class is defined: it must name a sibling field and only values that
field can take.
"""

from __future__ import annotations

from typing import Any


def show_if(**conditions: list[Any] | tuple[Any, ...]) -> dict[str, dict[str, list[Any]]]:
    """``json_schema_extra`` for a field shown only while every ``other=[values]`` condition holds.

    Example: ``Field("", json_schema_extra=show_if(operation=["insert", "upsert"]))``.
    """
    if not conditions:
        raise TypeError("show_if() needs at least one condition, e.g. show_if(method=['POST'])")
    return {"show_if": {other: list(values) for other, values in conditions.items()}}


def show_if_problems(schema: dict) -> list[str]:
    """What is wrong with the ``show_if`` declarations of a parameters JSON schema (empty when none)."""
    problems = []
    objects = [("", schema)] + [(f"{name}.", d) for name, d in schema.get("$defs", {}).items()]
    for prefix, scope in objects:
        properties = scope.get("properties", {})
        for key, prop in properties.items():
            for other, allowed in (prop.get("show_if") or {}).items():
                problems += _condition_problems(f"{prefix}{key}", other, allowed, properties, schema)
    return problems


def _condition_problems(where: str, other: str, allowed: Any, properties: dict, root: dict) -> list[str]:
    if other not in properties or other == where.rsplit(".", 1)[-1]:
        known = ", ".join(k for k in properties if k != where.rsplit(".", 1)[-1])
        return [f"{where}: show_if names {other!r}, which is not another field here (fields: {known})"]
    if not isinstance(allowed, list) or not allowed:
        return [f"{where}: show_if {other!r} needs a non-empty list of values"]
    target = _resolved(properties[other], root)
    values = target.get("enum")
    if values is None and target.get("type") == "boolean":
        values = [True, False]
    if values is not None:
        wrong = [v for v in allowed if v not in values]
        if wrong:
            return [f"{where}: show_if {other!r} lists {wrong}, which {other!r} cannot be (it is one of {values})"]
    return []


def _resolved(prop: dict, root: dict) -> dict:
    if "$ref" in prop:
        prop = root.get("$defs", {}).get(prop["$ref"].rsplit("/", 1)[-1], {})
    options = [s for s in prop.get("anyOf", []) if s.get("type") != "null"]
    return _resolved(options[0], root) if len(options) == 1 else prop
