"""/workflows (and /): every workflow of the team, with search, filters and the actions on each."""

import reflex as rx

from ui.components.shell import empty_state, shell
from ui.pages import n8n_import
from ui.state.auth import AuthState
from ui.state.workflows import WorkflowsState

IMPORT_ID = "workflow-import"


def _create_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(rx.button(rx.icon("plus", size=16), "New workflow", size="2")),
        rx.dialog.content(
            rx.dialog.title("New workflow"),
            rx.dialog.description("Name it; you can rename it later.", size="2", margin_bottom="12px"),
            rx.form(
                rx.vstack(
                    rx.input(name="name", placeholder="e.g. Sync new orders to CRM", aria_label="Workflow name",
                             size="3", width="100%", auto_focus=True),
                    rx.cond(WorkflowsState.create_error != "",
                            rx.text(WorkflowsState.create_error, color=rx.color("red", 11), size="2", role="alert")),
                    rx.hstack(rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray", type="button")),
                              rx.button("Create", type="submit"), justify="end", width="100%"),
                    spacing="3",
                ),
                on_submit=WorkflowsState.create, reset_on_submit=False,
            ),
            max_width="440px",
        ),
        open=WorkflowsState.create_open,
        on_open_change=WorkflowsState.set_create_open,
    )


def _import_button() -> rx.Component:
    return rx.upload.root(
        rx.button(rx.icon("upload", size=16), "Import", variant="soft", size="2", type="button"),
        id=IMPORT_ID,
        accept={"application/json": [".json"]},
        multiple=False,
        no_drag=True,
        on_drop=WorkflowsState.import_files,
        border="none",
        padding="0",
    )


def _delete_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Delete workflow?"),
            rx.alert_dialog.description(
                rx.text("“", WorkflowsState.delete_name, "” and its version history will be deleted. "
                        "Past executions stay in the execution log.")),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray",
                                                 on_click=WorkflowsState.cancel_delete)),
                rx.alert_dialog.action(rx.button("Delete", color_scheme="red", on_click=WorkflowsState.confirm_delete)),
                justify="end", spacing="3", margin_top="16px",
            ),
            max_width="440px",
        ),
        open=WorkflowsState.delete_id != "",
    )


def _filters() -> rx.Component:
    return rx.hstack(
        rx.input(rx.input.slot(rx.icon("search", size=16)), placeholder="Search workflows",
                 value=WorkflowsState.search, on_change=WorkflowsState.set_search, aria_label="Search workflows",
                 width="320px"),
        rx.select.root(
            rx.select.trigger(placeholder="All tags", aria_label="Filter by tag"),
            rx.select.content(
                rx.select.item("All tags", value="__all__"),
                rx.foreach(WorkflowsState.known_tags, lambda t: rx.select.item(t, value=t)),
            ),
            value=rx.cond(WorkflowsState.tag == "", "__all__", WorkflowsState.tag),
            on_change=WorkflowsState.set_tag,
        ),
        rx.segmented_control.root(
            rx.segmented_control.item("All", value="all"),
            rx.segmented_control.item("Active", value="active"),
            rx.segmented_control.item("Inactive", value="inactive"),
            value=WorkflowsState.active_filter, on_change=WorkflowsState.set_active_filter,
        ),
        spacing="3", align="center", width="100%",
    )


def _actions(row) -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(rx.icon_button(rx.icon("ellipsis", size=16), variant="ghost", color_scheme="gray",
                                       aria_label=f"Actions for {row['name']}")),
        rx.menu.content(
            rx.menu.item(rx.icon("pencil", size=14), "Open", on_select=rx.redirect(f"/workflows/{row['id']}")),
            rx.menu.item(rx.icon("download", size=14), "Export", on_select=WorkflowsState.export(row["id"])),
            rx.cond(AuthState.can_edit, rx.fragment(
                rx.menu.item(rx.icon("copy", size=14), "Duplicate", on_select=WorkflowsState.duplicate(row["id"])),
                rx.menu.separator(),
                rx.menu.item(rx.icon("trash-2", size=14), "Delete", color="red",
                             on_select=WorkflowsState.ask_delete(row["id"], row["name"])),
            )),
        ),
    )


def _row(row) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.link(row["name"], href=f"/workflows/{row['id']}", weight="medium", size="3",
                        color_scheme="gray", high_contrast=True),
                rx.cond(row["description"] != "", rx.text(row["description"], size="1", color=rx.color("gray", 10),
                                                         trim="both")),
                spacing="1",
            ),
        ),
        rx.table.cell(rx.hstack(rx.foreach(row["tags"].to(list[str]),
                                           lambda t: rx.badge(t, variant="soft", radius="full")),
                                spacing="1", wrap="wrap")),
        rx.table.cell(rx.text("v", row["version"], size="2", color=rx.color("gray", 11))),
        rx.table.cell(rx.text(row["updated"], size="2", color=rx.color("gray", 11))),
        rx.table.cell(rx.cond(
            AuthState.can_edit,
            rx.switch(checked=row["active"].to(bool), on_change=lambda v: WorkflowsState.set_active(row["id"], v),
                      aria_label=f"Active: {row['name']}"),
            rx.badge(rx.cond(row["active"].to(bool), "Active", "Inactive"), variant="soft",
                     color_scheme=rx.cond(row["active"].to(bool), "green", "gray")))),
        rx.table.cell(_actions(row), text_align="right"),
        align="center",
        data_testid="workflow-row",
    )


def _table() -> rx.Component:
    return rx.table.root(
        rx.table.header(rx.table.row(
            rx.table.column_header_cell("Name"), rx.table.column_header_cell("Tags"),
            rx.table.column_header_cell("Version"), rx.table.column_header_cell("Updated"),
            rx.table.column_header_cell("Active"), rx.table.column_header_cell(""),
        )),
        rx.table.body(rx.foreach(WorkflowsState.rows, _row)),
        variant="surface", width="100%",
    )


def _content() -> rx.Component:
    return rx.cond(
        WorkflowsState.rows.length() > 0,
        _table(),
        rx.cond(
            WorkflowsState.filtering,
            empty_state("search-x", "No workflows match", "Try another search or clear the filters."),
            rx.cond(WorkflowsState.loaded,
                    rx.cond(AuthState.can_edit,
                            empty_state("workflow", "No workflows yet",
                                        "Start from a ready-made template, create your own, or import a JSON file.",
                                        rx.hstack(
                                            rx.link(rx.button(rx.icon("layout-template", size=16),
                                                              "Start from a template"), href="/templates"),
                                            rx.button(rx.icon("plus", size=16), "Create workflow", variant="soft",
                                                      on_click=WorkflowsState.set_create_open(True)),
                                            spacing="3", margin_top="8px")),
                            empty_state("workflow", "No workflows yet",
                                        "Editors of this team create workflows; you can view them here.")),
                    rx.center(rx.spinner(size="3"), padding="64px", width="100%")),
        ),
    )


def page() -> rx.Component:
    actions = rx.cond(AuthState.can_edit, rx.hstack(_import_button(), n8n_import.dialog(), _create_dialog(), spacing="2", align="center"))
    return shell("Workflows", _filters(), _content(), _delete_dialog(), actions=actions)


def register(app: rx.App) -> None:
    on_load = [AuthState.require_session, WorkflowsState.load]
    app.add_page(page, route="/workflows", title="Workflows · LinkFlow", on_load=on_load)
    app.add_page(page, route="/", title="LinkFlow", on_load=on_load)
