"""What the expression preview evaluates against: the node's last input, else its parents' pins.

The preview endpoint (POST /api/v1/expressions/preview) takes the node's input items and
other nodes' outputs (for ``$node["Name"]``); both are cut down to stay well inside its
size limit.
"""

from __future__ import annotations

import json

from ui.editor.pins import first_output

MAX_ITEMS = 20
BUDGET_BYTES = 400_000  # the API refuses more than 512,000


def expression_fields(fields: list) -> list[tuple[str, int, str, str]]:
    """(key, row index or -1, sub key or "", text) of every value in expression mode."""
    found = []
    for field in fields:
        if field.kind == "collection":
            for index, row in enumerate(field.rows):
                found += [(field.key, index, sub.key, sub.value) for sub in row if "{{" in sub.value]
        elif "{{" in field.value:
            found.append((field.key, -1, "", field.value))
    return found


def field_id(key: str, index: int, sub: str) -> str:
    return key if index < 0 else f"{key}.{index}.{sub}"


def preview_input(definition: dict, node_id: str, run_data: dict[str, dict]) -> tuple[list, dict, bool]:
    """(input items, outputs by node name, whether real data was found) for the open node."""
    pins = definition.get("pin_data") or {}
    names = {n["id"]: n["name"] for n in definition["nodes"]}
    items = _input_items((run_data.get(node_id) or {}).get("input"))
    if not items:  # not run yet (e.g. added after a test event): what its parents gave, pinned or run
        parents = [c["from"] for c in definition["connections"] if c["to"] == node_id]
        items = [i for p in parents for i in (pins.get(names.get(p, ""))
                                              or first_output((run_data.get(p) or {}).get("output")))]
    outputs = {name: list(values) for name, values in pins.items()}
    for other_id, data in run_data.items():
        if other_id in names and names[other_id] not in outputs:
            outputs[names[other_id]] = first_output(data.get("output"))
    found = bool(items)
    items, outputs = items[:MAX_ITEMS], {k: v[:MAX_ITEMS] for k, v in outputs.items()}
    if len(json.dumps([items, outputs], default=str)) > BUDGET_BYTES:
        items, outputs = items[:1], {k: v[:1] for k, v in outputs.items()}
    if len(json.dumps([items, outputs], default=str)) > BUDGET_BYTES:
        outputs = {}
    return items, outputs, found


def _input_items(inputs: dict | None) -> list:
    if not isinstance(inputs, dict):
        return []
    main = inputs.get("main")
    if isinstance(main, list):
        return main
    return first_output(inputs)
