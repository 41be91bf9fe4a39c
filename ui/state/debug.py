"""Debug in editor (/workflows/<id>?debug=<execution id>): a past execution's outputs become pins.

The pins are an unsaved change (undo drops them), so the user can re-run, change a node and
run again with the same data; the canvas shows that execution's results meanwhile.
"""

from __future__ import annotations

import reflex as rx

from ui.api_client import ApiError
from ui.editor import graph, pins
from ui.state.auth import api_failed, call_api
from ui.state.editor import EditorState, on
from ui.state.run import RunState


async def pin_execution(editor: EditorState, execution_id: str):
    """Pin the outputs of `execution_id`'s succeeded nodes in `editor`; the event to send back, if any."""
    try:
        execution = await call_api(editor, "GET", f"/executions/{execution_id}")
    except ApiError as exc:
        return api_failed(exc) if exc.unauthorized else rx.toast.error(f"Cannot debug that execution: {exc.message}")
    if execution.get("workflow_id") != editor.workflow_id:
        return rx.toast.error(f"Execution {execution_id} is not a run of this workflow")
    definition = editor.definition()
    catalog = {n["type"]: editor.catalog_entry(n["type"]) or {} for n in definition["nodes"]}
    pinned, skipped = pins.pins_from_steps(definition, execution.get("steps") or [], catalog)
    if pinned:
        merged = {**(definition.get("pin_data") or {}), **pinned}
        editor.commit({**graph.normalized(definition), "pin_data": merged})
    editor.debug_execution_id = execution_id
    editor.debug_note = _note(execution_id, pinned, skipped)
    (await editor.get_state(RunState)).show_execution(execution)
    return None


def _note(execution_id: str, pinned: dict, skipped: list[str]) -> str:
    if not pinned:
        return f"Execution {execution_id} has no node output that can be pinned."
    count = len(pinned)
    note = (f"The outputs of {count} node{'s' if count != 1 else ''} of execution {execution_id} are pinned as "
            "test data: Run re-uses them. This is an unsaved change: save to keep the pins, or undo to drop them.")
    if skipped:
        note += f" Not pinned (several outputs, or too large): {', '.join(skipped[:10])}."
    return note


# ---- what the editor's events do here (ui/state/editor.py: the editor never imports this module) ------------
@on("workflow_opened")
async def _debug_from_the_url(editor: EditorState):
    """/workflows/<id>?debug=<execution id>: pin that execution's outputs once the workflow is shown."""
    debug = editor.router.url.query_parameters.get("debug", "")
    return await pin_execution(editor, debug) if debug else None
