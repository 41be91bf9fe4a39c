"""The "Import from n8n" dialog of the workflows list."""

import reflex as rx

from ui.state.n8n_import import N8nImportState

UPLOAD_ID = "n8n-import-upload"


def _problem(p) -> rx.Component:
    return rx.box(
        rx.hstack(rx.badge(p["severity"], color_scheme=rx.cond(p["severity"] == "error", "red", "amber"),
                           variant="soft"),
                  rx.text(p["where"], weight="medium", size="2"), spacing="2", align="center"),
        rx.text(p["reason"], size="2"),
        rx.cond(p["expression"] != "", rx.code(p["expression"], size="1")),
        data_testid="n8n-import-problem", padding_y="6px",
    )


def _form() -> rx.Component:
    return rx.vstack(
        rx.text_area(value=N8nImportState.text, on_change=N8nImportState.set_text,
                     placeholder='Paste the n8n workflow JSON here ({"nodes": [...], "connections": {...}})',
                     aria_label="n8n workflow JSON", rows="12", width="100%", font_family="monospace"),
        rx.upload.root(
            rx.button(rx.icon("upload", size=14), "Choose a file", variant="soft", size="1", type="button"),
            id=UPLOAD_ID, accept={"application/json": [".json"]}, multiple=False, no_drag=True,
            on_drop=N8nImportState.upload, border="none", padding="0"),
        rx.cond(N8nImportState.error != "",
                rx.callout(N8nImportState.error, icon="triangle-alert", color_scheme="red", role="alert",
                           width="100%")),
        rx.hstack(rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray", type="button")),
                  rx.button("Import", on_click=N8nImportState.submit, loading=N8nImportState.busy,
                            disabled=N8nImportState.text == ""),
                  justify="end", width="100%"),
        spacing="3", width="100%",
    )


def _result() -> rx.Component:
    return rx.vstack(
        rx.text("Imported “", N8nImportState.workflow_name, "”.", size="3", weight="medium"),
        rx.cond(N8nImportState.report.length() > 0,
                rx.vstack(rx.text("Not converted or to check (disabled nodes are marked in the editor):", size="2"),
                          rx.scroll_area(rx.foreach(N8nImportState.report, _problem), max_height="300px"),
                          width="100%"),
                rx.text("Everything was converted.", size="2", color=rx.color("green", 11))),
        rx.hstack(rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray", type="button")),
                  rx.button("Open workflow", on_click=N8nImportState.open_workflow), justify="end", width="100%"),
        spacing="3", width="100%", data_testid="n8n-import-result",
    )


def dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(rx.button(rx.icon("file-input", size=16), "Import from n8n", variant="soft", size="2",
                                    type="button")),
        rx.dialog.content(
            rx.dialog.title("Import from n8n"),
            rx.dialog.description("Paste or upload a workflow exported from n8n. Nodes and expressions that have "
                                  "no exact LinkFlow counterpart are imported disabled and listed.",
                                  size="2", margin_bottom="12px"),
            rx.cond(N8nImportState.workflow_id != "", _result(), _form()),
            max_width="640px",
        ),
        open=N8nImportState.open,
        on_open_change=N8nImportState.set_open,
    )
