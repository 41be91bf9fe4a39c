"""The editor is the hub its panels register with (ui/state/editor.py): it never imports them, and the
editor page wires every panel's hooks by importing the panels."""

from __future__ import annotations

import asyncio

import pytest

from ui.state import editor


def test_an_unknown_event_is_refused_when_registering():
    with pytest.raises(ValueError, match="unknown editor event 'workflow_saved'"):
        editor.on("workflow_saved")


def test_notify_runs_hooks_by_order_then_registration_and_returns_their_answers(monkeypatch):
    monkeypatch.setattr(editor, "_HOOKS", {})
    calls: list[str] = []

    def hook(name: str, answer=None):
        async def run(_editor, *args):
            calls.append(f"{name}{args}")
            return answer
        return run

    editor.on("node_opened", order=1)(hook("late"))
    editor.on("node_opened")(hook("first", answer="a"))
    editor.on("node_opened")(hook("second"))
    state = object.__new__(editor.EditorState)  # notify hands the editor itself to the hooks
    answers = asyncio.run(editor.notify(state, "node_opened", "n1"))
    assert calls == ["first('n1',)", "second('n1',)", "late('n1',)"] and answers == ["a"]


def test_the_editor_page_registers_every_panel():
    import ui.pages.editor  # noqa: F401 - the composition root

    def owners(event: str) -> set[str]:
        return {hook.__module__ for _, _, hook in editor._HOOKS.get(event, [])}

    assert owners("workflow_changed") == {"ui.state.node_panel", "ui.state.run", "ui.state.ndv", "ui.state.logs",
                                          "ui.state.diff"}
    assert owners("workflow_opened") == {"ui.state.debug"}
    assert owners("node_opened") == {"ui.state.node_panel", "ui.state.run"}
    assert owners("run_finished") == {"ui.state.node_panel", "ui.state.ndv"}
    assert {"structure_changed", "canvas_clicked", "open_node_id"} <= set(editor._HOOKS)
