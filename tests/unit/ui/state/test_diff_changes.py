"""The version diff lists each changed field with its old and new value."""

from backend.workflows.diff import diff_definitions
from ui.state.diff import change_rows


def test_changed_fields_show_old_and_new_values():
    old = {"nodes": [{"id": "s", "name": "Set", "type": "set", "parameters": {"url": "a", "n": 1}}], "connections": []}
    new = {"nodes": [{"id": "s", "name": "Set", "type": "set", "parameters": {"url": "b", "extra": [1]}}],
           "connections": []}
    rows = change_rows(diff_definitions(old, new))
    assert {"node": "Set", "field": "parameters.url", "old": '"a"', "new": '"b"'} in rows
    assert {"node": "Set", "field": "parameters.n", "old": "1", "new": "(none)"} in rows
    assert {"node": "Set", "field": "parameters.extra", "old": "(none)", "new": "[1]"} in rows
