"""/workflows/[workflow_id]: the visual editor (palette, canvas, node panel, toolbar)."""

import reflex as rx

from ui.components.flow_canvas import flow_canvas
from ui.components.logs_panel import logs_panel
from ui.components.ndv import ndv
from ui.components.node_panel import node_panel
from ui.components.shell import theme_toggle
from ui.state import debug as _debug  # noqa: F401 - registers Debug in editor with the editor's hooks
from ui.state.auth import AuthState
from ui.state.diff import DiffState
from ui.state.editor import EditorState
from ui.state.logs import LogsState
from ui.state.ndv import NdvState
from ui.state.node_panel import NodePanelState
from ui.state.run import RunState

BORDER = f"1px solid {rx.color('gray', 5)}"


def _tool(icon: str, label: str, on_click, disabled=False, **props) -> rx.Component:
    return rx.tooltip(
        rx.icon_button(rx.icon(icon, size=16), variant="ghost", color_scheme="gray", aria_label=label,
                       on_click=on_click, disabled=disabled, **props),
        content=label,
    )


def _versions_dialog() -> rx.Component:
    def row(v) -> rx.Component:
        return rx.hstack(
            rx.badge("v", v["number"], variant="soft"),
            rx.vstack(rx.text(rx.cond(v["message"] != "", v["message"], "Saved"), size="2"),
                      rx.text(v["created_at"], size="1", color=rx.color("gray", 10)), spacing="0"),
            rx.spacer(),
            rx.button("Compare", size="1", variant="ghost", on_click=DiffState.compare(v["number"]),
                      aria_label=f"Compare with version {v['number']}"),
            rx.cond(v["number"] == EditorState.latest_version.to_string(),
                    rx.badge("current", color_scheme="green"),
                    rx.cond(AuthState.can_edit,
                            rx.button("Restore", size="1", variant="soft",
                                      on_click=EditorState.restore_version(v["number"]),
                                      aria_label=f"Restore version {v['number']}"))),
            align="center", width="100%", padding="8px 0", border_bottom=BORDER,
        )

    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Version history"),
            rx.dialog.description("Every save is a version. Restoring one saves it again as the newest; "
                                  "Compare shows on the canvas what changed since it.", size="2"),
            rx.scroll_area(rx.vstack(rx.foreach(EditorState.versions, row), spacing="0", width="100%"),
                           max_height="420px", margin_top="12px"),
            rx.hstack(rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray")), justify="end",
                      margin_top="12px"),
            max_width="520px",
        ),
        open=EditorState.versions_open,
        on_open_change=EditorState.toggle_versions,
    )


def _run_input_popover() -> rx.Component:
    return rx.popover.root(
        rx.popover.trigger(rx.icon_button(rx.icon("chevron-down", size=16), variant="soft", aria_label="Test input")),
        rx.popover.content(
            rx.vstack(
                rx.text("Test input", weight="medium", size="2"),
                rx.text("The trigger's items for a run from the editor: a JSON object, or a list of them. "
                        "For a webhook trigger, e.g. {\"body\": {...}}.", size="1", color=rx.color("gray", 11)),
                rx.text_area(value=RunState.input_text, on_change=RunState.set_input_text, rows="8",
                             font_family="var(--code-font-family)", width="100%", aria_label="Test input JSON"),
                rx.cond(RunState.input_error != "", rx.text(RunState.input_error, color=rx.color("red", 11),
                                                            size="1", role="alert")),
                rx.hstack(rx.popover.close(rx.button("Run with this input", size="2", on_click=RunState.run)),
                          justify="end", width="100%"),
                spacing="2", width="340px",
            ),
            align="end",
        ),
        open=RunState.input_open,
        on_open_change=RunState.set_input_open,
    )


SHORTCUTS = [("Delete / Backspace", "Delete the selection"), ("Ctrl+C / Ctrl+V", "Copy / paste nodes"),
             ("Ctrl+Z / Ctrl+Shift+Z", "Undo / redo"), ("Ctrl+A", "Select all"), ("Ctrl+S", "Save"),
             ("Ctrl+Enter", "Run the workflow"), ("Shift+drag", "Select an area"), ("Esc", "Leave a field, close the panel"),
             ("Double-click a note", "Edit a sticky note")]


def _shortcuts_help() -> rx.Component:
    return rx.popover.root(
        rx.popover.trigger(rx.icon_button(rx.icon("keyboard", size=16), variant="ghost", color_scheme="gray",
                                          aria_label="Keyboard shortcuts")),
        rx.popover.content(
            rx.vstack(
                rx.text("Keyboard shortcuts", weight="bold", size="2"),
                *(rx.hstack(rx.code(keys, size="1"), rx.spacer(), rx.text(what, size="1"), width="100%")
                  for keys, what in SHORTCUTS),
                rx.text("On a Mac, Cmd works wherever Ctrl is shown.", size="1", color=rx.color("gray", 10)),
                spacing="2", width="320px", data_testid="shortcuts-help",
            ),
            align="end",
        ),
    )


def _diff_legend() -> rx.Component:
    def swatch(color: str, label, count) -> rx.Component:
        return rx.hstack(rx.box(width="12px", height="12px", border_radius="3px", background=rx.color(color, 9)),
                         rx.text(label, " (", count, ")", size="1"), align="center", spacing="1")

    return rx.hstack(
        rx.icon("git-compare", size=14),
        rx.text("Changes since version ", DiffState.version, size="2", weight="medium"),
        swatch("green", "added", DiffState.added),
        swatch("amber", "changed", DiffState.changed),
        swatch("red", "removed (ghosted)", DiffState.removed),
        rx.text(DiffState.connections_changed, " connection change(s)", size="1", color=rx.color("gray", 10)),
        rx.button("Exit diff view", size="1", variant="soft", on_click=DiffState.leave),
        position="absolute", top="12px", left="16px", padding="6px 12px", max_width="calc(100% - 32px)",
        border_radius="999px", background=rx.color("gray", 1), border=BORDER, align="center", spacing="3",
        box_shadow="0 1px 3px rgba(0,0,0,0.12)", z_index="15", data_testid="diff-legend", white_space="nowrap",
    )


def _diff_changes() -> rx.Component:
    """Old and new value of each changed field, under the legend."""
    return rx.cond(DiffState.changes.length() > 0, rx.vstack(
        rx.foreach(DiffState.changes, lambda c: rx.hstack(
            rx.text(c["node"], size="1", weight="bold"), rx.code(c["field"], size="1"),
            rx.text(c["old"], size="1", color=rx.color("red", 11), text_decoration="line-through",
                    word_break="break-all"),
            rx.text("→", size="1"), rx.text(c["new"], size="1", color=rx.color("green", 11), word_break="break-all"),
            spacing="2", align="center", wrap="wrap", data_testid="diff-change")),
        position="absolute", top="56px", left="16px", max_width="520px", max_height="40%", overflow="auto",
        padding="8px 12px", border_radius="8px", background=rx.color("gray", 1), border=BORDER, spacing="1",
        z_index="15", box_shadow="0 1px 3px rgba(0,0,0,0.12)", aria_label="Changed values", role="region",
    ))


def _leave_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Leave without saving?"),
            rx.alert_dialog.description("This workflow has unsaved changes; they are lost if you leave now.", size="2"),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Stay", variant="soft", color_scheme="gray")),
                rx.button("Leave without saving", variant="soft", color_scheme="red", on_click=EditorState.leave_unsaved),
                rx.button("Save and leave", on_click=EditorState.save_and_leave),
                justify="end", spacing="3", margin_top="16px",
            ),
            max_width="440px",
        ),
        open=EditorState.leave_open,
        on_open_change=EditorState.set_leave_open,
    )


def _debug_banner() -> rx.Component:
    return rx.callout.root(
        rx.hstack(rx.callout.icon(rx.icon("bug", size=16)), rx.callout.text(EditorState.debug_note, size="2"),
                  rx.icon_button(rx.icon("x", size=14), size="1", variant="ghost", on_click=EditorState.dismiss_debug,
                                 aria_label="Dismiss debug note"),
                  align="start", spacing="2"),
        color_scheme="violet", position="absolute", bottom="64px", left="12px", max_width="620px", z_index="5",
        data_testid="debug-banner", role="status",
    )


def _toolbar() -> rx.Component:
    return rx.hstack(
        _tool("arrow-left", "Back to workflows", EditorState.back_to_list),
        rx.input(value=EditorState.name, on_change=EditorState.rename_to, variant="soft", size="2",
                 aria_label="Workflow name", width="260px", font_weight="600", read_only=~AuthState.can_edit),
        rx.badge("v", EditorState.latest_version, variant="outline", color_scheme="gray"),
        rx.cond(EditorState.dirty, rx.badge(rx.icon("circle-dot", size=12), "Unsaved changes", color_scheme="orange",
                                            variant="soft", data_testid="unsaved")),
        rx.spacer(),
        rx.cond(EditorState.load_error != "", rx.fragment(),
                rx.cond(AuthState.can_edit, _edit_tools(), _read_only_tools())),
        align="center", spacing="3", padding="8px 16px", border_bottom=BORDER, width="100%", height="56px",
        background=rx.color("gray", 1),
    )


def _read_only_tools() -> rx.Component:
    """Viewers look, they do not change: no palette, save, run or activation (the API refuses them too)."""
    return rx.hstack(
        rx.badge(rx.icon("eye", size=12), "Read-only: viewers cannot change or run workflows", variant="soft",
                 color_scheme="gray", data_testid="read-only"),
        _tool("history", "Version history", EditorState.toggle_versions(True)),
        _tool("scroll-text", "Logs and executions", LogsState.toggle),
        rx.badge(rx.cond(EditorState.active, EditorState.live_label, "Inactive"), variant="outline",
                 color_scheme=rx.cond(EditorState.active, "green", "gray"), data_testid="live-version"),
        align="center", spacing="3",
    )


def _live_version() -> rx.Component:
    """What triggers run: "live v3 · editing v4" with Publish while a saved or unsaved change is not live."""
    return rx.cond(
        EditorState.active,
        rx.hstack(
            rx.badge(
                rx.icon("radio", size=12), EditorState.live_label,
                color_scheme=rx.cond(EditorState.behind_live | EditorState.dirty, "orange", "green"),
                variant="soft", data_testid="live-version",
            ),
            rx.cond(EditorState.behind_live | EditorState.dirty,
                    rx.tooltip(rx.button(rx.icon("upload", size=14), "Publish", on_click=EditorState.publish,
                                         size="1", color_scheme="orange", variant="solid"),
                               content="Save and make this version the one webhooks and schedules run")),
            align="center", spacing="2",
        ),
    )


def _edit_tools() -> rx.Component:
    return rx.hstack(
        _tool("undo-2", "Undo (Ctrl+Z)", EditorState.undo, disabled=~EditorState.can_undo),
        _tool("redo-2", "Redo (Ctrl+Shift+Z)", EditorState.redo, disabled=~EditorState.can_redo),
        _tool("history", "Version history", EditorState.toggle_versions(True)),
        _tool("scroll-text", "Logs and executions", LogsState.toggle),
        _tool("layout-grid", "Tidy up (auto-layout)", EditorState.tidy_up),
        theme_toggle(),
        _tool("sticky-note", "Add sticky note", EditorState.add_sticky),
        _shortcuts_help(),
        rx.separator(orientation="vertical", size="1"),
        rx.el.label(
            rx.hstack(rx.switch(checked=EditorState.active, on_change=EditorState.set_active,
                                aria_label="Active", color_scheme="green"),
                      rx.text(rx.cond(EditorState.active, "Active", "Inactive"), size="2"),
                      align="center", spacing="2"),
        ),
        _live_version(),
        rx.separator(orientation="vertical", size="1"),
        rx.hstack(
            rx.button(rx.icon("play", size=14), "Run", on_click=RunState.run, loading=RunState.running,
                      variant="soft", color_scheme="green"),
            _run_input_popover(),
            spacing="1",
        ),
        rx.button(rx.icon("save", size=14), "Save", on_click=EditorState.save, loading=EditorState.saving),
        align="center", spacing="3",
    )


def _palette_item(item) -> rx.Component:
    return rx.el.div(
        rx.hstack(
            rx.center(rx.icon(item["icon"].to(str), size=16), width="32px", height="32px", border_radius="8px",
                      background=rx.color("accent", 3), color=rx.color("accent", 11), flex_shrink="0"),
            rx.vstack(rx.text(item["name"], size="2", weight="medium"),
                      rx.text(item["description"], size="1", color=rx.color("gray", 10), trim="both",
                              white_space="nowrap", overflow="hidden", text_overflow="ellipsis", max_width="180px"),
                      spacing="0", min_width="0"),
            align="center", spacing="2",
        ),
        draggable=True,
        custom_attrs={"data-node-type": item["type"]},
        title=item["description"],
        role="button",
        aria_label=f"Add {item['name']}",
        on_click=EditorState.add_node(item["type"]),
        padding="6px 8px", border_radius="8px", cursor="grab", user_select="none",
        _hover={"background": rx.color("gray", 3)},
    )


def _palette() -> rx.Component:
    return rx.vstack(
        rx.input(rx.input.slot(rx.icon("search", size=14)), placeholder="Search nodes",
                 value=EditorState.palette_search, on_change=EditorState.set_palette_search,
                 on_key_down=EditorState.palette_key, aria_label="Search nodes", width="100%", size="2"),
        rx.scroll_area(
            rx.vstack(
                rx.foreach(EditorState.palette, lambda g: rx.vstack(
                    rx.hstack(
                        rx.cond(g["icon"].to(str) != "", rx.icon(g["icon"].to(str), size=12)),
                        rx.text(g["label"], size="1", weight="bold", text_transform="uppercase",
                                letter_spacing="0.04em"),
                        spacing="1", align="center", color=rx.color("gray", 10), padding="8px 8px 2px",
                    ),
                    rx.foreach(g["items"].to(list[dict]), _palette_item),
                    spacing="0", width="100%", role="group", aria_label=g["label"],
                )),
                spacing="2", width="100%",
            ),
            type="hover", scrollbars="vertical", style={"height": "100%"},
        ),
        rx.text("Drag onto the canvas, or click to add", size="1", color=rx.color("gray", 9)),
        width="264px", min_width="264px", height="100%", padding="12px", spacing="2", border_right=BORDER,
        background=rx.color("gray", 1), aria_label="Node palette", role="region",
    )


def _canvas() -> rx.Component:
    return rx.box(
        flow_canvas(
            graph_nodes=rx.cond(DiffState.version != "", DiffState.canvas_nodes, EditorState.canvas_nodes),
            graph_edges=EditorState.canvas_edges,
            runs=RunState.runs,
            problems=EditorState.problems,
            revision=EditorState.revision,
            dirty=EditorState.dirty,
            read_only=~AuthState.can_edit,
            on_nodes_moved=EditorState.nodes_moved,
            on_connect_ports=EditorState.connect_ports,
            on_drop_node=EditorState.drop_node,
            on_delete_items=EditorState.delete_items,
            on_selection_changed=EditorState.selection_changed,
            on_node_open=EditorState.node_open,
            on_pane_clicked=EditorState.pane_clicked,
            on_undo=EditorState.undo,
            on_redo=EditorState.redo,
            on_copy_nodes=EditorState.copy_nodes,
            on_paste_nodes=EditorState.paste_nodes,
            on_save=EditorState.save,
            on_sticky_changed=EditorState.sticky_changed,
            on_run=RunState.run,
        ),
        rx.cond(DiffState.version != "", rx.fragment(_diff_legend(), _diff_changes())),
        rx.cond(EditorState.debug_note != "", _debug_banner()),
        rx.cond(EditorState.workflow_problems.length() > 0,
                rx.callout(rx.foreach(EditorState.workflow_problems, lambda p: rx.text(p, size="2")),
                           icon="triangle-alert", color_scheme="amber", position="absolute", top="12px",
                           left="12px", right="12px", max_width="640px", role="alert")),
        rx.cond(RunState.status != "", _run_status()),
        logs_panel(),
        rx.cond(NodePanelState.node_id != "", rx.cond(NdvState.open, ndv(), node_panel())),
        rx.cond(EditorState.loaded & (EditorState.canvas_nodes.length() == 0),
                rx.center(rx.vstack(rx.icon("mouse-pointer-click", size=28, color=rx.color("gray", 8)),
                                    rx.text("Drag a trigger from the palette to start", color=rx.color("gray", 10)),
                                    rx.link("or start from a template", href="/templates", size="2",
                                            pointer_events="auto"),
                                    align="center"),
                          position="absolute", inset="0", pointer_events="none")),
        position="relative", flex="1", height="100%", min_width="0",
    )


def _run_status() -> rx.Component:
    scheme = rx.match(RunState.status, ("succeeded", "green"), ("failed", "red"), ("cancelled", "gray"), "blue")
    return rx.hstack(
        rx.cond(RunState.running, rx.spinner(size="1"), rx.icon("activity", size=14)),
        rx.text("Run ", RunState.status, size="2", weight="medium", data_testid="run-status"),
        rx.cond(RunState.error != "", rx.text("— ", RunState.error, size="1", trim="both", max_width="420px",
                                               white_space="nowrap", overflow="hidden", text_overflow="ellipsis")),
        position="absolute", bottom=rx.cond(LogsState.open, "236px", "16px"), left="50%",
        transform="translateX(-50%)", padding="6px 14px", z_index="13",
        border_radius="999px", background=rx.color(scheme, 3), color=rx.color(scheme, 11), align="center",
        spacing="2", box_shadow="0 1px 3px rgba(0,0,0,0.12)",
    )


def _body() -> rx.Component:
    return rx.cond(
        EditorState.load_error != "",
        rx.center(rx.callout(EditorState.load_error, icon="circle-alert", color_scheme="red"), padding="48px",
                  width="100%"),
        rx.hstack(rx.cond(AuthState.can_edit, _palette()), _canvas(), spacing="0", width="100%", height="calc(100vh - 56px)", align="stretch"),
    )


def page() -> rx.Component:
    return rx.vstack(_toolbar(), _body(), _versions_dialog(), _leave_dialog(), spacing="0", width="100vw", height="100vh",
                     overflow="hidden")


def register(app: rx.App) -> None:
    app.add_page(page, route="/workflows/[workflow_id]", title="Editor · LinkFlow",
                 on_load=[AuthState.require_session, EditorState.load])
