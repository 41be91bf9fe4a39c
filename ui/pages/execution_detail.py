"""/executions/[execution_id]: the run on its workflow's canvas (read-only), each node's outcome and data,
the error, and the actions on it (retry, retry from the failed step, cancel, delete, debug in editor)."""

import reflex as rx

from ui.components.execution_status import status_badge
from ui.components.flow_canvas import flow_canvas
from ui.components.shell import empty_state, shell
from ui.components.ticker import ticker
from ui.state.auth import AuthState
from ui.state.execution_detail import ExecutionDetailState as D

REFRESH_SECONDS = 2


def _fact(label: str, value) -> rx.Component:
    return rx.vstack(rx.text(label, size="1", color=rx.color("gray", 10)), rx.text(value, size="2"),
                     spacing="0")


def _summary() -> rx.Component:
    return rx.hstack(
        rx.vstack(rx.text("Status", size="1", color=rx.color("gray", 10)),
                  rx.box(status_badge(D.status), data_testid="execution-status"), spacing="1"),
        rx.vstack(rx.text("Workflow", size="1", color=rx.color("gray", 10)),
                  rx.cond(D.workflow_id != "",
                          rx.link(D.workflow_name, href=f"/workflows/{D.workflow_id}", size="2"),
                          rx.text("run without a saved workflow", size="2")), spacing="0"),
        _fact("Mode", D.mode), _fact("Started (UTC)", D.started), _fact("Duration", D.took),
        rx.cond(D.retry_of_id != "",
                rx.vstack(rx.text("Retry of", size="1", color=rx.color("gray", 10)),
                          rx.link(rx.code(D.retry_of_id[:8]), href=f"/executions/{D.retry_of_id}"), spacing="0")),
        rx.vstack(rx.text("ID", size="1", color=rx.color("gray", 10)), rx.code(D.detail_id, size="1"), spacing="0"),
        spacing="6", align="start", wrap="wrap", width="100%",
    )


def _error() -> rx.Component:
    return rx.cond(
        D.error != "",
        rx.callout.root(
            rx.callout.icon(rx.icon("circle-x")),
            rx.callout.text(
                rx.cond(D.error_node != "", rx.text.strong("Failed at node “", D.error_node, "”: ")),
                D.error,
            ),
            rx.cond(D.error_node_id != "",
                    rx.button("Show node data", size="1", variant="soft", color_scheme="red", width="fit-content",
                              on_click=D.pick_node(D.error_node_id))),
            color_scheme="red", role="alert", data_testid="execution-error", width="100%",
        ),
    )


def _canvas() -> rx.Component:
    return rx.box(
        flow_canvas(graph_nodes=D.canvas_nodes, graph_edges=D.canvas_edges, runs=D.runs, problems={},
                    revision=D.revision, dirty=False, read_only=True, on_node_open=D.pick_node),
        height="380px", width="100%", border=f"1px solid {rx.color('gray', 5)}", border_radius="12px",
        overflow="hidden",
    )


def _steps() -> rx.Component:
    def row(step) -> rx.Component:
        return rx.table.row(
            rx.table.cell(rx.text(step["name"], size="2", weight="medium")),
            rx.table.cell(status_badge(step["status"])),
            rx.table.cell(rx.text(step["items"], size="2")),
            rx.table.cell(rx.text(step["duration"], size="2")),
            on_click=D.pick_node(step["node_id"]), cursor="pointer", data_testid="step-row",
            background=rx.cond(D.node_id == step["node_id"], rx.color("accent", 3), "transparent"),
        )

    return rx.card(
        rx.vstack(
            rx.text("Steps", weight="medium", size="2"),
            rx.cond(D.steps.length() > 0,
                    rx.table.root(
                        rx.table.header(rx.table.row(
                            rx.table.column_header_cell("Node"), rx.table.column_header_cell("Status"),
                            rx.table.column_header_cell("Items"), rx.table.column_header_cell("Time"))),
                        rx.table.body(rx.foreach(D.steps, row)), size="1", width="100%"),
                    rx.text("No node has run yet.", size="2", color=rx.color("gray", 10))),
            spacing="2", width="100%",
        ),
        width="340px", min_width="300px",
    )


def _items_table() -> rx.Component:
    return rx.cond(
        D.columns.length() > 0,
        rx.box(
            rx.table.root(
                rx.table.header(rx.table.row(rx.foreach(D.columns, rx.table.column_header_cell))),
                rx.table.body(rx.foreach(D.table, lambda r: rx.table.row(
                    rx.foreach(r, lambda c: rx.table.cell(rx.text(c, size="1"))), data_testid="item-row"))),
                size="1", width="100%",
            ),
            overflow_x="auto", max_height="360px", overflow_y="auto", width="100%",
        ),
        rx.text("No items.", size="2", color=rx.color("gray", 10)),
    )


def _files() -> rx.Component:
    def row(file) -> rx.Component:
        return rx.table.row(
            rx.table.cell(rx.text(file["item"], size="1")),
            rx.table.cell(rx.code(file["name"], size="1")),
            rx.table.cell(rx.text(file["file_name"], size="1")),
            rx.table.cell(rx.text(file["mime_type"], size="1")),
            rx.table.cell(rx.text(file["size"], size="1")),
            rx.table.cell(rx.hstack(
                rx.cond(file["preview"] != "",
                        rx.button(rx.icon("eye", size=12), "Preview", size="1", variant="soft", color_scheme="gray",
                                  on_click=D.preview(file["key"]))),
                rx.button(rx.icon("download", size=12), "Download", size="1", variant="soft",
                          on_click=D.download(file["key"])),
                spacing="1")),
            data_testid="file-row",
        )

    return rx.cond(
        D.files.length() > 0,
        rx.vstack(
            rx.text("Files", weight="medium", size="2"),
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                                               ("Item", "Binary", "File", "Type", "Size", "")])),
                rx.table.body(rx.foreach(D.files, row)), size="1", width="100%"),
            spacing="1", width="100%", data_testid="item-files",
        ),
    )


def _preview_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(D.preview_name),
            rx.cond(
                D.preview_url != "",
                rx.center(rx.image(src=D.preview_url, alt=D.preview_name, max_width="100%", max_height="70vh",
                                   data_testid="file-preview")),
                rx.vstack(
                    rx.text(D.preview_note, size="1", color=rx.color("gray", 10), data_testid="file-preview-note"),
                    rx.cond(D.preview_text != "",
                            rx.box(rx.el.pre(D.preview_text, white_space="pre-wrap", word_break="break-word",
                                             font_size="12px", margin="0"),
                                   max_height="60vh", overflow="auto", width="100%", padding="8px",
                                   background=rx.color("gray", 2), border_radius="6px",
                                   data_testid="file-preview-text")),
                    spacing="2", width="100%"),
            ),
            rx.flex(rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray")), justify="end",
                    margin_top="12px"),
            max_width="720px",
        ),
        open=D.preview_open, on_open_change=D.close_preview,
    )


def _browser() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.text("Node data", weight="medium", size="2"),
                rx.cond(D.node_name != "", rx.badge(D.node_name, variant="soft", data_testid="browser-node")),
                rx.spacer(),
                rx.segmented_control.root(
                    rx.segmented_control.item("Input", value="input"),
                    rx.segmented_control.item("Output", value="output"),
                    value=D.direction, on_change=D.set_direction, size="1",
                ),
                rx.cond(D.ports.length() > 1, rx.select.root(
                    rx.select.trigger(aria_label="Port"),
                    rx.select.content(rx.foreach(D.ports, lambda p: rx.select.item(p, value=p))),
                    value=D.port, on_change=D.set_port, size="1")),
                width="100%", align="center",
            ),
            rx.cond(
                D.node_id == "",
                rx.text("Pick a node on the canvas or in the steps to see its items.", size="2",
                        color=rx.color("gray", 10)),
                rx.vstack(
                    rx.cond(D.node_error != "", rx.callout(D.node_error, icon="circle-x", color_scheme="red",
                                                           size="1", data_testid="node-error")),
                    rx.text(D.item_count, " item(s) on ", rx.cond(D.port != "", D.port, "no port"), size="1",
                            color=rx.color("gray", 10), data_testid="item-count"),
                    _files(),
                    rx.tabs.root(
                        rx.tabs.list(rx.tabs.trigger("Table", value="table"), rx.tabs.trigger("JSON", value="json")),
                        rx.tabs.content(_items_table(), value="table", padding_top="8px"),
                        rx.tabs.content(
                            rx.code_block(D.data_json, language="json", wrap_long_lines=True,
                                          custom_style={"maxHeight": "360px", "fontSize": "12px"}),
                            value="json", padding_top="8px", data_testid="items-json"),
                        default_value="table", width="100%",
                    ),
                    spacing="2", width="100%",
                ),
            ),
            spacing="3", width="100%",
        ),
        flex="1", min_width="0",
    )


def _actions() -> rx.Component:
    edit = rx.hstack(
        rx.cond(D.running, rx.button(rx.icon("square", size=14), "Cancel", variant="soft", color_scheme="orange",
                                     on_click=D.cancel)),
        rx.cond(~D.running, rx.button(rx.icon("rotate-ccw", size=14), "Retry", variant="soft",
                                      on_click=D.retry(False))),
        rx.cond(D.can_retry_from_failed, rx.button(rx.icon("step-forward", size=14), "Retry from failed step",
                                                   on_click=D.retry(True))),
        rx.cond(~D.running, rx.button(rx.icon("trash-2", size=14), "Delete", variant="soft", color_scheme="red",
                                      on_click=D.set_confirm_delete(True))),
        spacing="2",
    )
    debug = rx.cond(D.debug_href != "", rx.link(rx.button(rx.icon("bug", size=14), "Debug in editor",
                                                          variant="outline"), href=D.debug_href))
    back = rx.link(rx.button(rx.icon("arrow-left", size=14), "All executions", variant="ghost"),
                   href="/executions")
    return rx.hstack(back, rx.cond(D.loaded, rx.hstack(debug, rx.cond(AuthState.can_edit, edit), spacing="2")),
                     spacing="2", align="center")


def _delete_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Delete this execution?"),
            rx.alert_dialog.description("Its steps and their data are deleted too."),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray",
                                                 on_click=D.set_confirm_delete(False))),
                rx.alert_dialog.action(rx.button("Delete", color_scheme="red", on_click=D.delete)),
                justify="end", spacing="3", margin_top="16px",
            ),
            max_width="440px",
        ),
        open=D.confirm_delete,
    )


def _content() -> rx.Component:
    return rx.cond(
        D.load_error != "",
        empty_state("circle-alert", "Cannot show this execution", D.load_error,
                    rx.link(rx.button("Back to executions", variant="soft"), href="/executions")),
        rx.cond(
            D.loaded,
            rx.vstack(_summary(), _error(), _canvas(), rx.hstack(_steps(), _browser(), spacing="3", width="100%",
                                                                align="start"),
                      rx.cond(D.running, ticker(seconds=REFRESH_SECONDS, on_tick=D.tick)),
                      spacing="4", width="100%"),
            rx.center(rx.spinner(size="3"), padding="64px", width="100%"),
        ),
    )


def page() -> rx.Component:
    return shell("Execution", _content(), _delete_dialog(), _preview_dialog(), actions=_actions())


def register(app: rx.App) -> None:
    app.add_page(page, route="/executions/[execution_id]", title="Execution · LinkFlow",
                 on_load=[AuthState.require_session, D.load])
