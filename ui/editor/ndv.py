"""The node details view's data panes, as plain values: tables, schemas, JSON pages, files, mappings.

A pane shows a list of items (``{"json": {...}, "binary": {...}}``) one page at a time, filtered by
a search text, as a table (top-level fields), a schema (every field path with its type and a sample
value) or JSON. Dragging a field onto a parameter inserts the expression that reads it: ``$json``
for the node's own input, ``$node["Name"].json`` for another node's output.
"""

from __future__ import annotations

import json
from typing import Any

from ui.editor.pins import first_output
from ui.executions.view import preview_kind

PAGE_SIZE = 10
MAX_SCHEMA_ROWS = 300
MAX_SCHEMA_DEPTH = 8
MAX_CELL = 120
MAX_COLUMNS = 30
INPUT = "Input"  # the source meaning "what reached this node" (its $json)


def item_json(item: Any) -> Any:
    if isinstance(item, dict) and "json" in item:
        return item["json"]
    return item


def matches(item: Any, search: str) -> bool:
    """True if ``search`` (case-insensitive) appears in the item's JSON text."""
    if not search.strip():
        return True
    text = json.dumps(item_json(item), ensure_ascii=False, default=str).lower()
    return search.strip().lower() in text


def page_of(items: list, search: str, page: int) -> tuple[list, int, int, int]:
    """(items on the page, first index shown (1-based; 0 when none), total after search, page count)."""
    found = [item for item in items if matches(item, search)]
    pages = max((len(found) + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(max(page, 0), pages - 1)
    shown = found[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
    return shown, (page * PAGE_SIZE + 1) if shown else 0, len(found), pages


def path_text(parts: list) -> str:
    """``customer.email``, ``lines[0].sku``, ``["first name"]``: how an expression reads the field."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.isidentifier():
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part, ensure_ascii=False)}]"
    return text


def mapping(source: str, parts: list) -> str:
    """The expression a dragged field becomes."""
    base = "$json" if source == INPUT else f"$node[{json.dumps(source, ensure_ascii=False)}].json"
    path = path_text(parts)
    if not path:
        return "{{ " + base + " }}"
    return "{{ " + base + ("" if path.startswith("[") else ".") + path + " }}"


def type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def sample(value: Any) -> str:
    if isinstance(value, (dict, list)):
        text = f"{len(value)} field{'s' if len(value) != 1 else ''}" if isinstance(value, dict) \
            else f"{len(value)} item{'s' if len(value) != 1 else ''}"
    else:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def schema_rows(items: list, source: str) -> list[dict[str, str]]:
    """Every field path of the items (first seen wins), with its type, a sample and its mapping."""
    rows: dict[str, dict[str, str]] = {}
    for item in items:
        stack = [([], item_json(item))]
        while stack and len(rows) < MAX_SCHEMA_ROWS:
            parts, value = stack.pop()
            if parts:
                key = path_text(parts)
                if key not in rows:
                    rows[key] = {"path": key, "name": str(parts[-1]) if not isinstance(parts[-1], int)
                                 else f"[{parts[-1]}]", "type": type_of(value), "sample": sample(value),
                                 "indent": f"{(len(parts) - 1) * 14}px", "expression": mapping(source, parts)}
            if len(parts) >= MAX_SCHEMA_DEPTH:
                continue
            if isinstance(value, dict):
                stack.extend((parts + [k], v) for k, v in reversed(list(value.items())))
            elif isinstance(value, list) and value:
                stack.append((parts + [0], value[0]))  # one element stands for the list's shape
    return list(rows.values())


def table(items: list, source: str) -> tuple[list[dict[str, str]], list[list[str]]]:
    """Columns ({name, expression}) of the items' top-level fields, and rows of cell text."""
    names: dict[str, None] = {}
    for item in items:
        value = item_json(item)
        for key in value if isinstance(value, dict) else ["value"]:
            if len(names) < MAX_COLUMNS:
                names.setdefault(str(key), None)
    columns = [{"name": name, "expression": mapping(source, [name])} for name in names]
    rows = []
    for item in items:
        value = item_json(item)
        value = value if isinstance(value, dict) else {"value": value}
        rows.append([_cell(value.get(name)) for name in names])
    return columns, rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def json_text(items: list) -> str:
    return json.dumps([item_json(item) for item in items], indent=2, ensure_ascii=False, default=str)


def files(items: list, first_index: int) -> list[dict[str, str]]:
    """The binary data the shown items carry: item number, name, file name, type and size.

    ``key`` ("<offset in the shown items>/<name>") names the file for View and Download (``file_ref``);
    ``stored`` is "yes" when the reference points into storage (an id and the execution that wrote it),
    as the signed links need; ``preview`` is how View shows it ("image", "text", "pdf" or "").
    """
    found = []
    for offset, item in enumerate(items):
        binary = item.get("binary") if isinstance(item, dict) else None
        for name, ref in (binary.items() if isinstance(binary, dict) else ()):
            ref = ref if isinstance(ref, dict) else {}
            mime_type = str(ref.get("mime_type") or "")
            stored = bool(ref.get("id")) and bool(ref.get("execution_id"))
            found.append({"item": str(first_index + offset), "name": str(name), "key": f"{offset}/{name}",
                          "file_name": str(ref.get("file_name") or ""),
                          "mime_type": mime_type or "unknown type", "size": size_text(ref.get("size")),
                          "stored": "yes" if stored else "", "preview": preview_kind(mime_type) if stored else ""})
    return found


def file_ref(items: list, key: str) -> dict | None:
    """The storage reference behind a ``files`` key, as ``/storage/links`` and ``/storage/preview`` take it."""
    offset, _, name = key.partition("/")
    if not offset.isdigit() or int(offset) >= len(items) or not isinstance(items[int(offset)], dict):
        return None
    binary = items[int(offset)].get("binary")
    ref = binary.get(name) if isinstance(binary, dict) else None
    if not isinstance(ref, dict) or not ref.get("id") or not ref.get("execution_id"):
        return None
    return {"id": str(ref["id"]), "execution_id": str(ref["execution_id"]),
            "file_name": str(ref.get("file_name") or ""),
            "mime_type": str(ref.get("mime_type") or "application/octet-stream")}


def size_text(size: Any) -> str:
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        return "size unknown"
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return ""  # pragma: no cover


def node_outputs(definition: dict, run_data: dict[str, dict]) -> dict[str, list]:
    """{node name: the items it gave}: its pinned data, else its last run's first output."""
    names = {n["id"]: n["name"] for n in definition.get("nodes", [])}
    outputs = {name: list(items) for name, items in (definition.get("pin_data") or {}).items()}
    for node_id, data in run_data.items():
        if node_id in names and names[node_id] not in outputs:
            outputs[names[node_id]] = first_output(data.get("output"))
    return outputs


def sources(definition: dict, node_id: str, run_data: dict[str, dict]) -> dict[str, list]:
    """{source name: items} the input pane can show: the node's input, then each ancestor's output.

    The input is what reached the node in the last run, else what its parents gave (pins or their
    last run) — so a node added after a test event still sees the event.
    """
    names = {n["id"]: n["name"] for n in definition.get("nodes", [])}
    outputs = node_outputs(definition, run_data)
    parents: dict[str, list[str]] = {}
    for connection in definition.get("connections", []):
        parents.setdefault(connection["to"], []).append(connection["from"])
    items = input_items((run_data.get(node_id) or {}).get("input"))
    if not items:
        items = [i for p in parents.get(node_id, []) for i in outputs.get(names.get(p, ""), [])]
    found = {INPUT: items}
    seen, queue = set(), list(parents.get(node_id, []))
    while queue:
        current = queue.pop(0)
        if current in seen:
            continue
        seen.add(current)
        name = names.get(current)
        if name and outputs.get(name):
            found[name] = outputs[name]
        queue.extend(parents.get(current, []))
    return found


def input_items(inputs: dict | None) -> list:
    if not isinstance(inputs, dict):
        return []
    main = inputs.get("main")
    return main if isinstance(main, list) else first_output(inputs)


EXECUTION_FIELDS = ("id", "mode", "resume_url")
WORKFLOW_FIELDS = ("id", "name")


def completions(found: dict[str, list], variables: list[str]) -> dict:
    """What the expression autocomplete offers, typed from the last input (field_autocomplete.jsx).

    ``json``: {path: type} of the node's input; ``nodes``: {name: {path: type}} of its ancestors;
    ``vars`` and ``execution``: names; ``functions``: the function library; ``methods``: by type.
    """
    from backend.engine.expression_functions import FUNCTIONS, methods_by_type

    def paths(items: list) -> dict[str, str]:
        return {row["path"]: row["type"] for row in schema_rows(items[:PAGE_SIZE], INPUT)}

    return {
        "json": paths(found.get(INPUT, [])),
        "nodes": {name: paths(items) for name, items in found.items() if name != INPUT},
        "vars": sorted(variables),
        "execution": list(EXECUTION_FIELDS),
        "workflow": list(WORKFLOW_FIELDS),
        "functions": sorted(FUNCTIONS),
        "methods": methods_by_type(),
    }
