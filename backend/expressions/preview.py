"""Evaluating one parameter value for the editor's live preview, with the engine's safe evaluator.

The editor sends the text of a field (``"Hello {{ $json.name }}"``) and the items the node
would see (the last run's input, or pinned data); the answer is the value the engine would
compute for one item, or the error it would raise. Nothing runs but the restricted
expression interpreter of ``backend/engine/expressions.py``, under its own step, time and
size limits. Secret variables are never opened: ``$vars`` shows them as the mask.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from backend.engine.expression_functions import ExpressionError, plain_value, type_name
from backend.engine.expressions import ExpressionContext, render
from backend.engine.pins import as_items
from backend.json_limits import value_problem

PREVIEW_TIME_LIMIT_S = 0.5
MAX_SHOWN_CHARS = 10_000


def preview(template: str, *, items: list[dict], item_index: int, nodes: dict[str, list[dict]],
            variables: dict[str, str], workflow: dict, timezone: str = "UTC") -> dict:
    """{"ok": True, "value", "type", "text"} or {"ok": False, "error"}; never raises for the expression."""
    inputs = as_items(items)
    context = ExpressionContext(
        json=inputs[item_index]["json"] if item_index < len(inputs) else {}, item_index=item_index,
        input=inputs, nodes={name: as_items(values) for name, values in nodes.items()}, vars=variables,
        execution={"id": "preview", "mode": "manual"}, workflow=workflow, now=datetime.now(UTC),
        timezone=timezone, time_limit_s=PREVIEW_TIME_LIMIT_S)
    try:
        value = render(template, context)
    except ExpressionError as exc:
        return {"ok": False, "error": str(exc)}
    plain = plain_value(value)  # datetimes as ISO text, as the nodes store them
    problem = value_problem(plain)
    if problem is not None:  # what the node using this value would fail with
        path, what = problem
        return {"ok": False, "error": f"`{path}` in the result {what}" if path else f"the result {what}"}
    text = plain if isinstance(plain, str) else json.dumps(plain, ensure_ascii=False)
    truncated = len(text) > MAX_SHOWN_CHARS
    shown = None if truncated else plain if isinstance(plain, str) else json.loads(text)
    return {"ok": True, "value": shown, "type": type_name(value),
            "text": text[:MAX_SHOWN_CHARS] + ("…" if truncated else ""), "truncated": truncated}
