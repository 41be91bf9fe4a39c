"""The node details view (NDV): input | parameters | output, side by side, over the canvas.

Each data pane shows its items as a Table, JSON or Schema (field, type, sample), a page at a
time, filtered by a search box; files the items carry are listed with name, type and size.
Fields in the panes can be dragged onto a parameter (field_mapping.jsx) to insert the
expression that reads them.
"""

from __future__ import annotations

import reflex as rx

from ui.components.assets import shared_asset
from ui.components.node_panel import BORDER, MONO, parameters_form, settings_form
from ui.state.auth import AuthState
from ui.state.ndv import NdvState
from ui.state.node_panel import NodePanelState
from ui.state.run import RunState

_MAPPING_SOURCE = shared_asset("field_mapping.jsx")


class FieldMapping(rx.Component):
    library = _MAPPING_SOURCE.importable_path
    tag = "FieldMapping"


_AUTOCOMPLETE_SOURCE = shared_asset("field_autocomplete.jsx")


class FieldAutocomplete(rx.Component):
    library = _AUTOCOMPLETE_SOURCE.importable_path
    tag = "FieldAutocomplete"

    data: rx.Var[dict]


def _var(pane: str, name: str):
    return getattr(NdvState, f"{pane}_{name}")


def _view_buttons(pane: str, title: str) -> rx.Component:
    def button(view: str, label: str) -> rx.Component:
        chosen = _var(pane, "view") == view
        return rx.button(label, size="1", variant=rx.cond(chosen, "solid", "soft"), color_scheme="gray",
                         on_click=NdvState.set_view(pane, view), aria_label=f"{title} {label}",
                         aria_pressed=rx.cond(chosen, "true", "false"))

    return rx.hstack(button("table", "Table"), button("json", "JSON"), button("schema", "Schema"), spacing="1")


def _draggable(child: rx.Component, expression, **props) -> rx.Component:
    return rx.box(child, custom_attrs={"draggable": "true", "data-map-expr": expression}, cursor="grab",
                  title=expression, **props)


def _table(pane: str) -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(rx.foreach(_var(pane, "columns"), lambda column: rx.table.column_header_cell(
                _draggable(rx.text(column["name"], size="1", weight="bold"), column["expression"],
                           data_testid="map-field"))))),
            rx.table.body(rx.foreach(_var(pane, "rows"), lambda row: rx.table.row(
                rx.foreach(row, lambda cell: rx.table.cell(rx.text(cell, size="1", white_space="pre-wrap",
                                                                   word_break="break-word")))))),
            size="1", variant="surface", width="100%",
        ),
        overflow="auto", width="100%",
    )


def _schema(pane: str) -> rx.Component:
    return rx.vstack(
        rx.foreach(_var(pane, "schema"), lambda field: _draggable(
            rx.hstack(rx.badge(field["type"], size="1", variant="soft", color_scheme="gray", min_width="58px"),
                      rx.text(field["name"], size="1", weight="medium", font_family=MONO),
                      rx.text(field["sample"], size="1", color=rx.color("gray", 10), overflow="hidden",
                              text_overflow="ellipsis", white_space="nowrap", flex="1"),
                      align="center", spacing="2", width="100%"),
            field["expression"], padding_left=field["indent"], width="100%", data_testid="map-field")),
        spacing="1", width="100%",
    )


def _json(pane: str) -> rx.Component:
    return rx.el.pre(_var(pane, "json"), font_family=MONO, font_size="12px", margin="0", white_space="pre-wrap",
                     word_break="break-word", width="100%", data_testid=f"ndv-{pane}-json")


def _files(pane: str) -> rx.Component:
    return rx.cond(_var(pane, "files").length() > 0, rx.vstack(
        rx.text("Files", size="1", weight="bold", color=rx.color("gray", 10)),
        rx.foreach(_var(pane, "files"), lambda f: rx.hstack(
            rx.icon("file", size=14), rx.text("item ", f["item"], size="1", color=rx.color("gray", 10)),
            rx.text(f["name"], size="1", weight="medium"), rx.text(f["file_name"], size="1"),
            rx.badge(f["mime_type"], size="1", variant="soft"), rx.text(f["size"], size="1"),
            rx.spacer(),
            rx.cond(f["preview"] != "",
                    rx.button("View", size="1", variant="soft", on_click=NdvState.view_file(pane, f["key"]),
                              aria_label="View " + f["file_name"])),
            rx.cond(f["stored"] != "",
                    rx.button("Download", size="1", variant="soft", color_scheme="gray",
                              on_click=NdvState.download_file(pane, f["key"]),
                              aria_label="Download " + f["file_name"]),
                    rx.text("not stored (pinned)", size="1", color=rx.color("gray", 9))),
            spacing="2", align="center", width="100%", data_testid="ndv-file")),
        spacing="1", width="100%", padding="8px", border=BORDER, border_radius="8px"))


def _file_dialog() -> rx.Component:
    """View: an image through a short-lived signed link, else the start of a text file or a PDF's text."""
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(NdvState.file_name),
            rx.cond(
                NdvState.file_url != "",
                rx.center(rx.image(src=NdvState.file_url, alt=NdvState.file_name, max_width="100%",
                                   max_height="70vh", data_testid="ndv-file-image")),
                rx.vstack(
                    rx.text(NdvState.file_note, size="1", color=rx.color("gray", 10), data_testid="ndv-file-note"),
                    rx.cond(NdvState.file_text != "",
                            rx.box(rx.el.pre(NdvState.file_text, white_space="pre-wrap", word_break="break-word",
                                             font_size="12px", margin="0"),
                                   max_height="60vh", overflow="auto", width="100%", padding="8px",
                                   background=rx.color("gray", 2), border_radius="6px",
                                   data_testid="ndv-file-text")),
                    spacing="2", width="100%"),
            ),
            rx.flex(rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray")), justify="end",
                    margin_top="12px"),
            max_width="720px",
        ),
        open=NdvState.file_open, on_open_change=NdvState.close_file,
    )


def _pane(pane: str, title: str, empty: str, header: rx.Component | None = None) -> rx.Component:
    return rx.vstack(
        rx.hstack(rx.text(title, size="2", weight="bold", text_transform="uppercase", color=rx.color("gray", 11)),
                  header or rx.fragment(), rx.spacer(), _view_buttons(pane, title), align="center", width="100%",
                  spacing="2"),
        rx.hstack(
            rx.input(value=_var(pane, "search"), on_change=lambda v: NdvState.set_search(pane, v),
                     placeholder="Search", size="1", aria_label=f"Search {title.lower()}", flex="1"),
            rx.text(_var(pane, "range"), size="1", color=rx.color("gray", 10), data_testid=f"ndv-{pane}-range"),
            rx.icon_button(rx.icon("chevron-left", size=12), size="1", variant="ghost",
                           on_click=NdvState.turn_page(pane, -1), aria_label=f"{title}: previous items"),
            rx.icon_button(rx.icon("chevron-right", size=12), size="1", variant="ghost",
                           on_click=NdvState.turn_page(pane, 1), aria_label=f"{title}: next items"),
            align="center", width="100%", spacing="1",
        ),
        rx.scroll_area(
            rx.cond(_var(pane, "count") == 0,
                    rx.text(empty, size="2", color=rx.color("gray", 9), data_testid=f"ndv-{pane}-empty"),
                    rx.vstack(rx.match(_var(pane, "view"), ("table", _table(pane)), ("json", _json(pane)),
                                       _schema(pane)),
                              _files(pane), spacing="3", width="100%")),
            type="hover", scrollbars="both", style={"height": "calc(100vh - 190px)"},
        ),
        spacing="2", padding="12px", height="100%", min_width="0", background=rx.color("gray", 2),
        role="region", aria_label=title,
    )


def _source_picker() -> rx.Component:
    return rx.select.root(
        rx.select.trigger(aria_label="Input from", variant="ghost", size="1"),
        rx.select.content(rx.foreach(NdvState.source_names, lambda name: rx.select.item(name, value=name))),
        value=NdvState.source, on_change=NdvState.set_source, size="1",
    )


def _middle() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.icon(NodePanelState.icon, size=18),
            rx.text(NodePanelState.name, weight="bold", size="3", data_testid="ndv-node-name"),
            rx.spacer(),
            rx.cond(AuthState.can_edit, rx.button(rx.icon("play", size=12), "Run this node", size="1",
                                                   variant="soft", color_scheme="green",
                                                   on_click=RunState.run_node(NodePanelState.name),
                                                   loading=RunState.running)),
            align="center", width="100%",
        ),
        rx.cond(NodePanelState.node_problems.length() > 0,
                rx.callout(rx.foreach(NodePanelState.node_problems, lambda p: rx.text(p, size="1")),
                           icon="triangle-alert", color_scheme="amber", size="1", width="100%",
                           data_testid="ndv-problems")),
        rx.tabs.root(
            rx.tabs.list(rx.tabs.trigger("Parameters", value="parameters"),
                         rx.tabs.trigger("Settings", value="settings")),
            rx.scroll_area(
                rx.box(rx.tabs.content(parameters_form(), value="parameters"),
                       rx.tabs.content(settings_form(), value="settings"), padding="12px 2px 24px", width="100%",
                       custom_attrs={"data-ndv-params": "true"}),
                type="hover", scrollbars="vertical", style={"height": "calc(100vh - 200px)"},
            ),
            default_value="parameters", width="100%",
        ),
        spacing="2", padding="12px 16px", min_width="0", height="100%",
    )


def ndv() -> rx.Component:
    return rx.box(
        FieldMapping.create(),
        FieldAutocomplete.create(data=NdvState.completions),
        _file_dialog(),
        rx.hstack(
            rx.button(rx.icon("arrow-left", size=14), "Back to canvas", size="1", variant="soft",
                      color_scheme="gray", on_click=NdvState.close_details),
            rx.text("Drag a field from the input onto a parameter to map it", size="1", color=rx.color("gray", 10)),
            align="center", spacing="3", padding="8px 12px", border_bottom=BORDER, width="100%",
        ),
        rx.grid(
            _pane("in", "Input", "No input yet — run the previous node (or pin its output) to see its items here.",
                  header=_source_picker()),
            _middle(),
            _pane("out", "Output", "No output yet — run this node to see what it gives."),
            columns="1fr 1.15fr 1fr", width="100%", height="calc(100% - 44px)", spacing="0",
            style={"& > *:not(:last-child)": {"border_right": BORDER}},
        ),
        position="absolute", top="0", left="0", right="0", bottom="0", z_index="20",
        background=rx.color("gray", 1), role="dialog", aria_label="Node details",
    )
